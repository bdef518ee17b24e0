"""The default method: "spots", the busiest places at the scale the data are recorded at.

Police-recorded locations are snapped to anonymous map points (police.uk places every
incident on one of a set of points some 40-100 m apart; a US geocoder on a block centre), so
the data cannot say where crime is more precisely than the spacing of those points, and the
next month's crime comes back to the same points. A hotspot map that predicts therefore
ranks the places *at that scale*, busiest first, and draws their outline as tightly as the
points allow. All in metres of a projected CRS, vectorised (no loop per incident or cell):

1. **The spacing ``s`` of the map points.** The distinct locations (and the incidents at
   each) of the months recorded on the current set of map points
   (:func:`current_point_set`: police.uk regenerated its points in July 2022); their median
   nearest-neighbour distance, corrected for the points no incident has used yet by the
   Chao1 estimate of how many are in use (:func:`map_point_spacing`). A median of distances
   inside the study area: stray far-away points cannot move it.
2. **Three radii.** A spot is a disc of ``radius = s / 4`` (the core of a map point's
   catchment), at least 20 m (:data:`MIN_RADIUS`: a place a patrol can find, even where
   the data are recorded more finely); its rings reach ``2 radius`` and ``4 radius``.
3. **A fine grid** of ``cell = radius / 4`` (about 5 m on police.uk data): only the cells within
   ``2 radius`` of an incident are made (a sparse surface, :func:`spot_surface`), and those
   whose centre lies in the study area are candidates. Each gets ``c1``, ``c2``, ``c3``: the
   incidents (or weights) within one, two and four radii.
4. **Ranked** lexicographically by ``(c1, c2, c3)``: the spots holding the most incidents
   first, ties (police.uk counts are small whole numbers) by the incidents close by, then by
   the neighbourhood. After every spot that holds an incident come the rings around the
   busiest ones.
5. **Hot cells**: the first cells of that ranking, as many as cover ``coverage`` of the study
   area; by default those with ``c1`` at least ``threshold``: a *repeat* spot, two incidents
   per three months of data, ``max(2, ceil(2 T / 3))`` for ``T`` months (2 for three
   months), so the coverage is an outcome, stated.
6. **Hotspots**: hot cells touching (8-connectivity) are one patch; patches closer than two
   radii (:data:`JOIN_RADII`: a street corner and the shop opposite) are one hotspot; its
   outline is the union of its cells, simplified by half a cell and clipped to the study
   area. Each incident belongs to the hotspot whose outline holds it.

There is no significance test: the busiest location of the data is always inside the first
hotspot (its own count is a lower bound of ``c1`` at its own cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from beatplan.geo.errors import ValidationError
from beatplan.hotspots.grid import distinct_locations, nearest_distances
from beatplan.hotspots.method import Found, HotspotMethod
from beatplan.hotspots.result import clipped
from beatplan.hotspots.study import Study
from beatplan.hotspots.study_area import StudyArea, derive_study_area

__all__ = [
    "CELLS_PER_RADIUS",
    "JOIN_RADII",
    "MAX_COVERAGE",
    "MIN_RADIUS",
    "RADII_PER_SPACING",
    "SpotMethod",
    "SpotSurface",
    "current_point_set",
    "hottest_cells",
    "map_point_spacing",
    "spot_surface",
]

#: A spot's radius is the spacing of the map points over this.
RADII_PER_SPACING = 4.0
#: The outline cells are the radius over this.
CELLS_PER_RADIUS = 4.0
#: The smallest default radius of a spot (metres): 40 m across, a place a patrol can find.
MIN_RADIUS = 20.0
#: Without ``coverage=``, the hot cells cover at most this share of the study area: the
#: threshold rule gives 0.03-0.25 % on the real forces, where the method beat the naive
#: baseline in every fold up to 0.5 % (at 1 % it only ties on some); very dense data (every
#: map point a repeat) would otherwise cover several per cent.
MAX_COVERAGE = 0.005
#: Hot patches closer than this many radii are one hotspot (the spot's own ring, ``c2``).
#: Four radii (the spacing) chain patches along busy streets: on Leicestershire's last three
#: months the first hotspot became 363 patches over 3.8 km of the city centre; with two the
#: largest spans 0.5 km. The union, so the coverage and the PAI, is the same either way.
JOIN_RADII = 2.0
#: The sparse disc sums expand at most this many (cell, offset) pairs at once.
_CHUNK = 16_000_000


# --------------------------------------------------------------------------- the scale


def current_point_set(
    xy: NDArray[np.float64], month: NDArray[np.int64], seed: int = 0
) -> tuple[NDArray[np.bool_], str]:
    """Return which incidents were recorded on the latest month's set of map points, and why.

    police.uk regenerated its anonymous map points in July 2022: only about 3 % carried over,
    the new ones a median 40-50 m from the old. A month is on another set of points when the
    share of its incidents sitting on a location used in the latest month is below a third of
    the same share between two random halves of the latest month (a benchmark at the data's
    own sampling density). Used only for the spacing: every month's incidents still count.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
    month : ndarray of int, shape (n,)
        Each incident's month (any whole-number month index; -1: unknown, kept).
    seed : int
        Seed of the random halves.

    Returns
    -------
    keep : ndarray of bool
    note : str
    """
    month = np.asarray(month)
    known = month >= 0
    if known.sum() == 0 or len(np.unique(month[known])) < 2:
        return np.ones(len(xy), dtype=bool), ""
    key = _location_keys(xy)
    last = month == month[known].max()
    latest = key[last]
    half = np.random.default_rng(seed).random(len(latest)) < 0.5
    bench = (
        float(np.isin(latest[half], latest[~half]).mean()) if half.any() and (~half).any() else 0.0
    )
    on_latest = np.isin(key, latest)
    months, codes = np.unique(month, return_inverse=True)
    share = np.bincount(codes, weights=on_latest) / np.bincount(codes)
    same = (share >= bench / 3) | (months == month[known].max()) | (months < 0)
    keep = same[codes]
    dropped = months[~same]
    note = (
        f"; {len(dropped)} month{'s' if len(dropped) != 1 else ''} on another set of map points "
        "(few of their locations used in the latest month) left out of it"
        if len(dropped) else ""
    )  # fmt: skip
    return keep, note


def _location_keys(xy: NDArray[np.float64]) -> NDArray[np.int64]:
    """One integer per location, equal for points within the same 0.1 m."""
    return np.asarray(
        pd.factorize(np.round(xy[:, 0], 1) + 1j * np.round(xy[:, 1], 1))[0], dtype=np.int64
    )


def map_point_spacing(
    unique: NDArray[np.float64], counts: NDArray[np.int64] | NDArray[np.float64]
) -> tuple[float, float, float]:
    """Return the spacing of the map points ``s``, the spacing seen, and the share seen.

    The median nearest-neighbour distance between the locations *seen* overstates the
    spacing of the map points when few incidents are recorded, because most points have not
    been used yet. The bias-corrected Chao1 estimate of the points in use, seen or not,
    ``N = n + f1 (f1 - 1) / (2 (f2 + 1))`` (``f1``, ``f2``: locations holding one and two
    incidents), corrects it: nearest-neighbour distances scale as ``1 / sqrt(density)``, so
    ``s = seen * sqrt(n / N)``.

    Parameters
    ----------
    unique : ndarray, shape (m, 2)
        Distinct locations.
    counts : ndarray, shape (m,)
        Incidents at each (whole numbers).

    Returns
    -------
    spacing, seen, share : float

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0.0], [80.0, 0.0], [0.0, 80.0], [80.0, 80.0]])
    >>> map_point_spacing(xy, np.array([5, 5, 5, 5]))     # every point seen often: as seen
    (80.0, 80.0, 1.0)
    """
    seen = float(np.median(nearest_distances(unique, 1)))
    n = np.asarray(counts)
    f1, f2 = float(np.sum(n == 1)), float(np.sum(n == 2))
    m = float(len(n))
    chao = m + f1 * (f1 - 1) / (2 * (f2 + 1))
    share = m / chao if chao > 0 else 1.0
    return seen * math.sqrt(share), seen, share


# --------------------------------------------------------------------------- the surface


@dataclass(frozen=True)
class SpotSurface:
    """The candidate cells of a fine grid, ranked, with the incidents near each.

    Attributes
    ----------
    x0, y0, cell : float
        The fine grid's origin and cell; a cell's id is ``row * nx + col``.
    nx : int
    ids : ndarray of int64
        The candidate cells, best first.
    c1, c2, c3 : ndarray
        Incidents (or weights) within one, two and four radii of each cell's centre.
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ids: NDArray[np.int64]
    c1: NDArray[np.float64]
    c2: NDArray[np.float64]
    c3: NDArray[np.float64]

    def centres(self, ids: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return the x and y of the centres of cells ``ids``."""
        row, col = np.divmod(ids, self.nx)
        return self.x0 + (col + 0.5) * self.cell, self.y0 + (row + 0.5) * self.cell

    def boxes(self, ids: NDArray[np.int64]) -> NDArray[np.object_]:
        """Return the squares of cells ``ids``."""
        row, col = np.divmod(ids, self.nx)
        x, y = self.x0 + col * self.cell, self.y0 + row * self.cell
        return shapely.box(x, y, x + self.cell, y + self.cell)


@dataclass(frozen=True)
class _Lattice:
    """The fine grid (and the coarse one of one radius) over the locations and the area."""

    x0: float
    y0: float
    cell: float
    nx: int
    radius: float
    cnx: int
    fine: tuple[NDArray[np.int64], NDArray[np.float64]]  # occupied cells and their weight
    coarse: tuple[NDArray[np.int64], NDArray[np.float64]]

    @classmethod
    def of(
        cls,
        unique: NDArray[np.float64],
        weight: NDArray[np.float64],
        area: StudyArea,
        *,
        radius: float,
        cell: float,
    ) -> _Lattice:
        """Lay the grids over the locations and the study area, padded for every disc."""
        pad = (RADII_PER_SPACING + 1) * radius + 2 * cell
        minx, miny, maxx, maxy = area.geometry.bounds
        lo = np.minimum([minx, miny], unique.min(axis=0)) - pad
        hi = np.maximum([maxx, maxy], unique.max(axis=0)) + pad
        x0 = math.floor(lo[0] / cell) * cell
        y0 = math.floor(lo[1] / cell) * cell
        nx = int(math.ceil((hi[0] - x0) / cell)) + 1
        cnx = int(math.ceil((hi[0] - x0) / radius)) + 1
        fine = _occupied(unique, weight, x0, y0, cell, nx)
        coarse = _occupied(unique, weight, x0, y0, radius, cnx)
        return cls(x0, y0, cell, nx, radius, cnx, fine, coarse)

    def within(self, radii: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
        """Return the cells within ``radii`` radii of a location and the weight each sees."""
        return _disc_sums(*self.fine, _offsets(radii * self.radius / self.cell, self.nx))

    def inside(self, ids: NDArray[np.int64], area: StudyArea) -> NDArray[np.bool_]:
        """Return which cells have their centre in the study area."""
        row, col = np.divmod(ids, self.nx)
        cx = self.x0 + (col + 0.5) * self.cell
        cy = self.y0 + (row + 0.5) * self.cell
        return area.inside(np.c_[cx, cy])

    def rings(self, ids: NDArray[np.int64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Return ``c2`` and ``c3`` of cells ``ids``: the weight within two and four radii."""
        near, c2v = self.within(2.0)
        c2 = _lookup(near, c2v, ids)
        ids3, c3v = _disc_sums(*self.coarse, _offsets(RADII_PER_SPACING, self.cnx))
        row, col = np.divmod(ids, self.nx)
        ratio = self.cell / self.radius
        parent = np.floor((row + 0.5) * ratio).astype(np.int64) * self.cnx + np.floor(
            (col + 0.5) * ratio
        ).astype(np.int64)
        return c2, _lookup(ids3, c3v, parent)

    def surface(
        self, ids: NDArray[np.int64], c1: NDArray[np.float64], c2: NDArray[np.float64],
        c3: NDArray[np.float64],
    ) -> SpotSurface:  # fmt: skip
        """Return the cells ranked by ``(c1, c2, c3)``, highest first (exact ties by position)."""
        order = np.lexsort((ids, -c3, -c2, -c1))
        return SpotSurface(self.x0, self.y0, self.cell, self.nx, ids[order], c1[order],
                           c2[order], c3[order])  # fmt: skip


def spot_surface(
    unique: NDArray[np.float64],
    weight: NDArray[np.float64],
    area: StudyArea,
    *,
    radius: float,
    cell: float,
    reach: float = 2.0,
) -> SpotSurface:
    """Count the incidents within one, two and four ``radius`` of the fine cells near them.

    Parameters
    ----------
    unique : ndarray, shape (m, 2)
        Distinct locations.
    weight : ndarray, shape (m,)
        Incidents (or summed weights) at each.
    area : StudyArea
        Only cells whose centre lies in it are candidates.
    radius : float
        A spot's radius (metres).
    cell : float
        The fine cell (metres), a fraction of ``radius``.
    reach : float
        Candidates are the cells within ``reach`` radii of a location (2: the spots and their
        rings; 4: out to the neighbourhood, when a large coverage needs more).

    Returns
    -------
    SpotSurface
        Ranked by ``(c1, c2, c3)``, highest first (exact ties by position).
    """
    grid = _Lattice.of(unique, weight, area, radius=radius, cell=cell)
    ids, _ = grid.within(reach)
    ids = ids[grid.inside(ids, area)]
    ids1, c1v = grid.within(1.0)
    c1 = _lookup(ids1, c1v, ids)
    c2, c3 = grid.rings(ids)
    return grid.surface(ids, c1, c2, c3)


def hottest_cells(
    unique: NDArray[np.float64],
    weight: NDArray[np.float64],
    area: StudyArea,
    *,
    radius: float,
    cell: float,
    threshold: float | None = None,
    k: int | None = None,
) -> SpotSurface:
    """Return the hot cells, ranked: those whose spot holds ``threshold``, or the best ``k``.

    The same cells as the first ones of :func:`spot_surface`, with less work: the spots'
    counts ``c1`` come first, and the rings ``c2``, ``c3`` are counted only when they must
    break a tie at the cut (or when ``k`` reaches past the spots, to the rings). With both
    ``threshold`` and ``k``, at most ``k`` of the cells that reach the threshold.

    Returns
    -------
    SpotSurface
        The hot cells only, best first; ``c2`` and ``c3`` are NaN where they were not needed.
    """
    grid = _Lattice.of(unique, weight, area, radius=radius, cell=cell)
    ids, c1 = grid.within(1.0)
    inside = grid.inside(ids, area)
    ids, c1 = ids[inside], c1[inside]
    if threshold is not None:
        hot = c1 >= threshold - 1e-9
        if k is None or int(hot.sum()) <= k:
            nan = np.full(int(hot.sum()), np.nan)
            return grid.surface(ids[hot], c1[hot], nan, nan)
        ids, c1 = ids[hot], c1[hot]
    if k is None:
        raise ValueError("hottest_cells: give a threshold or k")
    if k > len(ids):  # past the spots: the rings round them (and farther) are needed
        for reach in (2.0, RADII_PER_SPACING):
            full = spot_surface(unique, weight, area, radius=radius, cell=cell, reach=reach)
            if k <= len(full.ids) or reach == RADII_PER_SPACING:
                return _first(full, k)
    order = np.argsort(-c1, kind="stable")
    level = c1[order[k - 1]]
    above = c1 > level
    tied = np.flatnonzero(c1 == level)
    c2 = np.full(len(ids), np.nan)
    c3 = np.full(len(ids), np.nan)
    if int(above.sum()) + len(tied) > k:  # the rings break the tie at the cut
        c2[tied], c3[tied] = grid.rings(ids[tied])
    ranked = grid.surface(ids, c1, np.nan_to_num(c2, nan=-1.0), np.nan_to_num(c3, nan=-1.0))
    return _first(replace(ranked, c2=np.where(ranked.c2 < 0, np.nan, ranked.c2),
                          c3=np.where(ranked.c3 < 0, np.nan, ranked.c3)), k)  # fmt: skip


def _first(surface: SpotSurface, k: int) -> SpotSurface:
    """Return the first ``k`` cells of a ranked surface."""
    return replace(surface, ids=surface.ids[:k], c1=surface.c1[:k], c2=surface.c2[:k],
                   c3=surface.c3[:k])  # fmt: skip


def _occupied(
    unique: NDArray[np.float64], weight: NDArray[np.float64], x0: float, y0: float,
    cell: float, nx: int,
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:  # fmt: skip
    """Return the occupied cells of a grid (sorted ids) and the weight in each."""
    col = np.floor((unique[:, 0] - x0) / cell).astype(np.int64)
    row = np.floor((unique[:, 1] - y0) / cell).astype(np.int64)
    ids, inverse = np.unique(row * nx + col, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=weight, minlength=len(ids))
    return np.asarray(ids, dtype=np.int64), np.asarray(sums, dtype=float)


def _offsets(radius_cells: float, nx: int) -> NDArray[np.int64]:
    """Return the id offsets of the cells whose centres lie within ``radius_cells`` cells."""
    r = int(math.floor(radius_cells + 1e-9))
    d = np.arange(-r, r + 1)
    dx, dy = np.meshgrid(d, d)
    keep = dx * dx + dy * dy <= radius_cells * radius_cells * (1 + 1e-9)
    return np.asarray(dy[keep] * nx + dx[keep], dtype=np.int64)


def _disc_sums(
    ids: NDArray[np.int64], weight: NDArray[np.float64], offsets: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Return every cell within the disc of an occupied cell (sorted) and the weight it sees.

    A sparse moving-window sum: each occupied cell spreads its weight over its disc; memory is
    bounded by expanding at most :data:`_CHUNK` (cell, offset) pairs at once.
    """
    step = max(1, _CHUNK // max(len(offsets), 1))
    parts_ids, parts_sum = [], []
    for start in range(0, len(ids), step):  # a few chunks, each vectorised
        spread = (ids[start : start + step, None] + offsets[None, :]).ravel()
        values = np.repeat(weight[start : start + step], len(offsets))
        codes, cells = pd.factorize(spread, sort=False)  # hashing: faster than sorting all
        parts_ids.append(np.asarray(cells, dtype=np.int64))
        parts_sum.append(np.bincount(codes, weights=values, minlength=len(cells)))
    cells = np.concatenate(parts_ids)
    total = np.concatenate(parts_sum)
    if len(parts_ids) > 1:
        codes, cells = pd.factorize(cells, sort=False)
        total = np.bincount(codes, weights=total, minlength=len(cells))
    order = np.argsort(cells, kind="stable")
    return np.asarray(cells, dtype=np.int64)[order], np.asarray(total, dtype=float)[order]


def _lookup(
    ids: NDArray[np.int64], values: NDArray[np.float64], query: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Return ``values`` at ``query`` in the sorted ``ids`` (0 where absent)."""
    if len(ids) == 0:
        return np.zeros(len(query))
    pos = np.clip(np.searchsorted(ids, query), 0, len(ids) - 1)
    return np.where(ids[pos] == query, values[pos], 0.0)


# --------------------------------------------------------------------------- the hotspots


def _grouped(
    surface: SpotSurface, cells: NDArray[np.int64], gap: float
) -> tuple[NDArray[np.object_], NDArray[np.int64], NDArray[np.int64]]:
    """Return the hotspots: 8-connected hot cells, patches within ``gap`` of each other joined.

    Returns the outlines (unions of the cells), the hot cells (sorted) and each one's hotspot.
    """
    cells = np.sort(cells)
    n = len(cells)
    rows, cols = [], []
    for step in (1, surface.nx - 1, surface.nx, surface.nx + 1):  # the 4 forward neighbours
        pos = np.clip(np.searchsorted(cells, cells + step), 0, n - 1)
        hit = cells[pos] == cells + step
        rows.append(np.flatnonzero(hit))
        cols.append(pos[hit])
    r, c = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n, n))
    _, patch = connected_components(graph, directed=False)
    patches = _patch_outlines(surface, cells, patch)
    # patches closer than the gap are one hotspot
    tree = shapely.STRtree(patches)
    a, b = tree.query(patches, predicate="dwithin", distance=gap)
    k = len(patches)
    _, spot = connected_components(
        coo_matrix((np.ones(len(a), dtype=bool), (a, b)), shape=(k, k)), directed=False
    )
    parts, which = shapely.get_parts(patches, return_index=True)
    order = np.argsort(spot[which], kind="stable")
    outlines = shapely.multipolygons(parts[order], indices=spot[which][order])
    return np.asarray(outlines), cells, spot[patch]


def _patch_outlines(
    surface: SpotSurface, cells: NDArray[np.int64], patch: NDArray[np.int64]
) -> NDArray[np.object_]:
    """Return each patch's outline, the union of its cells, built from runs along the rows.

    Consecutive hot cells of a row make one rectangle (a few times fewer shapes than cells);
    the rectangles of each patch are merged in one vectorised call (a zero buffer: their
    edges do not share vertices, so they are no coverage for ``coverage_union``).
    """
    starts = np.r_[True, (cells[1:] != cells[:-1] + 1) | (cells[1:] % surface.nx == 0)]
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(cells)] - 1
    row, col0 = np.divmod(cells[first], surface.nx)
    col1 = cells[last] % surface.nx + 1
    g = surface.cell
    x0, y0 = surface.x0 + col0 * g, surface.y0 + row * g
    runs = shapely.box(x0, y0, surface.x0 + col1 * g, y0 + g)
    owner = patch[first]
    order = np.argsort(owner, kind="stable")
    collections = shapely.geometrycollections(runs[order], indices=owner[order])
    return np.asarray(shapely.buffer(collections, 0.0))


