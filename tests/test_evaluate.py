"""Tests for beatplan.hotspots.evaluate: hit rate, PAI and RRI of hotspot polygons (real data
too), and the study area it scores against."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from _forces import bng_points as _pts
from _forces import chicago as chicago_data
from _forces import leicestershire as leicestershire_data

from beatplan.geo.errors import EmptyInputError, GeometryError, ValidationError
from beatplan.hotspots import evaluate, find_hotspots

# --------------------------------------------------------------------------- evaluate


def test_evaluate_pai_hit_rate_and_rri_by_hand():
    area = shapely.box(0, 0, 10_000, 10_000)  # 100 km²
    hot = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000)], crs=27700)  # 1 km² = 1 %
    rng = np.random.default_rng(0)
    later = np.r_[rng.uniform(0, 1000, (30, 2)), rng.uniform(2000, 10_000, (70, 2))]
    earlier = np.r_[rng.uniform(0, 1000, (20, 2)), rng.uniform(2000, 10_000, (180, 2))]
    ev = evaluate(hot, _pts(later), area, earlier=_pts(earlier))
    assert ev["incidents"] == 100 and ev["hits"] == 30
    assert ev["hit_rate"] == pytest.approx(0.30)
    assert ev["area_share"] == pytest.approx(0.01)
    assert ev["pai"] == pytest.approx(30.0)
    # RRI: (30 / 20) / (100 / 200) = 3
    assert ev["rri"] == pytest.approx(3.0)
    # incidents outside the study area are ignored; hotspot parts outside it too
    outside = np.r_[later, [[20_000.0, 20_000.0]] * 10]
    hot2 = gpd.GeoSeries([shapely.box(-1000, 0, 1000, 1000)], crs=27700)
    ev2 = evaluate(hot2, _pts(outside), area)
    assert ev2["incidents"] == 100 and ev2["area_share"] == pytest.approx(0.01)
    assert np.isnan(ev2["rri"])


def test_evaluate_a_hotspots_result_uses_its_incidents_for_rri():
    rng = np.random.default_rng(2)
    xy = np.r_[rng.normal(5000, 60, (300, 2)), rng.uniform(0, 10_000, (700, 2))]
    hs = find_hotspots(_pts(xy), method="gistar")
    later = np.r_[rng.normal(5000, 60, (150, 2)), rng.uniform(0, 10_000, (350, 2))]
    ev = evaluate(hs, _pts(later), shapely.box(0, 0, 10_000, 10_000))
    assert ev["earlier_incidents"] == 1000
    assert ev["pai"] > 10 and 0.5 < ev["rri"] < 2


def test_evaluate_bad_inputs():
    hot = gpd.GeoSeries([shapely.box(0, 0, 10, 10)], crs=27700)
    with pytest.raises(EmptyInputError, match="inside the study area"):
        evaluate(hot, _pts([[50_000, 50_000]]), shapely.box(1000, 1000, 1100, 1100))
    with pytest.raises(ValidationError, match="Hotspots result"):
        evaluate([1, 2], _pts([[5, 5]]), shapely.box(1000, 1000, 1100, 1100))
    with pytest.raises(GeometryError, match="Polygon"):
        evaluate(hot, _pts([[5, 5]]), shapely.LineString([(0, 0), (1, 1)]))


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def chicago(shared_data):
    return chicago_data(shared_data)


@pytest.mark.realdata
def test_chicago_hotspots_by_year_predict_the_next_year(chicago):
    inc, city = chicago
    years = sorted(inc.points["month"].dt.year.unique())
    assert years == list(range(2010, 2020))
    pts = inc.points
    for year in years[:-1]:
        hs = find_hotspots(inc, method="gistar", months=(f"{year}-01", f"{year}-12"))
        assert len(hs) >= 10
        assert hs.params["incidents"] == int((pts["month"].dt.year == year).sum())
        ev = evaluate(hs, pts[pts["month"].dt.year == year + 1], city)
        # a year's hotspots hold several times their area share of the next year's assaults
        assert ev["pai"] > 3, (year, ev.to_dict())
        assert 0.5 < ev["rri"] < 1.5


@pytest.mark.realdata
def test_evaluate_without_a_study_area_is_not_inflated_by_far_points(shared_data):
    """The convex hull of every point (the old default) made PAI many times too high."""
    from _forces import with_far_points

    inc, wards = leicestershire_data(shared_data)
    pts = with_far_points(inc.points)
    month = pts["month"].dt.strftime("%Y-%m")
    train, later = pts[month.between("2022-07", "2022-09")], pts[month == "2022-10"]
    hs = find_hotspots(train, method="gistar")
    assert hs.params["outside_study_area"] >= 40  # the far points, counted and left out
    truth = evaluate(hs, later, wards)
    own = evaluate(hs, later)  # the hotspots' own (derived) study area
    assert own["outside"] >= 10 and "derived" in own.attrs["study_area"]
    # a derived area is an estimate of the force's (from 3 months, 10 % smaller here) ...
    assert own["pai"] == pytest.approx(truth["pai"], rel=0.2), (own["pai"], truth["pai"])
    # ... that the far points do not move
    clean = inc.points[inc.points["month"].dt.strftime("%Y-%m").between("2022-07", "2022-09")]
    alone = evaluate(find_hotspots(clean, method="gistar"), later)
    assert own["pai"] == pytest.approx(alone["pai"], rel=0.01), (own["pai"], alone["pai"])
    everything = np.concatenate([shapely.get_coordinates(train.geometry.values),
                                 shapely.get_coordinates(later.geometry.values)])  # fmt: skip
    hull = shapely.convex_hull(shapely.multipoints(everything))
    assert evaluate(hs, later, hull)["pai"] > 20 * truth["pai"]
    # polygons alone: the area is derived from the later and earlier incidents
    bare = evaluate(hs.areas, later, earlier=train)
    assert bare["pai"] == pytest.approx(truth["pai"], rel=0.2), (bare["pai"], truth["pai"])
