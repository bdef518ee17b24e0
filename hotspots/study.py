"""The incidents a hotspot method runs on, and the scales measured from them once.

A :class:`Study` holds the selected incidents' coordinates and weights and the area they are
studied in; the data-driven scales the methods' defaults are made from (the default grid cell,
the distance to a location's 8th nearest neighbour, the distinct locations and their tree) are
measured on first use and kept, so that every default of a run reads the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from beatplan.hotspots.grid import (
    MAX_CELLS,
    default_cell,
    distinct_locations,
    extent,
    neighbour_scale,
)
from beatplan.hotspots.study_area import StudyArea

__all__ = ["NEIGHBOURS", "Study"]

#: The neighbour whose distance sets the default scale (Gi* band, KDE bandwidth, DBSCAN eps).
NEIGHBOURS = 8


@dataclass
class Study:
    """Selected incidents ready for a hotspot method.

    Attributes
    ----------
    xy : ndarray, shape (n, 2)
        Coordinates in metres of a projected CRS.
    weights : ndarray, shape (n,), optional
        Per-incident weights (None: each incident counts 1).
    area : shapely Polygon or MultiPolygon, optional
        The area the incidents were selected in (the study region's cells are those inside
        it); None: the region of Gi*, KDE and the density clusters is where incidents
        happen and their surroundings.
    max_cells : int
        The largest grid allowed.
    study_area : StudyArea, optional
        The study area (given or derived) that coverage is a share of; every incident lies
        inside it. Its geometry is ``area`` when one was given.
    months : ndarray of int64, shape (n,), optional
        Each incident's month (``year * 12 + month - 1``; -1 unknown), when the data have dates.
    months_spanned : int
        How many months the incidents span (0: no dates): monthly data count their months
        from the first to the last, timestamps their days over 30.44.
    """

    xy: NDArray[np.float64]
    weights: NDArray[np.float64] | None = None
    area: shapely.Geometry | None = None
    max_cells: int = MAX_CELLS
    study_area: StudyArea | None = None
    months: NDArray[np.int64] | None = None
    months_spanned: int = 0

    @property
    def n(self) -> int:
        """Number of incidents."""
        return len(self.xy)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """The extent a grid must cover: the incidents' and, when given, the area's."""
        ext = extent(self.xy)
        if self.area is None:
            return ext
        b = self.area.bounds
        lo = np.minimum(b[:2], ext[:2])
        hi = np.maximum(b[2:], ext[2:])
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    @cached_property
    def locations(self) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
        """The distinct locations, each incident's location and the incidents at each.

        See :func:`beatplan.hotspots.grid.distinct_locations`.
        """
        return distinct_locations(self.xy)

    @property
    def located(self) -> bool:
        """Whether a rule needed the distinct locations (so they were counted)."""
        return "locations" in self.__dict__  # where cached_property keeps its value

    @cached_property
    def tree(self) -> cKDTree:
        """A k-d tree of the distinct locations."""
        return cKDTree(self.locations[0])

    @cached_property
    def default_cell(self) -> tuple[float, str]:
        """The data-driven grid cell and its rule (:func:`beatplan.hotspots.grid.default_cell`)."""
        return default_cell(
            self.locations[0], max_cells=self.max_cells, distinct=True, tree=self.tree,
            bounds=self.bounds,
        )  # fmt: skip

    @cached_property
    def neighbour_scale(self) -> tuple[float, str]:
        """Median distance from each distinct location to its 8th nearest, and the rule.

        See :func:`beatplan.hotspots.grid.neighbour_scale`.
        """
        return neighbour_scale(self.locations[0], NEIGHBOURS, distinct=True, tree=self.tree)
