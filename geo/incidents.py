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

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.geo._incident_checks import (
    NS,
    Part,
    number_text,
    stack_strings,
    validate,
)
from beatplan.geo._incident_outliers import bulk_box, find_outliers
from beatplan.geo._incident_tables import (
    DUP,
    DUP_FILE,
    FAR,
    FOLDER_SUFFIXES,
    MALFORMED,
    OUTSIDE,
    RANGE,
    REJECT_REASONS,
    STRING,
    SWAP_FIX,
    Raw,
    Spec,
    file_kind,
    read_parquet,
    read_text,
    read_vector,
    rejections,
)
from beatplan.geo._sources import Sources, expand_sources
from beatplan.geo.crs import WGS84, check_crs_fits, parse_crs, transformer, working_crs
from beatplan.geo.errors import (
    CRSError,
    GeometryError,
    InputFormatError,
    OptionError,
    ValidationError,
    check_option,
)
from beatplan.geo.progress import progress as _progress

__all__ = ["REJECT_REASONS", "SCHEMAS", "Incidents", "read_incidents"]

log = logging.getLogger("beatplan")

#: Valid values of ``read_incidents(schema=...)``.
SCHEMAS = ("auto", "police.uk", "xy", "lonlat", "vector")


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
    fixed : pandas.DataFrame
        One row per input row that was read after a fix: ``source``, ``row``, ``fix``
        (``"swapped coordinates"``: longitude and latitude swapped back in this row alone;
        ``"bytes not UTF-8"``: bytes read as Windows-1252), ``detail``. A fixed row is still
        in ``points`` or ``rejected``.
    """

    points: gpd.GeoDataFrame
    rejected: pd.DataFrame
    rows_read: int
    crs: CRS
    sources: list[str]
    schema: str
    messages: list[str] = field(default_factory=list)
    fixed: pd.DataFrame = field(default_factory=lambda: _fixed_table([], []))

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
        if len(self.fixed):
            counts = self.fixed["fix"].value_counts()
            lines.append("fixed: " + "; ".join(f"{k} {v:,}" for k, v in counts.items()))
        epsg = self.crs.to_epsg()
        lines.append(
            f"CRS: {'EPSG:' + str(epsg) if epsg else self.crs.to_string()} ({self.crs.name})"
        )
        lines.extend(f"note: {m}" for m in self.messages)
        return "\n".join(lines)


# --------------------------------------------------------------------------- assembly


def _output_crs(parts: list[Part], to_crs: Any) -> CRS:
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
        # the middle half of the points decides: a minority of rows never chooses the CRS
        box = bulk_box([p.x for p in parts], [p.y for p in parts], [p.crs for p in parts])
        if box is None:
            return working_crs()
        corners = gpd.GeoSeries(gpd.points_from_xy(box[::2], box[1::2]), crs=WGS84)
        return working_crs(corners)
    return working_crs(crs=to_crs)


def _project(
    parts: list[Part], owner: np.ndarray, x: np.ndarray, y: np.ndarray, out: CRS
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


def _notes(parts: list[Part]) -> list[str]:
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
    progress: bool | None = None,
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
        The CRS the coordinates are in (anything :func:`beatplan.geo.crs.parse_crs` takes). Default
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
        ``"working"`` (default): the projected working CRS (:func:`beatplan.geo.crs.working_crs`:
        EPSG:27700 in Great Britain, else the local UTM zone), chosen from the middle half
        of the points so that a minority of rows never chooses it. ``None`` keeps the
        sources' CRS. A projected CRS is used as given.
    progress : bool, optional
        A progress bar while reading many files: ``None`` (default) shows one on a terminal
        only (:func:`beatplan.geo.progress.progress`), ``False`` never.

    Returns
    -------
    Incidents
        ``points`` (GeoDataFrame), ``rejected`` (DataFrame with ``source``, ``row``,
        ``reason``, ``detail``), ``rows_read``, ``crs``, ``sources``, ``schema``,
        ``messages``, ``fixed``. ``len(points) + len(rejected) == rows_read``.

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
    Each file's rows are numbered from 1 after the header (``row``); blank lines are not rows.
    A row is a line: a quoted value may span lines only when the lines it joins read as one
    row; a quote that is never closed rejects its own line as ``"malformed row"`` and no
    other. A row with too many or too few fields is ``"malformed row"`` too. Bytes that are
    not UTF-8 are read as Windows-1252 (Latin-1) in the rows that hold them, and those rows
    are listed in ``fixed``; repeated column names are read as ``name``, ``name.1`` ... (an
    error when beatplan would have to guess which copy holds the coordinates or a column).

    Rows are judged in this order: duplicate file (a file with the same bytes as one read
    before it: all its rows), malformed row, no location, not a number, out of range, zero
    coordinates, bad date, far away, duplicate id, outside area. Longitude and latitude
    swapped in a whole file (the "latitude" column holds values beyond +-90, or British
    points read the wrong way round) are swapped back, with a message and a warning; swapped
    in a few rows, those rows are swapped back and listed in ``fixed``. A point more than
    500 km (or 20 times the data's median distance) from the median centre of all the
    points is ``"far away"``; nearer stray points are kept (police.uk files carry genuine
    ones outside the force, up to ~300 km away: pass ``area=`` to reject them as
    ``"outside area"``). A blank date keeps the point with ``NaT``; a date that is present
    but unreadable rejects it as ``"bad date"``. A blank id is never a duplicate; ids are
    compared across all files, the first row wins, and a file whose ids mostly repeat
    earlier ones is warned of (its rows without an id may be counted twice).

    Examples
    --------
    Read the sample county's twelve monthly police.uk files:

    >>> import tempfile
    >>> from beatplan.geo.sample import write_sample
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
    spec = _make_spec(schema, x, y, crs, {"date": date, "category": category, "id": id})
    paths = expand_sources(source, suffixes=FOLDER_SUFFIXES)
    show = progress if len(paths) > 1 else False
    raws = [
        _read_source(path, spec)
        for path in _progress(paths, desc="reading incidents", unit="file", enabled=show)
    ]
    schema_used = _one_schema(raws)
    parts = [validate(r, i) for i, r in enumerate(raws)]
    del raws  # the raw text columns are not needed any more
    _reject_copied_files(parts, paths)
    _far_and_swapped(parts)
    out = _output_crs(parts, to_crs)
    stack = _stack(parts, out)

    rejected = [frame for p in parts for frame in p.rejected]
    keep = _projectable(stack, parts, out, rejected)
    keep &= ~_repeated_ids(stack, keep, rejected, parts)
    if area is not None:
        keep &= ~_outside_area(area, stack, keep, out, rejected)
    return _result(stack, keep, rejected, parts, paths, out, schema_used)


def _make_spec(
    schema: str, x: str | None, y: str | None, crs: Any, columns: dict[str, str | None]
) -> Spec:
    """Check the caller's options (together they must make sense) and hold them as a Spec."""
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
    return Spec(schema, x, y, src_crs, columns)


