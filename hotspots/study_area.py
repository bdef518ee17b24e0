"""The study area: where hotspots are looked for, and what coverage and PAI are measured against.

A hotspot map covers a share of an area (its *coverage*), and its PAI divides the share of
later incidents it holds by that share, so every number depends on the area. It is the
force's area (its wards, or a plan's ``force`` layer) when one is given with ``study_area=``;
without one it is derived from the incidents by :func:`derive_study_area`, a rule that stray
points cannot inflate: police.uk files carry incidents placed far outside the force (up to
300 km away), and the convex hull of every point would be dozens of times the force's area.

Incidents outside the study area are counted and reported (``params["outside_study_area"]``),
never used.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> town = rng.uniform(0, 20_000, (5_000, 2))           # a 20 km square of incidents
>>> strays = rng.uniform(100_000, 300_000, (30, 2))     # and 30 placed far away
>>> sa = derive_study_area(np.r_[town, strays])
>>> round(sa.km2), int((~sa.inside(np.r_[town, strays])).sum())
(399, 30)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from beatplan.geo.errors import CRSError, EmptyInputError, GeometryError, ValidationError

__all__ = [
    "CLOSING",
    "FOOTPRINT_CELL",
    "LINK",
    "LINK_CELL",
    "HasLayers",
    "StudyArea",
    "as_study_area",
    "check_coverage",
    "derive_study_area",
    "locate_study_area",
    "read_share",
]

#: Side (m) of the cells whose occupied set, closed, makes a derived study area.
FOOTPRINT_CELL = 500.0
#: Gaps narrower than this (m) between occupied cells are closed (fields between villages).
CLOSING = 2_500.0
#: Side (m) of the coarse cells that decide which incidents belong to the force.
LINK_CELL = 2_500.0
#: Groups of incidents within this distance (m) of each other are one force area.
LINK = 10_000.0
#: Points inside the study area are tested on a raster of about this many cells per side.
_RASTER = 128


@runtime_checkable
class HasLayers(Protocol):
    """A boundary plan: named layers, small to large, with a ``force`` layer (BoundaryPlan)."""

    layers: Mapping[str, gpd.GeoDataFrame]


@dataclass(frozen=True)
class StudyArea:
    """The area hotspots are looked for in; coverage and PAI are shares of it.

    Attributes
    ----------
    geometry : shapely.Polygon or shapely.MultiPolygon
        In the working CRS (metres).
    how : str
        Where it came from, for ``params["how"]`` and for printing.
    derived : bool
        Derived from the incidents (no ``study_area=`` given).
    """

    geometry: shapely.Geometry
    how: str
    derived: bool = False

    def __post_init__(self) -> None:
        shapely.prepare(self.geometry)

    @property
    def area_m2(self) -> float:
        """Its area in square metres."""
        return float(self.geometry.area)

    @property
    def km2(self) -> float:
        """Its area in square kilometres."""
        return self.area_m2 / 1e6

    def describe(self) -> str:
        """One line: its size and where it came from."""
        return f"{self.km2:,.1f} km², {self.how}"

    def inside(self, xy: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which points lie inside (or on the edge of) the area.

        Points in raster cells wholly inside or wholly outside are decided by their cell;
        only those in cells crossing the edge are tested exactly.
        """
        xy = np.asarray(xy, dtype=float)
        state = self._states(xy)
        out = state == 1
        edge = np.flatnonzero(state == 2)
        if len(edge):
            out[edge] = shapely.intersects_xy(self.geometry, xy[edge, 0], xy[edge, 1])
        return out

    def deep_inside(self, xy: NDArray[np.float64]) -> NDArray[np.bool_]:
        """Which points lie in a part of the area far from its edge (a raster cell inside it).

        False says nothing; True is certain. Used to skip exact tests near the points.
        """
        return self._states(np.asarray(xy, dtype=float)) == 1

    def _states(self, xy: NDArray[np.float64]) -> NDArray[np.int8]:
        """Each point's raster cell: 0 outside (or off the raster), 1 inside, 2 on the edge."""
        out = np.zeros(len(xy), dtype=np.int8)
        if len(xy) == 0:
            return out
        raster = _raster(self.geometry)
        col = np.floor((xy[:, 0] - raster.x0) / raster.cell)
        row = np.floor((xy[:, 1] - raster.y0) / raster.cell)
        on = (col >= 0) & (col < raster.nx) & (row >= 0) & (row < raster.ny)
        flat = row[on].astype(np.int64) * raster.nx + col[on].astype(np.int64)
        out[on] = raster.state[flat]
        return out


@dataclass(frozen=True)
class _Raster:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    state: NDArray[np.int8]


