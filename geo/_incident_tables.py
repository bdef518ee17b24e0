"""Reading incident files into columns, before any check (private to :mod:`beatplan.geo.incidents`).

Which kind a file is (text table, Parquet, vector layer); which columns hold the coordinates,
date, category, id, location and LSOA (police.uk names, common lon/lat and x/y spellings, or the
caller's); reading just those columns as text with pyarrow, numbering every data row and keeping
the malformed ones; and the rejected-rows table every reason is recorded in.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import shapely
from pyproj import CRS

from beatplan.geo._text_rows import open_text, read_rows, unique_names
from beatplan.geo.crs import WGS84
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    GeometryError,
    InputFormatError,
    OptionError,
)

__all__ = [
    "REJECT_REASONS",
    "BAD_DATE",
    "DUP",
    "DUP_FILE",
    "ENCODING_FIX",
    "FAR",
    "SWAP_FIX",
    "FOLDER_SUFFIXES",
    "MALFORMED",
    "NOT_NUM",
    "NO_LOC",
    "OUTSIDE",
    "RANGE",
    "Raw",
    "STRING",
    "Spec",
    "ZERO",
    "file_kind",
    "norm",
    "read_parquet",
    "read_text",
    "read_vector",
    "rejections",
    "string_mapper",
]

log = logging.getLogger("beatplan")

#: Every reason a row can be rejected for, in the order the checks run.
REJECT_REASONS = (
    "duplicate file",
    "malformed row",
    "no location",
    "not a number",
    "out of range",
    "zero coordinates",
    "bad date",
    "far away",
    "duplicate id",
    "outside area",
)
DUP_FILE, MALFORMED, NO_LOC, NOT_NUM, RANGE, ZERO, BAD_DATE, FAR, DUP, OUTSIDE = range(1, 11)
#: What a row can be fixed for (``Incidents.fixed``): bytes that are not UTF-8 read as
#: Windows-1252; longitude and latitude swapped in this row alone.
ENCODING_FIX, SWAP_FIX = "bytes not UTF-8", "swapped coordinates"

_PARQUET_SUFFIXES = (".parquet", ".pq")
_VECTOR_SUFFIXES = (".gpkg", ".geojson", ".geojsonl", ".geojsons", ".json", ".shp", ".fgb")
#: Files a folder or glob contributes (``.txt`` and ``.json`` only when named explicitly).
FOLDER_SUFFIXES = (
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

STRING = pd.StringDtype()


def string_mapper(t: pa.DataType) -> Any:
    return STRING if pa.types.is_string(t) or pa.types.is_large_string(t) else None


# --------------------------------------------------------------------------- reading


@dataclass
class Spec:
    """The caller's choices, shared by every file."""

    schema: str
    x: str | None
    y: str | None
    crs: CRS | None
    columns: dict[str, str | None]  # date / category / id chosen by the caller


@dataclass
class Raw:
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
    fixes: list[tuple[int, str, str]] = field(default_factory=list)  # (row, fix, detail)


def norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def file_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    if name.endswith(_VECTOR_SUFFIXES):
        return "vector"
    return "text"


def _find(header: Sequence[str], candidates: Sequence[str]) -> str | None:
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(norm(h), h)
    for c in candidates:
        if c in by_norm:
            return by_norm[c]
    return None


def _given(header: Sequence[str], name: str, arg: str, path: Path) -> str:
    """Return the header entry the caller named (exact, else ignoring case and spacing)."""
    if name in header:
        return name
    found = _find(header, [norm(name)])
    if found is None:
        raise ColumnNotFoundError(
            f"{path}: no column {name!r} (given as {arg}=); columns present: "
            f"{', '.join(map(repr, header))}; pass {arg}= one of those"
        )
    return found


def _resolve(header: list[str], path: Path, spec: Spec, kind: str) -> dict[str, Any]:
    """Choose the schema and the columns of one table from its header."""
    normed = {norm(h) for h in header}
    police = {"crimeid", "month", "longitude", "latitude", "crimetype"} <= normed
    schema = _choose_schema(header, path, spec, kind, police)
    _check_schema_crs(schema, spec.crs, path)
    if schema == "police.uk" and not police:
        missing = [
            n for n in ("Crime ID", "Month", "Longitude", "Latitude", "Crime type")
            if norm(n) not in normed
        ]  # fmt: skip
        raise ColumnNotFoundError(
            f"{path}: not a police.uk street-level file: missing {', '.join(missing)}; columns "
            f"present: {', '.join(map(repr, header))}; use schema='auto' or 'lonlat' with x=, y="
        )
    xcol, ycol = _coordinate_columns(header, path, spec, schema)
    police_names = schema == "police.uk"
    rest = [h for h in header if h not in (xcol, ycol)]
    names, notes = _optional_columns(header, rest, path, spec.columns, police=police_names)
    return {
        "schema": schema,
        "crs": spec.crs if spec.crs is not None else WGS84,
        "x": xcol,
        "y": ycol,
        "names": names,
        "notes": notes,
    }


