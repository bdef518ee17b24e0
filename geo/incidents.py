"""Read incident points from police.uk street CSVs, coordinate tables and point layers.

:func:`read_incidents` turns one file, many files, a folder or a glob into an
:class:`Incidents` result: the points that have a usable location, in the working CRS, and
a ``rejected`` table holding every other row with its reason. Nothing is lost:
``len(points) + len(rejected) == rows_read`` always.

Accepted inputs
---------------
- police.uk street-level CSVs (``Crime ID,Month,...,Longitude,Latitude,...``), one per month;
- any delimited text table (``.csv``, ``.tab``, ``.tsv``, optionally ``.gz``; the delimiter
  is read from the header line) or Parquet file with lon/lat columns, or projected x/y
  columns plus their ``crs``;
- GeoPackage / GeoJSON / Shapefile / FlatGeobuf point layers.

How each row is judged, in this order (a row gets the first reason that applies):
``"malformed row"`` (too many or too few fields), ``"no location"`` (a blank coordinate
or an empty geometry), ``"not a number"``, ``"out of range"`` (beyond +-180/+-90 degrees,
outside the projected CRS's area of use, or not projectable), ``"zero coordinates"``
((0, 0)), ``"bad date"`` (a date that is present but cannot be read), ``"duplicate id"``
(second and later rows with the same non-blank id, across all files) and ``"outside area"``.
A *blank* date is not a reason: the point is kept with ``NaT`` and a message says how many.
"""

from __future__ import annotations

import csv
import gzip
import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS

from geo._sources import Sources, expand_sources
from geo.crs import GB_LONLAT_BOUNDS, WGS84, parse_crs, transformer, working_crs
from geo.errors import (
    ColumnNotFoundError,
    CRSError,
    GeometryError,
    InputFormatError,
    OptionError,
    ValidationError,
    check_option,
)

__all__ = ["REJECT_REASONS", "SCHEMAS", "Incidents", "read_incidents"]

log = logging.getLogger("beatplan")

#: Valid values of ``read_incidents(schema=...)``.
SCHEMAS = ("auto", "police.uk", "xy", "lonlat", "vector")
#: Every reason a row can be rejected for, in the order the checks run.
REJECT_REASONS = (
    "malformed row",
    "no location",
    "not a number",
    "out of range",
    "zero coordinates",
    "bad date",
    "duplicate id",
    "outside area",
)
_MALFORMED, _NO_LOC, _NOT_NUM, _RANGE, _ZERO, _BAD_DATE, _DUP, _OUTSIDE = range(1, 9)

_PARQUET_SUFFIXES = (".parquet", ".pq")
_VECTOR_SUFFIXES = (".gpkg", ".geojson", ".geojsonl", ".geojsons", ".json", ".shp", ".fgb")
#: Files a folder or glob contributes (``.txt`` and ``.json`` only when named explicitly).
_FOLDER_SUFFIXES = (
    ".csv", ".csv.gz", ".tab", ".tab.gz", ".tsv", ".tsv.gz",
    ".parquet", ".pq", ".gpkg", ".geojson", ".fgb", ".shp",
)  # fmt: skip

_POLICE_UK = {
    "x": "longitude",
    "y": "latitude",
    "id": "crimeid",
    "date": "month",
    "category": "crimetype",
    "location": "location",
    "lsoa": "lsoacode",
}
# Candidate column names, normalised (lower case, letters and digits only), best first.
_LON = ("longitude", "lon", "lng", "long", "longitudewgs84", "xlon")
_LAT = ("latitude", "lat", "latitudewgs84", "ylat")
_X = ("x", "xcoordinate", "xcoord", "easting", "eastings", "pointx", "xcoordinates")
_Y = ("y", "ycoordinate", "ycoord", "northing", "northings", "pointy", "ycoordinates")
_OPTIONAL = {
    "date": (
        "datetime", "dateofoccurrence", "occurrencedate", "occurred", "occurredon",
        "offencedate", "offensedate", "incidentdate", "date", "timestamp", "reporteddate",
        "datereported", "month",
    ),
    "category": (
        "crimetype", "category", "primarytype", "primarydescription", "offencetype",
        "offensetype", "crimecategory", "offence", "offense", "crime", "type",
    ),
    "id": ("crimeid", "incidentid", "id", "casenumber", "crimereference", "reference", "case"),
    "location": ("block", "address", "streetaddress", "street", "location", "locationname"),
    "lsoa": ("lsoacode", "lsoa11cd", "lsoa21cd", "lsoacd", "lsoa"),
}  # fmt: skip
_WHAT = {
    "date": "date or month",
    "category": "crime type / category",
    "id": "incident id",
    "location": "location / street",
    "lsoa": "LSOA code",
}

_DATE_FORMATS = (
    "%Y-%m", "ISO8601",
    "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M",
    "%m/%d/%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%Y",
    "%m/%Y", "%b %Y", "%B %Y", "%b-%y",
)  # fmt: skip
_MONTH_ONLY_FORMATS = {"%Y-%m", "%m/%Y", "%b %Y", "%B %Y", "%b-%y"}

_STRING = pd.StringDtype()
_NS = "datetime64[ns]"


