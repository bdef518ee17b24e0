"""Read boundary layers (wards, beats, sectors, NPAs) from any vector file GDAL reads.

:func:`read_boundaries` turns a GeoPackage, GeoJSON, GeoJSON-lines, Shapefile, KML (or any other
vector format pyogrio reads) - or a folder, glob or list of such files holding one layer between
them - into the boundaries contract: a GeoDataFrame with columns ``id`` (unique strings),
``name``, the file's other attributes and valid polygonal geometries, in the working CRS.

Every problem found is reported together in one :class:`~beatplan.geo.errors.ValidationError`;
invalid geometries are repaired (and reported) rather than refused.
"""

from __future__ import annotations

import logging
import os
import re
import warnings as _pywarnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS

from beatplan.geo._sources import Sources, expand_sources, source_items
from beatplan.geo.crs import check_crs_fits, parse_crs, to_working, working_crs
from beatplan.geo.errors import (
    ColumnNotFoundError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    ValidationError,
    check_option,
)

__all__ = ["VECTOR_SUFFIXES", "detect_columns", "dissolve_parts", "read_boundaries"]

log = logging.getLogger("beatplan")

#: File suffixes taken from a folder (other files in it are ignored). A shapefile is named by
#: its ``.shp`` part; a ``.gdb`` folder is read as one File Geodatabase.
VECTOR_SUFFIXES = (
    ".gpkg",
    ".geojson",
    ".json",
    ".geojsonl",
    ".geojsons",
    ".ndjson",
    ".shp",
    ".kml",
    ".kmz",
    ".fgb",
    ".gml",
    ".topojson",
    ".sqlite",
)

# Id columns in order of preference (full, case-insensitive matches). The contract's own `id`
# comes first so that files beatplan wrote read back as they were written.
_ID_PATTERNS = [
    r"id",
    r"wd\d{2}cd",  # ONS ward codes of every vintage: WD13CD, wd19cd, WD22CD ...
    r"ward_?(code|cd|id)",
    r"(oa|lsoa|msoa|dz|iz)\d{2}cd",  # small statistical areas: LSOA11CD ...
    r"(lsoa|msoa)_?code",
    r"(lad|ltla|utla|cty|ctyua|cmlad|lau1|pcon|pfa|csp|rgn|ctry)\d{2}cd",  # districts, forces
    r"(lad|district)_?code",
    r"[a-z]+\d{2}cd",  # any other ONS GSS code column
    r"ward",
    r"beat_?(num|no|number|code|id)",
    r"beat",
    r"(sector|npa|lpa|neighbourhood|neighborhood|nbhd|team|area)_?(code|cd|id|num|no)",
    r"dist_?num",
    r"district_?(num|no|number|id)",
    r"gss_?code",
    r"code",
    r".+_code",
    r".+_(cd|id)",
    r".+_num",
]
# Then a column named for its level, finest first (a sectors file whose only column is
# `sector`); among several, the first whose values are unique (the others name parents).
_LEVEL_PATTERNS = [
    r"sector",
    r"(npa|lpa|spa|bcu)",
    r"(neighbourhood|neighborhood|nbhd)",
    r"district",
    r"division",
]
# Last resorts.
_FALLBACK_ID_PATTERNS = [
    r"name",  # a KML placemark's name
    r"objectid",
    r"fid",
    r"ogc_fid",
]
_NAME_PATTERNS = [
    r"name",
    r"wd\d{2}nm",
    r"ward_?(name|nm)",
    r"[a-z]+\d{2}nm",
    r"(beat|sector|npa|lpa|neighbourhood|neighborhood|district|area)_?(name|nm|label)",
    r".+_name",
    r".+_label",
    r"label",
    r"title",
]
_ID_RES = [re.compile(p, re.IGNORECASE) for p in _ID_PATTERNS]
_LEVEL_RES = [re.compile(p, re.IGNORECASE) for p in _LEVEL_PATTERNS]
_FALLBACK_ID_RES = [re.compile(p, re.IGNORECASE) for p in _FALLBACK_ID_PATTERNS]
_NAME_RES = [re.compile(p, re.IGNORECASE) for p in _NAME_PATTERNS]

# LIBKML exposes these placemark fields on every KML layer; dropped when they carry nothing.
_KML_HOUSEKEEPING = (
    "id",
    "description",
    "timestamp",
    "begin",
    "end",
    "altitudeMode",
    "tessellate",
    "extrude",
    "visibility",
    "drawOrder",
    "icon",
    "snippet",
)
_SINGLE_LAYER_SUFFIXES = (".json", ".geojson", ".geojsonl", ".geojsons", ".ndjson", ".shp", ".fgb")
_POLYGON, _MULTIPOLYGON, _COLLECTION = 3, 6, 7
_TYPE_NAMES = np.array(
    [
        "Point",
        "LineString",
        "LinearRing",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
        "GeometryCollection",
    ],
    dtype=object,
)
_MAX_LISTED = 25


