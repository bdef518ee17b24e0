"""Realign police areas to new wards: give every ward to exactly one area, by best fit.

:func:`realign` takes the new wards and the old police areas (beats, and optionally the
sectors and NPAs above them) and gives each ward, whole, to the old area holding most of it:

* ``by="area"``: the share of the ward's area lying in each old area;
* ``by="demand"``: the share of the ward's incident (or population) points lying in each
  old area — the ONS "best-fit" idea, better when the demand of a large ward sits in one
  corner. A ward with no point in the old areas falls back to area and is flagged.

The overlaps are computed without a full overlay (:mod:`beatplan.boundaries._bestfit`): an STRtree
gives the candidate (ward, area) pairs, prepared ``covers`` settles the wards lying wholly in one
area, and one vectorised :func:`shapely.intersection` measures the rest. Points are located once in
the wards (:func:`beatplan.boundaries.demand.count_points`); only the points of wards straddling
several areas are tested against those areas.

Several levels are realigned at once so that nesting is guaranteed: the smallest level is realigned,
and each ward's higher levels follow its area — from the parent columns of the area layer, or, when
each level comes as its own layer, by the majority (by ward demand or area) of the level above
(:func:`beatplan.boundaries.nest`), conflicts reported. Areas left in pieces are made contiguous
(:func:`beatplan.boundaries.fix_contiguity`) unless declared exceptions; then every layer is rebuilt
from its wards and every check of :mod:`beatplan.boundaries.checks` is run.

Wards must be smaller than the areas they are realigned to (a ward goes whole to one area).
When most areas would get no ward because the wards are larger (Chicago's 50 wards against
its 277 beats), :func:`realign` says so with :class:`WardsTooCoarseError` rather than return
a layout with most areas gone.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries._bestfit import (
    _add_shares,
    _best,
    _fill_unassigned,
    _Level,
    _overlay,
    _pieces_frame,
    _point_areas,
)
from beatplan.boundaries.checks import CheckReport, check_layers
from beatplan.boundaries.contiguity import Exceptions, fix_contiguity
from beatplan.boundaries.demand import Weights, count_points
from beatplan.boundaries.hierarchy import _listing, _strings, build_layers, nest
from beatplan.boundaries.validate import _validate_wards, validate_areas
from beatplan.geo.crs import to_working, working_crs
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    InputFormatError,
    OptionError,
    ValidationError,
    WardsTooCoarseError,
    check_option,
)

__all__ = ["Realignment", "WardsTooCoarseError", "realign"]

log = logging.getLogger("beatplan")

_BY = ("area", "demand")


class _Clock:
    """Seconds spent in each stage (reported in ``summary["seconds"]``)."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.t
        self.t = now


