"""The per-file row checks of :func:`beatplan.geo.incidents.read_incidents` (private to it).

Parse coordinates and dates vectorised, detect swapped lon/lat and impossible CRSs, and split
each file's rows into candidate points and rejections (no location, not a number, out of range,
zero coordinates, bad date), each with a detail naming the value found.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyproj import CRS

from beatplan.geo._incident_tables import (
    BAD_DATE,
    NO_LOC,
    NOT_NUM,
    RANGE,
    STRING,
    ZERO,
    Raw,
    norm,
    rejections,
    string_mapper,
)
from beatplan.geo.crs import GB_LONLAT_BOUNDS, WGS84, transformer
from beatplan.geo.errors import CRSError, InputFormatError

__all__ = [
    "NS",
    "Part",
    "number_text",
    "stack_strings",
    "validate",
]

log = logging.getLogger("beatplan")


_DATE_FORMATS = (
    "%Y-%m", "ISO8601",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%m/%d/%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%Y",
    "%m/%Y", "%b %Y", "%B %Y", "%b-%y",
)  # fmt: skip
_MONTH_ONLY_FORMATS = {"%Y-%m", "%m/%Y", "%b %Y", "%B %Y", "%b-%y"}
NS = "datetime64[ns]"


@dataclass
class Part:
    """One file after its own checks: candidate points (source CRS) and rejections."""

    index: int
    name: str
    crs: CRS
    n_rows: int
    strings: dict[str, pa.ChunkedArray | None]  # id, category, location, lsoa of kept rows
    month: np.ndarray
    stamp: np.ndarray
    rows: np.ndarray
    x: np.ndarray
    y: np.ndarray
    rejected: list[pd.DataFrame]
    messages: list[str]
    notes: list[tuple[str, str]]
    xname: str = "x"  # the columns x and y were read from (after any swap of the whole file)
    yname: str = "y"
    fixes: list[tuple[int, str, str]] = field(default_factory=list)  # (row, fix, detail)

    def drop(self, gone: np.ndarray) -> None:
        """Remove the candidate points ``gone`` (a mask over them), e.g. once rejected."""
        keep = ~gone
        mask = pa.array(keep)
        self.strings = {k: (None if v is None else v.filter(mask)) for k, v in self.strings.items()}
        self.month, self.stamp = self.month[keep], self.stamp[keep]
        self.rows, self.x, self.y = self.rows[keep], self.x[keep], self.y[keep]


# --------------------------------------------------------------------------- conversions


def _as_string(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Cast to string with empty strings as null."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.string())
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)


def _numbers(arr: pa.ChunkedArray | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (values, blank, not_a_number) for one coordinate column."""
    if isinstance(arr, np.ndarray):
        values = arr.astype(np.float64)
        blank = np.isnan(values)
        return values, blank, np.zeros(len(values), dtype=bool)
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        values = arr.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        blank = np.isnan(values)  # null and NaN in a numeric column both mean "no value"
        return values, blank, np.zeros(len(values), dtype=bool)
    text = pc.utf8_trim_whitespace(_as_string(arr))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    blank = text.is_null().to_numpy(zero_copy_only=False)
    try:
        values = text.cast(pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        series = text.to_pandas(types_mapper=string_mapper)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.asarray(values, dtype=np.float64)
    notnum = np.isnan(values) & ~blank
    return values, blank, notnum


def _parse_dates(
    arr: pa.ChunkedArray, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, str]:
    """Return (timestamps ns, bad, blank, month_only, format) for one date column."""
    month_named = "month" in norm(name)
    t = arr.type
    if pa.types.is_date(t):
        arr = arr.cast(pa.timestamp("ms"))
    if pa.types.is_timestamp(arr.type):
        s = pd.Series(arr.to_pandas())
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
        ts = s.to_numpy(dtype=NS)
        blank = np.isnat(ts)
        return ts, np.zeros(len(ts), bool), blank, month_named, str(t)
    text = pc.utf8_trim_whitespace(_as_string(arr))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    enc = text.combine_chunks().dictionary_encode()
    uniques = pd.Series(enc.dictionary.to_pylist(), dtype=object)
    codes = enc.indices.to_numpy(zero_copy_only=False)  # float with NaN where null
    blank = np.isnan(codes) if codes.dtype.kind == "f" else np.zeros(len(codes), bool)
    if len(uniques) == 0:
        ts = np.full(len(codes), np.datetime64("NaT"), dtype=NS)
        return ts, np.zeros(len(codes), bool), blank, month_named, ""
    sample = uniques.iloc[:200]
    best, best_n = _DATE_FORMATS[0], -1
    for fmt in _DATE_FORMATS:
        n_ok = int(_to_datetime(sample, fmt).notna().sum())
        if n_ok > best_n:
            best, best_n = fmt, n_ok
        if n_ok == len(sample):
            break
    parsed = _to_datetime(uniques, best).to_numpy(dtype=NS)
    safe = np.where(blank, 0, codes).astype(np.int64)
    ts = parsed[safe]
    ts[blank] = np.datetime64("NaT")
    bad = np.isnat(ts) & ~blank
    return ts, bad, blank, month_named or best in _MONTH_ONLY_FORMATS, best


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    try:
        out = pd.to_datetime(values, format=fmt, errors="coerce")
    except (ValueError, TypeError):  # e.g. mixed time zones
        return pd.Series(pd.NaT, index=values.index, dtype=NS)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_localize(None)
    return out


def _text(arr: pa.ChunkedArray | np.ndarray, mask: np.ndarray) -> pd.Series:
    """Return the raw values of rows ``mask`` as strings (for messages)."""
    if isinstance(arr, np.ndarray):
        return pd.Series(arr[mask]).astype(str)
    sub = _as_string(arr).filter(pa.array(mask))
    return pd.Series(sub.to_pandas(types_mapper=string_mapper)).fillna("").astype(str)


def number_text(values: np.ndarray) -> pd.Series:
    """Format numbers as text for messages (vectorised by Arrow)."""
    text = pa.array(np.round(np.asarray(values, dtype=np.float64), 6)).cast(pa.string())
    return pd.Series(text.to_pandas(types_mapper=string_mapper), dtype=STRING)


# --------------------------------------------------------------------------- checks


def _share_in(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> float:
    if len(x) == 0:
        return 0.0
    inside = (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    return float(inside.mean())


def _valid_box(crs: CRS) -> tuple[float, float, float, float] | None:
    """Return the box (in ``crs`` units) outside which coordinates are out of range."""
    if crs.is_geographic:
        return (-180.0, -90.0, 180.0, 90.0)
    aou = crs.area_of_use
    if aou is None or aou.west > aou.east:
        return None
    try:
        t = transformer(WGS84, crs)
        b = t.transform_bounds(*aou.bounds, densify_pts=21)
    except Exception:  # noqa: BLE001 - no usable area of use: only finiteness is checked
        return None
    if not all(math.isfinite(v) for v in b):
        return None
    mx, my = 0.1 * (b[2] - b[0]), 0.1 * (b[3] - b[1])
    return (b[0] - mx, b[1] - my, b[2] + mx, b[3] + my)


@dataclass
class _Coords:
    """One file's coordinates as numbers, each row's first reason so far (0: none) and why."""

    x: np.ndarray
    y: np.ndarray
    xname: str  # the column x is read from (after any swap)
    yname: str
    xsrc: pa.ChunkedArray | np.ndarray  # the raw column x is read from
    ysrc: pa.ChunkedArray | np.ndarray
    xblank: np.ndarray
    yblank: np.ndarray
    box: tuple[float, float, float, float] | None  # beyond it: out of range
    reason: np.ndarray  # int8 reason code per row


def validate(raw: Raw, index: int) -> Part:
    """Run the per-file checks (no location .. bad date) and split kept from rejected."""
    messages = list(raw.messages)
    coords = _read_coordinates(raw)
    _unswap(raw, coords, messages)
    _flag_out_of_range(raw, coords)
    month, stamp, fmt = _read_dates(raw, coords.reason, messages)
    keep = coords.reason == 0
    return Part(
        index=index,
        name=raw.path.name,
        crs=raw.crs,
        n_rows=raw.n_rows,
        strings=_kept_strings(raw, keep),
        month=month[keep],
        stamp=stamp[keep],
        rows=raw.rows[keep],
        x=coords.x[keep],
        y=coords.y[keep],
        rejected=[raw.malformed, *_rejections(raw, coords, fmt)],
        messages=messages,
        notes=raw.notes,
        xname=coords.xname,
        yname=coords.yname,
        fixes=list(raw.fixes),
    )


def _read_coordinates(raw: Raw) -> _Coords:
    """Parse both coordinate columns; flag rows with a blank (no location) or a non-number."""
    x, xblank, xnan = _numbers(raw.x)
    y, yblank, ynan = _numbers(raw.y)
    reason = np.zeros(len(x), dtype=np.int8)
    reason[xblank | yblank] = NO_LOC
    reason[(reason == 0) & (xnan | ynan)] = NOT_NUM
    return _Coords(
        x, y, raw.xname, raw.yname, raw.x, raw.y, xblank, yblank, _valid_box(raw.crs), reason
    )


def _unswap(raw: Raw, c: _Coords, messages: list[str]) -> None:
    """Swap x and y back when the whole file has them the wrong way round (with a message)."""
    nonzero = (c.reason == 0) & ~((c.x == 0) & (c.y == 0))
    swap_why = _swap_reason(c.x[nonzero], c.y[nonzero], raw.crs, c.box)
    if not swap_why:
        return
    c.x, c.y = c.y, c.x
    c.xname, c.yname, c.xsrc, c.ysrc = c.yname, c.xname, c.ysrc, c.xsrc
    msg = (
        f"{raw.xname} and {raw.yname} were swapped in {raw.path.name} ({swap_why}); fixed: "
        f"x is read from {raw.yname}, y from {raw.xname}"
    )
    messages.append(msg)
    log.warning(msg)


def _flag_out_of_range(raw: Raw, c: _Coords) -> None:
    """Flag points beyond the CRS's valid box, then (0, 0); refuse a file mostly out of range."""
    x, y, box = c.x, c.y, c.box
    ok = c.reason == 0
    zero = (x == 0) & (y == 0)
    finite = np.isfinite(x) & np.isfinite(y)
    if box is not None:
        in_box = finite & (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    else:
        in_box = finite
    out = ok & ~in_box & ~zero
    nonzero = ok & ~zero
    n_ok = int(nonzero.sum())
    if n_ok and out.sum() > 0.5 * n_ok:
        _raise_wrong_crs(raw, x[nonzero], y[nonzero])
    c.reason[out] = RANGE
    c.reason[(c.reason == 0) & zero] = ZERO


def _read_dates(
    raw: Raw, reason: np.ndarray, messages: list[str]
) -> tuple[np.ndarray, np.ndarray, str]:
    """Parse the date column: flag bad dates, note blank ones; return month, timestamp, format.

    Raises when most dates given cannot be read (the column holds no dates).
    """
    month = np.full(len(reason), np.datetime64("NaT"), dtype=NS)
    stamp = month.copy()
    date_arr = raw.cols.get("date")
    date_name = raw.names.get("date")
    if date_arr is None or date_name is None:
        return month, stamp, ""
    ts, bad, dblank, month_only, fmt = _parse_dates(date_arr, date_name)
    n_bad, n_given = int(bad.sum()), int((~dblank).sum())
    if n_bad > 0.5 * n_given:
        examples = ", ".join(repr(v) for v in pd.unique(_text(date_arr, bad).to_numpy())[:3])
        raise InputFormatError(
            f"{raw.path}: column {date_name!r} does not hold dates in a format beatplan "
            f"reads ({n_bad:,} of {n_given:,} values unreadable, e.g. {examples}); pass "
            "date= the column holding the date or month"
        )
    reason[(reason == 0) & bad] = BAD_DATE
    month = ts.astype("datetime64[M]").astype(NS)
    if not month_only:
        stamp = ts
    n_blank = int((dblank & (reason == 0)).sum())
    if n_blank:
        messages.append(
            f"{raw.path.name}: {n_blank:,} row{'s' if n_blank != 1 else ''} with a blank "
            f"{date_name!r} kept with no month (NaT)"
        )
    return month, stamp, fmt


def _rejections(raw: Raw, c: _Coords, fmt: str) -> list[pd.DataFrame]:
    """Return one table per reason found (no location .. bad date), each row with its detail."""
    out = []
    for code in (NO_LOC, NOT_NUM, RANGE, ZERO, BAD_DATE):
        m = c.reason == code
        if m.any():
            out.append(rejections(raw.path.name, raw.rows[m], code, _details(code, m, raw, c, fmt)))
    return out


def _kept_strings(raw: Raw, keep: np.ndarray) -> dict[str, pa.ChunkedArray | None]:
    """Return the kept rows' id, category, location and LSOA as large strings (None: no column)."""
    mask = None if keep.all() else pa.array(keep)
    strings: dict[str, pa.ChunkedArray | None] = {}
    for key in ("id", "category", "location", "lsoa"):
        arr = raw.cols.get(key)
        if arr is not None:
            arr = _as_string(arr).cast(pa.large_string())
            strings[key] = arr if mask is None else arr.filter(mask)
        else:
            strings[key] = None
    return strings


def stack_strings(parts: list[Part], key: str) -> pd.Series:
    """Stack one string column of every part into a pandas "string" Series."""
    chunks: list[pa.Array] = []
    for p in parts:
        arr = p.strings[key]
        if arr is None:
            chunks.append(pa.nulls(len(p.rows), pa.large_string()))
        else:
            chunks.extend(arr.chunks)
    stacked = pa.chunked_array(chunks, type=pa.large_string())
    return pd.Series(stacked.to_pandas(types_mapper=string_mapper), dtype=STRING)


def _swap_reason(
    x: np.ndarray, y: np.ndarray, crs: CRS, box: tuple[float, float, float, float] | None
) -> str | None:
    """Say why x and y look swapped in this file, or return None."""
    good = np.isfinite(x) & np.isfinite(y)
    x, y = x[good], y[good]
    if len(x) == 0:
        return None
    if crs.is_geographic:
        bad_now = ((np.abs(x) > 180) | (np.abs(y) > 90)).mean()
        bad_swapped = ((np.abs(y) > 180) | (np.abs(x) > 90)).mean()
        if bad_now > 0.5 and bad_swapped < 0.05:
            return "the latitude column holds values beyond +-90"
        if _share_in(x, y, GB_LONLAT_BOUNDS) < 0.05 and _share_in(y, x, GB_LONLAT_BOUNDS) > 0.5:
            return "longitudes look like British latitudes and latitudes like longitudes"
        return None
    if box is not None and _share_in(x, y, box) < 0.05 and _share_in(y, x, box) > 0.5:
        return f"the points only fall inside the area of use of {crs.to_string()} when swapped"
    return None


def _raise_wrong_crs(raw: Raw, x: np.ndarray, y: np.ndarray) -> None:
    good = np.isfinite(x) & np.isfinite(y)
    span = (
        f"x {np.min(x[good]):.6g}..{np.max(x[good]):.6g}, y {np.min(y[good]):.6g}.."
        f"{np.max(y[good]):.6g}"
        if good.any()
        else "no finite values"
    )
    if raw.crs.is_geographic:
        raise CRSError(
            f"{raw.path}: columns {raw.xname!r}/{raw.yname!r} were read as longitude/latitude "
            f"but most values are not degrees ({span}); if they are projected coordinates "
            "pass schema='xy' and crs= their CRS (e.g. crs='EPSG:27700')"
        )
    raise CRSError(
        f"{raw.path}: columns {raw.xname!r}/{raw.yname!r} were read in "
        f"{raw.crs.to_string()} ({raw.crs.name}) but most values lie outside its area of use "
        f"({span}); pass the right crs="
    )


def _details(code: int, m: np.ndarray, raw: Raw, c: _Coords, fmt: str) -> np.ndarray:
    """Return the detail of each row ``m`` rejected for ``code``, naming the values found."""
    if code == NO_LOC:
        if raw.schema == "vector":
            return np.full(int(m.sum()), "geometry is null or empty", dtype=object)
        both, xb = (c.xblank & c.yblank)[m], c.xblank[m]
        return np.where(
            both,
            f"{raw.xname} and {raw.yname} are blank",
            np.where(xb, f"{raw.xname} is blank", f"{raw.yname} is blank"),
        ).astype(object)
    if code == NOT_NUM:
        xs, ys = _text(c.xsrc, m), _text(c.ysrc, m)
        return (f"{c.xname}='" + xs + f"', {c.yname}='" + ys + "' (expected numbers)").to_numpy(
            dtype=object
        )
    pair_text = f"{c.xname}=" + number_text(c.x[m]) + f", {c.yname}=" + number_text(c.y[m])
    pair = pair_text.to_numpy(dtype=object)
    if code == RANGE:
        if raw.crs.is_geographic:
            why = ": longitude must lie within +-180 and latitude within +-90"
        elif c.box is not None:
            why = f": outside the area of use of {raw.crs.to_string()}"
        else:
            why = ": not a finite coordinate"
        return pair + why
    if code == ZERO:
        return pair + ": (0, 0) is a placeholder, not a place"
    if code == BAD_DATE:
        name = raw.names.get("date")
        vals = _text(raw.cols["date"], m) if raw.cols.get("date") is not None else pd.Series()
        return (f"{name}='" + vals + f"' is not a date (read as {fmt})").to_numpy(dtype=object)
    raise AssertionError(code)  # pragma: no cover
