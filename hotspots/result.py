"""The :class:`Hotspots` result and the assembly of hotspot polygons into a ranked table.

Every method ends the same way: each analysed incident is given a raw group (a connected run
of hot grid cells, or a density cluster) or none; each group has a polygon. :func:`assemble`
drops groups with too few incidents, ranks the rest, numbers them 1, 2, 3 … in rank order
and describes each: incidents, share, area, density, top crime types, months and hours, the
method and its parameters and, when boundaries are given, the areas it lies in or spans.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from scipy import ndimage

from beatplan.geo.errors import ColumnNotFoundError, CRSError, ValidationError, check_option
from beatplan.hotspots.grid import Grid
from beatplan.hotspots.study_area import StudyArea

__all__ = [
    "LEVELS",
    "RANK_BY",
    "Hotspots",
    "Surface",
    "assemble",
    "cell_polygons",
    "clipped",
    "covered_share",
    "fitting",
    "locate_in",
    "with_params",
]

log = logging.getLogger("beatplan")

#: Police-area level columns reported from a ward table, small to large.
LEVELS = ("beat", "sector", "npa", "lpa")
RANK_BY = ("excess", "incidents", "density", "score")
#: An area is reported for a hotspot when it holds at least this share of the hotspot's area.
MIN_OVERLAP = 0.01


@dataclass(frozen=True)
class Surface:
    """A grid surface behind a grid method's hotspots (Gi* or KDE).

    Attributes
    ----------
    grid : Grid
    mask : ndarray of bool
        The study region's cells.
    counts : ndarray
        Incidents per cell (unweighted).
    values : ndarray
        The value the statistic was computed on (weighted counts when weights were given).
    score : ndarray
        Gi* z or kernel density per cell (NaN outside the region for Gi*).
    hot : ndarray of bool
        Cells that passed the method's test (and the background test, when it is on).
    name : str
        What ``score`` is: ``"z"`` or ``"density"``.
    """

    grid: Grid
    mask: NDArray[np.bool_]
    counts: NDArray[np.float64]
    values: NDArray[np.float64]
    score: NDArray[np.float64]
    hot: NDArray[np.bool_]
    name: str


@dataclass(frozen=True)
class Hotspots:
    """Hotspots found in a set of incidents.

    Attributes
    ----------
    areas : geopandas.GeoDataFrame
        One row per hotspot, ranked (``hotspot`` 1 is the first), with columns ``hotspot``,
        ``incidents``, ``share``, ``area_m2``, ``density_km2``, ``excess`` (incidents beyond
        the area's share at the study region's mean density), ``score``, ``top_types``,
        ``first_month``, ``last_month``, ``months``, ``peak_hours``, ``method``, ``params``,
        the boundary columns when boundaries were given, and ``geometry``.
    labels : pandas.Series
        Aligned to the input's index (nullable Int64): the hotspot of each incident, ``-1``
        for an analysed incident in no hotspot, ``<NA>`` for one the filters left out.
    params : dict
        Every parameter used (values), plus ``params["how"]``: for each one, how it was
        chosen (given, or the data-driven rule and what it found).
    points : geopandas.GeoDataFrame
        The analysed incidents (after the filters), with a ``hotspot`` column.
    surface : Surface or None
        The grid surface of a grid method (Gi*, KDE); None for density clusters.
    messages : list of str
        What a user should know (incidents left out of the study area ...).
    study_area : StudyArea or None
        The area the hotspots were looked for in (given, or derived from the incidents):
        :attr:`coverage` is a share of it, and :func:`beatplan.hotspots.evaluate` scores
        against it by default.
    """

    areas: gpd.GeoDataFrame
    labels: pd.Series
    params: dict[str, Any]
    points: gpd.GeoDataFrame
    surface: Surface | None = None
    messages: list[str] = field(default_factory=list)
    study_area: StudyArea | None = None

    @property
    def method(self) -> str:
        """The method's name."""
        return str(self.params.get("method", ""))

    @property
    def crs(self) -> CRS:
        """The CRS of ``areas`` and ``points``."""
        return CRS.from_user_input(self.points.crs)

    def __len__(self) -> int:
        return len(self.areas)

    @property
    def coverage(self) -> float:
        """The share of the study area the hotspots cover (NaN without a study area)."""
        return covered_share(self.areas.geometry.values, self.study_area)

    def first(self, n: int) -> Hotspots:
        """Return the ``n`` first-ranked hotspots; the incidents of the others join none (-1).

        Parameters
        ----------
        n : int
            How many to keep (all when ``n`` is at least their number).
        """
        if n >= len(self.areas):
            return self
        n = max(int(n), 0)
        labels = self.labels.mask((self.labels > n).fillna(False), -1)
        points = self.points.copy(deep=False)
        points["hotspot"] = points["hotspot"].mask((points["hotspot"] > n).fillna(False), -1)
        return replace(self, areas=self.areas.iloc[:n].copy(), labels=labels, points=points)

    def table(self, n: int | None = 10) -> pd.DataFrame:
        """Return the ranked hotspots without geometry, for printing.

        Parameters
        ----------
        n : int or None
            The first ``n`` hotspots (all when None).
        """
        cols = [c for c in self.areas.columns if c not in ("geometry", "params", "method")]
        out = pd.DataFrame(self.areas[cols])
        return out if n is None else out.head(n)