def _outlines(
    surface: SpotSurface, cells: NDArray[np.int64], gap: float, area: StudyArea
) -> tuple[NDArray[np.object_], NDArray[np.int64], NDArray[np.int64]]:
    """Return the outlines (simplified by half a cell, clipped), hot cells and their hotspot.

    A hotspot whose outline vanishes (clipped away) is dropped; its cells get -1.
    """
    hot, cells, spot = _grouped(surface, cells, gap)
    hot = shapely.simplify(hot, surface.cell / 2)  # topology kept: valid, but check
    bad = ~shapely.is_valid(hot)
    if bad.any():
        hot[bad] = shapely.make_valid(hot[bad])
    hot = clipped(hot, area, disjoint=True)
    mixed = np.flatnonzero(shapely.get_type_id(hot) == 7)  # collections: keep their polygons
    if len(mixed):
        parts, which = shapely.get_parts(hot[mixed], return_index=True)
        polygonal = np.isin(shapely.get_type_id(parts), (3, 6))
        hot = hot.copy()
        hot[mixed] = shapely.Polygon()
        if polygonal.any():
            polys, sub = shapely.get_parts(parts[polygonal], return_index=True)
            owner = which[polygonal][sub]
            hot[mixed[np.unique(owner)]] = shapely.multipolygons(polys, indices=owner)
    keep = ~shapely.is_empty(hot) & (shapely.area(hot) > 0)
    renumber = np.full(len(hot), -1, dtype=np.int64)
    renumber[keep] = np.arange(int(keep.sum()))
    return np.asarray(hot[keep]), cells, renumber[spot]


