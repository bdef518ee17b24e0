"""Emerging hotspots: Gi* month by month, and the Mann–Kendall trend of each cell.

The incidents are binned to a space-time cube (grid cells x months). Each month's Gi* is computed
over the distance band with Benjamini–Hochberg control across that month's cells
(:func:`beatplan.hotspots.gistar.gi_star`), and the trend of each cell's monthly z is tested with
the Mann–Kendall statistic. Cells are then put in the categories of ArcGIS's Emerging Hot Spot
Analysis (simplified), where *hot* means a significant hot cell that month:

``new``
    hot in the latest month and in no earlier month;
``consecutive``
    hot in an unbroken run of months ending with the latest (two or more), never before it,
    in fewer than 90 % of the months — an emerging hotspot;
``intensifying``
    hot in at least 90 % of the months, the latest included, with a significant upward trend;
``persistent``
    hot in at least 90 % of the months, with no significant trend;
``diminishing``
    hot in at least 90 % of the months, the latest included, with a significant downward
    trend;
``sporadic``
    hot in the latest month and in some earlier month, but in fewer than 90 % of them.

Every other cell is ``none`` (left out of the result).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pyproj import CRS
from scipy import special

from beatplan.geo.errors import EmptyInputError, ValidationError
from beatplan.hotspots.grid import MAX_CELLS, Grid, extent, study_mask
from beatplan.hotspots.grid_methods import GiStarMethod
from beatplan.hotspots.points import coordinates, prepare_incidents
from beatplan.hotspots.registry import hotspot_method
from beatplan.hotspots.select import select_incidents
from beatplan.hotspots.study import Study

__all__ = ["CATEGORIES", "emerging_hotspots", "mann_kendall"]

CATEGORIES = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic")


def mann_kendall(series: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Mann–Kendall trend test along the first axis, for every column at once.

    Parameters
    ----------
    series : ndarray, shape (t, m)
        ``t`` time steps of ``m`` series.

    Returns
    -------
    z : ndarray, shape (m,)
        The standardised statistic (continuity-corrected; ties corrected), positive for an
        upward trend; 0 for a constant series.
    p : ndarray, shape (m,)
        Two-sided p-value.

    Examples
    --------
    >>> import numpy as np
    >>> z, p = mann_kendall(np.arange(10.0)[:, None])
    >>> bool(z[0] > 3), bool(p[0] < 0.001)
    (True, True)
    """
    y = np.asarray(series, dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    t = y.shape[0]
    if t < 3:
        raise ValidationError("mann_kendall", [f"a trend needs at least 3 time steps, found {t}"])
    s = np.zeros(y.shape[1])
    for i in range(t - 1):  # one pass per time step, all series at once
        s += np.sign(y[i + 1 :] - y[i]).sum(axis=0)
    var = np.full(y.shape[1], t * (t - 1) * (2 * t + 5) / 18.0)
    # tie correction: minus g(g - 1)(2g + 5) / 18 for every group of g equal values
    m = y.shape[1]
    ys = np.sort(y, axis=0)
    starts = np.vstack([np.ones((1, m), bool), ys[1:] != ys[:-1]])
    group = np.cumsum(starts, axis=0) - 1 + np.arange(m)[None, :] * t
    g = np.bincount(group.ravel(), minlength=t * m).reshape(m, t).astype(float)
    var -= (g * (g - 1) * (2 * g + 5)).sum(axis=1) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
    z = np.nan_to_num(z)
    p = special.erfc(np.abs(z) / math.sqrt(2.0))
    return z, p


def emerging_hotspots(
    incidents: Any,
    *,
    cell: float | None = None,
    band: float | None = None,
    months: Any = None,
    types: Any = None,
    area: Any = None,
    alpha: float = 0.05,
    max_cells: int = MAX_CELLS,
) -> gpd.GeoDataFrame:
    """Classify grid cells as new, consecutive, intensifying, persistent, diminishing, sporadic.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or GeoDataFrame
        Incidents with a ``month`` (or ``timestamp``) column, in a projected CRS (lon/lat is
        reprojected).
    cell, band : float, optional
        Grid cell and Gi* distance band in metres; the defaults of
        :func:`beatplan.hotspots.find_hotspots` (:class:`beatplan.hotspots.GiStarMethod`),
        from all the months' incidents.
    months, types, area
        Filters, as in :func:`beatplan.hotspots.select_incidents`.
    alpha : float
        False-discovery rate of each month's Gi* and level of the trend test.
    max_cells : int
        Refuse grids larger than this.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per categorised cell: ``category``, ``months_hot``, ``hot_share``,
        ``latest_hot`` (bool), ``trend_z``, ``trend_p``, ``latest_z``, ``incidents``, and the
        cell ``geometry``; ``attrs["params"]`` records the cell, band, months and counts per
        category.

    Raises
    ------
    EmptyInputError
        Fewer than 3 months of data in the selection.
    """
    points = prepare_incidents(incidents)
    keep, applied, _ = select_incidents(points, months=months, types=types, area=area)
    sel = points[keep]
    xy, t_index, first = _dated(sel)
    crs = CRS.from_user_input(sel.crs)
    # each month's own Gi* hot cells (no background test), with find_hotspots' defaults
    spec = hotspot_method("gistar", cell=cell, band=band, alpha=alpha, background=None)
    gi, _ = spec.checked(crs).resolved(Study(xy, max_cells=max_cells))
    assert isinstance(gi, GiStarMethod) and gi.cell is not None  # resolved
    grid = Grid.covering(extent(xy), gi.cell, pad=gi.reach, max_cells=max_cells)
    cube = np.zeros((int(t_index.max()) + 1, grid.size))
    np.add.at(cube, (t_index, grid.locate(xy)), 1.0)
    total = cube.sum(axis=0).reshape(grid.shape)
    mask = study_mask(grid, occupied=total > 0, reach=gi.reach)
    z, hot = _monthly_gi(gi, cube, mask)
    trend_z, trend_p = mann_kendall(z)
    category = _categories(hot, trend_z, trend_p, alpha)
    chosen = category != ""
    cells = np.flatnonzero(mask.ravel())[chosen]
    months_hot = hot.sum(axis=0)
    out = gpd.GeoDataFrame(
        {
            "category": pd.array(category[chosen], dtype="string"),
            "months_hot": months_hot[chosen].astype(np.int64),
            "hot_share": (months_hot / len(cube))[chosen],
            "latest_hot": hot[-1][chosen],
            "trend_z": trend_z[chosen],
            "trend_p": trend_p[chosen],
            "latest_z": z[-1][chosen],
            "incidents": total.ravel()[cells].astype(np.int64),
        },
        geometry=gpd.GeoSeries(grid.boxes(cells), crs=crs),
        crs=crs,
    )
    counts = out["category"].value_counts()
    out.attrs["params"] = {
        "cell": gi.cell,
        "band": gi.band,
        "alpha": alpha,
        "months": len(cube),
        "first_month": f"{first // 12}-{first % 12 + 1:02d}",
        **applied,
        "categories": {c: int(counts.get(c, 0)) for c in CATEGORIES},
    }
    return out


def _dated(sel: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.int64], int]:
    """Return the dated incidents' x, y, their month counted from the first, and the first.

    Raises
    ------
    EmptyInputError
        Fewer than 3 months spanned.
    """
    col = "month" if "month" in sel.columns and sel["month"].notna().any() else "timestamp"
    if col not in sel.columns:
        raise ValidationError("incidents", ["emerging hotspots need a 'month' column"])
    when = pd.to_datetime(sel[col], errors="coerce")
    ok = when.notna().to_numpy()
    stamp = (when.dt.year * 12 + when.dt.month - 1).to_numpy(dtype=float)
    first = int(np.nanmin(stamp)) if ok.any() else 0
    t_index = np.where(ok, stamp - first, -1).astype(np.int64)
    n_t = int(t_index.max()) + 1 if ok.any() else 0
    if n_t < 3:
        raise EmptyInputError(
            f"emerging hotspots compare months: the selection spans {n_t} month(s); give at least 3"
        )
    return coordinates(sel)[ok], t_index[ok], first


