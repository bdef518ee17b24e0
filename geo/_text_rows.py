"""Delimited text read safely, row by row (private to :mod:`beatplan.geo._incident_tables`).

Three faults of real files are handled here, so that no row is lost and none swallows others:

* **Encodings.** A file is read as UTF-8 (a UTF-8 byte-order mark is dropped; a file with a
  UTF-16 mark is decoded as UTF-16). Bytes that are not UTF-8 are read as Windows-1252 (the
  Latin-1 superset Excel writes) where they stand, and nowhere else: one Latin-1 row in a UTF-8
  file keeps every other row's accents. Each row so read is reported (:attr:`TextFile.fixes`).
* **Rows are lines.** A quoted value may span lines (as CSV allows), but only when the
  lines it joins read as one row with the header's number of fields and the lines it takes in
  do not look like rows themselves. Otherwise the quote is taken as a typing error: its line
  alone is rejected as malformed, and the lines after it are read as rows of their own. So the
  rows read always match the file's lines, and a bad quote loses at most its own row.
* **Repeated column names** are kept apart: the second ``Context`` is read as ``Context.1``.

Rows are numbered from 1 after the header, as pyarrow counts them: blank lines are not rows,
and a value spanning lines keeps its row one row. pyarrow parses every file; only a file whose
rows do not match its lines (a quote left open, or values spanning lines) is read again, line
by line, with Python's :mod:`csv`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from beatplan.geo.errors import InputFormatError

__all__ = ["Rows", "TextFile", "open_text", "read_rows", "unique_names"]

_NEWLINE = 10
_CP1252 = [bytes([b]).decode("cp1252", errors="replace") for b in range(256)]
_LOCAL = threading.local()  # where the decode error handler notes the bytes it replaced
_SHOWN = 5


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: read the bytes that are not UTF-8 as Windows-1252, noting where."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    chunk = exc.object[exc.start : exc.end]
    _LOCAL.replaced.append((exc.start, bytes(chunk)))
    return "".join(_CP1252[b] for b in chunk), exc.end


codecs.register_error("beatplan-cp1252", _cp1252_fallback)


@dataclass
class TextFile:
    """A delimited text file as valid UTF-8: its header and the bytes after it."""

    path: Path
    header: list[str]  # column names, repeated names made unique (``name.1`` ...)
    repeated: dict[str, list[int]]  # a name given more than once -> its 1-based field numbers
    delim: str
    data: bytes  # the whole file as valid UTF-8
    start: int  # where the body (everything after the header line) starts in ``data``
    fixes: list[tuple[int, str]] = field(default_factory=list)  # (row, what was replaced)
    messages: list[str] = field(default_factory=list)


@dataclass
class Rows:
    """The rows of a :class:`TextFile`: the columns asked for as text, and the malformed rows."""

    table: pa.Table  # the included columns, as strings (null for blank)
    rows: np.ndarray  # int64 row number of each table row
    bad_rows: np.ndarray  # int64 row numbers of malformed rows
    bad_detail: list[str]
    n_rows: int  # table rows + malformed rows


# --------------------------------------------------------------------------- opening


def open_text(path: Path) -> TextFile:
    """Read ``path`` (``.gz`` too) as UTF-8 text; return its header and body.

    Raises
    ------
    InputFormatError
        The file cannot be read, is empty, starts with a blank line or is not text.
    """
    data = _file_bytes(path)
    messages: list[str] = []
    data = _unicode_bytes(path, data, messages)
    if b"\n" not in data and b"\r" in data:  # old Mac line ends: lone carriage returns
        data = data.replace(b"\r", b"\n")
    original = data
    data, replaced = _valid_utf8(data)
    end = data.find(b"\n")
    head, start = (data, len(data)) if end < 0 else (data[:end], end + 1)
    text = head.decode("utf-8").rstrip("\r")
    if not text.strip():
        raise InputFormatError(
            f"{path}: the file is empty or its first line is blank; expected a header line "
            "naming the columns (e.g. the police.uk header 'Crime ID,Month,...')"
        )
    if "\x00" in text:
        raise InputFormatError(
            f"{path}: is not a text table (its first line holds NUL bytes); expected a CSV or "
            "tab-separated file, Parquet (.parquet) or a vector layer (.gpkg, .geojson)"
        )
    delim = max((",", "\t", ";", "|"), key=text.count)
    if text.count(delim) == 0:
        delim = ","
    try:
        raw_header = next(csv.reader([text], delimiter=delim), [])
    except csv.Error as exc:  # e.g. a lone carriage return inside the first line
        raise InputFormatError(f"{path}: the first line is not a table header: {exc}") from exc
    header, repeated = unique_names(raw_header)
    fixes = _encoding_fixes(path, original, replaced, messages) if replaced else []
    if repeated:
        messages.append(
            f"{path.name}: column name(s) repeated: "
            + "; ".join(
                f"{name!r} in fields {', '.join(map(str, where))} (read as "
                + ", ".join(repr(header[i - 1]) for i in where)
                + ")"
                for name, where in repeated.items()
            )
        )
    return TextFile(path, header, repeated, delim, data, start, fixes, messages)


def _file_bytes(path: Path) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                return fh.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputFormatError(f"{path}: cannot be read: {exc}") from exc


def _unicode_bytes(path: Path, data: bytes, messages: list[str]) -> bytes:
    """Drop a UTF-8 byte-order mark; decode a file with a UTF-16 mark (as UTF-8 bytes)."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", errors="replace")
        messages.append(f"{path.name} is UTF-16 text; read as such")
        return text.encode("utf-8")
    return data


