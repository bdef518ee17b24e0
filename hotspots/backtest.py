"""Backtest hotspot methods month by month against the naive baseline.

:func:`backtest` is the rolling evaluation of Chainey, Tompson & Uhlig (2008): each fold fits
on ``train_months`` months and scores on the next ``test_months``, inside the study area.

``mode="map"`` (default): the map users get
    For each fold and method :func:`beatplan.hotspots.find_hotspots` runs on the training
    months with every default as a user gets it (the study area, the background test, the
    minimum size, the polygons), and the polygons are scored: their coverage (the share of
    the study area they cover), hit rate, PAI, RRI and PEI, beside the **naive baseline** at
    the polygons' own coverage: the busiest 100 m cells of the training months, taken until
    they cover the same area (cells clipped to the study area; a tie at the cut-off shared).
    PEI divides a PAI by the best PAI possible with those cells at that coverage (the test
    month's own busiest cells).
``mode="cells"``: an analyst's ranking of surfaces
    Each method's grid cells are ranked by its score (or by count) and taken until they
    cover fixed shares of the study area, the same for every method (equal coverage).

:func:`backtest_summary` says, per method, in how many folds it beat the baseline.
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

from beatplan.geo.errors import EmptyInputError, ValidationError, check_option
from beatplan.geo.progress import progress as progress_bar
from beatplan.hotspots.baseline import BASELINE_CELL, CellAreas, pai, rank_cells, ranked_hits
from beatplan.hotspots.find import find_hotspots
from beatplan.hotspots.grid import Grid, distinct_locations
from beatplan.hotspots.grid_methods import GridMethod
from beatplan.hotspots.method import HotspotMethod
from beatplan.hotspots.points import coordinates, prepare_incidents
from beatplan.hotspots.registry import DEFAULT_METHOD, METHODS, hotspot_method
from beatplan.hotspots.result import clipped
from beatplan.hotspots.study import Study
from beatplan.hotspots.study_area import StudyArea, check_coverage, locate_study_area
from beatplan.hotspots.weights import hotspot_weights, weight_scale

__all__ = ["BASELINE", "MODES", "RANKINGS", "backtest", "backtest_summary"]

log = logging.getLogger("beatplan")

#: Name of the naive baseline in :func:`backtest` output (cells mode).
BASELINE = "naive"
#: What :func:`backtest` scores.
MODES = ("map", "cells")
#: How a method's grid cells are ranked in the cells mode.
RANKINGS = ("score", "count", "hot-count")
#: How many of the busiest training locations the map mode checks are inside a hotspot.
BUSIEST = 10
#: The shares of the study area the cells mode scores at, by default.
CELL_COVERAGES = (0.005, 0.01, 0.03)


def backtest(
    incidents: Any,
    method: str | Sequence[str] | None = None,
    *,
    mode: str = "map",
    train_months: int = 3,
    test_months: int = 1,
    coverage: float | str | Sequence[float | str] | None = None,
    study_area: Any = None,
    halflife: str | None = None,
    step: int = 1,
    params: dict[str, dict[str, Any]] | None = None,
    baseline_cell: float = BASELINE_CELL,
    cell: float | None = None,
    rank: str | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Score hotspot methods month by month against the naive baseline.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or GeoDataFrame
        Incidents with a ``month`` (or ``timestamp``) column.
    method : str or list of str, optional
        ``"gistar"``, ``"kde"``, ``"dbscan"``, ``"hdbscan"``, a list of them, or ``"all"``.
        Default: the default method of :func:`beatplan.hotspots.find_hotspots`.
    mode : {"map", "cells"}
        ``"map"``: score the hotspot polygons ``find_hotspots`` draws, at their own coverage,
        beside the naive baseline at that coverage. ``"cells"``: rank each method's grid
        cells and score them at fixed coverages (see the module notes).
    train_months, test_months : int
        Months fitted on and months predicted; the window moves on by ``step`` months.
    coverage : float or sequence of float, optional
        Map mode: a share of the study area (or several) passed to ``find_hotspots(coverage=)``
        (None: each method's own threshold, as a user gets it). Cells mode: the shares the
        cells are scored at (default 0.5 %, 1 % and 3 %).
    study_area : polygon, GeoSeries, GeoDataFrame, mapping or BoundaryPlan, optional
        The force area: incidents outside it are left out (counted in
        ``attrs["outside_study_area"]``) and it is the PAI denominator. Default: derived
        from all the incidents, robust to stray far-away points
        (:func:`beatplan.hotspots.study_area.derive_study_area`).
    halflife : str, optional
        Recency weighting of the training incidents (e.g. ``"30D"``); HDBSCAN, which counts
        whole incidents, is fitted unweighted.
    step : int
        Months between folds.
    params : dict, optional
        Options per method, e.g. ``{"kde": {"bandwidth": 150}}``; every other option is the
        method's default in :mod:`beatplan.hotspots.registry`, as for ``find_hotspots``.
    baseline_cell : float
        Cells mode: the cell of the naive baseline (metres). The map mode's baseline is
        always the busiest 100 m cells.
    cell : float, optional
        Cells mode: the cell of the methods' grids (default: each fold's data-driven cell).
    rank : {"score", "count", "hot-count"}, optional
        Cells mode: how a method's cells are ranked: by its score (Gi* z without FDR,
        kernel density, the density of the cluster a cell lies in; the default); by the
        (weighted) training count with the score breaking ties; or its hotspot cells first.
        In this mode the methods run alone, without the background test, unless ``params``
        ask for it.
    progress : bool, optional
        A progress bar over the folds (None: on a terminal; see
        :func:`beatplan.geo.progress.progress_enabled`).

    Returns
    -------
    pandas.DataFrame
        Map mode: one row per fold, method and coverage asked: ``method``, ``asked`` (the
        coverage asked, ``"default"`` for the method's own), ``train_start``,
        ``test_start`` (``"YYYY-MM"``), ``hotspots``, ``coverage`` (the polygons' share of
        the study area), ``median_ha``, ``p90_ha`` (hotspot sizes), ``incidents`` (test
        incidents in the study area), ``hits``, ``hit_rate``, ``pai``, ``pei``, ``rri``,
        ``naive_hit_rate``, ``naive_pai``, ``naive_pei`` (the busiest 100 m training cells
        at the same coverage), ``best_pai``, ``beats_naive``, ``busiest_in`` (how many of the
        10 busiest training locations lie in a hotspot) and ``seconds``.
        Cells mode: one row per fold, method (and ``"naive"``) and coverage: ``method``,
        ``train_start``, ``test_start``, ``coverage``, ``cell``, ``cells``, ``area_share``,
        ``incidents``, ``hits``, ``hit_rate``, ``pai``, ``rri``, ``covered`` and ``seconds``.
        ``attrs``: ``mode``, ``study_area`` (where it came from), ``study_area_m2`` and
        ``outside_study_area``. :func:`backtest_summary` says who beat the baseline.

    Raises
    ------
    beatplan.geo.errors.BeatplanError
        Too few months, no dates, an unknown method, a coverage that is not a share, an
        option of another method, or a cells-mode option in map mode.

    Examples
    --------
    >>> table = backtest(incidents, study_area=wards)          # doctest: +SKIP
    >>> print(backtest_summary(table)["verdict"].iloc[0])      # doctest: +SKIP
    gistar: lost to the naive baseline in 9 of 9 folds ...
    """
    check_option("mode", mode, MODES)
    if train_months < 1 or test_months < 1 or step < 1:
        raise ValidationError(
            "backtest", ["train_months, test_months and step must be whole numbers >= 1"]
        )
    methods = _methods_scored(method, mode)
    shares = _coverages(coverage, mode)
    if mode == "map":
        _refuse_cell_options(cell=cell, rank=rank, baseline_cell=baseline_cell)
    rank = rank or "score"
    check_option("rank", rank, RANKINGS)
    points = prepare_incidents(incidents)
    crs = CRS.from_user_input(points.crs)
    options = params or {}
    specs = {m: hotspot_method(m, **options.get(m, {})).checked(crs) for m in methods}
    xy = coordinates(points)
    mi, months = _month_numbers(points, train_months, test_months)
    sa, inside = locate_study_area(study_area, crs, xy)
    outside = int((~inside & (mi >= 0)).sum())
    if outside:
        log.info("backtest: %s incidents outside the study area (%s) left out", f"{outside:,}",
                 sa.describe())  # fmt: skip
    data = _Data(points, xy, sa, inside & (mi >= 0))
    folds = _folds(data, mi, months, train_months, test_months, step)
    rows: list[dict[str, Any]] = []
    for fold in progress_bar(folds, desc="backtest", unit="fold", enabled=progress):
        if mode == "map":
            rows += _map_rows(specs, data, fold, shares, halflife=halflife)
        else:
            cell_specs = {m: _scored_alone(m, rank=rank, cell=cell, options=options.get(m, {}),
                                           crs=crs) for m in methods}  # fmt: skip
            for name in [BASELINE, *methods]:
                scored = _fold_scores(cell_specs.get(name), data, fold,
                                      baseline_cell=baseline_cell, halflife=halflife,
                                      rank=rank)  # fmt: skip
                rows += _fold_rows(name, scored, data, fold, [float(c or 0) for c in shares])
    if not rows:
        raise EmptyInputError("backtest: no fold had both training and test incidents")
    out = pd.DataFrame(rows)
    out.attrs.update(mode=mode, study_area=sa.describe(), study_area_m2=sa.area_m2,
                     outside_study_area=outside)  # fmt: skip
    return out


