"""One polygon per cluster of points, containing every member.

A density cluster (:func:`beatplan.hotspots.dbscan.dbscan`,
:func:`beatplan.hotspots.dbscan.hdbscan`) is a set of incidents; a map needs its outline.
:func:`cluster_polygons` draws each cluster's convex hull, or a concave hull, widened by a buffer so
that every member lies strictly inside, for all clusters in a few vectorised shapely calls.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from beatplan.geo.errors import ValidationError

__all__ = ["cluster_polygons"]


def _group_and_thin(
    p: np.ndarray, lab: np.ndarray, cell: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sort points by cluster and keep one per cluster and square cell of side ``cell``.

    A dropped point is within ``cell * sqrt(2)`` of a kept one of its cluster, well inside the
    buffer (``cell`` is an eighth of it), so the polygons still contain every member. Returns
    the kept points' indices (grouped by cluster), their cluster numbers 0..k-1 and the labels.
    """
    q = np.floor((p - p.min(axis=0)) / cell)
    nx, ny = q[:, 0].max() + 1, q[:, 1].max() + 1
    lab0 = lab - lab.min()
    if (int(lab0.max()) + 1) * nx * ny < 2.0**62:
        key = (lab0 * int(ny) + q[:, 1].astype(np.int64)) * int(nx) + q[:, 0].astype(np.int64)
        order = np.argsort(key, kind="stable")
        ks = key[order]
        first = np.ones(ks.size, dtype=bool)
        first[1:] = ks[1:] != ks[:-1]
        order = order[first]
    else:  # keys would overflow: keep every point
        order = np.argsort(lab0, kind="stable")
    ls = lab[order]
    new = np.ones(ls.size, dtype=bool)
    new[1:] = ls[1:] != ls[:-1]
    return order, np.cumsum(new) - 1, ls[new]


def _hull_candidates(p: np.ndarray, group: np.ndarray, k: int) -> np.ndarray:
    """Mask of the points that may be convex-hull vertices of their cluster (Akl-Toussaint).

    Each cluster's extreme points in eight directions form a convex octagon inside its hull;
    a point strictly inside that octagon is not a hull vertex and is dropped. ``group`` must be
    sorted.
    """
    x, y = p[:, 0], p[:, 1]
    starts = np.searchsorted(group, np.arange(k))  # points are grouped by cluster
    verts = []
    # support directions in counter-clockwise order: -y, x-y, x, x+y, y, y-x, -x, -x-y
    for v in (-y, x - y, x, x + y, y, y - x, -x, -x - y):
        # index of a largest value of v in each cluster
        best = np.maximum.reduceat(v, starts)
        idx = np.flatnonzero(v == best[group])
        first = np.empty(k, dtype=np.intp)
        first[group[idx[::-1]]] = idx[::-1]
        verts.append(first)
    inside = np.ones(p.shape[0], dtype=bool)
    for i in range(8):
        a, b = verts[i][group], verts[(i + 1) % 8][group]
        cross = (x[b] - x[a]) * (y - y[a]) - (y[b] - y[a]) * (x - x[a])
        inside &= cross > 0
    return ~inside


