"""The density-cluster methods: DBSCAN and HDBSCAN of the distinct incident locations.

police.uk snaps many incidents to one map point, so the clusters are found among the
distinct locations, each weighted by its incidents. By default (``background``) only the
locations whose ``eps`` neighbourhood stands out from its ring are clustered
(:func:`beatplan.hotspots.background.locations_above_background`), so a busy town is its
peaks, not one cluster. A cluster's polygon is a buffered hull of its members
(:func:`beatplan.hotspots.hulls.cluster_polygons`).

``"dbscan"`` (:class:`DBSCANMethod`)
    Weighted DBSCAN (:func:`beatplan.hotspots.dbscan.dbscan`).
``"hdbscan"`` (:class:`HDBSCANMethod`)
    HDBSCAN's cluster tree (:func:`beatplan.hotspots.dbscan.hdbscan`); with the background
    test, each cluster is also split where its members are more than ``eps`` apart.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import numpy as np
import shapely
from numpy.typing import NDArray

from beatplan.hotspots.background import locations_above_background
from beatplan.hotspots.dbscan import dbscan, hdbscan
from beatplan.hotspots.grid import Grid, extent, study_mask
from beatplan.hotspots.hulls import cluster_polygons
from beatplan.hotspots.method import Found, TestedMethod, min_incidents_rule, poisson_count
from beatplan.hotspots.study import Study
from beatplan.hotspots.weights import weight_scale

__all__ = [
    "TEST_CELLS_PER_EPS",
    "ClusterMethod",
    "Clustering",
    "DBSCANMethod",
    "HDBSCANMethod",
    "Located",
]

#: The background test of the density clusters runs on cells of at least eps / this.
TEST_CELLS_PER_EPS = 4.0


@dataclass(frozen=True)
class _Region:
    """The study region of a density method: a grid, its region cells and their area."""

    grid: Grid
    cells: NDArray[np.bool_]
    area_m2: float


@dataclass(frozen=True)
class Located:
    """The distinct locations to cluster, with their incidents (or weights).

    ``local``: which of them passed the background test (None: no test).
    """

    xy: NDArray[np.float64]
    weight: NDArray[np.float64]
    local: NDArray[np.bool_] | None


#: A clustering: each location's cluster (-1: none), the values used, and how each was chosen.
Clustering = tuple[NDArray[np.int64], dict[str, Any], dict[str, str]]


@dataclass(frozen=True, kw_only=True)
class ClusterMethod(TestedMethod):
    """A density-cluster method; see the module notes.

    Parameters
    ----------
    eps : float, optional
        Radius in metres. Default: the median distance from each distinct location to its
        8th nearest (as Gi*'s band).
    min_samples : float, optional
        Incidents within ``eps`` (itself included) that make a location a core.
    buffer : float, optional
        Metres added around a cluster's hull. Default: half the default cell.
    """

    distances: ClassVar[tuple[str, ...]] = ("cell", "eps", "buffer")

    eps: float | None = None
    min_samples: float | None = None
    buffer: float | None = None

    def resolved(self, study: Study) -> tuple[Self, dict[str, str]]:
        """Fill the cell, ``eps`` and ``buffer`` from the data."""
        cell, how_cell = self.resolved_cell(study)
        how = {"cell": how_cell}
        eps, how["eps"] = (self.eps, "given") if self.eps is not None else study.neighbour_scale
        buffer, how["buffer"] = (
            (self.buffer, "given") if self.buffer is not None else self.buffer_rule(study)
        )
        return replace(self, cell=cell, eps=eps, buffer=buffer), how

    @staticmethod
    def buffer_rule(study: Study) -> tuple[float, str]:
        """Return the default buffer, half the default cell, and the rule."""
        cell = study.default_cell[0]
        return cell / 2, f"half the default cell ({cell:g} m)"

    @staticmethod
    def poisson_rule(total: float, eps: float, region_area: float) -> tuple[int, str]:
        """Return the count fewer than 0.1 % of ``eps`` discs reach under randomness, and why."""
        mu = total * math.pi * eps * eps / region_area
        count = poisson_count(total, eps, region_area)
        return count, (
            f"smallest count reached by fewer than 0.1 % of {eps:.0f} m discs under complete "
            f"spatial randomness over the study region ({region_area / 1e6:.3g} km², mean "
            f"{mu:.3g} per disc): {count}, at least 5"
        )

    @abstractmethod
    def min_samples_rule(self, poisson: int, rule: str) -> tuple[float | None, str]:
        """Return the ``min_samples`` the clustering gets, and how it was chosen."""

    @abstractmethod
    def cluster(
        self, at: Located, *, min_samples: float | None, poisson: tuple[int, str]
    ) -> Clustering:
        """Cluster the locations ``at`` (only the ``local`` ones, when tested)."""

    def run(
        self, study: Study, *, min_incidents: int | None, coverage: float | None = None
    ) -> Found:
        """Cluster the distinct locations that stand out, and draw each cluster's hull."""
        assert self.eps is not None and self.buffer is not None  # resolved
        unique, inverse, ucount = study.locations
        w = study.weights
        weight = np.asarray(
            np.bincount(inverse, weights=w, minlength=len(unique)) if w is not None else ucount,
            dtype=float,
        )
        region = self._region(study)
        params: dict[str, Any] = {"region_km2": round(region.area_m2 / 1e6, 6)}
        how = {"region_km2": f"the study region: {region.grid.cell:g} m cells " + (
            "with their centre in the area"
            if study.area is not None
            else f"within {self.eps:.0f} m of an incident"
        )}  # fmt: skip
        poisson = self.poisson_rule(float(weight.sum()), self.eps, region.area_m2)
        min_samples, how["min_samples"] = self.min_samples_rule(*poisson)
        local, how["background"] = self._peaks(study, unique, weight, region)
        params.update(background=self.background, alpha=self.alpha, fdr=self.fdr)
        how["alpha"] = self.alpha_note()
        how["fdr"] = self.fdr_note() + (
            " (background test)" if self.background is not None else " (unused: no background test)"
        )
        labels, used, chosen = self.cluster(
            Located(unique, weight, local), min_samples=min_samples, poisson=poisson
        )
        params.update(used)
        how.update(chosen)
        fewest, how["min_incidents"] = min_incidents_rule(
            min_incidents, study.n, self.eps, region.area_m2
        )
        params["min_incidents"] = fewest
        raw, polygons, scores = _cluster_hotspots(unique, labels, inverse, fewest, self.buffer)
        return Found(raw, polygons, scores, params, how)

    def _region(self, study: Study) -> _Region:
        """Return the study region on a grid of :attr:`cell` metres."""
        assert self.cell is not None and self.eps is not None  # resolved
        grid = Grid.covering(extent(study.xy), self.cell, pad=self.eps, max_cells=study.max_cells)
        cells = study_mask(grid, area=study.area, occupied=grid.count(study.xy) > 0, reach=self.eps)
        return _Region(grid, cells, float(cells.sum()) * grid.cell_area)

    def _peaks(
        self,
        study: Study,
        unique: NDArray[np.float64],
        weight: NDArray[np.float64],
        region: _Region,
    ) -> tuple[NDArray[np.bool_] | None, str]:
        """Return the locations that pass the background test (None: no test), and a note."""
        assert self.eps is not None  # resolved
        grid, cells = region.grid, region.cells
        if self.background is not None and grid.cell < self.eps / TEST_CELLS_PER_EPS:
            # the background test needs the eps disc resolved by a few cells, not finer: on a
            # coarser grid (and its own study region) it costs far less on many points
            grid = Grid.covering(extent(study.xy), self.eps / TEST_CELLS_PER_EPS, pad=self.eps,
                                 max_cells=study.max_cells)  # fmt: skip
            cells = study_mask(grid, area=study.area, occupied=grid.count(unique) > 0,
                               reach=self.eps)  # fmt: skip
        return locations_above_background(
            unique, np.asarray(weight, dtype=float), grid=grid, region=cells, eps=self.eps,
            background=self.background, alpha=self.alpha, fdr=self.fdr,
            scale=weight_scale(study.weights),
        )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class DBSCANMethod(ClusterMethod):
    """Weighted DBSCAN of the distinct locations.

    ``min_samples`` defaults to the smallest count that fewer than 0.1 % of ``eps`` discs
    would reach if the incidents were spread at random over the study region (Poisson), and
    at least 5; with ``background`` it applies to the locations that pass the test.
    """

    name: ClassVar[str] = "dbscan"

    def min_samples_rule(self, poisson: int, rule: str) -> tuple[float | None, str]:
        """Given, else the Poisson count, at least 5."""
        if self.min_samples is not None:
            return self.min_samples, "given"
        return float(max(5, poisson)), rule

    def cluster(
        self, at: Located, *, min_samples: float | None, poisson: tuple[int, str]
    ) -> Clustering:
        """DBSCAN of the locations (of those that stand out from their background)."""
        assert self.eps is not None and min_samples is not None  # resolved
        xy, weight, local = at.xy, at.weight, at.local
        if local is None:
            labels = dbscan(xy, eps=self.eps, min_samples=min_samples, weights=weight).labels
        else:
            labels = np.full(len(xy), -1, dtype=np.int64)
            if local.any():
                labels[local] = dbscan(
                    xy[local], eps=self.eps, min_samples=min_samples, weights=weight[local]
                ).labels
        used = dict(eps=self.eps, min_samples=min_samples, buffer=self.buffer)
        return np.asarray(labels, dtype=np.int64), used, {}


@dataclass(frozen=True, kw_only=True)
class HDBSCANMethod(ClusterMethod):
    """HDBSCAN's cluster tree of the distinct locations, counted in whole incidents.

    Parameters
    ----------
    min_cluster_size : int, optional
        The smallest cluster (incidents); default as DBSCAN's ``min_samples``.
    min_samples : int, optional
        Default: HDBSCAN's own (``min_cluster_size``).
    """

    name: ClassVar[str] = "hdbscan"
    takes_weights: ClassVar[bool] = False

    min_cluster_size: int | None = None

    def min_samples_rule(self, poisson: int, rule: str) -> tuple[float | None, str]:
        """Given, else None (HDBSCAN's default)."""
        if self.min_samples is not None:
            return int(self.min_samples), "given"
        return None, "HDBSCAN's default (min_cluster_size)"

    def min_cluster_size_rule(self, poisson: int, rule: str) -> tuple[int, str]:
        """Given, else as DBSCAN's default ``min_samples``."""
        if self.min_cluster_size is not None:
            return int(self.min_cluster_size), "given"
        return int(max(5, poisson)), "as DBSCAN's default min_samples: " + rule

    def cluster(
        self, at: Located, *, min_samples: float | None, poisson: tuple[int, str]
    ) -> Clustering:
        """Cluster the locations by HDBSCAN's tree (those that stand out, split into patches)."""
        size, how_size = self.min_cluster_size_rule(*poisson)
        ms = None if min_samples is None else int(min_samples)
        xy, weight, local = at.xy, at.weight, at.local
        if local is None:
            labels = hdbscan(xy, min_cluster_size=size, min_samples=ms, weights=weight).labels
        else:
            labels = np.full(len(xy), -1, dtype=np.int64)
            if weight[local].sum() >= size and local.sum() >= 2:
                labels[np.flatnonzero(local)] = self._patches(
                    xy[local], weight[local], min_cluster_size=size, min_samples=ms
                )
        used = dict(min_cluster_size=size, min_samples=ms, buffer=self.buffer)
        return np.asarray(labels, dtype=np.int64), used, {"min_cluster_size": how_size}

    def _patches(
        self,
        xy: NDArray[np.float64],
        weight: NDArray[np.float64],
        *,
        min_cluster_size: int,
        min_samples: int | None,
    ) -> NDArray[np.int64]:
        """HDBSCAN clusters split where their members are more than ``eps`` apart (-1: none).

        A hotspot is a patch: each cluster is cut into its ``eps``-linked components (DBSCAN
        with every location a core), numbered 0, 1, ... in order of their keys.
        """
        assert self.eps is not None  # resolved
        sub = hdbscan(xy, min_cluster_size=min_cluster_size, min_samples=min_samples,
                      weights=weight).labels  # fmt: skip
        patch = dbscan(xy, eps=self.eps, min_samples=1).labels
        key = np.where(sub >= 0, sub * (int(patch.max()) + 1) + patch, -1)
        kept = key >= 0
        out = np.full(len(xy), -1, dtype=np.int64)
        out[kept] = np.unique(key[kept], return_inverse=True)[1]
        return out


def _cluster_hotspots(
    unique: NDArray[np.float64],
    labels: NDArray[np.int64],
    inverse: NDArray[np.int64],
    min_incidents: int,
    buffer: float,
) -> tuple[NDArray[np.int64], dict[int, Any], dict[int, float]]:
    """Each incident's cluster of ``min_incidents`` or more (-1: none), hulls and densities."""
    raw = labels[inverse]
    per = np.bincount(raw[raw >= 0], minlength=max(int(labels.max()) + 1, 0))
    big = np.flatnonzero(per >= min_incidents)
    labels = np.where(np.isin(labels, big), labels, -1)
    raw = labels[inverse]
    polygons: dict[int, Any] = {}
    scores: dict[int, float] = {}
    if len(big):
        polys = cluster_polygons(unique, labels, buffer=buffer)
        for key, geom in zip(polys.index, np.asarray(polys.values), strict=True):
            k = int(key)
            polygons[k] = geom
            a = float(shapely.area(geom))
            scores[k] = float(per[k] / a * 1e6) if a > 0 else math.inf
    return raw, polygons, scores