def _methods_scored(method: str | Sequence[str] | None, mode: str) -> list[str]:
    """Return the methods named (``"all"``: every one; None: the default), less the baseline."""
    if method is None:
        methods = [DEFAULT_METHOD]
    elif isinstance(method, str):
        methods = list(METHODS) if method == "all" else [method]
    else:
        methods = list(method)
    for m in methods:
        check_option("method", m, (*METHODS, BASELINE))
    return [m for m in methods if m != BASELINE]


def _coverages(
    coverage: float | str | Sequence[float | str] | None, mode: str
) -> list[float | None]:
    """Return the coverages asked, checked (map mode: None is each method's own)."""
    if coverage is None:
        return [None] if mode == "map" else list(CELL_COVERAGES)
    asked = [coverage] if isinstance(coverage, int | float | str) else list(coverage)
    if not asked:
        raise ValidationError("coverage", ["coverage=(): give at least one share, or None"])
    return [check_coverage(c) for c in asked]


def _refuse_cell_options(*, cell: float | None, rank: str | None, baseline_cell: float) -> None:
    """Refuse the cells mode's options in map mode, where they would silently do nothing."""
    given = [name for name, value in (("cell", cell), ("rank", rank)) if value is not None]
    if baseline_cell != BASELINE_CELL:
        given.append("baseline_cell")
    if given:
        raise ValidationError(
            "backtest",
            [f"{', '.join(given)}= apply to mode='cells' only: the map mode scores the "
             "polygons find_hotspots draws, against the busiest 100 m cells (give cell= to "
             "a method through params=)"],
        )  # fmt: skip


