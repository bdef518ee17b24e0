"""Select the incidents a hotspot map is drawn from: a date window, crime types, an area.

:func:`select_incidents` applies the filters one after another, says what each kept, and
names the filter that leaves nothing. A window (``since``) is measured back from the latest
date in the data, not from today: police.uk publishes a month at a time, a month or two late,
and its data are monthly, so there a period is turned into whole months.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from beatplan.geo.errors import (
    CRSError,
    EmptyInputError,
    GeometryError,
    OptionError,
    ValidationError,
)
from beatplan.hotspots.grid import extent
from beatplan.hotspots.points import coordinates

__all__ = [
    "DAYS_PER_MONTH",
    "PERIOD",
    "area_polygon",
    "incident_dates",
    "month_numbers",
    "select_incidents",
]

#: A period: a count and a unit, days, weeks, months or years (``"28D"``, ``"3M"``).
PERIOD = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
#: Mean length of a month in days (365.25 / 12).
DAYS_PER_MONTH = 30.4375


def incident_dates(points: gpd.GeoDataFrame) -> tuple[pd.Series, bool]:
    """Each incident's date (timestamp, else month) and whether the data are monthly only.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Incidents with ``timestamp`` and/or ``month`` columns (either may be absent).

    Returns
    -------
    when : pandas.Series of datetime64
        NaT where neither is known.
    monthly : bool
        No incident has a timestamp.
    """
    ts = (
        pd.to_datetime(points["timestamp"], errors="coerce")
        if "timestamp" in points.columns
        else pd.Series(pd.NaT, index=points.index)
    )
    mo = (
        pd.to_datetime(points["month"], errors="coerce")
        if "month" in points.columns
        else pd.Series(pd.NaT, index=points.index)
    )
    when = ts.where(ts.notna(), mo)
    return when, bool(ts.isna().all())


def month_numbers(points: gpd.GeoDataFrame) -> tuple[NDArray[np.int64], int]:
    """Each incident's month as ``year * 12 + month - 1`` (-1: unknown), and the months spanned.

    Monthly data (police.uk) span their months from the first to the last; data with times
    span their days over :data:`DAYS_PER_MONTH`, rounded, at least one. No dates: 0.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> pts = gpd.GeoDataFrame({"month": pd.to_datetime(["2022-08-01", "2022-10-01"])},
    ...                        geometry=gpd.points_from_xy([0, 1], [0, 1]), crs=27700)
    >>> month_numbers(pts)
    (array([24271, 24273]), 3)
    """
    if not {"month", "timestamp"} & set(points.columns):
        return np.full(len(points), -1, dtype=np.int64), 0
    when, monthly = incident_dates(points)
    known = when.notna().to_numpy()
    if not known.any():
        return np.full(len(points), -1, dtype=np.int64), 0
    year = when.dt.year.fillna(0).to_numpy(dtype=np.int64)
    month = when.dt.month.fillna(1).to_numpy(dtype=np.int64)
    index = np.where(known, year * 12 + month - 1, -1)
    if monthly:
        spanned = int(index[known].max() - index[known].min()) + 1
    else:
        days = (when.max() - when.min()) / pd.Timedelta(days=1)
        spanned = max(1, round(days / DAYS_PER_MONTH))
    return index, spanned


class _Selection:
    """The incidents kept so far, what each filter applied and how, for ``params["how"]``."""

    def __init__(self, n: int) -> None:
        self.keep = np.ones(n, dtype=bool)
        self.applied: dict[str, Any] = {}
        self.notes: list[str] = []
        self.n0 = n

    def narrow(
        self, sel: NDArray[np.bool_], what: str, fix: str, key: str, value: Any, note: str
    ) -> None:
        """Keep the incidents ``sel`` also selects, or say that the filter ``what`` empties."""
        if not (self.keep & sel).any():
            raise EmptyInputError(
                f"{what} selects none of the {int(self.keep.sum()):,} incidents left "
                f"(of {self.n0:,}); {fix}"
            )
        self.keep &= sel
        self.applied[key] = value
        self.notes.append(note)


def select_incidents(
    points: gpd.GeoDataFrame,
    *,
    since: str | pd.Timestamp | None = None,
    months: Any = None,
    types: str | Sequence[str] | None = None,
    area: Any = None,
    xy: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.bool_], dict[str, Any], list[str]]:
    """Apply the date, crime-type and area filters; say what each one kept.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Incidents in a projected CRS (see :func:`beatplan.hotspots.prepare_incidents`).
    since : str or date, optional
        ``"28D"``, ``"6W"``, ``"3M"``, ``"1Y"``: the period up to the latest date in the data;
        or a date: incidents on or after it. police.uk data are monthly (no timestamps), so
        there a period is turned into whole months, ``round(days / 30.44)`` and at least
        one: ``"28D"`` and ``"31D"`` select the latest month, ``"90D"`` the latest three.
    months : str or (str, str), optional
        One month (``"2022-05"``) or an inclusive range (``("2022-01", "2022-03")``).
    types : str or list of str, optional
        Crime types to keep (the ``category`` column), matched exactly or ignoring case.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Keep incidents inside it (edge included). A GeoSeries/GeoDataFrame is reprojected
        and unioned; a bare geometry must be in the points' CRS.
    xy : ndarray, shape (n, 2), optional
        The points' coordinates, when already at hand.

    Returns
    -------
    keep : ndarray of bool
    params : dict
        The filters as applied (e.g. the months ``since`` resolved to).
    notes : list of str
        How each filter was applied, for ``params["how"]``.

    Raises
    ------
    EmptyInputError
        A filter left no incidents (the message names it and what the data hold).
    OptionError
        A crime type not in the data (the message lists the types present).
    """
    selection = _Selection(len(points))
    if since is not None or months is not None:
        _select_dates(selection, points, since, months)
    if types is not None:
        _select_types(selection, points, types)
    if area is not None:
        _select_area(selection, points, area, xy)
    return selection.keep, selection.applied, selection.notes


def _select_dates(selection: _Selection, points: gpd.GeoDataFrame, since: Any, months: Any) -> None:
    when, monthly = incident_dates(points)
    if when.isna().all():
        raise ValidationError(
            "incidents",
            ["since=/months= need dates, but the incidents have no 'month' or "
             "'timestamp' values"],
        )  # fmt: skip
    span = f"the data cover {when.min():%Y-%m} .. {when.max():%Y-%m}"
    if months is not None:
        lo, hi = _month_range(months)
        known = when.notna().to_numpy()
        mstart = when.dt.to_period("M").dt.to_timestamp()
        sel = known & (mstart >= lo).to_numpy() & (mstart <= hi).to_numpy()
        text = f"{lo:%Y-%m}" if lo == hi else f"{lo:%Y-%m} .. {hi:%Y-%m}"
        selection.narrow(sel, f"months={text}", span, "months", text, f"months: {text}")
    if since is not None:
        sel, text = _since(since, when, monthly)
        selection.narrow(
            sel, f"since={since!r} ({text})", span, "since", text, f"since={since!r}: {text}"
        )


def _month_range(months: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the first and last month of ``months`` (one month, or a (first, last) pair)."""
    if isinstance(months, str | pd.Timestamp):
        lo = _month_start(months, "months")
        return lo, lo
    seq = list(months)
    if len(seq) != 2:
        raise ValidationError(
            "months", [f"months={months!r}: give one month or a (first, last) pair"]
        )
    lo, hi = _month_start(seq[0], "months"), _month_start(seq[1], "months")
    if hi < lo:
        raise ValidationError("months", [f"months={months!r}: the last month is before the first"])
    return lo, hi


