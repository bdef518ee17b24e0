"""The grid methods: Getis-Ord Gi* and kernel density, run on counts per grid cell.

Both bin the incidents to a grid (:class:`beatplan.hotspots.grid.Grid`), mark hot cells by
their own test (:meth:`GridMethod.cell_scores`), keep those that also stand out from their
ring (:mod:`beatplan.hotspots.background`) and merge connected hot cells into one polygon
per hotspot.

``"gistar"`` (:class:`GiStarMethod`)
    Getis-Ord Gi* over a distance band (analytic z, optionally conditional randomisation)
    with Benjamini–Hochberg false-discovery-rate control.
``"kde"`` (:class:`KDEMethod`)
    A quartic kernel density surface; the cells at least ``threshold`` times the mean cell
    density (or the densest ``top`` share of the area) are hot.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from beatplan.geo.errors import check_option
from beatplan.hotspots.background import hot_cells_above_background
from beatplan.hotspots.gistar import gi_star
from beatplan.hotspots.grid import Grid, study_mask
from beatplan.hotspots.kde import (
    BANDWIDTH_RULES,
    KERNELS,
    default_bandwidth,
    hot_cells,
    kde_surface,
)
from beatplan.hotspots.method import GRID_CONNECTIVITY, Found, TestedMethod, min_incidents_rule
from beatplan.hotspots.result import Surface, cell_polygons
from beatplan.hotspots.study import Study
from beatplan.hotspots.weights import weight_scale

__all__ = ["CellScores", "GiStarMethod", "GridMethod", "KDEMethod"]


@dataclass(frozen=True)
class CellScores:
    """A grid method's verdict on every cell.

    Attributes
    ----------
    hot : ndarray of bool
        The hot cells.
    score : ndarray
        Gi* z or kernel density per cell.
    name : str
        What ``score`` is (``"z"``, ``"density"``).
    params, how : dict
        The values the method used (in the order recorded) and how it chose them.
    """

    hot: NDArray[np.bool_]
    score: NDArray[np.float64]
    name: str
    params: dict[str, Any]
    how: dict[str, str]


@dataclass(frozen=True, kw_only=True)
class GridMethod(TestedMethod):
    """A method that marks hot grid cells; see the module notes.

    Parameters
    ----------
    connectivity : {4, 8}
        Hot cells touching by an edge (4) or also a corner (8) are one hotspot.
    """

    #: The method's name in notes (``"Gi*"``, ``"KDE"``).
    label: ClassVar[str] = ""

    connectivity: int = GRID_CONNECTIVITY

    @property
    @abstractmethod
    def reach(self) -> float:
        """The neighbourhood's radius in metres (the band or the bandwidth)."""

    @abstractmethod
    def cell_scores(
        self, values: NDArray[np.float64], mask: NDArray[np.bool_], *, cover: float | None
    ) -> CellScores:
        """Score every cell of ``values`` (incidents per cell) and mark the hot ones.

        ``cover``: for a method that ranks cells (:attr:`takes_coverage`), the share of the
        region ``mask`` its hot cells make up, instead of its own threshold.
        """

    def connected_by(self) -> int:
        """How hot cells join into one hotspot: :attr:`connectivity`."""
        return self.connectivity

    def hot_cells(
        self,
        values: NDArray[np.float64],
        mask: NDArray[np.bool_],
        *,
        scale: float = 1.0,
        cover: float | None = None,
    ) -> tuple[CellScores, str]:
        """Return the method's hot cells that also pass the background test, and a note.

        Parameters
        ----------
        values : ndarray, shape (ny, nx)
            Incidents (or weights) per cell of a grid of :attr:`cell` metres.
        mask : ndarray of bool
            The study region's cells.
        scale : float
            :func:`beatplan.hotspots.weights.weight_scale` of the weights behind ``values``.
        cover : float, optional
            See :meth:`cell_scores`.
        """
        scores = self.cell_scores(values, mask, cover=cover)
        assert self.cell is not None  # resolved
        hot, note = hot_cells_above_background(
            scores.hot, values, cell=self.cell, reach=self.reach, mask=mask,
            background=self.background, alpha=self.alpha, fdr=self.fdr, scale=scale,
            what=self.label,
        )  # fmt: skip
        return replace(scores, hot=hot), note

    def run(
        self, study: Study, *, min_incidents: int | None, coverage: float | None = None
    ) -> Found:
        """Bin, score, test against the background, and merge hot cells into hotspots."""
        assert self.cell is not None  # resolved
        reach = self.reach
        grid, flat, counts, values = _binned(study, self.cell, reach)
        mask = study_mask(grid, area=study.area, occupied=counts > 0, reach=reach)
        region = f"{int(mask.sum()):,} cells of {self.cell:g} m " + (
            "with their centre in the area"
            if study.area is not None
            else f"within {reach:.0f} m of an incident (no area given)"
        )
        how = {"region_km2": region, "study_region": region}
        scores, how["background"] = self.hot_cells(
            values, mask, scale=weight_scale(study.weights),
            cover=_share_of_region(coverage, study, mask, grid.cell_area),
        )  # fmt: skip
        how.update(scores.how)
        params = dict(scores.params)
        region_area = float(mask.sum()) * grid.cell_area
        params["region_km2"] = round(region_area / 1e6, 6)
        fewest, how["min_incidents"] = min_incidents_rule(
            min_incidents, study.n, reach, region_area
        )
        params["min_incidents"] = fewest
        raw, polygons, best = _hot_components(
            grid, scores.hot, flat, counts, scores.score, connectivity=self.connectivity,
            min_incidents=fewest,
        )  # fmt: skip
        surface = Surface(grid=grid, mask=mask, counts=counts, values=values, score=scores.score,
                          hot=scores.hot, name=scores.name)  # fmt: skip
        return Found(raw, polygons, best, params, how, surface)