def _folds(
    data: _Data,
    mi: NDArray[np.int64],
    months: pd.PeriodIndex,
    train_months: int,
    test_months: int,
    step: int,
) -> list[_Fold]:
    """Return the folds that have training and test incidents (the others are logged)."""
    folds = []
    for t0 in range(train_months, len(months) - test_months + 1, step):
        fold = _Fold(
            train_start=str(months[t0 - train_months]), test_start=str(months[t0]),
            train=data.inside & (mi >= t0 - train_months) & (mi < t0),
            test=data.inside & (mi >= t0) & (mi < t0 + test_months),
        )  # fmt: skip
        if int(fold.test.sum()) == 0 or int(fold.train.sum()) < 2:
            log.warning("backtest: skipping %s (no test or training incidents)", months[t0])
            continue
        folds.append(fold)
    return folds


# --------------------------------------------------------------------------- map mode


def _map_rows(
    specs: dict[str, HotspotMethod],
    data: _Data,
    fold: _Fold,
    shares: list[float | None],
    *,
    halflife: str | None,
) -> list[dict[str, Any]]:
    """Run find_hotspots on the fold's training months for each method; score the polygons."""
    train_pts = data.points[fold.train]
    test_xy, train_xy = data.xy[fold.test], data.xy[fold.train]
    cells = data.cells()
    scorer = _Scorer(cells, cells.counts(train_xy), cells.counts(test_xy), len(test_xy))
    rows = []
    for name, spec in specs.items():
        for asked in shares:
            tic = time.perf_counter()
            hs = find_hotspots(train_pts, method=spec, study_area=data.area, coverage=asked,
                               halflife=halflife if spec.takes_weights else None)  # fmt: skip
            seconds = time.perf_counter() - tic
            polys = np.asarray(hs.areas.geometry.values, dtype=object)
            row: dict[str, Any] = {"method": name,
                                   "asked": "default" if asked is None else f"{asked:g}",
                   "train_start": fold.train_start, "test_start": fold.test_start}  # fmt: skip
            row.update(_sizes(hs.areas["area_m2"].to_numpy()))
            row.update(scorer.score(polys, data.area, test_xy, train_xy))
            row["seconds"] = seconds
            rows.append(row)
    return rows