def read_boundaries(
    path: Sources,
    *,
    layer: str | int | None = None,
    id_col: str | None = None,
    name_col: str | None = None,
    crs: Any = None,
    to_crs: Any = "working",
    dissolve: bool = False,
) -> gpd.GeoDataFrame:
    """Read a boundary layer, check it and return it in the boundaries contract.

    Parameters
    ----------
    path : path, glob or sequence of them
        A vector file (GeoPackage, GeoJSON, GeoJSON-lines, Shapefile, KML/KMZ, FlatGeobuf, a
        ``.gdb`` File Geodatabase - anything pyogrio reads); a folder (its files ending in one of
        :data:`VECTOR_SUFFIXES`); a glob; or a list of these. Several files are concatenated as
        one layer (e.g. ONS wards published one file per district); files in other CRSs are
        reprojected to the first file's CRS.
    layer : str or int, optional
        The layer to read from a multi-layer file (GeoPackage, KML with folders). Required
        when a file holds several layers.
    id_col, name_col : str, optional
        The columns holding each feature's unique id and its name (matched exactly, else
        case-insensitively). Detected when not given: ONS codes and names of any vintage
        (``WD13CD``/``WD13NM``, ``wd19cd``, ``WD22CD``, ``LSOA11CD``, ``LAD22CD`` ...),
        ``ward_code``/``ward_name``, police columns (``beat_num``, ``DIST_NUM`` ...), then
        generic ones (``id``, ``code``, ``*_code``, ``*_id``, the KML placemark ``Name``).
    crs : optional
        The CRS the coordinates are in (``'EPSG:27700'``, 27700, WKT ...). Used when the file
        declares none, and overrides (with a logged warning) a CRS the file declares wrongly.
    to_crs : "working", None or CRS, default "working"
        ``"working"``: reproject to the working CRS (:func:`beatplan.geo.crs.working_crs`: British
        National Grid inside Great Britain, else the local UTM zone). ``None``: keep the source
        CRS. Anything else: reproject to that CRS.
    dissolve : bool, default False
        Merge the features that share an id into one Polygon/MultiPolygon (the union of their
        geometries, after each part's geometry has been checked and repaired, and after
        reprojection) instead of refusing the duplicate ids. Police layers often draw one area
        as several features: Chicago's district 31 is three placemarks. The merged feature
        keeps the first part's attributes; columns whose values differ between the parts are
        named in a logged warning. Features without an id are still an error.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``id`` (string, unique, non-null), ``name`` (string or <NA>), the file's other
        attribute columns, then ``geometry`` (valid Polygon/MultiPolygon); a RangeIndex.
        ``attrs["beatplan"]`` holds ``source``, ``id_col``, ``name_col``, ``crs_source``,
        ``repaired`` (ids whose geometry was repaired with :func:`shapely.make_valid`),
        ``dissolved`` (with ``dissolve=True``, each merged id and its number of parts; else
        empty) and ``warnings``.

    Raises
    ------
    InputFormatError
        A path that does not exist, or a file GDAL cannot read as vector data.
    EmptyInputError
        The input holds no features.
    ColumnNotFoundError
        ``id_col``/``name_col`` is not a column, or no id column can be detected.
    OptionError
        ``layer`` is not a layer of the file, or a multi-layer file was given without it.
    ValidationError
        Every problem found, together: no CRS, a CRS that cannot be right for the coordinates,
        missing ids, duplicate ids (unless ``dissolve=True``), null or empty geometries,
        non-polygons, geometries that cannot be repaired.

    Examples
    --------
    >>> wards = read_boundaries("data/wd13_wards_by_lad")  # doctest: +SKIP
    >>> wards.attrs["beatplan"]["id_col"], wards.crs.to_epsg()  # doctest: +SKIP
    ('WD13CD', 27700)
    """
    files = _expand(path)
    source = _source_label(path)
    given_crs = None if crs is None else parse_crs(crs, what="crs")
    target_crs = _target_crs(to_crs)
    problems: list[str] = []  # every problem found, raised together
    warnings: list[str] = []

    parts = _read_parts(files, layer, source, warnings)
    stack = _stack_parts(parts, given_crs, problems, warnings)
    id_used, name_used = _choose_columns(stack, parts, id_col, name_col, source)
    ids, names, others = _split_columns(stack.table, id_used, name_used)
    labels, dup = _check_ids(ids, id_used, stack, dissolve=dissolve, problems=problems)
    geometry, repaired = _check_geometry(
        stack.geometry, labels, source=source, problems=problems, warnings=warnings
    )
    if stack.unclosed.any():
        closed = [str(v) for v in labels[stack.unclosed]]
        _warn(
            warnings,
            f"{source}: closed the unclosed ring{_s(len(closed))} of {len(closed)} "
            f"feature{_s(len(closed))} (a ring must end where it starts): {_listing(closed)}",
        )
        repaired = list(dict.fromkeys([*repaired, *closed]))
    if problems:
        raise ValidationError(source, problems)

    kml = any(p.kml for p in parts)
    gdf = _assemble(
        ids, names, others, geometry, stack.crs, kml=kml, source=source, warnings=warnings
    )
    if to_crs is not None:
        gdf = to_working(gdf, target_crs if target_crs is not None else working_crs(gdf))
    dissolved: dict[str, int] = {}
    if dup.any():  # only reached with dissolve=True
        gdf, dissolved = _dissolve(gdf, source=source, id_col=id_used, warnings=warnings)
    gdf.attrs["beatplan"] = {
        "source": source,
        "id_col": id_used,
        "name_col": name_used,
        "crs_source": stack.crs_source,
        "repaired": repaired,
        "dissolved": dissolved,
        "warnings": warnings,
    }
    return gdf


def detect_columns(columns: Sequence[str]) -> tuple[str | None, str | None]:
    """Guess the id and name columns from column names alone.

    Parameters
    ----------
    columns : sequence of str
        Column names.

    Returns
    -------
    tuple of (str or None, str or None)
        The id column and the name column :func:`read_boundaries` would choose when every
        column holds values; None where no column matches.

    Examples
    --------
    >>> detect_columns(["WD13CD", "WD13CDO", "WD13NM", "WD13NMW"])
    ('WD13CD', 'WD13NM')
    >>> detect_columns(["beat", "beat_num", "district", "sector"])
    ('beat_num', None)
    """
    table = pd.DataFrame({c: ["x"] for c in columns})
    id_used = _detect_id_column(table, source="", quiet=True)
    name_used = _detect(table, _NAME_RES, source="", what="name", exclude=id_used, quiet=True)
    if name_used is None and id_used is not None and id_used.lower() == "name":
        name_used = id_used
    return id_used, name_used


