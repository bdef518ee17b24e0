"""Density clusters of incidents: exact grid DBSCAN and HDBSCAN, in bounded memory.

:func:`dbscan` gives the same core points and the same clusters as
:class:`sklearn.cluster.DBSCAN` (``metric="euclidean"``, with ``sample_weight``) on the raw
points, without ever building neighbour lists: the plane is cut into square cells small enough
that every point of a cell is within ``eps`` of every point in the 3 x 3 block around it, so most
core points are found by adding up cell weights, and only points near the edge of a dense area
are compared pair by pair, a bounded chunk at a time.

police.uk points are snapped to anonymous map points, so many incidents share one location.
Both functions count incidents per unique location and work on the locations with those counts
as weights, then give every incident its location's label.

:func:`hdbscan` runs :class:`sklearn.cluster.HDBSCAN` on a sparse mutual-reachability graph of the
unique locations, whose incidents are the leaves of the cluster tree (up to a budget of leaves,
beyond which heavy locations are capped and, for very many locations, merged into places); its
docstring says exactly where it is and is not the same as HDBSCAN on the raw points.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from beatplan.geo.errors import CRSError, EmptyInputError, ValidationError, check_option

__all__ = ["DensityClusters", "dbscan", "hdbscan"]

log = logging.getLogger("beatplan")

#: Point pairs compared per vectorised chunk: bounds the memory of the exact checks
#: (about 60 bytes a pair).
_CHUNK_PAIRS = 2_000_000
#: Largest padded cell-index grid (int32 entries) held as a dense array; beyond it cells are
#: looked up by binary search in their sorted keys.
_DENSE_GRID_MAX = 1 << 25
#: An ``eps`` below this, with coordinates spanning more than :data:`_DEGREE_SPAN`, is taken
#: to be in degrees.
_DEGREE_EPS = 0.01
_DEGREE_SPAN = 1000.0


@dataclass(frozen=True, eq=False)
class DensityClusters:
    """Cluster labels of a density clustering, one per input point.

    Attributes
    ----------
    labels : numpy.ndarray of int64, shape (n,)
        Cluster of each input point, ``-1`` for noise. Clusters are numbered ``0 .. k-1`` in the
        order of their first member in the input.
    core : numpy.ndarray of bool, shape (n,)
        Whether each point is a core point. For :func:`hdbscan`, points whose location is a
        member of a cluster (HDBSCAN has no core/border distinction of its own).
    params : dict
        Every parameter used and a few figures of the run (``n_points``, ``n_locations``,
        ``seconds`` ...), for reports.
    """

    labels: NDArray[np.int64]
    core: NDArray[np.bool_]
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        """Number of clusters found."""
        return int(self.labels.max()) + 1 if self.labels.size else 0

    @property
    def noise(self) -> NDArray[np.bool_]:
        """Mask of the points in no cluster."""
        return self.labels < 0


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------


def _as_points(xy: ArrayLike, func: str) -> NDArray[np.float64]:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValidationError(
            f"{func}(xy)",
            [
                f"xy has shape {arr.shape}; expected (n, 2) x/y coordinates in metres "
                "(e.g. shapely.get_coordinates(gdf.geometry))"
            ],
        )
    if arr.shape[0] == 0:
        raise EmptyInputError(
            f"{func}: no points to cluster (xy is empty); check the selection (date window, "
            "crime types, area) that produced them"
        )
    return arr


def _check_inputs(
    xy: NDArray[np.float64],
    weights: ArrayLike | None,
    func: str,
    params: Mapping[str, float | None],
    *,
    at_least: Mapping[str, float],
    integer_weights: bool = False,
) -> NDArray[np.float64] | None:
    """Check every input in one pass; raise one error listing every problem found."""
    problems: list[str] = []
    bad = ~np.isfinite(xy).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = ", ".join(map(str, rows[:5])) + (" ..." if rows.size > 5 else "")
        problems.append(
            f"{rows.size} point(s) have NaN or infinite coordinates (rows {shown}); drop them "
            "or put them in the rejected table before clustering"
        )
    for name, low in at_least.items():
        value = params[name]
        if value is None:
            continue
        if not (isinstance(value, int | float | np.integer | np.floating) and math.isfinite(value)):
            problems.append(f"{name}={value!r} is not a finite number")
        elif value < low:
            expect = "> 0" if low == 0 else f">= {low:g}"
            problems.append(f"{name}={value!r}; expected {expect}")
        elif name == "eps" and value == 0:
            problems.append("eps=0; expected a distance > 0 in metres (e.g. 150)")
    w: NDArray[np.float64] | None = None
    if weights is not None:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (xy.shape[0],):
            problems.append(
                f"weights has shape {w.shape}; expected one weight per point, shape "
                f"({xy.shape[0]},)"
            )
            w = None
        else:
            nonfinite = ~np.isfinite(w)
            if nonfinite.any():
                problems.append(f"{int(nonfinite.sum())} weight(s) are NaN or infinite")
            elif (w < 0).any():
                problems.append(
                    f"{int((w < 0).sum())} weight(s) are negative (smallest {w.min():g}); "
                    "weights are incident counts or harm scores and must be >= 0"
                )
            elif integer_weights and (w != np.round(w)).any():
                problems.append(
                    f"{func} takes weights as whole incident counts; "
                    f"{int((w != np.round(w)).sum())} are fractional"
                )
    if problems:
        raise ValidationError(func, problems)
    return w


def _check_units(xy: NDArray[np.float64], eps: float, func: str, name: str = "eps") -> None:
    span = float(np.ptp(xy, axis=0).max())
    if eps < _DEGREE_EPS and span > _DEGREE_SPAN:
        raise CRSError(
            f"{func}: {name}={eps!r} looks like degrees, but the coordinates span "
            f"{span:,.0f} units, i.e. they are in metres (a projected CRS); give {name} in "
            f"metres (e.g. 150). Rule: {name} < {_DEGREE_EPS} with a coordinate span over "
            f"{_DEGREE_SPAN:g} is refused."
        )


# --------------------------------------------------------------------------------------------
# unique locations in cell order
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Cells:
    """Unique locations sorted by cell, and the occupied cells of a square grid."""

    x: NDArray[np.float64]  # unique locations, sorted by cell
    y: NDArray[np.float64]
    w: NDArray[np.float64]  # weight of each location (incidents there, or summed weights)
    inverse: NDArray[np.intp]  # input point -> location
    first: NDArray[np.intp]  # location -> smallest input index there
    cell: NDArray[np.intp]  # location -> cell
    key: NDArray[np.int64]  # cell -> padded grid key (sorted, unique)
    start: NDArray[np.intp]  # cell -> first location
    count: NDArray[np.intp]  # cell -> number of locations
    weight: NDArray[np.float64]  # cell -> summed weight
    ci: NDArray[np.int64]  # cell -> column
    cj: NDArray[np.int64]  # cell -> row
    side: float
    x0: float
    y0: float
    stride: int
    dense: NDArray[np.int32] | None  # padded key -> cell, or None (binary search)

    def lookup(self, cells: NDArray[np.intp], di: int, dj: int) -> NDArray[np.intp]:
        """Cell at offset (di, dj) from each of ``cells``, or -1 where that cell is empty."""
        k = self.key[cells] + (di * self.stride + dj)
        if self.dense is not None:
            return self.dense[k].astype(np.intp)
        pos = np.searchsorted(self.key, k)
        pos[pos == self.key.size] = 0
        return np.where(self.key[pos] == k, pos, -1)


_PAD = 4  # cells of padding around the occupied extent (largest offset used)


def _make_cells(
    xy: NDArray[np.float64], w: NDArray[np.float64] | None, side: float, func: str
) -> _Cells:
    n = xy.shape[0]
    x0, y0 = xy.min(axis=0)
    fi = np.floor((xy[:, 0] - x0) / side)
    fj = np.floor((xy[:, 1] - y0) / side)
    nx, ny = float(fi.max()) + 1 + 2 * _PAD, float(fj.max()) + 1 + 2 * _PAD
    if nx * ny > 2.0**62:
        raise ValidationError(
            func,
            [
                f"the points span {np.ptp(xy, axis=0).max():,.0f} m, too far for a grid of "
                f"{side:.3g} m cells; use a larger eps or cluster a smaller area"
            ],
        )
    stride = int(ny)
    # repeated locations: sort by (x, y) (a complex argsort is lexicographic and fast)
    order = np.argsort(xy[:, 0] + 1j * xy[:, 1])
    xs, ys = xy[order, 0], xy[order, 1]
    new = np.ones(n, dtype=bool)
    new[1:] = (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])
    loc_start = np.flatnonzero(new)
    first = np.minimum.reduceat(order, loc_start)  # smallest input index at each location
    ws = np.ones(n) if w is None else w[order]
    lw = np.add.reduceat(ws, loc_start)
    lx, ly = xs[loc_start], ys[loc_start]
    # then the locations by cell
    lk = (fi[order[loc_start]].astype(np.int64) + _PAD) * stride + (
        fj[order[loc_start]].astype(np.int64) + _PAD
    )
    by_cell = np.argsort(lk, kind="stable")
    rank = np.empty(by_cell.size, dtype=np.intp)
    rank[by_cell] = np.arange(by_cell.size)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = rank[np.cumsum(new) - 1]
    lx, ly, lw, lk, first = lx[by_cell], ly[by_cell], lw[by_cell], lk[by_cell], first[by_cell]
    newc = np.ones(lk.size, dtype=bool)
    newc[1:] = lk[1:] != lk[:-1]
    cstart = np.flatnonzero(newc)
    ccount = np.diff(np.append(cstart, lk.size))
    key = lk[cstart]
    cell = np.repeat(np.arange(cstart.size), ccount)
    cweight = np.add.reduceat(lw, cstart)
    dense = None
    if nx * ny <= _DENSE_GRID_MAX:
        dense = np.full(int(nx * ny), -1, dtype=np.int32)
        dense[key] = np.arange(key.size, dtype=np.int32)
    return _Cells(
        x=lx,
        y=ly,
        w=lw,
        inverse=inverse,
        first=first,
        cell=cell,
        key=key,
        start=cstart,
        count=ccount,
        weight=cweight,
        ci=key // stride,
        cj=key % stride,
        side=side,
        x0=float(x0),
        y0=float(y0),
        stride=stride,
        dense=dense,
    )


def _offsets(side: float, eps: float, tol: float) -> tuple[list[tuple[int, int]], ...]:
    """Cell offsets around a cell: ``near`` and ``ring``.

    ``near`` is the 3 x 3 block (every pair within eps, as ``side`` is chosen so); ``ring`` the
    offsets beyond it where some pairs may be within eps.
    """
    near: list[tuple[int, int]] = []
    ring: list[tuple[int, int]] = []
    for di in range(-_PAD, _PAD + 1):
        for dj in range(-_PAD, _PAD + 1):
            if max(abs(di), abs(dj)) <= 1:
                near.append((di, dj))
            elif side * math.hypot(max(abs(di) - 1, 0), max(abs(dj) - 1, 0)) <= eps + tol:
                ring.append((di, dj))
    # nothing reachable may lie beyond the padding of the grid
    if any(max(abs(a), abs(b)) >= _PAD for a, b in ring):  # pragma: no cover - by construction
        raise RuntimeError("grid cell side too small for the padding")
    return near, ring


def _expand(
    a_start: NDArray[np.intp], a_count: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """For groups of consecutive items, the group of each item and the item index."""
    total = int(a_count.sum())
    grp = np.repeat(np.arange(a_count.size), a_count)
    offs = np.arange(total) - np.repeat(np.cumsum(a_count) - a_count, a_count)
    return grp, a_start[grp] + offs


def _unique(a: NDArray[Any]) -> NDArray[Any]:
    """Sorted unique values (numpy's hash-based ``np.unique`` is slow on large integer arrays)."""
    s = np.sort(a)
    keep = np.ones(s.size, dtype=bool)
    keep[1:] = s[1:] != s[:-1]
    return s[keep]


def _chunks(sizes: NDArray[np.intp], budget: int | None = None) -> list[slice]:
    """Split consecutive items into slices whose ``sizes`` add up to about ``budget``.

    ``budget`` defaults to :data:`_CHUNK_PAIRS`; a slice exceeds it by at most its last item.
    """
    budget = _CHUNK_PAIRS if budget is None else budget
    if sizes.size == 0:
        return []
    cum = np.cumsum(sizes)
    bounds = np.searchsorted(cum, np.arange(budget, int(cum[-1]), budget), side="left")
    edges = _unique(np.concatenate([[0], bounds + 1, [sizes.size]]).clip(0, sizes.size))
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True) if b > a]