def covered_share(geoms: Any, study_area: StudyArea | None) -> float:
    """Return the share of ``study_area`` that the union of ``geoms`` covers (NaN without one).

    Examples
    --------
    >>> import shapely
    >>> sa = StudyArea(shapely.box(0, 0, 100, 100), "given")
    >>> covered_share([shapely.box(0, 0, 10, 10), shapely.box(95, 95, 120, 120)], sa)
    0.0125
    """
    if study_area is None:
        return float("nan")
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return 0.0
    return float(shapely.area(clipped(geoms, study_area)).sum()) / study_area.area_m2


def clipped(geoms: Any, study_area: StudyArea, *, disjoint: bool = False) -> NDArray[np.object_]:
    """Return ``geoms`` clipped to the study area, overlaps between them removed.

    Only the geometries crossing the area's edge are intersected with it (the area is
    prepared); the others are kept or dropped whole. Overlapping geometries (cluster hulls
    may overlap) are merged into the first, so that the areas add up to the union's;
    ``disjoint``: they are known not to overlap.
    """
    geoms = np.asarray(geoms, dtype=object)
    area = study_area.geometry
    inside = shapely.contains_properly(area, geoms)
    crossing = ~inside & shapely.intersects(area, geoms)
    out = np.asarray(geoms.copy(), dtype=object)
    out[crossing] = shapely.intersection(geoms[crossing], area)
    out[~inside & ~crossing] = shapely.Polygon()
    if disjoint:
        return np.asarray(out)
    tree = shapely.STRtree(out)
    a, b = tree.query(out, predicate="overlaps")
    if (a < b).any():  # rare: cut each geometry by those before it
        later = a > b
        cut = np.unique(a[later])
        for i in cut:  # a loop over the few overlapping geometries only
            out[i] = shapely.difference(out[i], shapely.union_all(out[b[later & (a == i)]]))
    return np.asarray(out)


def fitting(geoms: Any, study_area: StudyArea | None, coverage: float) -> int:
    """How many of the ranked ``geoms``, first first, fit within ``coverage`` of the area.

    Each counts with its area inside the study area (the whole area without one, which
    keeps them all).
    """
    geoms = np.asarray(geoms, dtype=object)
    if study_area is None or len(geoms) == 0:
        return len(geoms)
    inside = shapely.area(clipped(geoms, study_area))
    within = np.cumsum(inside) <= coverage * study_area.area_m2 * (1 + 1e-9)
    return int(np.argmin(within)) if not within.all() else len(geoms)


def with_params(hotspots: Hotspots, **values: Any) -> Hotspots:
    """Return ``hotspots`` with ``values`` added to ``params`` (and to the ``params`` column)."""
    params = {**hotspots.params, **values}
    areas = hotspots.areas
    if len(areas):
        areas = areas.copy()
        areas["params"] = _params_json(params)
    return replace(hotspots, params=params, areas=areas)


