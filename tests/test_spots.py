"""Tests for beatplan.hotspots.spots, the default method: the busiest places at the scale of the
map points (real data too: it beats the naive baseline computed from the written polygons)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _forces import leicestershire

from beatplan.geo import write_layers
from beatplan.geo.errors import ValidationError
from beatplan.hotspots import find_hotspots, hotspot_method
from beatplan.hotspots.baseline import CellAreas, ranked_hits
from beatplan.hotspots.spots import (
    SpotMethod,
    current_point_set,
    map_point_spacing,
    spot_surface,
)
from beatplan.hotspots.study_area import StudyArea, as_study_area

SQUARE = shapely.box(0, 0, 4000, 4000)


def _snapped(n=6000, months=3, seed=0, spacing=80.0, shift=0.0):
    """Incidents snapped to a lattice of map points, busier in a few places, ``months`` months."""
    rng = np.random.default_rng(seed)
    g = np.arange(spacing / 2, 4000, spacing)
    lattice = np.array(np.meshgrid(g, g)).reshape(2, -1).T + shift
    rate = rng.pareto(1.2, len(lattice)) + 0.05
    rate[np.argsort(-rate)[:5]] *= 20  # five very busy map points
    pick = rng.choice(len(lattice), n, p=rate / rate.sum())
    xy = lattice[pick]
    month = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, months, n) * 31, "D")
    month = month.to_period("M").to_timestamp()
    return gpd.GeoDataFrame({"month": month}, geometry=gpd.points_from_xy(*xy.T), crs=27700)


def test_map_point_spacing_corrects_for_points_not_seen_yet():
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 8000, (6400, 2))  # map points scattered at random
    full = map_point_spacing(points, np.full(len(points), 9))[0]
    for n in (3000, 10_000):  # few incidents: many points unused, the seen spacing too large
        xy = points[rng.integers(0, len(points), n)]
        unique, counts = np.unique(xy, axis=0, return_counts=True)
        spacing, seen, share = map_point_spacing(unique, counts)
        assert 0 < share < 1 and spacing < seen
        assert abs(spacing - full) < abs(seen - full), (n, spacing, seen, full)
    assert map_point_spacing(points[:4], np.array([5, 5, 5, 5]))[2] == 1.0


def test_current_point_set_leaves_out_months_on_regenerated_points():
    before = _snapped(4000, months=3, seed=2)
    after = _snapped(3000, months=2, seed=3, shift=40.0)  # new map points 40 m away
    after["month"] = after["month"] + pd.DateOffset(months=3)
    pts = pd.concat([before, after], ignore_index=True)
    xy = shapely.get_coordinates(pts.geometry.values)
    month = (pts["month"].dt.year * 12 + pts["month"].dt.month).to_numpy()
    keep, note = current_point_set(xy, month)
    np.testing.assert_array_equal(keep, np.r_[np.zeros(4000, bool), np.ones(3000, bool)])
    assert "3 months on another set of map points" in note
    same, none = current_point_set(xy[:4000], month[:4000])
    assert same.all() and none == ""


def test_spot_surface_counts_by_hand():
    unique = np.array([[100.0, 100.0], [110.0, 100.0], [150.0, 100.0]])
    weight = np.array([3.0, 1.0, 2.0])
    sa = StudyArea(shapely.box(0, 0, 400, 400), "given")
    s = spot_surface(unique, weight, sa, radius=20.0, cell=5.0)
    x, y = s.centres(s.ids)
    # a location counts by its own cell's centre (the discs are sums over cells)
    own = (np.floor((unique - [s.x0, s.y0]) / s.cell) + 0.5) * s.cell + [s.x0, s.y0]
    d = np.hypot(x[:, None] - own[:, 0], y[:, None] - own[:, 1])
    for k, r in ((s.c1, 20.0), (s.c2, 40.0)):
        np.testing.assert_allclose(k, (weight * (d <= r + 1e-9)).sum(axis=1))
    assert s.c1[0] == 4.0  # the best cell sees both of the close points
    # ranked by (c1, c2, c3)
    key = np.c_[s.c1, s.c2, s.c3]
    assert all(tuple(a) >= tuple(b) for a, b in zip(key, key[1:], strict=False))
    # every candidate lies within two radii of a location, inside the area
    assert d.min(axis=1).max() <= 40.0 + 1e-9


def test_the_busiest_places_are_never_dropped():
    pts = _snapped()
    hs = find_hotspots(pts, study_area=SQUARE)
    assert hs.method == "spots" and len(hs) > 5
    xy = shapely.get_coordinates(pts.geometry.values)
    unique, counts = np.unique(xy, axis=0, return_counts=True)
    busiest = unique[np.argsort(-counts, kind="stable")[:20]]
    union = shapely.union_all(hs.areas.geometry.values)
    assert shapely.intersects_xy(union, busiest[:, 0], busiest[:, 1]).all()
    # the busiest place is in the first hotspot
    first = hs.areas.geometry.iloc[0]
    assert shapely.intersects_xy(first, *busiest[0])
    # ranked by incidents; each incident labelled lies in its hotspot's outline
    assert hs.areas["incidents"].is_monotonic_decreasing
    lab = hs.labels.to_numpy(dtype=np.int64, na_value=-1)
    inside = lab > 0
    geoms = hs.areas.geometry.values[lab[inside] - 1]
    assert shapely.intersects(geoms, pts.geometry.values[inside]).all()
    assert (hs.areas.geometry.is_valid).all()
    assert hs.areas["incidents"].sum() == inside.sum()


def test_defaults_are_data_driven_and_said():
    pts = _snapped()
    hs = find_hotspots(pts, study_area=SQUARE)
    p, how = hs.params, hs.params["how"]
    assert 60 < p["spacing"] < 100  # the 80 m lattice
    assert p["radius"] == pytest.approx(max(p["spacing"] / 4, 20.0), abs=0.01)
    assert p["cell"] == pytest.approx(p["radius"] / 4, abs=0.01)
    assert p["threshold"] == 2.0 and "a repeat spot" in how["threshold"]
    assert "(3 months: 2)" in how["threshold"]
    assert "Chao1" in how["spacing"] and "nearest-neighbour" in how["spacing"]
    assert "an outcome" in how["coverage"] and p["coverage"] == pytest.approx(hs.coverage)
    for key in ("spacing", "radius", "cell", "threshold", "coverage", "min_incidents"):
        assert key in how
    # a year of data: 8 incidents at a spot
    year = pts.assign(month=pts["month"] + pd.to_timedelta(
        (np.arange(len(pts)) % 4) * 92, "D"))  # fmt: skip
    year["month"] = year["month"].dt.to_period("M").dt.to_timestamp()
    assert find_hotspots(year, study_area=SQUARE).params["threshold"] == 8.0


def test_coverage_and_top():
    pts = _snapped()
    for share in (0.001, 0.005, 0.02):
        hs = find_hotspots(pts, study_area=SQUARE, coverage=share)
        # the hot cells cover at most the share; their outline, simplified by half a cell,
        # within a part in a thousand of it
        assert share * 0.9 <= hs.coverage <= share * 1.001, (share, hs.coverage)
    top = find_hotspots(pts, study_area=SQUARE, coverage=0.005, top=3)
    assert len(top) == 3 and top.params["top"] == 3
    assert (top.labels.dropna() <= 3).all()
    # a large coverage reaches past the spots and their rings
    wide = find_hotspots(pts, study_area=SQUARE, coverage=0.3)
    assert 0.25 < wide.coverage <= 0.3 * 1.001


def test_weights_count_and_options_of_other_methods_are_refused():
    pts = _snapped()
    w = np.where(np.arange(len(pts)) % 2 == 0, 2.0, 0.5)
    hs = find_hotspots(pts, study_area=SQUARE, weights=w)
    assert hs.params["weights"] == "array" and len(hs)
    for option in ("alpha", "fdr", "background", "band"):
        with pytest.raises(ValidationError, match=f"{option}= applies to"):
            find_hotspots(pts, **{option: 1})
    with pytest.raises(ValidationError, match="threshold"):
        hotspot_method("spots", threshold=0)
    given = find_hotspots(pts, study_area=SQUARE, spacing=100.0, threshold=5)
    assert given.params["spacing"] == 100.0 and given.params["how"]["spacing"] == "given"
    assert isinstance(hotspot_method(), SpotMethod)


def test_outlines_follow_the_spots_and_stay_in_the_study_area():
    pts = _snapped()
    half = shapely.box(0, 0, 2000, 4000)
    hs = find_hotspots(pts, study_area=half)
    assert hs.params["outside_study_area"] > 0
    assert shapely.union_all(hs.areas.geometry.values).difference(half).area < 1e-6
    # not grid squares of 100-200 m: the outline cells are a sixteenth of the spacing
    assert hs.params["cell"] < 10 and hs.areas["area_m2"].median() < 1e4


# --------------------------------------------------------------------------- real data


@pytest.mark.realdata
def test_leicestershire_default_beats_the_naive_baseline_from_the_written_polygons(
    shared_data, tmp_path
):
    """Every fold: the default map, written to a GeoPackage and read back, against the naive
    map (the busiest 100 m cells of the same 3 training months) at the same coverage."""
    inc, wards = leicestershire(shared_data)
    pts = inc.points
    sa = as_study_area(wards, inc.crs)
    cells = CellAreas.over(sa)
    month = pts["month"].dt.strftime("%Y-%m")
    months = sorted(month.unique())
    xy = shapely.get_coordinates(pts.geometry.values)
    inside = sa.inside(xy)
    rows = []
    for k in range(3, len(months)):  # the 9 folds
        train = month.between(months[k - 3], months[k - 1]).to_numpy()
        test = (month == months[k]).to_numpy() & inside
        hs = find_hotspots(pts[train], study_area=wards)
        path = tmp_path / f"{months[k]}.gpkg"
        write_layers(path, {"hotspots": hs.areas})
        back = gpd.read_file(path, layer="hotspots").to_crs(inc.crs)
        union = shapely.intersection(shapely.union_all(back.geometry.values), sa.geometry)
        share = union.area / sa.area_m2
        n = int(test.sum())
        hits = int(shapely.intersects_xy(union, xy[test, 0], xy[test, 1]).sum())
        pai = hits / n / share
        naive = ranked_hits(cells.counts(xy[train & inside]), cells.counts(xy[test]),
                            cells.area, share * sa.area_m2) / n / share  # fmt: skip
        # the 50 busiest training locations all lie in the written polygons
        unique, counts = np.unique(xy[train & inside], axis=0, return_counts=True)
        top = unique[np.argsort(-counts, kind="stable")[:50]]
        busiest = int(shapely.intersects_xy(union, top[:, 0], top[:, 1]).sum())
        rows.append((months[k], len(back), share, pai, naive, busiest))
    table = pd.DataFrame(rows, columns=["test", "hotspots", "coverage", "pai", "naive", "busiest"])
    assert len(table) == 9
    assert (table["pai"] > table["naive"]).all(), table.to_string()
    assert (table["busiest"] == 50).all(), table.to_string()
    assert (table["coverage"] < 0.005).all()  # compact: well under half a per cent of the force