def _valid_utf8(data: bytes) -> tuple[bytes, list[tuple[int, bytes]]]:
    """Return ``data`` as valid UTF-8 and the (offset, bytes) read as Windows-1252 instead."""
    if data.isascii():
        return data, []
    try:
        data.decode("utf-8")
        return data, []
    except UnicodeDecodeError:
        pass
    _LOCAL.replaced = []
    try:
        text = data.decode("utf-8", errors="beatplan-cp1252")
        replaced = _LOCAL.replaced
    finally:
        del _LOCAL.replaced
    return text.encode("utf-8"), replaced


def _encoding_fixes(
    path: Path, original: bytes, replaced: list[tuple[int, bytes]], messages: list[str]
) -> list[tuple[int, str]]:
    """Say which rows held bytes that are not UTF-8, one detail per row, and sum them up."""
    arr = np.frombuffer(original, np.uint8)
    breaks = np.flatnonzero(arr == _NEWLINE)
    offsets = np.array([o for o, _ in replaced], dtype=np.int64)
    lines = np.searchsorted(breaks, offsets)  # 0: the header line
    row_of_line = np.cumsum(_not_blank(arr, breaks, len(breaks) + 1))
    rows_hit = np.where(lines == 0, 0, row_of_line[lines] - row_of_line[0])  # as pyarrow counts
    by_row: dict[int, list[bytes]] = {}
    for (_, chunk), row in zip(replaced, rows_hit.tolist(), strict=True):
        by_row.setdefault(row, []).append(chunk)
    header_hit = 0 in by_row
    fixes: list[tuple[int, str]] = []
    for row in sorted(r for r in by_row if r > 0):
        here = by_row[row]
        shown = ", ".join(f"{b!r} as {''.join(_CP1252[c] for c in b)!r}" for b in here[:3])
        fixes.append(
            (
                row,
                f"{sum(len(b) for b in here)} byte(s) not valid UTF-8 read as Windows-1252 "
                f"({shown}{', ...' if len(here) > 3 else ''})",
            )
        )
    rows = [r for r, _ in fixes]
    listed = ", ".join(map(str, rows[:_SHOWN])) + (
        f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
    )
    parts = []
    if header_hit:
        parts.append("the header")
    if rows:
        parts.append(f"{len(rows)} row{'s' if len(rows) != 1 else ''} ({listed})")
    verb = "holds" if len(parts) == 1 and (header_hit or len(rows) == 1) else "hold"
    messages.append(
        f"{path.name}: {' and '.join(parts)} {verb} bytes that are not UTF-8; those bytes were "
        "read as Windows-1252 (Latin-1), the rest of the file as UTF-8"
    )
    return fixes


def unique_names(names: list[str]) -> tuple[list[str], dict[str, list[int]]]:
    """Make repeated column names unique (``name``, ``name.1`` ...); say where each repeats."""
    where: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        where.setdefault(name, []).append(i)
    taken = set(names)
    out = list(names)
    for name, fields in where.items():
        k = 0
        for i in fields[1:]:
            k += 1
            while f"{name}.{k}" in taken:
                k += 1
            out[i - 1] = f"{name}.{k}"
            taken.add(out[i - 1])
    return out, {n: f for n, f in where.items() if len(f) > 1}


# --------------------------------------------------------------------------- rows


def read_rows(tf: TextFile, include: list[str]) -> Rows:
    """Read the ``include`` columns of every row as text, numbering the rows from 1.

    Raises
    ------
    InputFormatError
        pyarrow cannot read the table at all.
    """
    if tf.start >= len(tf.data):
        empty = pa.table({c: pa.array([], pa.string()) for c in include})
        return Rows(empty, np.empty(0, np.int64), np.empty(0, np.int64), [], 0)
    table, bad = _arrow_rows(tf, include)
    n_rec = table.num_rows + len(bad)
    numbers = [b[0] for b in bad]
    if all(isinstance(n, int) and 0 < n <= n_rec for n in numbers) and _one_row_per_line(tf, n_rec):
        ordinal = np.asarray(numbers, dtype=np.int64)
        rows = np.delete(np.arange(1, n_rec + 1, dtype=np.int64), ordinal - 1)
        detail = [f"expected {e} fields, found {a}: {_clip(text)}" for _, e, a, text in bad]
        return Rows(table, rows, ordinal, detail, n_rec)
    return _python_rows(tf, include)  # some row spans lines: read line by line