def _params_json(params: dict[str, Any]) -> str:
    record = {k: v for k, v in params.items() if k != "how"}
    return json.dumps(record, default=str, sort_keys=True)


def cell_polygons(
    grid: Grid,
    hot: NDArray[np.bool_],
    *,
    connectivity: int = 8,
    xy: NDArray[np.float64] | None = None,
    flat: NDArray[np.int64] | None = None,
    counts: NDArray[np.float64] | None = None,
    min_incidents: int = 1,
) -> tuple[NDArray[np.int64], dict[int, shapely.Geometry]]:
    """Merge connected hot cells into polygons.

    Parameters
    ----------
    grid : Grid
    hot : ndarray of bool, shape (ny, nx)
    connectivity : {4, 8}
        Cells sharing an edge (4) or also a corner (8) belong to one hotspot.
    xy : ndarray, shape (n, 2), optional
        Incident coordinates; with ``min_incidents``, polygons are built only for components
        holding at least that many of them.
    flat : ndarray of int64, optional
        Instead of ``xy``: the incidents' flat cell indices (``Grid.locate``).
    counts : ndarray, shape (ny, nx), optional
        Instead of ``xy`` or ``flat``: the number of incidents in each cell (whole numbers),
        which gives the same components without a pass over the incidents.
    min_incidents : int

    Returns
    -------
    components : ndarray of int64, shape (ny, nx)
        0 for cells in no hotspot, else the component number 1..k.
    polygons : dict
        Component number -> the union of its cells (shapely ``coverage_union_all``).

    Examples
    --------
    >>> import numpy as np
    >>> hot = np.zeros((4, 4), bool); hot[1, 1] = hot[1, 2] = hot[3, 3] = True
    >>> comp, polys = cell_polygons(Grid(0.0, 0.0, 10.0, 4, 4), hot)
    >>> sorted((k, p.area) for k, p in polys.items())
    [(1, 200.0), (2, 100.0)]
    """
    if connectivity not in (4, 8):
        raise ValidationError("cell_polygons", [f"connectivity={connectivity!r}: use 4 or 8"])
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    labelled, k = ndimage.label(hot, structure=structure)
    components = np.asarray(labelled, dtype=np.int64)
    wanted = np.arange(1, k + 1)
    if counts is not None and k:
        per_cell = np.bincount(components.ravel(), weights=np.ravel(counts), minlength=k + 1)
        wanted = np.flatnonzero(per_cell >= min_incidents)
        wanted = wanted[wanted > 0]
    elif (xy is not None or flat is not None) and k:
        if flat is None:
            assert xy is not None
            flat = grid.locate(xy)
        if flat.size and int(flat.min()) >= 0:  # every incident on the grid
            comp_of = components.ravel()[flat]
        else:
            comp_of = np.where(flat >= 0, components.ravel()[np.maximum(flat, 0)], 0)
        per = np.bincount(comp_of, minlength=k + 1)
        wanted = np.flatnonzero(per >= min_incidents)
        wanted = wanted[wanted > 0]
    return components, _component_polygons(grid, components, wanted)


def _component_polygons(
    grid: Grid, components: NDArray[np.int64], wanted: NDArray[np.int64]
) -> dict[int, shapely.Geometry]:
    flat = components.ravel()
    cells = np.flatnonzero(flat)
    ids = flat[cells]
    keep = np.isin(ids, wanted)
    cells, ids = cells[keep], ids[keep]
    order = np.argsort(ids, kind="stable")
    cells, ids = cells[order], ids[order]
    if len(ids) == 0:
        return {}
    boxes = grid.boxes(cells)
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    group = np.cumsum(np.r_[False, ids[1:] != ids[:-1]])  # 0 .. len(starts) - 1, sorted
    # one collection of boxes per component, all unioned in one vectorised call (the same
    # polygons as coverage_union_all of each component's boxes, without a call each)
    collections = shapely.geometrycollections(boxes, indices=group)
    merged = shapely.coverage_union_all(collections[:, None], axis=1)
    return {int(ids[s]): geom for s, geom in zip(starts, merged, strict=True)}


