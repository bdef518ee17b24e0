"""The sample county's geography (steps 1-5 of :mod:`beatplan.geo.sample`'s recipe).

The outline and settlements, the atoms every area is a union of, districts, the new and old ward
vintages and the police areas (NPAs, sectors, beats) on the old wards. Private to
:mod:`beatplan.geo.sample`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import Voronoi, cKDTree

from beatplan.geo.crs import BNG

__all__ = [
    "COUNTY_NAME",
    "FloatArray",
    "Geography",
    "IntArray",
    "Places",
    "build_geography",
    "build_layers",
    "spread_points",
    "words",
]

log = logging.getLogger("beatplan")

COUNTY_NAME = "Sampleshire"

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# --------------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------------


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """Split ``text`` on ``sep`` (whitespace by default) into its non-blank, stripped words."""
    return tuple(w.strip() for w in text.split(sep) if w.strip())


_PREFIXES = words(
    """Ash Ald Bar Bil Brad Bram Brook Burn Cal Chel Clay Cot Cran Dun Elm Fen Fox Glen Hal Har
    Hat Hol Ket Kings Lang Lea Long Mar Mel Mill Nor Oak Pen Ram Red Ros Sax Shep Stan Stow Sut
    Thorn Wal Well Whit Wil Wood Wor"""
)
_SUFFIXES = words(
    "by bury borough field ford ham ley stone thorpe ton well wick worth cote den hurst stead "
    "ington"
)
_QUARTERS = words(
    """Abbey|Castle|Market|Riverside|Parkside|Westgate|Northgate|Eastfield|Southfields|Priory|
    Cathedral|Canal|Station|Racecourse|Meadows|Hillcrest|Fairfield|Greenhill|Brookside|Highcross|
    Victoria|Albert Park|Freemen's|Orchard|St Mary's|St John's|Friar's|Beaumont|Fosse|Kingsway|
    Queensway|Millfield|Ravenhurst|Woodgate|Belmont|Westwood|Oakfield|Hollybank|Thornhill|
    Newfields""",
    "|",
)
_COMPASS = words("East|North East|North|North West|West|South West|South|South East", "|")
_COMPASS_CODE = words("E NE N NW W SW S SE")
_EXTRA_QUALIFIERS = words(
    """Park Fields Abbey Castle Meadows Green Hill Vale Brook Heath Grange Common Moor Bridge Rise
    Gate Cross Wharf Mill Lodge Court Manor Chase Dale Spinney Wood Croft Leys Ings Holme"""
)


# --------------------------------------------------------------------------------------------
# small geometric helpers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Warp:
    """A smooth displacement (a sum of plane waves) with gradient below 1: a homeomorphism."""

    directions: FloatArray  # (k, 2) unit vectors
    wavenumbers: FloatArray  # (k,)
    amplitudes: FloatArray  # (k,)
    phases: FloatArray  # (2, k)

    @classmethod
    def random(cls, rng: np.random.Generator, amplitude: float, wavelength: float) -> _Warp:
        k = 4
        ang = rng.uniform(0, 2 * np.pi, k)
        wn = 2 * np.pi / (wavelength * rng.uniform(0.7, 1.4, k))
        amp = np.minimum(amplitude / k * rng.uniform(0.6, 1.4, k), 0.8 / (k * wn))
        return cls(np.c_[np.cos(ang), np.sin(ang)], wn, amp, rng.uniform(0, 2 * np.pi, (2, k)))

    def __call__(self, xy: FloatArray) -> FloatArray:
        proj = (xy @ self.directions.T) * self.wavenumbers
        dx = (self.amplitudes * np.sin(proj + self.phases[0])).sum(axis=1)
        dy = (self.amplitudes * np.sin(proj + self.phases[1])).sum(axis=1)
        return xy + np.c_[dx, dy]


def _sqdist(a: FloatArray, b: FloatArray) -> FloatArray:
    return (a[:, 0, None] - b[None, :, 0]) ** 2 + (a[:, 1, None] - b[None, :, 1]) ** 2


def _uniform_in(rng: np.random.Generator, poly: shapely.Geometry, n: int) -> FloatArray:
    """``n`` points uniform in ``poly`` by rejection from its bounding box."""
    minx, miny, maxx, maxy = poly.bounds
    ratio = poly.area / ((maxx - minx) * (maxy - miny))
    out: list[FloatArray] = [np.empty((0, 2))]
    have = 0
    while have < n:
        m = int((n - have) / ratio * 1.2) + 16
        xy = np.c_[rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)]
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        out.append(xy)
        have += len(xy)
    return np.concatenate(out)[:n]


def spread_points(
    candidates: FloatArray,
    n: int,
    min_dist: float,
    existing: FloatArray | None = None,
) -> FloatArray:
    """Take up to ``n`` candidates, greedily, ``min_dist`` apart and from ``existing``."""
    taken = np.empty((0, 2)) if existing is None else np.asarray(existing, dtype=float)
    start = len(taken)
    for p in candidates:  # a few hundred candidates at most
        if len(taken) - start >= n:
            break
        if len(taken) == 0 or np.min(np.hypot(*(taken - p).T)) >= min_dist:
            taken = np.vstack([taken, p])
    return taken[start:]


def _compass_index(dx: FloatArray, dy: FloatArray) -> IntArray:
    ang = np.arctan2(dy, dx)
    return np.asarray(np.round(ang / (np.pi / 4)).astype(np.int64) % 8)


def _allocate(
    weights: NDArray[Any], total: int, minimum: int, maximum: NDArray[Any] | None = None
) -> IntArray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), bounded."""
    n = len(weights)
    cap = np.full(n, total, dtype=np.int64) if maximum is None else np.asarray(maximum, np.int64)
    low = np.minimum(np.full(n, minimum, dtype=np.int64), cap)
    out = low.copy()
    for _ in range(n + 1):
        rem = total - int(out.sum())
        free = out < cap
        if rem <= 0 or not free.any():
            break
        w = np.where(free, np.asarray(weights, float), 0.0)
        quota = rem * w / w.sum()
        add = np.minimum(np.floor(quota).astype(np.int64), cap - out)
        left = rem - int(add.sum())
        if left > 0:
            frac = np.where(free & (out + add < cap), quota - np.floor(quota), -1.0)
            order = np.argsort(-frac, kind="stable")[:left]
            add[order[frac[order] >= 0]] += 1
        out += add
    return out