def _month_start(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            name, [f"{name}={value!r} is not a month or date (give e.g. '2022-05')"]
        ) from exc
    return pd.Timestamp(ts.year, ts.month, 1)


def _since(since: Any, when: pd.Series, monthly: bool) -> tuple[NDArray[np.bool_], str]:
    latest = when.max()
    known = when.notna().to_numpy()
    m = PERIOD.match(since) if isinstance(since, str) else None
    if m is None:
        try:
            start = pd.Timestamp(since)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                "since",
                [f"since={since!r} is neither a period ('28D', '6W', '3M', '1Y') nor a date"],
            ) from exc
        return known & (when >= start).to_numpy(), f"on or after {start:%Y-%m-%d}"
    n, unit = int(m.group(1)), m.group(2).lower()
    if n < 1:
        raise ValidationError("since", [f"since={since!r} must be at least one day"])
    if monthly:
        days = {"d": n, "w": 7 * n}.get(unit)
        count = (
            max(1, round(days / DAYS_PER_MONTH)) if days is not None
            else n if unit == "m" else 12 * n
        )  # fmt: skip
        last = pd.Timestamp(latest.year, latest.month, 1)
        first = last - pd.DateOffset(months=count - 1)
        mstart = when.dt.to_period("M").dt.to_timestamp()
        sel = known & (mstart >= first).to_numpy()
        label = f"{first:%Y-%m}" if count == 1 else f"{first:%Y-%m} .. {last:%Y-%m}"
        return sel, f"the latest {count} month{'s' if count > 1 else ''} ({label}; monthly data)"
    delta: pd.Timedelta | pd.DateOffset = (
        pd.Timedelta(days=n) if unit == "d" else pd.Timedelta(weeks=n) if unit == "w"
        else pd.DateOffset(months=n) if unit == "m" else pd.DateOffset(years=n)
    )  # fmt: skip
    start = latest - delta
    return known & (when > start).to_numpy(), f"after {start:%Y-%m-%d %H:%M} (latest {latest})"


