"""Tests for beatplan.hotspots.study_area: a study area given (layer, polygon, plan) or derived
robustly from the incidents, and who lies inside it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _forces import leicestershire, with_far_points
from pyproj import CRS

from beatplan.geo.errors import (
    CRSError,
    EmptyInputError,
    GeometryError,
    InputFormatError,
    ValidationError,
)
from beatplan.hotspots import find_hotspots
from beatplan.hotspots.study_area import (
    StudyArea,
    as_study_area,
    check_coverage,
    derive_study_area,
    locate_study_area,
)

BNG = CRS.from_epsg(27700)


def _town(n=4000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform([400_000, 300_000], [420_000, 315_000], (n, 2))


def test_derived_area_leaves_far_points_out_and_is_not_inflated():
    town = _town()
    rng = np.random.default_rng(1)
    angle, dist = rng.uniform(0, 2 * np.pi, 200), rng.uniform(100_000, 300_000, 200)
    far = np.c_[410_000 + dist * np.cos(angle), 307_500 + dist * np.sin(angle)]
    clean = derive_study_area(town)
    stray = derive_study_area(np.r_[town, far])
    assert shapely.equals(clean.geometry, stray.geometry)
    assert 290 < clean.km2 < 330  # the 20 km x 15 km town, to within its edge cells
    assert stray.derived and "200 incidents in groups farther away left out" in stray.how
    sa, inside = locate_study_area(None, BNG, np.r_[town, far])
    assert inside[: len(town)].all() and not inside[len(town) :].any()
    np.testing.assert_array_equal(inside, sa.inside(np.r_[town, far]))


def test_derived_area_keeps_a_sparse_force_whole_and_fills_its_holes():
    rng = np.random.default_rng(2)
    ring = rng.uniform(0, 2 * np.pi, 3000)
    r = rng.uniform(5_000, 8_000, 3000)  # a ring of incidents round an empty park
    sa = derive_study_area(np.c_[r * np.cos(ring), r * np.sin(ring)] + 500_000)
    assert sa.geometry.geom_type == "Polygon" and len(sa.geometry.interiors) == 0
    assert sa.geometry.contains(shapely.Point(500_000, 500_000))


def test_inside_matches_the_exact_test():
    rng = np.random.default_rng(3)
    blob = shapely.union_all(shapely.buffer(shapely.points(rng.uniform(0, 10_000, (40, 2))),
                                            rng.uniform(300, 1500, 40)))  # fmt: skip
    sa = StudyArea(blob, "given")
    xy = rng.uniform(-1000, 11_000, (20_000, 2))
    on_edge = shapely.get_coordinates(
        blob.exterior
        if blob.geom_type == "Polygon"
        else shapely.get_exterior_ring(shapely.get_parts(blob))
    )[:500]
    xy = np.r_[xy, on_edge]
    np.testing.assert_array_equal(sa.inside(xy), shapely.intersects_xy(blob, xy[:, 0], xy[:, 1]))


def test_a_given_area_layer_polygon_plan_or_file(tmp_path):
    wards = gpd.GeoDataFrame(
        {"id": ["a", "b"]},
        geometry=[shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)],
        crs=27700,
    )
    sa = as_study_area(wards.to_crs(4326), BNG)  # reprojected, unioned
    assert sa.area_m2 == pytest.approx(2e6, rel=1e-3) and "2 features" in sa.how
    assert not sa.derived
    plan = {"beat": wards, "force": wards.dissolve()}
    assert "force layer" in as_study_area(plan, BNG).how
    assert as_study_area(shapely.box(0, 0, 10, 10) | shapely.box(5000, 0, 5010, 10), BNG).km2 == (
        pytest.approx(2e-4)
    )
    with pytest.raises(CRSError, match="lon/lat"):
        as_study_area(shapely.box(-1.2, 52.5, -1.0, 52.7), BNG)
    with pytest.raises(CRSError, match="no CRS"):
        as_study_area(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), BNG)
    with pytest.raises(EmptyInputError, match="empty"):
        as_study_area(wards.iloc[:0], BNG)
    with pytest.raises(GeometryError, match="Polygon"):
        as_study_area(shapely.LineString([(0, 0), (1000, 1000)]), BNG)
    wards.to_file(tmp_path / "wards.geojson")
    from_file = as_study_area(tmp_path / "wards.geojson", BNG)  # a path, as design takes one
    assert from_file.area_m2 == pytest.approx(2e6, rel=1e-3) and "wards.geojson" in from_file.how
    with pytest.raises(InputFormatError, match="no such file"):
        as_study_area(str(tmp_path / "force.gpkg"), BNG)
    with pytest.raises(ValidationError, match="found int"):
        as_study_area(5, BNG)


def test_check_coverage():
    assert check_coverage(None) is None and check_coverage(0.005) == 0.005
    assert check_coverage(1) == 1.0
    for bad in (0, -0.1, 1.5, float("nan"), "half"):
        with pytest.raises(ValidationError, match="coverage"):
            check_coverage(bad)
    with pytest.raises(ValidationError, match=r"for 5 % give 0.05"):
        check_coverage(5)


def test_find_hotspots_counts_and_leaves_out_incidents_outside_the_study_area():
    town = _town(6000)
    rng = np.random.default_rng(4)
    hot = rng.normal([405_000, 305_000], 60, (400, 2))
    far = rng.uniform(600_000, 700_000, (30, 2))
    xy = np.r_[town, hot, far]
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    hs = find_hotspots(pts, method="gistar")
    assert hs.params["outside_study_area"] == 30
    assert hs.labels.iloc[-30:].isna().all() and hs.labels.iloc[:-30].notna().all()
    assert any("30 selected incidents outside the study area" in m for m in hs.messages)
    assert hs.study_area is not None and hs.study_area.derived
    assert "derived" in hs.params["how"]["study_area_km2"]
    given = find_hotspots(
        pts, method="gistar", study_area=shapely.box(400_000, 300_000, 410_000, 315_000)
    )
    assert given.params["outside_study_area"] == 30 + int((town[:, 0] > 410_000).sum())
    assert given.params["study_area_km2"] == pytest.approx(150.0)
    with pytest.raises(EmptyInputError, match="none of the"):
        find_hotspots(pts, study_area=shapely.box(0, 0, 1000, 1000))


@pytest.mark.realdata
def test_leicestershire_derived_area_is_the_force_and_ignores_far_points(shared_data):
    inc, wards = leicestershire(shared_data)
    force = shapely.union_all(wards.geometry.values)
    xy = shapely.get_coordinates(inc.points.geometry.values)
    sa = derive_study_area(xy)
    iou = sa.geometry.intersection(force).area / sa.geometry.union(force).area
    assert iou > 0.9, iou
    assert 0.9 < sa.area_m2 / force.area < 1.05
    far = with_far_points(inc.points)
    again = derive_study_area(shapely.get_coordinates(far.geometry.values))
    assert again.area_m2 == pytest.approx(sa.area_m2, rel=0.001)
    # the convex hull of every point, the old default, is many times the force
    hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(far.geometry.values)))
    assert hull.area > 20 * force.area
    assert isinstance(far, pd.DataFrame)
