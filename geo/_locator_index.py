"""A locator level's indexes (private to :mod:`beatplan.geo.locator`).

:class:`Level` holds one level's polygons in id order (position = tie-break rank) with an rtree
(saved with the locator; nearest-within-tolerance for one point), a lazily built STRtree for
single points, small batches and nearest-within-tolerance, and a
:class:`Grid` for large batches: cells wholly inside one polygon answer without a geometry test,
the others list their candidate polygons.

Threads: a :class:`Level` may be shared by threads. libspatialindex (under ``rtree``) is not
thread-safe even for queries (its node pools are shared, and ``rtree`` calls it through ctypes,
which lets go of the GIL): one point is therefore located with the STRtree (GEOS builds it
once; queries only read it), and the one remaining rtree query (the nearest polygon within a
tolerance) holds the level's ``_rtree_lock``. The lazily built STRtree and grid are built once,
under ``_build_lock``. Prepared shapely geometries are safe to share.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from rtree import index as rindex

__all__ = [
    "GRID_MIN_POINTS",
    "Grid",
    "Level",
    "disk_rtree",
    "first_per_point",
    "memory_rtree",
]

#: Batches of at least this many points use the grid (built once, kept, saved); smaller
#: batches query an STRtree. Both give the same answers.
GRID_MIN_POINTS = 5_000
_GRID_CELLS_PER_POLYGON = 200
_GRID_MAX_CELLS = 250_000


def first_per_point(pi: np.ndarray, gi: np.ndarray, n: int) -> np.ndarray:
    """Smallest rank ``gi`` per point ``pi`` (-1 where a point has none)."""
    big = np.iinfo(np.int64).max
    best = np.full(n, big, dtype=np.int64)
    np.minimum.at(best, pi, gi)
    best[best == big] = -1
    return best


class Grid:
    """A uniform grid over a level's extent that answers most points without a geometry test.

    Each cell (padded by a hair, so that rounding in the cell arithmetic cannot matter) is
    *empty* (no polygon meets it: every point in it is outside), *covered* (exactly one
    polygon meets it and covers it: every point in it has that polygon, and no other) or
    *mixed* (the polygons meeting it are listed, and its points are tested exactly). So the
    answers are the same as the exact test on every candidate, only cheaper.
    """

    __slots__ = ("origin", "size", "shape", "state", "starts", "cands")
    EMPTY, MIXED = -1, -2

    def __init__(
        self,
        origin: tuple[float, float],
        size: float,
        shape: tuple[int, int],
        state: np.ndarray,
        starts: np.ndarray,
        cands: np.ndarray,
    ) -> None:
        self.origin = origin  # lower-left corner of cell (0, 0)
        self.size = size  # cell side
        self.shape = shape  # (nx, ny)
        self.state = state  # per cell: rank if covered, EMPTY or MIXED
        self.starts = starts  # CSR: candidates of cell c are cands[starts[c]:starts[c + 1]]
        self.cands = cands

    @classmethod
    def build(cls, geoms: np.ndarray, tree: shapely.STRtree) -> Grid:
        minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(geoms))
        width, height = max(maxx - minx, 1e-9), max(maxy - miny, 1e-9)
        target = min(max(_GRID_CELLS_PER_POLYGON * len(geoms), 1024), _GRID_MAX_CELLS)
        size = math.sqrt(width * height / target)
        size = min(max(size, width / 4096, height / 4096), max(width, height))
        pad = 1e-6 * size + 1e-9 * max(abs(minx), abs(maxx), abs(miny), abs(maxy))
        x0, y0 = minx - pad, miny - pad
        nx = int((maxx + pad - x0) // size) + 1
        ny = int((maxy + pad - y0) // size) + 1
        cell = np.arange(nx * ny, dtype=np.int64)
        cx, cy = cell % nx, cell // nx
        boxes = shapely.box(
            x0 + cx * size - pad,
            y0 + cy * size - pad,
            x0 + (cx + 1) * size + pad,
            y0 + (cy + 1) * size + pad,
        )
        ci, gi = tree.query(boxes)  # box against box; then the exact test on prepared polygons
        meets = shapely.intersects(geoms[gi], boxes[ci])
        ci, gi = ci[meets], gi[meets]
        order = np.lexsort((gi, ci))
        ci, gi = ci[order], gi[order]
        counts = np.bincount(ci, minlength=nx * ny)
        starts = np.zeros(nx * ny + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        state = np.full(nx * ny, cls.MIXED, dtype=np.int64)
        state[counts == 0] = cls.EMPTY
        lone = np.flatnonzero(counts == 1)
        rank = gi[starts[lone]]
        covered = shapely.covers(geoms[rank], boxes[lone])
        state[lone[covered]] = rank[covered]
        return cls((x0, y0), size, (nx, ny), state, starts, gi.astype(np.int64))

    def lookup(self, geoms: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ranks (-1 = none) for coordinates ``x``, ``y`` (NaN gives -1)."""
        nx, ny = self.shape
        out = np.full(len(x), -1, dtype=np.int64)
        col = (x - self.origin[0]) / self.size
        row = (y - self.origin[1]) / self.size
        inside = np.flatnonzero((col >= 0) & (col < nx) & (row >= 0) & (row < ny))  # NaN: no
        cell = col[inside].astype(np.int64) + nx * row[inside].astype(np.int64)
        state = self.state[cell]
        covered = state >= 0
        out[inside[covered]] = state[covered]
        mixed = state == self.MIXED
        pts, cell = inside[mixed], cell[mixed]
        lo, hi = self.starts[cell], self.starts[cell + 1]
        counts = hi - lo
        pi = np.repeat(np.arange(len(pts)), counts)
        pos = np.arange(int(counts.sum()), dtype=np.int64) + np.repeat(
            lo - np.cumsum(counts) + counts, counts
        )
        gi = self.cands[pos]
        hit = shapely.intersects_xy(geoms[gi], x[pts[pi]], y[pts[pi]])
        out[pts] = first_per_point(pi[hit], gi[hit], len(pts))
        return out

    def save(self, path: Path) -> None:
        """Write the grid as plain arrays (``numpy.savez``; no pickles)."""
        np.savez(
            path,
            origin_size=np.array([*self.origin, self.size]),
            shape=np.array(self.shape, dtype=np.int64),
            state=self.state,
            starts=self.starts,
            cands=self.cands,
        )

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], n_polygons: int) -> Grid:
        """Reopen what :meth:`save` wrote; ValueError when the arrays do not fit together."""
        x0, y0, size = (float(v) for v in arrays["origin_size"])
        nx, ny = (int(v) for v in arrays["shape"])
        state, starts, cands = arrays["state"], arrays["starts"], arrays["cands"]
        if (
            len(state) != nx * ny
            or len(starts) != nx * ny + 1
            or int(starts[-1]) != len(cands)
            or (len(cands) and (cands.min() < 0 or cands.max() >= n_polygons))
            or state.max(initial=-1) >= n_polygons
        ):
            raise ValueError("grid arrays do not fit together")
        return cls((x0, y0), size, (nx, ny), state, starts, cands)