def locate_in(
    geoms: gpd.GeoSeries,
    boundaries: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame],
    *,
    id_col: str = "id",
) -> pd.DataFrame:
    """Name the areas each geometry lies in, or the areas it spans.

    Parameters
    ----------
    geoms : geopandas.GeoSeries
        Hotspot polygons, in a projected CRS.
    boundaries : GeoDataFrame or mapping of name to GeoDataFrame
        A police layer: each of the level columns ``beat``, ``sector``, ``npa``, ``lpa`` it
        has is reported under its name, and its own ``id_col`` under the level below the
        smallest of them (``ward`` for a ward table with a ``beat`` column, ``beat`` for a beat
        layer with ``sector``/``npa`` columns; ``area`` for a layer with none); or a mapping
        ``{"beat": beats, "npa": npas}`` whose layers' ``id_col`` (else their index) is
        reported under each name.
    id_col : str
        The id column of the layers.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``geoms``, one string column per level: the id of the area holding the
        geometry, or the ids of every area holding at least 1 % of it separated by ``"; "``
        (largest share first); ``<NA>`` when none does. When the areas have names (a
        ``name`` column, or ``<level>_name`` beside a level column of a ward table), a
        ``<level>_name`` column follows each level's ids with the names in the same order
        (an area without a name by its id).
    """
    if geoms.crs is None:
        raise CRSError("locate_in: the hotspot polygons have no CRS")
    layers: list[tuple[str, gpd.GeoDataFrame, str]] = []
    if isinstance(boundaries, gpd.GeoDataFrame):
        levels = [c for c in LEVELS if c in boundaries.columns]
        layers.append((_id_level(boundaries), boundaries, id_col))
        layers.extend((lvl, boundaries, lvl) for lvl in levels)
    elif isinstance(boundaries, Mapping):
        for name, layer in boundaries.items():
            if not isinstance(layer, gpd.GeoDataFrame):
                raise ValidationError(
                    "boundaries", [f"boundaries[{name!r}] is a {type(layer).__name__}, "
                                   "expected a GeoDataFrame"]
                )  # fmt: skip
            layers.append((str(name), layer, id_col if id_col in layer.columns else ""))
    else:
        raise ValidationError(
            "boundaries",
            [f"expected a GeoDataFrame or a mapping of names to GeoDataFrames, found "
             f"{type(boundaries).__name__}"],
        )  # fmt: skip
    out = pd.DataFrame(index=geoms.index)
    target = CRS.from_user_input(geoms.crs)
    prepared: dict[int, gpd.GeoDataFrame] = {}
    for name, layer, col in layers:
        if col and col not in layer.columns:
            raise ColumnNotFoundError(
                f"boundaries ({name}): no column {col!r}; it has "
                f"{', '.join(map(str, layer.columns))}; pass id_col=... naming the area id column"
            )
        if layer.crs is None:
            raise CRSError(
                f"boundaries ({name}) has no CRS; set it with .set_crs(...) or read it with "
                "beatplan.geo.read_boundaries"
            )
        if id(layer) not in prepared:
            prepared[id(layer)] = (
                layer if CRS.from_user_input(layer.crs).equals(target) else (layer.to_crs(target))
            )
        lay = prepared[id(layer)]
        ids = (lay[col] if col else pd.Series(lay.index, index=lay.index)).astype("string")
        out[name] = _overlaps(geoms, lay.geometry.values, ids.to_numpy())
        label = _name_column(lay, name, col)
        if label is not None:
            names = lay[label].astype("string").fillna(ids)
            out[f"{name}_name"] = _overlaps(geoms, lay.geometry.values, names.to_numpy())
    return out


def _name_column(layer: gpd.GeoDataFrame, level: str, col: str) -> str | None:
    """Return the column naming the areas of ``level`` in ``layer`` (None: no names)."""
    for candidate in (f"{level}_name",) if col == level else ("name", f"{level}_name"):
        if candidate in layer.columns and layer[candidate].notna().any():
            return candidate
    return None


