"""Coverage geometry: shared boundaries, the cheap coverage certificate, gaps and overlaps.

A layer is a *coverage* when its polygons do not overlap and neighbours share identical
edges. In a valid coverage two neighbours share identical segments, so the segments of every
ring are hashed and matched with numpy and pandas (:func:`shared_boundaries`) — no pairwise
geometry overlay. The same matching certifies a coverage cheaply (areas add up to the union's,
unshared segments are exactly the union's boundary); when it cannot, :func:`check_coverage`
falls back to :func:`shapely.coverage_is_valid` and names the polygons with bad edges.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries.hierarchy import _as_ids, _listing, _mix
from beatplan.boundaries.report import CheckReport
from beatplan.geo.errors import ColumnNotFoundError

__all__ = [
    "check_coverage",
    "find_gaps",
    "find_overlaps",
    "shared_boundaries",
]


@dataclass(frozen=True)
class _Adjacency:
    """Shared boundary lengths between polygons, by position: pairs ``i < j``, unique.

    ``area`` holds each polygon's area when it was measured on the way (by
    :func:`_certify_coverage`), so later steps on the same polygons need not measure again.
    """

    i: np.ndarray
    j: np.ndarray
    length: np.ndarray
    area: np.ndarray | None = None

    def areas(self, geoms: np.ndarray) -> np.ndarray:
        """Return the area of each of ``geoms`` (the polygons this adjacency describes)."""
        if self.area is not None and len(self.area) == len(geoms):
            return self.area
        return np.asarray(shapely.area(geoms), dtype=float)


def _ring_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ring vertex of polygons, the polygon owning it, and where each ring segment starts.

    Returns ``xy`` (n, 2), ``own`` (polygon position of each vertex) and ``start`` (the
    vertices followed by another of the same ring), in the order of
    ``get_coordinates(get_rings(get_parts(geoms)))``. Read in one pass with
    :func:`shapely.to_ragged_array` (no ring geometries are built); layers it refuses (a
    geometry collection) take the slower way.
    """
    try:
        kind, xy, offsets = shapely.to_ragged_array(geoms, include_z=False)
    except ValueError:
        kind = None
    if kind == shapely.GeometryType.POLYGON or kind == shapely.GeometryType.MULTIPOLYGON:
        off = [np.asarray(o, dtype=np.int64) for o in offsets]
        ring_off = off[0]
        ring_owner = np.repeat(np.arange(len(off[-1]) - 1), off[-1][1:] - off[-1][:-1])
        if kind == shapely.GeometryType.MULTIPOLYGON:  # rings -> parts -> geometries
            ring_owner = np.repeat(ring_owner, off[1][1:] - off[1][:-1])
        n_vertices = ring_off[1:] - ring_off[:-1]
        own = np.repeat(ring_owner, n_vertices)
        ends = ring_off[1:][n_vertices > 0] - 1  # a ring's last vertex starts no segment
        follow = np.ones(len(xy), dtype=bool)
        follow[ends] = False
        return np.ascontiguousarray(xy, dtype=np.float64), own, np.nonzero(follow)[0]
    parts, owner = shapely.get_parts(geoms, return_index=True)
    rings, pidx = shapely.get_rings(parts, return_index=True)
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    return xy, owner[pidx[ridx]], np.nonzero(ridx[:-1] == ridx[1:])[0]


