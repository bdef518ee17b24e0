r"""Getis-Ord Gi* on a regular grid, vectorised, with false-discovery-rate control.

The statistic is Getis & Ord's (1992; Ord & Getis 1995) local G* with binary weights over a
distance band: cell *j* is a neighbour of cell *i* when their centres lie within ``band``
metres, and every cell is its own neighbour. On a grid the neighbourhood is the same disc
of cells everywhere, so the local sums are disc sums computed for all cells at once (one
running sum per row of the disc) instead of a sparse weights matrix; cells outside the
study region are left out of every sum, so the edge cells simply have fewer neighbours.

For cell *i* with local sum :math:`L_i = \sum_j w_{ij} x_j` over :math:`W_i` neighbours
(itself included), among :math:`n` cells with mean :math:`\bar x` and (population)
standard deviation :math:`s`:

.. math::

    z_i = \frac{L_i - \bar x W_i}{s \sqrt{W_i (n - W_i) / (n - 1)}}

which is exactly what PySAL esda's ``G_Local(y, w, transform="B", star=True).Zs`` computes
(the tests check it to 1e-9). p-values are two-sided from the normal distribution, or from
conditional randomisation; the Benjamini–Hochberg procedure then controls the false
discovery rate over all cells of the study region.

Gi* compares each neighbourhood with the mean of the whole study region, so over a county a whole
town is "hot": one significant run of cells spanning many streets. :func:`above_background` is the
second, local test that :func:`beatplan.hotspots.find_hotspots` applies by default (to KDE too): a
neighbourhood must also hold significantly more than its surroundings (a ring of a few bands) would
give it, which keeps a town's peaks and cuts the saddles of ordinary town between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from beatplan.geo.errors import EmptyInputError, ValidationError
from beatplan.hotspots.grid import disc_offsets

__all__ = [
    "GiStar",
    "above_background",
    "bh_reject",
    "disc_sum",
    "disc_sum_at",
    "fdr_bh",
    "gi_star",
]

_EXACT = 2.0**52


def disc_sum(values: NDArray[np.float64], kernel: NDArray[np.bool_]) -> NDArray[np.float64]:
    """Sum ``values`` over a symmetric boolean ``kernel`` centred on every cell.

    Cells beyond the array's edge count as zero. Each kernel row is a run of cells, so the
    sum is one running (cumulative) sum per kernel row: ``O(cells x kernel rows)`` work, and
    exact for integer-valued input.

    Parameters
    ----------
    values : ndarray, shape (ny, nx)
    kernel : ndarray of bool, shape (2r + 1, 2r + 1)
        Symmetric about its centre, each row one contiguous run (a disc or a square).

    Returns
    -------
    ndarray of float64, shape (ny, nx)

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((5, 5)); v[2, 2] = 1
    >>> int(disc_sum(v, np.ones((3, 3), bool)).sum())
    9
    """
    values = np.asarray(values)
    ny, nx = values.shape
    size = kernel.shape[0]
    if kernel.ndim != 2 or kernel.shape[1] != size or size % 2 != 1:
        raise ValueError(f"disc_sum: kernel must be square with odd side, found {kernel.shape}")
    r = size // 2
    finite_ints = values.dtype.kind in "biu" or (
        np.all(values == np.floor(values)) and np.abs(values).sum() < _EXACT
    )
    dtype = np.int64 if finite_ints else np.float64
    # running sums along each row, padded by r zeros on both sides: a window of half-width h
    # centred on column x is run[x + r + h + 1] - run[x + r - h] (contiguous slices only)
    run = np.zeros((ny, nx + 2 * r + 1), dtype=dtype)
    np.cumsum(values.astype(dtype), axis=1, out=run[:, r + 1 : r + 1 + nx])
    run[:, r + 1 + nx :] = run[:, r + nx : r + 1 + nx]
    out = np.zeros((ny, nx), dtype=dtype)
    windows: dict[int, NDArray[Any]] = {}
    for dy in range(-r, r + 1):
        width = int(kernel[dy + r].sum())
        if width == 0 or abs(dy) >= ny:
            continue
        h = width // 2
        if h not in windows:
            windows[h] = run[:, r + h + 1 : r + h + 1 + nx] - run[:, r - h : r - h + nx]
        rows = windows[h]
        if dy >= 0:
            out[: ny - dy] += rows[dy:]
        else:
            out[-dy:] += rows[: ny + dy]
    return out.astype(np.float64)


def fdr_bh(
    p: NDArray[np.float64], alpha: float, *, m: int | None = None
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Benjamini–Hochberg: which p-values are discoveries at false-discovery rate ``alpha``.

    Parameters
    ----------
    p : ndarray
        p-values (NaN entries are ignored and never discoveries).
    alpha : float
        The false-discovery rate to control.
    m : int, optional
        The number of tests, when ``p`` holds only some of them (its non-NaN entries): the
        others count as p-values of 1, which can only make the procedure stricter than
        with their true values.

    Returns
    -------
    reject : ndarray of bool
        Same shape as ``p``.
    q : ndarray of float
        BH-adjusted p-values (NaN where ``p`` is NaN).

    Examples
    --------
    >>> import numpy as np
    >>> fdr_bh(np.array([0.01, 0.02, 0.03, 0.5]), 0.05)[0].tolist()
    [True, True, True, False]
    """
    p = np.asarray(p, dtype=float)
    flat = p.ravel()
    ok = np.flatnonzero(~np.isnan(flat))
    q = np.full(flat.shape, np.nan)
    tests = len(ok) if m is None else int(m)
    if tests < len(ok):
        raise ValueError(f"fdr_bh: m={m} is fewer than the {len(ok)} p-values given")
    if len(ok):
        # any sort will do: tied p-values get the same q whatever their order (the
        # running minimum from the largest p down gives each tie the value at its last rank)
        sub = flat if len(ok) == flat.size else flat[ok]
        order = np.argsort(sub)
        if len(ok) < flat.size:
            order = ok[order]
        ranked = flat[order] * tests / np.arange(1, len(ok) + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        q[order] = np.minimum(ranked, 1.0)
    reject = np.zeros(flat.shape, dtype=bool)
    reject[ok] = q[ok] <= alpha
    return reject.reshape(p.shape), q.reshape(p.shape)


#: Candidates for a Benjamini–Hochberg discovery: p-values up to alpha times this. Any
#: discovery has ``p * m / rank <= alpha`` with ``rank <= m``, so ``p <= alpha`` up to
#: rounding (about 1e-16 relative); the margin only admits a few more candidates.
_BH_MARGIN = 1.0 + 1e-9


def bh_reject(p: NDArray[np.float64], alpha: float, *, m: int | None = None) -> NDArray[np.bool_]:
    """Return the discoveries of :func:`fdr_bh` (its first result), sorting only candidates.

    The same booleans as ``fdr_bh(p, alpha, m=m)[0]``: the p-values above ``alpha`` cannot
    be discoveries and rank after every candidate, so the candidates' ranks among
    themselves are their ranks among all, and their BH values are computed exactly as
    :func:`fdr_bh` does. On a grid of many cells with few hot ones this skips the sort of
    every cell.

    Examples
    --------
    >>> import numpy as np
    >>> bh_reject(np.array([0.01, 0.02, 0.03, 0.5]), 0.05).tolist()
    [True, True, True, False]
    """
    p = np.asarray(p, dtype=float)
    flat = p.ravel()
    tests = int(np.count_nonzero(~np.isnan(flat))) if m is None else int(m)
    if m is not None and tests < int(np.count_nonzero(~np.isnan(flat))):
        raise ValueError(f"fdr_bh: m={m} is fewer than the p-values given")
    cand = np.flatnonzero(flat <= alpha * _BH_MARGIN)  # NaN compares False
    reject = np.zeros(flat.shape, dtype=bool)
    if len(cand):
        order = cand[np.argsort(flat[cand])]
        ranked = flat[order] * tests / np.arange(1, len(cand) + 1)
        ranked = np.minimum.accumulate(ranked[::-1])[::-1]
        reject[order] = np.minimum(ranked, 1.0) <= alpha
    return reject.reshape(p.shape)


@dataclass(frozen=True)
class GiStar:
    """Gi* of every cell of a grid; arrays are ``(ny, nx)``, NaN/False outside the region.

    Attributes
    ----------
    z : ndarray
        Standardised Gi* (analytic).
    p_norm : ndarray
        Two-sided p-value of ``z`` under the normal approximation.
    p_sim : ndarray or None
        Two-sided pseudo p-value from conditional randomisation, when ``permutations > 0``.
    p : ndarray
        The p-value used for the tests: ``p_sim`` when permutations were run, else ``p_norm``.
    q : ndarray
        Benjamini–Hochberg adjusted p-values (equal to ``p`` when ``fdr=False``).
    hot, cold : ndarray of bool
        Significant cells with positive and negative ``z``.
    local_sum, cardinality : ndarray
        The neighbourhood sum of the values and the number of neighbours (self included).
    n : int
        Cells in the study region.
    alpha, band, cell : float
    fdr : bool
    permutations : int
    """

    z: NDArray[np.float64]
    p_norm: NDArray[np.float64]
    p_sim: NDArray[np.float64] | None
    p: NDArray[np.float64]
    hot: NDArray[np.bool_]
    cold: NDArray[np.bool_]
    local_sum: NDArray[np.float64]
    cardinality: NDArray[np.float64]
    n: int
    alpha: float
    band: float
    cell: float
    fdr: bool
    permutations: int

    @cached_property
    def q(self) -> NDArray[np.float64]:
        """Benjamini–Hochberg adjusted p-values (``p`` when ``fdr=False``), on first use."""
        return fdr_bh(self.p, self.alpha)[1] if self.fdr else self.p.copy()


def gi_star(
    values: NDArray[np.float64],
    *,
    cell: float,
    band: float,
    mask: NDArray[np.bool_] | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
    permutations: int = 0,
    seed: int | np.random.Generator | None = None,
) -> GiStar:
    """Compute Getis-Ord Gi* for every cell of a grid over a distance band.

    Parameters
    ----------
    values : ndarray, shape (ny, nx)
        The value of each cell (incident counts, or weighted counts).
    cell : float
        Cell side in metres.
    band : float
        Distance band in metres: cells whose centres lie within ``band`` of each other are
        neighbours (binary weights; every cell is its own neighbour).
    mask : ndarray of bool, optional
        The study region; cells outside are left out of the statistic. All cells by default.
    alpha : float
        Significance level (false-discovery rate when ``fdr``).
    fdr : bool
        Control the false-discovery rate with Benjamini–Hochberg over all region cells;
        otherwise test each cell at ``alpha``.
    permutations : int
        Conditional randomisation draws (0: analytic p-values only). Each cell's value is
        held fixed and its ``W_i - 1`` neighbours are drawn at random from the region's
        values; the draws are made with replacement (they differ from esda's draws without
        replacement by O(W_i / n)), and one set of ``permutations`` draws is shared by every
        cell with the same number of neighbours.
    seed : int or numpy.random.Generator, optional
        Seeds the randomisation.

    Returns
    -------
    GiStar

    Raises
    ------
    EmptyInputError
        Fewer than two cells in the region.
    ValidationError
        Bad arguments, or every region cell has the same value (no variance to test).

    Examples
    --------
    >>> import numpy as np
    >>> v = np.zeros((30, 30)); v[10:13, 10:13] = 20
    >>> g = gi_star(v, cell=100.0, band=150.0)
    >>> bool(g.hot[11, 11]), bool(g.hot[25, 25])
    (True, False)
    """
    values, region = _checked_grid(values, mask, cell=cell, band=band, alpha=alpha,
                                   permutations=permutations)  # fmt: skip
    n = int(region.sum())
    x = np.where(region, values, 0.0)
    mean, var = _moments(x[region])
    kernel = disc_offsets(band, cell)
    local = disc_sum(x, kernel)
    card = disc_sum(region.astype(np.int64), kernel)
    with np.errstate(invalid="ignore", divide="ignore"):
        denom = math.sqrt(var) * np.sqrt(card * (n - card) / (n - 1))
        z = (local - mean * card) / denom
    z[~region] = np.nan
    p_norm = special.erfc(np.abs(z) / math.sqrt(2.0))  # two-sided
    p_sim = None
    if permutations:
        p_sim = _conditional_p(x, local, card, region, permutations, seed)
    p = p_norm if p_sim is None else p_sim
    if fdr:
        significant = bh_reject(p, alpha)  # fdr_bh's discoveries; q follows on demand
    else:
        significant = ~np.isnan(p) & (p <= alpha)
    zz = np.nan_to_num(z)
    return GiStar(
        z=z,
        p_norm=p_norm,
        p_sim=p_sim,
        p=p,
        hot=significant & (zz > 0),
        cold=significant & (zz < 0),
        local_sum=np.where(region, local, np.nan),
        cardinality=np.where(region, card, 0.0),
        n=n,
        alpha=float(alpha),
        band=float(band),
        cell=float(cell),
        fdr=bool(fdr),
        permutations=int(permutations),
    )


def _checked_grid(
    values: NDArray[np.float64],
    mask: NDArray[np.bool_] | None,
    *,
    cell: float,
    band: float,
    alpha: float,
    permutations: int,
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Check :func:`gi_star`'s inputs; return the values and the region, both 2-D arrays."""
    values = np.asarray(values, dtype=float)
    if values.ndim != 2:
        raise ValidationError("gi_star", [f"values must be a 2-D grid, found shape {values.shape}"])
    problems = []
    if not (cell > 0 and math.isfinite(cell)):
        problems.append(f"cell={cell!r} must be a positive number of metres")
    if not (band >= 0 and math.isfinite(band)):
        problems.append(f"band={band!r} must be a non-negative number of metres")
    if not 0 < alpha < 1:
        problems.append(f"alpha={alpha!r} must lie strictly between 0 and 1")
    if permutations < 0:
        problems.append(f"permutations={permutations!r} must be 0 or more")
    if problems:
        raise ValidationError("gi_star", problems)
    region = np.ones(values.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if region.shape != values.shape:
        raise ValidationError(
            "gi_star", [f"mask has shape {region.shape}, values have {values.shape}"]
        )
    if np.isnan(values[region]).any():
        raise ValidationError("gi_star", ["values hold NaN inside the study region"])
    n = int(region.sum())
    if n < 2:
        raise EmptyInputError(
            f"gi_star: the study region holds {n} cell{'s' if n != 1 else ''}; Gi* compares "
            "a cell with the rest and needs at least 2 (use a smaller cell)"
        )
    return values, region


def _moments(inside: NDArray[np.float64]) -> tuple[float, float]:
    """Return the mean and variance of the region's values, refusing a constant region."""
    mean = float(inside.mean())
    var = float((inside * inside).mean() - mean * mean)
    if not var > 1e-12 * max(1.0, mean * mean):
        raise ValidationError(
            "gi_star",
            [
                f"every one of the {inside.size:,} cells of the study region has the value "
                f"{mean:g}, so nothing stands out; use a smaller cell or a larger area"
            ],
        )
    return mean, var


def _conditional_p(
    x: NDArray[np.float64],
    local: NDArray[np.float64],
    card: NDArray[np.float64],
    region: NDArray[np.bool_],
    permutations: int,
    seed: int | np.random.Generator | None,
) -> NDArray[np.float64]:
    """Two-sided pseudo p-values by conditional randomisation (see :func:`gi_star`)."""
    rng = np.random.default_rng(seed)
    pool = x[region]
    cards = card[region].astype(np.int64)
    others = local[region] - pool  # the neighbours' sum, self held fixed
    most = int(cards.max()) - 1
    out = np.full(x.shape, np.nan)
    p_region = np.ones(len(pool))
    if most > 0:
        # running sums of the same draws give a null sample for every neighbourhood size
        draws = rng.choice(pool, size=(permutations, most), replace=True)
        sums = np.cumsum(draws, axis=1)
        for m in np.unique(cards):
            if m < 2:
                continue
            sims = np.sort(sums[:, m - 2])
            sel = cards == m
            obs = others[sel]
            tol = 1e-9 * max(1.0, float(np.abs(sims).max()))
            ge = permutations - np.searchsorted(sims, obs - tol, side="left")
            le = np.searchsorted(sims, obs + tol, side="right")
            upper = (ge + 1) / (permutations + 1)
            lower = (le + 1) / (permutations + 1)
            p_region[sel] = np.minimum(1.0, 2.0 * np.minimum(upper, lower))
    out[region] = p_region
    return out


def disc_sum_at(
    values: NDArray[np.float64], kernel: NDArray[np.bool_], cells: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Return :func:`disc_sum` at the flat indices ``cells`` only, without the whole grid.

    One running sum per grid row, then one gather per kernel row for the chosen cells:
    ``O(grid + len(cells) x kernel rows)`` work instead of ``O(grid x kernel rows)``.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.arange(30.0).reshape(5, 6); k = np.ones((3, 3), bool)
    >>> bool(np.array_equal(disc_sum_at(v, k, np.array([0, 14])), disc_sum(v, k).ravel()[[0, 14]]))
    True
    """
    values = np.asarray(values, dtype=float)
    ny, nx = values.shape
    r = kernel.shape[0] // 2
    run = np.zeros((ny, nx + 2 * r + 1))
    np.cumsum(values, axis=1, out=run[:, r + 1 : r + 1 + nx])
    run[:, r + 1 + nx :] = run[:, r + nx : r + 1 + nx]
    row, col = np.divmod(np.asarray(cells, dtype=np.int64), nx)
    out = np.zeros(len(row))
    for dy in range(-r, r + 1):
        h = int(kernel[dy + r].sum()) // 2
        if not kernel[dy + r].any():
            continue
        rr = row + dy
        ok = (rr >= 0) & (rr < ny)
        out[ok] += run[rr[ok], col[ok] + r + h + 1] - run[rr[ok], col[ok] + r - h]
    return out


def above_background(
    values: NDArray[np.float64],
    *,
    cell: float,
    band: float,
    ring: float,
    mask: NDArray[np.bool_] | None = None,
    scale: float = 1.0,
    at: NDArray[np.bool_] | None = None,
) -> NDArray[np.float64]:
    r"""One-sided p-value that each cell's neighbourhood exceeds its local background.

    The neighbourhood is Gi*'s: the region cells within ``band`` of the cell (itself
    included), with sum :math:`L_i` over :math:`W_i` cells. The background is the mean value
    :math:`b_i` of the region cells further than ``band`` but within ``ring`` metres. Under
    the background, the neighbourhood's count is Poisson with mean :math:`W_i b_i`; the
    p-value is :math:`P(X \ge L_i)`, computed as the regularised incomplete gamma function
    (continuous in :math:`L_i`, so weighted counts are handled too).

    Parameters
    ----------
    values : ndarray, shape (ny, nx)
        Counts (or weighted counts) per cell.
    cell, band : float
        Cell side and Gi* band, metres.
    ring : float
        Outer radius of the background ring, metres (more than ``band``).
    mask : ndarray of bool, optional
        The study region; other cells count in neither sum.
    scale : float
        Multiplies the sums before the test: ``sum(w) / sum(w**2)`` for weighted counts
        makes a compound-Poisson sum roughly Poisson (1 for plain counts).
    at : ndarray of bool, optional
        Compute the p-values of these cells only (e.g. the Gi* hot cells; NaN elsewhere):
        much faster on a large grid with few such cells.

    Returns
    -------
    ndarray of float64, shape (ny, nx)
        NaN outside the region (and outside ``at``). A cell whose ring holds no region cell
        is compared with the mean of the whole region.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.full((40, 40), 2.0); v[20, 20] = 30; v[5:8, 5:8] = 2.0
    >>> p = above_background(v, cell=100.0, band=150.0, ring=600.0)
    >>> bool(p[20, 20] < 1e-6), bool(p[5, 5] > 0.05)
    (True, True)
    """
    values = np.asarray(values, dtype=float)
    if not (0 < band < ring and math.isfinite(ring)):
        raise ValidationError(
            "above_background", [f"ring={ring!r} must be a finite distance beyond band={band!r}"]
        )
    region = np.ones(values.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    wanted = region if at is None else region & np.asarray(at, dtype=bool)
    cells = np.flatnonzero(wanted)
    x = np.where(region, values, 0.0)
    inner = disc_offsets(band, cell)
    outer = disc_offsets(ring, cell)
    inside = region.astype(float)
    local = disc_sum_at(x, inner, cells)
    card = disc_sum_at(inside, inner, cells)
    ring_sum = disc_sum_at(x, outer, cells) - local
    ring_card = disc_sum_at(inside, outer, cells) - card
    overall = float(x[region].mean()) if region.any() else 0.0
    background = np.where(ring_card > 0.5, ring_sum / np.maximum(ring_card, 1.0), overall)
    expected = np.maximum(card * background * scale, 0.0)
    observed = local * scale
    # P(Poisson(expected) >= observed) = P(observed, expected) (regularised lower gamma)
    p = np.ones(len(cells))
    pos = observed > 0
    p[pos] = np.where(
        expected[pos] > 0, special.gammainc(observed[pos], np.maximum(expected[pos], 1e-300)), 0.0
    )
    out = np.full(values.shape, np.nan)
    out.ravel()[cells] = p
    return out
