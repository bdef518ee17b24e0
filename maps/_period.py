"""The data period a briefing map shows: ``since="28D"``, ``"3M"``, a month, a month range, or all.

A window is measured back from the end of the data, not from today: police.uk publishes a month
at a time, a month or two late. The selection itself is the hotspots package's (so a map and the
hotspots found with the same ``since`` agree); this module adds the label printed on the map.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from beatplan.geo.errors import EmptyInputError, OptionError
from beatplan.hotspots.select import select_incidents

__all__ = ["Period", "select_period"]

_REL = re.compile(r"^\s*(\d+)\s*([DWMY])\s*$", re.I)
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """The selected window: its bounds, a label for the map and the rows in it."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    label: str
    mask: np.ndarray
    undated: int


def _intervals(points: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: start, exclusive end (datetime64[ns]) and whether only the month is known."""
    n = len(points)
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    ts = (
        pd.to_datetime(points["timestamp"]).to_numpy(dtype="datetime64[ns]")
        if "timestamp" in points.columns
        else nat
    )
    mo = (
        pd.to_datetime(points["month"]).to_numpy(dtype="datetime64[ns]").astype("datetime64[M]")
        if "month" in points.columns
        else nat.astype("datetime64[M]")
    )
    has_ts = ~np.isnat(ts)
    month_only = ~has_ts & ~np.isnat(mo)
    start = np.where(has_ts, ts, mo.astype("datetime64[ns]"))
    end = np.where(has_ts, ts + np.timedelta64(1, "ns"), (mo + 1).astype("datetime64[ns]"))
    return start, end, month_only


def _month_label(a: pd.Timestamp, b: pd.Timestamp) -> str:
    if a.to_period("M") == b.to_period("M"):
        return a.strftime("%B %Y")
    return f"{a.strftime('%b %Y')} \u2013 {b.strftime('%b %Y')}"


def _label(a: pd.Timestamp, b_excl: pd.Timestamp, months: bool) -> str:
    """Label the span ``[a, b_excl)``: months for month-only data, else days."""
    if months:
        return _month_label(a, b_excl - pd.Timedelta(days=1))
    b = b_excl - pd.Timedelta(1, "ns")
    if a.normalize() == b.normalize():
        return a.strftime("%-d %b %Y")
    return f"{a.strftime('%-d %b %Y')} \u2013 {b.strftime('%-d %b %Y')}"


def _span_label(start: np.ndarray, end: np.ndarray, month_only: np.ndarray) -> str:
    """Label the span of the selected rows: months for month-only data, else days."""
    if len(start) == 0:
        return "no dated incidents"
    return _label(pd.Timestamp(start.min()), pd.Timestamp(end.max()), bool(month_only.all()))


def select_period(points: gpd.GeoDataFrame, since: Any = "28D") -> Period:
    """Select the incidents in a window measured back from the end of the data.

    The selection is :func:`beatplan.hotspots.select_incidents`'s, so a map and the hotspots
    found with the same ``since`` agree; this adds the label printed on the map.

    Parameters
    ----------
    points : GeoDataFrame
        With ``timestamp`` and/or ``month`` columns (either may be absent or NaT).
    since : str, tuple or None
        ``"28D"``, ``"2W"``, ``"3M"``, ``"1Y"`` (back from the latest date in the data; on
        police.uk's monthly data whole months: ``"28D"`` is the latest month); ``"2022-10"``
        (one month); ``("2022-08", "2022-10")`` (months, inclusive); ``None`` or ``"all"`` for
        every row, dated or not.

    Returns
    -------
    Period
    """
    n = len(points)
    start, end, month_only = _intervals(points)
    dated = ~np.isnat(start)
    undated = int((~dated).sum())
    if since is None or (isinstance(since, str) and since.strip().lower() == "all"):
        label = _span_label(start[dated], end[dated], month_only[dated])
        if undated:
            label += f" (+{undated:,} undated)"
        return Period(None, None, label, np.ones(n, dtype=bool), undated)
    if isinstance(since, tuple | list):
        if len(since) != 2:
            raise OptionError(f"since={since!r}: give one month or a (first, last) pair of months")
        kwargs: dict[str, Any] = {"months": tuple(since)}
    elif isinstance(since, str) and _MONTH.match(since.strip()):
        kwargs = {"months": since.strip()}
    elif isinstance(since, str) and _REL.match(since):
        kwargs = {"since": since.strip()}
    else:
        raise OptionError(
            f"since={since!r} is not a window; expected e.g. '28D', '2W', '3M', '1Y', "
            "'2022-10', ('2022-08', '2022-10') or None"
        )
    if n == 0:
        raise EmptyInputError(f"since={since!r}: there are no incidents")
    if not dated.any():
        raise EmptyInputError(
            f"since={since!r}: none of the {n:,} incidents has a date or month; pass since=None "
            "to map them all"
        )
    keep, _applied, _notes = select_incidents(points, **kwargs)
    mask = np.asarray(keep, dtype=bool) & dated
    sel_start, sel_end = start[mask], end[mask]
    return Period(
        pd.Timestamp(sel_start.min()),
        pd.Timestamp(sel_end.max()),
        _span_label(sel_start, sel_end, month_only[mask]),
        mask,
        undated,
    )