@dataclass(frozen=True, kw_only=True)
class GiStarMethod(GridMethod):
    """Getis-Ord Gi* on a grid with false-discovery-rate control.

    Parameters
    ----------
    band : float, optional
        Distance band in metres. Default (:meth:`band_rule`): the median distance from each
        distinct location to its 8th nearest, and at least one cell diagonal (so a cell's 8
        neighbours count).
    permutations : int
        Conditional randomisation draws (0: analytic normal p-values). With FDR over many
        cells use many draws: the smallest pseudo p-value is 2 / (permutations + 1).
    seed : int or numpy.random.Generator, optional
        Seed of the draws.
    """

    name: ClassVar[str] = "gistar"
    label: ClassVar[str] = "Gi*"
    distances: ClassVar[tuple[str, ...]] = ("cell", "band")

    band: float | None = None
    permutations: int = 0
    seed: int | np.random.Generator | None = None

    @property
    def reach(self) -> float:
        """The distance band."""
        assert self.band is not None  # resolved
        return float(self.band)

    def resolved(self, study: Study) -> tuple[Self, dict[str, str]]:
        """Fill the cell and the band from the data (see :meth:`band_rule`)."""
        cell, how_cell = self.resolved_cell(study)
        how = {"cell": how_cell}
        band, how["band"] = (
            (self.band, "given") if self.band is not None else self.band_rule(study, cell)
        )
        return replace(self, cell=cell, band=band), how

    @staticmethod
    def band_rule(study: Study, cell: float) -> tuple[float, str]:
        """Return the default band, the 8th-neighbour scale but at least a cell diagonal."""
        scale, reason = study.neighbour_scale
        band = max(scale, math.sqrt(2) * cell * (1 + 1e-6))
        return band, reason + (
            f", raised to one cell diagonal ({band:.0f} m)" if band > scale else ""
        )

    def cell_scores(
        self, values: NDArray[np.float64], mask: NDArray[np.bool_], *, cover: float | None
    ) -> CellScores:
        """Gi* z of every cell; the hot cells are the significantly high ones."""
        assert self.cell is not None  # resolved
        gi = gi_star(
            values, cell=self.cell, band=self.reach, mask=mask, alpha=self.alpha, fdr=self.fdr,
            permutations=self.permutations, seed=self.seed,
        )  # fmt: skip
        seed = self.seed
        params = dict(
            background=self.background, cell=self.cell, band=self.reach, alpha=self.alpha,
            fdr=self.fdr, permutations=self.permutations,
            seed=seed if isinstance(seed, int | None) else "Generator",
        )  # fmt: skip
        how = {
            "alpha": self.alpha_note(),
            "fdr": self.fdr_note(),
            "permutations": (
                f"{self.permutations} conditional randomisations, seed {seed!r}"
                if self.permutations
                else "none: analytic normal p-values"
            ),
        }
        return CellScores(hot=gi.hot, score=gi.z, name="z", params=params, how=how)