def _read_source(path: Path, spec: Spec) -> Raw:
    """Read one file by its kind: a vector layer, Parquet or a delimited text table."""
    kind = file_kind(path)
    if kind == "vector" or spec.schema == "vector":
        if kind != "vector":
            raise InputFormatError(
                f"{path}: schema='vector' reads GeoPackage/GeoJSON/Shapefile point layers, "
                "but this is a table; use schema='auto'"
            )
        return read_vector(path, spec)
    if kind == "parquet":
        return read_parquet(path, spec)
    return read_text(path, spec)


def _one_schema(raws: list[Raw]) -> str:
    """Return the schema every source was read with; refuse sources that need different ones."""
    schemas = dict.fromkeys(r.schema for r in raws)
    if len(schemas) > 1:
        raise InputFormatError(
            "the sources need different schemas: "
            + "; ".join(f"{r.path.name}: {r.schema}" for r in raws)
            + "; read them separately"
        )
    return next(iter(schemas))


def _identical_files(paths: list[Path]) -> dict[int, int]:
    """Map each file with the same bytes as an earlier one to that earlier file's index.

    Only files of equal size are hashed, so the usual case costs one ``stat`` per file.
    """
    by_size: dict[int, list[int]] = {}
    for i, path in enumerate(paths):
        try:
            by_size.setdefault(path.stat().st_size, []).append(i)
        except OSError:
            continue  # reading it will say what is wrong
    copies: dict[int, int] = {}
    for group in by_size.values():
        if len(group) < 2:
            continue
        first_of: dict[bytes, int] = {}
        for i in group:
            digest = _digest(paths[i])
            if digest is None:
                continue
            if digest in first_of:
                copies[i] = first_of[digest]
            else:
                first_of[digest] = i
    return copies


