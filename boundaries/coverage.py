"""Coverage geometry: shared boundaries, the cheap coverage certificate, gaps and overlaps.

A layer is a *coverage* when its polygons do not overlap and neighbours share identical
edges. In a valid coverage two neighbours share identical segments, so the segments of every
ring are hashed and matched with numpy and pandas (:func:`shared_boundaries`) — no pairwise
geometry overlay. The same matching certifies a coverage cheaply (areas add up to the union's,
unshared segments are exactly the union's boundary); when it cannot, :func:`check_coverage`
falls back to :func:`shapely.coverage_is_valid` and names the polygons with bad edges.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries._adjacency import certify_coverage, polygon_adjacency, union_of
from beatplan.boundaries._common import as_ids, listing
from beatplan.boundaries.report import CheckReport
from beatplan.geo.errors import ColumnNotFoundError

__all__ = [
    "check_coverage",
    "find_gaps",
    "find_overlaps",
    "shared_boundaries",
]


def shared_boundaries(wards: gpd.GeoDataFrame, *, ward_id: str = "id") -> pd.DataFrame:
    """Shared boundary length between every pair of neighbouring wards.

    Measured on the coverage: neighbours in a valid coverage share identical segments, so
    ring segments are hashed and matched (vectorised numpy); wards that touch only at a
    point are not neighbours. Run :func:`validate_wards` first on layers that may not be a
    clean coverage.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        Ward polygons forming a coverage.
    ward_id : str, default "id"
        The ward id column.

    Returns
    -------
    pandas.DataFrame
        Columns ``ward_a``, ``ward_b`` (``ward_a`` before ``ward_b`` in the layer's order)
        and ``length_m``, one row per neighbouring pair.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> shared_boundaries(w).to_dict("records")
    [{'ward_a': 'a', 'ward_b': 'b', 'length_m': 1.0}]
    """
    if ward_id not in wards.columns:
        raise ColumnNotFoundError(f"wards: no ward id column {ward_id!r}")
    adj = polygon_adjacency(wards.geometry.values)
    ids = as_ids(wards[ward_id]).to_numpy(dtype=object)
    return pd.DataFrame({"ward_a": ids[adj.i], "ward_b": ids[adj.j], "length_m": adj.length})


def find_overlaps(geoms: Any, *, min_area: float = 0.0) -> pd.DataFrame:
    """Pairs of polygons whose interiors overlap, with the overlap area.

    Parameters
    ----------
    geoms : array-like of polygons
        The layer.
    min_area : float, default 0
        Report only overlaps larger than this (m²).

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (positions, ``i < j``) and ``area``.
    """
    g = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="intersects")
    m = i < j
    i, j = i[m], j[m]
    area = shapely.area(shapely.intersection(g[i], g[j]))
    keep = area > min_area
    return pd.DataFrame({"i": i[keep], "j": j[keep], "area": area[keep]})


def find_gaps(
    geoms: Any, *, min_area: float = 0.0, union: shapely.Geometry | None = None
) -> pd.DataFrame:
    """Gaps between polygons: holes of their union that no polygon fills.

    Parameters
    ----------
    geoms : array-like of polygons
        A coverage.
    min_area : float, default 0
        Report only gaps larger than this (m²).
    union : shapely geometry, optional
        The union of ``geoms``, if already computed.

    Returns
    -------
    pandas.DataFrame
        Columns ``geometry`` (the gap), ``area`` and ``neighbours`` (list of positions of
        the polygons around it), largest gap first.
    """
    g = np.asarray(geoms, dtype=object)
    cols: dict[str, list[Any]] = {"geometry": [], "area": [], "neighbours": []}
    if len(g) == 0:
        return pd.DataFrame(cols)
    if union is None:
        union = union_of(g)
    parts = shapely.get_parts(union)
    rings, pidx = shapely.get_rings(parts, return_index=True)
    first = np.r_[True, pidx[1:] != pidx[:-1]]  # exterior ring of each part
    holes = shapely.polygons(rings[~first])
    area = shapely.area(holes)
    keep = area > min_area
    holes, area = holes[keep], area[keep]
    order = np.argsort(-area, kind="stable")
    holes, area = holes[order], area[order]
    tree = shapely.STRtree(g)
    hi, gi = tree.query(holes, predicate="intersects")
    edge = shapely.relate_pattern(holes[hi], g[gi], "****1****")  # share a stretch of edge
    hi, gi = hi[edge], gi[edge]
    neigh = [sorted(gi[hi == k].tolist()) for k in range(len(holes))]
    return pd.DataFrame({"geometry": holes, "area": area, "neighbours": neigh})


def check_coverage(
    layer: gpd.GeoDataFrame,
    *,
    id_col: str = "id",
    level: str = "layer",
    gap_width: float = 0.0,
    tolerance: float = 1.0,
    union: shapely.Geometry | None = None,
) -> CheckReport:
    """No overlap, matching edges and no gap narrower than ``gap_width`` in one layer.

    A fast certificate is tried first (see :func:`certify_coverage`); when it cannot
    certify the layer, :func:`shapely.coverage_is_valid` decides and
    :func:`shapely.coverage_invalid_edges` names the polygons with bad edges, and the
    overlaps are measured.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        Polygons meant to form a coverage.
    id_col : str, default "id"
        The id column.
    level : str, default "layer"
        Name of the level in the report.
    gap_width : float, default 0
        Also flag gaps narrower than this (metres).
    tolerance : float, default 1.0
        Overlaps up to this many m² are reported as warnings, larger ones as errors.
    union : shapely geometry, optional
        The union of the layer, if already computed.

    Returns
    -------
    CheckReport
    """
    rep = CheckReport()
    rep.ran("coverage")
    g = np.asarray(layer.geometry.values, dtype=object)
    ids = as_ids(layer[id_col]).to_numpy(dtype=object)
    invalid = ~shapely.is_valid(g)
    if invalid.any():
        rep.add("coverage", level, ids[invalid], f"invalid polygons: {listing(ids[invalid])}")
        return rep
    if gap_width == 0 and certify_coverage(g, union=union)[0]:
        return rep
    if shapely.coverage_is_valid(g, gap_width=gap_width):
        return rep
    edges = shapely.coverage_invalid_edges(g, gap_width=gap_width)
    bad = ~shapely.is_empty(edges) & ~shapely.is_missing(edges)
    ov = find_overlaps(g)
    big = ov["area"] > tolerance
    if big.any():
        pairs = [
            f"{ids[i]}/{ids[j]} {a:,.1f} m²"
            for i, j, a in zip(ov["i"][big], ov["j"][big], ov["area"][big], strict=True)
        ]
        rep.add(
            "overlap",
            level,
            sorted(set(ids[ov["i"][big]]) | set(ids[ov["j"][big]])),
            f"{int(big.sum())} pair(s) of {level} polygons overlap: {listing(pairs)}",
        )
    rep.add(
        "coverage",
        level,
        ids[bad],
        f"{int(bad.sum())} {level} polygon(s) have edges that do not match their neighbours' "
        f"(overlap, sliver or gap narrower than {gap_width:g} m; "
        f"{float(shapely.length(edges[bad]).sum()):,.1f} m of edge): {listing(ids[bad])}",
        severity="error" if big.any() or gap_width > 0 else "warning",
    )
    return rep
