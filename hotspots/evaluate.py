"""Score hotspots by how well they predict later incidents: hit rate, PAI and RRI.

:func:`evaluate` scores one set of hotspot polygons against later incidents. :func:`backtest`
is the rolling evaluation of Chainey, Tompson & Uhlig (2008): for each period, each method is
fitted on the previous ``train_months`` months, its grid cells are ranked by its own score
and the best-ranked cells are taken until they cover a given share of the study area — the
same share for every method, so that methods are compared at **equal area coverage** — and
the next ``test_months`` months' incidents are counted inside them. A naive baseline (the
busiest 100 m cells of the training months) runs alongside.

Measures, for a selected area holding ``h`` of the ``N`` test incidents and covering ``a``
of the study area ``A``:

* hit rate ``h / N``;
* PAI, the predictive accuracy index, ``(h / N) / (a / A)``;
* RRI, the recapture rate index (Levine 2008), ``(h / h_train) / (N / N_train)``: how the
  selected area's count changed relative to the whole area's.

Ties at the coverage margin are shared: when only part of a group of equally ranked cells
fits, each of them counts for that fraction (the expected result of breaking the tie at
random), so no method gains from an arbitrary tie-break.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from scipy import ndimage, stats

from beatplan.geo.errors import CRSError, EmptyInputError, ValidationError, check_option
from beatplan.hotspots.find import find_hotspots
from beatplan.hotspots.grid import Grid
from beatplan.hotspots.grid_methods import GridMethod
from beatplan.hotspots.method import HotspotMethod
from beatplan.hotspots.points import coordinates, prepare_incidents
from beatplan.hotspots.registry import METHODS, hotspot_method
from beatplan.hotspots.result import Hotspots
from beatplan.hotspots.study import Study
from beatplan.hotspots.weights import hotspot_weights, weight_scale

__all__ = ["BASELINE", "RANKINGS", "backtest", "evaluate", "rank_cells"]

log = logging.getLogger("beatplan")

#: Name of the naive baseline in :func:`backtest` output.
BASELINE = "naive"
#: How a method's grid cells are ranked in :func:`backtest`.
RANKINGS = ("score", "count", "hot-count")


# --------------------------------------------------------------------------- evaluate


def _area(study_area: Any, crs: CRS, what: str = "study_area") -> shapely.Geometry:
    if isinstance(study_area, gpd.GeoDataFrame | gpd.GeoSeries):
        if study_area.crs is None:
            raise CRSError(f"{what}: the layer has no CRS; set it with .set_crs(...)")
        if len(study_area) == 0:
            raise EmptyInputError(f"{what}: the layer is empty")
        layer = study_area.to_crs(crs)
        geom = shapely.union_all(layer.geometry.values)
    elif isinstance(study_area, shapely.Geometry):
        geom = study_area
    else:
        raise ValidationError(
            what,
            [f"expected a polygon, GeoSeries or GeoDataFrame, found {type(study_area).__name__}"],
        )
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon") or geom.area <= 0:
        raise ValidationError(what, ["expected a polygon with a positive area"])
    return geom


def evaluate(
    hotspots: Hotspots | gpd.GeoDataFrame | gpd.GeoSeries,
    later_incidents: Any,
    study_area: Any = None,
    *,
    earlier: Any = None,
) -> pd.Series:
    """Hit rate, PAI and RRI of hotspot polygons against later incidents.

    Parameters
    ----------
    hotspots : Hotspots, GeoDataFrame or GeoSeries
        The hotspots (their union is the selected area).
    later_incidents : beatplan.geo.Incidents or GeoDataFrame
        The incidents of the following period.
    study_area : polygon, GeoSeries or GeoDataFrame, optional
        The area the hotspots were chosen from (the force or beat); only incidents inside it
        count. Default: the convex hull of the earlier and later incidents.
    earlier : beatplan.geo.Incidents or GeoDataFrame, optional
        The incidents the hotspots were found from, for RRI; taken from a ``Hotspots``
        result when not given.

    Returns
    -------
    pandas.Series
        ``incidents`` (later, inside the study area), ``hits``, ``hit_rate``, ``area_m2``
        (hotspots inside the study area), ``study_area_m2``, ``area_share``, ``pai``,
        ``earlier_incidents``, ``earlier_hits`` and ``rri`` (NaN without earlier incidents).

    Examples
    --------
    >>> import geopandas as gpd, shapely                              # doctest: +SKIP
    >>> evaluate(hs, next_month, force_area)["pai"]                   # doctest: +SKIP
    """
    if isinstance(hotspots, Hotspots):
        polys = hotspots.areas.geometry
        if earlier is None:
            earlier = hotspots.points
    elif isinstance(hotspots, gpd.GeoDataFrame):
        polys = hotspots.geometry
    elif isinstance(hotspots, gpd.GeoSeries):
        polys = hotspots
    else:
        raise ValidationError(
            "hotspots",
            [
                "expected a Hotspots result, GeoDataFrame or GeoSeries, found "
                f"{type(hotspots).__name__}"
            ],
        )
    if polys.crs is None:
        raise CRSError("hotspots: the polygons have no CRS")
    crs = CRS.from_user_input(polys.crs)
    later = prepare_incidents(later_incidents, what="later_incidents").to_crs(crs)
    before = None if earlier is None else prepare_incidents(earlier, what="earlier").to_crs(crs)
    if study_area is None:
        pts = [later.geometry.values] + ([] if before is None else [before.geometry.values])
        area = shapely.convex_hull(shapely.union_all(np.concatenate(pts)))
        if area.area <= 0:
            raise ValidationError("study_area", ["the incidents span no area; give study_area"])
    else:
        area = _area(study_area, crs)
    shapely.prepare(area)
    hot = shapely.intersection(shapely.union_all(polys.values), area)
    shapely.prepare(hot)

    def count(points: gpd.GeoDataFrame) -> tuple[int, int]:
        x, y = shapely.get_x(points.geometry.values), shapely.get_y(points.geometry.values)
        inside = shapely.intersects_xy(area, x, y)
        hits = shapely.intersects_xy(hot, x[inside], y[inside]) if not hot.is_empty else []
        return int(inside.sum()), int(np.sum(hits))

    n, h = count(later)
    if n == 0:
        raise EmptyInputError("later_incidents: none lies inside the study area")
    a_hot, a_all = float(hot.area), float(area.area)
    hit_rate = h / n
    share = a_hot / a_all
    out = {
        "incidents": n,
        "hits": h,
        "hit_rate": hit_rate,
        "area_m2": a_hot,
        "study_area_m2": a_all,
        "area_share": share,
        "pai": hit_rate / share if share > 0 else math.nan,
        "earlier_incidents": math.nan,
        "earlier_hits": math.nan,
        "rri": math.nan,
    }
    if before is not None:
        n0, h0 = count(before)
        out["earlier_incidents"], out["earlier_hits"] = n0, h0
        if n0 and h0:
            out["rri"] = (h / h0) / (n / n0)
    return pd.Series(out, name="evaluation")


# --------------------------------------------------------------------------- backtest


@dataclass(frozen=True)
class _Frame:
    """The fixed geometry of a backtest at one cell size: grid, region and cell of each point."""

    grid: Grid
    mask: NDArray[np.bool_]
    flat: NDArray[np.int64]  # cell of each incident (all periods), -1 outside


def _frame(
    cell: float, area: shapely.Geometry, xy: NDArray[np.float64], inside: NDArray[np.bool_]
) -> _Frame:
    grid = Grid.covering(area.bounds, cell, max_cells=64_000_000)
    xs, ys = grid.centres()
    shapely.prepare(area)
    centre_in = shapely.intersects_xy(area, xs.ravel(), ys.ravel()).reshape(grid.shape)
    ring = ndimage.binary_dilation(centre_in) & ~centre_in
    cand = np.flatnonzero(ring.ravel())
    touches = shapely.intersects(grid.boxes(cand), area)
    mask = centre_in.copy()
    mask.ravel()[cand[touches]] = True
    flat = np.full(len(xy), -1, dtype=np.int64)
    flat[inside] = grid.locate(xy[inside])
    return _Frame(grid, mask, flat)


def rank_cells(
    score: NDArray[np.float64],
    train: NDArray[np.float64],
    test: NDArray[np.float64],
    cells: float | Sequence[float],
) -> tuple[float, float] | list[tuple[float, float]]:
    """Test and training incidents inside the ``cells`` best-scored cells, sharing ties.

    Parameters
    ----------
    score : ndarray
        One score per candidate cell (higher is better; ``-inf`` and NaN never chosen).
    train, test : ndarray
        Incidents per cell in the training and test periods.
    cells : float or sequence of float
        How many cells to take (may be fractional); several at once share one sort.

    Returns
    -------
    (test_hits, train_hits) or a list of them
        Expected counts when ties at the margin are broken at random.

    Examples
    --------
    >>> import numpy as np
    >>> s = np.array([3.0, 2.0, 2.0, 1.0]); t = np.array([5.0, 4.0, 0.0, 9.0])
    >>> rank_cells(s, t, t, 2.0)     # cell 0, then half of the tied cells 1 and 2
    (7.0, 7.0)
    """
    score = np.asarray(score, dtype=float)
    avail = np.isfinite(score)
    s, tr, te = score[avail], np.asarray(train)[avail], np.asarray(test)[avail]
    m = len(s)
    ordered = -np.sort(-s)
    single = not isinstance(cells, Sequence | np.ndarray)
    wanted = [float(c) for c in np.atleast_1d(np.asarray(cells, dtype=float))]
    out: list[tuple[float, float]] = []
    for c in wanted:
        k = min(c, float(m))
        if k <= 0:
            out.append((0.0, 0.0))
            continue
        thr = ordered[int(math.ceil(k - 1e-9)) - 1]
        above = s > thr
        tied = s == thr
        frac = (k - above.sum()) / tied.sum()
        out.append(
            (
                float(te[above].sum() + frac * te[tied].sum()),
                float(tr[above].sum() + frac * tr[tied].sum()),
            )
        )
    return out[0] if single else out


def backtest(
    incidents: Any,
    method: str | Sequence[str] = "all",
    *,
    train_months: int = 3,
    test_months: int = 1,
    coverage: Sequence[float] = (0.005, 0.01, 0.03),
    study_area: Any = None,
    baseline_cell: float = 100.0,
    cell: float | None = None,
    halflife: str | None = None,
    rank: str = "score",
    step: int = 1,
    params: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """Evaluate hotspot methods month by month at equal area coverage, beside a naive baseline.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or GeoDataFrame
        Incidents with a ``month`` (or ``timestamp``) column.
    method : str or list of str
        ``"gistar"``, ``"kde"``, ``"dbscan"``, ``"hdbscan"``, a list of them, or ``"all"``.
        The naive baseline is always included.
    train_months, test_months : int
        Months fitted on and months predicted; the window moves on by ``step`` months.
    coverage : sequence of float
        Shares of the study area at which every method is scored (0.01 = 1 %).
    study_area : polygon, GeoSeries or GeoDataFrame, optional
        The force area. Default: the convex hull of all incidents. Incidents outside it are
        ignored; the area is the PAI denominator.
    baseline_cell : float
        Cell of the naive baseline (metres): it ranks cells by their training count.
    cell : float, optional
        Cell of the methods' grids. Default: each fold's data-driven cell, the default of
        :func:`find_hotspots` (:func:`beatplan.hotspots.grid.default_cell`).
    halflife : str, optional
        Recency weighting of the training incidents for the methods (e.g. ``"30D"``);
        HDBSCAN, which counts whole incidents, is fitted unweighted.
    rank : {"score", "count", "hot-count"}
        How a method's cells are ranked: by its score (Gi* z, kernel density, the density of
        the cluster a cell lies in); ``"count"``: by the (weighted) training count of the
        cell, ties broken by the method's score; or ``"hot-count"``: the method's hotspot
        cells first, each by its (weighted) training count, then the rest by count.
    step : int
        Months between folds.
    params : dict, optional
        Options per method, e.g. ``{"kde": {"bandwidth": 150}}``; every other option is the
        method's default in :mod:`beatplan.hotspots.registry` (as for :func:`find_hotspots`),
        but every method is scored alone, without the background test (which shapes the
        hotspots drawn on a map); ``{"dbscan": {"background": 4}}`` adds it. Gi* is run
        without FDR unless ``rank="hot-count"`` (its z alone ranks the cells).

    Returns
    -------
    pandas.DataFrame
        One row per fold, method and coverage: ``method``, ``train_start``, ``test_start``
        (``"YYYY-MM"``), ``coverage``, ``cell``, ``cells``, ``area_share``, ``incidents``
        (test incidents in the study area), ``hits``, ``hit_rate``, ``pai``, ``rri``,
        ``covered`` (share of the selected area that the method's own hotspots fill; 1 for
        continuous scores) and ``seconds`` (fit time).
    """
    methods = _methods_scored(method)
    check_option("rank", rank, RANKINGS)
    if train_months < 1 or test_months < 1 or step < 1:
        raise ValidationError(
            "backtest", ["train_months, test_months and step must be whole numbers >= 1"]
        )
    cov = [float(c) for c in coverage]
    if not cov or any(not 0 < c <= 1 for c in cov):
        raise ValidationError("coverage", [f"coverage={coverage!r}: shares between 0 and 1"])
    points = prepare_incidents(incidents)
    crs = CRS.from_user_input(points.crs)
    specs = {m: _scored_alone(m, rank=rank, cell=cell, options=(params or {}).get(m, {}), crs=crs)
             for m in methods}  # fmt: skip
    xy = coordinates(points)
    mi, months = _month_numbers(points, train_months, test_months)
    area, area_note = _study_area(study_area, xy, crs)
    data = _Data(points, xy, area, shapely.intersects_xy(area, xy[:, 0], xy[:, 1]) & (mi >= 0))
    rows: list[dict[str, Any]] = []
    for t0 in range(train_months, len(months) - test_months + 1, step):
        fold = _Fold(
            train_start=str(months[t0 - train_months]), test_start=str(months[t0]),
            train=data.inside & (mi >= t0 - train_months) & (mi < t0),
            test=data.inside & (mi >= t0) & (mi < t0 + test_months),
        )  # fmt: skip
        if int(fold.test.sum()) == 0 or int(fold.train.sum()) < 2:
            log.warning("backtest: skipping %s (no test or training incidents)", months[t0])
            continue
        for name in [BASELINE, *methods]:
            scored = _fold_scores(specs.get(name), data, fold, baseline_cell=baseline_cell,
                                  halflife=halflife, rank=rank)  # fmt: skip
            rows += _fold_rows(name, scored, data, fold, cov)
    if not rows:
        raise EmptyInputError("backtest: no fold had both training and test incidents")
    out = pd.DataFrame(rows)
    out.attrs["study_area"] = area_note
    out.attrs["study_area_m2"] = float(area.area)
    return out


def _methods_scored(method: str | Sequence[str]) -> list[str]:
    """Return the methods named (``"all"``: every one), less the baseline (it always runs)."""
    if isinstance(method, str):
        methods = list(METHODS) if method == "all" else [method]
    else:
        methods = list(method)
    for m in methods:
        check_option("method", m, (*METHODS, BASELINE))
    return [m for m in methods if m != BASELINE]


def _scored_alone(
    name: str, *, rank: str, cell: float | None, options: dict[str, Any], crs: CRS
) -> HotspotMethod:
    """Return the method as the backtest scores it: the registry's, alone unless told.

    No background test (it shapes the hotspots drawn on a map, not the ranking of cells at a
    given coverage), and Gi* without FDR unless its hot cells are ranked first (its z alone
    ranks the cells).
    """
    alone: dict[str, Any] = {"cell": cell, "background": None}
    if name == "gistar":
        alone["fdr"] = rank == "hot-count"
    return hotspot_method(name, **{**alone, **options}).checked(crs)


def _month_numbers(
    points: gpd.GeoDataFrame, train_months: int, test_months: int
) -> tuple[NDArray[np.int64], pd.PeriodIndex]:
    """Return each incident's month counted from the first (-1: undated), and the months."""
    if "month" in points.columns and points["month"].notna().any():
        when = pd.to_datetime(points["month"], errors="coerce")
    elif "timestamp" in points.columns:
        when = pd.to_datetime(points["timestamp"], errors="coerce")
    else:
        raise ValidationError("incidents", ["backtest needs a 'month' or 'timestamp' column"])
    ok = when.notna().to_numpy()
    index = np.where(
        ok, when.dt.year.fillna(0).to_numpy() * 12 + when.dt.month.fillna(1).to_numpy() - 1, -1
    )
    first = int(index[ok].min()) if ok.any() else 0
    last = int(index[ok].max()) if ok.any() else first
    months = pd.period_range(
        pd.Period(year=first // 12, month=first % 12 + 1, freq="M"),
        pd.Period(year=last // 12, month=last % 12 + 1, freq="M"),
        freq="M",
    )
    if len(months) < train_months + test_months:
        raise EmptyInputError(
            f"backtest: the data cover {len(months)} months ({months[0]} .. {months[-1]}); "
            f"train_months={train_months} + test_months={test_months} need more"
        )
    return np.where(ok, index - first, -1).astype(np.int64), months


def _study_area(study_area: Any, xy: NDArray[np.float64], crs: CRS) -> tuple[shapely.Geometry, str]:
    """Return the study area (default: the incidents' convex hull), prepared, and a note."""
    if study_area is None:
        area = shapely.convex_hull(shapely.multipoints(xy))
        note = "convex hull of the incidents"
    else:
        area, note = _area(study_area, crs), "given"
    shapely.prepare(area)
    return area, note


class _Data:
    """A backtest's incidents, its study area, and the grids (one per cell size) over it."""

    def __init__(
        self,
        points: gpd.GeoDataFrame,
        xy: NDArray[np.float64],
        area: shapely.Geometry,
        inside: NDArray[np.bool_],
    ) -> None:
        self.points, self.xy, self.area, self.inside = points, xy, area, inside
        self.frames: dict[float, _Frame] = {}

    def frame(self, cell: float) -> _Frame:
        """Return the grid of ``cell`` metres over the study area (made once)."""
        if cell not in self.frames:
            self.frames[cell] = _frame(cell, self.area, self.xy, self.inside)
        return self.frames[cell]


@dataclass(frozen=True)
class _Fold:
    """One fold: its months and which incidents it trains and tests on."""

    train_start: str
    test_start: str
    train: NDArray[np.bool_]
    test: NDArray[np.bool_]


@dataclass(frozen=True)
class _Scored:
    """A method's cell scores on one fold."""

    cell: float
    score: NDArray[np.float64]
    covered: float  # cells its hotspots fill
    seconds: float


def _fold_rows(
    name: str, scored: _Scored, data: _Data, fold: _Fold, coverage: list[float]
) -> list[dict[str, Any]]:
    """Rank a method's cells and count the test incidents in the best at each coverage."""
    fr = data.frame(scored.cell)
    size = fr.grid.size
    tr = np.bincount(fr.flat[fold.train], minlength=size).astype(float)
    te = np.bincount(fr.flat[fold.test], minlength=size).astype(float)
    region = fr.mask.ravel()
    s = np.where(region, scored.score.ravel(), -np.inf)
    a_total = float(data.area.area)
    n_test, n_train = int(fold.test.sum()), int(fold.train.sum())
    ks = [c_share * a_total / fr.grid.cell_area for c_share in coverage]
    results = rank_cells(s, tr, te, ks)
    assert isinstance(results, list)
    rows = []
    for c_share, k, (hits, before) in zip(coverage, ks, results, strict=True):
        share = min(k, float(region.sum())) * fr.grid.cell_area / a_total
        rows.append(
            {
                "method": name,
                "train_start": fold.train_start,
                "test_start": fold.test_start,
                "coverage": c_share,
                "cell": scored.cell,
                "cells": k,
                "area_share": share,
                "incidents": n_test,
                "hits": hits,
                "hit_rate": hits / n_test,
                "pai": (hits / n_test) / share if share > 0 else math.nan,
                "rri": (hits / before) / (n_test / n_train) if before > 0 else math.nan,
                "covered": min(1.0, scored.covered / k) if k > 0 else math.nan,
                "seconds": scored.seconds,
            }
        )
    return rows


def _fold_scores(
    spec: HotspotMethod | None,
    data: _Data,
    fold: _Fold,
    *,
    baseline_cell: float,
    halflife: str | None,
    rank: str,
) -> _Scored:
    """One method's cell scores on one fold (None: the naive baseline), timed."""
    tic = time.perf_counter()
    train = fold.train
    if spec is None:  # the naive baseline: the training count
        fr = data.frame(baseline_cell)
        counts = np.bincount(fr.flat[train], minlength=fr.grid.size).astype(float)
        return _Scored(baseline_cell, counts, math.inf, time.perf_counter() - tic)
    weights = None if halflife is None else hotspot_weights(data.points[train], None, halflife)[0]
    spec, _ = spec.resolved(Study(data.xy[train], weights=weights))
    assert spec.cell is not None  # resolved
    fr = data.frame(spec.cell)
    counts = np.bincount(fr.flat[train], minlength=fr.grid.size).astype(float)
    values = (
        counts
        if weights is None
        else np.bincount(fr.flat[train], weights=weights, minlength=fr.grid.size)
    )
    grid_values: NDArray[np.float64] = np.asarray(values, dtype=float).reshape(fr.grid.shape)
    if isinstance(spec, GridMethod):
        cells, _ = spec.hot_cells(grid_values, fr.mask, scale=weight_scale(weights))
        score, hot = np.nan_to_num(cells.score, nan=-np.inf), cells.hot
    else:  # density clusters: their hotspots drawn on the grid, each cell by its cluster's density
        # HDBSCAN takes whole incident counts: it is fitted unweighted (its cells can still be
        # ranked on the weighted counts with rank="count")
        hs = find_hotspots(data.points[train], method=spec,
                           halflife=halflife if spec.takes_weights else None)  # fmt: skip
        score = np.zeros(fr.grid.shape)
        hot = np.zeros(fr.grid.shape, dtype=bool)
        _rasterise(fr.grid, hs.areas, score, hot)
    if rank == "hot-count":
        top = grid_values.ravel().max() + 1.0
        score = np.where(hot, top, 0.0) + grid_values
    elif rank == "count":
        score = _lexicographic(grid_values, score)
    covered = float(hot.sum())
    return _Scored(spec.cell, np.asarray(score, dtype=float), covered, time.perf_counter() - tic)


def _lexicographic(
    primary: NDArray[np.float64], secondary: NDArray[np.float64]
) -> NDArray[np.float64]:
    """One score ordering cells by ``primary``, ties broken by ``secondary`` (ties kept)."""
    p = primary.ravel()
    sec = np.nan_to_num(secondary.ravel(), nan=-np.inf, posinf=np.inf)
    sec_rank = stats.rankdata(sec, method="dense").astype(float)
    norm = (sec_rank - 1.0) / max(float(sec_rank.max()), 1.0)  # in [0, 1)
    if np.all(p == np.floor(p)):
        base = p  # whole counts: distinct values differ by at least 1
    else:
        base = stats.rankdata(p, method="dense").astype(float)
    return np.asarray((base + 0.5 * norm).reshape(primary.shape))


def _rasterise(
    grid: Grid, areas: gpd.GeoDataFrame, score: NDArray[np.float64], hot: NDArray[np.bool_]
) -> None:
    """Give each cell whose centre lies in a hotspot that hotspot's density (best first)."""
    order = np.argsort(areas["density_km2"].to_numpy())  # lower first, higher overwrite
    for i in order:
        geom = areas.geometry.values[i]
        minx, miny, maxx, maxy = geom.bounds
        c0 = max(0, int((minx - grid.x0) // grid.cell))
        c1 = min(grid.nx, int((maxx - grid.x0) // grid.cell) + 1)
        r0 = max(0, int((miny - grid.y0) // grid.cell))
        r1 = min(grid.ny, int((maxy - grid.y0) // grid.cell) + 1)
        if c0 >= c1 or r0 >= r1:
            continue
        xs = grid.x0 + (np.arange(c0, c1) + 0.5) * grid.cell
        ys = grid.y0 + (np.arange(r0, r1) + 0.5) * grid.cell
        gx, gy = np.meshgrid(xs, ys)
        inside = shapely.intersects_xy(geom, gx, gy)
        sub = score[r0:r1, c0:c1]
        sub[inside] = areas["density_km2"].to_numpy()[i]
        hot[r0:r1, c0:c1] |= inside