def _digest(path: Path) -> bytes | None:
    h = hashlib.blake2b(digest_size=20)
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    return h.digest()


def _reject_copied_files(parts: list[Part], paths: list[Path]) -> None:
    """Reject every row of a file that repeats an earlier file byte for byte, and warn."""
    for i, first in _identical_files(paths).items():
        p = parts[i]
        rows = np.sort(np.concatenate([p.rows, *[f["row"].to_numpy() for f in p.rejected]]))
        detail = f"the file has the same content as {parts[first].name}, read before it"
        p.rejected = [rejections(p.name, rows, DUP_FILE, [detail] * len(rows))]
        p.drop(np.ones(len(p.rows), dtype=bool))
        p.fixes = []
        msg = (
            f"{p.name} has the same content as {parts[first].name}: its {len(rows):,} rows are "
            "rejected as 'duplicate file' (read each month's file once)"
        )
        p.messages.append(msg)
        log.warning(msg)


def _far_and_swapped(parts: list[Part]) -> None:
    """Swap back rows whose lon/lat are swapped; reject rows far from all the rest.

    See :mod:`beatplan.geo._incident_outliers` for the rule.
    """
    found = find_outliers([p.x for p in parts], [p.y for p in parts], [p.crs for p in parts])
    if found is None:
        return
    lon0, lat0 = found.centre
    centre = f"the centre of the data (lon {lon0:.4f}, lat {lat0:.4f})"
    for k, p in enumerate(parts):
        swapped, far, km = found.swapped[k], found.far[k], found.km[k]
        if swapped.any():
            x, y = p.x[swapped], p.y[swapped]
            detail = (
                f"{p.xname}=" + number_text(x) + f", {p.yname}=" + number_text(y)
                + " swapped back: " + _km_text(km[swapped]) + f" km from {centre}, "
                + _km_text(found.km_swapped[k][swapped]) + " km once swapped"
            )  # fmt: skip
            rows = p.rows[swapped]
            p.fixes.extend(zip(rows.tolist(), [SWAP_FIX] * len(rows), detail.tolist(), strict=True))
            p.x[swapped], p.y[swapped] = y, x
            msg = (
                f"{p.name}: longitude and latitude swapped in {len(rows):,} row"
                f"{'s' if len(rows) != 1 else ''} ({_row_list(rows)}); swapped back (see "
                "Incidents.fixed)"
            )
            p.messages.append(msg)
            log.warning(msg)
        if far.any():
            detail = (
                f"{p.xname}=" + number_text(p.x[far]) + f", {p.yname}=" + number_text(p.y[far])
                + " lies " + _km_text(km[far]) + f" km from {centre}; farther than "
                + f"{found.far_km:,.0f} km is taken for an error"
            )  # fmt: skip
            p.rejected.append(rejections(p.name, p.rows[far], FAR, detail.to_numpy(object)))
            p.drop(far)


def _km_text(km: np.ndarray) -> pd.Series:
    return pd.Series(np.char.mod("%.1f", np.asarray(km, dtype=np.float64)), dtype=STRING)


