"""Summarise hotspots per police area: which hotspots lie in each beat or NPA, and how much.

A sergeant reads hotspots per beat; an inspector per NPA. :func:`summarise` counts, for each
area, the hotspots overlapping it, the analysed incidents in it and how many of those lie in
a hotspot, and the hotspot area inside it.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from beatplan.geo.errors import ColumnNotFoundError, CRSError, EmptyInputError, ValidationError
from beatplan.hotspots.result import MIN_OVERLAP, Hotspots

__all__ = ["summarise"]


def summarise(
    hotspots: Hotspots,
    areas: gpd.GeoDataFrame,
    *,
    id_col: str = "id",
) -> gpd.GeoDataFrame:
    """Per area: the hotspots in it and the incidents inside them.

    Parameters
    ----------
    hotspots : Hotspots
        A :func:`beatplan.hotspots.find_hotspots` result.
    areas : geopandas.GeoDataFrame
        Beats, sectors, NPAs or wards, with an id column and a CRS (reprojected to the
        hotspots' CRS when it differs).
    id_col : str
        The areas' id column.

    Returns
    -------
    geopandas.GeoDataFrame
        Aligned to ``areas`` (same index and order) with columns ``id_col``, ``name`` (when
        the areas have one), ``hotspots`` (number of hotspots with at least 1 % of their area,
        or any of their incidents, in the area), ``hotspot_ids`` (``"1; 4"``, best rank
        first), ``incidents`` (analysed incidents in the area), ``hotspot_incidents`` (those in
        a hotspot), ``hotspot_share`` (their share), ``hotspot_area_m2``, ``area_m2``,
        ``area_share`` and ``geometry``. An incident on a shared edge counts in the first
        area holding it, so the counts add up to the incidents inside the areas.

    Raises
    ------
    ColumnNotFoundError
        ``id_col`` is not a column of ``areas``.
    CRSError
        ``areas`` has no CRS.
    EmptyInputError
        ``areas`` is empty.

    Examples
    --------
    >>> table = summarise(hs, beats)                                   # doctest: +SKIP
    >>> table.sort_values("hotspot_incidents", ascending=False).head() # doctest: +SKIP
    """
    layer = _checked_areas(hotspots, areas, id_col)
    crs = hotspots.crs
    geoms = np.asarray(layer.geometry.values)
    tree = shapely.STRtree(geoms)
    pts = hotspots.points
    first = _first_area(tree, pts.geometry.values)
    label = pts["hotspot"].to_numpy(dtype=np.int64, na_value=-1)
    located = first >= 0
    incidents = np.bincount(first[located], minlength=len(layer))
    in_hot = located & (label > 0)
    hot_incidents = np.bincount(first[in_hot], minlength=len(layer))
    hot_area, members = _hotspots_per_area(hotspots.areas, tree, geoms)
    for a, h in zip(first[in_hot], label[in_hot], strict=True):
        members[int(a)].add(int(h))
    ids_text = [
        "; ".join(str(h) for h in sorted(members[i])) if members[i] else pd.NA
        for i in range(len(layer))
    ]
    area = shapely.area(geoms)
    out = gpd.GeoDataFrame(
        {id_col: layer[id_col].to_numpy()},
        index=areas.index,
        geometry=gpd.GeoSeries(geoms, index=areas.index, crs=crs),
        crs=crs,
    )
    if "name" in layer.columns and id_col != "name":
        out["name"] = layer["name"].to_numpy()
    out["hotspots"] = np.array([len(members[i]) for i in range(len(layer))], dtype=np.int64)
    out["hotspot_ids"] = pd.array(ids_text, dtype="string")
    out["incidents"] = incidents.astype(np.int64)
    out["hotspot_incidents"] = hot_incidents.astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["hotspot_share"] = np.where(incidents > 0, hot_incidents / incidents, np.nan)
        out["hotspot_area_m2"] = hot_area
        out["area_m2"] = area
        out["area_share"] = np.where(area > 0, hot_area / area, np.nan)
    cols: list[Any] = [c for c in out.columns if c != "geometry"] + ["geometry"]
    return gpd.GeoDataFrame(out[cols], geometry="geometry", crs=crs)


def _checked_areas(hotspots: Any, areas: Any, id_col: str) -> gpd.GeoDataFrame:
    """Refuse wrong inputs; return ``areas`` in the hotspots' CRS."""
    if not isinstance(hotspots, Hotspots):
        raise ValidationError(
            "hotspots", [f"expected a Hotspots result, found {type(hotspots).__name__}"]
        )
    if not isinstance(areas, gpd.GeoDataFrame):
        raise ValidationError("areas", [f"expected a GeoDataFrame, found {type(areas).__name__}"])
    if len(areas) == 0:
        raise EmptyInputError("areas: the layer is empty")
    if id_col not in areas.columns:
        raise ColumnNotFoundError(
            f"areas: no column {id_col!r}; it has {', '.join(map(str, areas.columns))}; "
            "pass id_col=... naming the area id column"
        )
    if areas.crs is None:
        raise CRSError("areas: the layer has no CRS; set it with .set_crs(...)")
    crs = hotspots.crs
    return areas if CRS.from_user_input(areas.crs).equals(crs) else areas.to_crs(crs)


def _first_area(tree: shapely.STRtree, points: Any) -> NDArray[np.int64]:
    """Return the first area (by position) holding each point, -1 for none."""
    p_idx, a_idx = tree.query(points, predicate="intersects")
    first = np.full(len(points), -1, dtype=np.int64)
    order = np.lexsort((a_idx, p_idx))
    p_sorted, a_sorted = p_idx[order], a_idx[order]
    lead = np.r_[True, p_sorted[1:] != p_sorted[:-1]] if len(p_sorted) else np.zeros(0, bool)
    first[p_sorted[lead]] = a_sorted[lead]
    return first


def _hotspots_per_area(
    hotspot_areas: gpd.GeoDataFrame, tree: shapely.STRtree, geoms: NDArray[np.object_]
) -> tuple[NDArray[np.float64], dict[int, set[int]]]:
    """Return each area's hotspot area (m²) and the hotspots holding 1 % of their area in it."""
    hs_geoms = np.asarray(hotspot_areas.geometry.values)
    hs_ids = hotspot_areas["hotspot"].to_numpy()
    hot_area = np.zeros(len(geoms))
    members: dict[int, set[int]] = {i: set() for i in range(len(geoms))}
    if len(hs_geoms):
        a_i, h_i = tree.query(hs_geoms, predicate="intersects")[::-1]
        inter = shapely.area(shapely.intersection(geoms[a_i], hs_geoms[h_i]))
        own = shapely.area(hs_geoms[h_i])
        np.add.at(hot_area, a_i, inter)
        big = inter >= MIN_OVERLAP * own
        for a, h in zip(a_i[big], h_i[big], strict=True):
            members[int(a)].add(int(hs_ids[h]))
    return hot_area, members