# --------------------------------------------------------------------------------------------
# outline, settlements, density
# --------------------------------------------------------------------------------------------
def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """Draw the county: a star-shaped blob, an ellipse with random lobes and a wiggly (1/f) edge."""
    cx = 470_000 + rng.uniform(-4000, 4000)
    cy = 305_000 + rng.uniform(-3000, 3000)
    t = np.linspace(0, 2 * np.pi, 1440, endpoint=False)
    a, b, rot = rng.uniform(22_000, 26_000), rng.uniform(17_500, 20_500), rng.uniform(-0.4, 0.4)
    tt = t - rot
    r = a * b / np.sqrt((b * np.cos(tt)) ** 2 + (a * np.sin(tt)) ** 2)
    j = np.arange(2, 241)
    amp = 0.25 * j**-1.35 * rng.uniform(0.3, 1.7, j.size)
    phase = rng.uniform(0, 2 * np.pi, j.size)
    noise = (amp[:, None] * np.cos(j[:, None] * t + phase[:, None])).sum(axis=0)
    r = r * np.exp(np.clip(noise, -0.7, 0.7))
    poly = shapely.Polygon(np.round(np.c_[cx + r * np.cos(t), cy + r * np.sin(t)]))
    if not poly.is_valid:  # star-shaped with r > 0: cannot happen; guard the invariant anyway
        raise RuntimeError("internal error: the generated county outline is not a valid polygon")
    return poly


@dataclass(frozen=True)
class Places:
    """Settlements (city, towns, villages) and their Gaussian population kernels."""

    xy: FloatArray
    sigma: FloatArray
    weight: FloatArray  # share of the county's population
    kind: NDArray[np.str_]
    name: NDArray[np.str_]
    floor_share: float
    area: float

    def density(self, xy: FloatArray, *, floor_share: float | None = None) -> FloatArray:
        """Return the population share per m² at ``xy`` (crime: pass another rural floor)."""
        floor = self.floor_share if floor_share is None else floor_share
        w = self.weight * ((1 - floor) / self.weight.sum())
        d2 = _sqdist(xy, self.xy)
        k = w / (2 * np.pi * self.sigma**2) * np.exp(-d2 / (2 * self.sigma**2))
        return np.asarray(floor / self.area + k.sum(axis=1))

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        poly: shapely.Geometry,
        *,
        floor_share: float,
        spread: float = 1.0,
    ) -> FloatArray:
        """Draw ``n`` points from the kernel mixture (plus a uniform floor) inside ``poly``.

        Only kernels centred inside ``poly`` are used; ``spread`` widens every kernel.
        """
        use = shapely.contains_xy(poly, self.xy[:, 0], self.xy[:, 1])
        w = np.where(use, self.weight, 0.0)
        p = np.r_[floor_share, (1 - floor_share) * w / w.sum()]
        comp = rng.choice(p.size, size=n, p=p)
        out = np.empty((n, 2))
        floor = comp == 0
        out[floor] = _uniform_in(rng, poly, int(floor.sum()))
        todo = np.flatnonzero(~floor)
        for _ in range(50):  # rejection; kernels are centred inside, so few rounds
            if not todo.size:
                break
            c = comp[todo] - 1
            out[todo] = (
                self.xy[c] + rng.normal(size=(todo.size, 2)) * (self.sigma[c] * spread)[:, None]
            )
            todo = todo[~shapely.contains_xy(poly, out[todo, 0], out[todo, 1])]
        out[todo] = self.xy[comp[todo] - 1]  # vanishingly rare: the kernel's centre
        return out


def _place_names(rng: np.random.Generator, n: int) -> NDArray[np.str_]:
    combos = np.array([p + s for p in _PREFIXES for s in _SUFFIXES if p + s not in _QUARTERS])
    return np.asarray(rng.choice(combos, size=n, replace=False))