def _overlaps(geoms: gpd.GeoSeries, areas: Any, ids: NDArray[np.object_]) -> pd.Series:
    """For each geometry: the ids of the areas overlapping it, by share, ``"; "``-joined."""
    g = np.asarray(geoms.values)
    a = np.asarray(areas)
    result = pd.Series(pd.NA, index=geoms.index, dtype="string")
    if len(g) == 0 or len(a) == 0:
        return result
    tree = shapely.STRtree(a)
    gi, ai = tree.query(g, predicate="intersects")
    if len(gi) == 0:
        return result
    inter = shapely.area(shapely.intersection(g[gi], a[ai]))
    own = shapely.area(g[gi])
    share = np.where(own > 0, inter / np.where(own > 0, own, 1.0), 1.0)
    df = pd.DataFrame({"g": gi, "id": ids[ai], "share": share})
    df = df.groupby(["g", "id"], sort=False, as_index=False).agg(share=("share", "sum"))
    df = df.sort_values(["g", "share"], ascending=[True, False], kind="stable")
    best = df.groupby("g")["share"].transform("max")
    df = df[(df["share"] >= MIN_OVERLAP) | (df["share"] == best)]
    joined = df.groupby("g")["id"].agg(lambda s: "; ".join(map(str, s)))
    result.iloc[joined.index.to_numpy()] = joined.to_numpy()
    return result


def assemble(
    points: gpd.GeoDataFrame,
    raw: NDArray[np.int64],
    polygons: Mapping[int, shapely.Geometry],
    *,
    scores: Mapping[int, float],
    input_index: pd.Index,
    keep: NDArray[np.bool_] | None = None,
    params: dict[str, Any],
    min_incidents: int = 1,
    rank_by: str = "excess",
    boundaries: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
    id_col: str = "id",
    surface: Surface | None = None,
    messages: list[str] | None = None,
    study_area: StudyArea | None = None,
) -> Hotspots:
    """Rank raw groups of incidents into hotspots and describe each one.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        The analysed incidents; their index is a subset of ``input_index``.
    raw : ndarray of int64, shape (len(points),)
        Each incident's raw group (any non-negative number) or -1.
    polygons : mapping
        Raw group -> polygon (every group in ``raw`` must have one).
    scores : mapping
        Raw group -> the method's score (max z, peak density, cluster density ...).
    input_index : pandas.Index
        The index of the caller's input, which ``labels`` follows.
    keep : ndarray of bool, optional
        Which input rows ``points`` are (in order); found from the index labels otherwise.
    params : dict
        Parameters to record (copied into the result and, as JSON, into ``areas``).
    min_incidents : int
        Groups with fewer incidents are not hotspots.
    rank_by : {"excess", "incidents", "density", "score"}
        The ranking key (ties broken by density, then incidents). ``"excess"``: incidents
        beyond the hotspot area's share of the study region's incidents
        (``incidents - area * n / params["region_km2"]``).
    boundaries : GeoDataFrame or mapping, optional
        See :func:`locate_in`.
    id_col : str
        Id column of the boundaries.
    surface : Surface, optional
    messages : list of str, optional
    study_area : StudyArea, optional

    Returns
    -------
    Hotspots
    """
    check_option("rank_by", rank_by, RANK_BY)
    raw = np.asarray(raw, dtype=np.int64)
    n = len(points)
    ranked = _ranked(raw, polygons, scores, n=n, region_km2=float(params.get("region_km2", 0.0)),
                     min_incidents=min_incidents, rank_by=rank_by)  # fmt: skip
    label = ranked.labels_of(raw)
    pts = points.copy(deep=False)  # copy-on-write: the caller's frame is not touched
    pts["hotspot"] = pd.arrays.IntegerArray(label, np.zeros(n, dtype=bool))
    return Hotspots(
        areas=_areas_table(ranked, pts, label, params, boundaries=boundaries, id_col=id_col),
        labels=_input_labels(label, points.index, input_index, keep),
        params=params,
        points=pts,
        surface=surface,
        messages=list(messages or []),
        study_area=study_area,
    )


@dataclass(frozen=True)
class _Ranked:
    """The raw groups kept as hotspots, in rank order, with what each is ranked by."""

    groups: NDArray[np.int64]
    counts: NDArray[np.int64]
    geoms: NDArray[np.object_]
    area: NDArray[np.float64]
    density: NDArray[np.float64]
    score: NDArray[np.float64]
    excess: NDArray[np.float64]

    def labels_of(self, raw: NDArray[np.int64]) -> NDArray[np.int64]:
        """Return each incident's hotspot number (1 is the first), 0 for none."""
        lookup = np.full(int(raw.max()) + 2 if len(raw) else 1, -1, dtype=np.int64)
        lookup[self.groups + 1] = np.arange(1, len(self.groups) + 1)  # raw + 1 -> label
        return lookup[raw + 1]


