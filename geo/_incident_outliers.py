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
_MIN_POINTS = 3


@dataclass
class Outliers:
    """Per part: which candidate points are swapped (to fix) and which are far (to reject)."""

    swapped: list[np.ndarray]
    far: list[np.ndarray]
    km: list[np.ndarray]  # each point's distance from the centre
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


def find_outliers(xs: list[np.ndarray], ys: list[np.ndarray], crss: list[CRS]) -> Outliers | None:
    """Judge every part's candidate points against the centre of all of them.

    Returns None when fewer than three points have usable coordinates (nothing to judge by).
    """
    lls = [lonlat(x, y, crs) for x, y, crs in zip(xs, ys, crss, strict=True)]
    lon = np.concatenate([a for a, _ in lls]) if lls else np.empty(0)
    lat = np.concatenate([b for _, b in lls]) if lls else np.empty(0)
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if ok.sum() < _MIN_POINTS:
        return None
    lon0, lat0 = float(np.median(lon[ok])), float(np.median(lat[ok]))
    spread = float(np.median(_km(lon[ok], lat[ok], lon0, lat0)))
    near = max(_NEAR_SPREADS * spread, _NEAR_MIN_KM)
    far_km = max(FAR_KM, _FAR_SPREADS * spread)
    out = Outliers([], [], [], [], (lon0, lat0), far_km)
    for (plon, plat), x, y, crs in zip(lls, xs, ys, crss, strict=True):
        d = _km(plon, plat, lon0, lat0)
        swapped = np.zeros(len(d), dtype=bool)
        d_sw = np.full(len(d), np.nan)
        maybe = np.flatnonzero(np.nan_to_num(d, nan=0.0) > 2 * near)
        if maybe.size:
            slon, slat = lonlat(y[maybe], x[maybe], crs)
            d_sw[maybe] = _km(slon, slat, lon0, lat0)
            swapped[maybe] = np.nan_to_num(d_sw[maybe], nan=np.inf) <= near
        far = (np.nan_to_num(d, nan=0.0) > far_km) & ~swapped
        out.swapped.append(swapped)
        out.far.append(far)
        out.km.append(d)
        out.km_swapped.append(d_sw)
    return out


def bulk_box(
    xs: list[np.ndarray], ys: list[np.ndarray], crss: list[CRS]
) -> tuple[float, float, float, float] | None:
    """Return the lon/lat box of the middle half of the points (25th-75th percentiles).

    The working CRS is chosen from it: a minority of rows (under a quarter on any side) cannot
    move it. None when no point has usable coordinates.
    """
    lls = [lonlat(x, y, crs) for x, y, crs in zip(xs, ys, crss, strict=True)]
    if not lls:
        return None
    lon = np.concatenate([a for a, _ in lls])
    lat = np.concatenate([b for _, b in lls])
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if not ok.any():
        return None
    (w, e), (s, n) = np.percentile(lon[ok], [25, 75]), np.percentile(lat[ok], [25, 75])
    return float(w), float(s), float(e), float(n)
