"""The local background test: a hotspot must stand out from its own surroundings.

Gi*, the KDE threshold and the density clusters' Poisson rules compare every place with the
whole study region's mean, so a busy town is one sprawling hotspot. The background test keeps
only the places whose neighbourhood (the cells within the method's radius) holds significantly
more incidents than a Poisson count at the mean of the ring around it, out to ``background``
times that radius (:func:`beatplan.hotspots.gistar.above_background`): one-sided at ``alpha``,
with Benjamini–Hochberg over the study region's cells when ``fdr``. A town keeps its peaks.

:func:`hot_cells_above_background` applies it to a grid method's hot cells,
:func:`locations_above_background` to the distinct locations a density method clusters.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from beatplan.hotspots.gistar import above_background, bh_reject
from beatplan.hotspots.grid import Grid

__all__ = ["hot_cells_above_background", "locations_above_background", "significant"]


def significant(p: NDArray[np.float64], alpha: float, *, fdr: bool, m: int) -> NDArray[np.bool_]:
    """Which p-values are significant: Benjamini–Hochberg over ``m`` tests, or ``p <= alpha``.

    With ``fdr``, the tests not made (NaN, e.g. cells without an incident) count among the
    ``m`` as p = 1, which is stricter; without, NaN is never significant.
    """
    if fdr:
        return bh_reject(p, alpha, m=m)
    return np.nan_to_num(p, nan=1.0) <= alpha


def _test_text(fdr: bool) -> str:
    return f"(Poisson, one-sided, at alpha{' with Benjamini–Hochberg' if fdr else ''})"


def hot_cells_above_background(
    hot: NDArray[np.bool_],
    values: NDArray[np.float64],
    *,
    cell: float,
    reach: float,
    mask: NDArray[np.bool_],
    background: float | None,
    alpha: float,
    fdr: bool,
    scale: float,
    what: str,
) -> tuple[NDArray[np.bool_], str]:
    """Keep the hot cells whose neighbourhood also stands out from its ring, and say how many.

    Parameters
    ----------
    hot : ndarray of bool, shape (ny, nx)
        The method's hot cells (only these are tested).
    values : ndarray, shape (ny, nx)
        Incidents (or weights) per cell.
    cell, reach : float
        Cell side and the neighbourhood's radius (the band or bandwidth), metres.
    mask : ndarray of bool
        The study region.
    background : float or None
        The ring's outer radius in ``reach``; None: no test.
    alpha, fdr : float, bool
        See :func:`significant`.
    scale : float
        :func:`beatplan.hotspots.weights.weight_scale` of the weights.
    what : str
        The method, for the note.

    Returns
    -------
    hot : ndarray of bool
    note : str
        For ``params["how"]["background"]``.
    """
    if background is None:
        return hot, f"off: {what} alone"
    ring = float(background) * reach
    p_local = above_background(
        values, cell=cell, band=reach, ring=ring, mask=mask, scale=scale, at=hot
    )  # tested on the hot cells only
    kept = hot & significant(p_local, alpha, fdr=fdr, m=int(mask.sum()))
    note = (
        f"hot cells whose {reach:.0f} m neighbourhood also exceeds the mean of the ring out to "
        f"{ring:.0f} m {_test_text(fdr)}: {int(kept.sum()):,} of {int(hot.sum()):,} {what} "
        "hot cells"
    )
    return np.asarray(kept), note


def locations_above_background(
    unique: NDArray[np.float64],
    weight: NDArray[np.float64],
    *,
    grid: Grid,
    region: NDArray[np.bool_],
    eps: float,
    background: float | None,
    alpha: float,
    fdr: bool,
    scale: float,
) -> tuple[NDArray[np.bool_] | None, str]:
    """Locations whose ``eps`` neighbourhood stands out from its ring (None: no test).

    The grid methods' test on ``grid`` with ``eps`` as the radius: a location qualifies when
    its cell's disc of radius ``eps`` holds significantly more incidents than a Poisson count
    at the mean of the ring out to ``background * eps``.

    Parameters
    ----------
    unique : ndarray, shape (m, 2)
        The distinct locations.
    weight : ndarray, shape (m,)
        Incidents (or weights) at each.
    grid : Grid
        The grid the test runs on.
    region : ndarray of bool
        The study region's cells of ``grid``.
    eps : float
        The radius, metres.
    background : float or None
        The ring's outer radius in ``eps``; None: no test.
    alpha, fdr : float, bool
        See :func:`significant`.
    scale : float
        :func:`beatplan.hotspots.weights.weight_scale` of the weights.

    Returns
    -------
    local : ndarray of bool, shape (m,), or None
    note : str
        For ``params["how"]["background"]``.
    """
    if background is None:
        return None, "off: every location clustered (the method alone)"
    values = grid.count(unique, weight)
    flat = grid.locate(unique)
    at = np.zeros(grid.size, dtype=bool)
    at[flat[flat >= 0]] = True
    ring = float(background) * eps
    p = above_background(
        values, cell=grid.cell, band=eps, ring=ring, mask=region, scale=scale,
        at=at.reshape(grid.shape),
    ).ravel()  # fmt: skip
    ok = significant(p, alpha, fdr=fdr, m=int(region.sum()))
    local = np.zeros(len(unique), dtype=bool)
    local[flat >= 0] = ok[flat[flat >= 0]]
    note = (
        f"clustered only the locations where the {eps:.0f} m neighbourhood of their "
        f"{grid.cell:g} m cell exceeds the mean of the ring out to {ring:.0f} m "
        f"{_test_text(fdr)}, as for Gi*: {int(local.sum()):,} of {len(unique):,} locations"
    )
    return local, note