def _string_mapper(t: pa.DataType) -> Any:
    return _STRING if pa.types.is_string(t) or pa.types.is_large_string(t) else None


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, repr=False)
class Incidents:
    """What :func:`read_incidents` read: the located points and every rejected row.

    Attributes
    ----------
    points : geopandas.GeoDataFrame
        One Point per kept row, in ``crs``, RangeIndex, columns ``id``, ``month``,
        ``timestamp``, ``category``, ``location``, ``lsoa``, ``source``, ``row``, ``geometry``.
    rejected : pandas.DataFrame
        One row per rejected input row: ``source``, ``row``, ``reason``, ``detail``.
    rows_read : int
        Data rows read from all sources; always ``len(points) + len(rejected)``.
    crs : pyproj.CRS
        The CRS of ``points``.
    sources : list of str
        The files read, in order.
    schema : str
        How the sources were read: ``"police.uk"``, ``"xy"``, ``"lonlat"`` or ``"vector"``.
    messages : list of str
        Notes on what was found and fixed (swapped coordinates, blank dates, columns absent).
    """

    points: gpd.GeoDataFrame
    rejected: pd.DataFrame
    rows_read: int
    crs: CRS
    sources: list[str]
    schema: str
    messages: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.points) + len(self.rejected) != self.rows_read:
            raise ValidationError(
                "Incidents",
                [
                    f"{len(self.points)} points + {len(self.rejected)} rejected != "
                    f"{self.rows_read} rows read"
                ],
            )

    def __repr__(self) -> str:
        epsg = self.crs.to_epsg()
        return (
            f"Incidents({self.rows_read:,} rows read: {len(self.points):,} points, "
            f"{len(self.rejected):,} rejected; schema={self.schema!r}; "
            f"crs={'EPSG:' + str(epsg) if epsg else self.crs.name!r})"
        )

    @property
    def reason_counts(self) -> dict[str, int]:
        """Rejected rows per reason, in the order the checks run (reasons with none left out)."""
        counts = self.rejected["reason"].value_counts()
        return {r: int(counts[r]) for r in REJECT_REASONS if r in counts.index}

    def summary(self) -> str:
        """Describe the result in a few lines: counts by reason, months, categories and CRS.

        Returns
        -------
        str
            Several lines of text, for ``beatplan info`` and logs.
        """
        pts = self.points
        n_files = len(self.sources)
        lines = [
            f"{self.rows_read:,} rows read from {n_files} file{'s' if n_files != 1 else ''} "
            f"({self.schema}): {len(pts):,} points, {len(self.rejected):,} rejected"
        ]
        if len(self.rejected):
            lines.append(
                "rejected: " + "; ".join(f"{r} {n:,}" for r, n in self.reason_counts.items())
            )
        months = pts["month"].dropna()
        undated = len(pts) - len(months)
        if len(months):
            n_months = months.nunique()
            lines.append(
                f"months: {months.min():%Y-%m} .. {months.max():%Y-%m} ({n_months} month"
                f"{'s' if n_months != 1 else ''} with points"
                + (
                    f"; {undated:,} point{'s' if undated != 1 else ''} without a date)"
                    if undated
                    else ")"
                )
            )
        else:
            lines.append("months: none known")
        cats = pts["category"].value_counts()
        if len(cats):
            top = ", ".join(f"{k} {v:,}" for k, v in cats.head(5).items())
            lines.append(f"categories: {len(cats)} ({top}{', ...' if len(cats) > 5 else ''})")
        else:
            lines.append("categories: none known")
        epsg = self.crs.to_epsg()
        lines.append(
            f"CRS: {'EPSG:' + str(epsg) if epsg else self.crs.to_string()} ({self.crs.name})"
        )
        lines.extend(f"note: {m}" for m in self.messages)
        return "\n".join(lines)


# --------------------------------------------------------------------------- reading


@dataclass
class _Spec:
    """The caller's choices, shared by every file."""

    schema: str
    x: str | None
    y: str | None
    crs: CRS | None
    columns: dict[str, str | None]  # date / category / id chosen by the caller


@dataclass
class _Raw:
    """One file as read: parsed rows' columns plus the rows that could not be parsed."""

    path: Path
    schema: str
    crs: CRS
    n_rows: int
    rows: np.ndarray  # int64 data-row numbers (1-based) of the parsed rows
    x: pa.ChunkedArray | np.ndarray  # text or numbers; numpy float64 for vector layers
    y: pa.ChunkedArray | np.ndarray
    xname: str
    yname: str
    cols: dict[str, pa.ChunkedArray | None]  # id, date, category, location, lsoa
    names: dict[str, str | None]  # the column each of those came from
    malformed: pd.DataFrame
    notes: list[tuple[str, str]] = field(default_factory=list)  # (template, file name)
    messages: list[str] = field(default_factory=list)


@dataclass
class _Part:
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


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_VECTOR_SUFFIXES):
        return "vector"
    return "text"