# ---------------------------------------------------------------------------------------------
# reading


def _expand(path: Sources) -> list[Path]:
    items = source_items(path)
    out: list[Path] = []
    for item in items:
        p = Path(os.fspath(item))
        if p.is_dir() and p.suffix.lower() == ".gdb":
            out.append(p)  # a File Geodatabase is a folder GDAL reads as one dataset
        else:
            out.extend(expand_sources(item, suffixes=VECTOR_SUFFIXES))
    if not out:
        raise EmptyInputError("read_boundaries: no input files given")
    return out


def _source_label(path: Sources) -> str:
    if isinstance(path, str | os.PathLike):
        return os.fspath(path)
    items = [os.fspath(p) for p in path]
    if len(items) > 3:
        return f"{items[0]} and {len(items) - 1} more files"
    return ", ".join(items)


@dataclass(frozen=True)
class _Part:
    """One file's features: attributes, geometries (shapely array) and declared CRS."""

    path: Path
    table: pd.DataFrame
    geoms: np.ndarray
    crs: CRS | None
    kml: bool
    unclosed: np.ndarray  # features whose rings were closed on reading

    def __len__(self) -> int:
        return len(self.geoms)


def _read_file(path: Path, layer: str | int | None) -> _Part:
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyInputError(f"{path}: the file is empty (0 bytes); expected boundary polygons")
    if layer is not None or path.suffix.lower() not in _SINGLE_LAYER_SUFFIXES:
        _check_layer(path, layer)
    try:
        with _pywarnings.catch_warnings():  # unclosed rings: GDAL warns; we close them, and say
            _pywarnings.filterwarnings("ignore", "Non closed ring", RuntimeWarning)
            meta, arrow = pyogrio.read_arrow(path, layer=layer)
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputFormatError(
            f"{path}: GDAL cannot read this as a vector file ({exc}); expected GeoPackage, "
            "GeoJSON, GeoJSON-lines, Shapefile, KML or another format GDAL reads"
        ) from exc
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    if meta.get("geometry_type") is None or geom_col not in arrow.column_names:
        raise InputFormatError(
            f"{path}: has no geometry column; expected a layer of boundary polygons"
        )
    geoms, unclosed = _geometries(arrow.column(geom_col).to_numpy(zero_copy_only=False))
    table = arrow.drop_columns([geom_col]).to_pandas()
    crs = None if not meta.get("crs") else CRS.from_user_input(meta["crs"])
    kml = path.suffix.lower() in (".kml", ".kmz")
    if kml and "id" in table.columns and _generated_kml_ids(table["id"]):
        table = table.drop(columns="id")
    return _Part(path=path, table=table, geoms=geoms, crs=crs, kml=kml, unclosed=unclosed)