def _ranked(
    raw: NDArray[np.int64],
    polygons: Mapping[int, shapely.Geometry],
    scores: Mapping[int, float],
    *,
    n: int,
    region_km2: float,
    min_incidents: int,
    rank_by: str,
) -> _Ranked:
    """Drop the groups of fewer than ``min_incidents`` and rank the rest (see :func:`assemble`)."""
    # one pass: the -1s land in bin 0, dropped (length max(raw) + 1 as for raw[raw >= 0])
    per_group = np.bincount(raw + 1)[1:] if n else np.zeros(0, np.int64)
    groups = np.flatnonzero(per_group)
    counts = per_group[groups]
    big = counts >= min_incidents
    groups, counts = groups[big], counts[big]
    geoms = np.array([polygons[int(g)] for g in groups], dtype=object)
    area = shapely.area(geoms) if len(geoms) else np.zeros(0)
    density = np.where(area > 0, counts / np.where(area > 0, area, 1.0) * 1e6, np.inf)
    score = np.array([float(scores[int(g)]) for g in groups], dtype=float)
    region_m2 = region_km2 * 1e6
    expected = area * (n / region_m2) if region_m2 > 0 else np.zeros(len(area))
    excess = counts - expected
    key = {"incidents": counts, "density": density, "score": score, "excess": excess}[rank_by]
    order = np.lexsort((-counts, -density, -key))
    return _Ranked(groups[order], counts[order], geoms[order], area[order], density[order],
                   score[order], excess[order])  # fmt: skip


def _input_labels(
    label: NDArray[np.int64],
    index: pd.Index,
    input_index: pd.Index,
    keep: NDArray[np.bool_] | None,
) -> pd.Series:
    """Spread the analysed incidents' labels over the input's rows (<NA>: not analysed)."""
    if keep is None:
        positions = input_index.get_indexer(index)
        if (positions < 0).any():
            raise ValidationError("assemble", ["points' index is not part of input_index"])
        keep = np.zeros(len(input_index), dtype=bool)
        keep[positions] = True
        full = np.zeros(len(input_index), dtype=np.int64)
        full[positions] = label
    elif len(keep) == len(label):  # every input row analysed
        full = label.copy()
    else:
        full = np.zeros(len(input_index), dtype=np.int64)
        full[keep] = label
    return pd.Series(
        pd.arrays.IntegerArray(full, ~keep), index=input_index, name="hotspot", copy=False
    )


def _areas_table(
    ranked: _Ranked,
    pts: gpd.GeoDataFrame,
    label: NDArray[np.int64],
    params: dict[str, Any],
    *,
    boundaries: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None,
    id_col: str,
) -> gpd.GeoDataFrame:
    """One row per hotspot: counts, area, density, scores, what and when, where, geometry."""
    k, n = len(ranked.groups), len(pts)
    params_json = _params_json(params)
    # every column gathered first and the frame built once (each insertion into a
    # GeoDataFrame costs its checks), geometry last
    columns: dict[str, Any] = {
        "hotspot": np.arange(1, k + 1, dtype=np.int64),
        "incidents": ranked.counts.astype(np.int64),
        "share": ranked.counts / n if n else np.zeros(k),
        "area_m2": ranked.area,
        "density_km2": ranked.density,
        "excess": ranked.excess,
        "score": ranked.score,
    }
    extra = _describe(pts, label, k)
    for col in extra.columns:
        columns[col] = extra[col].to_numpy()
    columns["method"] = pd.Series(str(params.get("method", "")), index=range(k)).array
    columns["params"] = pd.Series(params_json, index=range(k)).array
    geometry = gpd.GeoSeries(ranked.geoms, crs=pts.crs)
    if boundaries is not None:  # with no hotspots: the same (empty) columns
        located = locate_in(geometry, boundaries, id_col=id_col)
        for col in located.columns:
            columns[col] = located[col].array
    columns["geometry"] = geometry.values
    return gpd.GeoDataFrame(columns, geometry="geometry", crs=pts.crs)