@dataclass(frozen=True)
class Realignment:
    """The result of :func:`realign`.

    Attributes
    ----------
    assignment : pandas.DataFrame
        One row per ward, aligned to the input wards' index: ``ward`` (id), ``name`` (when
        the wards have one), the smallest level's area it goes to, ``share`` (of the ward's
        measure lying in that old area), ``runner_up`` and ``runner_up_share``,
        ``outside_share`` (lying in no old area), ``basis`` (``"area"``, ``"demand"``,
        ``"area (no demand)"``, ``"neighbour"`` or ``"nearest"``), one column per higher
        level, ``moved`` (at least ``min_share`` of the ward lay outside the area it goes
        to), ``review`` and ``reason`` (why a human should look: ``marginal``, ``no
        overlap``, ``no demand``, ``partly outside``, ``nesting``, ``contiguity``).
    wards : geopandas.GeoDataFrame
        The new ward table: ward id, one column per level, the wards' other columns,
        geometry (working CRS).
    areas : dict of str to geopandas.GeoDataFrame
        The new layers, one per level plus ``force``, each area the exact union of its wards
        (see :func:`beatplan.boundaries.build_layers`).
    changes : pandas.DataFrame
        One row per old area and level: ``level``, ``id``, ``status`` (``kept`` or
        ``emptied``), ``area_old_m2``, ``area_new_m2``, ``retained`` (share of the old area
        kept), ``incidents_old``/``incidents_new`` and ``demand_old``/``demand_new`` (when
        demand was given), ``n_wards``, ``n_gained``, ``n_lost``, ``wards_gained`` and
        ``wards_lost`` (``;``-joined ids of wards bringing or taking at least ``min_share``).
    pieces : pandas.DataFrame
        The overlaps behind the shares: ``level``, ``ward``, ``area`` (<NA> for the part in
        no old area), ``area_m2``, ``incidents``, ``demand``, ``share``, ``assigned``.
    summary : dict
        Headline figures (see :meth:`describe`).
    checks : CheckReport
        Every check on the result (:func:`beatplan.boundaries.check_layers`), plus each of
        ``warnings`` as a warning of check ``"realign"``.
    conflicts : pandas.DataFrame
        Nesting conflicts resolved by majority (:func:`beatplan.boundaries.nest`).
    moves : pandas.DataFrame
        Detached pieces moved to a neighbour (:func:`beatplan.boundaries.fix_contiguity`).
    warnings : tuple of str
        Everything a planner should read, in plain words.
    levels : tuple of str
        The levels, small to large.
    by : str
        ``"area"`` or ``"demand"``.
    crs : pyproj.CRS
        The working CRS of every layer.
    """

    assignment: pd.DataFrame = field(repr=False)
    wards: gpd.GeoDataFrame = field(repr=False)
    areas: dict[str, gpd.GeoDataFrame] = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    pieces: pd.DataFrame = field(repr=False)
    summary: dict[str, Any]
    checks: CheckReport = field(repr=False)
    conflicts: pd.DataFrame = field(repr=False)
    moves: pd.DataFrame = field(repr=False)
    warnings: tuple[str, ...] = field(repr=False)
    levels: tuple[str, ...] = ()
    by: str = "area"
    crs: CRS | None = field(default=None, repr=False)

    def describe(self) -> str:
        """Return the summary as a few lines of plain text."""
        s = self.summary
        lines = [
            f"{s['wards']} wards realigned to {s['areas_new']} of {s['areas_old']} "
            f"{_areas(self.levels[0])} by {self.by}",
            f"{s['wards_moved']} ward(s) take at least {100 * s['min_share']:g}% from another "
            "area; "
            f"{s['wards_review']} flagged for review ({s['wards_marginal']} marginal, "
            f"best share below {s['review_below']:g})",
            f"area shifted: {s['area_shifted_m2'] / 1e6:,.3f} km² of {s['area_m2'] / 1e6:,.3f} km²",
        ]
        if s.get("demand_total") is not None:
            lines.append(
                f"demand shifted: {s['demand_shifted']:,.1f} of {s['demand_total']:,.1f} "
                f"({s['demand_shifted_pct']:.1f}%)"
            )
        if s["areas_emptied"]:
            lines.append(f"areas left with no ward: {_listing(s['emptied_ids'])}")
        lines.append(
            "checks: " + ("passed" if self.checks.ok else f"{len(self.checks.errors)} error(s)")
        )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# ---------------------------------------------------------------------------------- input
def _normalise_areas(
    areas: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    levels: Sequence[str] | None,
    area_id: str | Mapping[str, str],
) -> tuple[list[str], dict[str, gpd.GeoDataFrame], dict[str, str], bool]:
    """Levels, one layer per level given as a layer, id column per level, parents-as-columns."""

    def id_of(level: str) -> str:
        if isinstance(area_id, str):
            return area_id
        if level not in area_id:
            raise ColumnNotFoundError(
                f"area_id gives no id column for level {level!r} (it names {_listing(area_id)})"
            )
        return area_id[level]

    if isinstance(areas, gpd.GeoDataFrame):
        lv = list(levels) if levels is not None else ["area"]
        if not lv:
            raise OptionError("levels is empty; name at least the level of the area layer")
        missing = [c for c in lv[1:] if c not in areas.columns]
        if missing:
            raise ColumnNotFoundError(
                f"areas: levels {lv} make {_listing(lv[1:])} columns of the {lv[0]} layer, but "
                f"{_listing(missing)} {'is' if len(missing) == 1 else 'are'} not among its columns "
                f"({_listing(areas.columns)}); name the parent columns, or pass one layer per "
                "level as a dict {level: layer}"
            )
        return lv, {lv[0]: areas}, {lv[0]: id_of(lv[0])}, len(lv) > 1
    if not isinstance(areas, Mapping) or not areas:
        raise OptionError(
            "areas must be a GeoDataFrame of the smallest level or a non-empty dict "
            "{level: GeoDataFrame} ordered small to large"
        )
    lv = list(levels) if levels is not None else list(areas)
    for level in lv:
        check_option("levels", level, list(areas))
    return lv, {k: areas[k] for k in lv}, {k: id_of(k) for k in lv}, False