@dataclass(frozen=True, kw_only=True)
class KDEMethod(GridMethod):
    """Kernel density on a grid; the cells well above the mean density are hot.

    Parameters
    ----------
    bandwidth : float or {"nn", "silverman"}, optional
        Kernel radius in metres or a rule (default ``"nn"``, see :mod:`beatplan.hotspots.kde`),
        at least one cell.
    kernel : {"quartic", "gaussian"}
    threshold : float
        Hot cells have at least ``threshold`` times the mean cell density of the study region.

    With ``find_hotspots(coverage=...)`` the hot cells are instead the densest cells making
    up that share of the study area.
    """

    name: ClassVar[str] = "kde"
    label: ClassVar[str] = "KDE"
    takes_coverage: ClassVar[bool] = True
    distances: ClassVar[tuple[str, ...]] = ("cell", "bandwidth")

    bandwidth: float | str | None = None
    kernel: str = "quartic"
    threshold: float = 3.0

    def __post_init__(self) -> None:
        super().__post_init__()
        check_option("kernel", self.kernel, KERNELS)
        if isinstance(self.bandwidth, str):
            check_option("bandwidth rule", self.bandwidth, BANDWIDTH_RULES)

    @property
    def reach(self) -> float:
        """The bandwidth."""
        assert self.bandwidth is not None and not isinstance(self.bandwidth, str)  # resolved
        return float(self.bandwidth)

    def resolved(self, study: Study) -> tuple[Self, dict[str, str]]:
        """Fill the cell and the bandwidth from the data (see :meth:`bandwidth_rule`)."""
        cell, how_cell = self.resolved_cell(study)
        how = {"cell": how_cell}
        if self.bandwidth is None or isinstance(self.bandwidth, str):
            bandwidth, how["bandwidth"] = self.bandwidth_rule(study, cell)
        else:
            bandwidth, how["bandwidth"] = self.bandwidth, "given"
        return replace(self, cell=cell, bandwidth=bandwidth), how

    def bandwidth_rule(self, study: Study, cell: float) -> tuple[float, str]:
        """Return the default bandwidth by the named rule (``"nn"`` unless given), and why."""
        rule = self.bandwidth if isinstance(self.bandwidth, str) else "nn"
        source = study.locations[0] if rule == "nn" else study.xy
        return default_bandwidth(source, rule=rule, cell=cell)

    def cell_scores(
        self, values: NDArray[np.float64], mask: NDArray[np.bool_], *, cover: float | None
    ) -> CellScores:
        """Kernel density of every cell; the hot cells are above the threshold."""
        assert self.cell is not None  # resolved
        density = kde_surface(values, cell=self.cell, bandwidth=self.reach, kernel=self.kernel)
        hot, value, reason = hot_cells(density, mask, threshold=self.threshold, top=cover)
        params = dict(
            cell=self.cell, bandwidth=self.reach, kernel=self.kernel, threshold=self.threshold,
            density_threshold=value, background=self.background, alpha=self.alpha,
            fdr=self.fdr,
        )  # fmt: skip
        return CellScores(hot=hot, score=density, name="density", params=params,
                          how={"threshold": reason})  # fmt: skip


def _share_of_region(
    coverage: float | None, study: Study, mask: NDArray[np.bool_], cell_area: float
) -> float | None:
    """``coverage`` (a share of the study area) as a share of the region ``mask``."""
    if coverage is None:
        return None
    region_m2 = float(mask.sum()) * cell_area
    study_m2 = region_m2 if study.study_area is None else study.study_area.area_m2
    return min(1.0, coverage * study_m2 / max(region_m2, 1e-9))


def _binned(
    study: Study, cell: float, reach: float
) -> tuple[Grid, NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Bin the study: its grid, each incident's cell, the counts and weights per cell."""
    pad = 0 if study.area is not None else reach
    grid = Grid.covering(study.bounds, cell, pad=pad, max_cells=study.max_cells)
    flat = grid.locate(study.xy)
    counts = np.bincount(flat, minlength=grid.size).astype(float).reshape(grid.shape)
    values: NDArray[np.float64] = counts
    if study.weights is not None:
        values = np.bincount(flat, weights=study.weights, minlength=grid.size).astype(float)
        values = values.reshape(grid.shape)
    return grid, flat, counts, values


def _hot_components(
    grid: Grid,
    hot: NDArray[np.bool_],
    flat: NDArray[np.int64],
    counts: NDArray[np.float64],
    score: NDArray[np.float64],
    *,
    connectivity: int,
    min_incidents: int,
) -> tuple[NDArray[np.int64], dict[int, Any], dict[int, float]]:
    """Each incident's run of connected hot cells (-1: none), the runs' polygons, peak scores."""
    components, comp_polys = cell_polygons(
        grid, hot, connectivity=connectivity, counts=counts, min_incidents=min_incidents
    )
    flat_comp = components.ravel()
    ids = np.fromiter(comp_polys, dtype=np.int64, count=len(comp_polys))
    # component -> raw group (component - 1) when it has a polygon, else -1; per cell first,
    # then one gather per incident
    relabel = np.full(int(flat_comp.max()) + 1 if flat_comp.size else 1, -1, dtype=np.int64)
    relabel[ids] = ids - 1
    cell_raw = relabel[flat_comp]
    raw = cell_raw[flat]
    scores: dict[int, float] = {}
    if comp_polys:
        cells = np.flatnonzero(cell_raw >= 0)
        best = np.full(int(ids.max()) + 1, -np.inf)
        np.maximum.at(best, flat_comp[cells], score.ravel()[cells])
        scores = {int(k) - 1: float(best[k]) for k in ids}
    polygons = {k - 1: v for k, v in comp_polys.items()}
    return raw, polygons, scores