def _one_row_per_line(tf: TextFile, n_rec: int) -> bool:
    """Say whether each of the ``n_rec`` rows pyarrow read is one line (blank lines aside).

    Only a quote can make a row span lines: a body without one needs no counting.
    """
    if tf.data.find(b'"', tf.start) < 0:
        return True
    body = np.frombuffer(tf.data, np.uint8, offset=tf.start)  # no copy
    n_lines = int(np.count_nonzero(body == _NEWLINE)) + (0 if tf.data.endswith(b"\n") else 1)
    return n_rec == n_lines or n_rec == _row_lines(body, n_lines)


def _row_lines(body: np.ndarray, n_lines: int) -> int:
    """Count the lines of ``body`` that are not blank (nor a lone carriage return)."""
    breaks = np.flatnonzero(body == _NEWLINE)
    return int(_not_blank(body, breaks, n_lines).sum())


def _not_blank(arr: np.ndarray, breaks: np.ndarray, n_lines: int) -> np.ndarray:
    """Say which of the first ``n_lines`` lines of ``arr`` hold something (not a lone CR)."""
    starts = np.concatenate(([0], breaks + 1))[:n_lines]
    ends = np.concatenate((breaks, [len(arr)]))[:n_lines]
    length = ends - starts
    cr_only = (length == 1) & (arr[np.minimum(starts, max(len(arr) - 1, 0))] == 13)
    return (length > 0) & ~cr_only


def _arrow_rows(tf: TextFile, include: list[str]) -> tuple[pa.Table, list[tuple[Any, ...]]]:
    bad: list[tuple[Any, ...]] = []

    def on_bad_row(row: Any) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(memoryview(tf.data)[tf.start :])),
            # single-threaded: faster here, and the only way pyarrow reports bad rows' numbers
            read_options=pacsv.ReadOptions(use_threads=False, column_names=tf.header),
            parse_options=pacsv.ParseOptions(
                delimiter=tf.delim, newlines_in_values=True, invalid_row_handler=on_bad_row
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=include,
                column_types={c: pa.string() for c in include},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise InputFormatError(
            f"{tf.path}: cannot be read as a {_delim_name(tf.delim)}-separated table: {exc}"
        ) from exc
    return table, bad


# --------------------------------------------------------------------------- the slow path


def _python_rows(tf: TextFile, include: list[str]) -> Rows:
    """Read the body line by line with :mod:`csv`, rejecting quotes that never close.

    A record that spans lines is kept only when it has the header's number of fields and
    every line it takes in has fewer delimiters than a row (it holds the rest of a value, not
    rows of its own). Otherwise its first line alone is a malformed row and reading goes on
    at the next line. Rows are numbered as pyarrow does: blank lines are not rows.
    """
    lines = list(io.StringIO(tf.data[tf.start :].decode("utf-8"), newline=""))
    n_fields = len(tf.header)
    want = [tf.header.index(c) for c in include]
    good: list[int] = []
    values: list[list[str | None]] = [[] for _ in include]
    bad: list[int] = []
    detail: list[str] = []
    state = {"pos": 0}

    def feed() -> Iterator[str]:
        while state["pos"] < len(lines):
            state["pos"] += 1
            yield lines[state["pos"] - 1]

    def reject(start: int, why: str) -> None:
        bad.append(len(good) + len(bad) + 1)
        detail.append(f"{why}: {_clip(lines[start].rstrip())}")

    reader = csv.reader(feed(), delimiter=tf.delim)
    while state["pos"] < len(lines):
        start = state["pos"]
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a carriage return inside an unquoted value
            reject(start, f"not a table row ({exc})")
            state["pos"] = start + 1
            reader = csv.reader(feed(), delimiter=tf.delim)
            continue
        if not rec:  # a blank line
            continue
        if state["pos"] - start > 1 and not _joins_a_value(
            rec, lines[start + 1 : state["pos"]], tf.delim, n_fields
        ):
            reject(start, "a quote opened on this line is never closed on it")
            state["pos"] = start + 1
            reader = csv.reader(feed(), delimiter=tf.delim)
            continue
        if len(rec) != n_fields:
            reject(start, f"expected {n_fields} fields, found {len(rec)}")
            continue
        good.append(len(good) + len(bad) + 1)
        for k, j in enumerate(want):
            values[k].append(rec[j] or None)
    table = pa.table({c: pa.array(v, pa.string()) for c, v in zip(include, values, strict=True)})
    rows, bad_rows = np.asarray(good, dtype=np.int64), np.asarray(bad, dtype=np.int64)
    return Rows(table, rows, bad_rows, detail, len(good) + len(bad))


def _joins_a_value(rec: list[str], taken: list[str], delim: str, n_fields: int) -> bool:
    """Say whether a record that spans lines is a real multi-line value (not a stray quote)."""
    return len(rec) == n_fields and all(line.count(delim) < n_fields - 1 for line in taken)


def _delim_name(delim: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(delim, repr(delim))


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."