def _areas(level: str) -> str:
    return "areas" if level == "area" else f"{level} areas"


def _crs_of(frame: Any, what: str) -> CRS:
    if frame.crs is None:
        raise CRSError(
            f"{what}: the layer has no CRS; set the one its coordinates are in with "
            ".set_crs(...) (e.g. 'EPSG:27700' or 'EPSG:4326')"
        )
    return CRS.from_user_input(frame.crs)


def _one_crs(
    wards: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    demand: Any,
    crs: Any,
) -> tuple[CRS, gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame], list[str]]:
    """Reproject the wards and area layers to one working CRS; say which ones moved.

    Every input must have a CRS (:class:`beatplan.geo.errors.CRSError` otherwise). The wards define
    the place (:func:`beatplan.geo.crs.working_crs`); the demand points are reprojected when
    counted.
    """
    named = {"wards": wards, **{f"{k} layer": v for k, v in layers.items()}}
    if demand is not None:
        named["demand points"] = demand
    crss = {k: _crs_of(v, k) for k, v in named.items()}
    work = working_crs(wards, crs=crs)
    moved = {k: c for k, c in crss.items() if not c.equals(work)}
    said = []
    if moved:
        said.append(
            "reprojected to the working CRS "
            + work.to_string()
            + ": "
            + "; ".join(f"{k} (from {c.to_string()})" for k, c in moved.items())
            + "; layers are never mixed in different CRSs"
        )
        log.warning(said[-1])
    return work, to_working(wards, work), {k: to_working(v, work) for k, v in layers.items()}, said


def _names(frame: gpd.GeoDataFrame, id_col: str) -> dict[str, str] | None:
    if "name" not in frame.columns or id_col == "name":
        return None
    s = frame[[id_col, "name"]].dropna()
    return {str(k): str(v) for k, v in zip(s[id_col], s["name"], strict=True)}


