"""Property tests: the boundary invariants hold for any generated tessellation and grouping.

Wards are Voronoi cells of random seeds in a 10 km box, built by polygonising the noded cell
edges so that they form an exact coverage (shared edges identical), as real ward layers do
after validation.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatplan.boundaries import build_layers, fix_contiguity, nest, realign
from beatplan.boundaries.checks import check_layers, check_nesting, check_unions
from beatplan.boundaries.contiguity import check_contiguity
from beatplan.boundaries.coverage import check_coverage

X0, Y0, SIZE = 450_000.0, 300_000.0, 10_000.0
LEVELS = ["beat", "sector", "npa"]
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tessellation(n: int, seed: int) -> np.ndarray:
    """``n`` Voronoi cells of random seeds clipped to the box, as an exact coverage."""
    rng = np.random.default_rng(seed)
    frame = shapely.box(X0, Y0, X0 + SIZE, Y0 + SIZE)
    seeds = shapely.multipoints(rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    lines = shapely.union_all(np.concatenate([shapely.boundary(cells), [frame.boundary]]))
    edges = shapely.get_parts(shapely.intersection(lines, frame))
    polys = shapely.get_parts(shapely.polygonize(edges))
    assert shapely.coverage_is_valid(polys)
    return polys


def wards_from(polys: np.ndarray, prefix: str = "w") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i:03d}" for i in range(len(polys))]}, geometry=polys, crs=27700
    )


def grouped(polys: np.ndarray, n_groups: int, seed: int) -> np.ndarray:
    """Group cells around random centres (mostly contiguous groups, like real beats)."""
    rng = np.random.default_rng(seed)
    c = shapely.get_coordinates(shapely.centroid(polys))
    centres = rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (n_groups, 2))
    return np.argmin(((c[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)


def nested_table(n: int, seed: int, n_beats: int, n_npas: int) -> gpd.GeoDataFrame:
    polys = tessellation(n, seed)
    w = wards_from(polys)
    beat = grouped(polys, n_beats, seed + 1)
    rng = np.random.default_rng(seed + 2)
    beat_npa = rng.integers(0, n_npas, beat.max() + 1)
    w["beat"] = [f"B{b:02d}" for b in beat]
    w["sector"] = [f"S{b // 2:02d}" for b in beat]
    w["npa"] = [f"N{beat_npa[(b // 2) * 2]:02d}" for b in beat]
    return w


def scattered(n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` wards labelled at random at every level: areas in pieces, levels not nested."""
    polys = tessellation(n, seed)
    rng = np.random.default_rng(seed)
    w = wards_from(polys)
    for level, k in zip(LEVELS, (6, 4, 2), strict=True):
        w[level] = [f"{level}{v}" for v in rng.integers(0, k, len(polys))]
    return w


def area_of(g: shapely.Geometry) -> float:
    return float(shapely.area(g))


sizes = st.tuples(st.integers(3, 40), st.integers(0, 10_000), st.integers(1, 8), st.integers(1, 3))


@FAST
@given(sizes)
def test_layers_are_exact_unions_and_counts_add_up(args: tuple[int, int, int, int]) -> None:
    n, seed, n_beats, n_npas = args
    w = nested_table(n, seed, n_beats, n_npas)
    layers = build_layers(w)
    union = shapely.union_all(w.geometry.values)
    total = area_of(union)
    for level in [*LEVELS, "force"]:
        layer = layers[level]
        assert layer["n_wards"].sum() == len(w)  # every ward counted exactly once
        assert layer["area_m2"].sum() == pytest.approx(total, rel=1e-9)
        assert (
            area_of(shapely.symmetric_difference(shapely.union_all(layer.geometry.values), union))
            < 1e-3
        )
        assert check_coverage(layer, level=level).ok
    for level in LEVELS:
        assert sorted(layers[level]["id"]) == sorted(w[level].unique())
    assert check_unions(w, layers, levels=LEVELS).ok
    assert check_nesting(w, levels=LEVELS).ok


@FAST
@given(st.integers(3, 40), st.integers(0, 10_000))
def test_nest_makes_any_labelling_nested(n: int, seed: int) -> None:
    w = scattered(n, seed)
    r = nest(w, LEVELS)
    assert check_nesting(r.wards, levels=LEVELS).ok
    assert r.wards["beat"].tolist() == w["beat"].tolist()
    assert r.wards["id"].tolist() == w["id"].tolist()
    assert len(r.conflicts) <= w["beat"].nunique() + w["sector"].nunique()
    changed = (r.wards[LEVELS[1:]].to_numpy() != w[LEVELS[1:]].to_numpy()).any(axis=1)
    moved = {x for s in r.conflicts["wards_moved"] for x in s.split(";") if x}
    assert set(w["id"][changed]) == moved  # exactly the wards reported as moved


