"""Rows far from the rest of the data (private to :mod:`beatplan.geo.incidents`).

A file can hold a few rows with longitude and latitude swapped (British points then land in
the Indian Ocean, at 52°E 1°S) or rows placed far away by a bad geocode. Neither may pass
unnoticed, and neither may choose the working CRS.

The policy, on every file's candidate points together, in longitude/latitude:

* **centre**: the median longitude and the median latitude; **spread**: the median
  great-circle distance from the centre. A minority of rows moves neither.
* **swapped**: a point more than ``2 * near`` from the centre that, swapped, lies within
  ``near = max(5 * spread, 10 km)`` of it is swapped back and reported row by row
  (``Incidents.fixed``).
* **far away**: any other point more than ``max(500 km, 20 * spread)`` from the centre is
  rejected as ``"far away"``.
* police.uk files carry genuine points outside their force (about 0.1 % of rows, up to
  ~300 km away): they are kept (pass ``area=`` to reject them as ``"outside area"``), and
  never choose the CRS: the working CRS is chosen from the box of the middle half of the
  points (:func:`bulk_box`), which a minority of rows cannot move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyproj import CRS

from beatplan.geo.crs import WGS84, transformer

__all__ = ["FAR_KM", "Outliers", "bulk_box", "find_outliers", "lonlat"]

#: No point nearer than this to the centre of the data is "far away".
FAR_KM = 500.0
_FAR_SPREADS = 20.0
_NEAR_SPREADS = 5.0
_NEAR_MIN_KM = 10.0
_EARTH_KM = 6371.0088
_KM_PER_DEGREE = 111.32  # along a meridian, about (and along the equator)
_MIN_POINTS = 3
_SAMPLE = 200_000  # the centre, spread and bulk are judged on an even sample of this many


@dataclass
class Outliers:
    """Per part: which candidate points are swapped (to fix) and which are far (to reject)."""

    swapped: list[np.ndarray]
    far: list[np.ndarray]
    km: list[np.ndarray]  # distance from the centre (0 inside the near box, not measured)
    km_swapped: list[np.ndarray]  # the swapped point's distance (NaN where not swapped)
    centre: tuple[float, float]
    far_km: float


def lonlat(x: np.ndarray, y: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x``, ``y`` (in ``crs``) as longitude, latitude (inf where not projectable)."""
    if crs.is_geographic and crs.equals(WGS84, ignore_axis_order=True):
        return x, y
    lon, lat = transformer(crs, WGS84).transform(x, y, errcheck=False)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def _km(lon: np.ndarray, lat: np.ndarray, lon0: float, lat0: float) -> np.ndarray:
    """Great-circle distance in km from (lon0, lat0) (haversine; NaN for non-finite input)."""
    with np.errstate(invalid="ignore"):
        la, la0 = np.radians(lat), np.radians(lat0)
        h = (
            np.sin((la - la0) / 2) ** 2
            + np.cos(la0) * np.cos(la) * np.sin(np.radians(lon - lon0) / 2) ** 2
        )
        return 2 * _EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _pooled(
    xs: list[np.ndarray], ys: list[np.ndarray], crss: list[CRS]
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray, np.ndarray]:
    """Return each part's lon/lat and an even sample (at most 200,000) of the usable ones."""
    lls = [lonlat(x, y, crs) for x, y, crs in zip(xs, ys, crss, strict=True)]
    if not lls:
        return lls, np.empty(0), np.empty(0)
    lon = np.concatenate([a for a, _ in lls])
    lat = np.concatenate([b for _, b in lls])
    with np.errstate(invalid="ignore"):
        ok = np.flatnonzero((np.abs(lat) <= 90) & (np.abs(lon) <= 180))  # NaN: not ok
    if len(ok) > _SAMPLE:
        ok = ok[:: -(-len(ok) // _SAMPLE)]
    return lls, lon[ok], lat[ok]


def find_outliers(xs: list[np.ndarray], ys: list[np.ndarray], crss: list[CRS]) -> Outliers | None:
    """Judge every part's candidate points against the centre of all of them.

    Returns None when fewer than three points have usable coordinates (nothing to judge by).
    Only points outside a box that surely lies within ``2 * near`` of the centre are measured.
    """
    lls, slon, slat = _pooled(xs, ys, crss)
    if len(slon) < _MIN_POINTS:
        return None
    lon0, lat0 = float(np.median(slon)), float(np.median(slat))
    spread = float(np.median(_km(slon, slat, lon0, lat0)))
    near = max(_NEAR_SPREADS * spread, _NEAR_MIN_KM)
    far_km = max(FAR_KM, _FAR_SPREADS * spread)
    box = _near_box(lon0, lat0, near)
    out = Outliers([], [], [], [], (lon0, lat0), far_km)
    for (plon, plat), x, y, crs in zip(lls, xs, ys, crss, strict=True):
        d = np.zeros(len(plon))
        with np.errstate(invalid="ignore"):
            inside = (
                (np.abs(plat - lat0) <= box[1]) & (np.abs(plon - lon0) <= box[0])
                if box is not None
                else np.zeros(len(plon), dtype=bool)
            )
            measure = np.flatnonzero(~inside & np.isfinite(plon) & np.isfinite(plat))
        d[measure] = _km(plon[measure], plat[measure], lon0, lat0)
        swapped = np.zeros(len(d), dtype=bool)
        d_sw = np.full(len(d), np.nan)
        maybe = measure[d[measure] > 2 * near]
        if maybe.size:
            slon_sw, slat_sw = lonlat(y[maybe], x[maybe], crs)
            d_sw[maybe] = _km(slon_sw, slat_sw, lon0, lat0)
            swapped[maybe] = np.nan_to_num(d_sw[maybe], nan=np.inf) <= near
        far = (d > far_km) & ~swapped
        out.swapped.append(swapped)
        out.far.append(far)
        out.km.append(d)
        out.km_swapped.append(d_sw)
    return out


def _near_box(lon0: float, lat0: float, near: float) -> tuple[float, float] | None:
    """Half-sizes (degrees of lon, lat) of a box around the centre lying within 2 * near km.

    None where no such box is simple (near a pole, or when near is continental).
    """
    dlat = near / _KM_PER_DEGREE
    lat_eq = max(abs(lat0) - dlat, 0.0)  # the box's latitude nearest the equator
    if abs(lat0) + dlat >= 80 or dlat > 20:
        return None
    dlon = near / (_KM_PER_DEGREE * np.cos(np.radians(lat_eq)))
    return float(dlon), float(dlat)


def bulk_box(
    xs: list[np.ndarray], ys: list[np.ndarray], crss: list[CRS]
) -> tuple[float, float, float, float] | None:
    """Return the lon/lat box of the middle half of the points (25th-75th percentiles).

    The working CRS is chosen from it: a minority of rows (under a quarter on any side) cannot
    move it. None when no point has usable coordinates.
    """
    _, lon, lat = _pooled(xs, ys, crss)
    if not len(lon):
        return None
    (w, e), (s, n) = np.percentile(lon, [25, 75]), np.percentile(lat, [25, 75])
    return float(w), float(s), float(e), float(n)
