r"""Kernel density of incidents on a grid, and the cells above a stated threshold.

The density is a binned kernel estimate: incidents are counted per grid cell and the counts
are spread with a quartic (biweight) kernel, :math:`K(d) \propto (1 - d^2/h^2)^2` for
:math:`d < h` — the kernel of crime-mapping practice (Chainey et al. 2008; ArcGIS Kernel
Density) — or a Gaussian truncated at 4 h. The kernel weights on the lattice are normalised
to sum to one, so the surface integrates to the number (or weight) of incidents; there is
no edge correction. Density is in incidents per square kilometre.

Bandwidth rules (:func:`default_bandwidth`):

``"nn"`` (default)
    the median distance from each distinct incident location to its 8th nearest distinct
    location: the scale at which a typical place has neighbours, at least one cell.
``"silverman"``
    the spatial variant of Silverman's rule used by ArcGIS:
    :math:`0.9 \min(SD, \sqrt{1/\ln 2}\, D_m)\, n^{-0.2}`, with SD the standard distance
    and :math:`D_m` the median distance to the mean centre. It gives km-scale surfaces for
    a whole force.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage, signal

from beatplan.geo.errors import EmptyInputError, ValidationError, check_option
from beatplan.hotspots.gistar import disc_sum
from beatplan.hotspots.grid import neighbour_scale, spaced_locations

__all__ = [
    "BANDWIDTH_RULES",
    "KERNELS",
    "default_bandwidth",
    "hot_cells",
    "kde_surface",
    "kernel_weights",
]

KERNELS = ("quartic", "gaussian")
BANDWIDTH_RULES = ("nn", "silverman")
_NN_K = 8


def kernel_weights(bandwidth: float, cell: float, kernel: str = "quartic") -> NDArray[np.float64]:
    """Return the kernel's weights on the lattice of cell centres, summing to one.

    Parameters
    ----------
    bandwidth : float
        Kernel radius ``h`` in metres (the Gaussian's standard deviation, truncated at 4 h).
    cell : float
        Cell side in metres.
    kernel : {"quartic", "gaussian"}

    Returns
    -------
    ndarray, shape (2r + 1, 2r + 1)

    Examples
    --------
    >>> w = kernel_weights(250.0, 100.0)
    >>> w.shape, round(float(w.sum()), 12)
    ((5, 5), 1.0)
    """
    check_option("kernel", kernel, KERNELS)
    if not (bandwidth > 0 and cell > 0):
        raise ValidationError(
            "kernel_weights", [f"bandwidth={bandwidth!r} and cell={cell!r} must be positive"]
        )
    reach = bandwidth if kernel == "quartic" else 4.0 * bandwidth
    r = int(math.floor(reach / cell))
    d = np.arange(-r, r + 1) * cell
    dx, dy = np.meshgrid(d, d)
    d2 = (dx * dx + dy * dy) / (bandwidth * bandwidth)
    if kernel == "quartic":
        w = np.where(d2 < 1.0, (1.0 - d2) ** 2, 0.0)
    else:
        w = np.where(d2 <= 16.0, np.exp(-0.5 * d2), 0.0)
    total = w.sum()
    if total <= 0:  # bandwidth smaller than half a cell: all weight on the cell itself
        w = np.zeros((1, 1)) + 1.0
        total = 1.0
    return np.asarray(w / total)


def kde_surface(
    counts: NDArray[np.float64],
    *,
    cell: float,
    bandwidth: float,
    kernel: str = "quartic",
) -> NDArray[np.float64]:
    """Spread per-cell counts with a kernel: incidents per square kilometre in every cell.

    Parameters
    ----------
    counts : ndarray, shape (ny, nx)
        Incidents (or weights) per cell.
    cell : float
        Cell side in metres.
    bandwidth : float
        Kernel radius in metres.
    kernel : {"quartic", "gaussian"}

    Returns
    -------
    ndarray, shape (ny, nx)
        Density; exactly zero where no incident lies within the kernel's reach.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.zeros((20, 20)); c[10, 10] = 5
    >>> d = kde_surface(c, cell=100.0, bandwidth=300.0)
    >>> round(float(d.sum() * 0.01), 9)    # 100 m cells are 0.01 km^2
    5.0
    """
    counts = np.asarray(counts, dtype=float)
    w = kernel_weights(bandwidth, cell, kernel)
    if w.size <= 225:
        spread = ndimage.correlate(counts, w, mode="constant", cval=0.0)
    else:
        spread = signal.fftconvolve(counts, w, mode="same")
        # FFT leaves round-off noise where the true value is zero: clear it exactly
        support = disc_sum((counts != 0).astype(np.int64), w > 0) > 0
        spread = np.where(support, np.maximum(spread, 0.0), 0.0)
    return np.asarray(spread * (1e6 / (cell * cell)))


def default_bandwidth(
    xy: NDArray[np.float64], *, rule: str = "nn", cell: float | None = None
) -> tuple[float, str]:
    """Choose a kernel bandwidth (metres) from the data by a stated rule and say how.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Incident coordinates in metres.
    rule : {"nn", "silverman"}
        See the module notes.
    cell : float, optional
        Grid cell size; the bandwidth is at least one cell.

    Returns
    -------
    bandwidth : float
    reason : str
    """
    check_option("bandwidth rule", rule, BANDWIDTH_RULES)
    xy = np.asarray(xy, dtype=float)
    unique = spaced_locations(xy, False, "default_bandwidth", "a bandwidth", "bandwidth=...")
    if rule == "nn":
        h, reason = neighbour_scale(unique, _NN_K, distinct=True)
    else:
        centre = xy.mean(axis=0)
        dist = np.hypot(*(xy - centre).T)
        sd = float(math.sqrt((dist**2).mean()))
        dm = float(np.median(dist))
        h = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * len(xy) ** -0.2
        reason = (
            f"spatial Silverman rule 0.9 min(SD {sd:.0f} m, sqrt(1/ln 2) Dm "
            f"{math.sqrt(1 / math.log(2)) * dm:.0f} m) n^-0.2, n={len(xy):,} ({h:.0f} m)"
        )
    h = round(h)
    if cell is not None and h < cell:
        h = float(cell)
        reason += f", raised to one cell ({cell:g} m)"
    return float(h), reason


def hot_cells(
    density: NDArray[np.float64],
    mask: NDArray[np.bool_],
    *,
    threshold: float = 3.0,
    top: float | None = None,
) -> tuple[NDArray[np.bool_], float, str]:
    """Return the cells above the threshold, the threshold value and how it was set.

    Parameters
    ----------
    density : ndarray, shape (ny, nx)
    mask : ndarray of bool
        The study region: the mean and the area share are taken over it.
    threshold : float
        Hot cells have at least ``threshold`` times the mean density of the region's cells.
    top : float, optional
        Instead, the densest cells making up this share (0-1) of the region's area: exactly
        ``floor(top * cells)`` of them (at least one), a tie at the cut-off broken by
        position, so they never cover more.

    Returns
    -------
    hot : ndarray of bool
    value : float
        The density threshold (incidents per km²).
    reason : str
    """
    inside = density[mask]
    if inside.size == 0:
        raise EmptyInputError("hot_cells: the study region holds no cells")
    if top is not None:
        if not 0 < top <= 1:
            raise ValidationError(
                "hot_cells", [f"top={top!r} must be a share of the area above 0, at most 1"]
            )
        k = max(1, int(math.floor(top * inside.size + 1e-9)))
        # exactly the k densest cells (a tie at the cut-off never takes more area)
        best = np.argsort(-inside, kind="stable")[:k]
        hot = np.zeros(mask.shape, dtype=bool)
        hot.ravel()[np.flatnonzero(mask.ravel())[best]] = True
        hot &= density > 0
        value = float(inside[best[-1]])
        reason = f"densest {top:.2%} of the study region's area ({value:.4g} per km²)"
        return hot, value, reason
    if not threshold > 0:
        raise ValidationError(
            "hot_cells", [f"threshold={threshold!r} must be a positive multiple of the mean"]
        )
    mean = float(inside.mean())
    value = threshold * mean
    reason = f"at least {threshold:g} x the mean cell density ({mean:.4g} per km²)"
    hot = mask & (density >= value) & (density > 0)
    return hot, float(value), reason