# --------------------------------------------------------------------------------- realign
def realign(
    wards: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    *,
    ward_id: str = "id",
    area_id: str | Mapping[str, str] = "id",
    by: str = "area",
    demand: gpd.GeoDataFrame | None = None,
    weights: Weights = None,
    review_below: float = 0.8,
    levels: Sequence[str] | None = None,
    exceptions: Exceptions | None = (),
    min_share: float = 0.01,
    overlap_tolerance: float = 0.01,
    crs: Any = None,
    allow_coarse: bool = False,
    fix: bool = True,
) -> Realignment:
    """Give every new ward to exactly one police area, by best fit to the old areas.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        The new wards (a coverage; sliver overlaps are repaired, real ones are an error —
        see :func:`beatplan.boundaries.validate_wards`).
    areas : geopandas.GeoDataFrame or dict of str to GeoDataFrame
        The old police areas: the smallest level's layer (its parent levels, if any, as
        columns named in ``levels``), or one layer per level ``{"beat": ..., "sector": ...,
        "npa": ...}`` ordered small to large. Features sharing an id are merged.
    ward_id : str, default "id"
        The wards' code column.
    area_id : str or dict, default "id"
        The areas' id column (one name for every layer, or ``{level: column}``).
    by : {"area", "demand"}, default "area"
        Weigh each overlap by its area, or by the ``demand`` points in it.
    demand : geopandas.GeoDataFrame or beatplan.geo.Incidents, optional
        Incident or population points (any CRS; reprojected). Required for
        ``by="demand"``; when given with ``by="area"`` it still fills the demand figures.
    weights : None, str or mapping
        What a point counts for (see :func:`beatplan.boundaries.demand.incident_weights`): 1, a
        numeric column such as ``"population"``, ``"harm"``, or ``{crime type: weight}``.
    review_below : float, default 0.8
        Flag a ward for review when the share of it in the area it goes to is below this.
    levels : sequence of str, optional
        Level names, small to large. With one layer: its level then its parent columns
        (default ``("area",)``). With a dict: the levels to use (default all, in order).
    exceptions : iterable of str or dict, optional
        Area ids allowed to be non-contiguous (an airport, a town-centre team).
    min_share : float, default 0.01
        Shares below this are slivers: not counted as a ward gained, lost or moved.
    overlap_tolerance : float, default 0.01
        Largest ward overlap repaired, as a share of the smaller ward.
    crs : optional
        The working CRS (projected); default :func:`beatplan.geo.crs.working_crs`.
    allow_coarse : bool, default False
        Return a result even when the wards are larger than the areas (with a warning).
    fix : bool, default True
        Make every area contiguous (:func:`beatplan.boundaries.fix_contiguity`); ``False`` only
        reports.

    Returns
    -------
    Realignment

    Raises
    ------
    OptionError
        ``by`` is not one of its choices, ``by="demand"`` without points, bad ``levels``.
    CRSError
        A layer has no CRS.
    EmptyInputError, ColumnNotFoundError, DuplicateIdError, ValidationError
        From checking the inputs (see :func:`beatplan.boundaries.validate_wards`).
    WardsTooCoarseError
        The wards are larger than the areas and most areas would get no ward.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> x, y = 460_000, 300_000  # Leicester, British National Grid
    >>> beats = gpd.GeoDataFrame(
    ...     {"id": ["B1", "B2"], "npa": ["N", "N"]},
    ...     geometry=[box(x, y, x + 500, y + 1000), box(x + 500, y, x + 1000, y + 1000)],
    ...     crs=27700,
    ... )
    >>> wards = gpd.GeoDataFrame(
    ...     {"id": ["w1", "w2", "w3"]},
    ...     geometry=[box(x, y, x + 450, y + 1000), box(x + 450, y, x + 700, y + 1000),
    ...               box(x + 700, y, x + 1000, y + 1000)],
    ...     crs=27700,
    ... )
    >>> r = realign(wards, beats, levels=["beat", "npa"])
    >>> r.assignment[["ward", "beat", "runner_up", "review"]].to_dict("list")
    {'ward': ['w1', 'w2', 'w3'], 'beat': ['B1', 'B2', 'B2'], 'runner_up': [None, 'B1', None], \
'review': [False, False, False]}
    >>> r.assignment["share"].round(3).tolist(), r.checks.ok
    ([1.0, 0.8, 1.0], True)
    """
    check_option("by", by, _BY)
    if demand is not None:
        demand = getattr(demand, "points", demand)  # beatplan.geo.Incidents: its located points
        if not isinstance(demand, gpd.GeoDataFrame | gpd.GeoSeries):
            raise InputFormatError(
                "demand: expected incident or population points (a GeoDataFrame or "
                f"beatplan.geo.Incidents), got {type(demand).__name__}"
            )
    if by == "demand" and demand is None:
        raise OptionError(
            "by='demand' weighs each overlap by the points in it, but no demand points were "
            "given: pass demand=<incident or population points> or use by='area'"
        )
    if not 0.0 <= review_below <= 1.0:
        raise OptionError(f"review_below={review_below!r} must lie between 0 and 1")
    if not 0.0 <= min_share < 1.0:
        raise OptionError(f"min_share={min_share!r} must lie in [0, 1)")
    lv, layers, id_cols, parents_as_columns = _normalise_areas(areas, levels, area_id)
    warnings: list[str] = []

    clock = _Clock()
    # ---- CRS: one working CRS, every layer reprojected into it, never mixed
    work, wards_w, layers, said = _one_crs(wards, layers, demand, crs)
    warnings += said

    clock.lap("crs")
    # ---- inputs
    wards_v, msgs, ward_union, adj = _validate_wards(
        wards_w,
        ward_id=ward_id,
        what="wards",
        overlap_tolerance=overlap_tolerance,
        gap_width=0.0,
        repair=True,
    )
    warnings += msgs
    checked: dict[str, gpd.GeoDataFrame] = {}
    for k, layer in layers.items():
        a, msgs = validate_areas(layer, area_id=id_cols[k], what=f"{k} layer")
        warnings += msgs
        checked[k] = a
    wg = np.asarray(wards_v.geometry.values, dtype=object)
    nw = len(wg)
    wid = wards_v[ward_id].to_numpy(dtype=object)
    wa = adj.areas(wg)

    clock.lap("validate")
    # ---- demand points
    pw = x = y = pweight = None
    ward_inc = ward_dem = None
    outside_wards = 0
    if demand is not None:
        located = count_points(wg, demand, crs=work, weights=weights, what="demand points")
        x, y, pweight, pw = located.x, located.y, located.weight, located.loc
        ward_inc, ward_dem = located.incidents, located.demand
        outside_wards = located.info["outside"]
        if outside_wards:
            warnings.append(
                f"{outside_wards:,} of {len(x):,} demand point(s) lie in no ward and are not "
                "counted"
            )
        if by == "demand" and not ward_inc.any():
            warnings.append(
                f"by='demand', but none of the {len(x):,} demand point(s) lies in a ward: every "
                "ward was given by area; check the points cover the same place and period"
            )

    clock.lap("locate points")
    # ---- the smallest level, then the others
    finest = lv[0]
    base = checked[finest]
    lvl_objs: dict[str, _Level] = {}

    def realign_layer(name: str, layer: gpd.GeoDataFrame, id_col: str) -> _Level:
        ag = np.asarray(layer.geometry.values, dtype=object)
        wi, ai, area, covered_by = _overlay(wg, ag, ward_area=wa)
        pa = None
        if pw is not None and x is not None and y is not None:
            pa = _point_areas(pw, x, y, ag, wi, ai, area, covered_by, wa)
        pieces = _pieces_frame(wi, ai, area, wa, len(ag), pw, pa, pweight)
        pieces, basis = _add_shares(pieces, wa, ward_dem, by)
        ids = layer[id_col].to_numpy(dtype=object)
        best, _ = _best(pieces, ids, nw)
        return _Level(
            name=name,
            ids=ids,
            area_m2=shapely.area(ag),
            geoms=ag,
            names=_names(layer, id_col),
            pieces=pieces,
            best=best,
            basis=basis,
        )

    lvl_objs[finest] = realign_layer(finest, base, id_cols[finest])
    fl = lvl_objs[finest]
    assert fl.best is not None and fl.basis is not None and fl.pieces is not None

    clock.lap("overlaps")
    # ---- wards larger than areas?
    n_areas = len(fl.ids)
    used = np.unique(fl.best[fl.best >= 0])
    med_w, med_a = float(np.median(wa)), float(np.median(fl.area_m2))
    empty_share = 1 - len(used) / n_areas
    coarse = med_w > med_a and empty_share > 0.25
    if coarse:
        msg = (
            f"the wards are larger than the {_areas(finest)} they are realigned to: the median "
            "ward "
            f"({med_w / 1e6:,.2f} km²) is {med_w / med_a:,.1f}× the median {finest} "
            f"({med_a / 1e6:,.2f} km²), so {n_areas - len(used)} of {n_areas} {_areas(finest)} "
            f"would get no ward. Realignment gives whole wards to areas, so it needs wards smaller "
            f"than the areas: realign the {_areas(finest)} to a finer unit (census blocks, output "
            "areas), or realign to a coarser level"
        )
        if not allow_coarse:
            raise WardsTooCoarseError("realign", [msg + "; allow_coarse=True returns it anyway"])
        warnings.append(msg)
        log.warning(msg)

    # ---- wards with no overlap: the neighbour with most shared boundary, else the nearest
    no_overlap = fl.best < 0
    basis = fl.basis.copy()
    codes = fl.best.copy()
    if no_overlap.any():
        assert fl.geoms is not None
        codes, nearest = _fill_unassigned(codes, adj, fl.ids, fl.geoms, wg)
        basis[no_overlap] = "neighbour"
        basis[nearest] = "nearest"
        msg = (
            f"{int(no_overlap.sum())} ward(s) overlap none of the old {_areas(finest)} and were "
            "given to a "
            f"neighbour: {_listing(wid[no_overlap])}"
        )
        warnings.append(msg)
        log.warning(msg)
    outside = np.zeros(nw)
    op = fl.pieces[fl.pieces["a"] < 0]
    outside[op["w"].to_numpy()] = op["share"].to_numpy()
    partly = (outside >= min_share) & ~no_overlap
    if partly.any() or no_overlap.any():
        covered = 1 - float((outside * wa).sum() + wa[no_overlap].sum()) / float(wa.sum())
        parts = []
        if partly.any():
            parts.append(
                f"{int(partly.sum())} ward(s) lie partly outside them ({_listing(wid[partly])})"
            )
        if no_overlap.any():
            parts.append(f"{int(no_overlap.sum())} wholly ({_listing(wid[no_overlap])})")
        msg = (
            f"the old {_areas(finest)} cover only {100 * covered:.1f}% of the wards: "
            + "; ".join(parts)
        )
        warnings.append(msg)
        log.warning(msg)

    table = wards_v.copy()
    table[finest] = _strings(fl.ids[codes])

    # ---- higher levels
    if parents_as_columns:
        for higher in lv[1:]:
            col = base[higher]
            nulls = col.isna().to_numpy()
            if nulls.any():
                raise ValidationError(
                    f"{finest} layer",
                    [
                        f"{int(nulls.sum())} {finest} area(s) have no {higher}: "
                        f"{_listing(fl.ids[nulls])}; every area needs its parent"
                    ],
                )
            pid = col.astype("string").to_numpy(dtype=object)
            table[higher] = _strings(pid[codes])
            pcodes, puniq = pd.factorize(pid)
            pieces = fl.pieces.copy()
            pa_ = pieces["a"].to_numpy()
            pieces["a"] = np.where(pa_ >= 0, pcodes[np.maximum(pa_, 0)], -1)
            pieces = (
                pieces.groupby(["w", "a"])[["area_m2", "incidents", "demand", "share"]]
                .sum()
                .reset_index()
            )
            lvl_objs[higher] = _Level(
                name=higher,
                ids=np.asarray(puniq, dtype=object),
                area_m2=np.bincount(pcodes, weights=fl.area_m2, minlength=len(puniq)),
                pieces=pieces,
            )
    else:
        for higher in lv[1:]:
            L = realign_layer(higher, checked[higher], id_cols[higher])
            lvl_objs[higher] = L
            assert L.best is not None
            assert L.geoms is not None
            hc, _ = _fill_unassigned(L.best, adj, L.ids, L.geoms, wg)
            vals = np.where(hc >= 0, L.ids[np.maximum(hc, 0)], None)
            table[higher] = _strings(vals)

    clock.lap("assign")
    # ---- nesting by majority (by demand when known, else area)
    wmeasure = ward_dem if (by == "demand" and ward_dem is not None) else wa
    before = table[lv].copy()
    nesting = nest(table, lv, ward_id=ward_id, weight=wmeasure)
    table = nesting.wards
    nest_changed = (table[lv].astype(object).to_numpy() != before.astype(object).to_numpy()).any(
        axis=1
    )
    if len(nesting.conflicts):
        msg = (
            f"{len(nesting.conflicts)} area(s) straddled several areas of the level above and "
            f"were given to the majority; {int(nest_changed.sum())} ward(s) changed: "
            f"{_listing(wid[nest_changed])}"
        )
        warnings.append(msg)

    clock.lap("nest")
    # ---- contiguity
    moves = pd.DataFrame()
    moved_contig = np.zeros(nw, bool)
    fix_report = CheckReport()
    if fix:
        cf = fix_contiguity(
            table, levels=lv, ward_id=ward_id, exceptions=exceptions, weight=wmeasure, adjacency=adj
        )
        before = table[lv].astype(object).to_numpy()
        table = cf.wards
        moved_contig = (table[lv].astype(object).to_numpy() != before).any(axis=1)
        moves = cf.moves
        fix_report = cf.report
        if len(moves):
            msg = (
                f"{len(moves)} detached piece(s) of areas were given to the neighbour they share "
                f"most boundary with ({int(moved_contig.sum())} ward(s)): "
                + _listing(f"{r['wards']} {r['from']}→{r['to']}" for _, r in moves.iterrows())
            )
            warnings.append(msg)

    clock.lap("contiguity")
    # ---- layers and checks
    names = {k: L.names for k, L in lvl_objs.items() if L.names}
    new_layers = build_layers(table, levels=lv, ward_id=ward_id, names=names or None)
    clock.lap("layers")
    report = check_layers(
        table,
        new_layers,
        levels=lv,
        ward_id=ward_id,
        exceptions=exceptions,
        adjacency=adj,
        ward_union=ward_union,
        wards_valid=True,
    )
    for p in fix_report.problems:  # the fix's reason replaces the bare "in pieces" finding
        report.problems = [
            q
            for q in report.problems
            if not (q.check == p.check and q.level == p.level and q.ids[:1] == p.ids[:1])
        ]
        report.problems.append(p)
    for m in warnings:
        report.add("realign", finest, [], m, severity="warning")

    clock.lap("checks")
    # ---- assignment, changes, pieces, summary
    final_codes = {}
    for k, L in lvl_objs.items():
        pos = pd.Series(np.arange(len(L.ids)), index=L.ids)
        final_codes[k] = pos.reindex(table[k].to_numpy(dtype=object)).to_numpy().astype(np.int64)
    fc = final_codes[finest]
    fp = fl.pieces
    share_final = _lookup_share(fp, fc, nw)
    ru, ru_share = _runner_up(fp, fc, fl.ids, nw)
    assignment = pd.DataFrame(index=wards_v.index)
    assignment["ward"] = _strings(wid)
    if "name" in table.columns and ward_id != "name":
        assignment["name"] = table["name"].astype("string").to_numpy()
    assignment[finest] = table[finest].to_numpy()
    assignment["share"] = share_final
    assignment["runner_up"] = _strings(ru)
    assignment["runner_up_share"] = ru_share
    assignment["outside_share"] = outside
    assignment["basis"] = _strings(basis)
    for higher in lv[1:]:
        assignment[higher] = table[higher].to_numpy()
    reasons = {
        "marginal": (share_final < review_below)
        & np.isin(basis, ["area", "demand", "area (no demand)"]),
        "no overlap": no_overlap,
        "no demand": basis == "area (no demand)",
        "partly outside": partly,
        "nesting": nest_changed,
        "contiguity": moved_contig,
    }
    reason = np.full(nw, "", dtype=object)
    for label, mask in reasons.items():
        reason = np.where(mask, np.where(reason == "", label, reason + "; " + label), reason)
    assignment["moved"] = (1 - share_final) >= min_share
    assignment["review"] = reason != ""
    assignment["reason"] = _strings(reason)
    if demand is not None:
        assignment["incidents"] = ward_inc
        assignment["demand"] = ward_dem

    changes, pieces_out = _changes(
        lvl_objs, final_codes, wid, wa, ward_inc, ward_dem, min_share, demand is not None
    )
    area_retained = float(fp.loc[(fp["a"].to_numpy() == fc[fp["w"].to_numpy()]), "area_m2"].sum())
    summary: dict[str, Any] = {
        "by": by,
        "levels": tuple(lv),
        "wards": nw,
        "areas_old": n_areas,
        "areas_new": int(new_layers[finest].shape[0]),
        "areas_emptied": int(n_areas - new_layers[finest].shape[0]),
        "emptied_ids": sorted(set(map(str, fl.ids)) - set(new_layers[finest]["id"].astype(str))),
        "wards_moved": int(assignment["moved"].sum()),
        "wards_review": int(assignment["review"].sum()),
        "wards_marginal": int(reasons["marginal"].sum()),
        "wards_no_overlap": int(no_overlap.sum()),
        "wards_no_demand": int(reasons["no demand"].sum()),
        "wards_partly_outside": int(partly.sum()),
        "nesting_conflicts": len(nesting.conflicts),
        "contiguity_moves": len(moves),
        "area_m2": float(wa.sum()),
        "area_shifted_m2": float(wa.sum()) - area_retained,
        "review_below": review_below,
        "min_share": min_share,
        "coarse": bool(coarse),
        "median_ward_m2": med_w,
        "median_area_m2": med_a,
        "demand_total": None,
        "demand_shifted": None,
        "demand_shifted_pct": None,
        "demand_outside_wards": outside_wards if demand is not None else None,
    }
    if demand is not None and ward_dem is not None:
        kept = fp.loc[(fp["a"].to_numpy() == fc[fp["w"].to_numpy()]), "demand"].sum()
        total = float(ward_dem.sum())
        summary["demand_total"] = total
        summary["demand_shifted"] = total - float(kept)
        summary["demand_shifted_pct"] = 100 * (total - float(kept)) / total if total else 0.0
    clock.lap("report")
    summary["seconds"] = dict(clock.laps)
    log.info(
        "realign: %d wards to %d %s areas by %s; %d moved, %d for review",
        nw,
        summary["areas_new"],
        finest,
        by,
        summary["wards_moved"],
        summary["wards_review"],
    )
    return Realignment(
        assignment=assignment,
        wards=table,
        areas=new_layers,
        changes=changes,
        pieces=pieces_out,
        summary=summary,
        checks=report,
        conflicts=nesting.conflicts,
        moves=moves,
        warnings=tuple(warnings),
        levels=tuple(lv),
        by=by,
        crs=work,
    )