def _monthly_gi(
    gi: GiStarMethod, cube: NDArray[np.float64], mask: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Return each month's Gi* z and hot cells over the study region's cells, shape (months, m)."""
    region = mask.ravel()
    z = np.zeros((len(cube), int(region.sum())))
    hot = np.zeros_like(z, dtype=bool)
    for t in range(len(cube)):  # one Gi* per month (a handful), each vectorised over all cells
        values = cube[t].reshape(mask.shape)
        if not values[mask].any() or np.ptp(values[mask]) == 0:
            continue
        month = gi.cell_scores(values, mask, cover=None)
        z[t] = month.score.ravel()[region]
        hot[t] = month.hot.ravel()[region]
    return z, hot


def _categories(
    hot: NDArray[np.bool_], trend_z: NDArray[np.float64], trend_p: NDArray[np.float64], alpha: float
) -> NDArray[np.object_]:
    """Return each cell's category (see the module notes; ``""`` for none)."""
    months_hot = hot.sum(axis=0)
    latest = hot[-1]
    mostly = months_hot / len(hot) >= 0.9
    up = (trend_p <= alpha) & (trend_z > 0)
    down = (trend_p <= alpha) & (trend_z < 0)
    category = np.full(hot.shape[1], "", dtype=object)
    category[mostly & latest & up] = "intensifying"
    category[mostly & latest & down] = "diminishing"
    category[mostly & ~up & ~down] = "persistent"
    category[latest & (months_hot == 1)] = "new"
    trailing = np.cumprod(hot[::-1], axis=0).sum(axis=0)  # hot months in a row up to the latest
    category[(category == "") & latest & (trailing == months_hot) & (months_hot > 1)] = (
        "consecutive"
    )
    category[(category == "") & latest & (months_hot > 1) & ~mostly] = "sporadic"
    return category
