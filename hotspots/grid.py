"""Bin incident points to a regular grid of square cells.

A :class:`Grid` is a square lattice in the working CRS (metres): its origin, cell size and
shape. :func:`default_cell` chooses a cell size from the data (the upper quartile of the
nearest-neighbour distances between distinct incident locations, rounded to a "nice" number)
and says how;
:func:`study_mask` says which cells form the study region.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy import ndimage
from scipy.spatial import cKDTree

from beatplan.geo.errors import EmptyInputError, ValidationError

__all__ = [
    "MAX_CELLS",
    "Grid",
    "default_cell",
    "disc_offsets",
    "distinct_locations",
    "extent",
    "nearest_distances",
    "neighbour_scale",
    "nice_round",
    "spaced_locations",
    "study_mask",
]

#: The largest grid (cells) built without an explicit ``max_cells``: 16 million cells,
#: 128 MB per float64 layer.
MAX_CELLS = 16_000_000

_NICE = np.array([1.0, 2.0, 2.5, 5.0, 10.0])


def nice_round(value: float) -> float:
    """Round ``value`` to the nearest of 1, 2, 2.5 or 5 times a power of ten (in log space).

    Parameters
    ----------
    value : float
        A positive number.

    Returns
    -------
    float

    Examples
    --------
    >>> nice_round(80.3), nice_round(29.4), nice_round(140)
    (100.0, 25.0, 100.0)
    """
    if not value > 0 or not math.isfinite(value):
        raise ValueError(f"nice_round: expected a positive finite number, found {value!r}")
    power = 10.0 ** math.floor(math.log10(value))
    steps = _NICE * power
    best = steps[np.argmin(np.abs(np.log(steps / value)))]
    return float(best)


@dataclass(frozen=True)
class Grid:
    """A lattice of ``ny`` rows by ``nx`` columns of square cells of side ``cell`` metres.

    Cell ``(row, col)`` spans ``x0 + col * cell .. x0 + (col + 1) * cell`` and
    ``y0 + row * cell .. y0 + (row + 1) * cell``; its flat index is ``row * nx + col``. Cells
    hold their lower and left edges; the last row and column also hold the grid's upper and
    right edges, so a grid covering a box holds every point of it.

    Attributes
    ----------
    x0, y0 : float
        Lower-left corner.
    cell : float
        Side of a cell, in CRS units (metres).
    nx, ny : int
        Columns and rows.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    @classmethod
    def covering(
        cls,
        bounds: tuple[float, float, float, float] | NDArray[np.float64],
        cell: float,
        *,
        pad: float = 0.0,
        max_cells: int = MAX_CELLS,
    ) -> Grid:
        """Return the grid of ``cell``-sized squares covering ``bounds`` plus ``pad`` each side.

        The origin is snapped to a multiple of ``cell`` so that grids of one cell size built
        on different subsets of the same data line up.

        Parameters
        ----------
        bounds : tuple of float
            ``(minx, miny, maxx, maxy)``.
        cell : float
            Cell side in metres.
        pad : float
            Margin added on every side, in metres.
        max_cells : int
            Refuse to build a larger grid.

        Returns
        -------
        Grid

        Raises
        ------
        ValidationError
            The grid would hold more than ``max_cells`` cells.
        """
        minx, miny, maxx, maxy = (float(v) for v in bounds)
        x0 = math.floor((minx - pad) / cell) * cell
        y0 = math.floor((miny - pad) / cell) * cell
        nx = max(1, math.ceil((maxx + pad - x0) / cell - 1e-9))
        ny = max(1, math.ceil((maxy + pad - y0) / cell - 1e-9))
        if nx * ny > max_cells:
            raise ValidationError(
                "grid",
                [
                    f"a {cell:g} m grid over {(maxx - minx) / 1000:.1f} km x "
                    f"{(maxy - miny) / 1000:.1f} km needs {nx * ny:,} cells, more than "
                    f"max_cells={max_cells:,}; give a larger cell, restrict the incidents "
                    "with area=..., or drop far-away outliers"
                ],
            )
        return cls(x0, y0, float(cell), int(nx), int(ny))

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: the shape of arrays on this grid."""
        return (self.ny, self.nx)

    @property
    def size(self) -> int:
        """Number of cells."""
        return self.nx * self.ny

    @property
    def cell_area(self) -> float:
        """Area of one cell in square metres."""
        return self.cell * self.cell

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the whole grid."""
        return (
            self.x0,
            self.y0,
            self.x0 + self.nx * self.cell,
            self.y0 + self.ny * self.cell,
        )

    def locate(self, xy: NDArray[np.float64]) -> NDArray[np.int64]:
        """Return the flat cell index of each point, ``-1`` for points off the grid.

        Parameters
        ----------
        xy : ndarray, shape (n, 2)
            Coordinates in the grid's CRS.

        Returns
        -------
        ndarray of int64, shape (n,)
        """
        xy = np.asarray(xy, dtype=float)
        x, y = xy[:, 0], xy[:, 1]
        col = np.subtract(x, self.x0)
        col /= self.cell
        np.floor(col, out=col)
        row = np.subtract(y, self.y0)
        row /= self.cell
        np.floor(row, out=row)
        # the grid's right and top edges belong to the last column and row
        tol = 1e-9 * self.cell  # as in covering(): the edges are closed up to rounding
        cmax = float(col.max()) if len(xy) else 0.0
        rmax = float(row.max()) if len(xy) else 0.0
        if not cmax < self.nx:  # also when NaN: the mask below leaves NaN off the grid
            col[(col == self.nx) & (x <= self.x0 + self.nx * self.cell + tol)] = self.nx - 1
            cmax = float(col.max())
        if not rmax < self.ny:
            row[(row == self.ny) & (y <= self.y0 + self.ny * self.cell + tol)] = self.ny - 1
            rmax = float(row.max())
        lo = min(float(col.min()), float(row.min())) if len(xy) else 0.0
        if lo >= 0 and len(xy) and cmax < self.nx and rmax < self.ny:
            # every point on the grid (the usual case): no masks; whole numbers below 2**53
            # are exact in float64, so row * nx + col is the same index as in int64
            row *= self.nx
            row += col
            return row.astype(np.int64)
        ok = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        out = np.full(len(xy), -1, dtype=np.int64)
        out[ok] = row[ok].astype(np.int64) * self.nx + col[ok].astype(np.int64)
        return out

    def count(
        self, xy: NDArray[np.float64], weights: NDArray[np.float64] | None = None
    ) -> NDArray[np.float64]:
        """Return the number (or summed ``weights``) of points in each cell, shape ``(ny, nx)``.

        Points off the grid are ignored.
        """
        flat = self.locate(xy)
        ok = flat >= 0
        w = None if weights is None else np.asarray(weights, dtype=float)[ok]
        counts = np.bincount(flat[ok], weights=w, minlength=self.size)
        return counts.astype(float).reshape(self.shape)

    def centres(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the x and y of every cell centre, each of shape ``(ny, nx)``."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * self.cell
        ys = self.y0 + (np.arange(self.ny) + 0.5) * self.cell
        return np.meshgrid(xs, ys)

    def boxes(self, flat: NDArray[np.int64]) -> NDArray[np.object_]:
        """Return the square polygons of the cells with flat indices ``flat``."""
        flat = np.asarray(flat, dtype=np.int64)
        row, col = np.divmod(flat, self.nx)
        x = self.x0 + col * self.cell
        y = self.y0 + row * self.cell
        return shapely.box(x, y, x + self.cell, y + self.cell)


def extent(xy: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """Return ``(minx, miny, maxx, maxy)`` of an (n, 2) array (faster than ``min(axis=0)``)."""
    x, y = xy[:, 0], xy[:, 1]
    return (float(x.min()), float(y.min()), float(x.max()), float(y.max()))


def distinct_locations(
    xy: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """Return the distinct locations, the index of each point's location and the counts.

    police.uk points are snapped to anonymous map points, so many incidents share one
    location; the statistics that need distances work on these distinct locations. The
    locations are found by hashing (linear time), in order of first appearance.

    Returns
    -------
    unique : ndarray, shape (m, 2)
    inverse : ndarray of int64, shape (n,)
        ``unique[inverse] == xy``.
    counts : ndarray of int64, shape (m,)
    """
    xy = np.asarray(xy, dtype=float)
    key = xy[:, 0] + 1j * xy[:, 1]
    inverse, uniq = pd.factorize(key)
    unique = np.c_[uniq.real, uniq.imag]
    inverse = np.asarray(inverse, dtype=np.int64)
    counts = np.bincount(inverse, minlength=len(unique)).astype(np.int64)
    return unique, inverse, counts


#: Distances are estimated from at most this many query locations (seeded sample).
_MAX_QUERIES = 200_000


def nearest_distances(
    unique_xy: NDArray[np.float64], k: int = 1, *, tree: cKDTree | None = None
) -> NDArray[np.float64]:
    """Distance from distinct locations to their ``k``-th nearest other distinct location.

    With more than 200,000 locations, the distances of a fixed random sample of 200,000 of
    them (seed 0) are returned: the tree holds every location, so each sampled distance is
    exact, and their mean and median estimate the full ones closely. Locations with fewer
    than ``k`` others get the largest available neighbour distance. ``tree``: a
    ``scipy.spatial.cKDTree`` of ``unique_xy`` already built.
    """
    m = len(unique_xy)
    if m < 2:
        return np.zeros(m)
    kk = min(k, m - 1)
    queries = unique_xy
    if m > _MAX_QUERIES:
        pick = np.random.default_rng(0).choice(m, _MAX_QUERIES, replace=False)
        queries = unique_xy[np.sort(pick)]
    dist, _ = (cKDTree(unique_xy) if tree is None else tree).query(queries, k=kk + 1)
    return np.asarray(dist[:, kk], dtype=float)


def spaced_locations(
    xy: NDArray[np.float64], distinct: bool, who: str, what: str, give: str
) -> NDArray[np.float64]:
    """Return the distinct locations of ``xy``; refuse fewer than two (no spacing to judge)."""
    unique = xy if distinct else distinct_locations(xy)[0]
    if len(unique) < 2:
        raise EmptyInputError(
            f"{who}: the incidents lie at fewer than 2 distinct locations, so there is no "
            f"spacing to choose {what} from; give {give} in metres"
        )
    return unique


def neighbour_scale(
    xy: NDArray[np.float64], k: int = 8, *, distinct: bool = False, tree: cKDTree | None = None
) -> tuple[float, str]:
    """Median distance from each distinct location to its ``k``-th nearest distinct location.

    The scale at which a typical place where incidents happen has ``k`` such neighbours:
    the default Gi* distance band, kernel bandwidth and DBSCAN ``eps``.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
    k : int
    distinct : bool
        ``xy`` holds distinct locations already.
    tree : scipy.spatial.cKDTree, optional
        A tree of the distinct locations, when already built.

    Returns
    -------
    distance : float
        Rounded to the metre.
    reason : str
    """
    unique = spaced_locations(xy, distinct, "neighbour_scale", "a distance", "it")
    kk = min(k, len(unique) - 1)
    d = float(round(float(np.median(nearest_distances(unique, kk, tree=tree)))))
    return d, (
        f"median distance from each of the {len(unique):,} distinct incident locations to its "
        f"{kk}th nearest ({d:g} m)"
    )


def default_cell(
    xy: NDArray[np.float64],
    *,
    max_cells: int = MAX_CELLS,
    bounds: tuple[float, float, float, float] | None = None,
    minimum: float = 10.0,
    distinct: bool = False,
    tree: cKDTree | None = None,
) -> tuple[float, str]:
    """Choose a grid cell size from the data and say how it was chosen.

    The rule: the upper quartile (75th percentile) of the distances from each distinct
    incident location to its nearest distinct neighbour, rounded to 1, 2, 2.5 or 5 times a
    power of ten, at least ``minimum`` metres, then doubled (to the next nice value) until
    the grid over ``bounds`` has at most ``max_cells`` cells. A quantile, not the mean: a
    few hundred stray points far away (police.uk files carry some) move the mean by tens of
    metres, and with it the cell, but not the quartile.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Incident coordinates in metres.
    max_cells : int
        Largest grid allowed.
    bounds : tuple of float, optional
        Extent the grid must cover; the points' extent by default.
    minimum : float
        Smallest cell chosen, in metres.
    distinct : bool
        ``xy`` holds distinct locations already.
    tree : scipy.spatial.cKDTree, optional
        A tree of the distinct locations, when already built.

    Returns
    -------
    cell : float
    reason : str

    Raises
    ------
    EmptyInputError
        Fewer than two distinct locations: no distance to judge by.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0.0], [80.0, 0.0], [0.0, 80.0], [80.0, 80.0]])
    >>> cell, reason = default_cell(xy)
    >>> cell
    100.0
    >>> reason.split(" (")[1]
    '80 m), rounded to 100 m'
    """
    unique = spaced_locations(xy, distinct, "default_cell", "a cell size", "cell=...")
    q75 = float(np.quantile(nearest_distances(unique, 1, tree=tree), 0.75))
    cell = max(nice_round(q75) if q75 > 0 else minimum, minimum)
    reason = (
        f"upper quartile of the nearest-neighbour distances between the {len(unique):,} "
        f"distinct incident locations ({q75:.3g} m), rounded to {cell:g} m"
    )
    if bounds is None:
        b = extent(unique)
    else:
        b = bounds
    width, height = b[2] - b[0], b[3] - b[1]
    grown = False
    while (math.floor(width / cell) + 2) * (math.floor(height / cell) + 2) > max_cells:
        cell = nice_round(cell * 2.2)
        grown = True
    if grown:
        reason += f", enlarged to {cell:g} m to keep the grid within {max_cells:,} cells"
    return cell, reason


def disc_offsets(radius: float, cell: float) -> NDArray[np.bool_]:
    """Return the boolean disc kernel of cells whose centres lie within ``radius`` of the centre.

    Cell ``(dy, dx)`` is in when ``hypot(dx, dy) * cell <= radius`` (with a relative
    tolerance of 1e-9, so a radius of exactly two cells includes the cells two away).

    Returns
    -------
    ndarray of bool, shape (2r + 1, 2r + 1)
    """
    r = int(math.floor(radius / cell + 1e-9))
    d = np.arange(-r, r + 1)
    dx, dy = np.meshgrid(d, d)
    limit = (radius / cell) ** 2 * (1 + 1e-9)
    return np.asarray((dx * dx + dy * dy) <= limit)


def study_mask(
    grid: Grid,
    *,
    area: shapely.Geometry | None = None,
    occupied: NDArray[np.bool_] | None = None,
    reach: float = 0.0,
) -> NDArray[np.bool_]:
    """Return the cells that form the study region, shape ``(ny, nx)``.

    With ``area``: the cells whose centre lies inside it (or on its edge), plus every
    occupied cell. Without it: every cell within ``reach`` metres (centre to centre) of an
    occupied cell — the places where incidents happen and their surroundings.

    Parameters
    ----------
    grid : Grid
    area : shapely geometry, optional
        A polygon in the grid's CRS.
    occupied : ndarray of bool, optional
        Cells holding at least one incident.
    reach : float
        Distance in metres by which occupied cells are grown when no ``area`` is given.
    """
    if area is not None:
        shapely.prepare(area)
        if shapely.contains(area, shapely.box(*grid.bounds)):  # the area holds the whole grid
            return np.ones(grid.shape, dtype=bool)
        xs, ys = grid.centres()
        inside = shapely.intersects_xy(area, xs.ravel(), ys.ravel()).reshape(grid.shape)
        if occupied is not None:
            inside |= occupied
        return np.asarray(inside)
    if occupied is None:
        return np.ones(grid.shape, dtype=bool)
    if not occupied.any():
        return np.zeros(grid.shape, dtype=bool)
    dist = ndimage.distance_transform_edt(~occupied)
    return np.asarray(dist * grid.cell <= reach * (1 + 1e-9))
