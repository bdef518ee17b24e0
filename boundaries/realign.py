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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries._adjacency import Adjacency
from beatplan.boundaries._bestfit import (
    Level,
    add_shares,
    best_fit,
    fill_unassigned,
    overlay,
    pieces_frame,
    point_areas,
)
from beatplan.boundaries._changes import area_crosswalk
from beatplan.boundaries._common import listing, strings
from beatplan.boundaries.checks import check_layers
from beatplan.boundaries.contiguity import Exceptions, fix_contiguity
from beatplan.boundaries.demand import Weights, count_points, deviation_pct
from beatplan.boundaries.hierarchy import build_layers, nest
from beatplan.boundaries.plan import BoundaryPlan, area_names
from beatplan.boundaries.report import CheckReport
from beatplan.boundaries.validate import prepare_wards, validate_areas
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
from beatplan.geo.progress import stages

__all__ = ["REALIGN_BY", "Realignment", "realign"]

log = logging.getLogger("beatplan")

#: What each overlap is weighed by (``realign(by=...)``).
REALIGN_BY = ("area", "demand")


#: The stages :func:`realign` times (and shows on its progress bar), in order.
_STAGES = ("validate", "crs", "locate points", "overlaps", "assign", "nest", "contiguity",
           "layers", "checks", "report")  # fmt: skip
#: Fewest wards for which realign shows a progress bar by itself (smaller runs take a second).
PROGRESS_WARDS = 1000


class _Clock:
    """Seconds spent in each stage (reported in ``summary["seconds"]``); moves the progress bar."""

    def __init__(self) -> None:
        self.t = time.perf_counter()
        self.laps: dict[str, float] = {}
        self.step: Callable[[], None] = lambda: None

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        if name not in self.laps:
            self.step()
        self.laps[name] = self.laps.get(name, 0.0) + now - self.t
        self.t = now


@dataclass(frozen=True, kw_only=True)
class Realignment(BoundaryPlan):
    """The result of :func:`realign`: a :class:`beatplan.boundaries.BoundaryPlan`, and how it fit.

    Attributes
    ----------
    assignment : pandas.DataFrame
        The plan's :attr:`crosswalk`: one row per ward, aligned to the input wards' index:
        ``ward`` (id), ``name`` (when the wards have one), the smallest level's area it goes
        to, ``share`` (of the ward's measure lying in that old area), ``runner_up`` and
        ``runner_up_share``, ``outside_share`` (lying in no old area), ``basis`` (``"area"``,
        ``"demand"``, ``"area (no demand)"``, ``"neighbour"`` or ``"nearest"``), one column
        per higher level, ``moved`` (at least ``min_share`` of the ward lay outside the area
        it goes to), ``review`` and ``reason`` (why a human should look: ``marginal``, ``no
        overlap``, ``no demand``, ``partly outside``, ``nesting``, ``contiguity``), and with
        demand ``incidents`` and ``demand``.
    wards : geopandas.GeoDataFrame
        The new ward table: ward id, one column per level, the wards' other columns,
        geometry (working CRS).
    areas : dict of str to geopandas.GeoDataFrame
        The plan's :attr:`layers`: one per level plus ``force``, each area the exact union of
        its wards (see :func:`beatplan.boundaries.build_layers`).
    changes : pandas.DataFrame
        One row per old area and level: ``level``, ``id``, ``name``, ``status`` (``kept`` or
        ``emptied``), ``area_old_m2``, ``area_new_m2``, ``retained`` (share of the old area
        kept), ``incidents_old``/``incidents_new`` and ``demand_old``/``demand_new`` (when
        demand was given), ``n_wards``, ``n_gained``, ``n_lost``, ``wards_gained`` and
        ``wards_lost`` (``;``-joined ids of wards bringing or taking at least ``min_share``),
        and with demand ``deviation_pct_old`` and ``deviation_pct`` (from the level's mean).
    area_crosswalk : pandas.DataFrame
        Old area -> new area, from the overlaps (see :class:`beatplan.boundaries.BoundaryPlan`).
    review : pandas.DataFrame
        The rows of :attr:`assignment` flagged for review.
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
    exceptions : dict
        Empty: a realignment records no declared exceptions in its plan (those given to
        :func:`realign` are honoured by the contiguity fix and checks).
    """

    pieces: pd.DataFrame = field(repr=False)
    conflicts: pd.DataFrame = field(repr=False)
    moves: pd.DataFrame = field(repr=False)
    by: str = "area"
    kind: str = "realign"

    @property
    def assignment(self) -> pd.DataFrame:
        """Each ward's best fit and why (the plan's :attr:`crosswalk`)."""
        return self.crosswalk

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
            lines.append(f"areas left with no ward: {listing(s['emptied_ids'])}")
        lines.append(
            "checks: " + ("passed" if self.checks.ok else f"{len(self.checks.errors)} error(s)")
        )
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _areas(level: str) -> str:
    return "areas" if level == "area" else f"{level} areas"


