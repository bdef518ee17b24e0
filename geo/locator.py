"""Point location: which ward, beat or NPA is this point in.

:class:`Locator` answers "which area holds this point" for one polygon layer or for a
hierarchy of layers (ward, beat, sector, NPA ...), fast enough for call handling:

* one point (:meth:`Locator.locate`): a ``shapely.STRtree`` lookup of the point's box, then
  an exact covers test (``shapely.intersects_xy`` on prepared polygons) on the few
  candidates — about ten microseconds;
* many points (:meth:`Locator.locate_many`), vectorised with numpy: a uniform grid over
  each level answers most points by the cell they fall in (a cell that no polygon meets,
  or that exactly one polygon meets and covers); the rest get the same exact test against
  their cell's few candidate polygons. Batches under 5,000 points use a ``shapely.STRtree``
  box query and the exact test instead (no grid to build). The answers are identical;
* the rtree index (and the grid) are kept on disk by :meth:`Locator.save` and reopened by
  :meth:`Locator.load` without being rebuilt.

Rules that hold for both ways of asking, so that they always agree:

* **Covers**: a point on a polygon's boundary is inside it.
* **One answer**: a point covered by several polygons of a level (on a shared edge or
  vertex, or where polygons overlap) gets the one with the **smallest id** in Python string
  order (``"0111" < "1713"``; ``"10" < "9"``).
* **Outside**: a point covered by no polygon gets ``None`` (``<NA>`` in bulk), or, when a
  ``tolerance`` (metres) is given, the nearest polygon within that distance; equal
  distances go to the smallest id.
* **Bad coordinates**: NaN or infinite coordinates (and null or empty points) get ``None``.
* **Threads**: one locator may be shared by any number of threads calling :meth:`Locator.locate`
  and :meth:`Locator.locate_many` at once (libspatialindex is not thread-safe, so its rtree
  serves only the tolerance search of one point, under a lock; the STRtree and grid are built
  once and only read). Do not :meth:`Locator.close` it while others still ask.
* **Metres inside**: every level is held in one projected CRS (the one named, else the
  first layer's when projected, else :func:`beatplan.geo.crs.working_crs`); points given in another
  CRS are transformed into it (``always_xy``: longitude first for lon/lat).
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import shapely
from pyproj import CRS, Transformer
from rtree import index as rindex

import beatplan.geo._locator_index as _index
from beatplan.geo._locator_index import Grid, Level, disk_rtree, memory_rtree
from beatplan.geo.crs import check_crs_fits, parse_crs, transformer, working_crs
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    CRSMismatchError,
    DuplicateIdError,
    EmptyInputError,
    GeometryError,
    InputFormatError,
    OptionError,
    OutputExistsError,
    check_option,
)
from beatplan.geo.write import atomic_output

__all__ = ["Locator"]

log = logging.getLogger("beatplan")

#: The manifest a saved locator folder holds; its presence marks the folder as ours.
MANIFEST = "locator.json"
_FORMAT = "beatplan-locator"
_VERSION = 1
_MAX_LISTED = 10

Answer = str | None | dict[str, str | None]


def _listing(items: Sequence[Any]) -> str:
    shown = ", ".join(repr(i) for i in items[:_MAX_LISTED])
    more = len(items) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


class Locator:
    """Find the area (or the area of each level) that holds a point.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        Polygons or MultiPolygons with a CRS and a column of unique ids.
    id_col : str
        The id column; ids are compared and returned as strings.
    level : str
        The level's name: the column name in :meth:`locate_many`'s result.
    crs : optional
        The projected CRS to hold the polygons in. By default the layer's own CRS when
        projected, else the working CRS (:func:`beatplan.geo.crs.working_crs`).

    Raises
    ------
    CRSError
        The layer has no CRS, or its coordinates do not fit the CRS it declares.
    ColumnNotFoundError
        ``id_col`` is not a column of the layer.
    DuplicateIdError
        An id is repeated (dissolve by the id column first).
    EmptyInputError
        The layer has no features.
    GeometryError
        A geometry is null, empty or not a (Multi)Polygon.
    InputFormatError
        The layer is not a GeoDataFrame, or an id is null.

    See Also
    --------
    Locator.from_layers : a hierarchy of levels.
    Locator.load : reopen a locator saved with :meth:`save`.

    Notes
    -----
    A point on a boundary is inside (covers). A point covered by several polygons of one
    level gets the one with the smallest id (Python string order); :meth:`locate` and
    :meth:`locate_many` always agree. A point outside every polygon gets ``None`` unless a
    ``tolerance`` is given.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> squares = [box(450_000, 300_000, 451_000, 301_000), box(451_000, 300_000, 452_000, 301_000)]
    >>> beats = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=squares, crs=27700)
    >>> loc = Locator(beats, level="beat")
    >>> loc.locate(450_500, 300_500), loc.locate(451_000, 300_500), loc.locate(453_000, 300_500)
    ('A', 'A', None)
    >>> loc.locate(452_010, 300_500, tolerance=20)
    'B'
    >>> loc.locate_many([450_500, 451_500, float("nan")], [300_500] * 3)["beat"].tolist()
    ['A', 'B', <NA>]
    """

    _levels: list[Level]
    _crs: CRS
    _single: bool
    _transformers: dict[Hashable, Transformer | None]

    def __init__(
        self,
        layer: gpd.GeoDataFrame,
        *,
        id_col: str = "id",
        level: str = "area",
        crs: Any = None,
    ) -> None:
        self._build({level: layer}, {level: id_col}, crs=crs, single=True)

    @classmethod
    def from_layers(
        cls,
        layers: Mapping[str, gpd.GeoDataFrame],
        *,
        id_col: str | Mapping[str, str] = "id",
        crs: Any = None,
    ) -> Locator:
        """Build a locator for a hierarchy of levels, each with its own index.

        Parameters
        ----------
        layers : mapping of str to GeoDataFrame
            Level name to its polygon layer, smallest level first (e.g.
            ``{"ward": wards, "beat": beats, "npa": npas}``); the order is kept in results.
        id_col : str or mapping of str to str
            The id column of every layer, or of each level by name.
        crs : optional
            The projected CRS to hold every level in. By default the first layer's CRS when
            projected, else the working CRS of all layers. Layers in other CRSs are
            reprojected, never mixed.

        Returns
        -------
        Locator
            :meth:`locate` returns a dict level -> id; :meth:`locate_many` one column per level.

        Raises
        ------
        EmptyInputError
            ``layers`` is empty (or any layer is).
        ColumnNotFoundError
            ``id_col`` names no id column for a level.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> west = box(450_000, 300_000, 451_000, 301_000)
        >>> east = box(451_000, 300_000, 452_000, 301_000)
        >>> beats = gpd.GeoDataFrame({"id": ["A", "B"]}, geometry=[west, east], crs=27700)
        >>> npas = gpd.GeoDataFrame({"id": ["N1"]}, geometry=[west.union(east)], crs=27700)
        >>> Locator.from_layers({"beat": beats, "npa": npas}).locate(451_500, 300_500)
        {'beat': 'B', 'npa': 'N1'}
        """
        if not isinstance(layers, Mapping) or len(layers) == 0:
            raise EmptyInputError(
                "Locator.from_layers: layers must be a non-empty mapping of level name to "
                f"GeoDataFrame, e.g. {{'beat': beats, 'npa': npas}}; got {layers!r:.80}"
            )
        if isinstance(id_col, str):
            id_cols = {name: id_col for name in layers}
        else:
            missing = [name for name in layers if name not in id_col]
            if missing:
                raise ColumnNotFoundError(
                    f"Locator.from_layers: id_col gives no id column for level(s) "
                    f"{_listing(missing)}; give one per level or a single str for all"
                )
            id_cols = {name: id_col[name] for name in layers}
        self = cls.__new__(cls)
        self._build(dict(layers), id_cols, crs=crs, single=False)
        return self

    # -- construction ----------------------------------------------------------------------
    def _build(
        self,
        layers: dict[str, gpd.GeoDataFrame],
        id_cols: dict[str, str],
        *,
        crs: Any,
        single: bool,
    ) -> None:
        for name in layers:
            if not isinstance(name, str) or not name:
                raise OptionError(f"Locator: level names must be non-empty strings; got {name!r}")
        for name, layer in layers.items():
            _check_layer_frame(name, layer)
        target = _choose_crs(layers, crs)
        levels = []
        for name, layer in layers.items():
            ids, geoms = _prepare_layer(name, layer, id_cols[name], target)
            levels.append(Level(name, id_cols[name], ids, geoms, memory_rtree(geoms)))
        self._init(levels, target, single)
        log.info(
            "Locator: %s in %s",
            ", ".join(f"{lv.name} ({len(lv.ids)} polygons)" for lv in levels),
            target.to_string(),
        )

    def _init(self, levels: list[Level], crs: CRS, single: bool) -> None:
        self._levels = levels
        self._crs = crs
        self._single = single
        self._transformers = {}

    # -- properties ------------------------------------------------------------------------
    @property
    def crs(self) -> CRS:
        """The projected CRS the polygons are held in; plain coordinates are taken in it."""
        return self._crs

    @property
    def levels(self) -> tuple[str, ...]:
        """The level names, in the order given (one for a single layer)."""
        return tuple(lv.name for lv in self._levels)

    def ids(self, level: str | None = None) -> list[str]:
        """Return the ids of one level, sorted (the tie-break order).

        Parameters
        ----------
        level : str, optional
            The level; may be omitted for a single-layer locator.

        Returns
        -------
        list of str
        """
        return list(self._level(level).ids)

    def _level(self, level: str | None) -> Level:
        if level is None:
            if len(self._levels) != 1:
                raise OptionError(
                    f"Locator.ids: this locator has levels {list(self.levels)}; name one"
                )
            return self._levels[0]
        check_option("level", level, self.levels)
        return self._levels[self.levels.index(level)]

    def __repr__(self) -> str:
        sizes = ", ".join(f"{lv.name}={len(lv.ids)}" for lv in self._levels)
        return f"Locator({sizes}; crs={self._crs.to_string()!r})"

    # -- locating --------------------------------------------------------------------------
    def locate(
        self, x: float, y: float, *, crs: Any = None, tolerance: float | None = None
    ) -> Answer:
        """Return the area holding one point.

        Parameters
        ----------
        x, y : float
            The point, in the locator's CRS unless ``crs`` is given (for lon/lat give
            longitude as ``x``).
        crs : optional
            The CRS of ``x``, ``y`` (e.g. ``4326``); the point is transformed.
        tolerance : float, optional
            For a point outside every polygon: the nearest polygon within this many metres
            (units of the locator's CRS). ``None`` or 0: outside means ``None``.

        Returns
        -------
        str, None or dict
            The id (single layer) or a dict level -> id for a hierarchy; ``None`` where no
            polygon holds the point or a coordinate is NaN.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> square = box(450_000, 300_000, 451_000, 301_000)
        >>> layer = gpd.GeoDataFrame({"id": ["A"]}, geometry=[square], crs=27700)
        >>> loc = Locator(layer)
        >>> loc.locate(450_500, 300_500)
        'A'
        >>> loc.locate(-1.2558, 52.5999, crs=4326)  # longitude, latitude
        'A'
        """
        tol = _check_tolerance(tolerance) if tolerance is not None else 0.0
        try:
            x, y = float(x), float(y)
        except (TypeError, ValueError) as exc:
            raise InputFormatError(
                f"Locator.locate: x and y must be numbers; got x={x!r}, y={y!r}"
            ) from exc
        if crs is not None:
            transformer = self._transformer(crs)
            if transformer is not None:
                x, y = transformer.transform(x, y)
        ok = math.isfinite(x) and math.isfinite(y)
        if self._single:
            return self._levels[0].locate_one(x, y, tol) if ok else None
        return {lv.name: (lv.locate_one(x, y, tol) if ok else None) for lv in self._levels}

    def locate_many(
        self,
        points: Any,
        y: Any = None,
        *,
        crs: Any = None,
        tolerance: float | None = None,
    ) -> pd.DataFrame:
        """Locate many points at once.

        Parameters
        ----------
        points : GeoSeries, GeoDataFrame, array of shape (n, 2), or array-like of x
            Points in any CRS (a GeoSeries or GeoDataFrame must carry its CRS or be given
            ``crs``); or the x coordinates when ``y`` is given; or an ``(n, 2)`` array.
            Null or empty points and NaN coordinates give <NA>.
        y : array-like, optional
            The y coordinates, same length as ``points`` (taken by position).
        crs : optional
            The CRS of plain coordinates (default: the locator's), or of a GeoSeries that has
            none.
        tolerance : float, optional
            As in :meth:`locate`.

        Returns
        -------
        pandas.DataFrame
            One column per level (pandas "string" dtype, <NA> where not located), aligned to
            the input's index (a RangeIndex for arrays).

        Raises
        ------
        CRSError
            A GeoSeries without CRS and no ``crs`` given.
        CRSMismatchError
            A GeoSeries whose CRS differs from the ``crs`` given.
        GeometryError
            A geometry that is not a point.
        InputFormatError
            Coordinates that are not numbers, or ``points`` and ``y`` of different lengths.

        Examples
        --------
        >>> import geopandas as gpd
        >>> from shapely import box
        >>> square = box(450_000, 300_000, 451_000, 301_000)
        >>> layer = gpd.GeoDataFrame({"id": ["A"]}, geometry=[square], crs=27700)
        >>> Locator(layer, level="beat").locate_many([450_500, 460_000], [300_500] * 2)
           beat
        0     A
        1  <NA>
        """
        tol = _check_tolerance(tolerance) if tolerance is not None else 0.0
        index, x, y_arr, geoms = self._coordinates(points, y, crs)
        ok = np.isfinite(x) & np.isfinite(y_arr)
        sel = np.flatnonzero(ok)
        xs, ys = x[sel], y_arr[sel]
        pts = geoms[sel] if geoms is not None else None
        if pts is None and len(sel) < _index.GRID_MIN_POINTS:  # made once for every level
            pts = shapely.points(xs, ys)
        columns = {}
        for lv in self._levels:
            ranks = np.full(len(x), -1, dtype=np.int64)
            ranks[sel] = lv.locate_bulk(xs, ys, pts, tol)
            columns[lv.name] = lv.id_array(ranks)
        return pd.DataFrame(columns, index=index)

    def _coordinates(
        self, points: Any, y: Any, crs: Any
    ) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray | None]:
        """Return the index, x, y in the locator's CRS, and point geometries if reusable."""
        if isinstance(points, gpd.GeoDataFrame):
            points = points.geometry
        if isinstance(points, gpd.GeoSeries | gpd.array.GeometryArray):
            if y is not None:
                raise InputFormatError(
                    "Locator.locate_many: y must not be given with point geometries"
                )
            series = gpd.GeoSeries(points) if not isinstance(points, gpd.GeoSeries) else points
            src = _points_crs(series, crs)
            geoms, x, y_arr = _point_xy(series)
            transformer = self._transformer(src)
            if transformer is not None:
                x, y_arr = _transform(transformer, x, y_arr)
                return series.index, x, y_arr, None
            return series.index, x, y_arr, geoms
        x, y_arr = _plain_xy(points, y)
        index = points.index if isinstance(points, pd.Series) else pd.RangeIndex(len(x))
        if crs is not None:
            transformer = self._transformer(crs)
            if transformer is not None:
                x, y_arr = _transform(transformer, x, y_arr)
        return index, x, y_arr, None

    def _transformer(self, crs: Any) -> Transformer | None:
        """Return a cached transformer from ``crs`` to the locator's CRS; None when equal."""
        key: Hashable = crs if isinstance(crs, int | str) else parse_crs(crs).to_wkt()
        try:
            return self._transformers[key]
        except KeyError:
            pass
        src = parse_crs(crs)
        t = None if src.equals(self._crs) else transformer(src, self._crs)
        self._transformers[key] = t
        return t

    # -- saving and loading ----------------------------------------------------------------
    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the locator to a folder that :meth:`load` reopens without rebuilding.

        The folder holds ``locator.json`` (format, CRS, levels), and per level an rtree disk
        index (``levelN.idx``/``levelN.dat``, entry ids = tie-break ranks), a GeoParquet
        file of ids and polygons (``levelN.parquet``, WKB) and the bulk-lookup grid
        (``levelN.grid.npz``, plain arrays). It is written to a temporary folder beside
        ``path`` and renamed into place.

        Parameters
        ----------
        path : path
            The folder to write.
        overwrite : bool
            Replace an existing saved locator at ``path``. A folder that is not a saved
            locator is never replaced.

        Returns
        -------
        pathlib.Path
            ``path``, the folder now holding the saved locator.

        Raises
        ------
        OutputExistsError
            ``path`` exists and ``overwrite`` is false, or it is not a saved locator.
        """
        dest = Path(path)
        if dest.exists():
            if not overwrite:
                raise OutputExistsError(
                    f"{dest}: exists; pass overwrite=True to replace the saved locator"
                )
            if not (dest.is_dir() and (dest / MANIFEST).is_file()):
                raise OutputExistsError(
                    f"{dest}: exists and is not a saved locator (no {MANIFEST}); "
                    "choose another path"
                )
        dest.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(dest, overwrite=overwrite, folder=True) as tmp:
            self._write_files(tmp)
        log.info("Locator saved to %s", dest)
        return dest

    def _write_files(self, folder: Path) -> None:
        """Write the manifest and each level's rtree, polygons and grid into ``folder``."""
        manifest: dict[str, Any] = {
            "format": _FORMAT,
            "version": _VERSION,
            "crs": self._crs.to_wkt(),
            "single": self._single,
            "levels": [],
        }
        for k, lv in enumerate(self._levels):
            stem = f"level{k}"
            disk_rtree(folder / stem, lv.geoms).close()
            frame = gpd.GeoDataFrame(
                {"id": pd.array(lv.ids, dtype="string")},
                geometry=gpd.GeoSeries(lv.geoms, crs=self._crs),
            )
            frame.to_parquet(folder / f"{stem}.parquet", index=False)
            lv.grid.save(folder / f"{stem}.grid.npz")
            manifest["levels"].append(
                {"name": lv.name, "id_col": lv.id_col, "stem": stem, "count": len(lv.ids)}
            )
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Locator:
        """Reopen a locator written by :meth:`save`; its indexes are read, not rebuilt.

        Parameters
        ----------
        path : path
            The folder :meth:`save` wrote. Its directory must be writable (libspatialindex
            opens disk indexes for update); the files are not changed.

        Returns
        -------
        Locator

        Raises
        ------
        InputFormatError
            The folder is not a saved locator, or its files are missing or disagree.
        """
        src = Path(path)
        manifest = _read_manifest(src)
        crs = CRS.from_wkt(manifest["crs"])
        levels = [_load_level(src, entry) for entry in manifest["levels"]]
        self = cls.__new__(cls)
        self._init(levels, crs, bool(manifest.get("single", len(levels) == 1)))
        log.info("Locator loaded from %s", src)
        return self

    def close(self) -> None:
        """Close the rtree indexes (and their files, for a loaded locator)."""
        for lv in self._levels:
            lv.close()

    def __enter__(self) -> Locator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- helpers ---------------------------------------------------------------------------------
def _read_manifest(src: Path) -> dict[str, Any]:
    """Read a saved locator's manifest; refuse a folder that is not one, or another version."""
    where = src / MANIFEST
    try:
        manifest: dict[str, Any] = json.loads(where.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputFormatError(
            f"{src}: not a saved locator ({MANIFEST} missing or unreadable: {exc}); "
            "write one with Locator.save(path)"
        ) from exc
    if manifest.get("format") != _FORMAT or manifest.get("version") != _VERSION:
        raise InputFormatError(
            f"{where}: expected format {_FORMAT!r} version {_VERSION}, found "
            f"{manifest.get('format')!r} version {manifest.get('version')!r}; "
            "save the locator again with this version of beatplan"
        )
    return manifest


def _load_level(src: Path, entry: dict[str, Any]) -> Level:
    """Reopen one saved level: its ids and polygons, rtree and grid, checked to agree."""
    stem = src / entry["stem"]
    missing = [
        f"{stem}{ext}"
        for ext in (".idx", ".dat", ".parquet", ".grid.npz")
        if not Path(f"{stem}{ext}").is_file()
    ]
    if missing:
        raise InputFormatError(
            f"{src}: level {entry['name']!r} lacks {_listing(missing)}; save the locator again"
        )
    table = pq.read_table(f"{stem}.parquet", columns=["id", "geometry"])
    ids = np.asarray(table.column("id").to_pylist(), dtype=object)
    geoms = shapely.from_wkb(table.column("geometry").to_numpy(zero_copy_only=False))
    shapely.prepare(geoms)
    try:
        tree = rindex.Index(str(stem))
    except (OSError, rindex.RTreeError) as exc:
        raise InputFormatError(
            f"{stem}.idx: cannot open the rtree index ({exc}); the folder must be "
            "writable (libspatialindex opens indexes for update) and the files intact"
        ) from exc
    n = len(ids)
    found = tree.count(tree.bounds) if n else 0
    if n != entry["count"] or found != n or list(ids) != sorted(ids):
        tree.close()
        raise InputFormatError(
            f"{src}: level {entry['name']!r} is inconsistent (manifest {entry['count']} "
            f"polygons, parquet {n}, rtree {found} entries); save the locator again"
        )
    try:
        with np.load(f"{stem}.grid.npz", allow_pickle=False) as arrays:
            grid = Grid.from_arrays(arrays, n)
    except (OSError, ValueError, KeyError) as exc:
        tree.close()
        raise InputFormatError(
            f"{stem}.grid.npz: not a valid grid for level {entry['name']!r} ({exc}); "
            "save the locator again"
        ) from exc
    return Level(entry["name"], entry["id_col"], ids, geoms, tree, grid)


def _check_tolerance(tolerance: Any) -> float:
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        tol = float("nan")
    if isinstance(tolerance, bool) or not math.isfinite(tol) or tol < 0:
        raise OptionError(
            f"tolerance={tolerance!r} is not a distance; give a finite number of metres >= 0 "
            "(or None for no tolerance)"
        )
    return tol


def _as_float(values: Any, what: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputFormatError(
            f"Locator.locate_many: {what} must be numbers (NaN for missing); {exc}"
        ) from exc


def _points_crs(series: gpd.GeoSeries, crs: Any) -> Any:
    """Return the points' CRS: their own, else ``crs``; refuse none, or two that differ."""
    src = series.crs
    if src is None:
        if crs is None:
            raise CRSError(
                "Locator.locate_many: the points have no CRS; set one with "
                ".set_crs(...) or pass crs=..."
            )
        return parse_crs(crs)
    if crs is not None and not CRS.from_user_input(src).equals(parse_crs(crs)):
        raise CRSMismatchError(
            f"Locator.locate_many: the points declare {src.to_string()} but "
            f"crs={crs!r} was given; drop crs= or fix the points' CRS"
        )
    return src


def _point_xy(series: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the geometries and their x, y (NaN for null or empty); refuse non-points."""
    geoms = np.asarray(series.array, dtype=object)
    types = shapely.get_type_id(geoms)
    bad = (types != shapely.GeometryType.POINT) & (types != shapely.GeometryType.MISSING)
    if bad.any():
        labels = series.index[bad].tolist()
        raise GeometryError(
            f"Locator.locate_many: expected Point geometries but {int(bad.sum())} "
            f"are not points (index {_listing(labels)}); pass their centroids or "
            "representative points"
        )
    blank = (types == shapely.GeometryType.MISSING) | shapely.is_empty(geoms)
    if not blank.any():
        return geoms, shapely.get_x(geoms), shapely.get_y(geoms)
    real = np.flatnonzero(~blank)  # get_x raises on empty points: take only the others
    x = np.full(len(geoms), np.nan)
    y = np.full(len(geoms), np.nan)
    x[real] = shapely.get_x(geoms[real])
    y[real] = shapely.get_y(geoms[real])
    return geoms, x, y


def _plain_xy(points: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return x and y from separate arrays, or from one array of shape (n, 2)."""
    if y is None:
        arr = _as_float(points, "points")
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InputFormatError(
                "Locator.locate_many: give point geometries, x and y arrays, or one array "
                f"of shape (n, 2); got an array of shape {arr.shape}"
            )
        return arr[:, 0], arr[:, 1]
    x, y_arr = _as_float(points, "x"), _as_float(y, "y")
    if x.ndim != 1 or y_arr.ndim != 1 or len(x) != len(y_arr):
        raise InputFormatError(
            "Locator.locate_many: x and y must be one-dimensional and of equal length; "
            f"got shapes {x.shape} and {y_arr.shape}"
        )
    return x, y_arr


def _transform(t: Transformer, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    tx, ty = t.transform(x, y)
    return np.asarray(tx, dtype=float), np.asarray(ty, dtype=float)


def _check_layer_frame(name: str, layer: Any) -> None:
    if not isinstance(layer, gpd.GeoDataFrame):
        raise InputFormatError(
            f"Locator: level {name!r} must be a GeoDataFrame of polygons; got "
            f"{type(layer).__name__}"
        )
    if len(layer) == 0:
        raise EmptyInputError(
            f"Locator: level {name!r} has no features; give a layer with at least one polygon"
        )
    if layer.crs is None:
        raise CRSError(
            f"Locator: level {name!r} has no CRS; set the one its coordinates are in with "
            "layer.set_crs('EPSG:...') (e.g. 'EPSG:27700', or 'EPSG:4326' for lon/lat)"
        )


def _choose_crs(layers: dict[str, gpd.GeoDataFrame], crs: Any) -> CRS:
    if crs is not None:
        return working_crs(crs=crs)
    first = CRS.from_user_input(next(iter(layers.values())).crs)
    if first.is_projected:
        return first
    return working_crs(*layers.values())


def _prepare_layer(
    name: str, layer: gpd.GeoDataFrame, id_col: str, crs: CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Check one layer; return its sorted str ids and geometries (copied, in ``crs``, prepared)."""
    ids = _layer_ids(name, layer, id_col)
    geoms = _layer_geometries(name, layer, ids, crs)
    order = np.argsort(ids, kind="stable")
    ids, geoms = ids[order], geoms[order]
    shapely.prepare(geoms)
    return ids, geoms


def _layer_ids(name: str, layer: gpd.GeoDataFrame, id_col: str) -> np.ndarray:
    """Return the layer's ids as str; refuse a missing column, null ids and repeated ids."""
    if id_col not in layer.columns:
        raise ColumnNotFoundError(
            f"Locator: level {name!r} has no id column {id_col!r}; its columns are "
            f"{_listing([c for c in layer.columns if c != layer.geometry.name])}; pass id_col=..."
        )
    raw = layer[id_col]
    null = raw.isna().to_numpy()
    if null.any():
        raise InputFormatError(
            f"Locator: level {name!r} column {id_col!r} has {int(null.sum())} null id(s) "
            f"(rows {_listing(np.flatnonzero(null).tolist())}); every polygon needs an id"
        )
    ids = np.asarray([str(v) for v in raw.tolist()], dtype=object)
    uniq, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        dup = [f"{u} (x{c})" for u, c in zip(uniq[counts > 1], counts[counts > 1], strict=True)]
        raise DuplicateIdError(
            f"Locator: level {name!r} column {id_col!r} repeats {len(dup)} id(s): "
            f"{', '.join(dup[:_MAX_LISTED])}{' ...' if len(dup) > _MAX_LISTED else ''}; "
            f"merge their polygons first, e.g. layer.dissolve(by={id_col!r}, as_index=False)"
        )
    return ids


def _layer_geometries(name: str, layer: gpd.GeoDataFrame, ids: np.ndarray, crs: CRS) -> np.ndarray:
    """Return our own copies of the layer's polygons, in ``crs``.

    Refuses geometries that are not (Multi)Polygons and a CRS the coordinates cannot be in;
    warns of invalid polygons.
    """
    geoms = np.asarray(layer.geometry.array, dtype=object)
    types = np.asarray(shapely.get_type_id(geoms))
    polygonal = (types == shapely.GeometryType.POLYGON) | (
        types == shapely.GeometryType.MULTIPOLYGON
    )
    bad = ~polygonal | shapely.is_empty(geoms)
    if bad.any():
        kinds = sorted({"null" if g is None else g.geom_type for g in geoms[bad]})
        raise GeometryError(
            f"Locator: level {name!r} needs Polygon or MultiPolygon geometries, but "
            f"{int(bad.sum())} feature(s) are {'/'.join(kinds)} or empty "
            f"(ids {_listing(ids[bad].tolist())}); drop or fix them"
        )
    src = CRS.from_user_input(layer.crs)
    problem = check_crs_fits(tuple(layer.total_bounds), src, what=f"Locator level {name!r}")
    if problem:
        raise CRSError(problem)
    if src.equals(crs):
        geoms = shapely.from_wkb(shapely.to_wkb(geoms))  # our own copies: prepare() mutates
    else:
        geoms = np.asarray(gpd.GeoSeries(geoms, crs=src).to_crs(crs).array, dtype=object)
    invalid = ~shapely.is_valid(geoms)
    if invalid.any():
        log.warning(
            "Locator: level %r has %d invalid polygon(s) (ids %s); answers near their "
            "faults may be wrong: repair them with shapely.make_valid",
            name,
            int(invalid.sum()),
            _listing(ids[invalid].tolist()),
        )
    return geoms
