"""Demand per police area, and each area's deviation from its level's mean.

Demand is incidents counted, optionally harm-weighted by crime type, or population.

Points are located in polygons with :func:`locate_xy`: a numpy grid over the polygons'
boxes gives the candidate (polygon, point) pairs, then one vectorised
:func:`shapely.intersects_xy` on prepared polygons settles them — no point geometries are
built and there is no Python loop per point.

Harm weights
------------
:data:`HARM_WEIGHTS` is an **illustrative** table of relative weights per police.uk crime
type, in the spirit of the Cambridge Crime Harm Index (Sherman, Neyroud and Neyroud 2016),
which weighs each offence by the days of custody a first offender would get under the
sentencing guidelines. The police.uk categories are broad (``"Violence and sexual
offences"`` runs from common assault to rape), so no single published index value fits
them; the numbers here only order the categories sensibly. Give your own table (from your
force's harm index) for real planning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries._common import argsort_ints, as_ids, expand_ranges, listing, mix
from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, ward_table
from beatplan.geo.errors import ColumnNotFoundError, CRSError, GeometryError

__all__ = [
    "HARM_WEIGHTS",
    "PointCounts",
    "area_demand",
    "count_points",
    "deviation_pct",
    "incident_weights",
    "level_demand",
    "locate_xy",
    "point_xy",
]

log = logging.getLogger("beatplan")

#: Illustrative relative harm weights per police.uk crime type (see the module notes; not
#: published Cambridge Crime Harm Index values). Anti-social behaviour counts 1.
HARM_WEIGHTS: dict[str, float] = {
    "Anti-social behaviour": 1.0,
    "Bicycle theft": 5.0,
    "Burglary": 40.0,
    "Criminal damage and arson": 10.0,
    "Drugs": 20.0,
    "Other crime": 10.0,
    "Other theft": 5.0,
    "Possession of weapons": 90.0,
    "Public order": 5.0,
    "Robbery": 365.0,
    "Shoplifting": 2.0,
    "Theft from the person": 20.0,
    "Vehicle crime": 10.0,
    "Violence and sexual offences": 60.0,
}

Weights = str | Mapping[str, float] | None


def _duplicates(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Map points to their distinct locations: (first index of each location, location of each).

    None when the points are (nearly) all distinct or some coordinate is not finite.
    """
    if len(x) < 1000 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None
    # a sample says cheaply whether the points repeat locations (police.uk snap points do)
    step = max(1, len(x) // 20_000)
    sample = np.column_stack([x[::step] + 0.0, y[::step] + 0.0]).view(np.uint64)
    if len(pd.unique(mix(sample[:, 0] ^ mix(sample[:, 1])))) > 0.95 * len(sample):
        return None
    bits = np.column_stack([x + 0.0, y + 0.0]).view(np.uint64)
    codes, uniq = pd.factorize(mix(bits[:, 0] ^ mix(bits[:, 1])))
    if len(uniq) > 0.8 * len(x):
        return None
    seen = np.maximum.accumulate(codes)
    first = np.ones(len(codes), dtype=bool)
    first[1:] = codes[1:] > seen[:-1]
    firsts = np.nonzero(first)[0]
    rep = firsts[codes]
    if not ((x[rep] == x).all() and (y[rep] == y).all()):  # a hash collision: do not merge
        return None
    return firsts, codes


def locate_xy(polygons: Any, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Find the polygon holding each point, vectorised.

    Parameters
    ----------
    polygons : array-like of shapely polygons
        The layer (any CRS, the points' own).
    x, y : numpy.ndarray
        Point coordinates.

    Returns
    -------
    numpy.ndarray of int64
        Position of the polygon holding each point, or -1. A point on a shared edge (or in an
        overlap) goes to the first such polygon in layer order; NaN coordinates to -1.

    Notes
    -----
    Points sharing a location (police.uk snaps incidents to anonymous map points) are located
    once per distinct location.

    Examples
    --------
    >>> import numpy as np
    >>> from shapely import box
    >>> locate_xy([box(0, 0, 1, 1), box(1, 0, 2, 1)], np.array([0.5, 1.0, 5.0]), np.zeros(3) + 0.5)
    array([ 0,  0, -1])
    """
    polys = np.asarray(polygons, dtype=object)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    out = np.full(len(x), -1, dtype=np.int64)
    if len(polys) == 0 or len(x) == 0:
        return out
    dup = _duplicates(x, y)
    if dup is not None:
        firsts, codes = dup
        return locate_xy(polys, x[firsts], y[firsts])[codes]
    b = shapely.bounds(polys)
    okp = np.isfinite(b).all(axis=1)
    if not okp.any():
        return out
    lo_x, lo_y = b[okp, 0].min(), b[okp, 1].min()
    hi_x, hi_y = b[okp, 2].max(), b[okp, 3].max()
    finite = np.isfinite(x) & np.isfinite(y)
    inbox = finite & (x >= lo_x) & (x <= hi_x) & (y >= lo_y) & (y <= hi_y)
    pidx = np.nonzero(inbox)[0]
    if len(pidx) == 0:
        return out
    px, py = x[pidx], y[pidx]
    side = np.maximum(b[okp, 2] - b[okp, 0], b[okp, 3] - b[okp, 1])
    extent = max(hi_x - lo_x, hi_y - lo_y, 1e-9)
    # one monotone map from coordinates to cells for points and boxes alike (a point inside a
    # box lands in one of the box's cells); a product truncated is much cheaper than ``//``
    inv = 1.0 / max(float(np.median(side)) / 3.0, extent / 2000.0, 1e-9)
    ny = int((hi_y - lo_y) * inv) + 1
    key = ((px - lo_x) * inv).astype(np.int64) * ny + ((py - lo_y) * inv).astype(np.int64)
    order = argsort_ints(key)
    skey = key[order]
    sx, sy = px[order], py[order]  # sorted by cell: each cell's points lie together
    poly = np.nonzero(okp)[0]
    bb = b[poly]
    cx0 = ((bb[:, 0] - lo_x) * inv).astype(np.int64)
    cx1 = ((bb[:, 2] - lo_x) * inv).astype(np.int64)
    cy0 = ((bb[:, 1] - lo_y) * inv).astype(np.int64)
    cy1 = ((bb[:, 3] - lo_y) * inv).astype(np.int64)
    nyc = cy1 - cy0 + 1
    j, owner = expand_ranges(np.zeros(len(poly), np.int64), (cx1 - cx0 + 1) * nyc)
    ckey = (cx0[owner] + j // nyc[owner]) * ny + (cy0[owner] + j % nyc[owner])
    lo = np.searchsorted(skey, ckey, "left")
    n_in = np.searchsorted(skey, ckey, "right") - lo
    # each (box cell, point in that cell) pair: the points of a cell lie together in sorted order
    cand_poly = np.repeat(poly[owner], n_in)
    k = np.arange(int(n_in.sum())) + np.repeat(lo - (np.cumsum(n_in) - n_in), n_in)
    # no box filter here: a prepared polygon rejects a point outside its envelope at once
    was = shapely.is_prepared(polys)
    shapely.prepare(polys)
    try:
        hit = shapely.intersects_xy(polys[cand_poly], sx[k], sy[k])
    finally:
        shapely.destroy_prepared(polys[~was])
    hp, hk = cand_poly[hit], k[hit]
    res = np.full(len(pidx), -1, dtype=np.int64)
    n_hits = np.bincount(hk, minlength=len(pidx))
    one = n_hits[hk] == 1
    res[hk[one]] = hp[one]
    if not one.all():  # on a shared edge or in an overlap: the first polygon in layer order
        mp, mk = hp[~one], hk[~one]
        o = np.lexsort((mp, mk))
        mp, mk = mp[o], mk[o]
        first = np.r_[True, mk[1:] != mk[:-1]]
        res[mk[first]] = mp[first]
    out[pidx[order]] = res
    return out


def point_xy(
    points: gpd.GeoDataFrame | gpd.GeoSeries, *, crs: Any = None, what: str = "points"
) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of a point layer, reprojected to ``crs`` when given.

    Parameters
    ----------
    points : geopandas.GeoDataFrame or GeoSeries
        Point geometries (null or empty ones give NaN).
    crs : optional
        The CRS wanted; the points are reprojected to it (and the move logged).
    what : str, default "points"
        Name of the input in messages.

    Returns
    -------
    x, y : numpy.ndarray
        One value per row, NaN where there is no point.

    Raises
    ------
    CRSError
        The points have no CRS while one is needed.
    GeometryError
        A geometry is not a point.
    """
    geo = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if crs is not None:
        target = CRS.from_user_input(crs)
        if geo.crs is None:
            raise CRSError(
                f"{what}: the points have no CRS, so they cannot be placed in the areas "
                f"({target.to_string()}); set one with .set_crs(...)"
            )
        if not CRS.from_user_input(geo.crs).equals(target):
            log.info("%s: reprojected from %s to %s", what, geo.crs.to_string(), target.to_string())
            geo = geo.to_crs(target)
    g = np.asarray(geo.values, dtype=object)
    t = shapely.get_type_id(g)
    bad = (t != 0) & (t != -1) & ~shapely.is_empty(g)
    if bad.any():
        raise GeometryError(
            f"{what}: {int(bad.sum())} geometr{'y is' if bad.sum() == 1 else 'ies are'} not "
            f"points (rows {listing(np.nonzero(bad)[0])}); give incident or population points"
        )
    return shapely.get_x(g), shapely.get_y(g)


@dataclass(frozen=True)
class PointCounts:
    """Points located in a polygon layer, and counted per polygon (:func:`count_points`).

    Attributes
    ----------
    x, y : numpy.ndarray
        The points' coordinates in the polygons' CRS (NaN where a point has none).
    weight : numpy.ndarray
        The demand each point stands for (:func:`incident_weights`).
    loc : numpy.ndarray of int64
        The polygon holding each point (:func:`locate_xy`), -1 for none.
    incidents, demand : numpy.ndarray
        Per polygon: the points in it and their summed weight.
    """

    x: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    weight: np.ndarray = field(repr=False)
    loc: np.ndarray = field(repr=False)
    incidents: np.ndarray = field(repr=False)
    demand: np.ndarray = field(repr=False)

    @property
    def info(self) -> dict[str, int]:
        """``points`` read, ``inside`` a polygon, ``outside`` every one, ``unlocated`` (no xy)."""
        unlocated = ~(np.isfinite(self.x) & np.isfinite(self.y))
        inside = self.loc >= 0
        return {
            "points": len(self.x),
            "inside": int(inside.sum()),
            "outside": int((~inside & ~unlocated).sum()),
            "unlocated": int(unlocated.sum()),
        }


def count_points(
    polygons: Any,
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    crs: Any = None,
    weights: Weights = None,
    category: str = "category",
    what: str = "points",
) -> PointCounts:
    """Locate points in polygons once and count them, and their demand, per polygon.

    Parameters
    ----------
    polygons : array-like of shapely polygons
        The layer (a coverage: a point on a shared edge counts once).
    points : geopandas.GeoDataFrame or GeoSeries
        Incident or population points (reprojected to ``crs`` when given).
    crs : optional
        The polygons' CRS.
    weights : None, str or mapping
        What a point counts for (see :func:`incident_weights`).
    category : str, default "category"
        The crime-type column, for harm weights.
    what : str, default "points"
        Name of the points in messages.

    Returns
    -------
    PointCounts

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box, points as pts
    >>> p = gpd.GeoDataFrame(geometry=pts([[0.5, 0.5], [1.5, 0.5], [9, 9]]))
    >>> c = count_points([box(0, 0, 1, 1), box(1, 0, 2, 1)], p)
    >>> c.incidents.tolist(), c.info["outside"]
    ([1, 1], 1)
    """
    polys = np.asarray(polygons, dtype=object)
    x, y = point_xy(points, crs=crs, what=what)
    frame = points if isinstance(points, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=points)
    w = incident_weights(frame, weights, category=category)
    loc = locate_xy(polys, x, y)
    inside = loc >= 0
    n = len(polys)
    return PointCounts(
        x=x,
        y=y,
        weight=w,
        loc=loc,
        incidents=np.bincount(loc[inside], minlength=n).astype(np.int64),
        demand=np.bincount(loc[inside], weights=w[inside], minlength=n),
    )


def deviation_pct(demand: pd.Series) -> pd.Series:
    """Each value's deviation from the mean, in percent (NaN when the mean is not positive).

    Examples
    --------
    >>> import pandas as pd
    >>> deviation_pct(pd.Series([1.0, 3.0])).tolist()
    [-50.0, 50.0]
    """
    mean = demand.mean()
    if not np.isfinite(mean) or mean <= 0:
        return pd.Series(np.nan, index=demand.index)
    return 100.0 * (demand / mean - 1.0)


def incident_weights(
    points: pd.DataFrame,
    weights: Weights = None,
    *,
    category: str = "category",
    default: float = 1.0,
) -> np.ndarray:
    """Return the demand each point stands for.

    Parameters
    ----------
    points : pandas.DataFrame
        The points' table.
    weights : None, str or mapping
        ``None``: 1 per point. A column name: that numeric column (e.g. ``"population"``).
        ``"harm"``: :data:`HARM_WEIGHTS` by ``category``. A mapping: crime type to weight,
        by ``category``.
    category : str, default "category"
        The crime-type column, for harm weights.
    default : float, default 1.0
        Weight of a crime type missing from the table (logged with the types).

    Returns
    -------
    numpy.ndarray of float

    Examples
    --------
    >>> import pandas as pd
    >>> incident_weights(pd.DataFrame({"category": ["Robbery", "Shoplifting"]}), "harm")
    array([365.,   2.])
    """
    n = len(points)
    if weights is None:
        return np.ones(n)
    if isinstance(weights, str) and weights in points.columns:
        w = pd.to_numeric(points[weights], errors="coerce").to_numpy(dtype=float)
        if np.isnan(w).any():
            log.warning("%d point(s) have no number in %r; weighted 0", np.isnan(w).sum(), weights)
        return np.nan_to_num(w, nan=0.0)
    if isinstance(weights, str) and weights != "harm":
        raise ColumnNotFoundError(
            f"weights={weights!r} is neither a column of the points ({listing(points.columns)}) "
            "nor 'harm'; name a numeric column, 'harm', or give a table {crime type: weight}"
        )
    table = HARM_WEIGHTS if isinstance(weights, str) else dict(weights)
    if category not in points.columns:
        raise ColumnNotFoundError(
            f"harm weights need the crime type, but the points have no {category!r} column "
            f"(columns: {listing(points.columns)}); pass category= naming it"
        )
    cats = points[category].astype("string")
    if cats.isna().all():
        log.warning(
            "harm weights: the %s points have no crime type (their %r column is empty); each "
            "is weighted %g, as without harm weighting",
            f"{len(cats):,}", category, default,
        )  # fmt: skip
        return np.full(len(cats), float(default))
    w = np.array(cats.map(table).astype(float), dtype=float)
    unknown = np.isnan(w)
    if unknown.any():
        kinds = sorted(map(str, cats[unknown].dropna().unique()))
        log.warning(
            "harm weights: %d point(s) of type(s) not in the table (%s) weighted %g",
            unknown.sum(),
            listing(kinds),
            default,
        )
        w[unknown] = default
    return w


def _deviation(frame: pd.DataFrame, by: str | None) -> pd.DataFrame:
    grp = frame.groupby(by)["demand"] if by else None
    mean = grp.transform("mean") if grp is not None else frame["demand"].mean()
    total = grp.transform("sum") if grp is not None else frame["demand"].sum()
    frame["share"] = np.where(total > 0, frame["demand"] / np.where(total > 0, total, 1), 0.0)
    frame["mean"] = mean
    frame["deviation"] = frame["demand"] - mean
    frame["deviation_pct"] = (
        grp.transform(deviation_pct) if grp is not None else deviation_pct(frame["demand"])
    )
    return frame


def area_demand(
    points: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    area_id: str = "id",
    weights: Weights = None,
    category: str = "category",
    level: str | None = None,
) -> pd.DataFrame:
    """Incidents and demand per area, with each area's deviation from the mean.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Incident (or population) points, in any CRS (reprojected to the areas').
    areas : geopandas.GeoDataFrame
        One polygon layer (a coverage: a point on a shared edge counts once).
    area_id : str, default "id"
        The area id column.
    weights : None, str or mapping
        See :func:`incident_weights`.
    category : str, default "category"
        The crime-type column, for harm weights.
    level : str, optional
        Written in a ``level`` column when given.

    Returns
    -------
    pandas.DataFrame
        One row per area in the layer's order: (``level``), ``id``, ``incidents``,
        ``demand`` (= ``incidents`` unweighted), ``share`` of the total, ``mean`` (over the
        areas), ``deviation`` (demand - mean) and ``deviation_pct``. ``attrs`` holds
        ``points``, ``outside`` (points in no area) and ``unlocated`` (no coordinates).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box, points as pts
    >>> a = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> p = gpd.GeoDataFrame(geometry=pts([[0.5, 0.5], [0.2, 0.5], [1.5, 0.5]]))
    >>> d = area_demand(p, a)
    >>> d["incidents"].tolist(), d["deviation_pct"].round(1).tolist()
    ([2, 1], [33.3, -33.3])
    """
    if area_id not in areas.columns:
        raise ColumnNotFoundError(
            f"areas: no id column {area_id!r}; the columns are {listing(areas.columns)}"
        )
    c = count_points(
        areas.geometry.values, points, crs=areas.crs, weights=weights, category=category
    )
    frame = pd.DataFrame(
        {
            "id": as_ids(areas[area_id]).to_numpy(),
            "incidents": c.incidents,
            "demand": c.demand,
        }
    )
    if level is not None:
        frame.insert(0, "level", level)
    frame = _deviation(frame, None)
    info = c.info
    frame.attrs.update(points=info["points"], outside=info["outside"], unlocated=info["unlocated"])
    return frame


def level_demand(
    wards: gpd.GeoDataFrame,
    points: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    weights: Weights = None,
    category: str = "category",
    ward_counts: tuple[np.ndarray, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Demand per area at every level of a ward table, each area against its level's mean.

    Points are located once, in the wards; every level's figures are sums over its wards, so
    they add up exactly from level to level.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table.
    points : geopandas.GeoDataFrame
        Incident or population points (reprojected to the wards' CRS).
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    weights : None, str or mapping
        See :func:`incident_weights`.
    category : str, default "category"
        The crime-type column, for harm weights.
    ward_counts : (incidents, demand) arrays, optional
        Per-ward figures already computed (then ``points`` is not read).

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``id``, ``n_wards``, ``incidents``, ``demand``, ``share``,
        ``mean``, ``deviation`` and ``deviation_pct``; levels in order, ids sorted.
        ``attrs`` as :func:`area_demand` (counts against the wards).
    """
    levels = list(levels)
    table = ward_table(wards, ward_id=ward_id, levels=levels)
    if ward_counts is None:
        c = count_points(
            table.geometry.values, points, crs=table.crs, weights=weights, category=category
        )
        inc, dem = c.incidents, c.demand
        info = c.info
        attrs = {k: info[k] for k in ("points", "outside", "unlocated")}
    else:
        inc, dem = (np.asarray(a) for a in ward_counts)
        attrs = {}
    frames = []
    for level in levels:
        f = (
            pd.DataFrame({"id": table[level].to_numpy(), "incidents": inc, "demand": dem})
            .groupby("id", sort=True)
            .agg(
                n_wards=("incidents", "size"),
                incidents=("incidents", "sum"),
                demand=("demand", "sum"),
            )
            .reset_index()
        )
        f.insert(0, "level", level)
        frames.append(f)
    out = _deviation(pd.concat(frames, ignore_index=True), "level")
    out["id"] = out["id"].astype("string")
    out.attrs.update(attrs)
    return out
