"""Best fit of wards to old areas: the overlap pieces, the points in them, the shares (internal).

The overlaps are computed without a full overlay: an STRtree gives the candidate
(ward, area) pairs, prepared ``covers`` settles the wards lying wholly in one area, and one
vectorised :func:`shapely.intersection` measures the rest. Points are located once in the
wards; only the points of wards straddling several areas are tested against those areas.
Wards overlapping no old area get their neighbours' area, else the nearest one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries._adjacency import Adjacency
from beatplan.boundaries._common import argsort_ints, expand_ranges

__all__ = [
    "Level",
    "add_shares",
    "best_fit",
    "fill_unassigned",
    "overlay",
    "pieces_frame",
    "point_areas",
]


def overlay(
    wg: np.ndarray, ag: np.ndarray, *, ward_area: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Measure the ward × area overlaps with positive area.

    Returns (ward pos, area pos, overlap m²) and the area covering each ward wholly (or -1).
    ``ward_area``: the wards' areas, if already measured.
    """
    tree = shapely.STRtree(ag)
    wi, ai = tree.query(wg)  # boxes only; the prepared areas settle the pairs below
    was = shapely.is_prepared(ag)
    shapely.prepare(ag)
    try:
        touch = shapely.intersects(ag[ai], wg[wi])
        wi, ai = wi[touch], ai[touch]
        cov = shapely.covers(ag[ai], wg[wi])
    finally:
        shapely.destroy_prepared(ag[~was])
    covered_by = np.full(len(wg), -1, dtype=np.int64)
    # the first covering area in layer order
    cw, ca = wi[cov], ai[cov]
    o = np.lexsort((ca, cw))
    cw, ca = cw[o], ca[o]
    first = np.r_[True, cw[1:] != cw[:-1]] if len(cw) else np.zeros(0, bool)
    covered_by[cw[first]] = ca[first]
    keep_cov = cov & (covered_by[wi] == ai)
    rest = covered_by[wi] < 0
    area = np.empty(len(wi))
    area[keep_cov] = (shapely.area(wg) if ward_area is None else ward_area)[wi[keep_cov]]
    if rest.any():
        area[rest] = shapely.area(shapely.intersection(wg[wi[rest]], ag[ai[rest]]))
    keep = (keep_cov | rest) & (area > 0)
    return wi[keep], ai[keep], area[keep], covered_by


def point_areas(
    pw: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    ag: np.ndarray,
    wi: np.ndarray,
    ai: np.ndarray,
    piece_area: np.ndarray,
    covered_by: np.ndarray,
    ward_area: np.ndarray,
) -> np.ndarray:
    """Find the old area of each point (-1 for none), testing only its ward's candidates.

    A point in a ward lying wholly in one area is in that area. In a ward split between
    areas that together cover it, the points are tested against every piece but the largest,
    and the rest fall in the largest (so a point on the edge between two pieces counts in
    the smaller); a ward partly outside every area has all its pieces tested.
    """
    out = np.full(len(pw), -1, dtype=np.int64)
    inw = pw >= 0
    out[inw] = covered_by[pw[inw]]
    q = np.nonzero(inw & (out < 0))[0]
    if len(q) == 0 or len(wi) == 0:
        return out
    nw = len(covered_by)
    o = np.lexsort((ai, -piece_area, wi))  # per ward, the largest piece first
    sw, sa = wi[o], ai[o]
    count = np.bincount(sw, minlength=nw)
    start = np.cumsum(count) - count
    summed = np.bincount(sw, weights=piece_area[o], minlength=nw)
    whole = (count > 0) & (np.abs(ward_area - summed) <= 1e-9 * np.maximum(ward_area, 1.0))
    skip = whole.astype(np.int64)
    largest = np.where(count > 0, sa[np.minimum(start, max(len(sa) - 1, 0))], -1)
    out[q] = np.where(whole[pw[q]], largest[pw[q]], -1)
    k, owner = expand_ranges(start[pw[q]] + skip[pw[q]], count[pw[q]] - skip[pw[q]])
    pts = q[owner]
    cand = sa[k]
    by_area = argsort_ints(cand)  # one area's tests together: cache-friendly
    was = shapely.is_prepared(ag)
    shapely.prepare(ag)
    try:
        hit = np.empty(len(cand), dtype=bool)
        hit[by_area] = shapely.intersects_xy(ag[cand[by_area]], x[pts[by_area]], y[pts[by_area]])
    finally:
        shapely.destroy_prepared(ag[~was])
    hp, ha = pts[hit], cand[hit]
    first = np.r_[True, hp[1:] != hp[:-1]] if len(hp) else np.zeros(0, bool)
    out[hp[first]] = ha[first]
    return out


@dataclass
class Level:
    """One level of old areas as realigned: ids, geometry (when a layer), pieces, choice."""

    name: str
    ids: np.ndarray  # area ids (object)
    area_m2: np.ndarray  # old area of each
    geoms: np.ndarray | None = None
    names: dict[str, str] | None = None
    pieces: pd.DataFrame | None = None  # w, a, area_m2, incidents, demand, share
    best: np.ndarray | None = None  # area pos per ward, -1 none
    basis: np.ndarray | None = None


