"""The naive baseline a hotspot map must beat, and the best map possible, at a given coverage.

The honest test of a hotspot map (Chainey, Tompson & Uhlig 2008) compares it, at the same
coverage, with the naive map: the cells that were busiest in the months the map was drawn
from. :class:`CellAreas` is a grid of square cells (100 m by default) over the study area,
each with its area inside the study area; :func:`ranked_hits` takes cells in rank order until
their area reaches a target and counts the incidents in them, sharing a tie at the cut-off
(every cell of the tied group counts for the same fraction: the expected result of breaking the
tie at random).

* naive: cells ranked by their training count, test incidents counted;
* best possible: cells ranked by their own test count (the PEI denominator: PEI is the PAI
  over the best PAI possible with these cells at that coverage).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray

from beatplan.hotspots.grid import Grid
from beatplan.hotspots.study_area import StudyArea

__all__ = ["BASELINE_CELL", "CellAreas", "pai", "rank_cells", "ranked_hits"]

#: Side of the naive baseline's cells, in metres.
BASELINE_CELL = 100.0
#: Cells crossing the study area's edge have their inside share measured on this many
#: points a side.
_SUBSAMPLE = 10
#: Cells are first judged in blocks of this many a side.
_BLOCK = 16


@dataclass(frozen=True)
class CellAreas:
    """A grid over the study area and each cell's area inside it.

    Attributes
    ----------
    grid : Grid
    area : ndarray, shape (grid.size,)
        Square metres of each cell inside the study area (cells crossing its edge measured
        on a 10 x 10 lattice of points, to 1 % of a cell).
    total : float
        The study area's area (m²).
    """

    grid: Grid
    area: NDArray[np.float64]
    total: float

    @classmethod
    def over(cls, study_area: StudyArea, cell: float = BASELINE_CELL) -> CellAreas:
        """Build the grid of ``cell`` metres over ``study_area`` (origin on a multiple of it).

        Examples
        --------
        >>> import shapely
        >>> sa = StudyArea(shapely.box(0, 0, 250, 100), "given")
        >>> ca = CellAreas.over(sa, 100.0)
        >>> ca.area.tolist(), ca.total
        ([10000.0, 10000.0, 5000.0], 25000.0)
        """
        geom = study_area.geometry
        grid = Grid.covering(geom.bounds, cell, max_cells=256_000_000)
        whole, edge = _whole_and_edge(geom, grid)
        area = np.where(whole, grid.cell_area, 0.0)
        if len(edge):
            row, col = np.divmod(edge, grid.nx)
            s = (np.arange(_SUBSAMPLE) + 0.5) / _SUBSAMPLE * cell
            sx, sy = np.meshgrid(s, s)
            px = (grid.x0 + col * cell)[:, None] + sx.ravel()[None, :]
            py = (grid.y0 + row * cell)[:, None] + sy.ravel()[None, :]
            inside = shapely.intersects_xy(geom, px.ravel(), py.ravel()).reshape(px.shape)
            area[edge] = inside.mean(axis=1) * grid.cell_area
        return cls(grid, area, study_area.area_m2)

    def counts(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """Return the points in each cell (flat, shape ``(grid.size,)``); off-grid ones ignored."""
        flat = self.grid.locate(np.asarray(xy, dtype=float))
        return np.bincount(flat[flat >= 0], minlength=self.grid.size).astype(float)


def _whole_and_edge(
    geom: shapely.Geometry, grid: Grid
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Return which cells lie wholly inside ``geom``, and the cells crossing its edge.

    Blocks of :data:`_BLOCK` x :data:`_BLOCK` cells are judged first; only the cells of the
    blocks crossing the edge are judged one by one.
    """
    blocks = Grid(grid.x0, grid.y0, grid.cell * _BLOCK, -(-grid.nx // _BLOCK),
                  -(-grid.ny // _BLOCK))  # fmt: skip
    bbox = blocks.boxes(np.arange(blocks.size))
    btouch = shapely.intersects(geom, bbox)
    bwhole = np.zeros(blocks.size, dtype=bool)
    bwhole[btouch] = shapely.contains_properly(geom, bbox[btouch])
    row, col = np.divmod(np.arange(grid.size), grid.nx)
    block = (row // _BLOCK) * blocks.nx + col // _BLOCK
    whole = bwhole[block]
    cand = np.flatnonzero(btouch[block] & ~whole)
    boxes = grid.boxes(cand)
    touch = shapely.intersects(geom, boxes)
    inner = np.zeros(len(cand), dtype=bool)
    inner[touch] = shapely.contains_properly(geom, boxes[touch])
    whole[cand[inner]] = True
    return whole, cand[touch & ~inner]


def ranked_hits(
    rank: NDArray[np.float64],
    hits: NDArray[np.float64],
    area: NDArray[np.float64],
    target: float,
) -> float:
    """Count ``hits`` in the best-ranked cells until their ``area`` reaches ``target``.

    Cells are taken by ``rank``, highest first; the group of cells tied at the cut-off
    counts for the fraction of its area that is still needed (ties shared). Cells without
    area take no part.

    Parameters
    ----------
    rank : ndarray
        One value per cell (e.g. a training count).
    hits : ndarray
        What is counted per cell (e.g. the test count).
    area : ndarray
        Each cell's area (m²).
    target : float
        The area to cover (m²).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> rank = np.array([5.0, 3.0, 3.0, 1.0]); hits = np.array([4.0, 2.0, 0.0, 9.0])
    >>> ranked_hits(rank, hits, np.full(4, 100.0), 200.0)   # cell 0, half of cells 1 and 2
    5.0
    """
    ok = area > 0
    r, h, a = rank[ok], hits[ok], area[ok]
    if target <= 0 or len(r) == 0:
        return 0.0
    order = np.argsort(-r, kind="stable")
    r, h, a = r[order], h[order], a[order]
    cum = np.cumsum(a)
    if target >= cum[-1]:
        return float(h.sum())
    k = int(np.searchsorted(cum, target))  # the first cell whose cumulative area reaches it
    level = r[k]
    above = r > level
    tied = r == level
    frac = (target - float(a[above].sum())) / float(a[tied].sum())
    return float(h[above].sum() + frac * h[tied].sum())


def pai(hits: float, incidents: int, share: float) -> float:
    """PAI: the share of the incidents hit over the share of the area covered (NaN if none)."""
    return (hits / incidents) / share if incidents and share > 0 else math.nan


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
