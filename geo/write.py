"""Write layers to GeoPackage, GeoJSON, GeoJSON-lines, Shapefile or KML, safely.

:func:`write_layers` writes every output into a temporary folder next to it and renames the
finished files into place (:func:`os.replace`), so a failure never leaves a partial file and
an existing output is replaced only with ``overwrite=True``.

One file holds every layer in a GeoPackage or KML (a KML folder per layer). GeoJSON,
GeoJSON-lines and Shapefile hold one layer per file: with several layers each goes to a sibling
file ``<stem>_<layer><suffix>`` (see :func:`output_paths`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from beatplan.geo.errors import (
    CRSError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    OutputExistsError,
    check_option,
)

__all__ = [
    "DRIVERS",
    "atomic_output",
    "output_paths",
    "shapefile_field_names",
    "write_layers",
    "write_text",
]

log = logging.getLogger("beatplan")

#: The formats written, each with its file suffixes (the first is the usual one).
DRIVERS: dict[str, tuple[str, ...]] = {
    "GPKG": (".gpkg",),
    "GeoJSON": (".geojson", ".json"),
    "GeoJSONSeq": (".geojsonl", ".geojsons"),
    "ESRI Shapefile": (".shp",),
    "KML": (".kml",),
}
_ALIASES = {
    "gpkg": "GPKG",
    "geopackage": "GPKG",
    "geojson": "GeoJSON",
    "json": "GeoJSON",
    "geojsonseq": "GeoJSONSeq",
    "geojsonl": "GeoJSONSeq",
    "esri shapefile": "ESRI Shapefile",
    "shapefile": "ESRI Shapefile",
    "shp": "ESRI Shapefile",
    "kml": "KML",
    "libkml": "KML",
}
_MULTI_LAYER = ("GPKG", "KML")
#: The GDAL driver that writes each format.
_GDAL_DRIVER = {"KML": "LIBKML"}
#: The files GDAL writes for one shapefile, and the sidecars an old one may have left.
_SHP_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
_SHP_SIDECARS = (".qix", ".sbn", ".sbx", ".shp.xml", ".qmd", ".aih", ".ain", ".atx", ".fix")
_SHP_FIELD_BYTES = 10
_SAFE_LAYER = re.compile(r"^[\w][\w.\-]*$")


def write_layers(
    path: str | os.PathLike[str],
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    driver: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write named layers to a vector file, atomically.

    Parameters
    ----------
    path : str or path-like
        The output file. Its suffix chooses the format when ``driver`` is None: ``.gpkg``
        GeoPackage, ``.geojson``/``.json`` GeoJSON, ``.geojsonl``/``.geojsons`` GeoJSON-lines,
        ``.shp`` Shapefile, ``.kml`` KML. A missing parent folder is created.
    layers : mapping of str to GeoDataFrame
        Layer name -> layer, written in the mapping's order. Each layer needs a CRS.
    driver : str, optional
        One of ``"GPKG"``, ``"GeoJSON"``, ``"GeoJSONSeq"``, ``"ESRI Shapefile"``, ``"KML"``
        (also ``"gpkg"``, ``"shapefile"``, ``"kml"`` ...).
    overwrite : bool, default False
        Replace outputs that exist. Without it an existing output is an error.

    Returns
    -------
    pathlib.Path
        ``path``. With several layers in a one-layer format (GeoJSON, GeoJSON-lines,
        Shapefile) the files written are the siblings :func:`output_paths` names, e.g.
        ``plan_beats.geojson`` and ``plan_sectors.geojson`` for ``plan.geojson``.

    Raises
    ------
    OptionError
        An unknown driver or suffix (the valid ones are listed), or a layer name that cannot
        be part of a file name.
    OutputExistsError
        An output exists and ``overwrite`` is False.
    EmptyInputError
        ``layers`` is empty.
    CRSError
        A layer has no CRS.

    Notes
    -----
    - Every file is first written into a temporary folder beside ``path`` and then moved into
      place with :func:`os.replace`; on any error the temporary folder is removed and existing
      outputs are left as they were.
    - Columns holding lists, dicts or other non-text objects are written as JSON text;
      datetime columns stay datetimes (Shapefile: ISO 8601 text, as dBase has no date-time).
    - Shapefile field names longer than 10 bytes are shortened uniquely
      (:func:`shapefile_field_names`); each rename is logged as a warning.
    - KML is written in EPSG:4326 (the format's only CRS); each placemark's name is the
      layer's ``name`` (its ``id`` where the name is missing).
    - GeoJSON keeps the layer's CRS (GDAL records it in the file's ``crs`` member).

    Examples
    --------
    >>> write_layers("plan.gpkg", {"beats": beats, "sectors": sectors})  # doctest: +SKIP
    PosixPath('plan.gpkg')
    """
    path = Path(path)
    drv = _resolve_driver(path, driver)
    _check_layers(path, layers)
    names = list(layers)
    targets = output_paths(path, names, driver=drv)
    files = sorted(set(targets.values()))
    _check_free(files, drv, overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        _write_staged(tmpdir, layers, targets, drv)
        _move_into_place(tmpdir, files, drv)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    log.info(
        "wrote %d layer%s (%s) to %s",
        len(names),
        "" if len(names) == 1 else "s",
        ", ".join(names),
        ", ".join(str(f) for f in files),
    )
    return path


def _check_layers(path: Path, layers: Any) -> None:
    """Refuse no layers, a layer name that is not a non-empty str, a non-frame, a missing CRS."""
    if not isinstance(layers, Mapping) or not layers:
        raise EmptyInputError(f"{path}: no layers given to write; pass {{'name': GeoDataFrame}}")
    for name, gdf in layers.items():
        if not isinstance(name, str) or not name:
            raise OptionError(f"{path}: layer names must be non-empty strings, got {name!r}")
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise InputFormatError(
                f"{path}: layer {name!r} is a {type(gdf).__name__}, expected a GeoDataFrame"
            )
        if gdf.crs is None:
            raise CRSError(
                f"{path}: layer {name!r} has no CRS; set one with .set_crs(...) before writing"
            )


def _write_staged(
    tmpdir: Path, layers: Mapping[str, gpd.GeoDataFrame], targets: dict[str, Path], drv: str
) -> None:
    """Write every layer into ``tmpdir``, under its target's file name."""
    written: set[Path] = set()
    for name, layer in layers.items():
        target = targets[name]
        frame = _prepare(layer, drv, name, target)
        tmp = tmpdir / target.name
        pyogrio.write_dataframe(
            frame,
            tmp,
            layer=name if drv in _MULTI_LAYER else target.stem,
            driver=_GDAL_DRIVER.get(drv, drv),
            append=tmp in written,
        )
        written.add(tmp)


def write_text(
    path: str | os.PathLike[str], text: str, *, overwrite: bool = False, newline: str | None = ""
) -> Path:
    """Write ``text`` to ``path`` atomically: a temporary file in the same folder, then a rename.

    Parameters
    ----------
    path : path-like
        The file to write; its folder must exist.
    text : str
        The content, written as UTF-8.
    overwrite : bool, default False
        Replace an existing file; without it an existing ``path`` is an error.
    newline : str or None, default ""
        Passed to :func:`open`: ``""`` writes line ends as they are in ``text``.

    Returns
    -------
    pathlib.Path
        ``path``, the file now holding ``text``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
    >>> write_text(out, "hello").read_text()
    'hello'
    """
    out = Path(path)
    with (
        atomic_output(out, overwrite=overwrite) as tmp,
        tmp.open("w", encoding="utf-8", newline=newline) as f,
    ):
        f.write(text)
    return out


@contextmanager
def atomic_output(
    path: str | os.PathLike[str], *, overwrite: bool = False, folder: bool = False
) -> Iterator[Path]:
    """Give a temporary path beside ``path`` to write; move it onto ``path`` when all went well.

    The file (or, with ``folder=True``, the folder) is written under a hidden temporary name in
    the same folder as ``path`` and renamed into place only when the ``with`` block ends without
    an error, so a reader never sees it half-written; on an error it is removed and what was at
    ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The output. Its folder must exist.
    overwrite : bool, default False
        Replace what is at ``path``; without it an existing ``path`` is an error, raised on
        entering the block (before any work is done).
    folder : bool, default False
        Yield a new empty folder instead of a file name. An existing folder at ``path`` is
        moved aside, replaced and then removed.

    Yields
    ------
    pathlib.Path
        The temporary file (created empty, then closed) or folder to write.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is false (a folder: "the folder exists").

    Examples
    --------
    A folder of two files appears whole, or not at all:

    >>> import pathlib, tempfile
    >>> parent = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_output(parent / "plan", folder=True) as staging:
    ...     _ = (staging / "a.csv").write_text("id,1")
    ...     _ = (staging / "b.csv").write_text("id,2")
    >>> sorted(p.name for p in (parent / "plan").iterdir()), len(list(parent.iterdir()))
    (['a.csv', 'b.csv'], 1)
    """
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise OutputExistsError(
            f"{dest}: the {'folder' if folder else 'file'} exists; pass overwrite=True "
            "(--overwrite) to replace it"
        )
    if folder:
        with _staged_folder(dest) as tmp:
            yield tmp
        return
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _staged_folder(dest: Path) -> Iterator[Path]:
    """Yield a new folder beside ``dest``; then swap it in (the old one moved aside, removed)."""
    tmp = dest.parent / f".{dest.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        yield tmp
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{uuid.uuid4().hex}"
            dest.rename(old)
            tmp.rename(dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    """Return the process umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def output_paths(
    path: str | os.PathLike[str], layer_names: Iterable[str], *, driver: str | None = None
) -> dict[str, Path]:
    """Say which file each layer goes to.

    Parameters
    ----------
    path : str or path-like
        The output path given to :func:`write_layers`.
    layer_names : iterable of str
        The layers' names.
    driver : str, optional
        As for :func:`write_layers`; inferred from the suffix when None.

    Returns
    -------
    dict of str to pathlib.Path
        Layer name -> file. GeoPackage and KML put every layer in ``path``; the one-layer
        formats put a single layer in ``path`` and several in ``<stem>_<layer><suffix>``.

    Examples
    --------
    >>> output_paths("out/plan.geojson", ["beats", "npas"])
    {'beats': PosixPath('out/plan_beats.geojson'), 'npas': PosixPath('out/plan_npas.geojson')}
    >>> output_paths("out/plan.gpkg", ["beats", "npas"])
    {'beats': PosixPath('out/plan.gpkg'), 'npas': PosixPath('out/plan.gpkg')}
    """
    path = Path(path)
    drv = _resolve_driver(path, driver)
    names = list(layer_names)
    if drv in _MULTI_LAYER or len(names) == 1:
        return {n: path for n in names}
    bad = [n for n in names if not _SAFE_LAYER.match(n)]
    if bad:
        raise OptionError(
            f"{path}: {drv} holds one layer per file, so each layer is written to "
            f"{path.stem}_<layer>{path.suffix}; the layer name{'s' if len(bad) > 1 else ''} "
            f"{', '.join(map(repr, bad))} cannot be part of a file name (use letters, digits, "
            "'_', '-' and '.')"
        )
    folded = [n.lower() for n in names]
    if len(set(folded)) != len(folded):
        raise OptionError(
            f"{path}: layer names {', '.join(map(repr, names))} differ only in case and would "
            "clash as file names; rename one"
        )
    return {n: path.with_name(f"{path.stem}_{n}{path.suffix}") for n in names}


def shapefile_field_names(columns: Iterable[str]) -> dict[str, str]:
    """Shorten field names to the Shapefile limit of 10 bytes, keeping them unique.

    Names that fit are kept (the first of any that differ only in case); longer ones are
    cut to 10 bytes, or to 8 with ``_1``, ``_2`` ... added where a cut name is taken.
    Comparison ignores case, as dBase does.

    Parameters
    ----------
    columns : iterable of str
        Field names, in order.

    Returns
    -------
    dict of str to str
        Old name -> new name, for the names that change only.

    Examples
    --------
    >>> shapefile_field_names(["id", "population_2021", "population_2022", "name"])
    {'population_2021': 'population', 'population_2022': 'populati_1'}
    """
    cols = [str(c) for c in columns]
    used: set[str] = set()
    keep: set[int] = set()
    for i, c in enumerate(cols):
        if len(c.encode("utf-8")) <= _SHP_FIELD_BYTES and c.lower() not in used:
            used.add(c.lower())
            keep.add(i)
    mapping: dict[str, str] = {}
    for i, c in enumerate(cols):
        if i in keep:
            continue
        new = _cut(c, _SHP_FIELD_BYTES)
        n = 0
        while new.lower() in used:
            n += 1
            suffix = f"_{n}"
            new = _cut(c, _SHP_FIELD_BYTES - len(suffix)) + suffix
        used.add(new.lower())
        mapping[c] = new
    return mapping


# ---------------------------------------------------------------------------------------------


def _cut(name: str, nbytes: int) -> str:
    """Cut ``name`` to at most ``nbytes`` UTF-8 bytes without splitting a character."""
    return name.encode("utf-8")[:nbytes].decode("utf-8", errors="ignore")


def _resolve_driver(path: Path, driver: str | None) -> str:
    if driver is not None:
        if driver in DRIVERS:
            return driver
        alias = _ALIASES.get(str(driver).lower())
        if alias is not None:
            return alias
        return check_option("driver", str(driver), DRIVERS)
    suffix = path.suffix.lower()
    for drv, suffixes in DRIVERS.items():
        if suffix in suffixes:
            return drv
    valid = ", ".join(f"{s} ({d})" for d, ss in DRIVERS.items() for s in ss)
    raise OptionError(
        f"{path}: cannot tell the format from the suffix {suffix or '(none)'!r}; use one of "
        f"{valid}, or pass driver="
    )


def _check_free(files: list[Path], drv: str, overwrite: bool) -> None:
    if drv == "ESRI Shapefile":
        bad = [f for f in files if f.suffix.lower() != ".shp"]
        if bad:
            raise OptionError(
                f"{bad[0]}: a Shapefile's path must end in .shp (e.g. {bad[0].with_suffix('.shp')})"
            )
    dirs = [f for f in files if f.is_dir()]
    if dirs:
        raise OutputExistsError(f"{dirs[0]}: is a folder; give a file name for the output")
    existing = [str(p) for f in files for p in _parts(f, drv) if p.exists()]
    if existing and not overwrite:
        raise OutputExistsError(
            f"{', '.join(existing)}: already exist{'s' if len(existing) == 1 else ''}; pass "
            "overwrite=True (--overwrite on the command line) to replace, or choose another name"
        )


def _parts(target: Path, drv: str) -> list[Path]:
    if drv != "ESRI Shapefile":
        return [target]
    return [target.with_suffix(s) for s in _SHP_PARTS]


def _move_into_place(tmpdir: Path, files: list[Path], drv: str) -> None:
    """Move the files written in ``tmpdir`` onto ``files``, all or nothing.

    What is there now (every Shapefile part and sidecar index, which would describe the old
    geometry) is first moved aside into ``tmpdir``; if any move fails, the new files placed so
    far are removed and the old ones put back, so an error never leaves a mix.
    """
    moves: list[tuple[Path, Path]] = []  # (written file, destination)
    old: list[Path] = []  # destinations that exist now
    for target in files:
        for dest in _parts(target, drv):
            src = tmpdir / dest.name
            if src.exists():
                moves.append((src, dest))
        old += [d for d in _parts(target, drv) if d.exists()]
        if drv == "ESRI Shapefile":
            stem = target.with_suffix("")
            old += [p for p in (Path(f"{stem}{s}") for s in _SHP_SIDECARS) if p.exists()]
    aside = Path(tempfile.mkdtemp(prefix="old.", dir=tmpdir))
    kept: list[tuple[Path, Path]] = []  # (old file, where it was put aside)
    placed: list[Path] = []
    try:
        for i, dest in enumerate(old):
            spare = aside / f"{i}.{dest.name}"
            os.replace(dest, spare)
            kept.append((dest, spare))
        for src, dest in moves:
            os.replace(src, dest)
            placed.append(dest)
    except BaseException:
        for dest in placed:
            dest.unlink(missing_ok=True)
        for dest, spare in reversed(kept):
            os.replace(spare, dest)
        raise


def _prepare(gdf: gpd.GeoDataFrame, drv: str, name: str, target: Path) -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` ready for ``drv``: plain column types, the format's rules."""
    geom = gdf.geometry.name
    out = gdf.copy()
    out.columns = [c if c == geom else str(c) for c in out.columns]
    for col in list(out.columns):
        if col == geom:
            continue
        s = out[col]
        if isinstance(s.dtype, gpd.array.GeometryDtype):  # a second geometry column
            out[col] = s.to_wkt()
        elif isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = _serialise(s.astype(object))
        elif s.dtype == object:
            out[col] = _serialise(s)
    if drv == "KML":
        out = out.to_crs(4326)
        out = _kml_names(out, name)
    if drv == "ESRI Shapefile":
        for col in out.columns:
            if col != geom and out[col].dtype.kind == "M":
                out[col] = _iso_text(out[col])
        mapping = shapefile_field_names(c for c in out.columns if c != geom)
        if mapping:
            log.warning(
                "%s: Shapefile field names are limited to 10 bytes; renamed %s",
                target,
                ", ".join(f"{a!r} -> {b!r}" for a, b in mapping.items()),
            )
            out = out.rename(columns=mapping)
    if geom != "geometry" and "geometry" not in out.columns:
        out = out.rename_geometry("geometry")
    return out


def _serialise(s: pd.Series) -> pd.Series:
    """Object column -> text: containers as JSON, other objects as ``str``; text untouched."""
    values = s.to_numpy(dtype=object)
    kinds = {type(v) for v in values}
    if kinds <= {str, type(None)}:
        return s
    inferred = s.infer_objects()
    if inferred.dtype != object:
        return inferred
    if kinds <= {bytes, type(None)}:
        return s
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):  # one value per row, only for columns holding objects
        out[i] = _as_text(v)
    return pd.Series(out, index=s.index, name=s.name, dtype="string")


def _as_text(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, list | tuple | dict | set | frozenset | np.ndarray):
        return json.dumps(_jsonable(v), ensure_ascii=False, default=str)
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return str(v)


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, set | frozenset):
        return sorted(v, key=str)
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def _iso_text(s: pd.Series) -> pd.Series:
    values = s.dropna()
    if s.dt.tz is None and len(values) and (values == values.dt.normalize()).all():
        text = s.dt.strftime("%Y-%m-%d")
    else:
        text = s.map(lambda t: None if pd.isna(t) else t.isoformat())
    return text.astype("string")


def _kml_names(gdf: gpd.GeoDataFrame, layer: str) -> gpd.GeoDataFrame:
    """Give every placemark a name: the ``name`` column, else ``id``, else the row number."""
    lower = {str(c).lower(): c for c in gdf.columns}
    ids = gdf[lower["id"]].astype("string") if "id" in lower else None
    if "name" in lower:
        col = lower["name"]
        names = gdf[col].astype("string")
        if ids is not None:
            names = names.fillna(ids)
        gdf = gdf.drop(columns=col)
    elif ids is not None:
        names = ids
    else:
        names = pd.Series([f"{layer} {i + 1}" for i in range(len(gdf))], index=gdf.index)
    names = names.fillna(pd.Series([f"{layer} {i + 1}" for i in range(len(gdf))], index=gdf.index))
    gdf.insert(0, "name", names.astype("string"))
    return gdf