def _geometries(wkb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse WKB; return the geometries and the mask of those whose rings had to be closed.

    GEOS refuses a ring that does not end where it starts (GDAL passes them on from GeoJSON
    and KML); such rings are closed. A ring of fewer than three distinct points gives a
    polygon without area, which the geometry checks report with the feature's id.
    """
    try:
        return np.asarray(shapely.from_wkb(wkb), dtype=object), np.zeros(len(wkb), dtype=bool)
    except shapely.errors.GEOSException:
        pass
    geoms = np.asarray(shapely.from_wkb(wkb, on_invalid="fix"), dtype=object)
    strict = np.asarray(shapely.from_wkb(wkb, on_invalid="ignore"), dtype=object)
    unclosed = shapely.is_missing(strict) & ~shapely.is_missing(geoms)
    return geoms, unclosed


def _generated_kml_ids(values: pd.Series) -> bool:
    """Tell whether KML placemark ids are GDAL's own ``<layer>.<n>`` numbering, not real ids."""
    v = values.dropna().astype(str)
    if v.empty:
        return False
    parts = v.str.extract(r"^(.+)\.(\d+)$")
    return bool(parts[0].notna().all() and parts[0].nunique() == 1)


def _check_layer(path: Path, layer: str | int | None) -> None:
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputFormatError(
            f"{path}: GDAL cannot read this as a vector file ({exc}); expected GeoPackage, "
            "GeoJSON, GeoJSON-lines, Shapefile, KML or another format GDAL reads"
        ) from exc
    names = [str(n) for n in layers[:, 0]] if len(layers) else []
    if layer is None:
        if len(names) > 1:
            raise OptionError(
                f"{path}: holds {len(names)} layers ({', '.join(map(repr, names))}); pass "
                f"layer= naming the one to read (on the command line {path}:LAYER)"
            )
    elif isinstance(layer, int) and not isinstance(layer, bool):
        if not 0 <= layer < len(names):
            raise OptionError(
                f"{path}: layer={layer} is out of range; the file holds {len(names)} "
                f"layer{_s(len(names))}: {', '.join(map(repr, names))}"
            )
    else:
        check_option(f"layer (of {path})", str(layer), names)


def _target_crs(to_crs: Any) -> CRS | None:
    """Parse ``to_crs``; None for ``"working"`` (chosen once the layer is read) and None."""
    if to_crs is None or (isinstance(to_crs, str) and to_crs == "working"):
        return None
    return parse_crs(to_crs, what="to_crs")


def _read_parts(
    files: list[Path], layer: str | int | None, source: str, warnings: list[str]
) -> list[_Part]:
    """Read every file; skip (with a warning) those without features; refuse all empty."""
    parts = [_read_file(f, layer) for f in files]
    if not any(len(p) for p in parts):
        what = files[0] if len(files) == 1 else f"{source} ({len(files)} files)"
        raise EmptyInputError(f"{what}: holds no features; expected boundary polygons")
    for p in parts:
        if not len(p):
            _warn(warnings, f"{p.path}: holds no features; skipped")
    return [p for p in parts if len(p)]


# ---------------------------------------------------------------------------------------------
# one CRS


@dataclass(frozen=True)
class _Stack:
    """Every file's features stacked in one CRS, with the file and position each came from."""

    table: pd.DataFrame
    geometry: np.ndarray
    crs: CRS | None  # the first file's CRS; None when a file's CRS is missing or wrong
    crs_source: str | None  # the first CRS a file declares
    files: list[Path]
    file_of_row: np.ndarray
    row_no: np.ndarray  # 1-based position within its file
    unclosed: np.ndarray  # features whose rings were closed on reading


def _stack_parts(
    parts: list[_Part], given_crs: CRS | None, problems: list[str], warnings: list[str]
) -> _Stack:
    """Give each file its CRS, check it fits the coordinates, and stack all in the first's."""
    files = [p.path for p in parts]
    declared = [p.crs for p in parts]
    effective = _effective_crs(files, declared, given_crs, warnings)
    base_crs = _base_crs(parts, effective, problems)
    geoms = [_reprojected(p.geoms, c, base_crs) for p, c in zip(parts, effective, strict=True)]
    return _Stack(
        table=(
            parts[0].table
            if len(parts) == 1
            else pd.concat([p.table for p in parts], ignore_index=True)
        ),
        geometry=np.concatenate(geoms),
        crs=base_crs,
        crs_source=next((c.to_string() for c in declared if c is not None), None),
        files=files,
        file_of_row=np.repeat(
            np.array([str(f) for f in files], dtype=object), [len(p) for p in parts]
        ),
        row_no=np.concatenate([np.arange(1, len(p) + 1) for p in parts]),
        unclosed=np.concatenate([p.unclosed for p in parts]),
    )


def _effective_crs(
    files: list[Path], declared: list[CRS | None], given_crs: CRS | None, warnings: list[str]
) -> list[CRS | None]:
    """Each file's CRS: the one given (warning where a file declares another), else its own."""
    if given_crs is None:
        return list(declared)
    for f, dec in zip(files, declared, strict=True):
        if dec is not None and not dec.equals(given_crs, ignore_axis_order=True):
            _warn(
                warnings,
                f"{f}: declares {_crs_name(dec)} but crs={_crs_name(given_crs)} was given; "
                f"using {_crs_name(given_crs)}",
            )
    return [given_crs] * len(files)


def _base_crs(parts: list[_Part], effective: list[CRS | None], problems: list[str]) -> CRS | None:
    """Record files with no CRS or one their coordinates cannot be in; else the first's CRS."""
    missing = [p.path for p, c in zip(parts, effective, strict=True) if c is None]
    if missing:
        problems.append(_no_crs_message(missing, parts, effective))
    ok = not missing
    for part, c in zip(parts, effective, strict=True):
        bounds = None if c is None else _bounds(part.geoms)
        if c is None or bounds is None:
            continue
        why = check_crs_fits(bounds, c, what=part.path.name)
        if why is not None:
            problems.append(why)
            ok = False
    return effective[0] if ok else None


def _reprojected(geoms: np.ndarray, crs: CRS | None, base_crs: CRS | None) -> np.ndarray:
    """Return ``geoms`` in ``base_crs`` (unchanged when either CRS is unknown or they agree)."""
    if base_crs is None or crs is None or crs.equals(base_crs):
        return geoms
    return np.asarray(gpd.GeoSeries(geoms, crs=crs).to_crs(base_crs).values, dtype=object)


def _bounds(geoms: np.ndarray) -> tuple[float, float, float, float] | None:
    b = shapely.total_bounds(geoms)
    if not np.all(np.isfinite(b)):
        return None
    return (float(b[0]), float(b[1]), float(b[2]), float(b[3]))


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _no_crs_message(missing: list[Path], parts: list[_Part], effective: list[CRS | None]) -> str:
    first = missing[0]
    idx = [i for i, c in enumerate(effective) if c is None]
    boxes = [b for b in (_bounds(parts[i].geoms) for i in idx) if b is not None]
    hint = "pass the CRS the coordinates are in, e.g. crs='EPSG:27700' (--crs EPSG:27700)"
    if boxes:
        arr = np.array(boxes)
        minx, miny = arr[:, 0].min(), arr[:, 1].min()
        maxx, maxy = arr[:, 2].max(), arr[:, 3].max()
        span = f"x {minx:.6g}..{maxx:.6g}, y {miny:.6g}..{maxy:.6g}"
        if -180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90:
            hint = (
                f"its coordinates ({span}) look like lon/lat degrees: pass crs='EPSG:4326' "
                "(--crs EPSG:4326)"
            )
        elif 0 <= minx and maxx <= 700_000 and 0 <= miny and maxy <= 1_300_000:
            hint = (
                f"its coordinates ({span}) look like British National Grid metres: pass "
                "crs='EPSG:27700' (--crs EPSG:27700)"
            )
        else:
            hint = (
                f"its coordinates span {span}; pass the CRS they are in, e.g. "
                "crs='EPSG:27700' (--crs EPSG:27700)"
            )
    what = first.name if len(missing) == 1 else f"{len(missing)} files ({first.name} ...)"
    return f"{what}: declares no CRS; {hint}"


# ---------------------------------------------------------------------------------------------
# columns and ids


def _choose_columns(
    stack: _Stack,
    parts: list[_Part],
    id_col: str | None,
    name_col: str | None,
    source: str,
) -> tuple[str, str | None]:
    """Return the id and name columns: the ones named (checked), else detected."""
    table, files = stack.table, stack.files
    if id_col is not None:
        id_used = _resolve_column(id_col, "id_col", files, parts, table)
    else:
        id_used = _detect_id(table, source)
        _check_same_id_column(parts, id_used, source)
    if name_col is not None:
        name_used: str | None = _resolve_column(name_col, "name_col", files, parts, table)
    else:
        name_used = _detect(table, _NAME_RES, source=source, what="name", exclude=id_used)
        if name_used is None and id_used.lower() == "name":
            name_used = id_used
    log.info(
        "%s: %d features from %d file%s; id column %r%s, name column %r%s",
        source,
        len(table),
        len(files),
        "" if len(files) == 1 else "s",
        id_used,
        "" if id_col else " (detected)",
        name_used,
        "" if name_col else " (detected)",
    )
    return id_used, name_used


def _detect_id_column(table: pd.DataFrame, *, source: str, quiet: bool = False) -> str | None:
    """Return the id column: by name, then a column named for its level, then last resorts."""
    found = _detect(table, _ID_RES, source=source, what="id", quiet=quiet)
    if found is not None:
        return found
    columns = [c for c in table.columns if isinstance(c, str) and _has_values(table[c])]
    hits = [c for pat in _LEVEL_RES for c in columns if pat.fullmatch(c)]
    unique = [c for c in hits if not table[c].dropna().duplicated().any()]
    if unique:  # a level column whose values repeat names a parent, not the feature
        return unique[0]
    return _detect(table, _FALLBACK_ID_RES, source=source, what="id", quiet=quiet)


def _detect_id(table: pd.DataFrame, source: str) -> str:
    detected = _detect_id_column(table, source=source)
    if detected is None:
        raise ColumnNotFoundError(
            f"{source}: cannot tell which column holds the feature ids; the columns are: "
            f"{_list_columns(table)}. Pass id_col= naming the column with one unique id per "
            "feature (on the command line FILE:id=COLUMN, e.g. --beats beats.shp:id=BEAT_NO)"
        )
    return detected


def _check_same_id_column(parts: list[_Part], id_used: str, source: str) -> None:
    """Refuse files of one layer whose ids sit in different columns (e.g. two ward vintages).

    Only when the id column detected for all files together holds no value in some of them.
    """
    if len(parts) < 2:
        return
    lacking = [
        p for p in parts if id_used not in p.table.columns or not _has_values(p.table[id_used])
    ]
    own_of_lacking = [_detect_id_column(p.table, source="", quiet=True) for p in lacking]
    if not any(c is not None and c != id_used for c in own_of_lacking):
        return  # those files have no id column of their own: the id checks say which lack one
    own = {str(p.path.name): _detect_id_column(p.table, source="", quiet=True) for p in parts}
    by_col: dict[str, list[str]] = {}
    for name, col in own.items():
        by_col.setdefault(repr(col) if col else "no id column found", []).append(name)
    raise InputFormatError(
        f"{source}: the files use different id columns: "
        + "; ".join(
            f"{col} in {_listing(names[:3])}"
            + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            for col, names in by_col.items()
        )
        + " (different vintages or kinds of area?); read them separately, or pass id_col= "
        "naming a column that every file has"
    )


def _split_columns(
    table: pd.DataFrame, id_used: str, name_used: str | None
) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Return the ids (strings, <NA> for blanks), the names and the other attribute columns."""
    ids = _as_id_strings(table[id_used])
    names = (
        table[name_used].astype("string")
        if name_used is not None
        else pd.Series(pd.NA, index=table.index, dtype="string")
    )
    others = table.drop(columns=list({id_used, *([name_used] if name_used else [])}))
    return ids, names, others


def _check_ids(
    ids: pd.Series, id_used: str, stack: _Stack, *, dissolve: bool, problems: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Record missing and (unless ``dissolve``) repeated ids.

    Returns each feature's label for messages (its id, else file and position) and the mask
    of features whose id is repeated.
    """
    no_id = ids.isna().to_numpy()
    labels = ids.fillna("").to_numpy(dtype=object)
    for i in np.flatnonzero(no_id):  # features without an id are named by file and position
        where = f"{Path(stack.file_of_row[i]).name} " if len(stack.files) > 1 else ""
        labels[i] = f"{where}feature {stack.row_no[i]}"
    if no_id.any():
        problems.append(
            f"{int(no_id.sum())} feature{_s(no_id.sum())} {_have(no_id.sum())} no id in column "
            f"{id_used!r}: {_listing(labels[no_id])}; every feature needs an id"
        )
    dup = ids.duplicated(keep=False).to_numpy() & ~no_id
    if dup.any() and not dissolve:
        problems.append(_duplicate_ids_message(ids, dup, id_used, stack))
    return labels, dup


def _duplicate_ids_message(ids: pd.Series, dup: np.ndarray, id_used: str, stack: _Stack) -> str:
    counts = ids[dup].value_counts(sort=False)
    shown = [f"{v!r} appears {n} times" for v, n in counts.items()]
    where = ""
    if len(stack.files) > 1:
        where = " (in " + ", ".join(sorted({Path(f).name for f in stack.file_of_row[dup]})) + ")"
    return (
        f"id column {id_used!r} is not unique ({len(ids)} features, "
        f"{ids.nunique()} distinct ids): {_listing(shown, quote=False)}{where}; "
        "pass id_col= naming a column with one unique value per feature (on the command line "
        "FILE:id=COLUMN), or, if each id's features are the parts of one area, pass "
        "dissolve=True to merge them into one (Multi)Polygon per id (on the command line "
        "FILE:dissolve)"
    )


def _detect(
    table: pd.DataFrame,
    patterns: list[re.Pattern[str]],
    *,
    source: str,
    what: str,
    exclude: str | None = None,
    quiet: bool = False,
) -> str | None:
    columns = [c for c in table.columns if isinstance(c, str) and c != exclude]
    usable = [c for c in columns if _has_values(table[c])]
    for pat in patterns:
        hits = [c for c in usable if pat.fullmatch(c)]
        if hits:
            if len(hits) > 1 and not quiet:
                log.info(
                    "%s: several %s columns match (%s); using %r",
                    source,
                    what,
                    ", ".join(hits),
                    hits[0],
                )
            return hits[0]
    return None


def _has_values(s: pd.Series) -> bool:
    if s.dtype.kind in "biufcmM":
        return bool(s.notna().any())
    v = s.dropna()
    if v.empty:
        return False
    return bool((v.astype(str).str.strip() != "").any())


def _resolve_column(
    col: str, option: str, files: list[Path], parts: list[_Part], table: pd.DataFrame
) -> str:
    present = [c for c in table.columns if isinstance(c, str)]
    if col in present:
        chosen = col
    else:
        folded = [c for c in present if c.lower() == col.lower()]
        if len(folded) != 1:
            where = str(files[0]) if len(files) == 1 else f"{len(files)} files ({files[0]} ...)"
            raise ColumnNotFoundError(
                f"{where}: {option}={col!r} is not a column; the columns are: "
                f"{_list_columns(table)}. Pass {option}= naming one of them"
            )
        chosen = folded[0]
    lacking = [str(p.path) for p in parts if chosen not in p.table.columns]
    if lacking:
        raise ColumnNotFoundError(
            f"{option}={col!r}: the column is missing from {len(lacking)} of {len(files)} files "
            f"({_listing(lacking)}); all files of one layer need it"
        )
    return chosen


def _list_columns(table: pd.DataFrame) -> str:
    cols = [str(c) for c in table.columns]
    return ", ".join(cols) if cols else "(none: the layer has geometry only)"


def _as_id_strings(values: pd.Series) -> pd.Series:
    """Ids as strings: integral floats lose their ``.0``, blanks become <NA>."""
    s = values
    if s.dtype.kind == "f":
        finite = s.dropna().to_numpy()
        # whole numbers that floats hold exactly (beyond 2**53 they are not ids we can trust)
        if len(finite) and np.all(np.mod(finite, 1) == 0) and np.all(np.abs(finite) < 2**53):
            s = s.astype("Int64")
    out = s.astype("string").str.strip()
    return out.mask(out == "")


def _assemble(
    ids: pd.Series,
    names: pd.Series,
    others: pd.DataFrame,
    geometry: np.ndarray,
    crs: CRS | None,
    *,
    kml: bool,
    source: str,
    warnings: list[str],
) -> gpd.GeoDataFrame:
    """Build the contract frame: ``id``, ``name``, the other attributes, ``geometry``."""
    if kml:
        others = _drop_kml_housekeeping(others)
    others = _rename_clashes(others, source, warnings)
    out = pd.concat(
        [
            pd.DataFrame({"id": ids.to_numpy(), "name": names.to_numpy()}).astype(
                {"id": "string", "name": "string"}
            ),
            others,
        ],
        axis=1,
    )
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geometry), crs=crs)