@FAST
@given(st.integers(3, 40), st.integers(0, 10_000))
def test_fix_contiguity_leaves_every_area_contiguous(n: int, seed: int) -> None:
    w = nest(scattered(n, seed), LEVELS).wards
    fix = fix_contiguity(w, levels=LEVELS)
    assert fix.report.ok, str(fix.report)
    assert check_contiguity(fix.wards, levels=LEVELS).ok
    assert check_nesting(fix.wards, levels=LEVELS).ok
    assert fix.wards["id"].tolist() == w["id"].tolist()  # each ward still once, in order
    changed = (fix.wards[LEVELS].to_numpy() != w[LEVELS].to_numpy()).any(axis=1)
    assert set(w["id"][changed]) == fix.moved_wards


@SLOW
@given(
    st.integers(8, 40),
    st.integers(0, 10_000),
    st.integers(2, 6),
    st.sampled_from(["area", "demand"]),
)
def test_realign_invariants(n_new: int, seed: int, n_beats: int, by: str) -> None:
    old = nested_table(30, seed, n_beats, 2)
    beats = build_layers(old)["beat"]
    new = wards_from(tessellation(n_new, seed + 7), prefix="n")
    rng = np.random.default_rng(seed)
    n_pts = 400
    pts = gpd.GeoDataFrame(
        geometry=shapely.points(rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (n_pts, 2))),
        crs=27700,
    )
    r = realign(new, beats, levels=LEVELS, by=by, demand=pts, allow_coarse=True)
    a = r.assignment
    assert len(a) == len(new) and a["ward"].is_unique  # every ward assigned once
    assert set(a["beat"]) <= set(beats["id"])
    assert r.checks.ok, str(r.checks)
    assert check_layers(r.wards, r.areas, levels=LEVELS).ok
    for level in LEVELS:
        ch = r.changes[r.changes["level"] == level]
        assert ch["n_wards"].sum() == len(new)
        assert ch["area_new_m2"].sum() == pytest.approx(SIZE * SIZE, rel=1e-9)
        assert ch["demand_new"].sum() == ch["demand_old"].sum() == a["demand"].sum()
    assert a["demand"].sum() + r.summary["demand_outside_wards"] == n_pts
    p = r.pieces[r.pieces["level"] == "beat"]
    by_area = p.groupby("ward")["area_m2"].sum()
    areas = pd.Series(shapely.area(new.geometry.values), index=new["id"])
    np.testing.assert_allclose(by_area.reindex(areas.index), areas, rtol=1e-9)
    assert ((a["share"] >= 0) & (a["share"] <= 1 + 1e-9)).all()
    assert (a["review"] == (a["reason"] != "")).all()


@FAST
@given(st.integers(3, 30), st.integers(0, 10_000), st.integers(0, 5), st.floats(1.0, 200.0))
def test_coverage_check_agrees_with_geos(n: int, seed: int, kind: int, size: float) -> None:
    """The fast coverage certificate never passes a layer GEOS rejects (and vice versa)."""
    polys = tessellation(n, seed).copy()
    k = seed % len(polys)
    p = polys[k]
    if kind == 0:  # push one vertex out of line
        c = shapely.get_coordinates(p.exterior)
        c[1] += size
        polys[k] = shapely.make_valid(shapely.Polygon(c))
    elif kind == 1:  # grow one ward over its neighbours
        polys[k] = p.buffer(size)
    elif kind == 2:  # shrink one ward: a gap, still a coverage
        polys[k] = p.buffer(-size / 10)
    elif kind == 3:  # a duplicated ward
        polys = np.append(polys, p)
    elif kind == 4:  # a small ward inside another
        polys = np.append(polys, shapely.centroid(p).buffer(size / 10))
    keep = ~shapely.is_empty(polys) & np.isin(shapely.get_type_id(polys), [3, 6])
    polys = polys[keep & shapely.is_valid(polys)]
    layer = wards_from(polys)
    assert (not check_coverage(layer).problems) == bool(shapely.coverage_is_valid(polys))
