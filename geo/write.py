"""Write layers to GeoPackage, GeoJSON, GeoJSON-lines, Shapefile or KML, safely.

:func:`write_layers` writes every output into a temporary folder next to it and moves the
finished files into place together, so a failure never leaves a partial file and an existing
output is replaced only with ``overwrite=True``. :func:`atomic_output` does this for any file,
folder or set of files: it locks the output, stages it, swaps it in, and settles what a killed
writer left.

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
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from beatplan.geo import _atomic
from beatplan.geo.errors import (
    BeatplanError,
    CRSError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    OutputExistsError,
    OutputWriteError,
    check_option,
)

__all__ = [
    "DRIVERS",
    "GPKG_DATE",
    "atomic_output",
    "check_output_free",
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
    OutputLockedError
        Another process is writing ``path`` now.
    OutputWriteError
        A file could not be written (no space, no permission, a GDAL write error): one line
        naming ``path``.

    Notes
    -----
    - Every file is first written into a temporary folder beside ``path`` and then moved into
      place together (:func:`atomic_output` with ``files=``); on any error existing outputs are
      left as they were, and a second writer of the same ``path`` fails at once.
    - A GeoPackage records each table's last change as ``2000-01-01`` (:data:`GPKG_DATE`),
      so the same layers give the same bytes.
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
    parts = [p for f in files for p in _parts(f, drv) + _sidecars(f, drv)]
    with atomic_output(path, overwrite=overwrite, files=parts) as staging:
        _write_staged(staging, layers, targets, drv)
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
        try:
            pyogrio.write_dataframe(
                frame,
                tmp,
                layer=name if drv in _MULTI_LAYER else target.stem,
                driver=_GDAL_DRIVER.get(drv, drv),
                append=tmp in written,
                layer_options=_STABLE.get(drv),
            )
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise _gdal_write_error(target, name, tmpdir, exc) from exc
        except UnicodeEncodeError as exc:
            bad = exc.object[max(exc.start - 20, 0) : exc.end + 20]
            raise InputFormatError(
                f"{target}: layer {name!r} holds text that cannot be written as UTF-8 "
                f"({ascii(bad)}: U+{ord(exc.object[exc.start]):04X} is half of a UTF-16 pair, a "
                "lone surrogate); remove it from the data"
            ) from exc
        written.add(tmp)
    if drv == "GPKG":
        for tmp in written:
            _pin_gpkg_dates(tmp)


def _gdal_write_error(target: Path, layer: str, where: Path, exc: Exception) -> OutputWriteError:
    """Return the error of a failed GDAL write, saying when the disk is full (GDAL seldom does)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    full = "disk is full" in reason or "No space" in reason
    if full:
        reason = reason.rsplit(":", 1)[-1].strip() or reason  # drop the SQL GDAL quotes
    try:
        full = full or shutil.disk_usage(where).free < 1 << 20
    except OSError:
        pass
    if full:
        reason = f"no space left on the device: {reason}"
    return OutputWriteError(
        f"{target}: cannot write layer {layer!r} ({reason}); what was there is left as it was"
    )


#: Layer options that keep a format's bytes the same from run to run (dBase headers hold a date).
_STABLE = {"ESRI Shapefile": {"DBF_DATE_LAST_UPDATE": "2000-01-01"}}


#: What a GeoPackage written by beatplan records as each table's last change (GDAL writes the
#: time of writing): the same layers give the same bytes.
GPKG_DATE = "2000-01-01T00:00:00.000Z"