class Level:
    """One level's polygons, ids and indexes; position in the arrays is the tie-break rank."""

    __slots__ = (
        "name",
        "id_col",
        "ids",
        "geoms",
        "rtree",
        "_strtree",
        "_grid",
        "_pa_ids",
        "_rtree_lock",
        "_build_lock",
    )

    def __init__(
        self,
        name: str,
        id_col: str,
        ids: np.ndarray,
        geoms: np.ndarray,
        rtree: rindex.Index,
        grid: Grid | None = None,
    ) -> None:
        self.name = name
        self.id_col = id_col
        self.ids = ids  # object array of str, sorted ascending: rank == position
        self.geoms = geoms  # object array of prepared (Multi)Polygons, same order
        self.rtree = rtree  # entry ids are ranks
        self._strtree: shapely.STRtree | None = None
        self._grid = grid
        self._pa_ids: pa.Array | None = None
        self._rtree_lock = threading.Lock()  # libspatialindex: one query at a time
        self._build_lock = threading.RLock()  # lazy indexes: built once, by one thread

    @property
    def strtree(self) -> shapely.STRtree:
        # Built when first needed (small batches, tolerance, building the grid): cheap, and
        # a locator used one point at a time never needs it.
        if self._strtree is None:
            with self._build_lock:
                if self._strtree is None:
                    self._strtree = shapely.STRtree(self.geoms)
        return self._strtree

    @property
    def grid(self) -> Grid:
        # Built on the first large batch (or by save(), which stores it).
        if self._grid is None:
            with self._build_lock:
                if self._grid is None:
                    self._grid = Grid.build(self.geoms, self.strtree)
        return self._grid

    def id_array(self, ranks: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """Ids for ``ranks`` (-1 = none) as a pandas "string" array with <NA>."""
        if self._pa_ids is None:
            with self._build_lock:
                if self._pa_ids is None:
                    self._pa_ids = pa.array(self.ids.tolist(), type=pa.large_string())
        taken = self._pa_ids.take(pa.array(ranks, mask=ranks < 0))
        return pd.array(taken, dtype=pd.StringDtype("pyarrow"))

    def close(self) -> None:
        """Close the rtree (and its files, for a loaded level)."""
        with self._rtree_lock:
            self.rtree.close()

    # -- one point -------------------------------------------------------------------------
    def locate_one(self, x: float, y: float, tolerance: float) -> str | None:
        # The STRtree's box query (thread-safe: GEOS builds the tree once, queries only read
        # it), then the exact covers test on the prepared candidates; the smallest rank wins.
        cands = self.strtree.query(shapely.Point(x, y))
        best = -1
        if len(cands):
            hit = cands[shapely.intersects_xy(self.geoms[cands], x, y)]
            if len(hit):
                best = int(hit.min())
        if best < 0 and tolerance > 0:
            best = self._nearest_one(x, y, tolerance)
        return None if best < 0 else self.ids[best]

    def _nearest_one(self, x: float, y: float, tolerance: float) -> int:
        box = (x - tolerance, y - tolerance, x + tolerance, y + tolerance)
        with self._rtree_lock:
            cands = np.fromiter(self.rtree.intersection(box), dtype=np.int64)
        if cands.size == 0:
            return -1
        cands.sort()
        dist = shapely.distance(self.geoms[cands], shapely.Point(x, y))
        ok = dist <= tolerance
        if not ok.any():
            return -1
        cands, dist = cands[ok], dist[ok]
        return int(cands[np.argmin(dist)])  # argmin: first of equal distances = lowest rank

    # -- many points -----------------------------------------------------------------------
    def locate_bulk(
        self, x: np.ndarray, y: np.ndarray, pts: np.ndarray | None, tolerance: float
    ) -> np.ndarray:
        """Return ranks (-1 = none) for finite ``x``, ``y``; ``pts``: their Points, if made."""
        n = len(x)
        if n >= GRID_MIN_POINTS:
            out = self.grid.lookup(self.geoms, x, y)
        else:
            if pts is None:
                pts = shapely.points(x, y)
            pi, gi = self.strtree.query(pts)  # box candidates; exact test below
            hit = shapely.intersects_xy(self.geoms[gi], x[pi], y[pi])
            out = first_per_point(pi[hit], gi[hit], n)
        if tolerance > 0:
            miss = np.flatnonzero(out < 0)
            if miss.size:
                out[miss] = self._nearest_bulk(x[miss], y[miss], tolerance)
        return out

    def _nearest_bulk(self, x: np.ndarray, y: np.ndarray, tolerance: float) -> np.ndarray:
        out = np.full(len(x), -1, dtype=np.int64)
        boxes = shapely.box(x - tolerance, y - tolerance, x + tolerance, y + tolerance)
        pi, gi = self.strtree.query(boxes)
        if pi.size == 0:
            return out
        dist = shapely.distance(self.geoms[gi], shapely.points(x[pi], y[pi]))
        ok = dist <= tolerance
        pi, gi, dist = pi[ok], gi[ok], dist[ok]
        order = np.lexsort((gi, dist, pi))  # by point, then distance, then rank
        pi, gi = pi[order], gi[order]
        first = np.ones(len(pi), dtype=bool)
        first[1:] = pi[1:] != pi[:-1]
        out[pi[first]] = gi[first]
        return out


def _bounds_arrays(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = shapely.bounds(geoms)
    return (
        np.arange(len(geoms), dtype=np.int64),
        np.ascontiguousarray(b[:, :2]),
        np.ascontiguousarray(b[:, 2:]),
    )


def memory_rtree(geoms: np.ndarray) -> rindex.Index:
    return rindex.Index(_bounds_arrays(geoms), interleaved=True)


def disk_rtree(stem: Path, geoms: np.ndarray) -> rindex.Index:
    props = rindex.Property()
    props.dimension = 2
    props.overwrite = True
    return rindex.Index(str(stem), _bounds_arrays(geoms), properties=props, interleaved=True)