def _sizes(area_m2: NDArray[np.float64]) -> dict[str, Any]:
    """Return the number of hotspots and their median and 90th-percentile size (ha)."""
    if len(area_m2) == 0:
        return {"hotspots": 0, "median_ha": math.nan, "p90_ha": math.nan}
    ha = area_m2 / 1e4
    return {"hotspots": len(ha), "median_ha": float(np.median(ha)),
            "p90_ha": float(np.quantile(ha, 0.9))}  # fmt: skip


@dataclass(frozen=True)
class _Scorer:
    """One fold's naive baseline and best possible map on the 100 m cells, and the scoring."""

    cells: CellAreas
    train: NDArray[np.float64]
    test: NDArray[np.float64]
    n_test: int

    def score(
        self,
        polys: NDArray[np.object_],
        area: StudyArea,
        test_xy: NDArray[np.float64],
        train_xy: NDArray[np.float64],
    ) -> dict[str, Any]:
        """Score hotspot polygons, the naive cells and the best cells at the polygons' coverage."""
        geoms = clipped(polys, area)  # inside the study area, overlaps removed
        covered = float(shapely.area(geoms).sum()) if len(geoms) else 0.0
        share = covered / self.cells.total
        hits, h_train = _held(geoms, test_xy), _held(geoms, train_xy)
        busiest = _busiest(train_xy, BUSIEST)
        naive = ranked_hits(self.train, self.test, self.cells.area, covered)
        best = ranked_hits(self.test, self.test, self.cells.area, covered)
        n, n_train = self.n_test, len(train_xy)
        out = {"coverage": share, "incidents": n, "hits": hits,
               "hit_rate": hits / n, "pai": pai(hits, n, share)}  # fmt: skip
        best_pai = pai(best, n, share)
        out["pei"] = out["pai"] / best_pai if best_pai > 0 else math.nan
        out["rri"] = (hits / h_train) / (n / n_train) if h_train else math.nan
        out["naive_hit_rate"] = naive / n
        out["naive_pai"] = pai(naive, n, share)
        out["naive_pei"] = out["naive_pai"] / best_pai if best_pai > 0 else math.nan
        out["best_pai"] = best_pai
        out["beats_naive"] = bool(out["pai"] > out["naive_pai"])
        out["busiest_in"] = _held(geoms, busiest) if len(geoms) else 0
        return out


def _busiest(xy: NDArray[np.float64], k: int) -> NDArray[np.float64]:
    """Return the ``k`` training locations holding the most incidents (ties: first seen)."""
    unique, _, counts = distinct_locations(xy)
    return unique[np.argsort(-counts, kind="stable")[:k]]


def _held(geoms: NDArray[np.object_], xy: NDArray[np.float64]) -> int:
    """Count the points lying in any of ``geoms`` (each point once), by distinct location."""
    if len(geoms) == 0 or len(xy) == 0:
        return 0
    unique, _, counts = distinct_locations(xy)
    found, _ = shapely.STRtree(geoms).query(shapely.points(unique), predicate="intersects")
    return int(counts[np.unique(found)].sum())


# --------------------------------------------------------------------------- summary