def _row_list(rows: np.ndarray, shown: int = 5) -> str:
    head = ", ".join(map(str, rows[:shown].tolist()))
    return "rows " + head + (f" and {len(rows) - shown:,} more" if len(rows) > shown else "")


@dataclass(frozen=True)
class _Stack:
    """Every file's candidate points stacked: their columns, source and projected coordinates."""

    kept: pd.DataFrame  # id, month, timestamp, category, location, lsoa, source, row
    owner: np.ndarray  # the index of each row's part
    sx: np.ndarray  # coordinates in the source CRS
    sy: np.ndarray
    px: np.ndarray  # coordinates in the output CRS (NaN or inf where not projectable)
    py: np.ndarray


def _stack(parts: list[Part], out: CRS) -> _Stack:
    """Stack the parts' candidate points and project them to ``out``."""
    counts = [len(p.rows) for p in parts]
    owner = np.repeat(np.arange(len(parts)), counts)
    sx = np.concatenate([p.x for p in parts]) if parts else np.empty(0)
    sy = np.concatenate([p.y for p in parts]) if parts else np.empty(0)
    px, py = _project(parts, owner, sx, sy, out)
    names = pd.array([p.name for p in parts], dtype=STRING)
    kept = pd.DataFrame(
        {
            "id": stack_strings(parts, "id"),
            "month": np.concatenate([p.month for p in parts]).astype(NS),
            "timestamp": np.concatenate([p.stamp for p in parts]).astype(NS),
            "category": stack_strings(parts, "category"),
            "location": stack_strings(parts, "location"),
            "lsoa": stack_strings(parts, "lsoa"),
            "source": names.take(owner),
            "row": np.concatenate([p.rows for p in parts]).astype(np.int64),
        }
    )
    return _Stack(kept, owner, sx, sy, px, py)


def _projectable(
    stack: _Stack, parts: list[Part], out: CRS, rejected: list[pd.DataFrame]
) -> np.ndarray:
    """Return the rows whose projected coordinates are finite; reject the rest (out of range)."""
    keep = np.isfinite(stack.px) & np.isfinite(stack.py)
    if not keep.all():
        bad = ~keep
        src_crs = np.array([p.crs.to_string() for p in parts], dtype=object)[stack.owner[bad]]
        detail = (
            "x=" + number_text(stack.sx[bad]) + ", y=" + number_text(stack.sy[bad]) + " ("
            + src_crs + f"): cannot be projected to {out.to_string()}"
        )  # fmt: skip
        rejected.append(_table(stack.kept[bad], RANGE, detail.to_numpy(dtype=object)))
    return keep


def _repeated_ids(
    stack: _Stack, keep: np.ndarray, rejected: list[pd.DataFrame], parts: list[Part]
) -> np.ndarray:
    """Reject the second and later kept rows with one id (across files); return their mask.

    A file whose kept rows with an id are mostly repeats is warned of: it is likely a second
    copy of a month already read, and its rows without an id cannot be told apart.
    """
    kept = stack.kept
    ids = kept["id"]
    dup = np.zeros(len(kept), dtype=bool)
    if not ids.notna().any():
        return dup
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
        rejected.append(_table(kept[dup], DUP, detail.to_numpy(dtype=object)))
        _warn_repeated_files(stack, keep, has, dup, first, parts)
    return dup