@dataclass(frozen=True, kw_only=True)
class SpotMethod(HotspotMethod):
    """The busiest places at the scale of the map points (see the module notes).

    Parameters
    ----------
    spacing : float, optional
        The spacing of the map points ``s`` (metres). Default (:func:`map_point_spacing`):
        the median nearest-neighbour distance between the distinct locations of the months
        on the current set of map points, corrected by Chao1 for the points not used yet.
    radius : float, optional
        A spot's radius (metres); hot patches closer than two radii are one hotspot.
        Default: a quarter of the spacing, and at least :data:`MIN_RADIUS` (20 m: a spot a
        patrol can find, 40 m across, even where the data are recorded more finely).
    cell : float, optional
        The outline cells (metres). Default: a quarter of the radius.
    threshold : float, optional
        Without ``coverage``: the spots holding at least this many incidents (or this
        weight) within one radius are hot. Default: a repeat spot, two incidents per three
        months, ``max(2, ceil(2 * months / 3))``.
    """

    name: ClassVar[str] = "spots"
    distances: ClassVar[tuple[str, ...]] = ("cell", "spacing", "radius")
    rank_by: ClassVar[str] = "incidents"
    takes_coverage: ClassVar[bool] = True
    needs_months: ClassVar[bool] = True

    spacing: float | None = None
    radius: float | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        t = self.threshold
        if t is not None and not (isinstance(t, int | float) and math.isfinite(t) and t > 0):
            raise ValidationError(
                "threshold", [f"threshold={t!r}: give a number of incidents above 0"]
            )

    @property
    def reach(self) -> float:
        """A spot's radius (resolved)."""
        assert self.radius is not None  # resolved
        return float(self.radius)

    def resolved(self, study: Study) -> tuple[Self, dict[str, str]]:
        """Fill the spacing, the cell and the threshold from the data."""
        how: dict[str, str] = {}
        spacing = self.spacing
        if spacing is None:
            spacing, how["spacing"] = self._spacing_rule(study)
        else:
            how["spacing"] = "given"
        radius = self.radius
        if radius is None:
            radius = max(spacing / RADII_PER_SPACING, MIN_RADIUS)
            how["radius"] = (
                f"the spacing over {RADII_PER_SPACING:g} (the core of a map point's catchment)"
                + (f", raised to {MIN_RADIUS:g} m: a spot a patrol can find"
                   if radius > spacing / RADII_PER_SPACING else "")
            )  # fmt: skip
        else:
            how["radius"] = "given"
        cell = self.cell
        if cell is None:
            cell = radius / CELLS_PER_RADIUS
            how["cell"] = f"the radius over {CELLS_PER_RADIUS:g}: outlines to {cell:.1f} m"
        else:
            how["cell"] = "given"
        threshold = self.threshold
        if threshold is None:
            months = study.months_spanned
            threshold = float(max(2, math.ceil(2 * months / 3)))
            how["threshold"] = (
                f"a repeat spot: two incidents within a radius per three months of data "
                f"({months} month{'s' if months != 1 else ''}: {threshold:g}), at least 2"
            )
        else:
            how["threshold"] = "given"
        return replace(self, spacing=float(spacing), radius=float(radius), cell=float(cell),
                       threshold=float(threshold)), how  # fmt: skip

    @staticmethod
    def _spacing_rule(study: Study) -> tuple[float, str]:
        xy, note = study.xy, ""
        if study.months is not None:
            current, note = current_point_set(study.xy, study.months)
            xy = study.xy[current]
        unique, _, counts = study.locations if xy is study.xy else distinct_locations(xy)
        if len(unique) < 2:
            raise ValidationError(
                "spacing", ["the incidents lie at fewer than 2 distinct locations: give "
                            "spacing= in metres"]
            )  # fmt: skip
        spacing, seen, share = map_point_spacing(unique, counts)
        return spacing, (
            f"median nearest-neighbour distance between the {len(unique):,} distinct locations "
            f"({seen:.1f} m), times sqrt of the share of map points seen ({share:.2f}, Chao1): "
            f"{spacing:.1f} m{note}"
        )

    def run(
        self, study: Study, *, min_incidents: int | None, coverage: float | None = None
    ) -> Found:
        """Rank the fine cells, take the hot ones, group them into outlined hotspots."""
        assert self.cell is not None and self.threshold is not None  # resolved
        area = _area_of(study)
        unique, inverse, counts = study.locations
        weight: NDArray[np.float64] = (
            counts.astype(float) if study.weights is None
            else np.bincount(inverse, weights=study.weights, minlength=len(unique)).astype(float)
        )  # fmt: skip
        cell_area = self.cell * self.cell
        how: dict[str, str] = {}
        cap = int(math.floor(MAX_COVERAGE * area.area_m2 / cell_area + 1e-9))
        if coverage is not None:
            k = int(math.floor(coverage * area.area_m2 / cell_area + 1e-9))
            surface = hottest_cells(unique, weight, area, radius=self.reach, cell=self.cell,
                                    k=max(k, 1))  # fmt: skip
            how["coverage"] = (
                f"asked {coverage:g}: the first {len(surface.ids):,} cells of the ranking by "
                "incidents within one, two and four radii (the threshold is not used: past "
                "the repeat spots, places with a single incident fill the coverage)"
            )
        else:
            surface = hottest_cells(unique, weight, area, radius=self.reach, cell=self.cell,
                                    threshold=self.threshold, k=cap)  # fmt: skip
            how["coverage"] = (
                f"an outcome: the cells whose one-radius disc holds at least {self.threshold:g} "
                f"incident{'s' if self.threshold != 1 else ''}"
            ) + (
                f", at most {MAX_COVERAGE:.1%} of the study area (a patrollable map; "
                "the busiest first)" if len(surface.ids) == cap else ""
            )  # fmt: skip
        k = len(surface.ids)
        hot_cells = surface.ids[: min(k, len(surface.ids))]
        fewest = 1 if min_incidents is None else int(min_incidents)
        how["min_incidents"] = (
            "given" if min_incidents is not None else "1: a hotspot holds an incident"
        )
        params: dict[str, Any] = {
            "spacing": round(float(self.spacing or 0), 2), "radius": round(self.reach, 2),
            "cell": round(self.cell, 3), "threshold": self.threshold,
            "region_km2": round(area.km2, 6), "min_incidents": fewest,
        }  # fmt: skip
        how["region_km2"] = "the study area"
        params["join_m"] = round(JOIN_RADII * self.reach, 2)
        how["join_m"] = (
            f"hot patches closer than {JOIN_RADII:g} radii are one hotspot (a corner and the "
            "shop opposite; farther, patches chain along busy streets)"
        )
        if len(hot_cells) == 0:
            return Found(np.full(study.n, -1, dtype=np.int64), {}, {}, params, how)
        gap = JOIN_RADII * self.reach
        outlines, cells, spot = _outlines(surface, hot_cells, gap, area)
        raw = _members(outlines, unique, surface, cells, spot, area)[inverse]
        peak = np.zeros(len(outlines))
        c1 = _lookup(np.sort(hot_cells), surface.c1[np.argsort(hot_cells)], cells)
        mine = spot >= 0
        np.maximum.at(peak, spot[mine], c1[mine])
        polygons = {i: outlines[i] for i in range(len(outlines))}
        return Found(raw, polygons, {i: float(peak[i]) for i in range(len(outlines))}, params, how)