def _select_types(selection: _Selection, points: gpd.GeoDataFrame, types: Any) -> None:
    wanted = [types] if isinstance(types, str) else list(types)
    if "category" not in points.columns or points["category"].isna().all():
        raise ValidationError(
            "incidents",
            ["types= needs crime types, but the incidents have no 'category' values; "
             "read them with read_incidents(..., category='<column>') (the command line "
             "finds a column named like 'Crime type', category, offence or type)"],
        )  # fmt: skip
    cats = points["category"].astype("string")
    chosen = _crime_types(wanted, sorted(cats.dropna().unique().tolist()))
    sel = cats.isin(chosen).fillna(False).to_numpy(dtype=bool)
    selection.narrow(sel, f"types={chosen!r}", "choose other types or a wider window", "types",
                     chosen, f"types: {', '.join(chosen)}")  # fmt: skip


def _crime_types(wanted: list[Any], present: list[str]) -> list[str]:
    """Return the types of the data ``wanted`` names (exactly or ignoring case), or raise."""
    lower = {c.lower(): c for c in present}
    chosen, unknown = [], []
    for t in wanted:
        if t in present:
            chosen.append(t)
        elif str(t).lower() in lower:
            chosen.append(lower[str(t).lower()])
        else:
            unknown.append(t)
    if unknown:
        hints = []
        for t in unknown:
            close = difflib.get_close_matches(str(t), present, n=1, cutoff=0.5)
            hints.append(f"{t!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise OptionError(
            f"types: {', '.join(hints)} not among the crime types in the data; they are: "
            + "; ".join(present)
        )
    return chosen


def _select_area(
    selection: _Selection, points: gpd.GeoDataFrame, area: Any, xy: NDArray[np.float64] | None
) -> None:
    geom = area_polygon(area, CRS.from_user_input(points.crs))
    if xy is None:
        xy = coordinates(points)
    shapely.prepare(geom)
    box = shapely.box(*extent(xy))
    if shapely.contains(geom, box):  # every point inside: no need to test each
        sel = np.ones(len(xy), dtype=bool)
    else:
        sel = shapely.intersects_xy(geom, xy[:, 0], xy[:, 1])
    selection.narrow(sel, "area=", "check that the area covers the incidents and shares their CRS",
                     "area_km2", round(float(geom.area) / 1e6, 3),
                     f"area: a polygon of {geom.area / 1e6:.3g} km²")  # fmt: skip


def area_polygon(area: Any, crs: CRS) -> shapely.Geometry:
    """Return ``area`` as one (Multi)Polygon in ``crs``.

    Parameters
    ----------
    area : shapely geometry, GeoSeries or GeoDataFrame
        A layer is reprojected to ``crs`` and unioned; a bare geometry must already be in
        ``crs`` (lon/lat-looking coordinates with a projected ``crs`` are refused).
    crs : pyproj.CRS

    Returns
    -------
    shapely.Polygon or shapely.MultiPolygon

    Raises
    ------
    EmptyInputError, CRSError, ValidationError, GeometryError
        An empty layer, a layer without CRS, degrees given for metres, another type, or
        not a polygon.
    """
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if len(area) == 0:
            raise EmptyInputError("area: the area layer is empty")
        if area.crs is None:
            raise CRSError("area: the area layer has no CRS; set it with .set_crs(...)")
        if not CRS.from_user_input(area.crs).equals(crs):
            area = area.to_crs(crs)
        geom = shapely.union_all(area.geometry.values)
    elif isinstance(area, shapely.Geometry):
        geom = area
        b = geom.bounds
        lonlat = max(abs(b[0]), abs(b[2])) <= 180 and max(abs(b[1]), abs(b[3])) <= 90
        if crs.is_projected and lonlat:
            raise CRSError(
                "area: the polygon's coordinates look like lon/lat degrees but the incidents "
                f"are in {crs.to_string()}; pass a GeoSeries with its CRS, or reproject it"
            )
    else:
        raise ValidationError(
            "area", [f"expected a polygon, GeoSeries or GeoDataFrame, found {type(area).__name__}"]
        )
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            f"area: expected a (Multi)Polygon, found "
            f"{'nothing' if geom is None or geom.is_empty else geom.geom_type}"
        )
    return geom
