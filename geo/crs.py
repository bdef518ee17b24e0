"""The CRS policy: metres inside.

Every distance, area and cluster in beatplan is computed in one projected CRS: the one the
user names, else British National Grid (EPSG:27700) for data inside Great Britain, else the
local UTM zone. :func:`working_crs` makes that choice and logs it; :func:`to_working`
reprojects a layer into it. Layers are reprojected, never mixed.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer
from pyproj.database import query_utm_crs_info

from beatplan.geo.errors import CRSError

__all__ = [
    "BNG",
    "WGS84",
    "GB_LONLAT_BOUNDS",
    "check_crs_fits",
    "lonlat_bounds",
    "parse_crs",
    "to_working",
    "transformer",
    "working_crs",
]

log = logging.getLogger("beatplan")

BNG = CRS.from_epsg(27700)
WGS84 = CRS.from_epsg(4326)
#: Great Britain (with its islands) in lon/lat: west, south, east, north.
GB_LONLAT_BOUNDS = (-8.9, 49.8, 1.9, 60.9)
#: Northern Ireland lies inside the GB box but is not British National Grid country.
_NI_LONLAT_BOUNDS = (-8.2, 54.0, -5.4, 55.4)

Bounds = tuple[float, float, float, float]


def parse_crs(value: Any, *, what: str = "crs") -> CRS:
    """Turn user input (EPSG code, ``"EPSG:27700"``, WKT, a ``CRS``) into a :class:`pyproj.CRS`.

    Parameters
    ----------
    value : any
        Anything :meth:`pyproj.CRS.from_user_input` accepts.
    what : str
        Name used in the error message.

    Returns
    -------
    pyproj.CRS
    """
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises its own CRSError with a long message
        raise CRSError(
            f"{what}={value!r} is not a coordinate reference system pyproj understands "
            f"(give e.g. 'EPSG:27700' or 27700): {exc}"
        ) from exc


def transformer(src: Any, dst: Any) -> Transformer:
    """Return an always-xy :class:`pyproj.Transformer` from ``src`` to ``dst``, cached.

    Building a Transformer costs tens of milliseconds; this keeps the last 64 built, keyed on
    the two CRSs' WKT. pyproj (>= 3.1) Transformers are safe to share between threads.

    Parameters
    ----------
    src, dst : any
        Anything :func:`parse_crs` accepts.

    Returns
    -------
    pyproj.Transformer

    Examples
    --------
    >>> x, y = transformer(4326, 27700).transform(-1.13, 52.63)
    >>> round(x, -3), round(y, -3)
    (459000.0, 304000.0)
    """
    return _transformer(parse_crs(src, what="src").to_wkt(), parse_crs(dst, what="dst").to_wkt())


@functools.lru_cache(maxsize=64)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(src_wkt, dst_wkt, always_xy=True)


@functools.lru_cache(maxsize=1)
def _utm_zones() -> tuple[tuple[int, float, float, float, float], ...]:
    """Return every WGS 84 UTM zone as (EPSG code, west, south, east, north), in pyproj's order."""
    return tuple(
        (int(info.code), *info.area_of_use.bounds)
        for info in query_utm_crs_info(datum_name="WGS 84")
        if info.area_of_use is not None
    )


def _utm_zone(lon: float, lat: float) -> int | None:
    """Return the EPSG code of the first UTM zone whose area of use holds the point.

    The same answer as ``query_utm_crs_info`` with the point as area of interest (its first
    result), without a database query per call.
    """
    for code, west, south, east, north in _utm_zones():
        if west <= lon <= east and south <= lat <= north:
            return code
    return None


def lonlat_bounds(bounds: Bounds, crs: CRS) -> Bounds:
    """Return ``bounds`` (minx, miny, maxx, maxy in ``crs``) as lon/lat degrees."""
    if crs.is_geographic and crs.equals(WGS84, ignore_axis_order=True):
        return bounds
    t = transformer(crs, WGS84)
    return tuple(float(v) for v in t.transform_bounds(*bounds, densify_pts=21))  # type: ignore[return-value]


def _inside(inner: Bounds, outer: Bounds, margin: float = 0.0) -> bool:
    return (
        inner[0] >= outer[0] - margin
        and inner[1] >= outer[1] - margin
        and inner[2] <= outer[2] + margin
        and inner[3] <= outer[3] + margin
    )


def _overlaps(a: Bounds, b: Bounds) -> bool:
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def check_crs_fits(bounds: Bounds, crs: CRS, *, what: str = "layer") -> str | None:
    """Say why ``crs`` cannot be right for coordinates spanning ``bounds``, or return None.

    Four tests: lon/lat out of range for a geographic CRS; lon/lat in the wrong order (the
    coordinates lie in Great Britain only when swapped); degree-sized numbers declared in a
    projected CRS; coordinates outside the CRS's published area of use (with a 10 % margin).

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` of the coordinates as stored.
    crs : pyproj.CRS
        The CRS the data declares.
    what : str
        Name used in the message.

    Returns
    -------
    str or None
        One line describing the problem, or None when the CRS is plausible.
    """
    if not all(math.isfinite(v) for v in bounds):
        return None
    if crs.is_geographic:
        why = _not_lonlat(bounds, crs, what)
    else:
        why = _degrees_in_projected(bounds, crs, what)
    return why if why is not None else _outside_area_of_use(bounds, crs, what)