def cluster_polygons(
    xy: ArrayLike,
    labels: ArrayLike,
    *,
    buffer: float,
    concave_ratio: float | None = None,
    crs: Any = None,
    quad_segs: int = 8,
) -> gpd.GeoSeries:
    """Draw one polygon around each cluster's points.

    Parameters
    ----------
    xy : array-like of shape (n, 2)
        Point coordinates in metres.
    labels : array-like of int, shape (n,)
        Cluster of each point; negative values (noise) are left out.
    buffer : float
        Distance in metres added around the hull, > 0. It makes a polygon of a one-point or
        collinear cluster, and puts every member strictly inside (not on the boundary).
    concave_ratio : float, optional
        ``None`` (default) for the convex hull; else a ratio in [0, 1] passed to
        :func:`shapely.concave_hull` (0: the tightest concave hull, 1: the convex hull).
    crs : optional
        CRS of the result (that of ``xy``).
    quad_segs : int
        Segments per quarter circle of the buffer's rounded corners.

    Returns
    -------
    geopandas.GeoSeries
        One Polygon per cluster, indexed by cluster label (sorted), named ``"geometry"``;
        empty when there are no clusters.

    Raises
    ------
    ValidationError
        Coordinates not of shape (n, 2) or not finite for clustered points, labels of another
        length or not whole numbers, ``buffer <= 0``, ``concave_ratio`` outside [0, 1].

    Notes
    -----
    Each member is within ``buffer`` of its cluster's hull and so inside the polygon, which is
    checked by the tests for one- and two-location clusters, collinear clusters and concave
    hulls. To keep large clusters fast, the hull is drawn through one member per square of
    ``buffer / 8`` (every other member is within ``buffer / 5.6`` of one of those, so still
    inside).

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0, 0], [10, 0], [0, 10], [500, 500], [900, 900]], dtype=float)
    >>> polys = cluster_polygons(xy, [0, 0, 0, 1, -1], buffer=5)
    >>> polys.index.tolist(), [round(a) for a in polys.area]
    ([0, 1], [299, 78])
    """
    pts = np.asarray(xy, dtype=np.float64)
    lab_in = np.asarray(labels)
    problems: list[str] = []
    if pts.ndim != 2 or (pts.size and pts.shape[1] != 2):
        problems.append(f"xy has shape {pts.shape}; expected (n, 2) x/y coordinates in metres")
    if lab_in.ndim != 1 or (pts.ndim == 2 and lab_in.shape[0] != pts.shape[0]):
        problems.append(
            f"labels has shape {lab_in.shape}; expected one label per point "
            f"({pts.shape[0] if pts.ndim else 0},)"
        )
    elif lab_in.size and not (
        np.issubdtype(lab_in.dtype, np.integer)
        or (np.issubdtype(lab_in.dtype, np.floating) and np.all(lab_in == np.round(lab_in)))
    ):
        problems.append(f"labels have dtype {lab_in.dtype}; expected whole-number cluster labels")
    if not (isinstance(buffer, int | float | np.number) and math.isfinite(buffer) and buffer > 0):
        problems.append(
            f"buffer={buffer!r}; expected a distance > 0 in metres (e.g. 25): it keeps every "
            "member strictly inside its polygon"
        )
    if concave_ratio is not None and not (
        isinstance(concave_ratio, int | float | np.number) and 0 <= concave_ratio <= 1
    ):
        problems.append(f"concave_ratio={concave_ratio!r}; expected None or a ratio in [0, 1]")
    if problems:
        raise ValidationError("cluster_polygons", problems)
    lab = lab_in.astype(np.int64)
    member = lab >= 0
    if not member.any():
        return gpd.GeoSeries([], index=pd.Index([], dtype=np.int64), crs=crs, name="geometry")
    p = pts[member]
    lab = lab[member]
    bad = ~np.isfinite(p).all(axis=1)
    if bad.any():
        raise ValidationError(
            "cluster_polygons",
            [f"{int(bad.sum())} clustered point(s) have NaN or infinite coordinates"],
        )
    order, group, ids = _group_and_thin(p, lab, float(buffer) / 8.0)
    p = p[order]
    if concave_ratio is None:
        keep = _hull_candidates(p, group, ids.size)
        p, group = p[keep], group[keep]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=ids.size))])
    mp = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOINT, np.ascontiguousarray(p), offsets=(offsets,)
    )
    if concave_ratio is None:
        hull = shapely.convex_hull(mp)
    else:
        hull = shapely.concave_hull(mp, ratio=float(concave_ratio))
    poly = shapely.buffer(hull, float(buffer), quad_segs=quad_segs)
    return gpd.GeoSeries(poly, index=pd.Index(ids, name="cluster"), crs=crs, name="geometry")