def backtest_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Say, per method (and coverage), in how many folds it beat the naive baseline.

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`backtest` returned (either mode; also read back from its CSV).

    Returns
    -------
    pandas.DataFrame
        One row per method and coverage: ``folds``, ``wins`` (folds where the method's PAI
        beat the naive baseline's at the same coverage), mean ``coverage``, ``pai``,
        ``naive_pai``, ``hit_rate``, ``naive_hit_rate`` and, in map mode, ``pei``,
        ``naive_pei``, ``hotspots``, ``median_ha``, ``p90_ha`` and ``busiest_in`` (the
        fewest of the 10 busiest training locations in a hotspot, over the folds); and
        ``verdict``: one sentence saying it in words.
    """
    if "naive_pai" in table.columns:
        return _map_summary(table)
    return _cells_summary(table)


def _map_summary(table: pd.DataFrame) -> pd.DataFrame:
    g = table.groupby(["method", "asked"], sort=False)
    out = g.agg(
        folds=("test_start", "nunique"), wins=("beats_naive", "sum"), coverage=("coverage", "mean"),
        hotspots=("hotspots", "mean"), median_ha=("median_ha", "mean"), p90_ha=("p90_ha", "mean"),
        pai=("pai", "mean"), naive_pai=("naive_pai", "mean"), pei=("pei", "mean"),
        naive_pei=("naive_pei", "mean"), hit_rate=("hit_rate", "mean"),
        naive_hit_rate=("naive_hit_rate", "mean"), busiest_in=("busiest_in", "min"),
    ).reset_index()  # fmt: skip
    out["wins"] = out["wins"].astype(int)
    out["verdict"] = [_verdict(r, map_mode=True) for r in out.itertuples()]
    return out


def _cells_summary(table: pd.DataFrame) -> pd.DataFrame:
    naive = table[table["method"] == BASELINE].set_index(["test_start", "coverage"])["pai"]
    scored = table[table["method"] != BASELINE].copy()
    base = naive.reindex(pd.MultiIndex.from_frame(scored[["test_start", "coverage"]]))
    scored["naive_pai"] = base.to_numpy()
    naive_hits = table[table["method"] == BASELINE].set_index(["test_start", "coverage"])
    scored["naive_hit_rate"] = naive_hits["hit_rate"].reindex(base.index).to_numpy()
    scored["beats_naive"] = scored["pai"] > scored["naive_pai"]
    g = scored.groupby(["method", "coverage"], sort=False)
    out = g.agg(
        folds=("test_start", "nunique"), wins=("beats_naive", "sum"), pai=("pai", "mean"),
        naive_pai=("naive_pai", "mean"), hit_rate=("hit_rate", "mean"),
        naive_hit_rate=("naive_hit_rate", "mean"),
    ).reset_index()  # fmt: skip
    out["wins"] = out["wins"].astype(int)
    out["verdict"] = [_verdict(r, map_mode=False) for r in out.itertuples()]
    return out


def _verdict(r: Any, *, map_mode: bool) -> str:
    """One sentence: won or lost against the naive baseline, in how many folds, by how much."""
    if map_mode:
        own = r.asked == "default"
        what = f"{r.method} ({'its own threshold' if own else 'coverage ' + str(r.asked)})"
    else:
        what = f"{r.method} (cells at {r.coverage:.2%})"
    if r.wins == r.folds:
        head = f"beat the naive baseline in every fold ({r.wins} of {r.folds})"
    elif r.wins == 0:
        head = f"lost to the naive baseline in every fold (0 of {r.folds} won)"
    else:
        head = f"beat the naive baseline in {r.wins} of {r.folds} folds"
    text = f"{what}: {head}; mean PAI {r.pai:.1f} against {r.naive_pai:.1f}"
    if map_mode:
        text += (
            f" at the same coverage ({r.coverage:.2%} of the study area), PEI {r.pei:.2f} "
            f"against {r.naive_pei:.2f}; its hotspots held {r.hit_rate:.1%} of the next "
            f"period's incidents ({r.hotspots:.0f} hotspots, median {r.median_ha:.2g} ha)"
        )
    else:
        text += f"; hit rate {r.hit_rate:.1%} against {r.naive_hit_rate:.1%}"
    return text


# --------------------------------------------------------------------------- cells mode


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


class _Data:
    """A backtest's incidents, its study area, and the grids (one per cell size) over it."""

    def __init__(
        self,
        points: gpd.GeoDataFrame,
        xy: NDArray[np.float64],
        area: StudyArea,
        inside: NDArray[np.bool_],
    ) -> None:
        self.points, self.xy, self.area, self.inside = points, xy, area, inside
        self.frames: dict[float, _Frame] = {}
        self._cells: CellAreas | None = None

    def frame(self, cell: float) -> _Frame:
        """Return the grid of ``cell`` metres over the study area (made once)."""
        if cell not in self.frames:
            self.frames[cell] = _frame(cell, self.area.geometry, self.xy, self.inside)
        return self.frames[cell]

    def cells(self) -> CellAreas:
        """Return the naive baseline's 100 m cells over the study area (made once)."""
        if self._cells is None:
            self._cells = CellAreas.over(self.area)
        return self._cells


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
    a_total = data.area.area_m2
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
