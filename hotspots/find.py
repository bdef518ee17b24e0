"""Find crime hotspots: select the incidents, run one method, rank and describe the result.

:func:`find_hotspots` is a recipe of named stages, each in the module of its job:

1. the method and its options (:mod:`beatplan.hotspots.registry`), refused at once when an
   option does not apply;
2. the incidents checked and projected (:mod:`beatplan.hotspots.points`);
3. the date, crime-type and area filters (:mod:`beatplan.hotspots.select`) and the weights
   (:mod:`beatplan.hotspots.weights`), giving a :class:`~beatplan.hotspots.study.Study`;
4. the data-driven defaults, each with its rule (the method's ``resolved``);
5. the method's run (:mod:`beatplan.hotspots.grid_methods`,
   :mod:`beatplan.hotspots.cluster_methods`, with :mod:`beatplan.hotspots.background`);
6. the ranked, described hotspots (:func:`beatplan.hotspots.result.assemble`).

Every data-driven default is recorded in ``Hotspots.params["how"]`` with the rule and what it
found.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from beatplan.geo.errors import EmptyInputError, ValidationError, check_option
from beatplan.hotspots.grid import MAX_CELLS, extent
from beatplan.hotspots.method import Found, HotspotMethod
from beatplan.hotspots.points import checked_points, incident_points
from beatplan.hotspots.registry import DEFAULT_METHOD, hotspot_method, refuse_weights
from beatplan.hotspots.result import RANK_BY, Hotspots, assemble, fitting, with_params
from beatplan.hotspots.select import area_polygon, month_numbers, select_incidents
from beatplan.hotspots.study import Study
from beatplan.hotspots.study_area import (
    StudyArea,
    as_study_area,
    check_coverage,
    locate_study_area,
)
from beatplan.hotspots.weights import hotspot_weights, selected_weights

__all__ = ["find_hotspots"]

log = logging.getLogger("beatplan")


def find_hotspots(
    incidents: Any,
    *,
    method: str | HotspotMethod = DEFAULT_METHOD,
    since: str | pd.Timestamp | None = None,
    months: Any = None,
    types: str | Sequence[str] | None = None,
    area: Any = None,
    study_area: Any = None,
    coverage: float | str | None = None,
    top: int | None = None,
    boundaries: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
    id_col: str = "id",
    weights: str | NDArray[np.float64] | None = None,
    halflife: str | None = None,
    min_incidents: int | None = None,
    rank_by: str | None = None,
    max_cells: int = MAX_CELLS,
    **options: Any,
) -> Hotspots:
    """Find hotspots in geocoded incidents.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or geopandas.GeoDataFrame
        Point incidents with a CRS; ``month``, ``timestamp`` and ``category`` columns are
        used when present. Lon/lat input is reprojected to the working CRS.
    method : {"spots", "gistar", "kde", "dbscan", "hdbscan"} or HotspotMethod
        A method's name, or a method with its options
        (:func:`beatplan.hotspots.registry.hotspot_method`, e.g. ``KDEMethod(bandwidth=300)``).
        Default ``"spots"`` (:mod:`beatplan.hotspots.spots`): the busiest places at the scale
        of the data's map points, the map that beat the naive baseline in every backtest
        fold on the real forces (see the README). See the method options below.
    since, months, types, area
        Filters; see :func:`beatplan.hotspots.select_incidents`.
    study_area : GeoDataFrame, GeoSeries, polygon, mapping or BoundaryPlan, optional
        The force area (its wards, or a plan: its ``force`` layer) that hotspots are looked
        for in; coverage is a share of it. Default: derived from all the incidents given,
        robust to stray far-away points
        (:func:`beatplan.hotspots.study_area.derive_study_area`). With ``area=``, the study
        area is ``area`` (inside ``study_area`` when both are given). Incidents outside it
        are counted (``params["outside_study_area"]``, ``messages``) and left out. It does
        not change a method's statistics (``area=`` limits Gi*'s region, a study area
        does not).
    coverage : float or str, optional
        The share of the study area the hotspots may cover (0-1, e.g. ``0.005``, or text
        as on the command line: ``"0.005"`` or ``"0.5%"``). Methods
        that rank cells (spots, kde) take their hottest cells up to it; the others keep their
        hotspots in rank order while they fit. Default: the method's own threshold (for
        spots, the spots with an incident a month), the coverage an outcome, recorded in
        ``params["coverage"]``.
    top : int, optional
        Keep the ``top`` first-ranked hotspots ("the 20 places that matter").
    boundaries : GeoDataFrame or mapping, optional
        Areas to name for each hotspot (a ward table with ``beat``/``sector``/``npa``
        columns, a layer, or ``{"beat": beats, "npa": npas}``); see
        :func:`beatplan.hotspots.result.locate_in`.
    id_col : str
        Id column of ``boundaries``.
    weights : str or array, optional
        A column (or array) of per-incident weights, e.g. harm weights; spots, Gi*, KDE and
        DBSCAN run on weighted counts, while ``incidents`` still counts incidents. Not
        HDBSCAN, which counts whole incidents.
    halflife : str, optional
        Weight incidents by recency: ``0.5 ** (age / halflife)``, e.g. ``"30D"`` (not HDBSCAN).
    min_incidents : int, optional
        A hotspot holds at least this many incidents. Default: spots 1; the others the
        smallest count that fewer than 0.1 % of the method's neighbourhoods (a disc of
        radius ``band``, ``bandwidth`` or ``eps``) would reach if the incidents were spread
        at random over the study region (Poisson), and at least 5.
    rank_by : {"excess", "incidents", "density", "score"}, optional
        Ranking of the hotspots. ``"incidents"`` (the default of spots); ``"excess"`` (the
        default of Gi*, KDE, DBSCAN and HDBSCAN): incidents beyond what the hotspot's area
        would hold at the study region's mean density — a large sparse area ranks below a
        small busy one; ``"score"``: the method's peak (spots: the incidents within a
        radius of its busiest cell; z, density or cluster density). Default: the method's.
    max_cells : int
        Refuse grids larger than this.
    **options
        The method's options, below. One that the method does not take is an error, raised
        before any work, naming the methods it applies to (None counts as not given).

    Other Parameters
    ----------------
    spacing : float, optional
        spots. The spacing of the map points (metres): a spot's radius is a quarter of it,
        and hot patches closer than it are one hotspot. Default: the median
        nearest-neighbour distance between the distinct locations of the months on the
        current set of map points, corrected by Chao1 for the points not used yet.
    threshold : float
        spots: without ``coverage``, the spots holding at least this many incidents are hot
        (default: the number of months in the data, an incident a month). kde: hot cells
        have a density at least ``threshold`` (3) x the mean cell of the study region.
    cell : float, optional
        Every method. Grid cell side in metres (spots: the outline cells, default a quarter
        of the radius; for the density clusters, of the grid of their study region). Default
        (Gi*, KDE, DBSCAN, HDBSCAN): the upper quartile of the nearest-neighbour distances
        between distinct incident locations, rounded to a nice number.
    alpha, fdr : float, bool
        gistar, kde, dbscan, hdbscan. Significance level (0.05) and Benjamini–Hochberg
        control (True) of Gi* and of the background test.
    background : float or None
        gistar, kde, dbscan, hdbscan. A hot cell must also stand out from its own
        surroundings. Its neighbourhood (the cells within ``band``, or ``bandwidth`` for
        KDE) must hold significantly more incidents than a Poisson count at the mean of the
        ring out to ``background`` times that radius: one-sided at ``alpha``, with
        Benjamini–Hochberg over the region when ``fdr`` (see
        :mod:`beatplan.hotspots.background`). Gi* and the KDE threshold compare every cell
        with the whole region's mean, so a town is one hot run of cells; this keeps the
        town's peaks and cuts the ordinary streets between them.
        Default 4; ``None`` for the method alone.

        DBSCAN and HDBSCAN: the same test picks the locations clustered: those whose
        cell's ``eps`` disc exceeds the mean of the ring out to ``background * eps``.
        DBSCAN's min_samples and the Poisson rules compare with the whole region's
        mean, so without it a dense town is one cluster (53 km² for DBSCAN, 62 km² for
        HDBSCAN on Leicestershire, October 2022; 1.9 and 0.9 km² with it). HDBSCAN's
        clusters are also split where their members are more than ``eps`` apart.
    band : float, optional
        gistar. Distance band in metres. Default: the median distance from each distinct
        location to its 8th nearest, and at least one cell diagonal (so a cell's 8
        neighbours count).
    permutations, seed : int, int or numpy.random.Generator
        gistar. Conditional randomisation draws (0: analytic) and their seed. With FDR over
        many cells use many draws: the smallest pseudo p-value is 2 / (permutations + 1).
    bandwidth : float or {"nn", "silverman"}, optional
        kde. Kernel radius in metres or a rule (default ``"nn"``, see
        :mod:`beatplan.hotspots.kde`).
    kernel : {"quartic", "gaussian"}
        kde.
    connectivity : {4, 8}
        gistar, kde. Hot cells touching by an edge (4) or also a corner (8) are one hotspot.
    eps, min_samples : float
        dbscan, hdbscan. Radius (metres; default as ``band``) and core weight (incidents
        within ``eps``, itself included). DBSCAN's default ``min_samples``: the smallest
        count that fewer than 0.1 % of ``eps``-discs would reach if the incidents were
        spread at random over the study region (Poisson), and at least 5; with
        ``background`` it applies to the locations that pass the background test. HDBSCAN's:
        its own (``min_cluster_size``).
    min_cluster_size : int, optional
        hdbscan. The smallest cluster (incidents); default as DBSCAN's ``min_samples``.
    buffer : float, optional
        dbscan, hdbscan. Metres added around a cluster's hull; default half the default cell.

    Returns
    -------
    Hotspots

    Raises
    ------
    beatplan.geo.errors.BeatplanError
        Bad input, each with a message saying what was expected and how to fix it: no CRS,
        NaN or missing locations, an empty selection, one incident, all incidents at one
        place, a distance that looks like degrees, an unknown method or crime type, an
        option of another method.

    Examples
    --------
    A small synthetic county (its incidents' true x/y in EPSG:27700):

    >>> import geopandas as gpd
    >>> from beatplan.geo import make_sample
    >>> county = make_sample(seed=1, n_wards=60, incidents=5000)
    >>> t = county.incident_truth.dropna(subset=["x"])
    >>> pts = gpd.GeoDataFrame({"category": county.incidents.loc[t.index, "Crime type"]},
    ...                        geometry=gpd.points_from_xy(t.x, t.y), crs=27700)
    >>> hs = find_hotspots(pts, method="gistar")
    >>> int(hs.areas["hotspot"].iloc[0]), len(hs.labels) == len(pts)
    (1, True)
    """
    coverage = check_coverage(coverage)  # a share, or text: "0.005" or "0.5%"
    spec = _requested(method, options, weights=weights, halflife=halflife,
                      min_incidents=min_incidents, rank_by=rank_by, top=top)  # fmt: skip
    rank = rank_by or spec.rank_by
    original = incident_points(incidents)
    points, xy = checked_points(original, "incidents")
    crs = CRS.from_user_input(points.crs)
    spec = spec.checked(crs)
    selected = _select(points, xy, n_input=len(original), since=since, months=months,
                       types=types, area=area, study_area=study_area, weights=weights,
                       halflife=halflife, max_cells=max_cells,
                       dated=spec.needs_months)  # fmt: skip
    spec, defaults = spec.resolved(selected.study)
    found = spec.run(selected.study, min_incidents=min_incidents,
                     coverage=coverage if spec.takes_coverage else None)  # fmt: skip
    params = _record(spec, selected, defaults, found, crs=crs, source_crs=original.crs,
                     rank_by=rank, weights=weights, halflife=halflife)  # fmt: skip
    result = assemble(
        selected.points, found.raw, found.polygons, scores=found.scores, input_index=original.index,
        keep=selected.keep, params=params, min_incidents=params["min_incidents"], rank_by=rank,
        boundaries=boundaries, id_col=id_col, surface=found.surface, messages=selected.messages,
        study_area=selected.study.study_area,
    )  # fmt: skip
    result = _limited(result, spec, coverage=coverage, top=top)
    log.info("%s: %d hotspots from %d incidents", spec.name, len(result), selected.study.n)
    return result


def _requested(
    method: str | HotspotMethod,
    options: dict[str, Any],
    *,
    weights: Any,
    halflife: str | None,
    min_incidents: int | None,
    rank_by: str | None,
    top: int | None,
) -> HotspotMethod:
    """Return the method with its options, every option checked before any work."""
    spec = hotspot_method(method, **options)
    refuse_weights(spec, weights=weights, halflife=halflife)
    if rank_by is not None:
        check_option("rank_by", rank_by, RANK_BY)
    if min_incidents is not None and min_incidents < 1:
        raise ValidationError("min_incidents", [f"min_incidents={min_incidents!r} must be >= 1"])
    if top is not None and (isinstance(top, bool) or not float(top).is_integer() or top < 1):
        raise ValidationError("top", [f"top={top!r}: give a whole number of hotspots, 1 or more"])
    return spec


@dataclass(frozen=True)
class _Selected:
    """The selected incidents: their rows, the study a method runs on, and how they were chosen."""

    points: gpd.GeoDataFrame
    keep: NDArray[np.bool_]
    applied: dict[str, Any]
    how: dict[str, str]
    study: Study
    outside: int
    messages: list[str]


def _select(
    points: gpd.GeoDataFrame,
    xy_all: NDArray[np.float64],
    *,
    n_input: int,
    since: Any,
    months: Any,
    types: Any,
    area: Any,
    study_area: Any,
    weights: Any,
    halflife: str | None,
    max_cells: int,
    dated: bool = False,
) -> _Selected:
    """Filter the incidents, keep those in the study area, weigh them (or refuse too few).

    ``dated``: the method reads the incidents' months.
    """
    keep, applied, notes = select_incidents(
        points, since=since, months=months, types=types, area=area, xy=xy_all
    )
    crs = CRS.from_user_input(points.crs)
    sa, region, inside = _study_area(area, study_area, crs, xy_all)
    outside = int((keep & ~inside).sum())
    if outside == int(keep.sum()):
        raise EmptyInputError(
            f"none of the {outside:,} selected incidents lies inside the study area "
            f"({sa.describe()}); check that it covers the incidents and shares their CRS"
        )
    keep = keep & inside
    messages = []
    if outside:
        messages.append(
            f"{outside:,} selected incident{'s' if outside != 1 else ''} outside the study "
            f"area ({sa.describe()}) left out"
        )
        log.info("%s", messages[-1])
    everything = bool(keep.all())
    sel = points if everything else points[keep]
    how = {"filters": "; ".join(notes) if notes else "none: every incident"}
    n = len(sel)
    if n < 2:
        raise EmptyInputError(
            f"the selection holds 1 incident (of {len(points):,}); hotspots need at least 2 — "
            "widen the date window, types or area"
        )
    xy = xy_all if everything else xy_all[keep]
    ext = extent(xy)
    if ext[:2] == ext[2:]:
        raise EmptyInputError(
            f"all {n:,} selected incidents lie at one location ({ext[0]:.1f}, {ext[1]:.1f}); a "
            "hotspot stands out from its surroundings, so at least 2 distinct locations are "
            "needed (widen the selection)"
        )
    w, wnotes = hotspot_weights(sel, selected_weights(weights, n_input, keep), halflife)
    if wnotes:
        how["weights"] = "; ".join(wnotes)
    month_index, spanned = month_numbers(sel) if dated else (None, 0)
    study = Study(xy, weights=w, area=region, max_cells=max_cells, study_area=sa,
                  months=month_index, months_spanned=spanned)  # fmt: skip
    how["incidents"] = f"{n:,} of {len(points):,} incidents after the filters" + (
        f" and inside the study area ({outside:,} outside it left out)" if outside else ""
    )
    return _Selected(sel, keep, applied, how, study, outside, messages)


def _study_area(
    area: Any, study_area: Any, crs: CRS, xy: NDArray[np.float64]
) -> tuple[StudyArea, shapely.Geometry | None, NDArray[np.bool_]]:
    """Return the study area, the region the methods' grids are limited to, who lies inside.

    ``area=`` is the area studied (inside ``study_area`` when both are given) and limits the
    methods' region; a study area alone (given or derived) leaves the methods' statistics
    as they are: it only sets which incidents count and what coverage is a share of.
    """
    if area is None:
        sa, inside = locate_study_area(study_area, crs, xy)
        return sa, None, inside
    geom = area_polygon(area, crs)
    if study_area is None:
        sa = StudyArea(geom, "the area= given")
    else:
        given = as_study_area(study_area, crs)
        geom = shapely.intersection(geom, given.geometry)
        if geom.is_empty or geom.area <= 0:
            raise EmptyInputError("area= lies outside the study area given; check both")
        sa = StudyArea(geom, f"the area= given, inside the study area {given.how}")
    return sa, sa.geometry, sa.inside(xy)


def _limited(
    result: Hotspots, spec: HotspotMethod, *, coverage: float | None, top: int | None
) -> Hotspots:
    """Keep the hotspots within ``coverage`` (methods without their own) and the ``top``."""
    n = len(result)
    how = result.params["how"]
    if coverage is not None and not spec.takes_coverage:
        n = fitting(result.areas.geometry.values, result.study_area, coverage)
        how["coverage"] = (
            f"asked {coverage:g}: the hotspots in rank order while they cover at most that "
            f"share of the study area ({n:,} of {len(result):,})"
        )
    if top is not None and top < n:
        n = int(top)
    if top is not None:
        how["top"] = f"given: the {int(top):,} first-ranked hotspots at most"
    limited = result.first(n)
    covered = limited.coverage
    how.setdefault(
        "coverage",
        f"asked {coverage:g}" if coverage is not None else "the method's own threshold",
    )
    how["coverage"] += f"; the hotspots cover {covered:.3%} of the study area"
    extra = {} if top is None else {"top": int(top)}
    return with_params(limited, coverage=round(covered, 8), **extra)


def _record(
    spec: HotspotMethod,
    selected: _Selected,
    defaults: dict[str, str],
    found: Found,
    *,
    crs: CRS,
    source_crs: Any,
    rank_by: str,
    weights: Any,
    halflife: str | None,
) -> dict[str, Any]:
    """Every parameter used, in order, with ``params["how"]``: how each was chosen."""
    params: dict[str, Any] = {"method": spec.name, "crs": crs.to_string(), **selected.applied}
    sa = selected.study.study_area
    assert sa is not None  # always set by _select
    params["study_area_km2"] = round(sa.km2, 6)
    params["outside_study_area"] = selected.outside
    params["incidents"] = selected.study.n
    if selected.study.located:
        params["locations"] = int(len(selected.study.locations[0]))
    params.update(found.params)
    params.update(rank_by=rank_by, connectivity=spec.connected_by())
    if weights is not None:
        params["weights"] = weights if isinstance(weights, str) else "array"
    if halflife is not None:
        params["halflife"] = halflife
    how = {**selected.how, **defaults, **found.how}
    how["study_area_km2"] = sa.how
    how["outside_study_area"] = "selected incidents outside the study area, left out (counted)"
    for key in selected.applied:
        how.setdefault(key, "given")
    source = CRS.from_user_input(source_crs)
    how.setdefault(
        "crs",
        "the incidents' CRS"
        if source.equals(crs)
        else f"the working CRS (the incidents are in {source.to_string()})",
    )
    how.setdefault("locations", "distinct incident locations in the selection (counted)")
    for key in params:
        how.setdefault(key, "given" if key == "method" else "default")
    params["how"] = how
    return params