# --------------------------------------------------------------------------------------------
# DBSCAN
# --------------------------------------------------------------------------------------------


def _core_mask(
    c: _Cells, eps: float, tol: float, min_samples: float, ring: list[tuple[int, int]]
) -> NDArray[np.bool_]:
    """Core test per location: weight within eps (itself included) >= min_samples."""
    ncell = c.key.size
    cells = np.arange(ncell)
    low = np.zeros(ncell)  # weight of the 3 x 3 block: all within eps of every point
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            nb = c.lookup(cells, di, dj)
            low += np.where(nb >= 0, c.weight[nb], 0.0)
    cell_core = low >= min_samples
    open_cells = np.flatnonzero(~cell_core)
    high = low[open_cells].copy()  # + everything a ring cell holds
    ring_nb = [c.lookup(open_cells, di, dj) for di, dj in ring]
    for nb in ring_nb:
        high += np.where(nb >= 0, c.weight[nb], 0.0)
    core = cell_core[c.cell]
    undecided = high >= min_samples
    if not undecided.any():
        return core
    ucells = open_cells[undecided]
    ring_nb = [nb[undecided] for nb in ring_nb]
    grp, pts = _expand(c.start[ucells], c.count[ucells])  # points of undecided cells
    total = low[ucells][grp]
    px, py = c.x[pts], c.y[pts]
    # position inside the own cell; a cell di columns away spans [di*side, (di+1)*side) - ux
    ux = px - (c.x0 + (c.ci[ucells][grp] - _PAD) * c.side)
    uy = py - (c.y0 + (c.cj[ucells][grp] - _PAD) * c.side)
    eps2 = eps * eps
    inner2 = (eps - tol) ** 2
    outer2 = (eps + tol) ** 2
    part_p: list[NDArray[np.intp]] = []
    part_c: list[NDArray[np.intp]] = []
    for (di, dj), nb_all in zip(ring, ring_nb, strict=True):
        nb = nb_all[grp]
        has = np.flatnonzero(nb >= 0)
        nbh = nb[has]
        ax = di * c.side - ux[has]  # neighbour cell's near/far x edges relative to the point
        ay = dj * c.side - uy[has]
        bx = ax + c.side
        by = ay + c.side
        fx = np.maximum(np.abs(ax), np.abs(bx))
        fy = np.maximum(np.abs(ay), np.abs(by))
        nx_ = np.maximum(np.maximum(ax, -bx), 0.0)
        ny_ = np.maximum(np.maximum(ay, -by), 0.0)
        whole = fx * fx + fy * fy <= inner2
        total[has[whole]] += c.weight[nbh[whole]]
        partial = ~whole & (nx_ * nx_ + ny_ * ny_ <= outer2)
        part_p.append(has[partial])
        part_c.append(nbh[partial])
    pp = np.concatenate(part_p)
    pc = np.concatenate(part_c)
    keep = total[pp] < min_samples  # skip points already known to be core
    pp, pc = pp[keep], pc[keep]
    sizes = c.count[pc]
    for sl in _chunks(sizes):
        g, q = _expand(c.start[pc[sl]], sizes[sl])
        p = pp[sl][g]
        dx = px[p] - c.x[q]
        dy = py[p] - c.y[q]
        within = dx * dx + dy * dy <= eps2
        total += np.bincount(p[within], weights=c.w[q[within]], minlength=total.size)
    core[pts] = total >= min_samples
    return core