_RASTERS: dict[int, tuple[shapely.Geometry, _Raster]] = {}


def _raster(geom: shapely.Geometry) -> _Raster:
    """Return a coarse raster of ``geom``: cells inside, outside or on the edge (cached)."""
    key = id(geom)
    hit = _RASTERS.get(key)
    if hit is not None and hit[0] is geom:
        return hit[1]
    minx, miny, maxx, maxy = geom.bounds
    cell = max(maxx - minx, maxy - miny, 1.0) / _RASTER
    nx = max(1, math.ceil((maxx - minx) / cell))
    ny = max(1, math.ceil((maxy - miny) / cell))
    rows, cols = np.divmod(np.arange(nx * ny), nx)
    boxes = shapely.box(minx + cols * cell, miny + rows * cell,
                        minx + (cols + 1) * cell, miny + (rows + 1) * cell)  # fmt: skip
    state = np.zeros(nx * ny, dtype=np.int8)
    touch = shapely.intersects(geom, boxes)
    state[touch] = 2
    state[touch & shapely.contains_properly(geom, boxes)] = 1
    raster = _Raster(float(minx), float(miny), float(cell), nx, ny, state)
    if len(_RASTERS) > 8:
        _RASTERS.clear()
    _RASTERS[key] = (geom, raster)
    return raster


def read_share(text: str) -> float:
    """Read a share written as text: ``"0.005"`` or a percent, ``"0.5%"``.

    Raises
    ------
    ValueError
        Not a number (the callers say what was expected).

    Examples
    --------
    >>> read_share("0.005"), read_share(" 0.5% ")
    (0.005, 0.005)
    """
    t = text.strip()
    return float(t[:-1]) / 100 if t.endswith("%") else float(t)


def check_coverage(coverage: float | str | None, what: str = "coverage") -> float | None:
    """Return ``coverage`` as a float share in (0, 1], or None; refuse anything else.

    A number is a share (``0.005``); text is a share or a percent (``"0.5%"``), as on the
    command line.

    Raises
    ------
    ValidationError
        Not a number, or not above 0 and at most 1 (a percent given as a share says so).

    Examples
    --------
    >>> check_coverage(0.005), check_coverage("0.5%"), check_coverage(" 0.005 ")
    (0.005, 0.005, 0.005)
    """
    if coverage is None:
        return None
    try:
        c = read_share(coverage) if isinstance(coverage, str) else float(coverage)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            what, [f"{what}={coverage!r} is not a share of the area (0.005) or a percent ('0.5%')"]
        ) from exc
    if not (math.isfinite(c) and 0 < c <= 1):
        hint = f" (for {c:g} % give {c / 100:g})" if 1 < c <= 100 else ""
        raise ValidationError(
            what, [f"{what}={coverage!r}: give a share of the study area above 0 and at most "
                   f"1, e.g. 0.005 for 0.5 %{hint}"]
        )  # fmt: skip
    return c


def as_study_area(
    source: Any, crs: CRS, *, xy: NDArray[np.float64] | None = None, what: str = "study_area"
) -> StudyArea:
    """Return ``source`` as a study area in ``crs``, or derive one from ``xy`` when it is None.

    Parameters
    ----------
    source : None, StudyArea, path, shapely polygon, GeoSeries, GeoDataFrame, mapping or plan
        A boundary layer or file (unioned; any CRS, reprojected), a polygon in ``crs``, a mapping of
        level name to layer or a :class:`beatplan.boundaries.BoundaryPlan` (its ``force``
        layer, else the union of its largest level). None: derived from ``xy``
        (:func:`derive_study_area`).
    crs : pyproj.CRS
        The working CRS (metres).
    xy : ndarray, shape (n, 2), optional
        The incidents, when the area is to be derived.
    what : str
        Name used in messages.

    Returns
    -------
    StudyArea

    Raises
    ------
    CRSError, EmptyInputError, ValidationError, GeometryError
        A layer without CRS, an empty layer, another type, not a polygon with an area.
    """
    if isinstance(source, StudyArea):
        return source
    if source is None:
        if xy is None:
            raise ValidationError(what, ["give a study area, or incidents to derive one from"])
        return derive_study_area(xy)
    layer, named = _layer_of(source, what)
    if layer is None:
        geom = _polygonal(source, what)
        lonlat = _looks_lonlat(geom.bounds)
        if crs.is_projected and lonlat:
            raise CRSError(
                f"{what}: the polygon's coordinates look like lon/lat degrees but the incidents "
                f"are in {crs.to_string()}; pass a GeoSeries with its CRS, or reproject it"
            )
        how = "given (a polygon)"
    else:
        if len(layer) == 0:
            raise EmptyInputError(f"{what}: the layer is empty")
        if layer.crs is None:
            raise CRSError(f"{what}: the layer has no CRS; set it with .set_crs(...)")
        if not CRS.from_user_input(layer.crs).equals(crs):
            layer = layer.to_crs(crs)
        geom = shapely.union_all(shapely.make_valid(np.asarray(layer.geometry.values)))
        how = f"given ({named}: {len(layer):,} feature{'s' if len(layer) != 1 else ''})"
    geom = _polygonal(geom, what)
    return StudyArea(geom, how)