def _choose_schema(header: list[str], path: Path, spec: Spec, kind: str, police: bool) -> str:
    """Return the schema asked for, or for ``"auto"`` the one the header and CRS point to."""
    schema, crs = spec.schema, spec.crs
    if schema == "vector":
        raise InputFormatError(
            f"{path}: schema='vector' reads GeoPackage/GeoJSON point layers, but this is a "
            f"{kind} table; use schema='auto'"
        )
    if schema != "auto":
        return schema
    if spec.x is None and police and (crs is None or crs.is_geographic):
        return "police.uk"
    if crs is not None and crs.is_projected:
        return "xy"
    if spec.x is not None or (_find(header, _LON) and _find(header, _LAT)):
        return "lonlat"
    if _find(header, _X) and _find(header, _Y):
        raise CRSError(
            f"{path}: found projected-looking columns {_find(header, _X)!r}/"
            f"{_find(header, _Y)!r} but no CRS; pass crs= the CRS they are in "
            "(e.g. crs='EPSG:27700' for British National Grid), or crs='EPSG:4326' if "
            "they hold longitude/latitude"
        )
    raise ColumnNotFoundError(
        f"{path}: no coordinate columns found (looked for longitude/lon/lng and "
        f"latitude/lat, or x/easting and y/northing); columns present: "
        f"{', '.join(map(repr, header))}; pass x='<longitude or x column>', "
        "y='<latitude or y column>' (and crs=... for projected coordinates) to read_incidents, "
        "or on the command line rename the columns to longitude/latitude or x/y"
    )


def _check_schema_crs(schema: str, crs: CRS | None, path: Path) -> None:
    """Refuse a geographic CRS for projected x/y and a projected one for longitude/latitude."""
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


def _coordinate_columns(header: list[str], path: Path, spec: Spec, schema: str) -> tuple[str, str]:
    """Return the x and y columns: the ones named, else found by the schema's names."""
    if spec.x is not None and spec.y is not None:
        return _given(header, spec.x, "x", path), _given(header, spec.y, "y", path)
    cand_x: tuple[str, ...] = _LON
    cand_y: tuple[str, ...] = _LAT
    if schema == "police.uk":
        cand_x, cand_y = ("longitude",), ("latitude",)
    elif schema == "xy":
        cand_x, cand_y = _X, _Y
    found_x, found_y = _find(header, cand_x), _find(header, cand_y)
    if found_x is None or found_y is None:
        want = "x/easting and y/northing" if schema == "xy" else "longitude and latitude"
        raise ColumnNotFoundError(
            f"{path}: no {want} columns found; columns present: "
            f"{', '.join(map(repr, header))}; pass x='<column>', y='<column>' to "
            "read_incidents, or on the command line rename the columns to "
            f"{'x/y' if schema == 'xy' else 'longitude/latitude'}"
        )
    return found_x, found_y


def _optional_columns(
    header: list[str],
    searched: list[str],
    path: Path,
    given: Mapping[str, str | None],
    *,
    police: bool,
) -> tuple[dict[str, str | None], list[tuple[str, str]]]:
    """Return the date, category, id, location and LSOA columns, and notes on those not found.

    A column the caller named (in ``given``) is looked up in ``header``; the others are
    searched for in ``searched`` by their usual names (police.uk's own names with ``police``).
    """
    names: dict[str, str | None] = {}
    notes: list[tuple[str, str]] = []
    for key, cands in _OPTIONAL.items():
        chosen = given.get(key)
        if chosen is not None:
            names[key] = _given(header, chosen, key, path)
            continue
        found = _find(searched, (_POLICE_UK[key],) if police else cands)
        names[key] = found
        if found is None and key in ("date", "category", "id"):
            notes.append(
                (f"no {_WHAT[key]} column found in {{files}}; pass {key}='<column>' to name one",
                 path.name)
            )  # fmt: skip
    return names, notes


def read_text(path: Path, spec: Spec) -> Raw:
    tf = open_text(path)
    plan = _resolve(tf.header, path, spec, "text")
    include = _plan_columns(plan)
    _check_repeated(path, tf.repeated, plan, spec, named_ok=True)
    rows = read_rows(tf, include)
    messages = list(tf.messages)
    n_bad = len(rows.bad_rows)
    malformed = rejections(path.name, rows.bad_rows, MALFORMED, rows.bad_detail)
    if n_bad:
        messages.append(f"{path.name}: {n_bad} malformed row{'s' if n_bad != 1 else ''} rejected")
    raw = _raw_from_table(path, plan, rows.table, rows.n_rows, rows.rows, malformed, messages)
    raw.fixes = [(row, ENCODING_FIX, detail) for row, detail in tf.fixes]
    return raw