def _find(header: Sequence[str], candidates: Sequence[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(_norm(h), h)
    for c in candidates:
        if c in by_norm:
            return by_norm[c]
    return None


def _given(header: Sequence[str], name: str, arg: str, path: Path) -> str:
    """Return the header entry the caller named (exact, else ignoring case and spacing)."""
    if name in header:
        return name
    found = _find(header, [_norm(name)])
    if found is None:
        raise ColumnNotFoundError(
            f"{path}: no column {name!r} (given as {arg}=); columns present: "
            f"{', '.join(map(repr, header))}; pass {arg}= one of those"
        )
    return found


def _resolve(header: list[str], path: Path, spec: _Spec, kind: str) -> dict[str, Any]:
    """Choose the schema and the columns of one table from its header."""
    normed = {_norm(h) for h in header}
    police = {"crimeid", "month", "longitude", "latitude", "crimetype"} <= normed
    schema = spec.schema
    crs = spec.crs
    if schema == "vector":
        raise InputFormatError(
            f"{path}: schema='vector' reads GeoPackage/GeoJSON point layers, but this is a "
            f"{kind} table; use schema='auto'"
        )
    if schema == "auto":
        if spec.x is None and police and (crs is None or crs.is_geographic):
            schema = "police.uk"
        elif crs is not None and crs.is_projected:
            schema = "xy"
        elif spec.x is not None or (_find(header, _LON) and _find(header, _LAT)):
            schema = "lonlat"
        elif _find(header, _X) and _find(header, _Y):
            raise CRSError(
                f"{path}: found projected-looking columns {_find(header, _X)!r}/"
                f"{_find(header, _Y)!r} but no CRS; pass crs= the CRS they are in "
                "(e.g. crs='EPSG:27700' for British National Grid), or crs='EPSG:4326' if "
                "they hold longitude/latitude"
            )
        else:
            raise ColumnNotFoundError(
                f"{path}: no coordinate columns found (looked for longitude/lon/lng and "
                f"latitude/lat, or x/easting and y/northing); columns present: "
                f"{', '.join(map(repr, header))}; pass x='<longitude or x column>', "
                "y='<latitude or y column>' (and crs=... for projected coordinates)"
            )
    if schema == "xy":
        if crs is None:  # caught earlier for an explicit schema; kept for safety
            raise CRSError(f"{path}: projected x/y coordinates need crs=...")
        if not crs.is_projected:
            raise CRSError(
                f"{path}: schema='xy' is for projected coordinates but crs={crs.to_string()} "
                "is geographic; use schema='lonlat' for longitude/latitude"
            )
    elif crs is not None and crs.is_projected:
        raise CRSError(
            f"{path}: schema={schema!r} reads longitude/latitude but crs={crs.to_string()} is "
            "projected; use schema='xy' for projected x/y columns"
        )
    if schema == "police.uk" and not police:
        missing = [
            n for n in ("Crime ID", "Month", "Longitude", "Latitude", "Crime type")
            if _norm(n) not in normed
        ]  # fmt: skip
        raise ColumnNotFoundError(
            f"{path}: not a police.uk street-level file: missing {', '.join(missing)}; columns "
            f"present: {', '.join(map(repr, header))}; use schema='auto' or 'lonlat' with x=, y="
        )

    cand_x: tuple[str, ...] = _LON
    cand_y: tuple[str, ...] = _LAT
    if schema == "police.uk":
        cand_x, cand_y = ("longitude",), ("latitude",)
    elif schema == "xy":
        cand_x, cand_y = _X, _Y
    if spec.x is not None and spec.y is not None:
        xcol, ycol = _given(header, spec.x, "x", path), _given(header, spec.y, "y", path)
    else:
        found_x, found_y = _find(header, cand_x), _find(header, cand_y)
        if found_x is None or found_y is None:
            want = "x/easting and y/northing" if schema == "xy" else "longitude and latitude"
            raise ColumnNotFoundError(
                f"{path}: no {want} columns found; columns present: "
                f"{', '.join(map(repr, header))}; pass x='<column>', y='<column>'"
            )
        xcol, ycol = found_x, found_y
    names: dict[str, str | None] = {}
    notes: list[tuple[str, str]] = []
    for key, cands in _OPTIONAL.items():
        chosen = spec.columns.get(key)
        if chosen is not None:
            names[key] = _given(header, chosen, key, path)
            continue
        if schema == "police.uk":
            cands = (_POLICE_UK[key],)
        found = _find([h for h in header if h not in (xcol, ycol)], cands)
        names[key] = found
        if found is None and key in ("date", "category", "id"):
            notes.append(
                (f"no {_WHAT[key]} column found in {{files}}; pass {key}='<column>' to name one",
                 path.name)
            )  # fmt: skip
    return {
        "schema": schema,
        "crs": crs if crs is not None else WGS84,
        "x": xcol,
        "y": ycol,
        "names": names,
        "notes": notes,
    }


def _read_header(path: Path) -> tuple[list[str], str]:
    """Return the header fields and the delimiter of a delimited text file."""
    opener: Callable[..., Any] = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            line = fh.readline(1 << 20)
    except OSError as exc:
        raise InputFormatError(f"{path}: cannot be opened as a text table: {exc}") from exc
    text = line.decode("utf-8-sig", errors="replace").rstrip("\r\n")
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
        header = next(csv.reader([text], delimiter=delim))
    except csv.Error as exc:
        raise InputFormatError(f"{path}: the first line is not a table header: {exc}") from exc
    return header, delim


def _read_text(path: Path, spec: _Spec) -> _Raw:
    header, delim = _read_header(path)
    plan = _resolve(header, path, spec, "text")
    include = _plan_columns(plan)
    messages: list[str] = []
    try:
        table, bad = _read_csv(path, delim, include, "utf8")
    except pa.ArrowInvalid as exc:
        if "utf8" not in str(exc).lower().replace("-", ""):
            raise InputFormatError(
                f"{path}: cannot be read as a {_delim_name(delim)}-separated table: {exc}"
            ) from exc
        try:
            table, bad = _read_csv(path, delim, include, "latin-1")
        except pa.ArrowInvalid as exc2:
            raise InputFormatError(
                f"{path}: cannot be read as a {_delim_name(delim)}-separated table: {exc2}"
            ) from exc2
        messages.append(f"{path.name} is not valid UTF-8; read it as Latin-1")
    n_bad = len(bad)
    n_rows = table.num_rows + n_bad
    if n_bad and all(b[0] is not None and b[0] > 0 for b in bad):
        bad_rows = np.array([b[0] for b in bad], dtype=np.int64) - 1  # header is record 1
        rows = np.delete(np.arange(1, n_rows + 1, dtype=np.int64), bad_rows - 1)
    else:  # row numbers unknown (never seen single-threaded): number the bad rows last
        rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
        bad_rows = np.arange(table.num_rows + 1, n_rows + 1, dtype=np.int64)
    malformed = _rejections(
        path.name,
        bad_rows,
        _MALFORMED,
        [f"expected {exp} fields, found {act}: {_clip(text)}" for _, exp, act, text in bad],
    )
    if n_bad:
        messages.append(f"{path.name}: {n_bad} malformed row{'s' if n_bad != 1 else ''} rejected")
    return _raw_from_table(path, plan, table, n_rows, rows, malformed, messages)


def _plan_columns(plan: dict[str, Any]) -> list[str]:
    """Return the columns a resolved plan reads: x, y, then the optional ones found, once each."""
    wanted = [plan["x"], plan["y"], *[c for c in plan["names"].values() if c is not None]]
    return list(dict.fromkeys(wanted))


def _raw_from_table(
    path: Path,
    plan: dict[str, Any],
    table: pa.Table,
    n_rows: int,
    rows: np.ndarray,
    malformed: pd.DataFrame,
    messages: list[str] | None = None,
) -> _Raw:
    """Wrap the columns ``plan`` chose from a text or Parquet ``table``."""
    return _Raw(
        path=path,
        schema=plan["schema"],
        crs=plan["crs"],
        n_rows=n_rows,
        rows=rows,
        x=table.column(plan["x"]),
        y=table.column(plan["y"]),
        xname=plan["x"],
        yname=plan["y"],
        cols={k: (table.column(c) if c is not None else None) for k, c in plan["names"].items()},
        names=plan["names"],
        malformed=malformed,
        notes=plan["notes"],
        messages=messages or [],
    )


def _read_csv(
    path: Path, delim: str, include: list[str], encoding: str
) -> tuple[pa.Table, list[tuple[int | None, int, int, str]]]:
    """Read ``include`` columns as text; return the table and the rows skipped as malformed."""
    bad: list[tuple[int | None, int, int, str]] = []

    def on_bad_row(row: Any) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns, row.text))
        return "skip"

    try:
        table = pacsv.read_csv(
            path,
            # single-threaded: faster here, and the only way pyarrow reports bad rows' numbers
            read_options=pacsv.ReadOptions(use_threads=False, encoding=encoding),
            parse_options=pacsv.ParseOptions(
                delimiter=delim, newlines_in_values=True, invalid_row_handler=on_bad_row
            ),
            convert_options=pacsv.ConvertOptions(
                include_columns=include,
                column_types={c: pa.string() for c in include},
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except OSError as exc:  # e.g. a corrupt .gz
        raise InputFormatError(f"{path}: cannot be read: {exc}") from exc
    return table, bad


def _read_parquet(path: Path, spec: _Spec) -> _Raw:
    try:
        header = list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFormatError(f"{path}: cannot be read as Parquet: {exc}") from exc
    plan = _resolve(header, path, spec, "parquet")
    table = pq.read_table(path, columns=_plan_columns(plan))
    n = table.num_rows
    rows = np.arange(1, n + 1, dtype=np.int64)
    no_bad = _rejections(path.name, np.empty(0, np.int64), _MALFORMED, [])
    return _raw_from_table(path, plan, table, n, rows, no_bad)


def _read_vector(path: Path, spec: _Spec) -> _Raw:
    if spec.schema not in ("auto", "vector"):
        raise InputFormatError(
            f"{path}: is a vector layer (GeoPackage/GeoJSON/...), not a table; read it with "
            f"schema='vector' or 'auto' (schema={spec.schema!r} was given)"
        )
    if spec.x is not None or spec.y is not None:
        raise OptionError(
            f"{path}: x= and y= name coordinate columns of tables; a vector layer's points "
            "come from its geometry, so leave them out"
        )
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFormatError(f"{path}: cannot be opened as a vector layer: {exc}") from exc
    points = [str(name) for name, gtype in layers if gtype and "point" in str(gtype).lower()]
    if len(layers) == 1:
        layer = str(layers[0][0])
    elif points:
        layer = points[0]
        log.info("%s: %d layers; reading the point layer %r", path, len(layers), layer)
    else:
        raise InputFormatError(
            f"{path}: holds no point layer (layers: "
            f"{', '.join(f'{n} ({t})' for n, t in layers)}); incidents must be points"
        )
    header = [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
    names: dict[str, str | None] = {}
    notes: list[tuple[str, str]] = []
    for key, cands in _OPTIONAL.items():
        chosen = spec.columns.get(key)
        names[key] = _given(header, chosen, key, path) if chosen else _find(header, cands)
        if names[key] is None and key in ("date", "category", "id"):
            notes.append(
                (f"no {_WHAT[key]} column found in {{files}}; pass {key}='<column>' "
                 "to name one", path.name)
            )  # fmt: skip
    cols_wanted = list(dict.fromkeys(c for c in names.values() if c is not None))
    meta, table = pyogrio.read_arrow(path, layer=layer, columns=cols_wanted)
    layer_crs = meta.get("crs")
    if spec.crs is not None:
        if layer_crs and not CRS.from_user_input(layer_crs).equals(spec.crs):
            log.warning(
                "%s: declares %s; using crs=%s as given", path, layer_crs, spec.crs.to_string()
            )
        crs = spec.crs
    elif layer_crs:
        crs = CRS.from_user_input(layer_crs)
    else:
        raise CRSError(f"{path}: layer {layer!r} has no CRS; pass crs= the CRS it is in")
    geom = shapely.from_wkb(np.asarray(table.column(meta["geometry_name"] or "wkb_geometry")))
    types = shapely.get_type_id(geom)
    single = (types == 4) & (shapely.get_num_geometries(geom) == 1)
    geom = np.where(single, shapely.get_geometry(geom, 0), geom)
    types = shapely.get_type_id(geom)
    wrong = (types != 0) & (types != -1) & ~shapely.is_empty(geom)
    if wrong.any():
        kinds = pd.Series(shapely.get_type_id(geom[wrong])).map(
            {1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint (several points)",
             5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}
        ).value_counts()  # fmt: skip
        raise GeometryError(
            f"{path}: layer {layer!r} must hold points, but {int(wrong.sum())} features are "
            f"{', '.join(f'{k} ({v})' for k, v in kinds.items())}; convert them to points "
            "(e.g. centroids) first"
        )
    x = shapely.get_x(geom).astype(np.float64)  # NaN for null and empty points
    y = shapely.get_y(geom).astype(np.float64)
    n = len(geom)
    return _Raw(
        path=path,
        schema="vector",
        crs=crs,
        n_rows=n,
        rows=np.arange(1, n + 1, dtype=np.int64),
        x=x,
        y=y,
        xname="x",
        yname="y",
        cols={k: (table.column(c) if c is not None else None) for k, c in names.items()},
        names=names,
        malformed=_rejections(path.name, np.empty(0, np.int64), _MALFORMED, []),
        notes=notes,
    )


def _delim_name(delim: str) -> str:
    return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}.get(delim, repr(delim))


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


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
        series = text.to_pandas(types_mapper=_string_mapper)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.asarray(values, dtype=np.float64)
    notnum = np.isnan(values) & ~blank
    return values, blank, notnum


def _parse_dates(
    arr: pa.ChunkedArray, name: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool, str]:
    """Return (timestamps ns, bad, blank, month_only, format) for one date column."""
    month_named = "month" in _norm(name)
    t = arr.type
    if pa.types.is_date(t):
        arr = arr.cast(pa.timestamp("ms"))
    if pa.types.is_timestamp(arr.type):
        s = pd.Series(arr.to_pandas())
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            s = s.dt.tz_localize(None)
        ts = s.to_numpy(dtype=_NS)
        blank = np.isnat(ts)
        return ts, np.zeros(len(ts), bool), blank, month_named, str(t)
    text = pc.utf8_trim_whitespace(_as_string(arr))
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    enc = text.combine_chunks().dictionary_encode()
    uniques = pd.Series(enc.dictionary.to_pylist(), dtype=object)
    codes = enc.indices.to_numpy(zero_copy_only=False)  # float with NaN where null
    blank = np.isnan(codes) if codes.dtype.kind == "f" else np.zeros(len(codes), bool)
    if len(uniques) == 0:
        ts = np.full(len(codes), np.datetime64("NaT"), dtype=_NS)
        return ts, np.zeros(len(codes), bool), blank, month_named, ""
    sample = uniques.iloc[:200]
    best, best_n = _DATE_FORMATS[0], -1
    for fmt in _DATE_FORMATS:
        n_ok = int(_to_datetime(sample, fmt).notna().sum())
        if n_ok > best_n:
            best, best_n = fmt, n_ok
        if n_ok == len(sample):
            break
    parsed = _to_datetime(uniques, best).to_numpy(dtype=_NS)
    safe = np.where(blank, 0, codes).astype(np.int64)
    ts = parsed[safe]
    ts[blank] = np.datetime64("NaT")
    bad = np.isnat(ts) & ~blank
    return ts, bad, blank, month_named or best in _MONTH_ONLY_FORMATS, best


def _to_datetime(values: pd.Series, fmt: str) -> pd.Series:
    try:
        out = pd.to_datetime(values, format=fmt, errors="coerce")
    except (ValueError, TypeError):  # e.g. mixed time zones
        return pd.Series(pd.NaT, index=values.index, dtype=_NS)
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_localize(None)
    return out


def _rejections(name: str, rows: np.ndarray, code: int, detail: Any) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "source": pd.array([name] * n, dtype=_STRING),
            "row": np.asarray(rows, dtype=np.int64),
            "reason": pd.array([REJECT_REASONS[code - 1]] * n, dtype=_STRING),
            "detail": pd.array(np.asarray(detail, dtype=object), dtype=_STRING),
        }
    )