def _clusters(
    c: _Cells,
    core: NDArray[np.bool_],
    eps: float,
    ring: list[tuple[int, int]],
) -> NDArray[np.intp]:
    """Cluster of each core location (-1 for the others): components of the eps graph."""
    ncell = c.key.size
    core_cells = np.flatnonzero(np.bincount(c.cell[core], minlength=ncell) > 0)
    node = np.full(ncell, -1, dtype=np.intp)
    node[core_cells] = np.arange(core_cells.size)
    # core locations grouped by cell (they are sorted by cell already)
    core_idx = np.flatnonzero(core)
    cnt = np.bincount(c.cell[core_idx], minlength=ncell)
    cst = np.cumsum(cnt) - cnt
    rows: list[NDArray[np.intp]] = []
    cols: list[NDArray[np.intp]] = []
    for di, dj in ((1, -1), (1, 0), (1, 1), (0, 1)):  # the 3 x 3 block, each pair once
        nb = c.lookup(core_cells, di, dj)
        ok = nb >= 0
        ok[ok] = node[nb[ok]] >= 0
        rows.append(node[core_cells[ok]])
        cols.append(node[nb[ok]])

    def components(r: list[NDArray[np.intp]], q: list[NDArray[np.intp]]) -> NDArray[np.intp]:
        rr, qq = np.concatenate(r), np.concatenate(q)
        g = sparse.coo_matrix(
            (np.ones(rr.size, dtype=bool), (rr, qq)), shape=(core_cells.size,) * 2
        ).tocsr()
        return connected_components(g, directed=False)[1]

    comp = components(rows, cols)
    # ring offsets: connect two cells when a core pair between them is within eps
    half = [(di, dj) for di, dj in ring if di > 0 or (di == 0 and dj > 0)]
    a_all: list[NDArray[np.intp]] = []
    b_all: list[NDArray[np.intp]] = []
    for di, dj in half:
        nb = c.lookup(core_cells, di, dj)
        ok = nb >= 0
        ok[ok] = node[nb[ok]] >= 0
        a, b = core_cells[ok], nb[ok]
        diff = comp[node[a]] != comp[node[b]]
        a_all.append(a[diff])
        b_all.append(b[diff])
    a = np.concatenate(a_all)
    b = np.concatenate(b_all)
    if a.size:
        hit = _core_pairs_within(c.x, c.y, core_idx, cst, cnt, a, b, eps)
        rows.append(node[a[hit]])
        cols.append(node[b[hit]])
        comp = components(rows, cols)
    out = np.full(core.size, -1, dtype=np.intp)
    out[core_idx] = comp[node[c.cell[core_idx]]]
    return out