# ------------------------------------------------------------------ what the stages share
@dataclass
class _Run:
    """One call of :func:`realign`: its options, and the notes and timings its stages add."""

    by: str
    ward_id: str
    levels: list[str]
    review_below: float
    min_share: float
    exceptions: Exceptions | None
    fix: bool
    allow_coarse: bool
    min_coverage: float = 0.5
    warnings: list[str] = field(default_factory=list)
    clock: _Clock = field(default_factory=_Clock)

    @property
    def finest(self) -> str:
        """The smallest level: the one realigned; the others follow."""
        return self.levels[0]

    def note(self, message: str, *, logged: bool = False) -> None:
        """Add a plain-words note for the planner (and log it as a warning when ``logged``)."""
        self.warnings.append(message)
        if logged:
            log.warning(message)


@dataclass(frozen=True)
class _Areas:
    """The old areas as given: the levels, a layer per level given as a layer, id columns."""

    levels: list[str]
    layers: dict[str, gpd.GeoDataFrame]
    id_cols: dict[str, str]
    parents_as_columns: bool


@dataclass(frozen=True)
class _Wards:
    """The new wards, checked, with what the later stages measure on them."""

    table: gpd.GeoDataFrame
    geoms: np.ndarray
    ids: np.ndarray
    area: np.ndarray
    union: shapely.Geometry
    adjacency: Adjacency

    @property
    def n(self) -> int:
        """The number of wards."""
        return len(self.geoms)


@dataclass(frozen=True)
class _Points:
    """The demand points, located in the wards (every field None when no points were given)."""

    ward: np.ndarray | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    weight: np.ndarray | None = None
    incidents: np.ndarray | None = None
    demand: np.ndarray | None = None
    outside: int = 0

    def measure(self, by: str, area: np.ndarray) -> np.ndarray:
        """Each ward's weight in majorities: its demand when realigning by demand, else area."""
        return self.demand if (by == "demand" and self.demand is not None) else area


@dataclass(frozen=True)
class _Fit:
    """The smallest level's best fit: each ward's area (code), why, and how much lies outside."""

    codes: np.ndarray
    basis: np.ndarray
    no_overlap: np.ndarray
    outside: np.ndarray
    partly: np.ndarray


@dataclass(frozen=True)
class _Coarse:
    """The wards against the areas: median sizes, and whether most areas would vanish."""

    median_ward_m2: float
    median_area_m2: float
    coarse: bool


@dataclass(frozen=True)
class _Settled:
    """The ward table once nested and made contiguous, and what that changed."""

    table: gpd.GeoDataFrame
    conflicts: pd.DataFrame
    nest_changed: np.ndarray
    moves: pd.DataFrame
    moved_contig: np.ndarray
    fix_report: CheckReport


# ---------------------------------------------------------------------------------- realign
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
    min_coverage: float = 0.5,
    fix: bool = True,
    progress: bool | None = None,
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
    min_coverage : float, default 0.5
        The least share of the wards' area the old areas (smallest level) must cover: below it
        most wards would be given by adjacency alone, so the inputs are refused (other places,
        or a wrong CRS, most likely). 0 accepts any.
    fix : bool, default True
        Make every area contiguous (:func:`beatplan.boundaries.fix_contiguity`); ``False`` only
        reports.
    progress : bool or None, default None
        Show a progress bar of the stages on standard error: ``None`` does for
        :data:`PROGRESS_WARDS` wards or more when standard error is a terminal (and the
        ``"beatplan"`` logger is not quieter than WARNING, as under ``-q``); ``False`` never.

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
    ValidationError
        The old areas cover less than ``min_coverage`` of the wards' area.

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
    points = _check_options(by, demand, review_below, min_share, min_coverage)
    given = _normalise_areas(areas, levels, area_id)
    run = _Run(by, ward_id, given.levels, review_below, min_share, exceptions, fix, allow_coarse)
    run.min_coverage = min_coverage
    big = hasattr(wards, "__len__") and len(wards) >= PROGRESS_WARDS
    shown = progress if progress is not None else (None if big else False)
    with stages(_STAGES, desc="realign", enabled=shown) as run.clock.step:
        return _realign(run, wards, given, points, crs, weights, overlap_tolerance)