def _layer_of(source: Any, what: str) -> tuple[gpd.GeoSeries | gpd.GeoDataFrame | None, str]:
    """Return the layer behind ``source`` and what it is, or (None, "") for a bare geometry."""
    if isinstance(source, str | os.PathLike):  # a boundary file (read_boundaries reads it)
        from beatplan.geo.layers import read_boundaries

        return read_boundaries(source), f"a layer read from {os.fspath(source)}"
    if isinstance(source, HasLayers) and not isinstance(source, Mapping):
        source = source.layers
    if isinstance(source, Mapping):
        if not source:
            raise EmptyInputError(f"{what}: the plan has no layers")
        name = "force" if "force" in source else list(source)[-1]
        layer = source[name]
        if not isinstance(layer, gpd.GeoDataFrame | gpd.GeoSeries):
            raise ValidationError(
                what, [f"{what}[{name!r}] is a {type(layer).__name__}, expected a GeoDataFrame"]
            )
        return layer, f"the plan's {name} layer"
    if isinstance(source, gpd.GeoDataFrame | gpd.GeoSeries):
        return source, "a layer"
    if isinstance(source, shapely.Geometry):
        return None, ""
    raise ValidationError(
        what,
        [f"expected a boundary file or layer (GeoDataFrame), a plan, or a polygon, found "
         f"{type(source).__name__}"],
    )  # fmt: skip


def _looks_lonlat(bounds: tuple[float, float, float, float]) -> bool:
    b = bounds
    return max(abs(b[0]), abs(b[2])) <= 180 and max(abs(b[1]), abs(b[3])) <= 90


def _polygonal(geom: shapely.Geometry, what: str) -> shapely.Geometry:
    """Return the polygons of ``geom`` as one (Multi)Polygon with an area, or raise."""
    if geom is not None and geom.geom_type == "GeometryCollection":
        parts = shapely.get_parts(geom)
        geom = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            f"{what}: expected a (Multi)Polygon, found "
            f"{'nothing' if geom is None or geom.is_empty else geom.geom_type}"
        )
    if geom.area <= 0:
        raise ValidationError(what, ["expected a polygon with a positive area"])
    return geom


def derive_study_area(xy: NDArray[np.float64]) -> StudyArea:
    """Derive a study area from incident coordinates, robust to stray far-away points.

    The rule, in metres of a projected CRS:

    1. **Which incidents are the force's.** The incidents are counted in cells of
       :data:`LINK_CELL` (2.5 km); occupied cells closer than :data:`LINK` (10 km, centre to
       centre) are linked, and the linked group holding the most incidents is the force.
       Incidents placed tens or hundreds of kilometres away fall outside it whatever their
       number, so they cannot inflate the area.
    2. **Its footprint.** The force's incidents are counted in cells of
       :data:`FOOTPRINT_CELL` (500 m); the occupied cells, closed with a disc of
       :data:`CLOSING` (2.5 km: fields between villages) and with their holes filled (parks,
       lakes), are the study area.

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Incident coordinates (metres).

    Returns
    -------
    StudyArea
        ``how`` says the rule and what it kept.

    Raises
    ------
    EmptyInputError
        No incidents.
    """
    return _derived(np.asarray(xy, dtype=float))[0]


def locate_study_area(
    source: Any, crs: CRS, xy: NDArray[np.float64], *, what: str = "study_area"
) -> tuple[StudyArea, NDArray[np.bool_]]:
    """Return the study area (given, or derived from ``xy``) and which points lie inside it.

    See :func:`as_study_area`; a derived area's inside test comes with its derivation.
    """
    if source is None:
        return _derived(np.asarray(xy, dtype=float))
    sa = as_study_area(source, crs, what=what)
    return sa, sa.inside(xy)