def _drop_kml_housekeeping(table: pd.DataFrame) -> pd.DataFrame:
    drop = [c for c in _KML_HOUSEKEEPING if c in table.columns and table[c].dropna().nunique() <= 1]
    return table.drop(columns=drop)


def _rename_clashes(table: pd.DataFrame, source: str, warnings: list[str]) -> pd.DataFrame:
    """Rename attribute columns whose names clash (case-insensitively) with ``id``/``name``."""
    taken = {"id", "name", "geometry"}
    mapping = {}
    used = {str(c).lower() for c in table.columns}
    for c in table.columns:
        if str(c).lower() in taken:
            new = f"{c}_orig"
            n = 1
            while new.lower() in used or new.lower() in taken:
                n += 1
                new = f"{c}_orig{n}"
            used.add(new.lower())
            mapping[c] = new
    if mapping:
        _warn(
            warnings,
            f"{source}: renamed column{_s(len(mapping))} "
            + ", ".join(f"{a!r} to {b!r}" for a, b in mapping.items())
            + " (the names id/name/geometry are the contract's own)",
        )
    return table.rename(columns=mapping)


# ---------------------------------------------------------------------------------------------
# geometry


def _check_geometry(
    geoms: np.ndarray, labels: np.ndarray, *, source: str, problems: list[str], warnings: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Record missing, empty and non-polygonal geometries; repair invalid ones (with a warning).

    Returns the geometries (2D, collections reduced to their polygons, repaired) and the
    labels of the features repaired.
    """
    geoms = shapely.force_2d(geoms)
    present = _flag_missing(geoms, labels, problems)
    present &= ~_flag_not_finite(geoms, labels, present, problems)
    geoms = _collections_to_polygons(geoms, present)
    polygonal = present & ~_flag_non_polygons(geoms, labels, present, problems)
    geoms, repaired = _repair_invalid(geoms, labels, polygonal, problems)
    if repaired:
        _warn(
            warnings,
            f"{source}: repaired {len(repaired)} invalid "
            f"geometr{'y' if len(repaired) == 1 else 'ies'} with make_valid: {_listing(repaired)}",
        )
    return geoms, repaired


def _flag_missing(geoms: np.ndarray, labels: np.ndarray, problems: list[str]) -> np.ndarray:
    """Record null and empty geometries; return the mask of the others."""
    null = shapely.is_missing(geoms)
    if null.any():
        problems.append(
            f"{int(null.sum())} feature{_s(null.sum())} {_have(null.sum())} no geometry (null): "
            f"{_listing(labels[null])}; drop them or give them a polygon"
        )
    empty = ~null & shapely.is_empty(geoms)
    if empty.any():
        problems.append(
            f"{int(empty.sum())} feature{_s(empty.sum())} {_have(empty.sum())} an empty "
            f"geometry: {_listing(labels[empty])}; drop them or give them a polygon"
        )
    return ~null & ~empty


def _flag_not_finite(
    geoms: np.ndarray, labels: np.ndarray, present: np.ndarray, problems: list[str]
) -> np.ndarray:
    """Record geometries with a coordinate that is NaN or infinite; return their mask."""
    coords, idx = shapely.get_coordinates(geoms, return_index=True)
    bad = np.zeros(len(geoms), dtype=bool)
    bad[idx[~np.isfinite(coords).all(axis=1)]] = True
    bad &= present
    if bad.any():
        problems.append(
            f"{int(bad.sum())} feature{_s(bad.sum())} {_have(bad.sum())} coordinates that are "
            f"not finite numbers (NaN or infinite): {_listing(labels[bad])}; fix or drop them"
        )
    return bad


def _collections_to_polygons(geoms: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Replace each GeometryCollection holding only polygons by its (Multi)Polygon."""
    coll = present & (shapely.get_type_id(geoms) == _COLLECTION)
    if not coll.any():
        return geoms
    geoms = geoms.copy()
    fixed = _polygonal_part(geoms[coll], only_if_all=True)
    ok = ~shapely.is_missing(fixed)
    geoms[np.flatnonzero(coll)[ok]] = fixed[ok]
    return geoms


def _flag_non_polygons(
    geoms: np.ndarray, labels: np.ndarray, present: np.ndarray, problems: list[str]
) -> np.ndarray:
    """Record the geometries that are not (Multi)Polygons; return their mask."""
    types = shapely.get_type_id(geoms)
    bad_type = present & (types != _POLYGON) & (types != _MULTIPOLYGON)
    if bad_type.any():
        names = _TYPE_NAMES[shapely.get_type_id(geoms[bad_type])]
        shown = [f"{lab!r} ({k})" for lab, k in zip(labels[bad_type], names, strict=True)]
        problems.append(
            f"{int(bad_type.sum())} feature{_s(bad_type.sum())} {_be(bad_type.sum())} not "
            f"polygons: {_listing(shown, quote=False)}; boundaries must be Polygon or "
            "MultiPolygon (is this a point or line layer?)"
        )
    return bad_type


def _repair_invalid(
    geoms: np.ndarray, labels: np.ndarray, polygonal: np.ndarray, problems: list[str]
) -> tuple[np.ndarray, list[str]]:
    """Repair invalid polygons with make_valid; record those that keep no area."""
    invalid = polygonal & ~shapely.is_valid(geoms)
    if not invalid.any():
        return geoms, []
    geoms = geoms.copy()
    fixed = _polygonal_part(_make_valid(geoms[invalid]), only_if_all=False)
    lost = shapely.is_missing(fixed) | shapely.is_empty(fixed)
    if lost.any():
        problems.append(
            f"{int(lost.sum())} invalid geometr{'y' if lost.sum() == 1 else 'ies'} cannot be "
            f"repaired (no area left after make_valid): {_listing(labels[invalid][lost])}; "
            "fix or drop them"
        )
    geoms[np.flatnonzero(invalid)] = fixed
    return geoms, [str(x) for x in labels[invalid][~lost]]


def _make_valid(geoms: np.ndarray) -> np.ndarray:
    """``make_valid`` (structure method); a geometry GEOS cannot repair at all gives None."""
    try:
        return np.asarray(
            shapely.make_valid(geoms, method="structure", keep_collapsed=False), dtype=object
        )
    except shapely.errors.GEOSException:
        pass
    out = np.full(len(geoms), None, dtype=object)
    for i, g in enumerate(geoms):  # only when the batch failed: find the ones GEOS refuses
        try:
            out[i] = shapely.make_valid(g, method="structure", keep_collapsed=False)
        except shapely.errors.GEOSException:
            out[i] = None
    return out


def dissolve_parts(
    gdf: gpd.GeoDataFrame, *, id_col: str = "id"
) -> tuple[gpd.GeoDataFrame, dict[str, int], dict[str, list[str]]]:
    """Merge the features that share an id into one (Multi)Polygon per id.

    An area published as several features (Chicago's district 31, beat 3100) becomes one
    feature: the union of its parts, with the first part's attributes. Null ids are left
    alone (never merged).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        A polygon layer.
    id_col : str, default "id"
        The id column.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with one row per id, in order of first appearance, with a RangeIndex.
    dict of str to int
        Each merged id and its number of parts (empty when every id was unique).
    dict of str to list of str
        Each attribute column whose values differ between the parts of an id, with those ids.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> g = gpd.GeoDataFrame({"id": ["31", "1", "31"]},
    ...                      geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)])
    >>> out, parts, differ = dissolve_parts(g)
    >>> out["id"].tolist(), parts, out.geometry.iloc[0].geom_type
    (['31', '1'], {'31': 2}, 'MultiPolygon')
    """
    frame = gdf.reset_index(drop=True)
    geom_col = frame.geometry.name
    ids = frame[id_col]
    dup = (ids.duplicated(keep=False) & ids.notna()).to_numpy()
    if not dup.any():
        return frame.copy(), {}, {}
    parts = frame.loc[dup, [id_col, geom_col]]
    merged = parts.dissolve(by=id_col, method="unary")  # shapely.union_all per id
    counts = parts[id_col].value_counts(sort=False)
    dissolved = {str(k): int(counts[k]) for k in merged.index}
    attrs = frame.drop(columns=geom_col)
    differ: dict[str, list[str]] = {}
    dup_attrs = attrs.loc[dup].astype("string")  # hashable, nulls kept as <NA>
    for col in dup_attrs.columns.drop(id_col):
        n = dup_attrs.groupby(id_col, sort=False)[col].nunique(dropna=False)
        bad = n.index[n.to_numpy() > 1]
        if len(bad):
            differ[str(col)] = [str(b) for b in bad]
    keep = ~ids.duplicated(keep="first").to_numpy()
    out = attrs.loc[keep].reset_index(drop=True)
    geoms = np.asarray(frame.geometry.values[keep], dtype=object)
    first_ids = out[id_col].to_numpy(dtype=object)
    is_merged = out[id_col].isin(merged.index).to_numpy()
    unions = np.asarray(merged.geometry.loc[first_ids[is_merged]].values, dtype=object)
    geoms[is_merged] = _polygonal_part(unions, only_if_all=False)  # drop any stray lower-dim part
    result = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, name=geom_col), crs=gdf.crs)
    return result, dissolved, differ


