"""Apply a planner's declared reorganisation to a ward table and regenerate every layer.

:func:`reorganise` takes the current police hierarchy as a ward table (one row per ward, one
column per level) or as a folder written by :func:`boundaries.write_plan`, and a spec
(:mod:`boundaries.spec`: merge, create, move, split, rename, exceptions). It

1. checks the spec against the ward table — unknown levels, areas and ward codes, a ward
   given twice, merges of areas that do not touch, new areas in pieces, parents that cannot
   be told — and raises *one* :class:`geo.errors.ValidationError` listing every problem with
   its key path in the spec;
2. applies the changes in order. A ward given to an area takes that area's higher levels, so
   nesting upward always holds; an area of a lower level left straddling two higher areas by
   a change is split along the new line (its largest part keeps the id, the others get
   ``<id>-2``, ``<id>-3`` ...) and the split is reported;
3. rebuilds every layer as exact unions of wards (:func:`boundaries.build_layers`), reruns
   every check (:func:`boundaries.check_layers`) and reports, per area, what changed: wards
   gained and lost, area and demand before and after, each area's deviation from its level's
   mean.

Ids survive where the area survives (renames carry the identity); new areas get the ids the
spec gives or deterministic ones (the level's pattern, e.g. ``B37`` after ``B36``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from boundaries.checks import CheckReport, check_layers, check_nesting, shared_boundaries
from boundaries.demand import Weights, count_points, deviation_pct, level_demand
from boundaries.hierarchy import DEFAULT_LEVELS, _listing, build_layers, ward_table
from boundaries.spec import Ref, Spec, Step, _did_you_mean, load_spec
from geo.crs import to_working, working_crs
from geo.errors import ColumnNotFoundError, CRSError, InputFormatError, ValidationError
from geo.layers import read_boundaries

__all__ = ["DEMAND_COLUMNS", "Reorganisation", "reorganise"]

log = logging.getLogger("beatplan")

#: Per-ward demand columns kept in a written plan's ``wards`` layer and reused when no
#: incidents are given.
DEMAND_COLUMNS = ("incidents", "demand")


# --------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Reorganisation:
    """The result of :func:`reorganise`.

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
        Every check of :func:`boundaries.check_layers` on the new hierarchy.
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
        each level, ``changed`` (levels whose area changed, renames aside) and, with demand,
        ``incidents`` and ``demand``.
    area_crosswalk : pandas.DataFrame
        One row per (level, old area, new area) sharing wards: ``level``, ``old_id``,
        ``old_name``, ``new_id``, ``new_name``, ``n_wards``, ``area_m2``, ``share_of_old``,
        ``share_of_new`` (by area) and, with demand, ``incidents``.
    steps : pandas.DataFrame
        What each change did: ``step`` (key path), ``op``, ``level``, ``area``, ``n_wards``
        and ``detail``; splits made to keep nesting appear with step ``(nesting)``.
    review : pandas.DataFrame
        Wards for a human to look at (for a reorganisation: none; the column layout of
        :attr:`boundaries.Realignment.assignment` review rows).
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

    wards: gpd.GeoDataFrame = field(repr=False)
    layers: dict[str, gpd.GeoDataFrame] = field(repr=False)
    checks: CheckReport = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    crosswalk: pd.DataFrame = field(repr=False)
    area_crosswalk: pd.DataFrame = field(repr=False)
    steps: pd.DataFrame = field(repr=False)
    review: pd.DataFrame = field(repr=False)
    summary: dict[str, Any]
    warnings: tuple[str, ...] = field(repr=False)
    current: gpd.GeoDataFrame = field(repr=False)
    levels: tuple[str, ...] = ()
    ward_id: str = "id"
    names: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    old_names: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    exceptions: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    spec: Spec | None = field(default=None, repr=False)
    crs: CRS | None = field(default=None, repr=False)

    @property
    def areas(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers (the name :class:`boundaries.Realignment` uses)."""
        return self.layers

    def describe(self) -> str:
        """Return the summary as a few lines of plain text."""
        s = self.summary
        title = f"{s['spec_name']}: " if s.get("spec_name") else ""
        lines = [
            f"{title}{s['wards']} wards; {s['steps']} change(s) applied; "
            f"{s['wards_moved']} ward(s) changed area at some level"
        ]
        for lv in self.levels:
            c = s["by_level"][lv]
            parts = [f"{c['areas_old']} -> {c['areas_new']} areas"]
            for k in ("new", "removed", "changed", "renamed"):
                if c[k]:
                    parts.append(f"{k}: {_listing(c[k], 6)}")
            lines.append(f"{lv}: " + "; ".join(parts))
        if s.get("incidents_total") is not None:
            lines.append(
                f"demand: {s['incidents_total']:,} incidents in the force area "
                f"({s['incidents_outside']:,} outside it, {s['incidents_unlocated']:,} with no "
                f"location); {s['demand_shifted']:,.1f} of {s['demand_total']:,.1f} demand "
                "changed area"
            )
        lines.append(
            "checks: "
            + (
                f"passed ({', '.join(self.checks.checks)})"
                if self.checks.ok
                else f"{len(self.checks.errors)} error(s)"
            )
            + (f", {len(self.checks.warnings)} warning(s)" if self.checks.warnings else "")
        )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ----------------------------------------------------------------------------- the input
@dataclass
class _Current:
    table: gpd.GeoDataFrame
    levels: tuple[str, ...]
    names: dict[str, dict[str, str]]
    exceptions: dict[str, frozenset[str]]
    ward_counts: tuple[np.ndarray, np.ndarray] | None
    source: str


def _names_from(
    table: pd.DataFrame, levels: Sequence[str], given: Mapping[str, Any] | None
) -> dict[str, dict[str, str]]:
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
                    f"{_listing(table.columns)}"
                )
            pairs = table[[lv, spec]].dropna().drop_duplicates(lv)
            m = {str(a): str(b) for a, b in zip(pairs[lv], pairs[spec], strict=True)}
        elif isinstance(spec, Mapping):
            m.update({str(k): str(v) for k, v in spec.items() if v is not None})
        out[lv] = m
    return out


def _load_current(
    current: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    levels: Sequence[str] | None,
    ward_id: str,
    names: Mapping[str, Any] | None,
    spec: Spec | None,
) -> _Current:
    exceptions: dict[str, frozenset[str]] = {}
    plan_levels: Sequence[str] | None = None
    if isinstance(current, gpd.GeoDataFrame):
        table = current.copy()
        source = "current"
    elif isinstance(current, str | os.PathLike):
        from boundaries.outputs import read_plan

        source = str(current)
        try:
            plan = read_plan(current)
        except InputFormatError:
            if not Path(current).is_file():
                raise
            # a plain ward table file: one row per ward with its level columns
            table = read_boundaries(current, id_col=None if ward_id == "id" else ward_id)
        else:
            table, plan_levels, exceptions = plan.wards, plan.levels, plan.exceptions
        ward_id = "id"
    else:
        raise InputFormatError(
            f"current: expected a ward table (GeoDataFrame) or a folder written by write_plan, "
            f"got {type(current).__name__}"
        )
    if table.crs is None:
        raise CRSError(
            f"{source}: the ward table has no CRS; set one with .set_crs(...) (e.g. 27700)"
        )
    if not CRS.from_user_input(table.crs).is_projected:
        table = to_working(table, working_crs(table))
    spec_levels = [r.value for r in spec.levels] if spec is not None and spec.levels else None
    if levels is not None:
        lv = tuple(levels)
    elif plan_levels:
        lv = tuple(plan_levels)
    elif spec_levels:
        lv = tuple(spec_levels)
    else:
        lv = tuple(c for c in DEFAULT_LEVELS if c in table.columns)
        if not lv:
            raise ColumnNotFoundError(
                f"{source}: no level column found (looked for {', '.join(DEFAULT_LEVELS)}); "
                f"the columns are {_listing(table.columns)}; pass levels=[...] small to large"
            )
    table = ward_table(table, ward_id=ward_id, levels=lv, what=source)
    nesting = check_nesting(table, levels=lv, ward_id=ward_id)
    if not nesting.ok:
        raise ValidationError(
            source,
            [p.message for p in nesting.errors]
            + ["the current hierarchy must nest before it is reorganised: resolve it with "
               "boundaries.nest(...) or fix the ward table"],
        )  # fmt: skip
    name_map = _names_from(table, lv, names)
    counts = None
    if all(c in table.columns for c in DEMAND_COLUMNS):
        inc = pd.to_numeric(table["incidents"], errors="coerce")
        dem = pd.to_numeric(table["demand"], errors="coerce")
        if inc.notna().all() and dem.notna().all():
            counts = (inc.to_numpy(dtype=np.int64), dem.to_numpy(dtype=float))
    derived = [f"{x}_name" for x in lv] + [*DEMAND_COLUMNS, "area_m2"]
    table = table.drop(columns=[c for c in derived if c in table.columns])
    return _Current(table, lv, name_map, exceptions, counts, source)


# ------------------------------------------------------------------------------ editing
class _Graph:
    """Ward adjacency (shared boundary, not a corner) as position pairs."""

    def __init__(self, table: gpd.GeoDataFrame, ward_id: str) -> None:
        sb = shared_boundaries(table, ward_id=ward_id)
        pos = pd.Series(np.arange(len(table)), index=table[ward_id].to_numpy(dtype=object))
        self.n = len(table)
        self.i = pos.reindex(sb["ward_a"].to_numpy()).to_numpy(dtype=np.int64)
        self.j = pos.reindex(sb["ward_b"].to_numpy()).to_numpy(dtype=np.int64)

    def labels(self, keep: np.ndarray) -> np.ndarray:
        """Label the connected components of the graph keeping only edges with ``keep``."""
        i, j = self.i[keep], self.j[keep]
        g = coo_matrix((np.ones(len(i)), (i, j)), shape=(self.n, self.n)).tocsr()
        return np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)

    def groups(self, members: np.ndarray) -> list[np.ndarray]:
        """Return the connected groups of a set of wards (positions), largest first."""
        if len(members) == 0:
            return []
        inside = np.zeros(self.n, dtype=bool)
        inside[members] = True
        lab = self.labels(inside[self.i] & inside[self.j])[members]
        out = [members[lab == v] for v in np.unique(lab)]
        return sorted(out, key=lambda a: (-len(a), int(a.min())))

    def pieces(self, col: np.ndarray) -> dict[str, int]:
        """Count the connected pieces of every area of one level."""
        lab = self.labels(col[self.i] == col[self.j])
        s = pd.DataFrame({"a": col, "c": lab}).groupby("a")["c"].nunique()
        return {str(k): int(v) for k, v in s.items()}


class _Editor:
    """Applies the steps to per-level id arrays, collecting every problem."""

    def __init__(
        self,
        table: gpd.GeoDataFrame,
        levels: tuple[str, ...],
        ward_id: str,
        names: dict[str, dict[str, str]],
        graph: _Graph,
        district_column: str | None,
    ) -> None:
        self.table = table
        self.levels = levels
        self.ids = table[ward_id].to_numpy(dtype=object)
        self.pos = {w: i for i, w in enumerate(self.ids)}
        self.area = np.asarray(shapely.area(table.geometry.values), dtype=float)
        self.col = {lv: table[lv].to_numpy(dtype=object).copy() for lv in levels}
        self.names = {lv: dict(names.get(lv, {})) for lv in levels}
        self.origin: dict[str, dict[str, str | None]] = {
            lv: {str(a): str(a) for a in pd.unique(self.col[lv])} for lv in levels
        }
        self.seen = {lv: set(self.origin[lv]) for lv in levels}
        self.phantom: dict[str, set[str]] = {lv: set() for lv in levels}
        self.touched: dict[str, dict[str, list[str]]] = {lv: {} for lv in levels}
        self.allow: dict[str, set[str]] = {lv: set() for lv in levels}
        self.flagged: dict[str, set[str]] = {lv: set() for lv in levels}
        self.mentions: dict[str, dict[str, str]] = {lv: {} for lv in levels}
        self.graph = graph
        self.district_column = district_column
        self.problems: list[str] = []
        self.log: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    # ---- helpers
    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def live(self, lv: str) -> set[str]:
        return set(pd.unique(self.col[lv]))

    def level_index(self, step: Step) -> int | None:
        if step.level is None:
            return None
        v = step.level.value
        if v in self.levels:
            return self.levels.index(v)
        self.add(
            step.level.path,
            f"unknown level {v!r}; the ward table's levels are {', '.join(self.levels)}"
            + _hint(v, self.levels),
        )
        return None

    def area_ref(self, lv: str, ref: Ref | None) -> str | None:
        if ref is None:
            return None
        v = ref.value
        live = self.live(lv)
        if v in live:
            return v
        if v in self.phantom[lv]:
            return None
        other = [x for x in self.levels if x != lv and v in self.live(x)]
        if other:
            msg = f"{v!r} is a {other[0]}, not a {lv}"
        elif v in self.seen[lv]:
            msg = f"{lv} {v!r} no longer exists at this point (an earlier change removed it)"
        else:
            msg = f"no {lv} {v!r} in the ward table" + _hint(v, sorted(live))
            known = sorted(live)
            msg += f" ({len(known)} {lv} areas: {_listing(known, 8)})"
        self.add(ref.path, msg)
        return None

    def wards(self, refs: Sequence[Ref], lv: str) -> np.ndarray:
        out = []
        here: set[str] = set()
        for r in refs:
            if r.value in here:  # repeated in the same list: reported with the spec's shape
                continue
            here.add(r.value)
            p = self.pos.get(r.value)
            if p is None:
                self.add(r.path, f"unknown ward code {r.value!r}" + _hint(r.value, self.ids))
                continue
            prev = self.mentions[lv].get(r.value)
            if prev is not None and prev != r.path:
                self.add(
                    r.path,
                    f"ward {r.value} is given twice at level {lv} (also at {prev}); each ward "
                    "can be placed once",
                )
            else:
                self.mentions[lv][r.value] = r.path
            out.append(p)
        return np.unique(np.asarray(out, dtype=np.int64))

    def districts(self, refs: Sequence[Ref], path: str) -> np.ndarray:
        col = self.district_column or "district"
        t = self.table
        if col not in t.columns:
            self.add(
                path,
                f"the ward table has no district column {col!r} (its columns: "
                f"{_listing(t.columns)}); add one, set district_column:, or list the wards",
            )
            return np.zeros(0, dtype=np.int64)
        codes = t[col].astype("string").fillna("").to_numpy(dtype=object)
        name_cols = [c for c in (f"{col}_name", "district_name") if c in t.columns]
        labels = {str(c) for c in codes if c}
        for nc in name_cols:
            labels |= {str(v) for v in t[nc].dropna()}
        out = []
        for r in refs:
            hit = codes == r.value
            for nc in name_cols:
                names = t[nc].astype("string").str.casefold().fillna("").to_numpy(dtype=object)
                hit |= names == r.value.casefold()
            if not hit.any():
                self.add(
                    r.path,
                    f"no ward lies in district {r.value!r} (column {col!r})"
                    + _hint(r.value, sorted(labels))
                    + f"; the districts are {_listing(sorted(labels), 12)}",
                )
            out.append(np.nonzero(hit)[0])
        return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    def new_id(self, lv: str, base: str | None = None) -> str:
        used = self.seen[lv] | self.live(lv) | self.phantom[lv]
        if base is not None:
            k = 2
            while f"{base}-{k}" in used:
                k += 1
            return f"{base}-{k}"
        pat = re.compile(r"^(.*?)(\d+)$")
        found = [m for m in (pat.match(str(x)) for x in sorted(self.seen[lv])) if m]
        if found:
            prefix = pd.Series([m.group(1) for m in found]).value_counts().index[0]
            nums = [m.group(2) for m in found if m.group(1) == prefix]
            width = max(len(x) for x in nums)
            k = max(int(x) for x in nums) + 1
            while f"{prefix}{k:0{width}d}" in used:
                k += 1
            return f"{prefix}{k:0{width}d}"
        k = 1
        while f"{lv.upper()}-NEW-{k}" in used:
            k += 1
        return f"{lv.upper()}-NEW-{k}"

    def parents(
        self, k: int, members: np.ndarray, within: Mapping[str, Ref] | None, path: str
    ) -> dict[str, str]:
        lv = self.levels[k]
        above = self.levels[k + 1 :]
        within = dict(within or {})
        for h, ref in within.items():
            if h not in above:
                self.add(
                    ref.path,
                    f"{h!r} is not a level above {lv}; the levels above are "
                    f"{', '.join(above) if above else 'none'}",
                )
        out: dict[str, str] = {}
        anchor: int | None = None
        anchor_level = ""
        for h in above:
            if h in within:
                aid = self.area_ref(h, within[h])
                if aid is None:
                    anchor = None
                    continue
                if anchor is not None and self.col[h][anchor] != aid:
                    self.add(
                        within[h].path,
                        f"{h} {aid} does not hold {anchor_level} {out[anchor_level]} given "
                        f"under within; it lies in {h} {self.col[h][anchor]}",
                    )
                out[h] = aid
                anchor = int(np.nonzero(self.col[h] == aid)[0][0])
                anchor_level = h
            elif anchor is not None:
                out[h] = str(self.col[h][anchor])
            elif len(members):
                vals = sorted(set(self.col[h][members]))
                if len(vals) == 1:
                    out[h] = vals[0]
                else:
                    self.add(
                        path,
                        f"its wards lie in {len(vals)} {h} areas ({_listing(vals)}); say which "
                        f"{h} the {lv} belongs to with within: {{{h}: <id>}}",
                    )
        return out

    def assign(
        self, members: np.ndarray, k: int, aid: str, parents: Mapping[str, str], path: str
    ) -> None:
        lv = self.levels[k]
        self.col[lv][members] = aid
        for h, v in parents.items():
            changed = members[self.col[h][members] != v]
            for old in sorted(set(self.col[h][changed])):
                self.touch(h, str(old), path)
            if len(changed):
                self.touch(h, v, path)
            self.col[h][members] = v

    def touch(self, lv: str, aid: str, path: str) -> None:
        self.touched[lv].setdefault(aid, [])
        if path not in self.touched[lv][aid]:
            self.touched[lv][aid].append(path)

    def rename_key(self, lv: str, old: str, new: str) -> None:
        for d in (self.touched[lv],):
            if old in d:
                d[new] = d.pop(old)
        for s in (self.allow[lv], self.flagged[lv]):
            if old in s:
                s.discard(old)
                s.add(new)
        self.origin[lv][new] = self.origin[lv].pop(old, None)
        if old in self.names[lv]:
            self.names[lv].setdefault(new, self.names[lv].pop(old))

    def check_groups(self, members: np.ndarray, path: str, what: str) -> bool:
        groups = self.graph.groups(members)
        if len(groups) <= 1:
            return True
        detached = [", ".join(sorted(self.ids[g])) for g in groups[1:]]
        self.add(
            path,
            f"{what} would be in {len(groups)} pieces that share no boundary (cut off from the "
            f"rest: {'; '.join(detached[:5])}{' ...' if len(detached) > 5 else ''}); make it "
            "contiguous, or set allow_non_contiguous: true if it is meant to be in pieces",
        )
        return False

    def record(self, step: Step, lv: str, area: str, n: int, detail: str) -> None:
        note = step.args.get("note")
        self.log.append(
            {
                "step": step.path,
                "op": step.op,
                "level": lv,
                "area": area,
                "n_wards": int(n),
                "detail": detail + (f" ({note})" if note else ""),
            }
        )

    # ---- operations
    def create(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        parts = []
        if a.get("districts"):
            parts.append(self.districts(a["districts"], f"{step.path}.districts"))
        if a.get("wards"):
            parts.append(self.wards(a["wards"], lv))
        for h, refs in (a.get("areas") or {}).items():
            if h not in self.levels:
                self.add(
                    f"{step.path}.areas.{h}",
                    f"unknown level {h!r}; the levels are {', '.join(self.levels)}"
                    + _hint(h, self.levels),
                )
                continue
            for r in refs:
                aid = self.area_ref(h, r)
                if aid is not None:
                    parts.append(np.nonzero(self.col[h] == aid)[0])
        members = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        ref = a.get("id")
        if ref is not None:
            aid = ref.value
            if aid in self.live(lv):
                self.add(
                    ref.path,
                    f"{lv} {aid} already exists; to give it more wards use op: move, to join "
                    "areas use op: merge",
                )
                self.phantom[lv].add(aid)
                return
        else:
            aid = self.new_id(lv)
        self.seen[lv].add(aid)
        if len(members) == 0:
            self.phantom[lv].add(aid)
            if not any(p.startswith((f"{step.path}.", f"{step.path}:")) for p in self.problems):
                self.add(step.path, "selects no ward")
            return
        parents = self.parents(k, members, a.get("within"), step.path)
        if a.get("allow_non_contiguous"):
            self.allow[lv].add(aid)
        elif not self.check_groups(members, step.path, f"the new {lv} {aid}"):
            self.flagged[lv].add(aid)
        for old in sorted(set(self.col[lv][members])):
            self.touch(lv, str(old), step.path)
        self.assign(members, k, aid, parents, step.path)
        self.origin[lv][aid] = None
        if a.get("name"):
            self.names[lv][aid] = a["name"]
        self.touch(lv, aid, step.path)
        self.record(step, lv, aid, len(members), step.describe())

    def merge(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        known = []
        for r in a.get("areas", ()):
            aid = self.area_ref(lv, r)
            if aid is not None and aid not in known:
                known.append(aid)
        ref = a.get("id")
        target = ref.value if ref is not None else (known[0] if known else None)
        if ref is not None and target in self.live(lv) and target not in known:
            self.add(
                ref.path,
                f"{lv} {target} already exists and is not one of the areas merged; choose a "
                "new id or one of the merged areas' ids",
            )
            return
        if target is None or len(known) < 2:
            if target is not None:
                self.phantom[lv].add(target)
            return
        members = np.nonzero(np.isin(self.col[lv], known))[0]
        parents = self.parents(k, members, a.get("within"), step.path)
        allow = bool(a.get("allow_non_contiguous")) or any(x in self.allow[lv] for x in known)
        if not allow:
            self._check_touching(lv, known, step)
        self.assign(members, k, target, parents, step.path)
        kept_names = [self.names[lv].get(x, x) for x in known]
        for x in known:
            if x != target:
                self.origin[lv].pop(x, None)
                self.names[lv].pop(x, None)
                for s in (self.allow[lv], self.flagged[lv]):
                    s.discard(x)
                self.touch(lv, x, step.path)
        if target not in known:
            self.origin[lv][target] = None
        self.seen[lv].add(target)
        if a.get("name"):
            self.names[lv][target] = a["name"]
        elif target not in known or target not in self.names[lv]:
            self.names[lv][target] = " & ".join(kept_names)
        if allow:
            self.allow[lv].add(target)
        self.touch(lv, target, step.path)
        self.record(step, lv, target, len(members), step.describe())

    def _check_touching(self, lv: str, known: list[str], step: Step) -> None:
        col = self.col[lv]
        code = {x: c for c, x in enumerate(known)}
        ci = np.array([code.get(v, -1) for v in col[self.graph.i]], dtype=np.int64)
        cj = np.array([code.get(v, -1) for v in col[self.graph.j]], dtype=np.int64)
        e = (ci >= 0) & (cj >= 0) & (ci != cj)
        g = coo_matrix((np.ones(int(e.sum())), (ci[e], cj[e])), shape=(len(known),) * 2)
        n, lab = connected_components(g.tocsr(), directed=False)
        if n > 1:
            groups = [[known[c] for c in range(len(known)) if lab[c] == v] for v in range(n)]
            self.add(
                f"{step.path}.areas",
                f"the {lv} areas {' | '.join(' + '.join(g) for g in groups)} do not touch (no "
                "shared boundary), so the merged area would be in pieces; merge areas that "
                "touch, or set allow_non_contiguous: true if it is meant to be in pieces",
            )
            self.flagged[lv].add(step.args["id"].value if step.args.get("id") else known[0])

    def move(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        to = self.area_ref(lv, a.get("to"))
        members = self.wards(a.get("wards", ()), lv)
        if to is None or len(members) == 0:
            return
        anchor = int(np.nonzero(self.col[lv] == to)[0][0])
        parents = {h: str(self.col[h][anchor]) for h in self.levels[k + 1 :]}
        already = members[self.col[lv][members] == to]
        if len(already):
            self.warnings.append(
                f"{step.path}: ward(s) {_listing(self.ids[already])} are already in {lv} {to}"
            )
        sources = sorted(set(self.col[lv][members]) - {to})
        for s in sources:
            self.touch(lv, str(s), step.path)
            if a.get("allow_non_contiguous"):
                self.allow[lv].add(str(s))
        if a.get("allow_non_contiguous"):
            self.allow[lv].add(to)
        self.assign(members, k, to, parents, step.path)
        self.touch(lv, to, step.path)
        self.record(
            step,
            lv,
            to,
            len(members),
            step.describe() + (f" from {_listing(sources)}" if sources else ""),
        )

    def split(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        area = self.area_ref(lv, a.get("area"))
        parts = a.get("into", ())
        if area is None:
            for p in parts:
                if p.get("id") is not None:
                    self.phantom[lv].add(p["id"].value)
            return
        members = np.nonzero(self.col[lv] == area)[0]
        in_area = np.zeros(len(self.ids), dtype=bool)
        in_area[members] = True
        taken = np.zeros(len(self.ids), dtype=bool)
        chosen: list[tuple[dict[str, Any], np.ndarray]] = []
        for p in parts:
            w = self.wards(p.get("wards", ()), lv)
            bad = w[~in_area[w]]
            for b in bad:
                self.add(
                    f"{p['path']}.wards",
                    f"ward {self.ids[b]} is in {lv} {self.col[lv][b]}, not in {area}; a split "
                    "divides only the area's own wards",
                )
            w = w[in_area[w]]
            taken[w] = True
            chosen.append((p, w))
        rest = members[~taken[members]]
        n_rest = sum(1 for p, _ in chosen if p.get("rest"))
        if n_rest == 0 and len(rest):
            self.add(
                f"{step.path}.into",
                f"{len(rest)} ward(s) of {lv} {area} are in no part: "
                f"{_listing(sorted(self.ids[rest]))}; list them, or add a part with rest: true",
            )
        chosen = [(p, np.union1d(w, rest) if p.get("rest") else w) for p, w in chosen]
        keeps = [p for p, _ in chosen if p.get("id") is not None and p["id"].value == area]
        if len(keeps) > 1:
            self.add(f"{step.path}.into", f"several parts keep the id {area}; only one can")
        allow = bool(a.get("allow_non_contiguous"))
        base_name = self.names[lv].get(area, area)
        made = []
        for p, w in chosen:
            ref = p.get("id")
            if ref is not None:
                pid = ref.value
                if pid != area and pid in self.live(lv):
                    self.add(ref.path, f"{lv} {pid} already exists; give the part a new id")
                    continue
            else:
                pid = self.new_id(lv)
            self.seen[lv].add(pid)
            if len(w) == 0:
                self.add(p["path"], "the part holds no ward")
                self.phantom[lv].add(pid)
                continue
            if allow:
                self.allow[lv].add(pid)
            elif not self.check_groups(w, p["path"], f"part {pid} of {lv} {area}"):
                self.flagged[lv].add(pid)
            made.append((pid, p, w))
        if not any(pid == area for pid, _, _ in made):
            self.origin[lv].pop(area, None)
            self.names[lv].pop(area, None)
        for j, (pid, p, w) in enumerate(made):
            self.col[lv][w] = pid
            if pid != area:
                self.origin[lv][pid] = None
            self.names[lv][pid] = p.get("name") or f"{base_name} part {j + 1}"
            self.touch(lv, pid, step.path)
        self.touch(lv, area, step.path)
        self.record(
            step,
            lv,
            area,
            len(members),
            step.describe() + ": " + ", ".join(f"{pid} ({len(w)} wards)" for pid, _, w in made),
        )

    def rename(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        area = self.area_ref(lv, a.get("area"))
        ref = a.get("id")
        if area is None:
            if ref is not None:
                self.phantom[lv].add(ref.value)
            return
        new = area
        if ref is not None and ref.value != area:
            if ref.value in self.live(lv):
                self.add(ref.path, f"{lv} {ref.value} already exists; choose another id")
                return
            new = ref.value
            self.col[lv][self.col[lv] == area] = new
            self.rename_key(lv, area, new)
            self.seen[lv].add(new)
        if a.get("name"):
            self.names[lv][new] = a["name"]
        n = int((self.col[lv] == new).sum())
        self.record(step, lv, new, n, step.describe())

    # ---- after the steps
    def nest_down(self) -> None:
        """Split lower areas left straddling two higher areas, along the new line."""
        for k in range(len(self.levels) - 2, -1, -1):
            child, parent = self.levels[k], self.levels[k + 1]
            c, p = self.col[child], self.col[parent]
            df = pd.DataFrame({"c": c, "p": p, "a": self.area, "i": np.arange(len(c))})
            n_par = df.groupby("c")["p"].nunique()
            for cid in sorted(n_par.index[n_par > 1]):
                sub = df[df["c"] == cid]
                g = (
                    sub.groupby("p")
                    .agg(n=("i", "size"), a=("a", "sum"))
                    .reset_index()
                    .sort_values(["n", "a", "p"], ascending=[False, False, True])
                )
                name = self.names[child].get(cid)
                made = [f"{cid} ({int(g['n'].iloc[0])} wards, in {parent} {g['p'].iloc[0]})"]
                for row in g.iloc[1:].itertuples():
                    new = self.new_id(child, base=cid)
                    self.seen[child].add(new)
                    idx = sub["i"].to_numpy()[sub["p"].to_numpy() == row.p]
                    self.col[child][idx] = new
                    self.origin[child][new] = None
                    pname = self.names[parent].get(str(row.p), str(row.p))
                    self.names[child][new] = f"{name or cid} ({pname})"
                    if cid in self.allow[child]:
                        self.allow[child].add(new)
                    self.touch(child, new, "(nesting)")
                    made.append(f"{new} ({int(row.n)} wards, in {parent} {row.p})")
                self.touch(child, cid, "(nesting)")
                msg = (
                    f"{child} {cid} straddled {len(g)} {parent} areas after the changes and was "
                    f"split along the new line: {'; '.join(made)}"
                )
                self.warnings.append(msg)
                self.log.append(
                    {
                        "step": "(nesting)",
                        "op": "split",
                        "level": child,
                        "area": cid,
                        "n_wards": int(len(sub)),
                        "detail": msg,
                    }
                )

    def check_pieces(self, before: Mapping[str, Mapping[str, int]], exc: Mapping[str, Any]) -> None:
        """Report touched areas left in more pieces than they were, unless allowed."""
        for lv in self.levels:
            after = self.graph.pieces(self.col[lv])
            for aid, paths in sorted(self.touched[lv].items()):
                if aid not in after or aid in self.flagged[lv]:
                    continue
                if aid in self.allow[lv] or aid in exc.get(lv, ()):
                    continue
                o = self.origin[lv].get(aid)
                was = before[lv].get(o, 1) if o is not None else 1
                if after[aid] > max(was, 1):
                    members = np.nonzero(self.col[lv] == aid)[0]
                    groups = self.graph.groups(members)
                    cut = [", ".join(sorted(self.ids[g])) for g in groups[1:]]
                    steps = [p for p in paths if p != "(nesting)"] or ["(nesting)"]
                    up = self.levels[min(self.levels.index(lv) + 1, len(self.levels) - 1)]
                    why = f" (it was split to stay inside one {up})" if "(nesting)" in paths else ""
                    self.problems.append(
                        f"{', '.join(steps)}: after the changes {lv} {aid} is in "
                        f"{after[aid]} pieces{why} (cut off: {'; '.join(cut[:5])}); move those "
                        f"wards too, or declare it: exceptions: {{{lv}: [{aid}]}}"
                    )


def _problem_order(problem: str) -> tuple[int, int]:
    """Sort problems as the spec reads: top keys, then each change in order, then exceptions."""
    m = re.match(r"changes\[(\d+)\]", problem)
    if m:
        return (1, int(m.group(1)))
    if problem.startswith("exceptions"):
        return (2, 0)
    if problem.startswith("("):
        return (3, 0)
    return (0, 0)


def _hint(value: str, choices: Iterable[Any]) -> str:
    """Up to three close matches among many ids (a stricter cutoff than the spec's keys)."""
    return _did_you_mean(value, choices, n=3, cutoff=0.75)


# ------------------------------------------------------------------------------ demand
def _ward_demand(
    table: gpd.GeoDataFrame, incidents: Any, weights: Weights
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    points = getattr(incidents, "points", incidents)
    if not isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        raise InputFormatError(
            f"incidents: expected points (a GeoDataFrame or geo.Incidents), got "
            f"{type(incidents).__name__}"
        )
    c = count_points(
        table.geometry.values, points, crs=table.crs, weights=weights, what="incidents"
    )
    return c.incidents, c.demand, c.info


# ------------------------------------------------------------------------------ reports
def _identity(col: np.ndarray, origin: Mapping[str, str | None]) -> np.ndarray:
    """For each ward, the old id its new area carries on (None for a new area)."""
    return np.array([origin.get(v) for v in col], dtype=object)


def _joined(ids: pd.Series) -> str:
    return ";".join(sorted(map(str, ids)))


def _successors(
    old: np.ndarray, new: np.ndarray, area: np.ndarray, survivors: Mapping[str, str]
) -> dict[str, str]:
    """Map each old area to the new area it lives on in.

    That is its own identity (kept or renamed), else the new area that took most of its
    wards (then most of its area, then the smaller id).
    """
    df = pd.DataFrame({"o": old, "n": new, "a": area})
    g = df.groupby(["o", "n"], sort=True).agg(k=("a", "size"), a=("a", "sum")).reset_index()
    g = g.sort_values(["o", "k", "a", "n"], ascending=[True, False, False, True], kind="stable")
    best = dict(zip(g.drop_duplicates("o")["o"], g.drop_duplicates("o")["n"], strict=True))
    best.update(survivors)
    return best


def _join_by(df: pd.DataFrame, mask: np.ndarray, key: str) -> pd.Series:
    """Join the sorted ward ids of the rows in ``mask`` with ``;``, per value of ``key``."""
    sub = df.loc[mask, [key, "w"]]
    return sub.groupby(key, sort=True)["w"].agg(lambda s: ";".join(sorted(map(str, s))))


def _flows(df: pd.DataFrame, by: str, other: str) -> pd.Series:
    """Per value of ``by``: ``"X (n); Y (m)"`` for the ``other`` values its wards have."""
    c = df.groupby([by, other], sort=True).size().rename("k").reset_index()
    c = c.sort_values([by, "k", other], ascending=[True, False, True], kind="stable")
    c["t"] = c[other].astype(str) + " (" + c["k"].astype(str) + ")"
    return c.groupby(by, sort=True)["t"].agg("; ".join)


def _change_table(
    levels: Sequence[str],
    old: Mapping[str, np.ndarray],
    new: Mapping[str, np.ndarray],
    origin: Mapping[str, Mapping[str, str | None]],
    old_names: Mapping[str, Mapping[str, str]],
    new_names: Mapping[str, Mapping[str, str]],
    wid: np.ndarray,
    area: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    frames, xw = [], []
    moved: dict[str, np.ndarray] = {}
    for lv in levels:
        o = np.asarray(old[lv], dtype=object)
        n = np.asarray(new[lv], dtype=object)
        live = set(n)
        survivors = {str(v): str(k) for k, v in origin[lv].items() if v is not None and k in live}
        succ = _successors(o, n, area, survivors)
        moved[lv] = np.array([succ[a] != b for a, b in zip(o, n, strict=True)], dtype=bool)
        ident = _identity(n, origin[lv])
        kept = np.array([a == b for a, b in zip(ident, o, strict=True)], dtype=bool)
        df = pd.DataFrame({"old": o, "new": n, "w": wid, "a": area, "kept": kept})
        df["ident"] = ident
        if counts is not None:
            df["inc"], df["dem"] = counts
        # the new areas
        g = df.groupby("new", sort=True)
        nf = pd.DataFrame({"n_wards": g.size(), "area_new_m2": g["a"].sum()})
        has_ident = df["ident"].notna().to_numpy()
        nf["n_gained"] = df[has_ident & ~kept].groupby("new").size().reindex(nf.index, fill_value=0)
        nf["wards_gained"] = _join_by(df, has_ident & ~kept, "new").reindex(nf.index)
        nf["from"] = _flows(df, "new", "old").reindex(nf.index)
        if counts is not None:
            nf["incidents_new"] = g["inc"].sum()
            nf["demand_new"] = g["dem"].sum()
        nf.index.name = "id"
        nf = nf.reset_index()
        nf["old_id"] = [origin[lv].get(i) for i in nf["id"]]
        nf.loc[nf["old_id"].isna(), "n_gained"] = np.nan
        # the old areas
        go = df.groupby("old", sort=True)
        of = pd.DataFrame({"n_wards_old": go.size(), "area_old_m2": go["a"].sum()})
        lost = np.array([survivors.get(a) is not None for a in o]) & ~kept
        of["n_lost"] = df[lost].groupby("old").size().reindex(of.index, fill_value=0)
        of["wards_lost"] = _join_by(df, lost, "old").reindex(of.index)
        of["retained_m2"] = df[kept].groupby("old")["a"].sum().reindex(of.index, fill_value=0.0)
        of["to"] = _flows(df, "old", "new").reindex(of.index)
        if counts is not None:
            of["incidents_old"] = go["inc"].sum()
            of["demand_old"] = go["dem"].sum()
            of["deviation_pct_old"] = deviation_pct(of["demand_old"])
        of.index.name = "old_id"
        of = of.reset_index()
        gone = ~of["old_id"].isin(list(survivors)).to_numpy()
        of.loc[gone, "n_lost"] = np.nan
        of.loc[gone, "retained_m2"] = np.nan
        merged = nf.merge(of[~gone], on="old_id", how="left")
        removed = of[gone].copy()
        removed["id"] = None
        out = pd.concat([merged, removed], ignore_index=True)
        out.insert(0, "level", lv)
        out["name"] = [new_names[lv].get(i) if isinstance(i, str) else None for i in out["id"]]
        out["old_name"] = [
            old_names[lv].get(i) if isinstance(i, str) else None for i in out["old_id"]
        ]
        out["retained"] = out["retained_m2"] / out["area_old_m2"]
        if counts is not None:
            has_id = out["id"].notna().to_numpy()
            out["deviation_pct"] = np.nan
            out.loc[has_id, "deviation_pct"] = deviation_pct(out.loc[has_id, "demand_new"])
        out["status"] = [_status(r) for r in out.itertuples()]
        frames.append(out)
        # the area crosswalk
        gx = df.groupby(["old", "new"], sort=True)
        x = pd.DataFrame({"n_wards": gx.size(), "area_m2": gx["a"].sum()})
        if counts is not None:
            x["incidents"] = gx["inc"].sum()
        x = x.reset_index().rename(columns={"old": "old_id", "new": "new_id"})
        x["share_of_old"] = x["area_m2"] / x["old_id"].map(df.groupby("old")["a"].sum())
        x["share_of_new"] = x["area_m2"] / x["new_id"].map(df.groupby("new")["a"].sum())
        x.insert(0, "level", lv)
        x.insert(2, "old_name", [old_names[lv].get(i) for i in x["old_id"]])
        x.insert(4, "new_name", [new_names[lv].get(i) for i in x["new_id"]])
        xw.append(x)
    changes = pd.concat(frames, ignore_index=True)
    changes["_k"] = changes["level"].map({lv: i for i, lv in enumerate(levels)})
    changes["_id"] = changes["id"].fillna(changes["old_id"]).astype(str)
    changes = changes.sort_values(["_k", "_id", "status"], kind="stable")
    cols = [
        "level",
        "id",
        "name",
        "status",
        "old_id",
        "old_name",
        "from",
        "to",
        "n_wards_old",
        "n_wards",
        "n_gained",
        "n_lost",
        "wards_gained",
        "wards_lost",
        "area_old_m2",
        "area_new_m2",
        "retained",
    ]
    if counts is not None:
        cols += [
            "incidents_old",
            "incidents_new",
            "demand_old",
            "demand_new",
            "deviation_pct_old",
            "deviation_pct",
        ]
    changes = changes[cols].reset_index(drop=True)
    for c in ("n_wards_old", "n_wards", "n_gained", "n_lost"):
        changes[c] = changes[c].astype("Int64")
    if counts is not None:
        for c in ("incidents_old", "incidents_new"):
            changes[c] = changes[c].astype("Int64")
    for c in ("id", "name", "status", "old_id", "old_name", "from", "to"):
        changes[c] = changes[c].astype("string")
    for c in ("wards_gained", "wards_lost"):
        changes[c] = changes[c].astype("string").fillna("")
    area_xw = pd.concat(xw, ignore_index=True)
    return changes, area_xw, moved


def _sources_text(d: pd.DataFrame, col: str) -> str:
    c = d[col].value_counts()
    c = c.sort_index().sort_values(ascending=False, kind="stable")
    return "; ".join(f"{k} ({v})" for k, v in c.items())


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _status(r: Any) -> str:
    if pd.isna(r.id):
        return "removed"
    if pd.isna(r.old_id):
        return "new"
    if (r.n_gained or 0) or (r.n_lost or 0):
        return "changed"
    if r.id != r.old_id or _text(r.name) != _text(r.old_name):
        return "renamed"
    return "unchanged"


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
        ``boundaries.gpkg``) written by :func:`boundaries.write_plan`.
    spec : Spec, path or mapping, optional
        The changes (:func:`boundaries.spec.load_spec`: a ``.yaml``/``.toml`` file or a
        mapping). ``None`` applies no change: the layers are rebuilt and checked.
    levels : sequence of str, optional
        Level columns, small to large. Default: the plan's, the spec's ``levels``, or those
        of ``beat``, ``sector``, ``npa`` the table has.
    ward_id : str, default "id"
        The ward id column of a ward table.
    names : mapping, optional
        Area names per level: a column of the ward table or ``{id: name}``; default the
        ``<level>_name`` columns.
    incidents : GeoDataFrame or geo.Incidents, optional
        Points whose counts give each area's demand, old and new. Without them, the
        ``incidents``/``demand`` columns of a written plan's wards are used when present.
    weights : None, str or mapping
        What a point counts for (:func:`boundaries.demand.incident_weights`).
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
        The current ward table is unusable (see :func:`boundaries.ward_table`).

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
    parsed: Spec | None
    if spec is None or isinstance(spec, Spec):
        parsed = spec
    else:
        parsed = load_spec(spec, strict=False)
    cur = _load_current(current, levels=levels, ward_id=ward_id, names=names, spec=parsed)
    if isinstance(current, str | os.PathLike):
        ward_id = "id"
    lv = cur.levels
    table = cur.table
    problems: list[str] = list(parsed.problems) if parsed is not None else []
    if parsed is not None and parsed.levels:
        declared = [r.value for r in parsed.levels]
        if tuple(declared) != lv:
            problems.append(
                f"levels: the spec expects levels {', '.join(declared)} but the ward table has "
                f"{', '.join(lv)}"
            )
    graph = _Graph(table, ward_id)
    ed = _Editor(
        table,
        lv,
        ward_id,
        cur.names,
        graph,
        parsed.district_column if parsed is not None else None,
    )
    before = {x: graph.pieces(ed.col[x]) for x in lv}
    steps = parsed.steps if parsed is not None else ()
    for step in steps:
        k = ed.level_index(step)
        if k is None:
            continue
        getattr(ed, step.op)(step, k)
    ed.nest_down()
    # exceptions: the plan's, the caller's, the spec's (final ids), allow_non_contiguous
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
                ed.add(path, f"unknown level {x!r}; the levels are {', '.join(lv)}" + _hint(x, lv))
                continue
            live = ed.live(x)
            for r in refs:
                if r.value not in live and r.value not in ed.phantom[x]:
                    ed.add(
                        r.path,
                        f"no {x} {r.value!r} after the changes" + _hint(r.value, sorted(live)),
                    )
                exc[x].add(r.value)
    for x in lv:
        exc[x] |= ed.allow[x]
        exc[x] &= ed.live(x)
    ed.check_pieces(before, exc)
    problems += ed.problems
    if problems:
        problems = sorted(problems, key=_problem_order)
        source = parsed.source if parsed is not None else "spec"
        raise ValidationError(source, problems)

    # ---- the new hierarchy
    new = table.copy()
    for x in lv:
        new[x] = pd.array(ed.col[x], dtype="string")
    final_names = {
        x: {a: ed.names[x][a] for a in sorted(ed.live(x)) if a in ed.names[x]} for x in lv
    }
    layers = build_layers(new, levels=lv, ward_id=ward_id, names=final_names)
    for x in lv:  # a name for every area: the id where none is known
        layer = layers[x]
        if "name" not in layer.columns:
            layer.insert(1, "name", pd.array([None] * len(layer), dtype="string"))
    exceptions_final = {x: frozenset(exc[x]) for x in lv}
    checks = check_layers(new, layers, levels=lv, ward_id=ward_id, exceptions=exceptions_final)

    counts = cur.ward_counts
    info: dict[str, int] | None = None
    warnings = list(ed.warnings)
    if incidents is not None:
        inc, dem, info = _ward_demand(table, incidents, weights)
        counts = (inc, dem)
        if info["outside"]:
            warnings.append(
                f"{info['outside']:,} of {info['points']:,} incident point(s) lie outside the "
                "force area (in no ward) and are not counted"
            )
    elif counts is not None:
        log.info("reorganise: demand per ward taken from the current plan's wards")
    if counts is not None:
        _add_demand(layers, lv, new, ward_id, counts)

    wid = table[ward_id].to_numpy(dtype=object)
    area = np.asarray(shapely.area(table.geometry.values), dtype=float)
    old_cols = {x: table[x].to_numpy(dtype=object) for x in lv}
    changes, area_xw, moved_by = _change_table(
        lv, old_cols, ed.col, ed.origin, cur.names, final_names, wid, area, counts
    )
    moved = np.logical_or.reduce([moved_by[x] for x in lv])
    crosswalk = pd.DataFrame({"ward": pd.array(wid, dtype="string")})
    if "name" in table.columns:
        crosswalk["name"] = table["name"].astype("string").to_numpy()
    for x in lv:
        crosswalk[f"{x}_old"] = pd.array(old_cols[x], dtype="string")
        crosswalk[x] = pd.array(ed.col[x], dtype="string")
    crosswalk["changed"] = pd.array(
        [
            ";".join(x for x, c in zip(lv, flags, strict=True) if c)
            for flags in zip(*(moved_by[x] for x in lv), strict=True)
        ],
        dtype="string",
    )
    if counts is not None:
        crosswalk["incidents"] = counts[0]
        crosswalk["demand"] = counts[1]
    steps_df = pd.DataFrame(ed.log, columns=["step", "op", "level", "area", "n_wards", "detail"])
    by_level: dict[str, dict[str, Any]] = {}
    for x in lv:
        ch = changes[changes["level"] == x]
        by_level[x] = {
            "areas_old": int(pd.Series(old_cols[x]).nunique()),
            "areas_new": int(pd.Series(ed.col[x]).nunique()),
            "wards_moved": int(moved_by[x].sum()),
            **{
                s: sorted(
                    ch.loc[ch["status"] == s, "id" if s != "removed" else "old_id"].astype(str)
                )
                for s in ("new", "removed", "changed", "renamed")
            },
        }
    summary: dict[str, Any] = {
        "spec_name": parsed.name if parsed is not None else None,
        "spec_source": parsed.source if parsed is not None else None,
        "wards": len(table),
        "steps": len(steps),
        "levels": lv,
        "wards_moved": int(moved.sum()),
        "by_level": by_level,
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
    review = pd.DataFrame(
        {
            "ward": pd.Series(dtype="string"),
            "name": pd.Series(dtype="string"),
            "level": pd.Series(dtype="string"),
            "area": pd.Series(dtype="string"),
            "reason": pd.Series(dtype="string"),
        }
    )
    for w in warnings:
        log.warning(w)
    log.info(
        "reorganise: %d change(s) applied to %d wards; %d ward(s) changed area",
        len(steps),
        len(table),
        summary["wards_moved"],
    )
    return Reorganisation(
        wards=new,
        layers=layers,
        checks=checks,
        changes=changes,
        crosswalk=crosswalk,
        area_crosswalk=area_xw,
        steps=steps_df,
        review=review,
        summary=summary,
        warnings=tuple(warnings),
        current=table,
        levels=lv,
        ward_id=ward_id,
        names=final_names,
        old_names=cur.names,
        exceptions=exceptions_final,
        spec=parsed,
        crs=CRS.from_user_input(table.crs),
    )