def _warn_repeated_files(
    stack: _Stack,
    keep: np.ndarray,
    has: np.ndarray,
    dup: np.ndarray,
    first: np.ndarray,
    parts: list[Part],
) -> None:
    """Warn of each file whose rows with an id mostly repeat those of one earlier file."""
    n_parts = len(parts)
    with_id = np.bincount(stack.owner[has], minlength=n_parts)
    repeated = np.bincount(stack.owner[dup], minlength=n_parts)
    no_id = np.bincount(stack.owner[keep & ~has], minlength=n_parts)
    source_of_first = stack.owner[first]
    for k in np.flatnonzero(repeated > 0.5 * np.maximum(with_id, 1)).tolist():
        earlier = np.bincount(source_of_first[stack.owner[dup] == k], minlength=n_parts)
        msg = (
            f"{parts[k].name}: {repeated[k]:,} of its {with_id[k]:,} rows with an id repeat "
            f"rows of {parts[int(earlier.argmax())].name}; it may be another copy of the same "
            f"month, so its {no_id[k]:,} rows without an id may be counted twice (read each "
            "month once)"
        )
        parts[k].messages.append(msg)
        log.warning(msg)


def _outside_area(
    area: Any, stack: _Stack, keep: np.ndarray, out: CRS, rejected: list[pd.DataFrame]
) -> np.ndarray:
    """Reject the kept rows outside ``area``; return their mask."""
    geom = _area_geometry(area, out)
    shapely.prepare(geom)
    px, py = stack.px, stack.py
    outside = keep & ~shapely.intersects_xy(geom, px, py)
    if outside.any():
        detail = (
            "x=" + number_text(px[outside]) + ", y=" + number_text(py[outside])
            + f" ({out.to_string()}) lies outside the area"
        )  # fmt: skip
        rejected.append(_table(stack.kept[outside], OUTSIDE, detail.to_numpy(dtype=object)))
    return outside


def _result(
    stack: _Stack,
    keep: np.ndarray,
    rejected: list[pd.DataFrame],
    parts: list[Part],
    paths: list[Path],
    out: CRS,
    schema: str,
) -> Incidents:
    """Assemble the Incidents: the kept points, every rejection sorted, the messages."""
    kept = stack.kept
    points = kept if keep.all() else kept[keep].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(
        points, geometry=gpd.points_from_xy(stack.px[keep], stack.py[keep]), crs=out
    )
    rej = _sorted_rejected(rejected, [p.name for p in parts])
    messages = [m for p in parts for m in p.messages]
    messages.extend(_notes(parts))
    rows_read = sum(p.n_rows for p in parts)
    if rows_read == 0:
        messages.append("the sources hold a header but no data rows")
    fixes = [(p.name, *f) for p in parts for f in p.fixes]
    result = Incidents(
        points=gdf,
        rejected=rej,
        rows_read=rows_read,
        crs=out,
        sources=[str(p) for p in paths],
        schema=schema,
        messages=messages,
        fixed=_fixed_table(fixes, [p.name for p in parts]),
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
            "reason": pd.array([REJECT_REASONS[code - 1]] * n, dtype=STRING),
            "detail": pd.array(detail, dtype=STRING),
        }
    )


def _fixed_table(fixes: list[tuple[str, int, str, str]], order: list[str]) -> pd.DataFrame:
    """Build the ``fixed`` table: one row per (source, row, fix), in file order then row."""
    rank = {name: i for i, name in enumerate(order)}
    fixes = sorted(fixes, key=lambda f: (rank.get(f[0], 0), f[1], f[2]))
    return pd.DataFrame(
        {
            "source": pd.array([f[0] for f in fixes], dtype=STRING),
            "row": np.array([f[1] for f in fixes], dtype=np.int64),
            "fix": pd.array([f[2] for f in fixes], dtype=STRING),
            "detail": pd.array([f[3] for f in fixes], dtype=STRING),
        }
    )


def _sorted_rejected(frames: list[pd.DataFrame], order: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return rejections("", np.empty(0, np.int64), MALFORMED, [])
    rej = pd.concat(frames, ignore_index=True)
    rank = {name: i for i, name in enumerate(order)}
    file_rank = rej["source"].map(rank).to_numpy()
    idx = np.lexsort((rej["row"].to_numpy(), file_rank))
    rej = rej.iloc[idx].reset_index(drop=True)
    return rej.astype({"source": STRING, "row": np.int64, "reason": STRING, "detail": STRING})