def _settlements(
    rng: np.random.Generator, outline: shapely.Polygon, n_districts: int
) -> tuple[Places, FloatArray]:
    """Place the city, a town per rural district (returned as district seats too), villages."""
    centre = np.array(outline.centroid.coords[0])
    city = centre + rng.uniform(-2500, 2500, 2)
    n_rural = n_districts - 1
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n_rural) / n_rural
    angles = angles + rng.uniform(-0.4, 0.4, n_rural) * np.pi / n_rural
    inner = outline.buffer(-3000)
    seats = []
    for ang in angles:  # one ray per district
        ray = shapely.LineString([city, city + 200_000 * np.array([np.cos(ang), np.sin(ang)])])
        hit = ray.intersection(outline.boundary)
        reach = min(np.hypot(*(np.asarray(shapely.get_coordinates(hit)) - city).T))
        p = city + rng.uniform(0.42, 0.68) * reach * np.array([np.cos(ang), np.sin(ang)])
        if not inner.contains(shapely.Point(p)):
            p = np.array(shapely.get_coordinates(shapely.shortest_line(inner, shapely.Point(p)))[0])
        seats.append(p)
    seats_xy = np.array(seats)
    more_towns = spread_points(_uniform_in(rng, inner, 400), 2, 9000, np.vstack([city, seats_xy]))
    towns = np.vstack([seats_xy, more_towns])
    villages = spread_points(
        _uniform_in(rng, outline.buffer(-600), 1500), 36, 2600, np.vstack([city, towns])
    )
    xy = np.vstack([city, towns, villages])
    n_t, n_v = len(towns), len(villages)
    kind = np.array(["city"] + ["town"] * n_t + ["village"] * n_v)
    sigma = np.r_[rng.uniform(2200, 2600), rng.uniform(600, 1000, n_t), rng.uniform(120, 260, n_v)]
    tw = rng.uniform(0.6, 1.4, n_t)
    vw = rng.uniform(0.6, 1.4, n_v)
    weight = np.r_[0.42, 0.30 * tw / tw.sum(), 0.10 * vw / vw.sum()]
    names = _place_names(rng, len(xy))
    places = Places(xy, sigma, weight, kind, names, floor_share=0.18, area=outline.area)
    return places, np.vstack([city, seats_xy])


# --------------------------------------------------------------------------------------------
# atoms: the one tessellation everything is built from
# --------------------------------------------------------------------------------------------
def _atoms(rng: np.random.Generator, outline: shapely.Polygon, places: Places, n: int) -> Any:
    """Tessellate ``outline`` into about ``n`` cells, finer where people live.

    The Voronoi edges of density-weighted points are noded once with the outline's boundary and
    polygonized, so neighbouring cells share identical edges (an exact coverage).
    """
    xy = places.sample(rng, n, outline, floor_share=0.4, spread=1.6)
    minx, miny, maxx, maxy = outline.bounds
    ang = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    far = np.c_[(minx + maxx) / 2 + 1e5 * np.cos(ang), (miny + maxy) / 2 + 1e5 * np.sin(ang)]
    vor = Voronoi(np.r_[xy, far])
    rv = np.asarray(vor.ridge_vertices)
    seg = vor.vertices[rv[(rv >= 0).all(axis=1)]]
    edges = shapely.multilinestrings(shapely.linestrings(seg))
    noded = shapely.union_all([edges, outline.boundary])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    faces = faces[shapely.contains_xy(outline, rep[:, 0], rep[:, 1])]
    # a stable order (polygonize's order is deterministic, but sorting makes it obvious)
    c = shapely.get_coordinates(shapely.point_on_surface(faces))
    order = np.lexsort((c[:, 0], c[:, 1]))
    return faces[order]