def _core_pairs_within(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    core_idx: NDArray[np.intp],
    cstart: NDArray[np.intp],
    ccount: NDArray[np.intp],
    a: NDArray[np.intp],
    b: NDArray[np.intp],
    eps: float,
) -> NDArray[np.bool_]:
    """For cell pairs (a, b): is some core location of a within eps of one of b.

    Pairs are compared all against all, a bounded chunk at a time; a pair of cells too big for
    one chunk is searched with a k-d tree instead.
    """
    eps2 = eps * eps
    found = np.zeros(a.size, dtype=bool)
    sizes = ccount[a] * ccount[b]
    for p in np.flatnonzero(sizes > _CHUNK_PAIRS):
        ia = core_idx[cstart[a[p]] : cstart[a[p]] + ccount[a[p]]]
        ib = core_idx[cstart[b[p]] : cstart[b[p]] + ccount[b[p]]]
        _, j = cKDTree(np.column_stack([x[ib], y[ib]])).query(
            np.column_stack([x[ia], y[ia]]), k=1, distance_upper_bound=2 * eps
        )
        ok = j < ib.size
        dx = x[ia[ok]] - x[ib[j[ok]]]
        dy = y[ia[ok]] - y[ib[j[ok]]]
        found[p] = bool((dx * dx + dy * dy <= eps2).any())
    small = np.flatnonzero(sizes <= _CHUNK_PAIRS)
    for sl in _chunks(sizes[small]):
        sel = small[sl]
        sa, sb = a[sel], b[sel]
        g, i = _expand(cstart[sa], ccount[sa])
        g2, j = _expand(cstart[sb][g], ccount[sb][g])
        pair = g[g2]
        ii, jj = core_idx[i[g2]], core_idx[j]
        dx = x[ii] - x[jj]
        dy = y[ii] - y[jj]
        hit = dx * dx + dy * dy <= eps2
        found[sel[pair[hit]]] = True
    return found


def _borders(
    c: _Cells,
    core: NDArray[np.bool_],
    clus: NDArray[np.intp],
    eps: float,
    tol: float,
    reach: list[tuple[int, int]],
    n_jobs: int | None,
) -> NDArray[np.intp]:
    """Give each non-core location within eps of a core one the cluster of its nearest core."""
    noncore = np.flatnonzero(~core)
    core_idx = np.flatnonzero(core)
    if noncore.size == 0 or core_idx.size == 0:
        return clus
    ncell = c.key.size
    cell_has_core = np.bincount(c.cell[core_idx], minlength=ncell) > 0
    cells = _unique(c.cell[noncore])
    near_core = np.zeros(ncell, dtype=bool)
    for di, dj in reach:
        nb = c.lookup(cells, di, dj)
        ok = nb >= 0
        ok[ok] = cell_has_core[nb[ok]]
        near_core[cells[ok]] = True
    cand = noncore[near_core[c.cell[noncore]]]
    if cand.size == 0:
        return clus
    tree = cKDTree(np.column_stack([c.x[core_idx], c.y[core_idx]]))
    _, j = tree.query(
        np.column_stack([c.x[cand], c.y[cand]]),
        k=1,
        distance_upper_bound=eps + tol,
        workers=n_jobs if n_jobs is not None else 1,
    )
    found = j < core_idx.size
    cand, q = cand[found], core_idx[j[found]]
    dx = c.x[cand] - c.x[q]
    dy = c.y[cand] - c.y[q]
    ok = dx * dx + dy * dy <= eps * eps
    out = clus.copy()
    out[cand[ok]] = clus[q[ok]]
    return out


def _number_by_first(
    loc_label: NDArray[np.intp], first: NDArray[np.intp], n: int
) -> NDArray[np.int64]:
    """Renumber clusters 0..k-1 by the smallest input index among their members."""
    member = loc_label >= 0
    if not member.any():
        return np.full(loc_label.size, -1, dtype=np.int64)
    k = int(loc_label.max()) + 1
    firsts = np.full(k, n, dtype=np.intp)
    np.minimum.at(firsts, loc_label[member], first[member])
    used = firsts < n
    rank = np.full(k, -1, dtype=np.int64)
    order = np.argsort(firsts[used], kind="stable")
    rank[np.flatnonzero(used)[order]] = np.arange(order.size)
    out = np.full(loc_label.size, -1, dtype=np.int64)
    out[member] = rank[loc_label[member]]
    return out


def _grid_tolerance(xy: NDArray[np.float64], eps: float, func: str) -> float:
    """Slack that keeps the grid's 'surely within' and 'surely beyond' claims true in floats."""
    maxabs = float(np.abs(xy).max())
    tol = 1e-9 * eps + 64 * float(np.spacing(maxabs))
    if tol > eps / 64:
        raise ValidationError(
            func,
            [
                f"eps={eps!r} is below the float precision of coordinates as large as "
                f"{maxabs:.3g}; shift the coordinates (subtract their minimum) or use a larger eps"
            ],
        )
    return tol