def _realign(
    run: _Run,
    wards: gpd.GeoDataFrame,
    given: _Areas,
    points: gpd.GeoDataFrame | gpd.GeoSeries | None,
    crs: Any,
    weights: Weights,
    overlap_tolerance: float,
) -> Realignment:
    """Run the stages of :func:`realign`, in order."""
    work, wards_w, layers = _one_crs(run, wards, given.layers, points, crs)
    w, checked = _validate_inputs(run, wards_w, layers, given.id_cols, overlap_tolerance)
    pts = _locate_demand(run, w, points, work, weights)
    fl = _overlaps(run, w, pts, checked[run.finest], given.id_cols[run.finest], run.finest)
    covered = _coverage(run, w, fl)
    coarse = _too_coarse(run, w, fl)
    fit = _assign(run, w, fl, covered)
    table, fitted = _higher_levels(run, w, pts, fl, fit, given, checked)
    settled = _nest_and_fix(run, w, pts, table)
    new_layers, report = _layers_and_checks(run, w, settled, fitted)
    return _result(run, w, pts, fitted, fit, coarse, settled, new_layers, report, work)


# ------------------------------------------------------------------------ validate inputs
def _check_options(
    by: str, demand: Any, review_below: float, min_share: float, min_coverage: float
) -> gpd.GeoDataFrame | gpd.GeoSeries | None:
    """Check the options; return the demand points (an ``Incidents``' located points)."""
    check_option("by", by, REALIGN_BY)
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
    if not 0.0 <= min_coverage <= 1.0:
        raise OptionError(f"min_coverage={min_coverage!r} must lie between 0 and 1")
    return demand


def _normalise_areas(
    areas: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    levels: Sequence[str] | None,
    area_id: str | Mapping[str, str],
) -> _Areas:
    """Levels, one layer per level given as a layer, id column per level, parents-as-columns."""

    def id_of(level: str) -> str:
        if isinstance(area_id, str):
            return area_id
        if level not in area_id:
            raise ColumnNotFoundError(
                f"area_id gives no id column for level {level!r} (it names {listing(area_id)})"
            )
        return area_id[level]

    if isinstance(areas, gpd.GeoDataFrame):
        lv = list(levels) if levels is not None else ["area"]
        if not lv:
            raise OptionError("levels is empty; name at least the level of the area layer")
        missing = [c for c in lv[1:] if c not in areas.columns]
        if missing:
            raise ColumnNotFoundError(
                f"areas: levels {lv} make {listing(lv[1:])} columns of the {lv[0]} layer, but "
                f"{listing(missing)} {'is' if len(missing) == 1 else 'are'} not among its columns "
                f"({listing(areas.columns)}); name the parent columns, or pass one layer per "
                "level as a dict {level: layer}"
            )
        return _Areas(lv, {lv[0]: areas}, {lv[0]: id_of(lv[0])}, len(lv) > 1)
    if not isinstance(areas, Mapping) or not areas:
        raise OptionError(
            "areas must be a GeoDataFrame of the smallest level or a non-empty dict "
            "{level: GeoDataFrame} ordered small to large"
        )
    lv = list(levels) if levels is not None else list(areas)
    for level in lv:
        check_option("levels", level, list(areas))
    return _Areas(lv, {k: areas[k] for k in lv}, {k: id_of(k) for k in lv}, False)


def _validate_inputs(
    run: _Run,
    wards: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    id_cols: Mapping[str, str],
    overlap_tolerance: float,
) -> tuple[_Wards, dict[str, gpd.GeoDataFrame]]:
    """Check (and repair) the wards and each area layer; measure the wards once."""
    table, msgs, union, adj = prepare_wards(
        wards,
        ward_id=run.ward_id,
        what="wards",
        overlap_tolerance=overlap_tolerance,
        gap_width=0.0,
        repair=True,
    )
    run.warnings += msgs
    checked: dict[str, gpd.GeoDataFrame] = {}
    for k, layer in layers.items():
        a, msgs = validate_areas(layer, area_id=id_cols[k], what=f"{k} layer")
        run.warnings += msgs
        checked[k] = a
    wg = np.asarray(table.geometry.values, dtype=object)
    ids = table[run.ward_id].to_numpy(dtype=object)
    run.clock.lap("validate")
    return _Wards(table, wg, ids, adj.areas(wg), union, adj), checked


# -------------------------------------------------------------------------------- one CRS
def _crs_of(frame: Any, what: str) -> CRS:
    if frame.crs is None:
        raise CRSError(
            f"{what}: the layer has no CRS; set the one its coordinates are in with "
            ".set_crs(...) (e.g. 'EPSG:27700' or 'EPSG:4326')"
        )
    return CRS.from_user_input(frame.crs)