def _adjacency(polys: Any) -> sparse.csr_matrix:
    """Shared boundary length between polygons of an exact coverage (symmetric CSR)."""
    rings, owner = shapely.get_rings(polys, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    who = owner[ring_of[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    _, inv = np.unique(np.c_[lo, hi], axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    length = np.hypot(*(hi - lo).T)
    order = np.argsort(inv, kind="stable")
    inv_s, who_s, len_s = inv[order], who[order], length[order]
    pair = np.flatnonzero(inv_s[1:] == inv_s[:-1])
    i, j, w = who_s[pair], who_s[pair + 1], len_s[pair]
    keep = i != j
    n = len(polys)
    m = sparse.coo_matrix(
        (np.r_[w[keep], w[keep]], (np.r_[i[keep], j[keep]], np.r_[j[keep], i[keep]])), shape=(n, n)
    )
    return m.tocsr()


def _make_contiguous(
    labels: IntArray, parent: IntArray, adj: sparse.csr_matrix, area: FloatArray
) -> IntArray:
    """Make every label one edge-connected piece.

    Each detached piece of a label (all but its largest) goes to the neighbouring label it shares
    most boundary with, within the same parent; repeated until every label is one piece.
    """
    labels = labels.copy()
    coo = adj.tocoo()
    i, j, w = coo.row, coo.col, coo.data
    n = labels.size
    for _ in range(30):
        same = labels[i] == labels[j]
        g = sparse.coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
        ncomp, comp = connected_components(g, directed=False)
        comp_area = np.bincount(comp, weights=area, minlength=ncomp)
        comp_label = np.empty(ncomp, dtype=np.int64)
        comp_label[comp] = labels
        order = np.lexsort((-comp_area, comp_label))
        first = np.r_[True, comp_label[order][1:] != comp_label[order][:-1]]
        main = np.zeros(ncomp, bool)
        main[order[first]] = True
        stray = ~main[comp]
        if not stray.any():
            return labels
        e = stray[i] & (labels[j] != labels[i]) & (parent[i] == parent[j])
        if not e.any():
            break
        frame = pd.DataFrame({"c": comp[i[e]], "to": labels[j[e]], "w": w[e]})
        best = frame.groupby(["c", "to"], sort=True)["w"].sum().reset_index()
        best = best.sort_values(["c", "w"], ascending=[True, False], kind="stable")
        best = best.drop_duplicates("c")
        target = np.full(ncomp, -1, dtype=np.int64)
        target[best["c"].to_numpy()] = best["to"].to_numpy()
        move = stray & (target[comp] >= 0)
        labels[move] = target[comp[move]]
    log.warning("sample: %d atom(s) left in detached pieces", int(stray.sum()))
    return labels


def _compact(labels: IntArray) -> IntArray:
    """Renumber labels 0..k-1 in order of first appearance of their smallest atom index."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return np.asarray(rank[inv.reshape(-1)], dtype=np.int64)


def _label_graph(labels: IntArray, adj: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Shared boundary length between labels (symmetric CSR, k x k)."""
    coo = adj.tocoo()
    a, b = labels[coo.row], labels[coo.col]
    diff = a != b
    return sparse.coo_matrix((coo.data[diff], (a[diff], b[diff])), shape=(k, k)).tocsr()


# --------------------------------------------------------------------------------------------
# partitioning a set of wards into contiguous parts
# --------------------------------------------------------------------------------------------
def _partition(nodes: IntArray, k: int, graph: sparse.csr_matrix, xy: FloatArray) -> IntArray:
    """Split ``nodes`` (a connected set in ``graph``) into ``k`` connected parts.

    Graph Voronoi regions by hop distance (ties broken by length), seeded by farthest-point
    sampling and re-centred three times on each part's medoid. Each part is connected because
    every node's shortest-path predecessor belongs to the same source.
    """
    m = len(nodes)
    if k <= 1 or m <= 1:
        return np.zeros(m, dtype=np.int64)
    sub = graph[nodes][:, nodes].tocoo()
    step = np.hypot(*(xy[nodes][sub.row] - xy[nodes][sub.col]).T)
    g = sparse.coo_matrix((1.0 + step * 1e-6, (sub.row, sub.col)), shape=(m, m)).tocsr()
    d_all = dijkstra(g, directed=False)
    if not np.isfinite(d_all).all():
        raise RuntimeError("internal error: a region to partition is not connected")
    centre = xy[nodes].mean(axis=0)
    seeds = [int(np.argmax(np.hypot(*(xy[nodes] - centre).T)))]
    while len(seeds) < k:
        seeds.append(int(np.argmax(d_all[seeds].min(axis=0))))
    lab = np.zeros(m, dtype=np.int64)
    for _ in range(4):
        _, _, src = dijkstra(
            g, directed=False, indices=seeds, min_only=True, return_predecessors=True
        )
        pos = {s: n for n, s in enumerate(seeds)}
        lab = np.array([pos[int(s)] for s in src], dtype=np.int64)
        new = []
        for part in range(k):
            members = np.flatnonzero(lab == part)
            inner = d_all[np.ix_(members, members)].sum(axis=1)
            new.append(int(members[np.argmin(inner)]))
        if new == seeds:
            break
        seeds = new
    return lab


# --------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------
def _qualified_names(
    xy: FloatArray,
    place_xy: FloatArray,
    place_name: NDArray[np.str_],
    place_pull: FloatArray,
    place_scale: FloatArray,
) -> NDArray[np.object_]:
    """Name each point after its place, with distinct qualifiers when a place names several.

    The qualifiers ("Central", a compass point, then "Park", "Fields" …) go by best assignment.
    """
    score = np.sqrt(_sqdist(xy, place_xy)) - place_pull
    base = np.argmin(score, axis=1)
    names = np.empty(len(xy), dtype=object)
    labels = ("Central", *_COMPASS, *_EXTRA_QUALIFIERS)
    for b in np.unique(base):  # one small assignment per place
        members = np.flatnonzero(base == b)
        if members.size == 1:
            names[members[0]] = str(place_name[b])
            continue
        d = xy[members] - place_xy[b]
        dist = np.hypot(d[:, 0], d[:, 1])
        ang = np.arctan2(d[:, 1], d[:, 0])
        comp_ang = np.arange(8) * np.pi / 4
        diff = np.abs((ang[:, None] - comp_ang[None, :] + np.pi) % (2 * np.pi) - np.pi)
        n_extra = max(0, members.size - 9)
        if n_extra > len(_EXTRA_QUALIFIERS):
            raise RuntimeError("internal error: too many areas share one place name")
        cost = np.hstack(
            [
                (2 * dist / place_scale[b])[:, None],
                0.5 + diff / np.pi,
                3 + 0.01 * np.arange(len(_EXTRA_QUALIFIERS))[None, :].repeat(members.size, 0),
            ]
        )
        r, c = linear_sum_assignment(cost)
        for row, col in zip(r, c, strict=True):
            names[members[row]] = f"{place_name[b]} {labels[col]}"
    return names


# --------------------------------------------------------------------------------------------
# boundaries
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Geography:
    outline: shapely.Polygon
    places: Places
    quarters_xy: FloatArray
    quarters_name: NDArray[np.str_]
    atoms: Any
    atom_xy: FloatArray
    atom_area: FloatArray
    atom_pop: IntArray
    district: IntArray  # per atom
    ward_new: IntArray  # per atom
    ward_old: IntArray  # per atom
    adj: sparse.csr_matrix


@dataclass(frozen=True)
class _Cells:
    """The atoms with their centres, areas, population weight and people, and adjacency."""

    polys: Any
    xy: FloatArray
    area: FloatArray
    weight: FloatArray  # population density x area: where people live
    pop: IntArray  # whole people, summing to the county's population
    adj: sparse.csr_matrix

    @classmethod
    def of(cls, atoms: Any, places: Places, total_pop: int) -> _Cells:
        """Measure the atoms and share ``total_pop`` people among them by density."""
        xy = shapely.get_coordinates(shapely.centroid(atoms))
        area = shapely.area(atoms)
        weight = places.density(xy) * area
        quota = weight / weight.sum() * total_pop
        pop = np.floor(quota).astype(np.int64)
        short = total_pop - int(pop.sum())
        pop[np.argsort(-(quota - pop), kind="stable")[:short]] += 1
        return cls(atoms, xy, area, weight, pop, _adjacency(atoms))


def build_geography(rng: np.random.Generator, n_wards: int, n_districts: int) -> Geography:
    """Draw the outline, settlements and atoms; label atoms with district and both ward sets."""
    outline = _outline(rng)
    places, seats = _settlements(rng, outline, n_districts)
    q_xy, q_name = _quarters(rng, places)
    cells = _Cells.of(_atoms(rng, outline, places, 40 * n_wards), places, 720_000)
    district = _districts(rng, places, seats, cells)
    seeds, seed_d = _new_ward_seeds(rng, cells, district, n_wards)
    ward_new = _ward_labels(cells, district, seeds, seed_d, _Warp.random(rng, 350.0, 5000.0))
    old_xy, old_d = _old_ward_seeds(rng, seeds, seed_d, int(district.max()) + 1)
    ward_old = _ward_labels(cells, district, old_xy, old_d, _Warp.random(rng, 350.0, 5000.0))
    return Geography(
        outline,
        places,
        q_xy,
        q_name,
        cells.polys,
        cells.xy,
        cells.area,
        cells.pop,
        district,
        ward_new,
        ward_old,
        cells.adj,
    )


def _quarters(rng: np.random.Generator, places: Places) -> tuple[FloatArray, NDArray[np.str_]]:
    """Place and name the city's quarters (named places that new wards may be named after)."""
    city = places.xy[0]
    q_xy = spread_points(city + rng.normal(size=(600, 2)) * places.sigma[0] * 1.1, 26, 900.0)
    q_name = np.asarray(rng.choice(np.array(_QUARTERS), size=len(q_xy), replace=False))
    return q_xy, q_name


def _districts(
    rng: np.random.Generator, places: Places, seats: FloatArray, cells: _Cells
) -> IntArray:
    """Label atoms by district, made contiguous.

    An Apollonius diagram of the city and the district towns in a warped plane.
    """
    city = places.xy[0]
    w_d = _Warp.random(rng, 3000.0, 18_000.0)
    r_city = 2.6 * places.sigma[0]
    bonus = np.r_[
        0.0,
        np.full(len(seats) - 1, max(0.0, np.median(np.hypot(*(seats[1:] - city).T)) - 2 * r_city)),
    ]
    d = np.sqrt(_sqdist(w_d(cells.xy), w_d(seats))) - bonus
    zeros = np.zeros(len(cells.xy), dtype=np.int64)
    district = _make_contiguous(np.argmin(d, axis=1).astype(np.int64), zeros, cells.adj, cells.area)
    return _compact(district)


def _new_ward_seeds(
    rng: np.random.Generator, cells: _Cells, district: IntArray, n_wards: int
) -> tuple[FloatArray, IntArray]:
    """Seeds of the new wards by population per district, after a few weighted Lloyd steps.

    Returns each seed's point and district.
    """
    n_d = int(district.max()) + 1
    pop_d = np.bincount(district, weights=cells.pop, minlength=n_d)
    per_d = _allocate(pop_d**0.85, n_wards, 6, np.bincount(district, minlength=n_d) // 8)
    seed_xy_l, seed_d_l = [], []
    for k in range(n_d):  # one draw per district
        idx = np.flatnonzero(district == k)
        p = cells.weight[idx] / cells.weight[idx].sum()
        chosen = rng.choice(idx, size=int(per_d[k]), replace=False, p=p)
        seed_xy_l.append(cells.xy[chosen])
        seed_d_l.append(np.full(int(per_d[k]), k))
    seeds = np.vstack(seed_xy_l)
    seed_d = np.concatenate(seed_d_l).astype(np.int64)
    foreign = district[:, None] != seed_d[None, :]
    for _ in range(4):
        d2 = _sqdist(cells.xy, seeds)
        d2[foreign] = np.inf
        lab = np.argmin(d2, axis=1)
        w = cells.weight
        wsum = np.bincount(lab, weights=w, minlength=len(seeds))
        cx = np.bincount(lab, weights=w * cells.xy[:, 0], minlength=len(seeds))
        cy = np.bincount(lab, weights=w * cells.xy[:, 1], minlength=len(seeds))
        ok = wsum > 0
        seeds[ok] = np.c_[cx[ok] / wsum[ok], cy[ok] / wsum[ok]]
    return seeds, seed_d


def _old_ward_seeds(
    rng: np.random.Generator, seeds: FloatArray, seed_d: IntArray, n_d: int
) -> tuple[FloatArray, IntArray]:
    """Seeds of the old wards: the new ones jittered, some merged (dropped), some split."""
    nn = cKDTree(seeds).query(seeds, k=2)[0][:, 1]
    old = seeds + rng.normal(size=seeds.shape) * 0.22 * nn[:, None]
    n_drop = int(rng.integers(8, 15))
    n_add = n_drop + int(rng.integers(-6, 7))
    counts = np.bincount(seed_d, minlength=n_d)
    droppable = np.flatnonzero(counts[seed_d] > 6)
    drop = rng.choice(droppable, size=min(n_drop, droppable.size), replace=False)
    keep = np.setdiff1d(np.arange(len(seeds)), drop)
    split = rng.choice(keep, size=n_add, replace=False)
    ang = rng.uniform(0, 2 * np.pi, n_add)
    offs = np.c_[np.cos(ang), np.sin(ang)] * nn[split, None]
    old_twin = old[split] + 0.4 * offs
    old[split] -= 0.2 * offs
    return np.vstack([old[keep], old_twin]), np.r_[seed_d[keep], seed_d[split]]


def _ward_labels(
    cells: _Cells, district: IntArray, seed_xy: FloatArray, seed_dist: IntArray, warp: _Warp
) -> IntArray:
    """Label atoms by nearest seed of their own district in a warped plane, made contiguous."""
    d2 = _sqdist(warp(cells.xy), warp(seed_xy))
    d2[district[:, None] != seed_dist[None, :]] = np.inf
    lab = np.argmin(d2, axis=1).astype(np.int64)
    return _compact(_make_contiguous(lab, district, cells.adj, cells.area))


def _ranks(order: IntArray) -> IntArray:
    """Return each item's position in ``order`` (the inverse permutation)."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _codes(prefix: str, rank: IntArray, width: int) -> NDArray[np.str_]:
    """Return ids ``prefix`` + the 1-based rank, zero-padded to ``width`` digits."""
    return np.array([f"{prefix}{r + 1:0{width}d}" for r in rank])


def _unions(polys: Any, labels: IntArray, k: int) -> Any:
    """Coverage union of ``polys`` per label 0..k-1 (one union per area)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    return np.array(
        [shapely.coverage_union_all(polys[order[bounds[g] : bounds[g + 1]]]) for g in range(k)],
        dtype=object,
    )


@dataclass(frozen=True)
class _OldWards:
    """The old wards as nodes: population, district, centre and shared-edge graph."""

    n: int
    pop: NDArray[Any]  # people per old ward
    district: IntArray
    xy: FloatArray
    graph: sparse.csr_matrix


def _old_wards(geo: Geography) -> _OldWards:
    n_old = int(geo.ward_old.max()) + 1
    old_pop = np.bincount(geo.ward_old, weights=geo.atom_pop, minlength=n_old)
    old_dist = np.zeros(n_old, dtype=np.int64)
    old_dist[geo.ward_old] = geo.district
    wxy = (
        np.c_[
            np.bincount(geo.ward_old, weights=geo.atom_xy[:, 0] * geo.atom_area, minlength=n_old),
            np.bincount(geo.ward_old, weights=geo.atom_xy[:, 1] * geo.atom_area, minlength=n_old),
        ]
        / np.bincount(geo.ward_old, weights=geo.atom_area, minlength=n_old)[:, None]
    )
    wgraph = _label_graph(geo.ward_old, geo.adj, n_old)
    return _OldWards(n_old, old_pop, old_dist, wxy, wgraph)


def _police(geo: Geography, n_beats: int, n_sectors: int) -> dict[str, Any]:
    """Beats, sectors and NPAs as labels of the old wards."""
    wards = _old_wards(geo)
    npa, npa_city = _npa_labels(geo, wards)
    # sectors per NPA by population, then beats per sector by population
    n_npa = len(npa_city)
    npa_pop = np.bincount(npa, weights=wards.pop, minlength=n_npa)
    npa_size = np.bincount(npa, minlength=n_npa)
    sec_per = _allocate(npa_pop, n_sectors, 1, np.maximum(npa_size // 3, 1))
    sector = _split_each(npa, sec_per, wards)
    n_sec = int(sec_per.sum())
    sec_pop = np.bincount(sector, weights=wards.pop, minlength=n_sec)
    sec_size = np.bincount(sector, minlength=n_sec)
    beat_per = _allocate(sec_pop, n_beats, 2, sec_size)
    beat = _split_each(sector, beat_per, wards)
    return {"npa": npa, "sector": sector, "beat": beat, "npa_city": npa_city}


def _npa_labels(geo: Geography, wards: _OldWards) -> tuple[IntArray, NDArray[np.bool_]]:
    """NPAs: the city split in two; two pairs of adjacent small rural districts merged.

    Returns each old ward's NPA and, per NPA, whether it is one of the city's.
    """
    n_d = int(geo.district.max()) + 1
    dgraph = _label_graph(geo.district, geo.adj, n_d)
    city_d = int(geo.district[np.argmin(_sqdist(geo.places.xy[:1], geo.atom_xy)[0])])
    pop_d = np.bincount(wards.district, weights=wards.pop, minlength=n_d)
    rural = [k for k in range(n_d) if k != city_d]
    dg = dgraph.tocoo()
    pairs = sorted(
        {
            (min(a, b), max(a, b))
            for a, b in zip(dg.row, dg.col, strict=True)
            if a != city_d and b != city_d and a != b
        },
        key=lambda ab: (pop_d[ab[0]] + pop_d[ab[1]], ab),
    )
    group = {k: k for k in rural}
    merged: set[int] = set()
    for a, b in pairs:
        if len(merged) >= 4:
            break
        if a in merged or b in merged:
            continue
        group[b] = a
        merged |= {a, b}
    npa = np.full(wards.n, -1, dtype=np.int64)
    city_wards = np.flatnonzero(wards.district == city_d)
    npa[city_wards] = _partition(city_wards, 2, wards.graph, wards.xy)
    rural_groups = sorted(set(group.values()))
    for n, g in enumerate(rural_groups):
        in_group = [k for k in rural if group[k] == g]
        npa[np.isin(wards.district, in_group)] = 2 + n
    return npa, np.r_[True, True, np.zeros(len(rural_groups), bool)]


def _split_each(parent: IntArray, parts: IntArray, wards: _OldWards) -> IntArray:
    """Split each parent's wards into ``parts[parent]`` connected parts, numbered across parents."""
    labels = np.full(wards.n, -1, dtype=np.int64)
    nxt = 0
    for p in range(len(parts)):
        members = np.flatnonzero(parent == p)
        labels[members] = nxt + _partition(members, int(parts[p]), wards.graph, wards.xy)
        nxt += int(parts[p])
    return labels


@dataclass(frozen=True)
class _Namer:
    """The places areas are named after, each with its pull and scale (see _qualified_names)."""

    xy: FloatArray
    name: NDArray[np.str_]
    pull: FloatArray
    scale: FloatArray

    @classmethod
    def of(cls, geo: Geography) -> _Namer:
        """Settlements and city quarters; towns pull, the city does not."""
        places = geo.places
        pull = np.r_[
            np.where(places.kind == "town", 1.5 * places.sigma, 0.0), np.zeros(len(geo.quarters_xy))
        ]
        pull[0] = 0.0
        return cls(
            np.vstack([places.xy, geo.quarters_xy]),
            np.r_[places.name, geo.quarters_name],
            pull,
            np.r_[places.sigma + 300, np.full(len(geo.quarters_xy), 700.0)],
        )

    def names(self, geom: Any) -> NDArray[np.object_]:
        """Name each area after the place nearest its representative point."""
        rep = shapely.get_coordinates(shapely.point_on_surface(geom))
        return _qualified_names(rep, self.xy, self.name, self.pull, self.scale)


def build_layers(geo: Geography, n_beats: int, n_sectors: int) -> dict[str, Any]:
    """Build the GeoDataFrames (ids, names, geometry) from the atom labels."""
    pol = _police(geo, n_beats, n_sectors)
    namer = _Namer.of(geo)
    districts, d_rank, d_id = _district_frame(geo)
    wards_new, new_rank = _ward_frame(geo, geo.ward_new, "E059", namer, d_rank, d_id)
    wards_new = wards_new.iloc[np.argsort(new_rank)].reset_index(drop=True)
    wards_old, old_rank = _ward_frame(geo, geo.ward_old, "E058", namer, d_rank, d_id)
    police = _police_frames(geo, pol, wards_old.geometry.to_numpy(), namer)
    wards_old = wards_old.assign(
        beat=police["ward_beat"], sector=police["ward_sector"], npa=police["ward_npa"]
    )[["id", "name", "district", "population", "beat", "sector", "npa", "geometry"]]
    wards_old = wards_old.iloc[np.argsort(old_rank)].reset_index(drop=True)
    return {
        "outline": shapely.coverage_union_all(districts.geometry.to_numpy()),
        "districts": districts,
        "wards_new": wards_new,
        "wards_old": wards_old,
        "beats": police["beats"],
        "sectors": police["sectors"],
        "npas": police["npas"],
        "new_rank": new_rank,
    }


def _district_frame(geo: Geography) -> tuple[gpd.GeoDataFrame, IntArray, NDArray[np.str_]]:
    """Return the districts (in id order), each district label's rank and its id."""
    n_d = int(geo.district.max()) + 1
    d_geom = _unions(geo.atoms, geo.district, n_d)
    d_pop = np.bincount(geo.district, weights=geo.atom_pop, minlength=n_d).astype(np.int64)
    d_names = _district_names(geo, d_geom)
    d_order = np.argsort(np.array(d_names), kind="stable")
    d_rank = _ranks(d_order)
    d_id = _codes("E079", d_rank, 5)
    districts = (
        gpd.GeoDataFrame(
            {"id": d_id, "name": d_names, "population": d_pop, "geometry": d_geom}, crs=BNG
        )
        .iloc[d_order]
        .reset_index(drop=True)
    )
    return districts, d_rank, d_id


def _district_names(geo: Geography, d_geom: Any) -> list[str]:
    """Name each district after its largest place, else its compass point in the county."""
    places = geo.places
    # place -> district by the atom containing the place centre
    tree = shapely.STRtree(geo.atoms)
    hit_p, hit_a = tree.query(shapely.points(places.xy), predicate="intersects")
    _, first = np.unique(hit_p, return_index=True)
    place_d = np.full(len(places.xy), -1, dtype=np.int64)
    place_d[hit_p[first]] = geo.district[hit_a[first]]
    d_names = []
    for k in range(len(d_geom)):
        inside = np.flatnonzero(place_d == k)
        if inside.size:
            d_names.append(str(places.name[inside[np.argmax(places.weight[inside])]]))
        else:
            c = np.asarray(shapely.get_coordinates(shapely.point_on_surface(d_geom[k])))[0]
            centre = np.asarray(geo.outline.centroid.coords[0])
            ci = int(_compass_index(np.array([c[0] - centre[0]]), np.array([c[1] - centre[1]]))[0])
            d_names.append(f"{_COMPASS[ci]} {COUNTY_NAME}")
    return d_names


def _ranked_frame(
    prefix: str,
    width: int,
    geom: Any,
    names: NDArray[Any],
    parent_rank: IntArray,
    columns: dict[str, Any],
) -> tuple[gpd.GeoDataFrame, IntArray, NDArray[np.str_]]:
    """Give areas ids ranked by parent, then name; return the frame (label order), ranks, ids."""
    order = np.lexsort((names.astype(str), parent_rank))
    rank = _ranks(order)
    ids = _codes(prefix, rank, width)
    frame = gpd.GeoDataFrame(
        {"id": ids, "name": names.astype(str), **columns, "geometry": geom}, crs=BNG
    )
    return frame, rank, ids


def _in_rank_order(frame: gpd.GeoDataFrame, rank: IntArray) -> gpd.GeoDataFrame:
    return frame.iloc[np.argsort(rank)].reset_index(drop=True)


def _ward_frame(
    geo: Geography,
    lab: IntArray,
    prefix: str,
    namer: _Namer,
    d_rank: IntArray,
    d_id: NDArray[np.str_],
) -> tuple[gpd.GeoDataFrame, IntArray]:
    """Return one ward vintage (in label order) and each ward label's rank."""
    k = int(lab.max()) + 1
    geom = _unions(geo.atoms, lab, k)
    dist = np.zeros(k, dtype=np.int64)
    dist[lab] = geo.district
    pop = np.bincount(lab, weights=geo.atom_pop, minlength=k).astype(np.int64)
    columns = {"district": d_id[dist], "population": pop}
    frame, rank, _ = _ranked_frame(prefix, 5, geom, namer.names(geom), d_rank[dist], columns)
    return frame, rank


def _police_frames(
    geo: Geography, pol: dict[str, Any], old_geom: Any, namer: _Namer
) -> dict[str, Any]:
    """Build the NPAs, sectors and beats from the old ward polygons, and each old ward's ids."""
    places = geo.places
    npa, sector, beat = pol["npa"], pol["sector"], pol["beat"]
    n_sec, n_beat = int(sector.max()) + 1, int(beat.max()) + 1
    npas, npa_rank, npa_ids = _npa_frame(geo, npa, pol["npa_city"], old_geom)
    sec_of_beat = np.zeros(n_beat, dtype=np.int64)
    sec_of_beat[beat] = sector
    npa_of_sec = np.zeros(n_sec, dtype=np.int64)
    npa_of_sec[sector] = npa
    sec_geom = _unions(old_geom, sector, n_sec)
    s_pull = np.where(places.kind == "town", 2 * places.sigma, 0.0)
    sec_names = _Namer(places.xy, places.name, s_pull, places.sigma + 300).names(sec_geom)
    sec_npa = {"npa": npa_ids[npa_of_sec].astype(str)}
    sectors, s_rank, s_id = _ranked_frame(
        "S", 2, sec_geom, sec_names, npa_rank[npa_of_sec], sec_npa
    )
    beat_geom = _unions(old_geom, beat, n_beat)
    beat_parents = {
        "sector": s_id[sec_of_beat],
        "npa": npa_ids[npa_of_sec[sec_of_beat]].astype(str),
    }
    beat_names = namer.names(beat_geom)
    beats, b_rank, b_id = _ranked_frame(
        "B", 2, beat_geom, beat_names, s_rank[sec_of_beat], beat_parents
    )
    return {
        "npas": npas,
        "sectors": _in_rank_order(sectors, s_rank),
        "beats": _in_rank_order(beats, b_rank),
        "ward_beat": b_id[beat],
        "ward_sector": s_id[sector],
        "ward_npa": npa_ids[npa].astype(str),
    }


def _npa_frame(
    geo: Geography, npa: IntArray, is_city: NDArray[np.bool_], old_geom: Any
) -> tuple[gpd.GeoDataFrame, IntArray, NDArray[np.object_]]:
    """Return the NPAs (in id order), each NPA label's rank and its id.

    NPAs are named by compass point: the city's from the city centre, the others from the
    county's centre.
    """
    n_npa = int(npa.max()) + 1
    npa_geom = _unions(old_geom, npa, n_npa)
    npa_rep = shapely.get_coordinates(shapely.point_on_surface(npa_geom))
    centre = np.asarray(geo.outline.centroid.coords[0])
    npa_names = np.empty(n_npa, dtype=object)
    npa_ids = np.empty(n_npa, dtype=object)
    for mask, origin, prefix, code in (
        (is_city, geo.places.xy[0], f"{geo.places.name[0]} ", "C"),
        (~is_city, centre, "", ""),
    ):
        idx = np.flatnonzero(mask)
        d = npa_rep[idx] - origin
        ang = np.arctan2(d[:, 1], d[:, 0])
        diff = np.abs(
            (ang[:, None] - np.arange(8)[None, :] * np.pi / 4 + np.pi) % (2 * np.pi) - np.pi
        )
        r, c = linear_sum_assignment(diff)
        for row, col in zip(r, c, strict=True):
            npa_names[idx[row]] = prefix + _COMPASS[col]
            npa_ids[idx[row]] = f"NPA-{code}{_COMPASS_CODE[col]}"
    npa_order = np.argsort(npa_ids.astype(str), kind="stable")
    npas = (
        gpd.GeoDataFrame(
            {"id": npa_ids.astype(str), "name": npa_names.astype(str), "geometry": npa_geom},
            crs=BNG,
        )
        .iloc[npa_order]
        .reset_index(drop=True)
    )
    return npas, _ranks(npa_order), npa_ids