def dbscan(
    xy: ArrayLike,
    *,
    eps: float,
    min_samples: float,
    weights: ArrayLike | None = None,
    n_jobs: int | None = None,
) -> DensityClusters:
    """DBSCAN clusters of points in metres: exact, fast, in bounded memory.

    The same result as ``sklearn.cluster.DBSCAN(eps=eps, min_samples=min_samples)
    .fit(xy, sample_weight=weights)`` with the Euclidean metric: a point is *core* when the
    summed weight of the points within ``eps`` of it (distance ``<= eps``, itself included) is at
    least ``min_samples``; core points within ``eps`` of each other are in one cluster; a
    non-core point within ``eps`` of a core point is a *border* point of that core point's
    cluster; the rest is noise (``-1``).

    Parameters
    ----------
    xy : array-like of shape (n, 2)
        Coordinates in a projected CRS, in metres.
    eps : float
        Neighbourhood radius in metres, > 0.
    min_samples : float
        Weight a neighbourhood needs for its centre to be core, >= 1 (a count of incidents
        when there are no weights).
    weights : array-like of shape (n,), optional
        Non-negative weight of each point (e.g. a harm score); 1 each by default.
    n_jobs : int, optional
        Threads for the nearest-core search of border points (``-1``: all cores).

    Returns
    -------
    DensityClusters
        ``labels`` (clusters numbered by their first member in the input, ``-1`` noise),
        ``core`` and ``params``.

    Raises
    ------
    EmptyInputError
        No points.
    ValidationError
        NaN or infinite coordinates, ``eps <= 0``, ``min_samples < 1``, weights of the wrong
        length, negative or NaN; every problem found is listed.
    CRSError
        ``eps`` looks like degrees while the coordinates are metres: ``eps < 0.01`` with
        coordinates spanning more than 1,000 units.

    Notes
    -----
    *Equivalence.* Core points and the partition of core points into clusters are those of
    scikit-learn. Distances are compared as ``dx*dx + dy*dy <= eps*eps`` on the raw coordinates,
    so a pair at exactly ``eps`` is within reach, as in scikit-learn; the two can differ only
    for a pair whose distance is within a rounding error (about 1e-16 relative) of ``eps``.
    Weighted sums are added in a different order than scikit-learn's, so with fractional
    weights a sum that equals ``min_samples`` to the last bit may fall either side (whole-number
    weights and counts are exact).

    *Border points.* A border point within reach of core points of two clusters goes to the
    cluster of its nearest core point (scikit-learn gives it to whichever cluster its
    expansion reached first). Every border point's cluster has a core point within ``eps``.

    *Repeated locations.* Points are counted per unique location first (police.uk points are
    snapped, so many incidents share one location); the locations are clustered with their
    summed weights and every point takes its location's label, which is exactly what
    scikit-learn gives on the raw points.

    *Method.* Locations are sorted into square cells of side about ``eps / (2 * sqrt(2))``, so
    that every location in the 3 x 3 block of cells around a cell is within ``eps`` of every
    location in it. A cell whose block weighs at least ``min_samples`` makes all its locations
    core at once; a cell whose 7 x 7 neighbourhood weighs less makes none core; only the
    locations left in between are compared pair by pair with the locations in the cells that
    straddle their ``eps`` circle. Cells with core locations are joined when they are in one
    3 x 3 block, or when a pair of their core locations is within ``eps`` (checked only between
    cells not already joined). Pair checks run in chunks of at most 2 million pairs, so memory
    stays linear in the number of points; there are no neighbour lists.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0, 0], [0, 10], [10, 0], [500, 500], [1000, 0]], dtype=float)
    >>> res = dbscan(xy, eps=20, min_samples=3)
    >>> res.labels.tolist(), res.core.tolist()
    ([0, 0, 0, -1, -1], [True, True, True, False, False])
    """
    t0 = time.perf_counter()
    pts = _as_points(xy, "dbscan")
    w = _check_inputs(
        pts,
        weights,
        "dbscan",
        {"eps": eps, "min_samples": min_samples},
        at_least={"eps": 0.0, "min_samples": 1.0},
    )
    eps = float(eps)
    min_samples = float(min_samples)
    _check_units(pts, eps, "dbscan")
    tol = _grid_tolerance(pts, eps, "dbscan")
    side = (eps - tol) / (2.0 * math.sqrt(2.0))
    c = _make_cells(pts, w, side, "dbscan")
    near, ring = _offsets(side, eps, tol)
    core_loc = _core_mask(c, eps, tol, min_samples, ring)
    clus = _clusters(c, core_loc, eps, ring)
    clus = _borders(c, core_loc, clus, eps, tol, near + ring, n_jobs)
    loc_label = _number_by_first(clus, c.first, pts.shape[0])
    labels = loc_label[c.inverse]
    core = core_loc[c.inverse]
    seconds = time.perf_counter() - t0
    k = int(loc_label.max()) + 1
    log.debug(
        "dbscan: %d points at %d locations, eps=%g, min_samples=%g: %d clusters, "
        "%d core, %d noise in %.2f s",
        pts.shape[0],
        c.x.size,
        eps,
        min_samples,
        k,
        int(core.sum()),
        int((labels < 0).sum()),
        seconds,
    )
    return DensityClusters(
        labels=labels,
        core=core,
        params={
            "method": "dbscan",
            "eps": eps,
            "min_samples": min_samples,
            "weighted": w is not None,
            "n_points": int(pts.shape[0]),
            "n_locations": int(c.x.size),
            "n_clusters": k,
            "border_rule": "nearest core point",
            "seconds": seconds,
        },
    )


# --------------------------------------------------------------------------------------------
# HDBSCAN
# --------------------------------------------------------------------------------------------

#: Stands for a zero mutual-reachability distance (sparse graphs cannot hold an explicit 0);
#: 1 / _TINY overflows to inf, so the cluster tree sees lambda = inf exactly as for a 0.
_TINY = 5e-324


def _locations(xy: NDArray[np.float64], w: NDArray[np.float64] | None, func: str) -> _Cells:
    """Find the unique locations and their summed weights (on a grid of one big cell)."""
    span = float(np.ptp(xy, axis=0).max())
    return _make_cells(xy, w, max(2.0 * span, 1.0), func)


def _largest_cap(c: NDArray[np.float64], low: float, budget: float) -> float:
    """Largest ``cap >= low`` with ``sum(min(c, cap)) <= budget`` (``low`` if none is)."""
    sc = np.sort(c)
    cum = np.concatenate([[0.0], np.cumsum(sc)])
    cand = _unique(sc[sc >= low])
    idx = np.searchsorted(sc, cand, side="left")
    fits = cand[cum[idx] + cand * (sc.size - idx) <= budget]
    return float(fits.max()) if fits.size else float(low)


def _part1by1(v: NDArray[np.int64]) -> NDArray[np.uint64]:
    """Spread the low 32 bits of ``v`` to the even bits of a 64-bit word (Morton order)."""
    u = v.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        u = (u | (u << np.uint64(shift))) & np.uint64(mask)
    return u