def _derived(xy: NDArray[np.float64]) -> tuple[StudyArea, NDArray[np.bool_]]:
    x, y = xy[:, 0], xy[:, 1]
    ok = np.isfinite(x) & np.isfinite(y)
    everything = bool(ok.all())
    if not everything:
        x, y = x[ok], y[ok]
    if len(x) == 0:
        raise EmptyInputError("study_area: no incidents to derive a study area from")
    cells, codes = _Cells.of(x, y, FOOTPRINT_CELL)
    kept = _force_cells(cells)
    geom = _footprint(cells, kept)
    n_kept = int(cells.counts[kept].sum())
    left = len(x) - n_kept
    how = (
        f"derived: the {FOOTPRINT_CELL:g} m cells holding incidents, gaps under "
        f"{CLOSING / 1000:g} km closed and holes filled, of the {n_kept:,} incidents in the "
        f"largest group of {LINK_CELL / 1000:g} km cells linked within {LINK / 1000:g} km" + (
            f" ({left:,} incident{'s' if left != 1 else ''} in groups farther away left out)"
            if left else ""
        )
    )  # fmt: skip
    sa = StudyArea(geom, how, derived=True)
    inside = kept[codes]
    if left:  # a far group could only lie inside the footprint in a filled hole: test exactly
        out = np.flatnonzero(~inside)
        inside[out] = shapely.intersects_xy(geom, x[out], y[out])
    if everything:
        return sa, inside
    full = np.zeros(len(xy), dtype=bool)
    full[ok] = inside
    return sa, full


@dataclass(frozen=True)
class _Cells:
    """The occupied cells of a square lattice: their column, row and incidents."""

    col: NDArray[np.int64]
    row: NDArray[np.int64]
    counts: NDArray[np.int64]
    cell: float

    @classmethod
    def of(
        cls, x: NDArray[np.float64], y: NDArray[np.float64], cell: float
    ) -> tuple[_Cells, NDArray[np.int64]]:
        """Count the points in cells of ``cell`` metres; also each point's cell."""
        ix = np.floor(np.divide(x, cell)).astype(np.int64)
        iy = np.floor(np.divide(y, cell)).astype(np.int64)
        x0, y0 = int(ix.min()), int(iy.min())
        span = int(iy.max()) - y0 + 1
        ix -= x0
        ix *= span
        ix += iy
        ix -= y0
        codes, uniq = pd.factorize(ix, sort=False)
        counts = np.bincount(codes, minlength=len(uniq)).astype(np.int64)
        uniq = np.asarray(uniq, dtype=np.int64)
        cells = cls(uniq // span + x0, uniq % span + y0, counts, float(cell))
        return cells, np.asarray(codes, dtype=np.int64)


def _force_cells(cells: _Cells) -> NDArray[np.bool_]:
    """Which occupied cells lie in the largest group of linked coarse cells."""
    factor = max(1, int(round(LINK_CELL / cells.cell)))
    cx, cy = cells.col // factor, cells.row // factor
    coarse = pd.MultiIndex.from_arrays([cx, cy])
    codes, uniq = pd.factorize(coarse)
    if len(uniq) == 1:
        return np.ones(len(cells.counts), dtype=bool)
    counts = np.bincount(codes, weights=cells.counts, minlength=len(uniq))
    centres = np.c_[uniq.get_level_values(0), uniq.get_level_values(1)] + 0.5
    centres = centres * (factor * cells.cell)
    pairs = cKDTree(centres).query_pairs(LINK * (1 + 1e-9), output_type="ndarray")
    graph = coo_matrix(
        (np.ones(len(pairs), dtype=bool), (pairs[:, 0], pairs[:, 1])),
        shape=(len(uniq), len(uniq)),
    )
    _, group = connected_components(graph, directed=False)
    main = int(np.argmax(np.bincount(group, weights=counts)))
    return np.asarray(group[codes] == main)


def _footprint(cells: _Cells, kept: NDArray[np.bool_]) -> shapely.Geometry:
    """Return the kept cells, closed and filled, as one polygon."""
    r = int(round(CLOSING / cells.cell))
    pad = r + 1
    col, row = cells.col[kept], cells.row[kept]
    c0, r0 = int(col.min()) - pad, int(row.min()) - pad
    nx, ny = int(col.max()) - c0 + pad + 1, int(row.max()) - r0 + pad + 1
    occ = np.zeros((ny, nx), dtype=bool)
    occ[row - r0, col - c0] = True
    d = np.arange(-r, r + 1)
    dx, dy = np.meshgrid(d, d)
    disc = dx * dx + dy * dy <= r * r
    closed = ndimage.binary_fill_holes(ndimage.binary_closing(occ, structure=disc) | occ)
    rows, cols = np.nonzero(closed)
    x = (cols + c0) * cells.cell
    y = (rows + r0) * cells.cell
    return shapely.coverage_union_all(shapely.box(x, y, x + cells.cell, y + cells.cell))