def _dissolve(
    gdf: gpd.GeoDataFrame, *, source: str, id_col: str, warnings: list[str]
) -> tuple[gpd.GeoDataFrame, dict[str, int]]:
    """:func:`dissolve_parts` for :func:`read_boundaries`, with its warning."""
    result, dissolved, differ = dissolve_parts(gdf, id_col="id")
    n_parts = sum(dissolved.values())
    shown = [f"{k!r} ({n} parts)" for k, n in dissolved.items()]
    message = (
        f"{source}: dissolve=True merged the features sharing an id ({n_parts} features, "
        f"{len(dissolved)} id{_s(len(dissolved))} in column {id_col!r}): "
        f"{_listing(shown, quote=False)}; each keeps its first part's attributes"
    )
    if differ:
        cols = [f"{c!r} (in {_listing(ids)})" for c, ids in differ.items()]
        message += (
            "; the parts' values differ in column"
            f"{_s(len(cols))} {_listing(cols, quote=False)} (only the first is kept)"
        )
    _warn(warnings, message)
    return result, dissolved


def _polygonal_part(geoms: np.ndarray, *, only_if_all: bool) -> np.ndarray:
    """Return the polygonal part of each geometry (a Polygon or MultiPolygon).

    With ``only_if_all`` a geometry that also holds non-polygonal parts gives None. A geometry
    with no polygonal part gives None.
    """
    n = len(geoms)
    out = np.full(n, None, dtype=object)
    if n == 0:
        return out
    parts, idx = shapely.get_parts(geoms, return_index=True)
    # flatten nested collections and multipolygons down to single parts
    while True:
        t = shapely.get_type_id(parts)
        nested = (t == _MULTIPOLYGON) | (t == _COLLECTION) | (t == 4) | (t == 5)
        if not nested.any():
            break
        sub, sub_idx = shapely.get_parts(parts[nested], return_index=True)
        parts = np.concatenate([parts[~nested], sub])
        idx = np.concatenate([idx[~nested], idx[nested][sub_idx]])
    t = shapely.get_type_id(parts)
    is_poly = (t == _POLYGON) & ~shapely.is_empty(parts)
    has_other = np.zeros(n, dtype=bool)
    if only_if_all:
        has_other[idx[~is_poly & ~shapely.is_empty(parts)]] = True
    parts, idx = parts[is_poly], idx[is_poly]
    if len(parts):
        order = np.argsort(idx, kind="stable")
        parts, idx = parts[order], idx[order]
        counts = np.bincount(idx, minlength=n)
        single = counts == 1
        multi = counts > 1
        first = np.searchsorted(idx, np.arange(n))
        out[single] = parts[first[single]]
        if multi.any():
            keep = multi[idx]
            built = shapely.multipolygons(
                parts[keep], indices=np.searchsorted(np.flatnonzero(multi), idx[keep])
            )
            out[multi] = built
    out[has_other] = None
    return out


# ---------------------------------------------------------------------------------------------
# messages


def _warn(warnings: list[str], message: str) -> None:
    warnings.append(message)
    log.warning("%s", message)


def _s(n: int | np.integer) -> str:
    return "" if n == 1 else "s"


def _have(n: int | np.integer) -> str:
    return "has" if n == 1 else "have"


def _be(n: int | np.integer) -> str:
    return "is" if n == 1 else "are"


def _listing(values: Any, *, quote: bool = True) -> str:
    items = [repr(str(v)) if quote else str(v) for v in values]
    if len(items) > _MAX_LISTED:
        return ", ".join(items[:_MAX_LISTED]) + f" and {len(items) - _MAX_LISTED} more"
    return ", ".join(items)