def _places(
    x: NDArray[np.float64], y: NDArray[np.float64], c: NDArray[np.float64], t: float
) -> NDArray[np.intp]:
    """Merge locations into quadtree cells holding at least ``t`` incidents.

    Each location goes to the smallest cell of a quadtree of 1 m, 2 m, 4 m ... squares that
    holds ``t`` incidents or more (the whole extent if none does); the locations of one cell that
    are not in such a smaller cell form one place. Dense areas get small places, sparse ones
    large places. Returns the place of each location (0 .. m-1).
    """
    r0 = max(1.0, float(max(np.ptp(x), np.ptp(y))) / 2.0**30)
    qx = np.floor((x - x.min()) / r0).astype(np.int64)
    qy = np.floor((y - y.min()) / r0).astype(np.int64)
    bits = int(max(int(qx.max()), int(qy.max()), 1)).bit_length()
    code = _part1by1(qx) | (_part1by1(qy) << np.uint64(1))
    order = np.argsort(code, kind="stable")
    cs = code[order]
    n = cs.size
    cum = np.concatenate([[0.0], np.cumsum(c[order])])
    level = np.full(n, bits, dtype=np.int64)
    for j in range(bits, -1, -1):  # quadtree levels, coarse to fine (~30 vectorised passes)
        g = cs >> np.uint64(2 * j)
        new = np.ones(n, dtype=bool)
        new[1:] = g[1:] != g[:-1]
        st = np.flatnonzero(new)
        cnt = cum[np.append(st[1:], n)] - cum[st]
        ok = cnt[np.cumsum(new) - 1] >= t
        if not ok.any():
            break
        level[ok] = j
    prefix = cs >> (2 * level).astype(np.uint64)
    o2 = np.lexsort((prefix, level))
    lv, pk = level[o2], prefix[o2]
    new = np.ones(n, dtype=bool)
    new[1:] = (lv[1:] != lv[:-1]) | (pk[1:] != pk[:-1])
    place = np.empty(n, dtype=np.intp)
    place[order[o2]] = np.cumsum(new) - 1
    return place


def _place_stats(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    c: NDArray[np.float64],
    group: NDArray[np.intp],
    k: int,
) -> tuple[NDArray[np.float64], ...]:
    """Return the position, count, estimated core distance and radius of each place.

    A place's incidents are taken as spread evenly over a disc with their RMS distance from
    the mean position (radius ``sqrt(2)`` times it). A place of ``k`` or more incidents has the
    core distance of that spread (``rms * sqrt(2 * k / count)``: 0 when they share one spot);
    a smaller one the distance to the nearest places holding ``k`` incidents with it.
    """
    ox, oy = float(x.min()), float(y.min())
    cnt = np.asarray(np.bincount(group, weights=c), dtype=np.float64)
    mx = np.bincount(group, weights=(x - ox) * c) / cnt
    my = np.bincount(group, weights=(y - oy) * c) / cnt
    dx = x - ox - mx[group]
    dy = y - oy - my[group]
    rms = np.sqrt(np.bincount(group, weights=(dx * dx + dy * dy) * c) / cnt)
    px, py = mx + ox, my + oy
    pts = np.column_stack([px, py])
    core = _core_distances(*_knn(cKDTree(pts), pts, k, 1), cnt, k)
    own = cnt >= k
    core[own] = rms[own] * np.sqrt(2.0 * k / cnt[own])
    return px, py, cnt, core, math.sqrt(2.0) * rms