def _id_level(layer: gpd.GeoDataFrame) -> str:
    """Name the level of a layer's own ids: the level below its smallest level column."""
    order = ("ward", *LEVELS)
    present = [i for i, lvl in enumerate(order) if i and lvl in layer.columns]
    return order[min(present) - 1] if present else "area"


def _describe(pts: gpd.GeoDataFrame, label: NDArray[np.int64], k: int) -> pd.DataFrame:
    """Top crime types, months and peak hours of each hotspot 1..k."""
    out = pd.DataFrame(index=np.arange(k))
    wanted = k and any(c in pts.columns for c in ("category", "month", "timestamp"))
    inside = label > 0 if wanted else np.zeros(0, dtype=bool)
    lab = label[inside] - 1 if wanted else np.zeros(0, dtype=np.int64)
    # crime types
    top: list[Any] = [pd.NA] * k
    if "category" in pts.columns and k:
        cats = pts["category"].astype("string").to_numpy(dtype=object, na_value=None)[inside]
        known = np.array([c is not None for c in cats], dtype=bool)
        if known.any():
            codes, names = pd.factorize(pd.Series(cats[known], dtype=object))
            table = np.bincount(lab[known] * len(names) + codes, minlength=k * len(names)).reshape(
                k, len(names)
            )
            best = np.argsort(-table, axis=1, kind="stable")[:, :3]
            top = [
                ", ".join(f"{names[j]} {table[i, j]}" for j in best[i] if table[i, j] > 0) or pd.NA
                for i in range(k)
            ]
    out["top_types"] = pd.array(top, dtype="string")
    # months
    first: list[Any] = [pd.NA] * k
    last: list[Any] = [pd.NA] * k
    months = np.zeros(k, dtype=np.int64)
    if "month" in pts.columns and k:
        m = pd.to_datetime(pts["month"], errors="coerce").to_numpy()[inside]
        ok = ~np.isnat(m)
        if ok.any():
            mm = m[ok].astype("datetime64[M]").astype(np.int64)
            ll = lab[ok]
            lo = np.full(k, np.iinfo(np.int64).max)
            hi = np.full(k, np.iinfo(np.int64).min)
            np.minimum.at(lo, ll, mm)
            np.maximum.at(hi, ll, mm)
            pairs = np.unique(ll * 100_000 + (mm - mm.min()))
            months = np.bincount(pairs // 100_000, minlength=k)
            has = months > 0
            first = [
                str(np.datetime64(int(v), "M")) if h else pd.NA
                for v, h in zip(lo, has, strict=True)
            ]
            last = [
                str(np.datetime64(int(v), "M")) if h else pd.NA
                for v, h in zip(hi, has, strict=True)
            ]
    out["first_month"] = pd.array(first, dtype="string")
    out["last_month"] = pd.array(last, dtype="string")
    out["months"] = months
    # peak hours: the 4-hour window (wrapping midnight) holding the most incidents
    peak: list[Any] = [pd.NA] * k
    if "timestamp" in pts.columns and k:
        ts = pd.to_datetime(pts["timestamp"], errors="coerce")[inside]
        ok = ts.notna().to_numpy()
        if ok.any() and (ts[ok].dt.hour != 0).any() | (ts[ok].dt.minute != 0).any():
            hours = ts[ok].dt.hour.to_numpy()
            table = np.bincount(lab[ok] * 24 + hours, minlength=k * 24).reshape(k, 24)
            window = table + np.roll(table, -1, axis=1)
            window += np.roll(table, -2, axis=1) + np.roll(table, -3, axis=1)
            start = window.argmax(axis=1)
            total = table.sum(axis=1)
            peak = [
                f"{start[i]:02d}-{(start[i] + 4) % 24:02d}h ({window[i, start[i]] / total[i]:.0%})"
                if total[i]
                else pd.NA
                for i in range(k)
            ]
    out["peak_hours"] = pd.array(peak, dtype="string")
    return out