def pieces_frame(
    wi: np.ndarray,
    ai: np.ndarray,
    area: np.ndarray,
    ward_area: np.ndarray,
    n_areas: int,
    pw: np.ndarray | None,
    pa: np.ndarray | None,
    weight: np.ndarray | None,
) -> pd.DataFrame:
    """(ward, area) pieces with area, incident count and demand; area -1 is 'in no area'."""
    base = np.int64(n_areas + 1)
    outside = ward_area - np.bincount(wi, weights=area, minlength=len(ward_area))
    ow = np.nonzero(outside > np.maximum(1e-9 * np.maximum(ward_area, 1.0), 1e-6))[0]
    keys = [wi.astype(np.int64) * base + ai + 1, ow.astype(np.int64) * base]
    areas = [area, outside[ow]]
    n_geo = len(keys[0]) + len(keys[1])
    pk = None
    if pw is not None and pa is not None and weight is not None:
        m = pw >= 0
        codes, uk = pd.factorize(pw[m].astype(np.int64) * base + pa[m] + 1)
        inc = np.bincount(codes, minlength=len(uk))
        dem = np.bincount(codes, weights=weight[m], minlength=len(uk))
        pk = np.asarray(uk, dtype=np.int64)
        keys.append(pk)
    allk, inv = np.unique(np.concatenate(keys), return_inverse=True)
    n = len(allk)
    out = pd.DataFrame(
        {
            "w": allk // base,
            "a": allk % base - 1,
            "area_m2": np.bincount(inv[:n_geo], weights=np.concatenate(areas), minlength=n),
        }
    )
    if pk is not None:
        out["incidents"] = np.bincount(inv[n_geo:], weights=inc, minlength=n).astype(np.int64)
        out["demand"] = np.bincount(inv[n_geo:], weights=dem, minlength=n)
    else:
        out["incidents"] = np.zeros(n, dtype=np.int64)
        out["demand"] = np.zeros(n)
    return out


def add_shares(
    pieces: pd.DataFrame, ward_area: np.ndarray, ward_demand: np.ndarray | None, by: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """Share of each piece by the chosen measure; the basis used per ward.

    By demand, a ward none of whose demand lies in an old area (no point at all, or every
    point in the part outside them) falls back to area: it still goes to the old area
    holding most of it, rather than look as if it overlapped none.
    """
    n = len(ward_area)
    w = pieces["w"].to_numpy()
    area_share = pieces["area_m2"].to_numpy() / np.maximum(ward_area[w], 1e-300)
    basis = np.full(n, "area", dtype=object)
    if by == "demand" and ward_demand is not None:
        real = pieces["a"].to_numpy() >= 0
        in_areas = np.bincount(w[real], weights=pieces["demand"].to_numpy()[real], minlength=n)
        has = in_areas > 0
        basis[:] = np.where(has, "demand", "area (no demand)")
        dem_share = pieces["demand"].to_numpy() / np.where(has[w], ward_demand[w], 1.0)
        share = np.where(has[w], dem_share, area_share)
    else:
        share = area_share
    out = pieces.copy()
    out["share"] = share
    return out, basis


def best_fit(pieces: pd.DataFrame, ids: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Best area per ward (-1 when none has a positive share) and its share."""
    p = pieces[(pieces["a"] >= 0) & (pieces["share"] > 0)]
    if not len(p):
        return np.full(n, -1, np.int64), np.zeros(n)
    p = p.assign(aid=ids[p["a"].to_numpy()])
    p = p.sort_values(["w", "share", "area_m2", "aid"], ascending=[True, False, False, True])
    first = p.drop_duplicates("w")
    best = np.full(n, -1, np.int64)
    share = np.zeros(n)
    best[first["w"].to_numpy()] = first["a"].to_numpy()
    share[first["w"].to_numpy()] = first["share"].to_numpy()
    return best, share


def _neighbour_fill(codes: np.ndarray, adj: Adjacency, ids: np.ndarray) -> np.ndarray:
    """Give wards with no area (-1) the area of the neighbours they share most boundary with.

    Repeated so a ward whose neighbours are all unassigned waits for them.
    """
    codes = codes.copy()
    bi = np.concatenate([adj.i, adj.j])
    bj = np.concatenate([adj.j, adj.i])
    bl = np.concatenate([adj.length, adj.length])
    for _ in range(len(codes)):
        miss = codes < 0
        m = miss[bi] & ~miss[bj]
        if not miss.any() or not m.any():
            break
        df = pd.DataFrame({"w": bi[m], "a": codes[bj[m]], "len": bl[m]})
        g = df.groupby(["w", "a"])["len"].sum().reset_index()
        g["aid"] = ids[g["a"].to_numpy()]
        g = g.sort_values(["w", "len", "aid"], ascending=[True, False, True]).drop_duplicates("w")
        codes[g["w"].to_numpy()] = g["a"].to_numpy()
    return codes


def fill_unassigned(
    codes: np.ndarray, adj: Adjacency, ids: np.ndarray, area_geoms: np.ndarray, wg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Give every ward with no area (-1) one: its neighbours', else the nearest area's.

    Returns the codes and a mask of the wards given the nearest area (islands touching no
    ward that has an area).
    """
    codes = codes.copy()
    if (codes < 0).any():
        codes = _neighbour_fill(codes, adj, ids)
    nearest = codes < 0
    rest = np.nonzero(nearest)[0]
    if len(rest):
        wi, ai = shapely.STRtree(area_geoms).query_nearest(wg[rest], all_matches=False)
        codes[rest[wi]] = ai
    return codes, nearest