def _knn(
    tree: cKDTree, pts: NDArray[np.float64], k: int, n_jobs: int
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Distances and indices of each point's ``k`` nearest (itself first), shape (n, k)."""
    kk = min(k, pts.shape[0])
    dist, idx = tree.query(pts, k=kk, workers=n_jobs)
    return dist.reshape(pts.shape[0], kk), idx.reshape(pts.shape[0], kk)


def _core_distances(
    dist: NDArray[np.float64], idx: NDArray[np.intp], c: NDArray[np.float64], k: int
) -> NDArray[np.float64]:
    """Distance within which each location's neighbourhood (itself included) holds k incidents.

    ``dist``/``idx`` are the nearest locations of each (at least ``k`` of them, or all).
    """
    dist, idx = dist[:, :k], idx[:, :k]
    cum = np.cumsum(c[idx], axis=1)
    reached = cum >= k
    first = np.argmax(reached, axis=1)
    out = dist[np.arange(dist.shape[0]), first]
    out[~reached.any(axis=1)] = np.inf
    return np.asarray(out, dtype=np.float64)


def _graph_edges(
    pts: NDArray[np.float64], idx: NDArray[np.intp]
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Candidate spanning-tree edges between locations: nearest neighbours and Delaunay edges.

    ``idx`` holds each location's nearest locations, one row per location. The graph is always
    connected (the Delaunay triangulation is; for points on one line it is the path along it).
    """
    from scipy.spatial import Delaunay, QhullError

    n, kk = idx.shape
    parts_a = [np.repeat(np.arange(n), kk)]
    parts_b = [idx.ravel()]
    if n >= 3:
        try:
            s = Delaunay(pts - pts.min(axis=0)).simplices
            parts_a += [s[:, 0], s[:, 1], s[:, 2]]
            parts_b += [s[:, 1], s[:, 2], s[:, 0]]
        except QhullError:  # all on one line
            order = np.lexsort((pts[:, 1], pts[:, 0]))
            parts_a.append(order[:-1])
            parts_b.append(order[1:])
    a = np.concatenate(parts_a)
    b = np.concatenate(parts_b)
    keep = a != b
    lo = np.minimum(a[keep], b[keep]).astype(np.int64)
    hi = np.maximum(a[keep], b[keep]).astype(np.int64)
    pair = _unique(lo * n + hi)
    return (pair // n).astype(np.intp), (pair % n).astype(np.intp)


def _leaf_graph(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    c: NDArray[np.float64],
    nleaf: NDArray[np.intp],
    k: int,
    n_neighbors: int,
    n_jobs: int,
    core: NDArray[np.float64] | None = None,
    radius: NDArray[np.float64] | None = None,
) -> tuple[sparse.csr_matrix, NDArray[np.intp]]:
    """Sparse mutual-reachability graph over leaves; the first leaf of each place.

    Places are joined by candidate edges weighted by mutual reachability
    ``max(core[a], core[b], |ab|)``; the ``nleaf`` leaves of one place are chained at the
    place's core distance (the mutual reachability of two incidents at one spot).
    """
    p = np.column_stack([x, y])
    dist, idx = _knn(cKDTree(p), p, max(k, n_neighbors + 1), n_jobs)
    cd = _core_distances(dist, idx, c, k) if core is None else core
    a, b = _graph_edges(p, idx[:, : n_neighbors + 1])
    d = np.hypot(x[a] - x[b], y[a] - y[b])
    if radius is not None:  # places: the gap between their spreads, not their centres
        d = np.maximum(d - radius[a] - radius[b], 0.0)
    mrd = np.maximum(np.maximum(cd[a], cd[b]), d)
    base = np.cumsum(nleaf) - nleaf
    n_leaves = int(nleaf.sum())
    owner = np.repeat(np.arange(nleaf.size), nleaf)
    chain = np.flatnonzero(np.arange(n_leaves) != base[owner])  # every leaf but the first
    rows = np.concatenate([base[a], chain - 1])
    cols = np.concatenate([base[b], chain])
    vals = np.concatenate([mrd, cd[owner[chain]]])
    vals = np.where(vals > 0, vals, _TINY)
    graph = sparse.csr_matrix(
        (
            np.concatenate([vals, vals]),
            (np.concatenate([rows, cols]), np.concatenate([cols, rows])),
        ),
        shape=(n_leaves, n_leaves),
    )
    return graph, base


def hdbscan(
    xy: ArrayLike,
    *,
    min_cluster_size: int,
    min_samples: int | None = None,
    weights: ArrayLike | None = None,
    cluster_selection_method: str = "eom",
    max_leaves: int = 150_000,
    n_neighbors: int | None = None,
    n_jobs: int | None = None,
) -> DensityClusters:
    """HDBSCAN clusters of incidents in metres, counted per location, in bounded time and memory.

    Runs :class:`sklearn.cluster.HDBSCAN` (``metric="precomputed"``) on a sparse
    mutual-reachability graph of the unique locations, each location's incidents being leaves
    of the cluster tree. scikit-learn's HDBSCAN takes no ``sample_weight`` and on raw points
    builds its spanning tree in O(n^2) time; here memory is linear and time near-linear, and
    the tree is kept to about ``max_leaves`` leaves.

    Parameters
    ----------
    xy : array-like of shape (n, 2)
        Coordinates in a projected CRS, in metres.
    min_cluster_size : int
        Fewest incidents a cluster may hold, >= 2.
    min_samples : int, optional
        Incidents (the location's own included) that make a neighbourhood dense; defaults to
        ``min_cluster_size`` as in scikit-learn.
    weights : array-like of shape (n,), optional
        Whole, non-negative incident counts per point (weight 3: three incidents at that spot).
        A point of weight 0 adds nothing and takes its location's label (noise where its
        location holds no weight).
    cluster_selection_method : {"eom", "leaf"}
        scikit-learn's cluster selection: excess of mass, or the leaves of the cluster tree.
    max_leaves : int
        Budget of leaves for the cluster tree; scikit-learn takes about 10 microseconds a leaf.
        See Notes for what happens beyond it.
    n_neighbors : int, optional
        Nearest locations joined in the candidate graph besides its Delaunay edges; default
        ``max(2 * min_samples, 16)`` (with ``min_samples`` alone, some spanning-tree edges are
        missed: see Notes).
    n_jobs : int, optional
        Threads for the nearest-neighbour queries.

    Returns
    -------
    DensityClusters
        ``labels`` (numbered by first member in the input, ``-1`` noise), ``core`` (the points
        in a cluster: HDBSCAN has no core/border split) and ``params``, whose ``mode`` says
        which of the three regimes below ran, with ``leaf_cap``, ``unit`` and ``place_min``.

    Raises
    ------
    EmptyInputError
        No points, or none of positive weight.
    ValidationError
        NaN coordinates, ``min_cluster_size < 2``, ``min_samples < 1``, fewer incidents than
        ``min_samples``, negative or fractional weights.

    Notes
    -----
    Three regimes, by the size of the input:

    ``"exact"`` (at most ``max_leaves`` incidents). Every incident is a leaf. This is HDBSCAN
    on the raw points: the same core distances (distance to the ``min_samples``-th nearest
    incident, itself included, counting every incident at a location), the same
    mutual-reachability distances, hierarchy, cluster sizes and stabilities, provided the
    minimum spanning tree of the mutual-reachability distances uses only candidate edges: each
    location's ``n_neighbors`` nearest locations and the Delaunay edges. Pairs within a core
    distance of each other are always candidates; a tree edge longer than both core distances
    can be missed when sparser locations lie between its ends, and is then replaced by the
    cheapest candidate path (a merge a little higher in the tree). In the tests the tree's
    merge heights equal scikit-learn's with the default ``n_neighbors``; with
    ``n_neighbors=min_samples`` about 1 % of them come out higher. Equal distances (very
    common: every pair within a core distance has that core distance) may be tied in another
    order than scikit-learn's, which is itself not invariant to the order of the input points;
    with no ties (``min_samples=1``, distinct points) the labels are scikit-learn's.

    ``"capped"`` (more incidents, but few enough locations). A location with many incidents
    gives at most ``leaf_cap >= min_cluster_size`` leaves. Core and mutual-reachability
    distances, the hierarchy, and whether each side of a split has ``min_cluster_size``
    incidents are still as above; only a cluster's stability counts a capped location as
    ``leaf_cap`` incidents, so the ``"eom"`` choice between a parent cluster and its children
    can differ (``"leaf"`` selection cannot).

    ``"places"`` (too many distinct locations, e.g. unsnapped points). An approximation.
    Locations are merged into *places*, the cells of a quadtree of 1 m, 2 m, 4 m ... squares
    holding at least ``place_min`` incidents (small cells in dense areas, large ones in sparse
    areas), at their incidents' mean position; a place's core distance is estimated from its
    incidents' spread (or from its neighbours when it holds fewer than ``min_samples``), the
    distance between places is the gap between their spreads, and a leaf stands for ``unit``
    incidents (``min_cluster_size`` is divided by it). Clusters follow the places' outlines:
    on 30,000 points (4 blobs and background) squeezed into 600 places it agreed with
    HDBSCAN on the raw points with an adjusted Rand index of 0.75 (planted blobs all found).

    Every incident of a location (and of a place) takes one label.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = np.vstack([rng.normal(0, 20, (60, 2)), rng.normal(1000, 20, (60, 2))])
    >>> hdbscan(xy, min_cluster_size=20).n_clusters
    2
    """
    from sklearn.cluster import HDBSCAN

    t0 = time.perf_counter()
    pts = _as_points(xy, "hdbscan")
    method = check_option("cluster_selection_method", cluster_selection_method, ("eom", "leaf"))
    w = _check_hdbscan_inputs(pts, weights, min_cluster_size, min_samples, max_leaves, n_neighbors)
    mcs = int(min_cluster_size)
    k = mcs if min_samples is None else int(min_samples)
    nn = max(2 * k, 16) if n_neighbors is None else int(n_neighbors)
    locs = _locations(pts, w, "hdbscan")
    keep = np.flatnonzero(locs.w > 0)
    if keep.size == 0:
        raise EmptyInputError("hdbscan: every point has weight 0; nothing to cluster")
    leaves = _leaf_plan(locs.x[keep], locs.y[keep], locs.w[keep], mcs, k, max_leaves)
    graph, base = _leaf_graph(
        leaves.x, leaves.y, leaves.c, leaves.per_place, k, nn,
        n_jobs if n_jobs is not None else 1, leaves.core, leaves.radius,
    )  # fmt: skip
    n_leaves = graph.shape[0]
    if n_leaves < max(2, leaves.min_cluster_size):
        leaf_labels = np.full(n_leaves, -1, dtype=np.intp)
    else:
        model = HDBSCAN(
            min_cluster_size=leaves.min_cluster_size,
            min_samples=1,
            metric="precomputed",
            cluster_selection_method=method,
            copy=True,
        )
        leaf_labels = model.fit(graph).labels_.astype(np.intp)
    loc_label = np.full(locs.x.size, -1, dtype=np.intp)
    loc_label[keep] = leaf_labels[base][leaves.group]
    loc_final = _number_by_first(loc_label, locs.first, pts.shape[0])
    labels = loc_final[locs.inverse]
    seconds = time.perf_counter() - t0
    n_clusters = int(loc_final.max()) + 1
    log.debug(
        "hdbscan (%s): %d points, %d places, %d leaves: %d clusters in %.2f s",
        leaves.mode,
        pts.shape[0],
        leaves.c.size,
        n_leaves,
        n_clusters,
        seconds,
    )
    return DensityClusters(
        labels=labels,
        core=labels >= 0,
        params={
            "method": "hdbscan",
            "mode": leaves.mode,
            "min_cluster_size": mcs,
            "min_samples": k,
            "cluster_selection_method": method,
            "weighted": w is not None,
            "n_neighbors": nn,
            "leaf_cap": float(leaves.cap),
            "unit": leaves.unit,
            "place_min": leaves.place_min,
            "n_points": int(pts.shape[0]),
            "n_locations": int(keep.size),
            "n_places": int(leaves.c.size),
            "n_leaves": int(n_leaves),
            "n_clusters": n_clusters,
            "seconds": seconds,
        },
    )


def _check_hdbscan_inputs(
    pts: NDArray[np.float64],
    weights: ArrayLike | None,
    min_cluster_size: int,
    min_samples: int | None,
    max_leaves: int,
    n_neighbors: int | None,
) -> NDArray[np.float64] | None:
    """Check :func:`hdbscan`'s inputs in one pass; return the weights (None: unweighted)."""
    given = {
        "min_cluster_size": min_cluster_size,
        "min_samples": min_samples,
        "max_leaves": max_leaves,
        "n_neighbors": n_neighbors,
    }
    problems = [
        f"{name}={value!r}; expected a whole number"
        for name, value in given.items()
        if value is not None
        and not (isinstance(value, int | np.integer) and not isinstance(value, bool))
    ]
    if problems:
        raise ValidationError("hdbscan", problems)
    return _check_inputs(
        pts,
        weights,
        "hdbscan",
        given,
        at_least={"min_cluster_size": 2, "min_samples": 1, "max_leaves": 16, "n_neighbors": 1},
        integer_weights=True,
    )


@dataclass(frozen=True)
class _Leaves:
    """How the incidents become leaves of the cluster tree (see :func:`hdbscan`'s Notes).

    ``x``, ``y``, ``c``: the locations (or places) of positive weight and their incidents;
    ``group``: each location's place; ``per_place``: leaves per location or place;
    ``core``, ``radius``: the places' estimated core distances and spreads (None: exact).
    """

    mode: str
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    c: NDArray[np.float64]
    group: NDArray[np.intp]
    per_place: NDArray[np.intp]
    cap: float
    unit: float
    place_min: float
    min_cluster_size: int
    core: NDArray[np.float64] | None = None
    radius: NDArray[np.float64] | None = None


def _leaf_plan(
    lx: NDArray[np.float64],
    ly: NDArray[np.float64],
    lc: NDArray[np.float64],
    mcs: int,
    k: int,
    max_leaves: int,
) -> _Leaves:
    """Choose the regime (exact, capped, places) that keeps the tree within ``max_leaves``."""
    total = float(lc.sum())
    if total < k:
        raise ValidationError(
            "hdbscan",
            [f"min_samples={k} but there are only {total:g} incidents; lower min_samples"],
        )
    group = np.arange(lc.size)
    if total <= max_leaves:
        return _leaves("exact", lx, ly, lc, group, cap=total, mcs=mcs)
    if np.minimum(lc, mcs).sum() <= max_leaves:
        cap = _largest_cap(lc, float(mcs), float(max_leaves))
        return _leaves("capped", lx, ly, lc, group, cap=cap, mcs=mcs)
    target = max_leaves // 4
    place_min = float(2 ** max(1, math.ceil(math.log2(max(total / target, 2.0)))))
    group = _places(lx, ly, lc, place_min)
    while group.max() + 1 > target:
        place_min *= 2
        group = _places(lx, ly, lc, place_min)
    px, py, pc, core, radius = _place_stats(lx, ly, lc, group, k)
    unit = float(math.ceil(total / (max_leaves - pc.size)))
    log.info(
        "hdbscan: %d locations; merged into %d places of >= %g incidents, a leaf per %g "
        "incidents (see hdbscan's Notes)",
        lc.size,
        pc.size,
        place_min,
        unit,
    )
    return _leaves("places", px, py, pc, group, cap=np.inf, mcs=max(2, round(mcs / unit)),
                   unit=unit, place_min=place_min, core=core, radius=radius)  # fmt: skip


def _leaves(
    mode: str,
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    c: NDArray[np.float64],
    group: NDArray[np.intp],
    *,
    cap: float,
    mcs: int,
    unit: float = 1.0,
    place_min: float = 0.0,
    core: NDArray[np.float64] | None = None,
    radius: NDArray[np.float64] | None = None,
) -> _Leaves:
    """Give each location (place) ``round(min(c, cap) / unit)`` leaves, at least one."""
    per_place = np.maximum(np.round(np.minimum(c, cap) / unit), 1).astype(np.intp)
    return _Leaves(mode, x, y, c, group, per_place, float(cap), unit, place_min, mcs, core, radius)