def _area_of(study: Study) -> StudyArea:
    """Return the study's area (derived from its incidents when it has none)."""
    if study.study_area is not None:
        return study.study_area
    if study.area is not None:
        return StudyArea(study.area, "the area given")
    return derive_study_area(study.xy)


def _members(
    outlines: NDArray[np.object_],
    xy: NDArray[np.float64],
    surface: SpotSurface,
    cells: NDArray[np.int64],
    spot: NDArray[np.int64],
    area: StudyArea,
) -> NDArray[np.int64]:
    """Return each location's hotspot: the outline holding it (-1: none; one on two, the first).

    A location in a hot cell whose 8 neighbours are hot too lies at least a cell inside the
    hot cells' outline, so inside the outline simplified by half a cell: it takes that
    cell's hotspot at once (unless the cell crosses the study area's edge). Only the
    locations in or beside the edge of the hot cells are tested against the outlines.
    """
    raw = np.full(len(xy), -1, dtype=np.int64)
    if len(outlines) == 0:
        return raw
    col = np.floor((xy[:, 0] - surface.x0) / surface.cell).astype(np.int64)
    row = np.floor((xy[:, 1] - surface.y0) / surface.cell).astype(np.int64)
    own = row * surface.nx + col
    nx = surface.nx
    around = np.array([-nx - 1, -nx, -nx + 1, -1, 1, nx - 1, nx, nx + 1])
    hot = _is_in(cells, own)
    neighbours = _is_in(cells, own[:, None] + around[None, :])
    interior = hot & neighbours.all(axis=1)
    # near the study area's edge the outline may be clipped: test those locations too
    direct = interior & area.deep_inside(xy)
    pos = np.searchsorted(cells, own[direct])
    raw[direct] = spot[pos]
    test = np.flatnonzero(~direct & (hot | neighbours.any(axis=1)))
    if len(test):
        tree = shapely.STRtree(outlines)
        pts, hs = tree.query(shapely.points(xy[test]), predicate="intersects")
        pts, first = np.unique(pts, return_index=True)
        raw[test[pts]] = hs[first]
    return raw


def _is_in(sorted_ids: NDArray[np.int64], query: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Return whether each of ``query`` is among ``sorted_ids``."""
    pos = np.clip(np.searchsorted(sorted_ids, query), 0, len(sorted_ids) - 1)
    return np.asarray(sorted_ids[pos] == query)
