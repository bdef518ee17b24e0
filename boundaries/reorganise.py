"""Apply a planner's declared reorganisation to a ward table and regenerate every layer.

:func:`reorganise` takes the current police hierarchy as a ward table (one row per ward, one
column per level) or as a folder written by :func:`beatplan.boundaries.write_plan`, and a spec
(:mod:`beatplan.boundaries.spec`: merge, create, move, split, rename, exceptions). It

1. checks the spec against the ward table — unknown levels, areas and ward codes, a ward
   given twice, merges of areas that do not touch, new areas in pieces, parents that cannot be told
   — and raises *one* :class:`beatplan.geo.errors.ValidationError` listing every problem with its
   key path in the spec;
2. applies the changes in order (:mod:`beatplan.boundaries._edit`). A ward given to an area takes
   that area's higher levels, so nesting upward always holds; an area of a lower level left
   straddling two higher areas by a change is split along the new line (its largest part
   keeps the id, the others get ``<id>-2``, ``<id>-3`` ...) and the split is reported;
3. rebuilds every layer as exact unions of wards (:func:`beatplan.boundaries.build_layers`), reruns
   every check (:func:`beatplan.boundaries.check_layers`) and reports, per area, what changed
   (:mod:`beatplan.boundaries._changes`): wards gained and lost, area and demand before and after,
   each area's deviation from its level's mean.

Ids survive where the area survives (renames carry the identity); new areas get the ids the
spec gives or deterministic ones (the level's pattern, e.g. ``B37`` after ``B36``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries._changes import change_table
from beatplan.boundaries._common import listing
from beatplan.boundaries._edit import Editor, WardGraph, hint, problem_order
from beatplan.boundaries.checks import check_layers, check_nesting
from beatplan.boundaries.demand import Weights, count_points, level_demand
from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, build_layers, ward_table
from beatplan.boundaries.outputs import read_plan
from beatplan.boundaries.plan import BoundaryPlan, checks_line
from beatplan.boundaries.report import CheckReport
from beatplan.boundaries.spec import Spec, load_spec
from beatplan.geo.crs import to_working, working_crs
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    IncompleteOutputError,
    InputFormatError,
    ValidationError,
)
from beatplan.geo.layers import read_boundaries

__all__ = ["DEMAND_COLUMNS", "Reorganisation", "reorganise"]

log = logging.getLogger("beatplan")

#: Per-ward demand columns kept in a written plan's ``wards`` layer and reused when no
#: incidents are given.
DEMAND_COLUMNS = ("incidents", "demand")


# --------------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class Reorganisation(BoundaryPlan):
    """The result of :func:`reorganise`: a :class:`beatplan.boundaries.BoundaryPlan` and its spec.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The new ward table: ward id, the level columns, the wards' other columns, geometry
        (working CRS), in the input's order.
    layers : dict of str to geopandas.GeoDataFrame
        One layer per level plus ``force``, each area the exact union of its wards, with
        ``id``, ``name``, the higher levels' ids, ``n_wards``, ``area_m2`` and, when demand
        is known, ``incidents``, ``demand`` and ``deviation_pct``; sorted by id.
    checks : CheckReport
        Every check of :func:`beatplan.boundaries.check_layers` on the new hierarchy.
    changes : pandas.DataFrame
        One row per new area and per removed old area, levels small to large, by id:
        ``level``, ``id``, ``name``, ``status`` (``unchanged``, ``renamed``, ``changed``,
        ``new``, ``removed``), ``old_id``, ``old_name``, ``from`` (old areas its wards came
        from, with counts), ``to`` (for a removed area: where its wards went),
        ``n_wards_old``, ``n_wards``, ``n_gained``, ``n_lost``, ``wards_gained``,
        ``wards_lost`` (``;``-joined ids), ``area_old_m2``, ``area_new_m2``, ``retained``
        (share of the old area's m² kept), and with demand ``incidents_old``,
        ``incidents_new``, ``demand_old``, ``demand_new``, ``deviation_pct_old`` and
        ``deviation_pct`` (against the level's mean, old and new).
    crosswalk : pandas.DataFrame
        One row per ward: ``ward``, ``name`` (if any), ``<level>_old`` and ``<level>`` for
        each level, ``changed`` (the levels at which the ward changed area: its new area is
        not the one its old area lives on in), ``renamed`` (the levels at which it kept its
        area under a new id: a rename, or a merge into the area its own lives on in) and, with
        demand, ``incidents`` and ``demand``. A ward with neither moved at no level; the change
        map shows the wards ``changed`` at its level, so its count and ``summary["by_level"]``
        agree.
    area_crosswalk : pandas.DataFrame
        One row per (level, old area, new area) sharing wards: ``level``, ``old_id``,
        ``old_name``, ``new_id``, ``new_name``, ``n_wards``, ``area_m2``, ``share_of_old``,
        ``share_of_new`` (by area) and, with demand, ``incidents``.
    steps : pandas.DataFrame
        What each change did: ``step`` (key path), ``op``, ``level``, ``area``, ``n_wards``
        and ``detail``; splits made to keep nesting appear with step ``(nesting)``.
    review : pandas.DataFrame
        Wards for a human to look at (for a reorganisation: none): ``ward``, ``name``,
        ``level``, ``area``, ``reason``.
    summary : dict
        Headline figures (see :meth:`describe`).
    warnings : tuple of str
        Plain-words notes: splits made for nesting, demand points outside the force.
    current : geopandas.GeoDataFrame
        The input ward table, normalised (ids as text, working CRS).
    levels : tuple of str
        The levels, small to large.
    ward_id : str
        The ward id column.
    names : dict of str to dict
        Area names by level (``{level: {id: name}}``), new.
    old_names : dict of str to dict
        Area names by level, before.
    exceptions : dict of str to frozenset of str
        Areas allowed to be non-contiguous, by level.
    spec : Spec or None
        The spec applied.
    crs : pyproj.CRS
        The CRS of every layer.
    """

    old_names: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    spec: Spec | None = field(default=None, repr=False)
    kind: str = "reorganise"

    def describe(self) -> str:
        """Return the summary as a few lines of plain text."""
        s = self.summary
        title = f"{s['spec_name']}: " if s.get("spec_name") else ""
        renamed = s.get("wards_renamed") or 0
        lines = [
            f"{title}{s['wards']} wards; {s['steps']} change(s) applied; "
            f"{s['wards_moved']} ward(s) changed area at some level"
            + (f" ({renamed} more keep their area under a new id)" if renamed else "")
        ]
        for lv in self.levels:
            c = s["by_level"][lv]
            parts = [
                f"{c['areas_old']} -> {c['areas_new']} areas",
                f"{c['wards_moved']} ward(s) moved",
            ]
            for k in ("new", "removed", "changed", "renamed"):
                if c[k]:
                    parts.append(f"{k}: {listing(c[k], 6)}")
            lines.append(f"{lv}: " + "; ".join(parts))
        if s.get("incidents_total") is not None:
            lines.append(
                f"demand: {s['incidents_total']:,} incidents in the force area "
                f"({s['incidents_outside']:,} outside it, {s['incidents_unlocated']:,} with no "
                f"location); {s['demand_shifted']:,.1f} of {s['demand_total']:,.1f} demand "
                "changed area"
            )
        lines.append(checks_line(self.checks))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ------------------------------------------------------------------------------ the call
def reorganise(
    current: gpd.GeoDataFrame | str | os.PathLike[str],
    spec: Spec | str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    levels: Sequence[str] | None = None,
    ward_id: str = "id",
    names: Mapping[str, str | Mapping[Any, Any]] | None = None,
    incidents: Any = None,
    weights: Weights = None,
    exceptions: Mapping[str, Iterable[str]] | None = None,
) -> Reorganisation:
    """Apply a reorganisation spec to the current hierarchy and regenerate every layer.

    Parameters
    ----------
    current : GeoDataFrame or path
        The current hierarchy: a ward table (one row per ward, the ward id, one column per
        level, the ward polygon; optional ``<level>_name`` columns name the areas, a
        ``district`` column lets the spec name districts), or a folder (or its
        ``boundaries.gpkg``) written by :func:`beatplan.boundaries.write_plan`.
    spec : Spec, path or mapping, optional
        The changes (:func:`beatplan.boundaries.spec.load_spec`: a ``.yaml``/``.toml`` file or a
        mapping). ``None`` applies no change: the layers are rebuilt and checked.
    levels : sequence of str, optional
        Level columns, small to large. Default: the plan's, the spec's ``levels``, or those
        of ``beat``, ``sector``, ``npa`` the table has.
    ward_id : str, default "id"
        The ward id column of a ward table.
    names : mapping, optional
        Area names per level: a column of the ward table or ``{id: name}``; default the
        ``<level>_name`` columns.
    incidents : GeoDataFrame or beatplan.geo.Incidents, optional
        Points whose counts give each area's demand, old and new. Without them, the
        ``incidents``/``demand`` columns of a written plan's wards are used when present.
    weights : None, str or mapping
        What a point counts for (:func:`beatplan.boundaries.demand.incident_weights`).
    exceptions : mapping, optional
        ``{level: [area ids]}`` allowed to be non-contiguous, besides the spec's.

    Returns
    -------
    Reorganisation

    Raises
    ------
    ValidationError
        The spec is wrong: every problem at once, each with its key path in the spec — bad
        keys or types, unknown levels, areas or ward codes, a ward given twice, a merge of
        areas that do not touch (without ``allow_non_contiguous: true``), a new or changed
        area left in pieces, parents that cannot be told apart. Also raised when the
        current hierarchy does not nest.
    ColumnNotFoundError, DuplicateIdError, EmptyInputError, CRSError
        The current ward table is unusable (see :func:`beatplan.boundaries.ward_table`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c", "d"], "beat": ["B1", "B1", "B2", "B3"],
    ...      "npa": ["N1", "N1", "N2", "N2"]},
    ...     geometry=[box(i, 0, i + 1, 1) for i in range(4)], crs=27700)
    >>> r = reorganise(w, {"changes": [
    ...     {"op": "merge", "level": "npa", "areas": ["N1", "N2"], "id": "N", "name": "All"},
    ...     {"op": "move", "level": "beat", "wards": ["b"], "to": "B2"}]})
    >>> r.wards["beat"].tolist(), r.wards["npa"].tolist(), r.checks.ok
    (['B1', 'B2', 'B2', 'B3'], ['N', 'N', 'N', 'N'], True)
    """
    parsed = spec if spec is None or isinstance(spec, Spec) else load_spec(spec, strict=False)
    cur = _load_current(current, levels=levels, ward_id=ward_id, names=names, spec=parsed)
    ed, exc = _apply_spec(cur, parsed, exceptions)
    new, final_names, layers = _rebuild(cur, ed)
    checks = check_layers(new, layers, levels=cur.levels, ward_id=cur.ward_id, exceptions=exc)
    counts, info, warnings = _demand(cur, new, layers, incidents, weights, ed.warnings)
    tables = _tables(cur, ed, final_names, counts)
    summary = _summary(cur, parsed, ed, tables, counts, info, checks)
    for w in warnings:
        log.warning(w)
    log.info(
        "reorganise: %d change(s) applied to %d wards; %d ward(s) changed area",
        summary["steps"],
        summary["wards"],
        summary["wards_moved"],
    )
    title = summary["spec_name"] or (
        "Reorganisation" if summary["steps"] else "Boundary plan (no change applied)"
    )
    return Reorganisation(
        title=str(title),
        wards=new,
        layers=layers,
        checks=checks,
        changes=tables.changes,
        crosswalk=tables.crosswalk,
        area_crosswalk=tables.area_crosswalk,
        steps=pd.DataFrame(ed.log, columns=["step", "op", "level", "area", "n_wards", "detail"]),
        review=_no_review(),
        summary=summary,
        warnings=tuple(warnings),
        current=cur.table,
        levels=cur.levels,
        ward_id=cur.ward_id,
        names=final_names,
        old_names=cur.names,
        exceptions=exc,
        spec=parsed,
        crs=CRS.from_user_input(cur.table.crs),
    )


# ----------------------------------------------------------------------------- the input
@dataclass
class _Current:
    """The current hierarchy: the ward table, its levels, names, exceptions and demand."""

    table: gpd.GeoDataFrame
    levels: tuple[str, ...]
    names: dict[str, dict[str, str]]
    exceptions: dict[str, frozenset[str]]
    ward_counts: tuple[np.ndarray, np.ndarray] | None
    source: str
    ward_id: str


def _load_current(
    current: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    levels: Sequence[str] | None,
    ward_id: str,
    names: Mapping[str, Any] | None,
    spec: Spec | None,
) -> _Current:
    """Read the current hierarchy (a ward table or a written plan) and check that it nests."""
    table, source, plan_levels, exceptions = _read_current(current, ward_id)
    if not isinstance(current, gpd.GeoDataFrame):
        ward_id = "id"
    if table.crs is None:
        raise CRSError(
            f"{source}: the ward table has no CRS; set one with .set_crs(...) (e.g. 27700)"
        )
    if not CRS.from_user_input(table.crs).is_projected:
        table = to_working(table, working_crs(table))
    lv = _current_levels(levels, plan_levels, spec, table, source)
    table = ward_table(table, ward_id=ward_id, levels=lv, what=source)
    nesting = check_nesting(table, levels=lv, ward_id=ward_id)
    if not nesting.ok:
        raise ValidationError(
            source,
            [p.message for p in nesting.errors]
            + ["the current hierarchy must nest before it is reorganised: resolve it with "
               "beatplan.boundaries.nest(...) or fix the ward table"],
        )  # fmt: skip
    name_map = _names_from(table, lv, names)
    counts = _ward_counts(table)
    derived = [f"{x}_name" for x in lv] + [*DEMAND_COLUMNS, "area_m2"]
    table = table.drop(columns=[c for c in derived if c in table.columns])
    return _Current(table, lv, name_map, exceptions, counts, source, ward_id)


def _read_current(
    current: gpd.GeoDataFrame | str | os.PathLike[str], ward_id: str
) -> tuple[gpd.GeoDataFrame, str, tuple[str, ...] | None, dict[str, frozenset[str]]]:
    """Return the ward table, where it came from, and a written plan's levels and exceptions."""
    if isinstance(current, gpd.GeoDataFrame):
        return current.copy(), "current", None, {}
    if not isinstance(current, str | os.PathLike):
        raise InputFormatError(
            f"current: expected a ward table (GeoDataFrame) or a folder written by write_plan, "
            f"got {type(current).__name__}"
        )
    try:
        plan = read_plan(current)
    except IncompleteOutputError:
        raise  # a plan that is not whole is never read as a loose ward table
    except InputFormatError:
        if not Path(current).is_file():
            raise
        # a plain ward table file: one row per ward with its level columns
        table = read_boundaries(current, id_col=None if ward_id == "id" else ward_id)
        return table, str(current), None, {}
    return plan.wards, str(current), plan.levels, plan.exceptions


def _current_levels(
    levels: Sequence[str] | None,
    plan_levels: Sequence[str] | None,
    spec: Spec | None,
    table: pd.DataFrame,
    source: str,
) -> tuple[str, ...]:
    """Return the levels: given, else the plan's, else the spec's, else the usual ones present."""
    if levels is not None:
        return tuple(levels)
    if plan_levels:
        return tuple(plan_levels)
    if spec is not None and spec.levels:
        return tuple(r.value for r in spec.levels)
    lv = tuple(c for c in DEFAULT_LEVELS if c in table.columns)
    if not lv:
        raise ColumnNotFoundError(
            f"{source}: no level column found (looked for {', '.join(DEFAULT_LEVELS)}); "
            f"the columns are {listing(table.columns)}; pass levels=[...] small to large"
        )
    return lv


def _names_from(
    table: pd.DataFrame, levels: Sequence[str], given: Mapping[str, Any] | None
) -> dict[str, dict[str, str]]:
    """Return the area names per level: ``<level>_name`` columns, then what the caller gave."""
    out: dict[str, dict[str, str]] = {}
    for lv in levels:
        m: dict[str, str] = {}
        col = f"{lv}_name"
        if col in table.columns:
            pairs = table[[lv, col]].dropna().drop_duplicates(lv)
            m = {str(a): str(b) for a, b in zip(pairs[lv], pairs[col], strict=True)}
        spec = (given or {}).get(lv)
        if isinstance(spec, str):
            if spec not in table.columns:
                raise ColumnNotFoundError(
                    f"names[{lv!r}]={spec!r} is not a column of the ward table; its columns are "
                    f"{listing(table.columns)}"
                )
            pairs = table[[lv, spec]].dropna().drop_duplicates(lv)
            m = {str(a): str(b) for a, b in zip(pairs[lv], pairs[spec], strict=True)}
        elif isinstance(spec, Mapping):
            m.update({str(k): str(v) for k, v in spec.items() if v is not None})
        out[lv] = m
    return out


def _ward_counts(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """Return a written plan's incidents and demand per ward, when every ward has them."""
    if not all(c in table.columns for c in DEMAND_COLUMNS):
        return None
    inc = pd.to_numeric(table["incidents"], errors="coerce")
    dem = pd.to_numeric(table["demand"], errors="coerce")
    if inc.notna().all() and dem.notna().all():
        return inc.to_numpy(dtype=np.int64), dem.to_numpy(dtype=float)
    return None


# ---------------------------------------------------------------------------- the spec
def _apply_spec(
    cur: _Current, parsed: Spec | None, exceptions: Mapping[str, Iterable[str]] | None
) -> tuple[Editor, dict[str, frozenset[str]]]:
    """Apply the spec's steps in order; raise every problem at once; return the exceptions."""
    lv = cur.levels
    problems: list[str] = list(parsed.problems) if parsed is not None else []
    if parsed is not None and parsed.levels:
        declared = [r.value for r in parsed.levels]
        if tuple(declared) != lv:
            problems.append(
                f"levels: the spec expects levels {', '.join(declared)} but the ward table has "
                f"{', '.join(lv)}"
            )
    graph = WardGraph(cur.table, cur.ward_id)
    district = parsed.district_column if parsed is not None else None
    ed = Editor(cur.table, lv, cur.ward_id, cur.names, graph, district)
    before = {x: graph.pieces(ed.col[x]) for x in lv}
    for step in parsed.steps if parsed is not None else ():
        k = ed.level_index(step)
        if k is None:
            continue
        getattr(ed, step.op)(step, k)
    ed.nest_down()
    exc = _exceptions(cur, parsed, ed, exceptions, problems)
    ed.check_pieces(before, exc)
    problems += ed.problems
    if problems:
        source = parsed.source if parsed is not None else "spec"
        raise ValidationError(source, sorted(problems, key=problem_order))
    return ed, {x: frozenset(exc[x]) for x in lv}


def _exceptions(
    cur: _Current,
    parsed: Spec | None,
    ed: Editor,
    exceptions: Mapping[str, Iterable[str]] | None,
    problems: list[str],
) -> dict[str, set[str]]:
    """Return the areas allowed to be non-contiguous: the plan's, the caller's, the spec's."""
    lv = cur.levels
    exc: dict[str, set[str]] = {x: set(cur.exceptions.get(x, ())) for x in lv}
    for x, ids in (exceptions or {}).items():
        if x not in lv:
            problems.append(f"exceptions: unknown level {x!r}; the levels are {', '.join(lv)}")
            continue
        exc[x] |= {str(i) for i in ids}
    if parsed is not None:
        for x, refs in parsed.exceptions.items():
            path = parsed.exception_paths.get(x, f"exceptions.{x}")
            if x not in lv:
                ed.add(path, f"unknown level {x!r}; the levels are {', '.join(lv)}" + hint(x, lv))
                continue
            live = ed.live(x)
            for r in refs:
                if r.value not in live and r.value not in ed.phantom[x]:
                    ed.add(
                        r.path,
                        f"no {x} {r.value!r} after the changes" + hint(r.value, sorted(live)),
                    )
                exc[x].add(r.value)
    for x in lv:  # and the areas a change allowed; only those that still exist
        exc[x] |= ed.allow[x]
        exc[x] &= ed.live(x)
    return exc


# ---------------------------------------------------------------------- the new layers
def _rebuild(
    cur: _Current, ed: Editor
) -> tuple[gpd.GeoDataFrame, dict[str, dict[str, str]], dict[str, gpd.GeoDataFrame]]:
    """Return the new ward table, the area names and every layer (each area named)."""
    new = cur.table.copy()
    for x in cur.levels:
        new[x] = pd.array(ed.col[x], dtype="string")
    final_names = {
        x: {a: ed.names[x][a] for a in sorted(ed.live(x)) if a in ed.names[x]} for x in cur.levels
    }
    layers = build_layers(new, levels=cur.levels, ward_id=cur.ward_id, names=final_names)
    for x in cur.levels:  # a name for every area: the id where none is known
        layer = layers[x]
        if "name" not in layer.columns:
            layer.insert(1, "name", pd.array([None] * len(layer), dtype="string"))
    return new, final_names, layers


def _demand(
    cur: _Current,
    new: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    incidents: Any,
    weights: Weights,
    notes: Sequence[str],
) -> tuple[tuple[np.ndarray, np.ndarray] | None, dict[str, int] | None, list[str]]:
    """Count the incidents per ward (else take the plan's); add demand to every layer."""
    counts = cur.ward_counts
    info: dict[str, int] | None = None
    warnings = list(notes)
    if incidents is not None:
        inc, dem, info = _ward_demand(cur.table, incidents, weights)
        counts = (inc, dem)
        if info["outside"]:
            warnings.append(
                f"{info['outside']:,} of {info['points']:,} incident point(s) lie outside the "
                "force area (in no ward) and are not counted"
            )
    elif counts is not None:
        log.info("reorganise: demand per ward taken from the current plan's wards")
    if counts is not None:
        _add_demand(layers, cur.levels, new, cur.ward_id, counts)
    return counts, info, warnings


def _ward_demand(
    table: gpd.GeoDataFrame, incidents: Any, weights: Weights
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    points = getattr(incidents, "points", incidents)
    if not isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputFormatError(
            f"incidents: expected points (a GeoDataFrame or beatplan.geo.Incidents), got "
            f"{type(incidents).__name__}"
        )
    c = count_points(
        table.geometry.values, points, crs=table.crs, weights=weights, what="incidents"
    )
    return c.incidents, c.demand, c.info


def _add_demand(
    layers: dict[str, gpd.GeoDataFrame],
    levels: Sequence[str],
    table: gpd.GeoDataFrame,
    ward_id: str,
    counts: tuple[np.ndarray, np.ndarray],
) -> None:
    d = level_demand(table, None, levels=levels, ward_id=ward_id, ward_counts=counts)
    for lv in levels:
        sub = d[d["level"] == lv].set_index("id")
        layer = layers[lv]
        ids = layer["id"].astype(str)
        layer["incidents"] = sub["incidents"].reindex(ids).to_numpy(dtype=np.int64)
        layer["demand"] = sub["demand"].reindex(ids).to_numpy(dtype=float)
        layer["deviation_pct"] = sub["deviation_pct"].reindex(ids).to_numpy(dtype=float)
        geom = layer.geometry.name
        layers[lv] = layer[[c for c in layer.columns if c != geom] + [geom]]
    if "force" in layers:
        layers["force"]["incidents"] = np.array([int(counts[0].sum())], dtype=np.int64)
        layers["force"]["demand"] = [float(counts[1].sum())]
        f = layers["force"]
        layers["force"] = f[[c for c in f.columns if c != f.geometry.name] + [f.geometry.name]]


# ---------------------------------------------------------------------------- the report
@dataclass(frozen=True)
class _Tables:
    """The change report, the crosswalks, and which wards changed area at each level."""

    changes: pd.DataFrame
    area_crosswalk: pd.DataFrame
    crosswalk: pd.DataFrame
    old_cols: dict[str, np.ndarray]
    moved_by: dict[str, np.ndarray]
    renamed_by: dict[str, np.ndarray]
    area: np.ndarray

    @property
    def moved(self) -> np.ndarray:
        """The wards that changed area at some level."""
        return np.logical_or.reduce(list(self.moved_by.values()))


def _tables(
    cur: _Current,
    ed: Editor,
    final_names: Mapping[str, Mapping[str, str]],
    counts: tuple[np.ndarray, np.ndarray] | None,
) -> _Tables:
    """Compare old and new per area (change report, area crosswalk) and per ward (crosswalk)."""
    lv, table = cur.levels, cur.table
    wid = table[cur.ward_id].to_numpy(dtype=object)
    area = np.asarray(shapely.area(table.geometry.values), dtype=float)
    old_cols = {x: table[x].to_numpy(dtype=object) for x in lv}
    changes, area_xw, moved_by = change_table(
        lv, old_cols, ed.col, ed.origin, cur.names, final_names, wid, area, counts
    )
    crosswalk = pd.DataFrame({"ward": pd.array(wid, dtype="string")})
    if "name" in table.columns:
        crosswalk["name"] = table["name"].astype("string").to_numpy()
    for x in lv:
        crosswalk[f"{x}_old"] = pd.array(old_cols[x], dtype="string")
        crosswalk[x] = pd.array(ed.col[x], dtype="string")
    renamed_by = {
        x: (old_cols[x] != np.asarray(ed.col[x], dtype=object)) & ~moved_by[x] for x in lv
    }
    crosswalk["changed"] = _levels_flagged(lv, moved_by)
    crosswalk["renamed"] = _levels_flagged(lv, renamed_by)
    if counts is not None:
        crosswalk["incidents"] = counts[0]
        crosswalk["demand"] = counts[1]
    return _Tables(changes, area_xw, crosswalk, old_cols, moved_by, renamed_by, area)


def _levels_flagged(levels: Sequence[str], flags: Mapping[str, np.ndarray]) -> Any:
    """Return per ward the levels flagged (``"sector;npa"``), or an empty text (a string array)."""
    return pd.array(
        [
            ";".join(x for x, c in zip(levels, row, strict=True) if c)
            for row in zip(*(flags[x] for x in levels), strict=True)
        ],
        dtype="string",
    )


def _summary(
    cur: _Current,
    parsed: Spec | None,
    ed: Editor,
    tables: _Tables,
    counts: tuple[np.ndarray, np.ndarray] | None,
    info: dict[str, int] | None,
    checks: CheckReport,
) -> dict[str, Any]:
    """Return the headline figures (see :meth:`Reorganisation.describe`)."""
    moved, area = tables.moved, tables.area
    return {
        "spec_name": parsed.name if parsed is not None else None,
        "spec_source": parsed.source if parsed is not None else None,
        "wards": len(cur.table),
        "steps": len(parsed.steps) if parsed is not None else 0,
        "levels": cur.levels,
        "wards_moved": int(moved.sum()),
        "wards_renamed": int(
            (np.logical_or.reduce(list(tables.renamed_by.values())) & ~moved).sum()
        ),
        "by_level": {x: _level_summary(x, ed, tables) for x in cur.levels},
        "area_m2": float(area.sum()),
        "area_shifted_m2": float(area[moved].sum()),
        "incidents_total": int(counts[0].sum()) if counts is not None else None,
        "incidents_outside": info["outside"] if info else (0 if counts is not None else None),
        "incidents_unlocated": info["unlocated"] if info else (0 if counts is not None else None),
        "demand_total": float(counts[1].sum()) if counts is not None else None,
        "demand_shifted": float(counts[1][moved].sum()) if counts is not None else None,
        "checks_ok": checks.ok,
        "check_errors": len(checks.errors),
        "check_warnings": len(checks.warnings),
    }


def _level_summary(x: str, ed: Editor, tables: _Tables) -> dict[str, Any]:
    """Return one level's areas old and new, wards moved, and areas by status."""
    ch = tables.changes[tables.changes["level"] == x]
    return {
        "areas_old": int(pd.Series(tables.old_cols[x]).nunique()),
        "areas_new": int(pd.Series(ed.col[x]).nunique()),
        "wards_moved": int(tables.moved_by[x].sum()),
        "wards_renamed": int(tables.renamed_by[x].sum()),
        **{
            s: sorted(ch.loc[ch["status"] == s, "id" if s != "removed" else "old_id"].astype(str))
            for s in ("new", "removed", "changed", "renamed")
        },
    }


def _no_review() -> pd.DataFrame:
    """Return the (empty) wards for review of a reorganisation, which moves only what it names."""
    return pd.DataFrame(
        {
            "ward": pd.Series(dtype="string"),
            "name": pd.Series(dtype="string"),
            "level": pd.Series(dtype="string"),
            "area": pd.Series(dtype="string"),
            "reason": pd.Series(dtype="string"),
        }
    )