def _one_crs(
    run: _Run,
    wards: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    demand: Any,
    crs: Any,
) -> tuple[CRS, gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
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
    if moved:
        run.note(
            "reprojected to the working CRS "
            + work.to_string()
            + ": "
            + "; ".join(f"{k} (from {c.to_string()})" for k, c in moved.items())
            + "; layers are never mixed in different CRSs",
            logged=True,
        )
    out = to_working(wards, work), {k: to_working(v, work) for k, v in layers.items()}
    run.clock.lap("crs")
    return work, *out


# ------------------------------------------------------------------------- demand points
def _locate_demand(run: _Run, w: _Wards, demand: Any, work: CRS, weights: Weights) -> _Points:
    """Locate the demand points in the wards: each point's ward, and each ward's demand."""
    if demand is None:
        run.clock.lap("locate points")
        return _Points()
    located = count_points(w.geoms, demand, crs=work, weights=weights, what="demand points")
    pts = _Points(
        located.loc,
        located.x,
        located.y,
        located.weight,
        located.incidents,
        located.demand,
        located.info["outside"],
    )
    n = len(located.x)
    if pts.outside:
        run.note(f"{pts.outside:,} of {n:,} demand point(s) lie in no ward and are not counted")
    if run.by == "demand" and not located.incidents.any():
        run.note(
            f"by='demand', but none of the {n:,} demand point(s) lies in a ward: every "
            "ward was given by area; check the points cover the same place and period"
        )
    run.clock.lap("locate points")
    return pts


# ------------------------------------------------------------------------------ overlaps
def _names(frame: gpd.GeoDataFrame, id_col: str) -> dict[str, str] | None:
    if "name" not in frame.columns or id_col == "name":
        return None
    s = frame[[id_col, "name"]].dropna()
    return {str(k): str(v) for k, v in zip(s[id_col], s["name"], strict=True)}


def _overlaps(
    run: _Run, w: _Wards, pts: _Points, layer: gpd.GeoDataFrame, id_col: str, name: str
) -> Level:
    """Measure each ward's overlap with each old area, and its best area, at one level."""
    ag = np.asarray(layer.geometry.values, dtype=object)
    wi, ai, area, covered_by = overlay(w.geoms, ag, ward_area=w.area)
    pa = None
    if pts.ward is not None and pts.x is not None and pts.y is not None:
        pa = point_areas(pts.ward, pts.x, pts.y, ag, wi, ai, area, covered_by, w.area)
    pieces = pieces_frame(wi, ai, area, w.area, len(ag), pts.ward, pa, pts.weight)
    pieces, basis = add_shares(pieces, w.area, pts.demand, run.by)
    ids = layer[id_col].to_numpy(dtype=object)
    best, _ = best_fit(pieces, ids, w.n)
    run.clock.lap("overlaps")
    return Level(
        name=name,
        ids=ids,
        area_m2=shapely.area(ag),
        geoms=ag,
        names=_names(layer, id_col),
        pieces=pieces,
        best=best,
        basis=basis,
    )


# ---------------------------------------------------------------------------- assignment
def _too_coarse(run: _Run, w: _Wards, fl: Level) -> _Coarse:
    """Refuse (or, with ``allow_coarse``, warn) when most areas would get no ward."""
    assert fl.best is not None
    finest = run.finest
    n_areas = len(fl.ids)
    used = np.unique(fl.best[fl.best >= 0])
    med_w, med_a = float(np.median(w.area)), float(np.median(fl.area_m2))
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
        if not run.allow_coarse:
            raise WardsTooCoarseError(
                "realign", [msg + "; allow_coarse=True (--allow-coarse) returns it anyway"]
            )
        run.note(msg, logged=True)
    return _Coarse(med_w, med_a, coarse)


def _coverage(run: _Run, w: _Wards, fl: Level) -> float:
    """Return the share of the wards' area the old areas cover; refuse too little.

    Each ward's part in no old area is one piece (a ward overlapping none: all of it), so the
    share is one minus their area over the wards' area.
    """
    assert fl.pieces is not None
    outside = fl.pieces.loc[fl.pieces["a"] < 0, "area_m2"].to_numpy()
    total = float(w.area.sum())
    covered = 1.0 - float(outside.sum()) / total if total > 0 else 0.0
    covered = min(max(covered, 0.0), 1.0)
    if covered < run.min_coverage:
        assert fl.geoms is not None
        none = int((fl.best < 0).sum()) if fl.best is not None else w.n
        raise ValidationError(
            "realign",
            [
                f"the old {_areas(run.finest)} cover only {100 * covered:.1f}% of the wards' area "
                f"({none} of {w.n} wards overlap none of them); realigning needs at least "
                f"{100 * run.min_coverage:g}%, or most wards would be placed by adjacency alone. "
                f"Are they the same place and CRS? Wards span {_bounds(w.union)}, the old "
                f"{_areas(run.finest)} {_bounds(shapely.union_all(fl.geoms))} (working CRS). "
                "Clip the wards to the force area, or pass min_coverage= (--min-coverage) to "
                "realign anyway"
            ],
        )
    return covered


def _bounds(geom: shapely.Geometry) -> str:
    x0, y0, x1, y1 = shapely.bounds(geom)
    return f"x {x0:,.0f}..{x1:,.0f}, y {y0:,.0f}..{y1:,.0f}"


def _assign(run: _Run, w: _Wards, fl: Level, covered: float) -> _Fit:
    """Give each ward its best area; a ward overlapping none, its neighbour's (or the nearest)."""
    assert fl.best is not None and fl.basis is not None and fl.pieces is not None
    no_overlap = fl.best < 0
    basis = fl.basis.copy()
    codes = fl.best.copy()
    if no_overlap.any():
        assert fl.geoms is not None
        codes, nearest = fill_unassigned(codes, w.adjacency, fl.ids, fl.geoms, w.geoms)
        basis[no_overlap] = "neighbour"
        basis[nearest] = "nearest"
        run.note(
            f"{int(no_overlap.sum())} ward(s) overlap none of the old {_areas(run.finest)} and "
            f"were given to a neighbour: {listing(w.ids[no_overlap])}",
            logged=True,
        )
    outside = np.zeros(w.n)
    op = fl.pieces[fl.pieces["a"] < 0]
    outside[op["w"].to_numpy()] = op["share"].to_numpy()
    partly = (outside >= run.min_share) & ~no_overlap
    if partly.any() or no_overlap.any():
        parts = []
        if partly.any():
            parts.append(
                f"{int(partly.sum())} ward(s) lie partly outside them ({listing(w.ids[partly])})"
            )
        if no_overlap.any():
            parts.append(f"{int(no_overlap.sum())} wholly ({listing(w.ids[no_overlap])})")
        run.note(
            f"the old {_areas(run.finest)} cover only {100 * covered:.1f}% of the wards' area: "
            + "; ".join(parts),
            logged=True,
        )
    return _Fit(codes, basis, no_overlap, outside, partly)


def _higher_levels(
    run: _Run,
    w: _Wards,
    pts: _Points,
    fl: Level,
    fit: _Fit,
    given: _Areas,
    checked: Mapping[str, gpd.GeoDataFrame],
) -> tuple[gpd.GeoDataFrame, dict[str, Level]]:
    """Add every higher level to the ward table, from the parent columns or the layers."""
    table = w.table.copy()
    table[run.finest] = strings(fl.ids[fit.codes])
    fitted = {run.finest: fl}
    for higher in run.levels[1:]:
        if given.parents_as_columns:
            table[higher], fitted[higher] = _parent_column(run, fl, fit, checked, higher)
        else:
            L = _overlaps(run, w, pts, checked[higher], given.id_cols[higher], name=higher)
            assert L.best is not None and L.geoms is not None
            hc, _ = fill_unassigned(L.best, w.adjacency, L.ids, L.geoms, w.geoms)
            table[higher] = strings(np.where(hc >= 0, L.ids[np.maximum(hc, 0)], None))
            fitted[higher] = L
    run.clock.lap("assign")
    return table, fitted


def _parent_column(
    run: _Run, fl: Level, fit: _Fit, checked: Mapping[str, gpd.GeoDataFrame], higher: str
) -> tuple[Any, Level]:
    """Read a higher level from a column of the smallest level's layer: per ward, and overlaps."""
    assert fl.pieces is not None
    col = checked[run.finest][higher]
    nulls = col.isna().to_numpy()
    if nulls.any():
        raise ValidationError(
            f"{run.finest} layer",
            [
                f"{int(nulls.sum())} {run.finest} area(s) have no {higher}: "
                f"{listing(fl.ids[nulls])}; every area needs its parent"
            ],
        )
    pid = col.astype("string").to_numpy(dtype=object)
    pcodes, puniq = pd.factorize(pid)
    pieces = fl.pieces.copy()
    pa_ = pieces["a"].to_numpy()
    pieces["a"] = np.where(pa_ >= 0, pcodes[np.maximum(pa_, 0)], -1)
    pieces = (
        pieces.groupby(["w", "a"])[["area_m2", "incidents", "demand", "share"]].sum().reset_index()
    )
    level = Level(
        name=higher,
        ids=np.asarray(puniq, dtype=object),
        area_m2=np.bincount(pcodes, weights=fl.area_m2, minlength=len(puniq)),
        pieces=pieces,
    )
    return strings(pid[fit.codes]), level


# ---------------------------------------------------------------- nesting and contiguity
def _nest_and_fix(run: _Run, w: _Wards, pts: _Points, table: gpd.GeoDataFrame) -> _Settled:
    """Nest every level in the next by majority; then make every area contiguous."""
    lv = run.levels
    measure = pts.measure(run.by, w.area)
    before = table[lv].copy()
    nesting = nest(table, lv, ward_id=run.ward_id, weight=measure)
    table = nesting.wards
    nest_changed = (table[lv].astype(object).to_numpy() != before.astype(object).to_numpy()).any(
        axis=1
    )
    if len(nesting.conflicts):
        run.note(
            f"{len(nesting.conflicts)} area(s) straddled several areas of the level above and "
            f"were given to the majority; {int(nest_changed.sum())} ward(s) changed: "
            f"{listing(w.ids[nest_changed])}"
        )
    run.clock.lap("nest")
    moves = pd.DataFrame()
    moved_contig = np.zeros(w.n, bool)
    fix_report = CheckReport()
    if run.fix:
        cf = fix_contiguity(
            table,
            levels=lv,
            ward_id=run.ward_id,
            exceptions=run.exceptions,
            weight=measure,
            adjacency=w.adjacency,
        )
        pre = table[lv].astype(object).to_numpy()
        table, moves, fix_report = cf.wards, cf.moves, cf.report
        moved_contig = (table[lv].astype(object).to_numpy() != pre).any(axis=1)
        if len(moves):
            run.note(
                f"{len(moves)} detached piece(s) of areas were given to the neighbour they share "
                f"most boundary with ({int(moved_contig.sum())} ward(s)): "
                + listing(f"{r['wards']} {r['from']}→{r['to']}" for _, r in moves.iterrows())
            )
    run.clock.lap("contiguity")
    return _Settled(table, nesting.conflicts, nest_changed, moves, moved_contig, fix_report)


# ------------------------------------------------------------------------ layers, checks
def _layers_and_checks(
    run: _Run, w: _Wards, settled: _Settled, fitted: Mapping[str, Level]
) -> tuple[dict[str, gpd.GeoDataFrame], CheckReport]:
    """Build every layer from its wards; run every check; add the notes as warnings."""
    names = {k: L.names for k, L in fitted.items() if L.names}
    table = settled.table
    new_layers = build_layers(table, levels=run.levels, ward_id=run.ward_id, names=names or None)
    run.clock.lap("layers")
    report = check_layers(
        table,
        new_layers,
        levels=run.levels,
        ward_id=run.ward_id,
        exceptions=run.exceptions,
        adjacency=w.adjacency,
        ward_union=w.union,
        wards_valid=True,
    )
    for p in settled.fix_report.problems:  # the fix's reason replaces the bare "in pieces" finding
        report.problems = [
            q
            for q in report.problems
            if not (q.check == p.check and q.level == p.level and q.ids[:1] == p.ids[:1])
        ]
        report.problems.append(p)
    for m in run.warnings:
        report.add("realign", run.finest, [], m, severity="warning")
    run.clock.lap("checks")
    return new_layers, report


# ------------------------------------------------------------------------------- report
def _result(
    run: _Run,
    w: _Wards,
    pts: _Points,
    fitted: Mapping[str, Level],
    fit: _Fit,
    coarse: _Coarse,
    settled: _Settled,
    new_layers: dict[str, gpd.GeoDataFrame],
    report: CheckReport,
    work: CRS,
) -> Realignment:
    """Every table of the result (assignment, changes, overlaps, summary) as a plan."""
    fl, table = fitted[run.finest], settled.table
    codes = {k: _codes_of(L.ids, table[k]) for k, L in fitted.items()}
    assignment, reasons = _assignment(run, w, pts, fl, fit, settled, codes[run.finest])
    changes, pieces = _change_tables(fitted, codes, w, pts, run.min_share)
    summary = _counts(run, w, fl, fit, settled, new_layers, reasons, assignment)
    summary |= _shifted(run, w, pts, fl, coarse, codes[run.finest])
    run.clock.lap("report")
    summary["seconds"] = dict(run.clock.laps)
    log.info(
        "realign: %d wards to %d %s areas by %s; %d moved, %d for review",
        w.n,
        summary["areas_new"],
        run.finest,
        run.by,
        summary["wards_moved"],
        summary["wards_review"],
    )
    names = area_names(new_layers, run.levels)
    return Realignment(
        wards=table,
        levels=tuple(run.levels),
        layers=new_layers,
        crosswalk=assignment,
        area_crosswalk=_pieces_crosswalk(pieces, table, run.ward_id, run.levels, names),
        changes=_named_changes(changes, names),
        review=assignment[assignment["review"].astype(bool)].copy(),
        checks=report,
        summary=summary,
        title=f"Realignment of {run.finest} areas to {w.n} wards by {run.by}",
        ward_id=run.ward_id,
        names=names,
        warnings=tuple(run.warnings),
        crs=work,
        pieces=pieces,
        conflicts=settled.conflicts,
        moves=settled.moves,
        by=run.by,
    )


def _codes_of(ids: np.ndarray, assigned: pd.Series) -> np.ndarray:
    """Return the position in ``ids`` of each ward's area."""
    pos = pd.Series(np.arange(len(ids)), index=ids)
    return pos.reindex(assigned.to_numpy(dtype=object)).to_numpy().astype(np.int64)


def _assignment(
    run: _Run, w: _Wards, pts: _Points, fl: Level, fit: _Fit, settled: _Settled, fc: np.ndarray
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """One row per ward: where it goes, its share there, the runner-up, and why to review it."""
    assert fl.pieces is not None
    table = settled.table
    share_final = _lookup_share(fl.pieces, fc, w.n)
    ru, ru_share = _runner_up(fl.pieces, fc, fl.ids, w.n)
    assignment = pd.DataFrame(index=w.table.index)
    assignment["ward"] = strings(w.ids)
    if "name" in table.columns and run.ward_id != "name":
        assignment["name"] = table["name"].astype("string").to_numpy()
    assignment[run.finest] = table[run.finest].to_numpy()
    assignment["share"] = share_final
    assignment["runner_up"] = strings(ru)
    assignment["runner_up_share"] = ru_share
    assignment["outside_share"] = fit.outside
    assignment["basis"] = strings(fit.basis)
    for higher in run.levels[1:]:
        assignment[higher] = table[higher].to_numpy()
    reasons = {
        "marginal": (share_final < run.review_below)
        & np.isin(fit.basis, ["area", "demand", "area (no demand)"]),
        "no overlap": fit.no_overlap,
        "no demand": fit.basis == "area (no demand)",
        "partly outside": fit.partly,
        "nesting": settled.nest_changed,
        "contiguity": settled.moved_contig,
    }
    reason = np.full(w.n, "", dtype=object)
    for label, mask in reasons.items():
        reason = np.where(mask, np.where(reason == "", label, reason + "; " + label), reason)
    assignment["moved"] = (1 - share_final) >= run.min_share
    assignment["review"] = reason != ""
    assignment["reason"] = strings(reason)
    if pts.incidents is not None:
        assignment["incidents"] = pts.incidents
        assignment["demand"] = pts.demand
    return assignment, reasons


def _counts(
    run: _Run,
    w: _Wards,
    fl: Level,
    fit: _Fit,
    settled: _Settled,
    new_layers: Mapping[str, gpd.GeoDataFrame],
    reasons: Mapping[str, np.ndarray],
    assignment: pd.DataFrame,
) -> dict[str, Any]:
    """Count wards, areas old and new, wards moved and why they were flagged."""
    n_areas, n_new = len(fl.ids), int(new_layers[run.finest].shape[0])
    return {
        "by": run.by,
        "levels": tuple(run.levels),
        "wards": w.n,
        "areas_old": n_areas,
        "areas_new": n_new,
        "areas_emptied": int(n_areas - n_new),
        "emptied_ids": sorted(
            set(map(str, fl.ids)) - set(new_layers[run.finest]["id"].astype(str))
        ),
        "wards_moved": int(assignment["moved"].sum()),
        "wards_review": int(assignment["review"].sum()),
        "wards_marginal": int(reasons["marginal"].sum()),
        "wards_no_overlap": int(fit.no_overlap.sum()),
        "wards_no_demand": int(reasons["no demand"].sum()),
        "wards_partly_outside": int(fit.partly.sum()),
        "nesting_conflicts": len(settled.conflicts),
        "contiguity_moves": len(settled.moves),
    }


def _shifted(
    run: _Run, w: _Wards, pts: _Points, fl: Level, coarse: _Coarse, fc: np.ndarray
) -> dict[str, Any]:
    """Area and demand that changed area, with the settings and sizes behind the figures."""
    assert fl.pieces is not None
    fp = fl.pieces
    kept = fp["a"].to_numpy() == fc[fp["w"].to_numpy()]
    out: dict[str, Any] = {
        "area_m2": float(w.area.sum()),
        "area_shifted_m2": float(w.area.sum()) - float(fp.loc[kept, "area_m2"].sum()),
        "review_below": run.review_below,
        "min_share": run.min_share,
        "coarse": bool(coarse.coarse),
        "median_ward_m2": coarse.median_ward_m2,
        "median_area_m2": coarse.median_area_m2,
        "demand_total": None,
        "demand_shifted": None,
        "demand_shifted_pct": None,
        "demand_outside_wards": pts.outside if pts.incidents is not None else None,
    }
    if pts.demand is not None:
        total = float(pts.demand.sum())
        shifted = total - float(fp.loc[kept, "demand"].sum())
        out["demand_total"] = total
        out["demand_shifted"] = shifted
        out["demand_shifted_pct"] = 100 * shifted / total if total else 0.0
    return out


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


def _change_tables(
    fitted: Mapping[str, Level],
    codes: Mapping[str, np.ndarray],
    w: _Wards,
    pts: _Points,
    min_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the change report (a row per old area and level) and the pieces behind it."""
    frames = [_level_changes(k, L, codes[k], w, pts, min_share) for k, L in fitted.items()]
    return (
        pd.concat([f for f, _ in frames], ignore_index=True),
        pd.concat([p for _, p in frames], ignore_index=True),
    )


def _level_changes(
    k: str, L: Level, fc: np.ndarray, w: _Wards, pts: _Points, min_share: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One level's rows of the change report, and of the pieces."""
    assert L.pieces is not None
    n = len(L.ids)
    p = L.pieces
    pw_, pa_ = p["w"].to_numpy(), p["a"].to_numpy()
    assigned = pa_ == fc[pw_]
    real = pa_ >= 0
    retained = np.bincount(
        pa_[assigned & real], weights=p["area_m2"].to_numpy()[assigned & real], minlength=n
    )
    n_wards = np.bincount(fc, minlength=n)
    share = p["share"].to_numpy()
    gained = pd.DataFrame({"a": fc, "ward": w.ids})
    gained = gained[(1 - _lookup_share(p, fc, w.n)) >= min_share]
    lost = p[real & ~assigned & (share >= min_share)]
    lost = pd.DataFrame({"a": lost["a"].to_numpy(), "ward": w.ids[lost["w"].to_numpy()]})
    n_gained, ids_gained = _join_ids(gained, "a", n)
    n_lost, ids_lost = _join_ids(lost, "a", n)
    f = pd.DataFrame(
        {
            "level": k,
            "id": strings(L.ids.astype(str)),
            "status": np.where(n_wards > 0, "kept", "emptied"),
            "area_old_m2": L.area_m2,
            "area_new_m2": np.bincount(fc, weights=w.area, minlength=n),
            "retained": retained / np.maximum(L.area_m2, 1e-300),
        }
    )
    if pts.incidents is not None and pts.demand is not None:
        f["incidents_old"] = np.bincount(
            pa_[real], weights=p["incidents"].to_numpy()[real], minlength=n
        ).astype(np.int64)
        f["incidents_new"] = np.bincount(fc, weights=pts.incidents, minlength=n).astype(np.int64)
        f["demand_old"] = np.bincount(pa_[real], weights=p["demand"].to_numpy()[real], minlength=n)
        f["demand_new"] = np.bincount(fc, weights=pts.demand, minlength=n)
    f["n_wards"] = n_wards
    f["n_gained"] = n_gained
    f["n_lost"] = n_lost
    f["wards_gained"] = strings(ids_gained)
    f["wards_lost"] = strings(ids_lost)
    pieces = pd.DataFrame(
        {
            "level": k,
            "ward": strings(w.ids[pw_]),
            "area": strings(np.where(real, L.ids[np.maximum(pa_, 0)], None)),
            "area_m2": p["area_m2"].to_numpy(),
            "incidents": p["incidents"].to_numpy(),
            "demand": p["demand"].to_numpy(),
            "share": share,
            "assigned": assigned,
        }
    )
    return f, pieces


def _named_changes(changes: pd.DataFrame, names: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """Add each area's name and, with demand, its deviation from the level's mean."""
    changes = changes.copy()
    named = [
        names.get(lv, {}).get(str(i)) for lv, i in zip(changes["level"], changes["id"], strict=True)
    ]
    changes.insert(2, "name", pd.Series(named, index=changes.index, dtype="string"))
    for col, src in (("deviation_pct_old", "demand_old"), ("deviation_pct", "demand_new")):
        if src in changes.columns:
            changes[col] = changes.groupby("level")[src].transform(deviation_pct)
    return changes


def _pieces_crosswalk(
    pieces: pd.DataFrame,
    wards: pd.DataFrame,
    ward_id: str,
    levels: Sequence[str],
    names: Mapping[str, Mapping[str, str]],
) -> pd.DataFrame:
    """Old area -> new area, from the overlap pieces."""
    frames = []
    for lv in levels:
        p = pieces[pieces["level"] == lv]
        if not len(p):
            continue
        new = pd.Series(wards[lv].to_numpy(), index=wards[ward_id].astype(str).to_numpy())
        df = pd.DataFrame(
            {
                "old_id": p["area"].astype("string").fillna("(none)").to_numpy(),
                "new_id": new.reindex(p["ward"].astype(str).to_numpy()).to_numpy(),
                "ward": p["ward"].to_numpy(),
                "area_m2": p["area_m2"].to_numpy(dtype=float),
            }
        )
        inc = pd.to_numeric(p["incidents"], errors="coerce").fillna(0).to_numpy()
        m = names.get(lv, {})
        x = area_crosswalk(lv, df["old_id"], df["new_id"], df["ward"], df["area_m2"], inc, m, m)
        frames.append(x)
    if not frames:
        return pd.DataFrame(columns=["level", "old_id", "old_name", "new_id", "new_name"])
    return pd.concat(frames, ignore_index=True)