def _text(arr: pa.ChunkedArray | np.ndarray, mask: np.ndarray) -> pd.Series:
    """Return the raw values of rows ``mask`` as strings (for messages)."""
    if isinstance(arr, np.ndarray):
        return pd.Series(arr[mask]).astype(str)
    sub = _as_string(arr).filter(pa.array(mask))
    return pd.Series(sub.to_pandas(types_mapper=_string_mapper)).fillna("").astype(str)


def _num(values: np.ndarray) -> pd.Series:
    """Format numbers as text for messages (vectorised by Arrow)."""
    text = pa.array(np.round(np.asarray(values, dtype=np.float64), 6)).cast(pa.string())
    return pd.Series(text.to_pandas(types_mapper=_string_mapper), dtype=_STRING)


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


def _validate(raw: _Raw, index: int) -> _Part:
    """Run the per-file checks (no location .. bad date) and split kept from rejected."""
    name = raw.path.name
    x, xblank, xnan = _numbers(raw.x)
    y, yblank, ynan = _numbers(raw.y)
    n = len(x)
    reason = np.zeros(n, dtype=np.int8)
    blank = xblank | yblank
    reason[blank] = _NO_LOC
    reason[(reason == 0) & (xnan | ynan)] = _NOT_NUM
    xname, yname = raw.xname, raw.yname
    xsrc, ysrc = raw.x, raw.y
    messages = list(raw.messages)

    ok = reason == 0
    box = _valid_box(raw.crs)
    nonzero = ok & ~((x == 0) & (y == 0))
    swap_why = _swap_reason(x[nonzero], y[nonzero], raw.crs, box)
    if swap_why:
        x, y = y, x
        xname, yname, xsrc, ysrc = yname, xname, ysrc, xsrc
        msg = (
            f"{raw.xname} and {raw.yname} were swapped in {name} ({swap_why}); fixed: "
            f"x is read from {raw.yname}, y from {raw.xname}"
        )
        messages.append(msg)
        log.warning(msg)
    finite = np.isfinite(x) & np.isfinite(y)
    if box is not None:
        in_box = finite & (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
    else:
        in_box = finite
    out = ok & ~in_box & ~((x == 0) & (y == 0))
    n_ok = int(nonzero.sum())
    if n_ok and out.sum() > 0.5 * n_ok:
        _raise_wrong_crs(raw, x[nonzero], y[nonzero])
    reason[out] = _RANGE
    zero = (reason == 0) & (x == 0) & (y == 0)
    reason[zero] = _ZERO

    n_points = len(x)
    month = np.full(n_points, np.datetime64("NaT"), dtype=_NS)
    stamp = month.copy()
    date_arr = raw.cols.get("date")
    date_name = raw.names.get("date")
    fmt = ""
    if date_arr is not None and date_name is not None:
        ts, bad, dblank, month_only, fmt = _parse_dates(date_arr, date_name)
        n_bad, n_given = int(bad.sum()), int((~dblank).sum())
        if n_bad > 0.5 * n_given:
            examples = ", ".join(repr(v) for v in pd.unique(_text(date_arr, bad).to_numpy())[:3])
            raise InputFormatError(
                f"{raw.path}: column {date_name!r} does not hold dates in a format beatplan "
                f"reads ({n_bad:,} of {n_given:,} values unreadable, e.g. {examples}); pass "
                "date= the column holding the date or month"
            )
        reason[(reason == 0) & bad] = _BAD_DATE
        month = ts.astype("datetime64[M]").astype(_NS)
        if not month_only:
            stamp = ts
        n_blank = int((dblank & (reason == 0)).sum())
        if n_blank:
            messages.append(
                f"{name}: {n_blank:,} row{'s' if n_blank != 1 else ''} with a blank "
                f"{date_name!r} kept with no month (NaT)"
            )

    keep = reason == 0
    rejected = [raw.malformed]
    for code in (_NO_LOC, _NOT_NUM, _RANGE, _ZERO, _BAD_DATE):
        m = reason == code
        if not m.any():
            continue
        rejected.append(
            _rejections(
                name,
                raw.rows[m],
                code,
                _details(code, m, raw, x, y, xname, yname, xsrc, ysrc, xblank, yblank, box, fmt),
            )
        )
    mask = None if keep.all() else pa.array(keep)
    strings = {}
    for key in ("id", "category", "location", "lsoa"):
        arr = raw.cols.get(key)
        if arr is not None:
            arr = _as_string(arr).cast(pa.large_string())
            strings[key] = arr if mask is None else arr.filter(mask)
        else:
            strings[key] = None
    return _Part(
        index=index,
        name=name,
        crs=raw.crs,
        n_rows=raw.n_rows,
        strings=strings,
        month=month[keep],
        stamp=stamp[keep],
        rows=raw.rows[keep],
        x=x[keep],
        y=y[keep],
        rejected=rejected,
        messages=messages,
        notes=raw.notes,
    )


def _stack_strings(parts: list[_Part], key: str) -> pd.Series:
    """Stack one string column of every part into a pandas "string" Series."""
    chunks: list[pa.Array] = []
    for p in parts:
        arr = p.strings[key]
        if arr is None:
            chunks.append(pa.nulls(len(p.rows), pa.large_string()))
        else:
            chunks.extend(arr.chunks)
    stacked = pa.chunked_array(chunks, type=pa.large_string())
    return pd.Series(stacked.to_pandas(types_mapper=_string_mapper), dtype=_STRING)


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


def _raise_wrong_crs(raw: _Raw, x: np.ndarray, y: np.ndarray) -> None:
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


def _details(
    code: int,
    m: np.ndarray,
    raw: _Raw,
    x: np.ndarray,
    y: np.ndarray,
    xname: str,
    yname: str,
    xsrc: pa.ChunkedArray | np.ndarray,
    ysrc: pa.ChunkedArray | np.ndarray,
    xblank: np.ndarray,
    yblank: np.ndarray,
    box: tuple[float, float, float, float] | None,
    fmt: str,
) -> np.ndarray:
    if code == _NO_LOC:
        if raw.schema == "vector":
            return np.full(int(m.sum()), "geometry is null or empty", dtype=object)
        both, xb = (xblank & yblank)[m], xblank[m]
        return np.where(
            both,
            f"{raw.xname} and {raw.yname} are blank",
            np.where(xb, f"{raw.xname} is blank", f"{raw.yname} is blank"),
        ).astype(object)
    if code == _NOT_NUM:
        xs, ys = _text(xsrc, m), _text(ysrc, m)
        return (f"{xname}='" + xs + f"', {yname}='" + ys + "' (expected numbers)").to_numpy(
            dtype=object
        )
    pair = (f"{xname}=" + _num(x[m]) + f", {yname}=" + _num(y[m])).to_numpy(dtype=object)
    if code == _RANGE:
        if raw.crs.is_geographic:
            why = ": longitude must lie within +-180 and latitude within +-90"
        elif box is not None:
            why = f": outside the area of use of {raw.crs.to_string()}"
        else:
            why = ": not a finite coordinate"
        return pair + why
    if code == _ZERO:
        return pair + ": (0, 0) is a placeholder, not a place"
    if code == _BAD_DATE:
        name = raw.names.get("date")
        vals = _text(raw.cols["date"], m) if raw.cols.get("date") is not None else pd.Series()
        return (f"{name}='" + vals + f"' is not a date (read as {fmt})").to_numpy(dtype=object)
    raise AssertionError(code)  # pragma: no cover


# --------------------------------------------------------------------------- assembly


def _output_crs(parts: list[_Part], to_crs: Any) -> CRS:
    if to_crs is None:
        crss = {p.crs.to_wkt(): p.crs for p in parts}
        if len(crss) > 1:
            raise CRSError(
                "to_crs=None keeps the sources' CRS, but they differ ("
                + ", ".join(c.to_string() for c in crss.values())
                + "); pass to_crs='working' or a projected CRS"
            )
        return next(iter(crss.values())) if crss else WGS84
    if isinstance(to_crs, str) and to_crs == "working":
        layers = []
        for p in parts:
            if len(p.x) == 0:
                continue
            qx = np.nanpercentile(p.x, [0.1, 99.9])
            qy = np.nanpercentile(p.y, [0.1, 99.9])
            layers.append(gpd.GeoSeries(gpd.points_from_xy(qx, qy), crs=p.crs))
        return working_crs(*layers)
    return working_crs(crs=to_crs)


def _project(
    parts: list[_Part], owner: np.ndarray, x: np.ndarray, y: np.ndarray, out: CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Return every point's coordinates in ``out``, one transform per source CRS."""
    groups: dict[str, list[int]] = {}
    crs_of: dict[str, CRS] = {}
    for p in parts:
        key = p.crs.to_wkt()
        groups.setdefault(key, []).append(p.index)
        crs_of[key] = p.crs
    px, py = x.copy(), y.copy()
    for key, members in groups.items():
        src = crs_of[key]
        if src.equals(out):
            continue
        sel = np.isin(owner, members) if len(groups) > 1 else slice(None)
        t = transformer(src, out)
        tx, ty = t.transform(x[sel], y[sel], errcheck=False)
        px[sel], py[sel] = tx, ty
    return px, py


def _area_geometry(area: Any, out: CRS) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if area.crs is None:
            raise CRSError("area has no CRS; set one with area.set_crs(...) first")
        series = area.geometry if isinstance(area, gpd.GeoDataFrame) else area
        if not CRS.from_user_input(series.crs).equals(out):
            series = series.to_crs(out)
        geom = shapely.union_all(shapely.make_valid(np.asarray(series.values)))
    elif isinstance(area, shapely.Geometry):
        from geo.crs import check_crs_fits

        problem = check_crs_fits(area.bounds, out, what="area")
        if problem:
            raise CRSError(
                f"{problem} (a bare shapely geometry is taken to be in the points' CRS "
                f"{out.to_string()}; pass a GeoSeries/GeoDataFrame with its CRS instead)"
            )
        geom = shapely.make_valid(area)
    else:
        raise GeometryError(
            f"area must be a GeoDataFrame, GeoSeries or shapely polygon, not {type(area).__name__}"
        )
    if geom is None or geom.is_empty or shapely.area(geom) <= 0:
        raise GeometryError("area holds no polygon with an area; give the area to keep points in")
    return geom


def _notes(parts: list[_Part]) -> list[str]:
    grouped: dict[str, list[str]] = {}
    for p in parts:
        for template, fname in p.notes:
            grouped.setdefault(template, []).append(fname)
    out = []
    for template, files in grouped.items():
        shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
        out.append(template.format(files=shown))
    return out


def read_incidents(
    source: Sources,
    *,
    schema: str = "auto",
    x: str | None = None,
    y: str | None = None,
    crs: Any = None,
    date: str | None = None,
    category: str | None = None,
    id: str | None = None,  # noqa: A002 - the contract's name
    area: Any = None,
    to_crs: Any = "working",
) -> Incidents:
    """Read incident points from files, keeping every row that cannot be used in ``rejected``.

    Parameters
    ----------
    source : path, glob or list of them
        A file, several files, a folder (its ``.csv``, ``.csv.gz``, ``.tab``, ``.tsv``,
        ``.parquet``, ``.gpkg``, ``.geojson`` ... files) or a glob. All are read and stacked
        in order, e.g. the twelve monthly police.uk CSVs of one force.
    schema : {"auto", "police.uk", "lonlat", "xy", "vector"}
        How to read coordinates. ``"auto"`` picks ``"police.uk"`` for the police.uk street
        header, ``"vector"`` for GeoPackage/GeoJSON/Shapefile, ``"xy"`` when a projected
        ``crs`` is given, else ``"lonlat"`` (columns named longitude/lon/lng and
        latitude/lat, any case). ``"xy"`` needs ``crs``.
    x, y : str, optional
        The coordinate columns (longitude and latitude for ``"lonlat"``), e.g.
        ``x="X Coordinate", y="Y Coordinate"``. Found by name when not given.
    crs : optional
        The CRS the coordinates are in (anything :func:`geo.crs.parse_crs` takes). Default
        EPSG:4326 for lon/lat; required for projected x/y; for a vector layer it overrides
        the layer's own CRS.
    date, category, id : str, optional
        Columns holding the date or month, the crime type, and the incident id. Found by
        name when not given (police.uk: ``Month``, ``Crime type``, ``Crime ID``; Chicago:
        ``Date``, ``Primary Type``, ``ID``); when none is found the output column is empty.
    area : GeoDataFrame, GeoSeries or shapely polygon, optional
        Keep only points inside (or on the edge of) this area; the rest are rejected as
        ``"outside area"``. It is reprojected to the points' CRS; a bare shapely geometry is
        taken to be in that CRS already (an error when it plainly is not).
    to_crs : "working", None or CRS
        ``"working"`` (default): the projected working CRS (:func:`geo.crs.working_crs`:
        EPSG:27700 in Great Britain, else the local UTM zone). ``None`` keeps the sources'
        CRS. A projected CRS is used as given.

    Returns
    -------
    Incidents
        ``points`` (GeoDataFrame), ``rejected`` (DataFrame with ``source``, ``row``,
        ``reason``, ``detail``), ``rows_read``, ``crs``, ``sources``, ``schema``,
        ``messages``. ``len(points) + len(rejected) == rows_read``.

    Raises
    ------
    OptionError
        ``schema`` is not one of the choices, or only one of ``x``/``y`` is given.
    ColumnNotFoundError
        A named column is absent, or no coordinate columns can be found.
    CRSError
        Projected coordinates without ``crs``; coordinates that do not fit their CRS.
    InputFormatError
        A file cannot be read (zero bytes, not a table, not Parquet), a date column that holds
        no dates, or files that need different schemas.
    EmptyInputError
        The source names no files.

    Notes
    -----
    Each file's rows are numbered from 1 after the header (``row``); a row with too many
    or too few fields is rejected as ``"malformed row"``. Rows are judged in this order:
    malformed row, no location, not a number, out of range, zero coordinates, bad date,
    duplicate id, outside area. Longitude and latitude swapped in a whole file (the
    "latitude" column holds values beyond +-90, or British points read the wrong way
    round) are swapped back, with a message and a warning. A blank date keeps the point
    with ``NaT``; a date that is present but unreadable rejects it as ``"bad date"``. A
    blank id is never a duplicate; ids are compared across all files, the first row wins.

    Examples
    --------
    Read the sample county's twelve monthly police.uk files:

    >>> import tempfile
    >>> from geo.sample import write_sample
    >>> folder = tempfile.mkdtemp()
    >>> files = write_sample(folder, seed=1)
    >>> inc = read_incidents(f"{folder}/crime")
    >>> inc.schema, inc.crs.to_epsg(), len(inc.sources)
    ('police.uk', 27700, 12)
    >>> inc.rows_read == len(inc.points) + len(inc.rejected)
    True
    >>> sorted(inc.reason_counts)
    ['no location']
    """
    check_option("schema", schema, SCHEMAS)
    if (x is None) != (y is None):
        raise OptionError(
            f"x={x!r}, y={y!r}: x and y name the two coordinate columns; give both or neither"
        )
    src_crs = parse_crs(crs) if crs is not None else None
    if schema == "xy" and src_crs is None:
        raise CRSError(
            "schema='xy' reads projected x/y coordinates and needs the CRS they are in: pass "
            "crs=, e.g. crs='EPSG:27700' (British National Grid) or crs='EPSG:3435' "
            "(Illinois East, US feet); for longitude/latitude use schema='lonlat'"
        )
    spec = _Spec(schema, x, y, src_crs, {"date": date, "category": category, "id": id})
    paths = expand_sources(source, suffixes=_FOLDER_SUFFIXES)

    raws = []
    for path in paths:
        kind = _kind(path)
        if kind == "vector" or spec.schema == "vector":
            if kind != "vector":
                raise InputFormatError(
                    f"{path}: schema='vector' reads GeoPackage/GeoJSON/Shapefile point layers, "
                    "but this is a table; use schema='auto'"
                )
            raws.append(_read_vector(path, spec))
        elif kind == "parquet":
            raws.append(_read_parquet(path, spec))
        else:
            raws.append(_read_text(path, spec))
    schemas = dict.fromkeys(r.schema for r in raws)
    if len(schemas) > 1:
        raise InputFormatError(
            "the sources need different schemas: "
            + "; ".join(f"{r.path.name}: {r.schema}" for r in raws)
            + "; read them separately"
        )
    parts = [_validate(r, i) for i, r in enumerate(raws)]
    del raws
    out = _output_crs(parts, to_crs)

    rejected: list[pd.DataFrame] = []
    messages: list[str] = []
    for p in parts:
        rejected.extend(p.rejected)
        messages.extend(p.messages)
    counts = [len(p.rows) for p in parts]
    owner = np.repeat(np.arange(len(parts)), counts)
    sx = np.concatenate([p.x for p in parts]) if parts else np.empty(0)
    sy = np.concatenate([p.y for p in parts]) if parts else np.empty(0)
    px, py = _project(parts, owner, sx, sy, out)
    names = pd.array([p.name for p in parts], dtype=_STRING)
    kept = pd.DataFrame(
        {
            "id": _stack_strings(parts, "id"),
            "month": np.concatenate([p.month for p in parts]).astype(_NS),
            "timestamp": np.concatenate([p.stamp for p in parts]).astype(_NS),
            "category": _stack_strings(parts, "category"),
            "location": _stack_strings(parts, "location"),
            "lsoa": _stack_strings(parts, "lsoa"),
            "source": names.take(owner),
            "row": np.concatenate([p.rows for p in parts]).astype(np.int64),
        }
    )

    keep = np.isfinite(px) & np.isfinite(py)
    if not keep.all():
        bad = ~keep
        src_crs = np.array([p.crs.to_string() for p in parts], dtype=object)[owner[bad]]
        detail = (
            "x=" + _num(sx[bad]) + ", y=" + _num(sy[bad]) + " (" + src_crs
            + f"): cannot be projected to {out.to_string()}"
        )  # fmt: skip
        rejected.append(_table(kept[bad], _RANGE, detail.to_numpy(dtype=object)))
    ids = kept["id"]
    if ids.notna().any():
        codes, _ = pd.factorize(ids)
        has = (codes >= 0) & keep
        dup = pd.Series(np.where(has, codes, -1)).duplicated().to_numpy() & has
        if dup.any():
            first_pos = np.full(len(codes), -1, dtype=np.int64)
            firsts = np.flatnonzero(has & ~dup)
            first_pos[codes[firsts]] = firsts
            first = first_pos[codes[dup]]
            detail = (
                "id '" + ids[dup].astype(str).reset_index(drop=True)
                + "' already read at "
                + kept["source"].to_numpy()[first].astype(str)
                + " row "
                + kept["row"].to_numpy()[first].astype(str)
            )  # fmt: skip
            rejected.append(_table(kept[dup], _DUP, detail.to_numpy(dtype=object)))
            keep &= ~dup
    if area is not None:
        geom = _area_geometry(area, out)
        shapely.prepare(geom)
        outside = keep & ~shapely.intersects_xy(geom, px, py)
        if outside.any():
            detail = (
                "x=" + _num(px[outside]) + ", y=" + _num(py[outside])
                + f" ({out.to_string()}) lies outside the area"
            )  # fmt: skip
            rejected.append(_table(kept[outside], _OUTSIDE, detail.to_numpy(dtype=object)))
            keep &= ~outside

    points = kept if keep.all() else kept[keep].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(points, geometry=gpd.points_from_xy(px[keep], py[keep]), crs=out)
    rej = _sorted_rejected(rejected, [p.name for p in parts])
    messages.extend(_notes(parts))
    rows_read = sum(p.n_rows for p in parts)
    if rows_read == 0:
        messages.append("the sources hold a header but no data rows")
    result = Incidents(
        points=gdf,
        rejected=rej,
        rows_read=rows_read,
        crs=out,
        sources=[str(p) for p in paths],
        schema=next(iter(schemas)),
        messages=messages,
    )
    log.info(
        "read %d rows from %d files: %d points, %d rejected",
        rows_read,
        len(paths),
        len(gdf),
        len(rej),
    )
    return result


def _table(frame: pd.DataFrame, code: int, detail: np.ndarray) -> pd.DataFrame:
    n = len(frame)
    return pd.DataFrame(
        {
            "source": frame["source"].to_numpy(),
            "row": frame["row"].to_numpy(dtype=np.int64),
            "reason": pd.array([REJECT_REASONS[code - 1]] * n, dtype=_STRING),
            "detail": pd.array(detail, dtype=_STRING),
        }
    )


def _sorted_rejected(frames: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return _rejections("", np.empty(0, np.int64), _MALFORMED, [])
    rej = pd.concat(frames, ignore_index=True)
    rank = {name: i for i, name in enumerate(order)}
    file_rank = rej["source"].map(rank).to_numpy()
    idx = np.lexsort((rej["row"].to_numpy(), file_rank))
    rej = rej.iloc[idx].reset_index(drop=True)
    return rej.astype({"source": _STRING, "row": np.int64, "reason": _STRING, "detail": _STRING})
