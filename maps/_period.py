"""The data period a briefing map shows: ``since="28D"``, ``"3M"``, a month, a month range, or all.

A window is measured back from the end of the data, not from today: police.uk publishes a month
at a time, a month or two late. An incident known only by its month (police.uk) covers that whole
month, so it is in the window when its month overlaps it: ``"28D"`` on police.uk data selects
the last month.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from geo.errors import EmptyInputError, OptionError

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


def _span_label(
    start: np.ndarray,
    end: np.ndarray,
    month_only: np.ndarray,
    window: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp] | None = None,
) -> str:
    """Label the selected rows' span.

    With a window (start, end, first date of the data) the label is the window itself, clipped
    to the data, unless every row is known only by its month.
    """
    if len(start) == 0:
        return "no dated incidents"
    months = bool(month_only.all())
    if window is None or months:
        a, b = pd.Timestamp(start.min()), pd.Timestamp(end.max())
    else:
        a, b = max(window[0], window[2]), window[1]
    return _label(a, b, months)


def select_period(points: pd.DataFrame, since: Any = "28D") -> Period:
    """Select the incidents in a window measured back from the end of the data.

    Parameters
    ----------
    points : DataFrame
        With ``timestamp`` and/or ``month`` columns (either may be absent or NaT).
    since : str, tuple or None
        ``"28D"``, ``"2W"``, ``"3M"``, ``"1Y"`` (back from the end of the data); ``"2022-10"``
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
        mask = np.ones(n, dtype=bool)
        label = _span_label(start[dated], end[dated], month_only[dated])
        if undated:
            label += f" (+{undated:,} undated)"
        return Period(None, None, label, mask, undated)
    if not dated.any():
        raise EmptyInputError(
            f"since={since!r}: none of the {n:,} incidents has a date or month; pass since=None "
            "to map them all"
        )
    if isinstance(since, tuple | list) and len(since) == 2:
        lo, hi = (str(v) for v in since)
    elif isinstance(since, str) and _MONTH.match(since.strip()):
        lo = hi = since.strip()
    else:
        lo = hi = ""
    if lo:
        if not (_MONTH.match(lo) and _MONTH.match(hi)):
            raise OptionError(
                f"since={since!r}: months must be written 'YYYY-MM', e.g. ('2022-08', '2022-10')"
            )
        w0 = pd.Timestamp(lo + "-01")
        w1 = (pd.Timestamp(hi + "-01") + pd.offsets.MonthBegin(1)).normalize()
        if w1 <= w0:
            raise OptionError(f"since={since!r}: the first month is after the last")
    else:
        m = _REL.match(str(since))
        if not m:
            raise OptionError(
                f"since={since!r} is not a window; expected e.g. '28D', '2W', '3M', '1Y', "
                "'2022-10', ('2022-08', '2022-10') or None"
            )
        k, unit = int(m.group(1)), m.group(2).upper()
        if k < 1:
            raise OptionError(f"since={since!r}: the window must be at least 1 {unit}")
        w1 = pd.Timestamp(end[dated].max())
        delta = {
            "D": pd.DateOffset(days=k),
            "W": pd.DateOffset(weeks=k),
            "M": pd.DateOffset(months=k),
            "Y": pd.DateOffset(years=k),
        }[unit]
        w0 = w1 - delta
    w0_64 = w0.to_datetime64().astype("datetime64[ns]")
    w1_64 = w1.to_datetime64().astype("datetime64[ns]")
    mask = dated & (end > w0_64) & (start < w1_64)
    if not mask.any():
        first, last = pd.Timestamp(start[dated].min()), pd.Timestamp(start[dated].max())
        raise EmptyInputError(
            f"since={since!r} selects no incident; the data run from {first:%Y-%m-%d} to "
            f"{last:%Y-%m-%d}"
        )
    window = (w0, w1, pd.Timestamp(start[dated].min()))
    label = _span_label(start[mask], end[mask], month_only[mask], window)
    return Period(w0, w1, label, mask, undated)