def _adjacency(geoms: np.ndarray, *, matched: bool | None = None) -> _Adjacency:
    """Shared boundary length of every pair of neighbouring polygons.

    In a valid coverage (``matched``; checked with :func:`shapely.coverage_is_valid` when
    None) neighbours share identical segments: each vertex is hashed from its coordinate
    bits, a segment's hash is the (order-free) sum of its ends', segments met twice are
    matched in one pass over ``pandas.factorize`` codes (no sort), checked coordinate by
    coordinate, and their lengths summed per pair. Otherwise the boundaries of the candidate
    pairs are intersected (slower, but right for edges that are not noded alike).
    """
    n = len(geoms)
    empty = _Adjacency(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if n < 2:
        return empty
    if matched is None:
        matched, adj, _ = _certify_coverage(geoms)
        if matched:
            return adj
    if not matched:
        tree = shapely.STRtree(geoms)
        i, j = tree.query(geoms, predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        b = shapely.boundary(geoms)
        length = shapely.length(shapely.intersection(b[i], b[j]))
        pos = length > 0
        return _Adjacency(i[pos].astype(np.int64), j[pos].astype(np.int64), length[pos])
    xy, own, start = _ring_segments(geoms)
    if len(xy) < 2:
        return empty
    xy += 0.0  # -0.0 -> 0.0 so equal coordinates have equal bits
    bits = xy.view(np.uint64)
    z = xy.view(np.complex128).ravel()  # one number per vertex: one compare per coordinate pair
    hv = _mix(bits[:, 0] ^ _mix(bits[:, 1]))
    codes, _ = pd.factorize(hv[start] + hv[start + 1], size_hint=len(start))
    seen = np.maximum.accumulate(codes)
    dup = np.zeros(len(codes), dtype=bool)
    dup[1:] = codes[1:] <= seen[:-1]
    firsts = np.nonzero(~dup)[0]
    s2 = np.nonzero(dup)[0]
    a1, a2 = start[firsts[codes[s2]]], start[s2]
    # both ends of each segment in one gather (two adjacent numbers: one cache line)
    ends = np.lib.stride_tricks.sliding_window_view(z, 2)
    e1, e2 = ends[a1], ends[a2]
    same = ((e1[:, 0] == e2[:, 1]) & (e1[:, 1] == e2[:, 0])) | (
        (e1[:, 0] == e2[:, 0]) & (e1[:, 1] == e2[:, 1])
    )
    keep = same & (own[a1] != own[a2])
    a1, a2 = a1[keep], a2[keep]
    d = e1[keep, 1] - e1[keep, 0]
    length = np.hypot(d.real, d.imag)
    o1, o2 = own[a1].astype(np.int64), own[a2].astype(np.int64)
    key = np.minimum(o1, o2) * n + np.maximum(o1, o2)
    kc, uk = pd.factorize(key)  # hashing, then sorting only the distinct pairs
    total = np.bincount(kc, weights=length, minlength=len(uk))
    o = np.argsort(uk)
    uk, total = uk[o], total[o]
    return _Adjacency(uk // n, uk % n, total)


def _certify_coverage(
    geoms: np.ndarray,
    *,
    adjacency: _Adjacency | None = None,
    union: shapely.Geometry | None = None,
) -> tuple[bool, _Adjacency, shapely.Geometry | None]:
    """Certify cheaply that valid polygons form a coverage (True), or say it cannot (False).

    In a coverage the polygons' areas add up to the area of their union, and the segments not
    shared with a neighbour are exactly the union's boundary. So: match the ring segments
    (:func:`_adjacency`), union the polygons with :func:`shapely.coverage_union_all` (which
    refuses some wrongly noded input; its result must be a valid (multi)polygon), and compare
    areas and lengths. An overlap breaks the
    area identity; an edge not matched vertex for vertex leaves unshared segments inside the
    union and breaks the length identity. False means only "not certified": callers then ask
    :func:`shapely.coverage_is_valid`, which is slower and names the bad edges.

    Returns
    -------
    certified : bool
    adjacency : _Adjacency
        The matched-segment adjacency (right whenever ``certified``).
    union : shapely geometry or None
        The union, when it could be computed.
    """
    adj = adjacency if adjacency is not None else _adjacency(geoms, matched=True)
    if union is None:
        try:
            union = shapely.coverage_union_all(geoms) if len(geoms) > 1 else geoms[0]
        except shapely.errors.GEOSException:
            return False, adj, None
    # coverage_union_all may hand back a wrong answer (e.g. the input unchanged) for
    # overlapping input: overlapping parts make that invalid, so the union must be valid
    if shapely.get_type_id(union) not in (3, 6) or not shapely.is_valid(union):
        return False, adj, None
    each = np.asarray(shapely.area(geoms), dtype=float)
    if adj.area is None:
        adj = replace(adj, area=each)
    area = float(each.sum())
    perimeter = float(shapely.length(geoms).sum())
    free = perimeter - 2.0 * float(adj.length.sum())
    ok = (
        abs(area - float(shapely.area(union))) <= 1e-9 * area + 1e-6
        and abs(free - float(shapely.length(shapely.boundary(union)))) <= 1e-9 * perimeter + 1e-6
    )
    return bool(ok), adj, union


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
    adj = _adjacency(wards.geometry.values)
    ids = _as_ids(wards[ward_id]).to_numpy(dtype=object)
    return pd.DataFrame({"ward_a": ids[adj.i], "ward_b": ids[adj.j], "length_m": adj.length})


def _union(geoms: np.ndarray) -> shapely.Geometry:
    """Union of a coverage (fast), or of any polygons when they do not form one."""
    g = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if len(g) == 0:
        return shapely.GeometryCollection()
    if len(g) == 1:
        return g[0]
    try:
        return shapely.coverage_union_all(g)
    except shapely.errors.GEOSException:
        return shapely.union_all(g)


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
        union = _union(g)
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

    A fast certificate is tried first (see :func:`_certify_coverage`); when it cannot
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
    ids = _as_ids(layer[id_col]).to_numpy(dtype=object)
    invalid = ~shapely.is_valid(g)
    if invalid.any():
        rep.add("coverage", level, ids[invalid], f"invalid polygons: {_listing(ids[invalid])}")
        return rep
    if gap_width == 0 and _certify_coverage(g, union=union)[0]:
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
            f"{int(big.sum())} pair(s) of {level} polygons overlap: {_listing(pairs)}",
        )
    rep.add(
        "coverage",
        level,
        ids[bad],
        f"{int(bad.sum())} {level} polygon(s) have edges that do not match their neighbours' "
        f"(overlap, sliver or gap narrower than {gap_width:g} m; "
        f"{float(shapely.length(edges[bad]).sum()):,.1f} m of edge): {_listing(ids[bad])}",
        severity="error" if big.any() or gap_width > 0 else "warning",
    )
    return rep
