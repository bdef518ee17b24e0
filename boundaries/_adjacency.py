"""Which polygons share boundary, and how much: ring segments matched by hash (internal).

In a valid coverage two neighbours share identical segments, so the segments of every ring are
hashed and matched with numpy and pandas — no pairwise geometry overlay. The same matching
certifies a coverage cheaply (:func:`certify_coverage`). Shared by the coverage checks, input
validation, contiguity and the best fit.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries._common import mix

__all__ = [
    "Adjacency",
    "certify_coverage",
    "polygon_adjacency",
    "union_of",
]


@dataclass(frozen=True)
class Adjacency:
    """Shared boundary lengths between polygons, by position: pairs ``i < j``, unique.

    ``area`` holds each polygon's area when it was measured on the way (by
    :func:`certify_coverage`), so later steps on the same polygons need not measure again.
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


def ring_segments(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def polygon_adjacency(geoms: np.ndarray, *, matched: bool | None = None) -> Adjacency:
    """Shared boundary length of every pair of neighbouring polygons.

    In a valid coverage (``matched``; checked with :func:`shapely.coverage_is_valid` when
    None) neighbours share identical segments: each vertex is hashed from its coordinate
    bits, a segment's hash is the (order-free) sum of its ends', segments met twice are
    matched in one pass over ``pandas.factorize`` codes (no sort), checked coordinate by
    coordinate, and their lengths summed per pair. Otherwise the boundaries of the candidate
    pairs are intersected (slower, but right for edges that are not noded alike).
    """
    n = len(geoms)
    empty = Adjacency(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if n < 2:
        return empty
    if matched is None:
        matched, adj, _ = certify_coverage(geoms)
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
        return Adjacency(i[pos].astype(np.int64), j[pos].astype(np.int64), length[pos])
    xy, own, start = ring_segments(geoms)
    if len(xy) < 2:
        return empty
    xy += 0.0  # -0.0 -> 0.0 so equal coordinates have equal bits
    bits = xy.view(np.uint64)
    z = xy.view(np.complex128).ravel()  # one number per vertex: one compare per coordinate pair
    hv = mix(bits[:, 0] ^ mix(bits[:, 1]))
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
    return Adjacency(uk // n, uk % n, total)


def certify_coverage(
    geoms: np.ndarray,
    *,
    adjacency: Adjacency | None = None,
    union: shapely.Geometry | None = None,
) -> tuple[bool, Adjacency, shapely.Geometry | None]:
    """Certify cheaply that valid polygons form a coverage (True), or say it cannot (False).

    In a coverage the polygons' areas add up to the area of their union, and the segments not
    shared with a neighbour are exactly the union's boundary. So: match the ring segments
    (:func:`polygon_adjacency`), union the polygons with :func:`shapely.coverage_union_all` (which
    refuses some wrongly noded input; its result must be a valid (multi)polygon), and compare
    areas and lengths. An overlap breaks the
    area identity; an edge not matched vertex for vertex leaves unshared segments inside the
    union and breaks the length identity. False means only "not certified": callers then ask
    :func:`shapely.coverage_is_valid`, which is slower and names the bad edges.

    Returns
    -------
    certified : bool
    adjacency : Adjacency
        The matched-segment adjacency (right whenever ``certified``).
    union : shapely geometry or None
        The union, when it could be computed.
    """
    adj = adjacency if adjacency is not None else polygon_adjacency(geoms, matched=True)
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


def union_of(geoms: np.ndarray) -> shapely.Geometry:
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