def _lookup_share(pieces: pd.DataFrame, codes: np.ndarray, n: int) -> np.ndarray:
    w = pieces["w"].to_numpy()
    hit = pieces["a"].to_numpy() == codes[w]
    out = np.zeros(n)
    out[w[hit]] = pieces["share"].to_numpy()[hit]
    return out


def _runner_up(
    pieces: pd.DataFrame, codes: np.ndarray, ids: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    w = pieces["w"].to_numpy()
    a = pieces["a"].to_numpy()
    p = pieces[(a >= 0) & (a != codes[w]) & (pieces["share"].to_numpy() > 0)]
    ru = np.full(n, None, dtype=object)
    share = np.zeros(n)
    if len(p):
        p = p.assign(aid=ids[p["a"].to_numpy()]).sort_values(
            ["w", "share", "aid"], ascending=[True, False, True]
        )
        first = p.drop_duplicates("w")
        ru[first["w"].to_numpy()] = first["aid"].to_numpy()
        share[first["w"].to_numpy()] = first["share"].to_numpy()
    return ru, share


def _join_ids(frame: pd.DataFrame, key: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per area code 0..n-1: count and ``;``-joined sorted ward ids of ``frame`` rows."""
    counts = np.bincount(frame[key].to_numpy(), minlength=n) if len(frame) else np.zeros(n, int)
    joined = np.full(n, "", dtype=object)
    if len(frame):
        k = frame[key].to_numpy()
        ward = frame["ward"].to_numpy(dtype=object)
        o = np.argsort(ward, kind="stable")  # by id, then (stably) by code: sorted within each
        o = o[np.argsort(k[o], kind="stable")]
        ks, ws = k[o], ward[o]
        cut = np.flatnonzero(ks[1:] != ks[:-1]) + 1
        joined[ks[np.r_[0, cut]]] = [";".join(part) for part in np.split(ws, cut)]
    return counts, joined


def _changes(
    lvl_objs: Mapping[str, _Level],
    final_codes: Mapping[str, np.ndarray],
    wid: np.ndarray,
    wa: np.ndarray,
    ward_inc: np.ndarray | None,
    ward_dem: np.ndarray | None,
    min_share: float,
    with_demand: bool,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    frames = []
    piece_frames = []
    for k, L in lvl_objs.items():
        assert L.pieces is not None
        n = len(L.ids)
        fc = final_codes[k]
        p = L.pieces
        pw_, pa_ = p["w"].to_numpy(), p["a"].to_numpy()
        assigned = pa_ == fc[pw_]
        real = pa_ >= 0
        retained = np.bincount(
            pa_[assigned & real], weights=p["area_m2"].to_numpy()[assigned & real], minlength=n
        )
        new_area = np.bincount(fc, weights=wa, minlength=n)
        n_wards = np.bincount(fc, minlength=n)
        share = p["share"].to_numpy()
        gained = pd.DataFrame({"a": fc, "ward": wid})
        sh_final = _lookup_share(p, fc, len(wid))
        gained = gained[(1 - sh_final) >= min_share]
        lost = p[real & ~assigned & (share >= min_share)]
        lost = pd.DataFrame({"a": lost["a"].to_numpy(), "ward": wid[lost["w"].to_numpy()]})
        n_gained, ids_gained = _join_ids(gained, "a", n)
        n_lost, ids_lost = _join_ids(lost, "a", n)
        f = pd.DataFrame(
            {
                "level": k,
                "id": _strings(L.ids.astype(str)),
                "status": np.where(n_wards > 0, "kept", "emptied"),
                "area_old_m2": L.area_m2,
                "area_new_m2": new_area,
                "retained": retained / np.maximum(L.area_m2, 1e-300),
            }
        )
        if with_demand and ward_inc is not None and ward_dem is not None:
            f["incidents_old"] = np.bincount(
                pa_[real], weights=p["incidents"].to_numpy()[real], minlength=n
            ).astype(np.int64)
            f["incidents_new"] = np.bincount(fc, weights=ward_inc, minlength=n).astype(np.int64)
            f["demand_old"] = np.bincount(
                pa_[real], weights=p["demand"].to_numpy()[real], minlength=n
            )
            f["demand_new"] = np.bincount(fc, weights=ward_dem, minlength=n)
        f["n_wards"] = n_wards
        f["n_gained"] = n_gained
        f["n_lost"] = n_lost
        f["wards_gained"] = _strings(ids_gained)
        f["wards_lost"] = _strings(ids_lost)
        frames.append(f)
        piece_frames.append(
            pd.DataFrame(
                {
                    "level": k,
                    "ward": _strings(wid[pw_]),
                    "area": _strings(np.where(real, L.ids[np.maximum(pa_, 0)], None)),
                    "area_m2": p["area_m2"].to_numpy(),
                    "incidents": p["incidents"].to_numpy(),
                    "demand": p["demand"].to_numpy(),
                    "share": share,
                    "assigned": assigned,
                }
            )
        )
    return pd.concat(frames, ignore_index=True), pd.concat(piece_frames, ignore_index=True)