def _pin_gpkg_dates(gpkg: Path) -> None:
    """Set every table's ``last_change`` in ``gpkg`` to :data:`GPKG_DATE` (byte-stable output)."""
    con = sqlite3.connect(gpkg)
    try:
        with con:
            con.execute("UPDATE gpkg_contents SET last_change = ?", (GPKG_DATE,))
    finally:
        con.close()


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
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    folder: bool = False,
    files: Sequence[str | os.PathLike[str]] | None = None,
    owned: Callable[[str], bool] | None = None,
) -> Iterator[Path]:
    """Give a temporary path beside ``path`` to write; move it onto ``path`` when all went well.

    The output is written under a hidden temporary name in the same folder as ``path`` and
    moved into place only when the ``with`` block ends without an error, so a reader never sees
    it half-written, mixed with the output it replaces, or (on Linux, for a folder) absent.
    While the block runs the output is locked: a second writer of the same ``path`` fails at
    once. A writer killed at any moment leaves the old output or the new one, and its hidden
    leftovers are settled by the next writer of ``path`` (see :mod:`beatplan.geo._atomic`).

    Parameters
    ----------
    path : path-like
        The output. Its folder must exist.
    overwrite : bool, default False
        Replace what is at ``path``; without it an existing output is an error, raised on
        entering the block (before any work is done). An empty folder counts as free.
    folder : bool, default False
        Yield a new empty folder instead of a file name; it replaces the folder at ``path``
        whole.
    files : sequence of path-like, optional
        A set of sibling files (e.g. a Shapefile's ``.shp``, ``.shx``, ``.dbf`` ...), all in
        ``path``'s folder: yield a new empty folder, write each file under its own name, and
        they are moved into place together; those of ``files`` not written are removed.
        ``path`` names the set.
    owned : callable, optional
        With ``folder=True``: which names in an existing folder at ``path`` belong to this kind
        of output. A folder holding anything else is refused (it is replaced whole, so nothing
        else in it may be lost). Default: all.

    Yields
    ------
    pathlib.Path
        The temporary file (created empty, then closed) or folder to write.

    Raises
    ------
    OutputExistsError
        An output is at ``path`` and ``overwrite`` is false; ``path`` is a folder when a file
        is written (or the other way round); the folder holds names not ``owned``.
    OutputLockedError
        Another process or thread is writing ``path``.
    OutputWriteError
        Writing failed for want of space or permission, or another system error: one line
        naming ``path``; what was there is left as it was.

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
    parts = None if files is None else [Path(f) for f in files]
    try:
        with _atomic.locked(dest):
            _atomic.recover(dest)
            check_output_free(dest, overwrite=overwrite, folder=folder, files=parts, owned=owned)
            with _staged(dest, folder or parts is not None) as tmp:
                try:
                    yield tmp
                except OutputWriteError as exc:  # from a write inside: name the real path
                    raise OutputWriteError(str(exc).replace(str(tmp), str(dest))) from exc
                if parts is not None:
                    _atomic.commit_files(tmp, dest, parts)
                elif folder:
                    _copy_mode(dest, tmp)
                    _atomic.commit_folder(tmp, dest)
                else:
                    os.chmod(tmp, 0o666 & ~_umask())  # created 0600; give the usual file mode
                    _atomic.commit_file(tmp, dest)
    except BeatplanError:
        raise
    except OSError as exc:
        raise _atomic.write_error(dest, exc) from exc


@contextmanager
def _staged(dest: Path, folder: bool) -> Iterator[Path]:
    """Create the staging file or folder; remove it if the block fails."""
    tmp = _atomic.new_name(dest)
    if folder:
        tmp.mkdir()
    else:
        os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield tmp
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def check_output_free(
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    folder: bool = False,
    files: Sequence[str | os.PathLike[str]] | None = None,
    owned: Callable[[str], bool] | None = None,
) -> None:
    """Refuse an output that exists (unless ``overwrite``) or is the wrong kind.

    :func:`atomic_output` checks this under its lock; call it first to fail before long work.
    The parameters are :func:`atomic_output`'s.

    Raises
    ------
    OutputExistsError
        As :func:`atomic_output` says.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> check_output_free(pathlib.Path(tempfile.mkdtemp()), folder=True)  # an empty folder
    """
    dest = Path(path)
    parts = None if files is None else [Path(f) for f in files]
    if parts is not None:
        existing = [str(p) for p in parts if p.exists()]
        if existing and not overwrite:
            raise OutputExistsError(
                f"{', '.join(existing)}: already exist{'s' if len(existing) == 1 else ''}; pass "
                "overwrite=True (--overwrite on the command line) to replace, or choose another "
                "name"
            )
        return
    if not dest.exists():
        return
    if folder and not dest.is_dir():
        raise OutputExistsError(f"{dest}: exists and is not a folder; give a folder")
    if not folder and dest.is_dir():
        raise OutputExistsError(f"{dest}: is a folder; give a file name for the output")
    if not folder:
        if not overwrite:
            raise OutputExistsError(
                f"{dest}: the file exists; pass overwrite=True (--overwrite) to replace it"
            )
        return
    names = sorted(e.name for e in os.scandir(dest))
    foreign = [n for n in names if owned is not None and not owned(n)]
    if foreign:
        raise OutputExistsError(
            f"{dest}: holds {', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}, not "
            "part of this output; the folder is replaced whole, so nothing else may be in it: "
            "give a new or empty folder"
        )
    if names and not overwrite:
        raise OutputExistsError(
            f"{dest}: the folder exists and holds {len(names)} output file(s) "
            f"({', '.join(names[:5])}{' ...' if len(names) > 5 else ''}); pass overwrite=True "
            "(--overwrite) to replace it, or choose another folder"
        )


def _copy_mode(old: Path, new: Path) -> None:
    """Give the new folder the permissions of the one it replaces."""
    try:
        os.chmod(new, old.stat().st_mode & 0o7777)
    except FileNotFoundError:
        pass


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
        f"{valid} (or pass driver= to write_layers)"
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


def _sidecars(target: Path, drv: str) -> list[Path]:
    """Return the index files an old Shapefile may have beside it (they describe old shapes)."""
    if drv != "ESRI Shapefile":
        return []
    stem = target.with_suffix("")
    return [Path(f"{stem}{s}") for s in _SHP_SIDECARS]


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
                target.name,  # (the folder may be a hidden staging folder)
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
