"""Design beats, sectors and NPAs from wards: balanced, contiguous, compact, nested.

:func:`design` builds a police hierarchy from wards alone — a given number of beats (and
sectors, NPAs), each within ``tolerance`` of its group's mean demand, contiguous through
shared ward boundaries, compact (Polsby–Popper reported and preferred), nested, inside fixed
lines (``within=``) and, when a current plan is given, moving as few wards as balance allows.
It returns a :class:`Design`, a :class:`beatplan.boundaries.BoundaryPlan` written by
:func:`beatplan.boundaries.write_plan` like any other (plus ``design.csv`` and ``design.md``).

How
---
Levels are designed top down, each inside the areas of the level above (a beat lies in one
sector, a sector in one NPA). A parent's count of areas is shared among its children by demand
(largest remainder, at least one each, never more than it has wards). Fixed lines (districts,
LPAs) cut the work into *units*: where a parent holds at least as many areas as regions, each
region gets its own share (and is the group its areas are balanced in); where it holds fewer,
its areas are made of whole regions. Each unit is split by recursive balanced spanning-tree
cuts, then improved by boundary moves and merge-split steps
(:mod:`beatplan.boundaries._partition`); where its areas are a few wards each, it is then
solved *exactly*: every connected candidate area within the band is enumerated and exactly
the right number chosen, covering each ward once, by set partitioning (HiGHS through
:func:`scipy.optimize.milp`) — for the whole unit at once when it is small enough, else for
neighbourhoods of areas in turn, then the whole unit is asked for anything better
(:mod:`beatplan.boundaries._exact`). Contiguity holds by construction throughout.

Balance is measured against the mean of the area's *group*: the areas designed together (the
same parent and, with fixed lines, the same region). A single ward heavier than
``(1 + tolerance)`` times that mean stands alone; it counts as one area's demand, so the
others balance among themselves, and the report names it as the lower bound the ward lines
impose. The bound table also gives what is *proven*: each ward's best area (the closest to the
mean any connected area holding it comes) and, from set partitioning, that no plan brings
every area within the tolerance, or within the best deviation reached (then that plan is
optimal: ``reached``). Where the tolerance cannot be met, :func:`design` raises
:class:`beatplan.geo.errors.InfeasibleDesignError` naming the group, what stops it and the
bound, with the best plan found in its ``best`` attribute (or returns that plan, flagged,
when ``strict=False``).

Islands: wards are neighbours when they share boundary of positive length. A piece of the
wards that shares none with the rest (an island, a ward cut off by the edge of the data) is
linked to the nearest ward of another piece (``islands="nearest"``, reported in the design's
``links``; areas that rely on a link are declared contiguity exceptions) or refused
(``islands="error"``). No ward is ever dropped.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries._common import as_ids, listing, ward_values
from beatplan.boundaries._design_report import design_markdown, design_tables
from beatplan.boundaries._design_run import Level, LevelResult, Search, run_levels
from beatplan.boundaries._net import Link, Net, link_pieces
from beatplan.boundaries.checks import check_layers
from beatplan.boundaries.demand import Weights, count_points
from beatplan.boundaries.hierarchy import build_layers
from beatplan.boundaries.outputs import is_plan_path, read_plan
from beatplan.boundaries.plan import BoundaryPlan, checks_line
from beatplan.boundaries.report import CheckReport
from beatplan.boundaries.validate import prepare_wards
from beatplan.geo.crs import to_working, working_crs
from beatplan.geo.errors import (
    ColumnNotFoundError,
    EmptyInputError,
    GeometryError,
    InfeasibleDesignError,
    InputFormatError,
    OptionError,
    ValidationError,
    check_option,
)
from beatplan.geo.layers import read_boundaries

__all__ = ["Design", "PriorityArea", "design", "priority_area"]

log = logging.getLogger("beatplan")

#: The levels design knows, small to large, and the prefix of their ids.
PREFIX = {"beat": "B", "sector": "S", "npa": "N"}
#: Island policies.
ISLANDS = ("nearest", "error")


# --------------------------------------------------------------------------------- result
@dataclass(frozen=True, kw_only=True)
class Design(BoundaryPlan):
    """The result of :func:`design`: a :class:`beatplan.boundaries.BoundaryPlan` and its report.

    Attributes
    ----------
    report : pandas.DataFrame
        One row per area, levels small to large: ``level``, ``id``, ``name``, ``parent``,
        ``group``, ``n_wards``, ``km2``, ``demand``, ``mean`` (its group's), ``deviation_pct``
        (from that mean), ``within_tolerance``, ``stands_alone`` (a heavy ward alone),
        ``polsby_popper``, ``wards_moved`` and ``demand_moved`` (from the current plan).
    bound : pandas.DataFrame
        What the ward lines impose, per group: ``level``, ``group``, ``ward``, ``kind``
        (``stands alone``, ``light ward``, ``one per area``, ``whole wards``, ``ward's best
        area``, ``no plan within the tolerance`` or ``set partitioning``), ``demand``,
        ``mean``, ``bound_pct`` (no plan can bring that group's worst area closer to its mean)
        and ``reached`` (the design's worst area in that group is at the bound: optimal).
    apportionment : pandas.DataFrame
        How each level's count was shared among the fixed lines' regions: ``level``,
        ``parent``, ``within``, ``region``, ``demand``, ``quota``, ``count``,
        ``mean_per_area`` and ``vs_level_mean_pct``.
    links : pandas.DataFrame
        Wards linked across a gap (the island policy): ``ward``, ``to``, ``distance_m``.
    tolerance : float
        The tolerance asked for.
    feasible : bool
        Every area other than a heavy ward alone lies within the tolerance of its group's mean.
    """

    report: pd.DataFrame = field(repr=False)
    bound: pd.DataFrame = field(repr=False)
    apportionment: pd.DataFrame = field(repr=False)
    links: pd.DataFrame = field(repr=False)
    tolerance: float = 0.05
    feasible: bool = True
    kind: str = "design"

    def describe(self) -> str:
        """Return the summary as a few lines of plain text."""
        s = self.summary
        lines = [f"{self.title}: {s['wards']} wards, demand from {s['demand_source']}"]
        for lv in self.levels:
            b = s["by_level"][lv]
            lines.append(
                f"{lv}: {b['areas']} areas; largest |deviation| {b['max_abs_dev_pct']:.1f}% "
                f"(tolerance {100 * self.tolerance:g}%), CV {b['cv']:.3f}; Polsby–Popper mean "
                f"{b['pp_mean']:.2f}, min {b['pp_min']:.2f}"
                + (f"; {b['stand_alone']} heavy ward(s) alone" if b["stand_alone"] else "")
                + (
                    f"; {b['wards_moved']} ward(s) moved"
                    if b.get("wards_moved") is not None
                    else ""
                )
            )
        if s.get("wards_moved") is not None:
            lines.append(
                f"moved from the current plan: {s['wards_moved']} ward(s), "
                f"{s['demand_moved']:,.1f} of {s['demand_total']:,.1f} demand"
            )
        lines.append(
            "balance: " + ("within tolerance" if self.feasible else "NOT within tolerance")
        )
        lines.append(checks_line(self.checks))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def extra_files(self) -> dict[str, str]:
        """``design.csv`` and ``design.md``, written beside the plan by ``write_plan``."""
        text = self.report.round(6).to_csv(index=False, lineterminator="\n")
        return {"design.csv": text, "design.md": design_markdown(self)}


# ------------------------------------------------------------------------------ the call
def design(
    wards: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    beats: int | Mapping[str, int],
    sectors: int | Mapping[str, int] | None = None,
    npas: int | Mapping[str, int] | None = None,
    demand: Any = "wards",
    weights: Weights = None,
    within: Any = None,
    current: Any = None,
    tolerance: float = 0.05,
    keep: float = 1.0,
    compact: float = 1.0,
    islands: str = "nearest",
    seed: int = 0,
    ward_id: str = "id",
    strict: bool = True,
) -> Design:
    """Design balanced, contiguous, compact, nested beats (and sectors, NPAs) from wards.

    Parameters
    ----------
    wards : GeoDataFrame or path
        The wards (a coverage; any CRS, worked in metres).
    beats, sectors, npas : int or mapping
        How many areas at each level (``sectors`` and ``npas`` optional); or, with fixed
        lines, ``{region: count}`` for the regions of the first (coarsest) line.
    demand : "wards", str, array-like or points, default "wards"
        ``"wards"``: one per ward (English wards are drawn for near-equal electorate within a
        district, so ward count is an honest proxy); a numeric ward column (population,
        electorate); one number per ward; or incident points (GeoDataFrame or
        ``beatplan.geo.Incidents``), counted per ward.
    weights : None, str or mapping
        With incident points: what a point counts for (``"harm"``: the harm table
        :data:`beatplan.boundaries.HARM_WEIGHTS`; see
        :func:`beatplan.boundaries.demand.incident_weights`).
    within : str, GeoDataFrame, or a list of them, optional
        Fixed lines no area may cross (districts, LPAs): a ward column, or polygons (each
        ward goes to the polygon holding its interior point; an ``id`` or first text column
        names them). A list gives nested lines, coarse to fine.
    current : BoundaryPlan, GeoDataFrame or path, optional
        Today's plan (a plan, a plan folder, or a ward table with level columns, same ward
        ids): designs start from it and keep wards in their current areas where balance
        allows; areas that continue a current one keep its id.
    tolerance : float, default 0.05
        Every area within this share of its group's mean demand.
    keep : float, default 1.0
        The knob trading moves against balance and compactness (within the tolerance, which
        always comes first): the cost of moving one mean area's worth of demand, against a
        cost of 1 for an area at the edge of the tolerance and of ``1/sqrt(PP) - 1`` for its
        shape. 0 ignores the current plan beyond starting from it; 10 moves few wards (a
        move that buys enough compactness is still made).
    compact : float, default 1.0
        Weight of compactness against balance within the tolerance.
    islands : {"nearest", "error"}, default "nearest"
        What to do with wards (or pieces) that share no boundary with the rest.
    seed : int, default 0
        The same seed gives the same design.
    ward_id : str, default "id"
        The ward id column.
    strict : bool, default True
        Raise when the tolerance cannot be met; ``False`` returns the best plan found,
        flagged (``feasible`` False, balance errors in ``checks``).

    Returns
    -------
    Design

    Raises
    ------
    InfeasibleDesignError
        The tolerance cannot be met (``strict``): the message names each group beyond it, the
        bound the ward lines impose and what stops it; ``.best`` holds the best design found.
    ValidationError
        More areas than wards (anywhere: a region, a parent), counts that do not grow from
        level to level, a demand column with negatives or NaN, wards with no neighbours.
    DuplicateIdError, ColumnNotFoundError, OptionError
        Repeated ward ids; a missing column; an unknown ``islands``.

    Examples
    --------
    >>> from beatplan.geo import make_sample
    >>> county = make_sample(seed=1, n_wards=60, incidents=1000)
    >>> d = design(county.wards_new, beats=8, sectors=2, tolerance=0.1)
    >>> len(d.layers["beat"]), len(d.layers["sector"]), d.feasible, d.checks.ok
    (8, 2, True, True)
    """
    started = time.perf_counter()
    lv = _levels(beats=beats, sectors=sectors, npas=npas)
    search = _search(tolerance, keep, compact, seed, islands)
    table, adj_net, union, notes = _wards(wards, ward_id)
    counts, dem, source, point_info = _demand(table, demand, weights, ward_id)
    fixed, fixed_names = _fixed(table, within, ward_id)
    cur_table, cur_codes, cur_ids = _current(table, current, lv, ward_id)
    _check_counts(lv, table, fixed, cur_ids)
    geoms = np.asarray(table.geometry.values, dtype=object)
    links = _links(adj_net, geoms, search)
    net = adj_net.with_links(links)
    results = run_levels(lv, net, geoms, dem, fixed, cur_codes, search, links)
    ids = _area_ids(lv, results, table, cur_ids)
    new = table.copy()
    for level in lv:
        new[level.name] = pd.array(ids[level.name][results[level.name].labels], dtype="string")
    names = _names(lv, results, ids, fixed, fixed_names, cur_table, new)
    plan = _assemble(
        new, lv, names, results, ids, counts, dem, source, point_info, fixed, fixed_names,
        cur_table, links, adj_net, union, search, notes, ward_id, started,
    )  # fmt: skip
    if not plan.feasible and strict:
        raise InfeasibleDesignError("design", _infeasible(plan), best=plan)
    return plan


# ---------------------------------------------------------------------------- the inputs
def _levels(**given: Any) -> list[Level]:
    """Return the levels asked for, coarse to fine, each with more areas than the one above."""
    out = [Level(name, c) for name, c in (("npa", given["npas"]), ("sector", given["sectors"]),
                                           ("beat", given["beats"])) if c is not None]  # fmt: skip
    problems = []
    if given["beats"] is None:
        problems.append("beats=None: give how many beats (a whole number, at least 1)")
    for x in out:
        vals = list(x.count.values()) if isinstance(x.count, Mapping) else [x.count]
        if not all(
            isinstance(v, int | np.integer) and not isinstance(v, bool) and v >= 1 for v in vals
        ):
            problems.append(f"{x.name}s={x.count!r}: expected a whole number of areas, at least 1")
    for a, b in zip(out[:-1], out[1:], strict=False):
        if not problems and b.total < a.total:
            problems.append(
                f"{b.name}s={b.total} is fewer than {a.name}s={a.total}: every {a.name} holds at "
                f"least one {b.name}, so ask for at least as many {b.name}s"
            )
    if problems:
        raise ValidationError("design", problems)
    return out


def _search(tolerance: float, keep: float, compact: float, seed: int, islands: str) -> Search:
    check_option("islands", islands, ISLANDS)
    problems = []
    if not (isinstance(tolerance, int | float) and 0 < tolerance < 1):
        problems.append(f"tolerance={tolerance!r}: expected a share between 0 and 1, e.g. 0.05")
    for name, v in (("keep", keep), ("compact", compact)):
        if not (isinstance(v, int | float) and v >= 0 and math.isfinite(v)):
            problems.append(f"{name}={v!r}: expected a number of at least 0")
    if not (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        problems.append(f"seed={seed!r}: expected a whole number (the same seed, the same plan)")
    if problems:
        raise ValidationError("design", problems)
    return Search(float(tolerance), float(keep), float(compact), int(seed), islands)


def _wards(
    wards: gpd.GeoDataFrame | str | os.PathLike[str], ward_id: str
) -> tuple[gpd.GeoDataFrame, Net, shapely.Geometry, list[str]]:
    """Read and check the wards; return them in metres with their adjacency and union."""
    if isinstance(wards, pd.DataFrame) and not isinstance(wards, gpd.GeoDataFrame):
        raise InputFormatError(
            "wards: a table without geometry; give a GeoDataFrame of ward polygons or a file "
            "(beatplan.geo.read_boundaries reads any vector format)"
        )
    if not isinstance(wards, gpd.GeoDataFrame):
        if not isinstance(wards, str | os.PathLike):
            raise InputFormatError(
                f"wards: expected a GeoDataFrame of ward polygons or a path, got "
                f"{type(wards).__name__}"
            )
        wards = read_boundaries(wards, id_col=None if ward_id == "id" else ward_id)
    if wards.crs is None:
        raise GeometryError("wards: no CRS; set one with .set_crs(...) (e.g. 27700)")
    if not CRS.from_user_input(wards.crs).is_projected:
        wards = to_working(wards, working_crs(wards))
    table, notes, union, adj = prepare_wards(
        wards, ward_id=ward_id, what="wards", overlap_tolerance=0.01, gap_width=0.0, repair=True
    )
    table = table.reset_index(drop=True)
    geoms = np.asarray(table.geometry.values, dtype=object)
    if len(table) > 1 and len(adj.i) == 0:
        raise ValidationError(
            "wards",
            [f"no two of the {len(table)} wards share a boundary (wards with no neighbours): "
             "a design needs a tessellation of adjacent wards; check the layer is the wards "
             "themselves (not points or centroids) and in one CRS"],
        )  # fmt: skip
    net = Net(adj.i, adj.j, adj.length, adj.areas(geoms), np.asarray(shapely.length(geoms)))
    return table, net, union, notes


def _demand(
    table: gpd.GeoDataFrame, demand: Any, weights: Weights, ward_id: str
) -> tuple[np.ndarray | None, np.ndarray, str, dict[str, int] | None]:
    """Demand per ward: (incidents or None, demand, where it came from, point counts)."""
    n = len(table)
    points = getattr(demand, "points", demand)
    if isinstance(points, gpd.GeoDataFrame | gpd.GeoSeries):
        c = count_points(table.geometry.values, points, crs=table.crs, weights=weights,
                         what="incidents")  # fmt: skip
        label = "incidents" + (" (harm-weighted)" if weights == "harm" else "")
        if not np.asarray(c.demand, dtype=float).sum() > 0:
            raise ValidationError(
                f"demand ({label})",
                [f"none of the {len(points):,} incident point(s) falls in the wards (or they "
                 "weigh nothing): nothing to balance; check the points' CRS and area, or give "
                 "demand='wards' or a ward column"],
            )  # fmt: skip
        return c.incidents, c.demand, label, c.info
    if weights is not None:
        raise OptionError(
            f"weights={weights!r} weighs incident points; give incident points as demand "
            "(on the command line --harm goes with --incidents)"
        )
    if isinstance(demand, pd.DataFrame):
        raise InputFormatError(
            "demand: a table without geometry; read incident files with "
            "beatplan.geo.read_incidents(...) and pass the result (or a GeoDataFrame of points)"
        )
    if isinstance(demand, str) and demand == "wards":
        return None, np.ones(n), "wards (one per ward)", None
    label = f"column {demand!r}" if isinstance(demand, str) else "given numbers"
    if isinstance(demand, str) and demand not in table.columns:
        raise ColumnNotFoundError(
            f"demand={demand!r} is not a column of the wards (columns: {listing(table.columns)});"
            " name a numeric ward column (--demand COLUMN), 'wards' for one per ward, or give "
            "incident points (--incidents)"
        )
    if isinstance(demand, Mapping) or demand is None:
        raise InputFormatError(
            f"demand: expected 'wards', a ward column, one number per ward or incident points; "
            f"got {type(demand).__name__}"
        )
    try:
        values = ward_values(table, demand)
    except (TypeError, ValueError) as exc:
        raise InputFormatError(
            f"demand: expected 'wards', a ward column, one number per ward or incident points "
            f"({exc})"
        ) from exc
    ids = table[ward_id]
    bad_nan = ~np.isfinite(values)
    bad_neg = np.isfinite(values) & (values < 0)
    problems = []
    if bad_nan.any():
        problems.append(f"{int(bad_nan.sum())} ward(s) have no number (NaN or not numeric): "
                        f"{listing(ids[bad_nan])}")  # fmt: skip
    if bad_neg.any():
        problems.append(f"{int(bad_neg.sum())} ward(s) have negative demand: "
                        f"{listing(ids[bad_neg])}")  # fmt: skip
    if not problems and values.sum() <= 0:
        problems.append("the demand adds up to 0: nothing to balance")
    if problems:
        raise ValidationError(f"demand ({label})", [*problems, "give every ward a number >= 0"])
    return None, values, label, None


def _fixed(
    table: gpd.GeoDataFrame, within: Any, ward_id: str
) -> tuple[list[tuple[str, np.ndarray]], dict[str, dict[str, str]]]:
    """Return the fixed lines as region codes per ward, coarse to fine, and region names."""
    if within is None:
        return [], {}
    items = within if isinstance(within, list | tuple) else [within]
    out: list[tuple[str, np.ndarray]] = []
    names: dict[str, dict[str, str]] = {}
    for k, item in enumerate(items):
        if isinstance(item, str):
            if item not in table.columns:
                raise ColumnNotFoundError(
                    f"within={item!r} is not a column of the wards (columns: "
                    f"{listing(table.columns)}); name the column of districts (or give polygons)"
                )
            col = as_ids(table[item])
            if col.isna().any():
                raise ValidationError(
                    "within",
                    [f"{int(col.isna().sum())} ward(s) have no {item!r}: "
                     f"{listing(table.loc[col.isna(), ward_id])}; fill the column (each ward "
                     "in one region) or give polygons"],
                )  # fmt: skip
            codes = col.to_numpy(dtype=object)
            label = item
            name_col = f"{item}_name"
            if name_col in table.columns:
                pairs = table[[item, name_col]].dropna().drop_duplicates(item)
                names[label] = {str(a): str(b) for a, b in zip(pairs[item], pairs[name_col],
                                                                strict=True)}  # fmt: skip
        elif isinstance(item, gpd.GeoDataFrame):
            codes, label, nm = _regions_of(table, item, k)
            names[label] = nm
        else:
            raise InputFormatError(
                f"within: expected a ward column name or polygons (GeoDataFrame), got "
                f"{type(item).__name__}"
            )
        out.append((label, codes.astype(str)))
    for (a, ca), (b, cb) in zip(out[:-1], out[1:], strict=False):
        split = pd.DataFrame({"f": cb, "c": ca}).groupby("f")["c"].nunique()
        if (split > 1).any():
            raise ValidationError(
                "within",
                [f"the regions of {b!r} do not nest in those of {a!r}: "
                 f"{listing(split.index[split > 1])} straddle; give fixed lines coarse to fine"],
            )  # fmt: skip
    return out, names


def _regions_of(
    table: gpd.GeoDataFrame, polys: gpd.GeoDataFrame, k: int
) -> tuple[np.ndarray, str, dict[str, str]]:
    """Each ward's region among fixed polygons: the one holding the ward's interior point."""
    from beatplan.boundaries.demand import locate_xy

    if polys.crs is None:
        raise GeometryError("within: the polygons have no CRS; set one with .set_crs(...)")
    polys = polys[~(polys.geometry.isna() | polys.geometry.is_empty)]
    if len(polys) == 0:
        raise EmptyInputError("within: no polygons; give the fixed areas (districts, LPAs)")
    p = polys.to_crs(table.crs)
    text = [
        c for c in p.columns if c != p.geometry.name and pd.api.types.is_string_dtype(p[c].dtype)
    ]
    id_col = "id" if "id" in p.columns else (text[0] if text else None)
    ids = as_ids(p[id_col]).to_numpy(dtype=object) if id_col else np.array(
        [str(i) for i in range(len(p))], dtype=object)  # fmt: skip
    name_col = "name" if "name" in p.columns else (
        "district" if "district" in p.columns else None)  # fmt: skip
    pts = shapely.point_on_surface(np.asarray(table.geometry.values, dtype=object))
    loc = locate_xy(np.asarray(p.geometry.values), shapely.get_x(pts), shapely.get_y(pts))
    if (loc < 0).all():
        raise ValidationError(
            "within",
            [f"none of the {len(loc)} wards lies in any of the {len(p)} fixed polygon(s): "
             "check that they cover the same place (and their CRS)"],
        )  # fmt: skip
    if (loc < 0).any():
        # a ward outside every polygon goes to the nearest one (generalised boundaries)
        tree = shapely.STRtree(np.asarray(p.geometry.values))
        miss = np.nonzero(loc < 0)[0]
        loc[miss] = tree.query_nearest(pts[miss], all_matches=False)[1]
        log.warning("within: %d ward(s) lie outside every fixed polygon; each given to the "
                    "nearest", len(miss))  # fmt: skip
    names = {
        str(a): str(b).strip()
        for a, b in zip(ids, p[name_col] if name_col else [None] * len(ids), strict=True)
        if not pd.isna(b) and str(b).strip()
    }  # a region without a name is called by its id
    return ids[loc], f"within{k + 1}" if id_col is None else str(id_col), names


def _current(
    table: gpd.GeoDataFrame, current: Any, levels: Sequence[Level], ward_id: str
) -> tuple[gpd.GeoDataFrame | None, dict[str, np.ndarray], dict[str, list[str]]]:
    """Return the current plan: its ward table (aligned), area codes per level, and its area ids."""
    if current is None:
        return None, {}, {}
    if isinstance(current, BoundaryPlan):
        cur, cid = current.wards, current.ward_id
    elif isinstance(current, gpd.GeoDataFrame | pd.DataFrame):
        cur, cid = current, ward_id
    elif not isinstance(current, str | os.PathLike):
        raise InputFormatError(
            f"current: expected a plan, a plan folder or a ward table with level columns, got "
            f"{type(current).__name__}"
        )
    elif is_plan_path(current):
        plan = read_plan(current)
        cur, cid = plan.wards, plan.ward_id
    else:
        cur, cid = read_boundaries(current, id_col=None), "id"
    lv = [x.name for x in levels if x.name in cur.columns]
    if not lv:
        raise ColumnNotFoundError(
            f"current: no column for any level designed ({', '.join(x.name for x in levels)}); "
            f"its columns are {listing(cur.columns)}"
        )
    key = as_ids(cur[cid])
    ours = table[ward_id].astype(str)
    missing = ~ours.isin(set(key.dropna()))
    if missing.any():
        raise ValidationError(
            "current",
            [f"{int(missing.sum())} ward(s) are not in the current plan: {listing(ours[missing])}; "
             "the current plan must be over the same wards (same ids)"],
        )  # fmt: skip
    aligned = cur.assign(_k=key.to_numpy()).drop_duplicates("_k").set_index("_k").reindex(ours)
    codes: dict[str, np.ndarray] = {}
    ids: dict[str, list[str]] = {}
    for x in lv:
        col = as_ids(aligned[x])
        if col.isna().any():
            raise ValidationError(
                "current",
                [f"{int(col.isna().sum())} ward(s) are in no current {x}: "
                 f"{listing(ours[col.isna().to_numpy()])}; give every ward its current {x}"],
            )  # fmt: skip
        c, u = pd.factorize(col, sort=True)
        codes[x], ids[x] = c.astype(np.int64), [str(v) for v in u]
    table_cur = gpd.GeoDataFrame(
        aligned[lv + [c for c in (f"{x}_name" for x in lv) if c in aligned.columns]]
        .reset_index(drop=True)
        .assign(**{ward_id: ours.to_numpy()}),
        geometry=table.geometry.values,
        crs=table.crs,
    )
    return table_cur, codes, ids


def _check_counts(
    levels: Sequence[Level],
    table: gpd.GeoDataFrame,
    fixed: Sequence[tuple[str, np.ndarray]],
    cur_ids: Mapping[str, list[str]],
) -> None:
    """More areas than wards, or counts per region that name unknown regions."""
    problems = []
    n = len(table)
    for x in levels:
        if x.total > n:
            problems.append(f"{x.name}s={x.total} but there are only {n} wards: each {x.name} "
                            "needs at least one ward")  # fmt: skip
        if isinstance(x.count, Mapping):
            if not fixed:
                problems.append(f"{x.name}s given per region but no within= fixed lines")
                continue
            regions = set(fixed[0][1].tolist())
            unknown = sorted(set(map(str, x.count)) - regions)
            absent = sorted(regions - set(map(str, x.count)))
            if unknown or absent:
                problems.append(
                    f"{x.name}s per region: "
                    + (f"unknown region(s) {listing(unknown)}; " if unknown else "")
                    + (f"no count for {listing(absent)}; " if absent else "")
                    + f"the regions of {fixed[0][0]!r} are {listing(sorted(regions))}"
                )
            else:
                size = pd.Series(fixed[0][1]).value_counts()
                for r, c in x.count.items():
                    if int(c) > int(size[str(r)]):
                        problems.append(
                            f"{x.name}s in {r}: {c} asked but the region holds only "
                            f"{int(size[str(r)])} ward(s) (a within area with fewer wards than "
                            "the areas it must hold)"
                        )
    if problems:
        raise ValidationError("design", problems)


def _links(net: Net, geoms: np.ndarray, search: Search) -> list[Link]:
    """Link the pieces of the ward graph (the island policy)."""
    if len(np.unique(net.components())) <= 1:
        return []
    links = link_pieces(net, geoms)
    if search.islands == "error":
        raise ValidationError(
            "wards",
            [f"the wards fall into {len(links) + 1} pieces that share no boundary with each "
             "other (islands, or wards cut off by the edge of the data); pass "
             "islands='nearest' to link each piece to its nearest ward"],
        )  # fmt: skip
    return links


# ------------------------------------------------------------------------- ids and names
def _area_ids(
    levels: Sequence[Level],
    results: Mapping[str, LevelResult],
    table: gpd.GeoDataFrame,
    cur_ids: Mapping[str, list[str]],
) -> dict[str, np.ndarray]:
    """Return an id per area: the current area's it continues, else the level's next free one."""
    cx = shapely.get_x(shapely.centroid(np.asarray(table.geometry.values, dtype=object)))
    cy = shapely.get_y(shapely.centroid(np.asarray(table.geometry.values, dtype=object)))
    out: dict[str, np.ndarray] = {}
    parent_rank: np.ndarray | None = None
    for x in levels:
        res = results[x.name]
        k = int(res.labels.max()) + 1
        area = np.bincount(res.labels, minlength=k)
        mx = np.bincount(res.labels, weights=cx, minlength=k) / area
        my = np.bincount(res.labels, weights=cy, minlength=k) / area
        prank = np.zeros(k) if parent_rank is None else np.bincount(
            res.labels, weights=parent_rank, minlength=k) / area  # fmt: skip
        order = np.lexsort((mx, -np.round(my, -2), prank))
        ids = np.empty(k, dtype=object)
        taken: set[str] = set()
        known = cur_ids.get(x.name)
        if known is not None:
            cur = res.areas.set_index("area")["current"].reindex(range(k)).to_numpy()
            for a in order.tolist():
                c = int(cur[a])
                if c >= 0 and known[c] not in taken:
                    ids[a] = known[c]
                    taken.add(known[c])
        prefix = PREFIX.get(x.name, x.name[:1].upper())
        width = max(2, len(str(k)))
        number = 0
        used = set(known or []) | taken
        for a in order.tolist():
            if ids[a] is None:
                number += 1
                while f"{prefix}{number:0{width}d}" in used:
                    number += 1
                ids[a] = f"{prefix}{number:0{width}d}"
                used.add(ids[a])
        out[x.name] = ids
        rank = np.empty(k)
        rank[order] = np.arange(k)
        parent_rank = rank[res.labels]
    return out


def _names(
    levels: Sequence[Level],
    results: Mapping[str, LevelResult],
    ids: Mapping[str, np.ndarray],
    fixed: Sequence[tuple[str, np.ndarray]],
    fixed_names: Mapping[str, Mapping[str, str]],
    cur_table: gpd.GeoDataFrame | None,
    new: gpd.GeoDataFrame,
) -> dict[str, dict[str, str]]:
    """Area names: the current plan's for the ids it keeps, else the fixed region's."""
    out: dict[str, dict[str, str]] = {}
    for x in levels:
        m: dict[str, str] = {}
        if cur_table is not None and f"{x.name}_name" in cur_table.columns:
            pairs = cur_table[[x.name, f"{x.name}_name"]].dropna().drop_duplicates(x.name)
            old = {str(a): str(b) for a, b in zip(pairs[x.name], pairs[f"{x.name}_name"],
                                                  strict=True)}  # fmt: skip
            m.update({i: old[i] for i in map(str, ids[x.name]) if i in old})
        if fixed:
            label, codes = fixed[-1]
            df = pd.DataFrame({"a": new[x.name].to_numpy(), "r": codes})
            one = df.groupby("a")["r"].nunique() == 1
            region = df.drop_duplicates("a").set_index("a")["r"]
            nm = fixed_names.get(label, {})
            per = pd.Series([nm.get(str(r), str(r)) for r in region[one]], index=region[one].index)
            count = per.value_counts()
            seen: dict[str, int] = {}
            for a in sorted(per.index):
                if a in m:
                    continue
                base = per[a]
                if count[base] > 1:
                    seen[base] = seen.get(base, 0) + 1
                    m[a] = f"{base} {seen[base]}"
                else:
                    m[a] = base
        out[x.name] = m
    return out


# ---------------------------------------------------------------------------- the result
def _assemble(
    new: gpd.GeoDataFrame,
    levels: Sequence[Level],
    names: dict[str, dict[str, str]],
    results: Mapping[str, LevelResult],
    ids: Mapping[str, np.ndarray],
    counts: np.ndarray | None,
    dem: np.ndarray,
    source: str,
    point_info: dict[str, int] | None,
    fixed: Sequence[tuple[str, np.ndarray]],
    fixed_names: Mapping[str, Mapping[str, str]],
    cur_table: gpd.GeoDataFrame | None,
    links: list[Link],
    adj: Net,
    union: shapely.Geometry,
    search: Search,
    notes: list[str],
    ward_id: str,
    started: float,
) -> Design:
    """Layers, checks and tables; the summary; the Design."""
    lv = tuple(x.name for x in reversed(levels))  # small to large
    layers = build_layers(new, levels=lv, ward_id=ward_id, names=names)
    tables = design_tables(
        new, lv, layers, results, ids, counts, dem, fixed, fixed_names, cur_table, links,
        search.tolerance, names, ward_id,
    )  # fmt: skip
    exceptions = tables.exceptions
    from beatplan.boundaries._adjacency import Adjacency

    checks = check_layers(
        new, layers, levels=lv, ward_id=ward_id, exceptions=exceptions,
        adjacency=Adjacency(adj.i, adj.j, adj.length, adj.area), ward_union=union,
        wards_valid=True,
    )  # fmt: skip
    _balance_checks(checks, tables.report, search.tolerance)
    feasible = not any(p.check == "balance" and p.severity == "error" for p in checks.problems)
    warnings = list(notes) + tables.warnings
    if point_info and point_info.get("outside"):
        warnings.append(
            f"{point_info['outside']:,} of {point_info['points']:,} incident point(s) lie "
            "outside the wards and are not counted"
        )
    summary = _summary(new, lv, tables, counts, dem, source, search, feasible, started, links)
    for w in warnings:
        log.warning(w)
    return Design(
        title=f"Design: {', '.join(f'{len(layers[x])} {x}s' for x in reversed(lv))}",
        wards=new,
        levels=lv,
        layers=tables.layers,
        crosswalk=tables.crosswalk,
        area_crosswalk=tables.area_crosswalk,
        changes=tables.changes,
        review=tables.review,
        checks=checks,
        summary=summary,
        ward_id=ward_id,
        names=names,
        exceptions=exceptions,
        warnings=tuple(warnings),
        current=cur_table,
        crs=CRS.from_user_input(new.crs),
        report=tables.report,
        bound=tables.bound,
        apportionment=tables.apportionment,
        links=tables.links,
        tolerance=search.tolerance,
        feasible=feasible,
    )


def _balance_checks(checks: CheckReport, report: pd.DataFrame, tolerance: float) -> None:
    """Add the balance check: an error per area beyond the tolerance, a warning per heavy ward."""
    checks.ran("balance")
    for r in report.itertuples(index=False):
        if r.stands_alone:
            checks.add(
                "balance", str(r.level), [str(r.id)],
                f"{r.level} {r.id} is a single ward {r.deviation_pct:+.1f}% from its group's mean: "
                "it stands alone (the lower bound the ward lines impose)",
                severity="warning",
            )  # fmt: skip
        elif not r.within_tolerance:
            checks.add(
                "balance", str(r.level), [str(r.id)],
                f"{r.level} {r.id} is {r.deviation_pct:+.1f}% from its group's mean, beyond the "
                f"tolerance of ±{100 * tolerance:g}%",
            )  # fmt: skip


def _summary(
    new: gpd.GeoDataFrame,
    lv: Sequence[str],
    tables: Any,
    counts: np.ndarray | None,
    dem: np.ndarray,
    source: str,
    search: Search,
    feasible: bool,
    started: float,
    links: list[Link],
) -> dict[str, Any]:
    rep = tables.report
    by: dict[str, Any] = {}
    for x in lv:
        sub = rep[rep["level"] == x]
        norm = sub[~sub["stands_alone"]]
        dev = norm["deviation_pct"].abs()
        by[x] = {
            "areas": len(sub),
            "max_abs_dev_pct": float(dev.max()) if len(dev) else 0.0,
            "cv": float((norm["demand"] / norm["mean"]).std(ddof=0)) if len(norm) else 0.0,
            "pp_mean": float(sub["polsby_popper"].mean()),
            "pp_min": float(sub["polsby_popper"].min()),
            "stand_alone": int(sub["stands_alone"].sum()),
            # None for a level the current plan does not have (nothing to move from)
            "wards_moved": int(sub["wards_moved"].sum())
            if sub["wards_moved"].notna().any()
            else None,
        }
    return {
        "wards": len(new),
        "levels": tuple(lv),
        "demand_source": source,
        "demand_total": float(dem.sum()),
        "incidents_total": int(counts.sum()) if counts is not None else None,
        "tolerance": search.tolerance,
        "keep": search.keep,
        "compact": search.compact,
        "seed": search.seed,
        "islands": search.islands,
        "links": len(links),
        "feasible": feasible,
        "by_level": by,
        "wards_moved": int(tables.moved.sum()) if tables.moved is not None else None,
        "demand_moved": float(dem[tables.moved].sum()) if tables.moved is not None else None,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _infeasible(plan: Design) -> list[str]:
    """Say, per group beyond the tolerance, what stops it and the bound the ward lines allow."""
    rep = plan.report
    bad = rep[~rep["within_tolerance"] & ~rep["stands_alone"]]
    lines = []
    for (level, group), sub in bad.groupby(["level", "group"], sort=False):
        worst = sub.iloc[int(np.argmax(sub["deviation_pct"].abs().to_numpy()))]
        b = plan.bound[(plan.bound["level"] == level) & (plan.bound["group"] == group)]
        b = b[b["kind"] != "stands alone"]
        where = str(group)
        if len(b) and float(b["bound_pct"].max()) >= 100 * plan.tolerance - 1e-9:
            t = b.iloc[int(np.argmax(b["bound_pct"].to_numpy()))]
            best = f"best found: {level} {worst['id']} at {worst['deviation_pct']:+.1f}%" + (
                " (proven the best possible)" if bool(b["reached"].any()) else ""
            )
            if t["kind"] == "set partitioning":
                why = (
                    "set partitioning over every connected candidate area proves that no plan "
                    f"brings every {level} within {t['bound_pct']:.2f}% of the mean"
                )
            elif t["kind"] == "no plan within the tolerance":
                why = (
                    "set partitioning over every connected candidate area proves that no plan "
                    f"brings every {level} within ±{100 * plan.tolerance:g}%"
                )
            else:
                why = (
                    f"ward {t['ward']} ({t['kind']}, demand {t['demand']:,.1f} against a mean "
                    f"of {t['mean']:,.1f}) keeps its area at least {t['bound_pct']:.2f}% from "
                    "the mean"
                )
            lines.append(
                f"{level}s in {where}: the tolerance ±{100 * plan.tolerance:g}% is below what "
                f"the ward lines allow: {why}; {best}"
            )
        else:
            lines.append(
                f"{level}s in {where}: no plan within ±{100 * plan.tolerance:g}% was found "
                f"(the ward lines impose no bound that forbids it; {len(sub)} area(s) beyond, "
                f"worst {level} {worst['id']} at {worst['deviation_pct']:+.1f}%): the constraint "
                "that stops it is contiguity with "
                + (
                    "the fixed lines and "
                    if plan.apportionment is not None and len(plan.apportionment)
                    else ""
                )
                + f"this count of {level}s; try a larger tolerance, another count or seed"
            )
    lines.append("the best design found is in the error's .best (design(..., strict=False) "
                 "returns it; the command line writes it with --best-effort)")  # fmt: skip
    return lines


# -------------------------------------------------------------------- the priority area
@dataclass(frozen=True)
class PriorityArea:
    """What :func:`priority_area` returns: the wards chosen and their figures.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The wards chosen (the input's rows, in metres), heaviest first, with ``demand``.
    geometry : shapely geometry
        Their union.
    demand, share : float
        Their demand, and its share of the force's.
    incidents : int or None
        The incidents in them (with incident points).
    km2 : float
        Their area.
    """

    wards: gpd.GeoDataFrame = field(repr=False)
    geometry: shapely.Geometry = field(repr=False)
    demand: float
    share: float
    incidents: int | None
    km2: float

    @property
    def ids(self) -> list[str]:
        """Return the ward ids, heaviest first."""
        return [str(v) for v in self.wards.iloc[:, 0]]


def priority_area(
    wards: gpd.GeoDataFrame | str | os.PathLike[str],
    *,
    demand: Any,
    size: int | None = None,
    km2: float | None = None,
    harm: bool = True,
    ward_id: str = "id",
) -> PriorityArea:
    """Find the contiguous set of wards with the most (harm-weighted) demand.

    Northamptonshire's Priority Area Team: ``size`` wards (or as many as fit in ``km2``)
    that touch one another and hold the most demand. Grown greedily from every ward in turn
    (always adding the neighbour with the most demand that still fits), the best kept.

    Parameters
    ----------
    wards : GeoDataFrame or path
        The wards.
    demand : points, str or array-like
        As for :func:`design` (incident points are harm-weighted when ``harm``).
    size : int, optional
        The number of wards.
    km2 : float, optional
        The most area the wards may cover (with or instead of ``size``).
    harm : bool, default True
        Weigh incident points by :data:`beatplan.boundaries.HARM_WEIGHTS`.
    ward_id : str, default "id"
        The ward id column.

    Returns
    -------
    PriorityArea

    Examples
    --------
    >>> from beatplan.geo import make_sample
    >>> county = make_sample(seed=1, n_wards=60, incidents=1000)
    >>> pa = priority_area(county.wards_new, demand="population", size=3)
    >>> len(pa.ids), 0 < pa.share < 1
    (3, True)
    """
    if size is None and km2 is None:
        raise ValidationError("priority_area", ["give size= (wards) or km2= (the most area)"])
    table, net, _union, _notes = _wards(wards, ward_id)
    points = isinstance(getattr(demand, "points", demand), gpd.GeoDataFrame | gpd.GeoSeries)
    weigh = "harm" if harm and points else None  # harm weighs incidents; a column is as given
    counts, dem, _src, _info = _demand(table, demand, weigh, ward_id)
    n = len(table)
    if size is not None and not (
        isinstance(size, int | np.integer) and not isinstance(size, bool) and 1 <= size <= n
    ):
        raise ValidationError("priority_area", [f"size={size!r}: expected 1 to {n} wards"])
    if km2 is not None and not (
        isinstance(km2, int | float) and not isinstance(km2, bool) and km2 > 0 and km2 < np.inf
    ):
        raise ValidationError("priority_area", [f"km2={km2!r}: expected an area above 0 km²"])
    limit = size if size is not None else n
    cap = km2 * 1e6 if km2 is not None else np.inf
    best: tuple[float, list[int]] = (-1.0, [])
    nb = net.neighbours()
    for s in np.argsort(-dem, kind="stable").tolist():
        if net.area[s] > cap:
            continue
        chosen, area, total = [s], float(net.area[s]), float(dem[s])
        inside = {s}
        while len(chosen) < limit:
            front = {u for v in chosen for u in nb[v][0]} - inside
            fits = [u for u in front if area + net.area[u] <= cap]
            if not fits:
                break
            u = max(fits, key=lambda x: (dem[x], -x))
            chosen.append(u)
            inside.add(u)
            area += float(net.area[u])
            total += float(dem[u])
        if (size is None or len(chosen) == size) and total > best[0]:
            best = (total, chosen)
    if not best[1]:
        raise ValidationError(
            "priority_area",
            [
                f"no {'single ward' if size is None else f'{size} contiguous wards'} fit(s) in "
                f"{km2} km²; allow more area (km2=)"
                + ("" if size is None else " or ask for fewer wards (size=)")
            ],
        )
    rows = sorted(best[1], key=lambda v: (-dem[v], v))
    chosen_t = table.iloc[rows].copy()
    chosen_t["demand"] = dem[rows]
    geom = shapely.union_all(np.asarray(chosen_t.geometry.values, dtype=object))
    return PriorityArea(
        wards=chosen_t,
        geometry=geom,
        demand=float(best[0]),
        share=float(best[0] / dem.sum()) if dem.sum() > 0 else 0.0,
        incidents=int(counts[rows].sum()) if counts is not None else None,
        km2=float(shapely.area(geom)) / 1e6,
    )