def _not_lonlat(bounds: Bounds, crs: CRS, what: str) -> str | None:
    """Say why coordinates declared in a geographic CRS are not lon/lat.

    They are out of range, or swapped (they lie in Great Britain only as lat/lon).
    """
    minx, miny, maxx, maxy = bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        return (
            f"{what}: declares the geographic CRS {crs.to_string()} but its coordinates span "
            f"x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}, which are not degrees; "
            "pass the projected CRS the file really uses with crs=..."
        )
    if _inside((miny, minx, maxy, maxx), GB_LONLAT_BOUNDS) and not _overlaps(
        bounds, GB_LONLAT_BOUNDS
    ):
        return (
            f"{what}: its coordinates (x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}) "
            "look like latitude and longitude in the wrong order: swapped, they lie in "
            "Great Britain. Write longitude as x and latitude as y (e.g. "
            "gdf.geometry = shapely.transform(gdf.geometry.values, lambda c: c[:, ::-1]))"
        )
    return None


def _degrees_in_projected(bounds: Bounds, crs: CRS, what: str) -> str | None:
    """Say so when coordinates declared in a projected CRS are degree-sized numbers."""
    minx, miny, maxx, maxy = bounds
    if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
        return (
            f"{what}: declares the projected CRS {crs.to_string()} but its coordinates "
            f"(x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}) look like lon/lat degrees; "
            "pass crs='EPSG:4326' if they are"
        )
    return None


def _outside_area_of_use(bounds: Bounds, crs: CRS, what: str) -> str | None:
    """Say so when the coordinates lie outside the CRS's area of use (10 % margin)."""
    name = crs.to_string()
    aou = crs.area_of_use
    if aou is None:
        return None
    try:
        ll = lonlat_bounds(bounds, crs)
    except Exception:  # noqa: BLE001 - a transform failure is itself the evidence
        return f"{what}: coordinates cannot be transformed from its declared CRS {name}"
    if not all(math.isfinite(v) for v in ll):
        return f"{what}: coordinates cannot be transformed from its declared CRS {name}"
    west, south, east, north = aou.bounds
    if west > east:  # area of use crosses the antimeridian; skip the box test
        return None
    margin = 0.1 * max(east - west, north - south, 1.0)
    if not _inside(ll, (west, south, east, north), margin):
        return (
            f"{what}: declares {name} ({aou.name}) but its coordinates lie at lon "
            f"{ll[0]:.4f}..{ll[2]:.4f}, lat {ll[1]:.4f}..{ll[3]:.4f}, outside that CRS's area of "
            f"use (lon {west}..{east}, lat {south}..{north}); the declared CRS is wrong: pass the "
            "right one with crs=... (e.g. crs='EPSG:4326' for lon/lat)"
        )
    return None


def working_crs(*layers: gpd.GeoDataFrame | gpd.GeoSeries, crs: Any = None) -> CRS:
    """Choose the projected CRS that beatplan computes in.

    The CRS named by the caller wins (it must be projected). Otherwise EPSG:27700 when every
    layer lies inside Great Britain, else the UTM zone (WGS 84) of the layers' centre.

    Parameters
    ----------
    *layers : GeoDataFrame or GeoSeries
        Layers with a CRS; their joint extent decides.
    crs : optional
        A CRS to use as is.

    Returns
    -------
    pyproj.CRS
        A projected CRS in metres.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> pts = gpd.GeoSeries([Point(-1.13, 52.63)], crs=4326)   # Leicester
    >>> working_crs(pts).to_epsg()
    27700
    """
    if crs is not None:
        chosen = parse_crs(crs)
        if not chosen.is_projected:
            raise CRSError(
                f"the working CRS must be projected (metres), but {chosen.to_string()} is "
                "geographic; name a projected CRS such as 'EPSG:27700' or a UTM zone"
            )
        log.info("working CRS: %s (named by the caller)", chosen.to_string())
        return chosen
    boxes = []
    for layer in layers:
        if layer is None or len(layer) == 0:
            continue
        if layer.crs is None:
            raise CRSError("working_crs: a layer has no CRS; set one with .set_crs(...) first")
        b = tuple(float(v) for v in layer.total_bounds)
        if not all(np.isfinite(b)):
            continue
        boxes.append(lonlat_bounds(b, CRS.from_user_input(layer.crs)))  # type: ignore[arg-type]
    if not boxes:
        log.info("working CRS: EPSG:27700 (no extent to judge by; the default)")
        return BNG
    arr = np.array(boxes)
    box: Bounds = (arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max())
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    in_ni = _inside(box, _NI_LONLAT_BOUNDS)
    if _inside(box, GB_LONLAT_BOUNDS) and not in_ni:
        log.info("working CRS: EPSG:27700 (data inside Great Britain)")
        return BNG
    code = _utm_zone(cx, cy)
    chosen = CRS.from_epsg(code) if code is not None else BNG
    log.info("working CRS: %s (local UTM zone of lon %.3f, lat %.3f)", chosen.to_string(), cx, cy)
    return chosen


def to_working(gdf: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """Return ``gdf`` in ``crs`` (a copy; unchanged when already there)."""
    if gdf.crs is None:
        raise CRSError("to_working: the layer has no CRS; set one with .set_crs(...) first")
    if CRS.from_user_input(gdf.crs).equals(crs):
        return gdf
    return gdf.to_crs(crs)