def _check_repeated(
    path: Path,
    repeated: Mapping[str, list[int]],
    plan: dict[str, Any],
    spec: Spec,
    *,
    named_ok: bool,
) -> None:
    """Refuse a column that beatplan found by its name when that name is given twice or more.

    In a text table a column the caller named (x=, y=, date= ...) is read from its first
    copy (``named_ok``); the others are read as ``name.1``, ``name.2`` ... and may be named so.
    """
    roles = {plan["x"]: "x", plan["y"]: "y"}
    roles.update({c: k for k, c in plan["names"].items() if c is not None and c not in roles})
    named = {spec.x, spec.y, *spec.columns.values()} if named_ok else set()
    ambiguous = [c for c in roles if c in repeated and c not in named]
    if not ambiguous:
        return
    c = ambiguous[0]
    where = repeated[c]
    copies = [c] + [f"{c}.{k}" for k in range(1, len(where))]
    fix = (
        "rename the copies, or name the one to read: "
        + " or ".join(f"{roles[c]}={copy!r}" for copy in copies)
        if named_ok
        else "rename the copies"
    )
    raise InputFormatError(
        f"{path}: column {c!r} appears {len(where)} times (fields "
        f"{', '.join(map(str, where))}), so beatplan cannot tell which to read; {fix}"
    )


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
) -> Raw:
    """Wrap the columns ``plan`` chose from a text or Parquet ``table``."""
    return Raw(
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


def read_parquet(path: Path, spec: Spec) -> Raw:
    try:
        header = list(pq.read_schema(path).names)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFormatError(f"{path}: cannot be read as Parquet: {exc}") from exc
    plan = _resolve(header, path, spec, "parquet")
    _check_repeated(path, unique_names(header)[1], plan, spec, named_ok=False)
    table = pq.read_table(path, columns=_plan_columns(plan))
    n = table.num_rows
    rows = np.arange(1, n + 1, dtype=np.int64)
    no_bad = rejections(path.name, np.empty(0, np.int64), MALFORMED, [])
    return _raw_from_table(path, plan, table, n, rows, no_bad)


def read_vector(path: Path, spec: Spec) -> Raw:
    _check_vector_spec(path, spec)
    layer = _point_layer(path)
    header = [str(f) for f in pyogrio.read_info(path, layer=layer)["fields"]]
    given = {k: v for k, v in spec.columns.items() if v}
    names, notes = _optional_columns(header, header, path, given, police=False)
    cols_wanted = list(dict.fromkeys(c for c in names.values() if c is not None))
    meta, table = pyogrio.read_arrow(path, layer=layer, columns=cols_wanted)
    crs = _layer_crs(path, layer, meta.get("crs"), spec.crs)
    geom = shapely.from_wkb(np.asarray(table.column(meta["geometry_name"] or "wkb_geometry")))
    x, y = _point_coordinates(path, layer, geom)
    n = len(geom)
    return Raw(
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
        malformed=rejections(path.name, np.empty(0, np.int64), MALFORMED, []),
        notes=notes,
    )


def _check_vector_spec(path: Path, spec: Spec) -> None:
    """Refuse options that do not apply to a vector layer."""
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


def _point_layer(path: Path) -> str:
    """Return the file's only layer, else its first point layer."""
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFormatError(f"{path}: cannot be opened as a vector layer: {exc}") from exc
    points = [str(name) for name, gtype in layers if gtype and "point" in str(gtype).lower()]
    if len(layers) == 1:
        return str(layers[0][0])
    if points:
        log.info("%s: %d layers; reading the point layer %r", path, len(layers), points[0])
        return points[0]
    raise InputFormatError(
        f"{path}: holds no point layer (layers: "
        f"{', '.join(f'{n} ({t})' for n, t in layers)}); incidents must be points"
    )


def _layer_crs(path: Path, layer: str, layer_crs: str | None, given: CRS | None) -> CRS:
    """Return the CRS given (warning where the layer declares another), else the layer's."""
    if given is not None:
        if layer_crs and not CRS.from_user_input(layer_crs).equals(given):
            log.warning(
                "%s: declares %s; using crs=%s as given", path, layer_crs, given.to_string()
            )
        return given
    if layer_crs:
        return CRS.from_user_input(layer_crs)
    raise CRSError(f"{path}: layer {layer!r} has no CRS; pass crs= the CRS it is in")


def _point_coordinates(path: Path, layer: str, geom: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return x and y of each point (NaN for null and empty ones); refuse other geometries.

    A MultiPoint of one point counts as that point.
    """
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
    return x, y


def rejections(name: str, rows: np.ndarray, code: int, detail: Any) -> pd.DataFrame:
    n = len(rows)
    return pd.DataFrame(
        {
            "source": pd.array([name] * n, dtype=STRING),
            "row": np.asarray(rows, dtype=np.int64),
            "reason": pd.array([REJECT_REASONS[code - 1]] * n, dtype=STRING),
            "detail": pd.array(np.asarray(detail, dtype=object), dtype=STRING),
        }
    )
