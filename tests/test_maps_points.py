"""beatplan.maps.points: incidents counted per location, binned to a grid above the budget."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatplan.geo.errors import CRSError, GeometryError
from beatplan.maps.points import HeatLayer, IncidentLayer, summarise_points

TYPES = ["Burglary", "Drugs", "Robbery", "Shoplifting", "Vehicle crime"]


def _incidents(n: int = 3000, n_locations: int = 400, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    loc_xy = rng.uniform(0, 5000, size=(n_locations, 2)) + [450_000, 300_000]
    which = rng.integers(0, n_locations, n)
    xy = loc_xy[which]
    return gpd.GeoDataFrame(
        {
            "category": pd.Series(rng.choice(TYPES, n), dtype="string"),
            "month": pd.to_datetime(rng.choice(["2022-08-01", "2022-09-01", "2022-10-01"], n)),
            "location": pd.Series([f"On or near Street {i}" for i in which], dtype="string"),
        },
        geometry=shapely.points(xy),
        crs=27700,
    )


def test_counts_add_up_per_location() -> None:
    pts = _incidents()
    s = summarise_points(pts)
    assert s.cell_m is None
    assert s.count.sum() == len(pts) == s.n_incidents
    distinct = pts.geometry.apply(lambda g: (g.x, g.y)).nunique()  # test-side reference
    assert len(s) == distinct == s.info["distinct_locations"]
    # the marker's top types are the location's commonest, with their counts
    ref = pts.assign(loc=pts["location"]).groupby(["loc", "category"]).size()
    for i in range(0, len(s), 37):
        name = s.places[s.place[i]]
        counts = ref.loc[name].sort_values(ascending=False)
        got = [
            (s.types[t], c) for t, c in zip(s.top_type[i], s.top_count[i], strict=True) if t >= 0
        ]
        assert [c for _, c in got] == counts.iloc[: len(got)].tolist()
        assert s.n_types[i] == len(counts)
        assert s.count[i] == counts.sum()


def test_months_span_each_location() -> None:
    pts = _incidents()
    s = summarise_points(pts)
    assert s.months == ["Aug 2022", "Sep 2022", "Oct 2022"]
    assert np.all(s.month_first <= s.month_last)
    one = pts.iloc[[0]]
    s1 = summarise_points(one)
    assert s1.month_first[0] == s1.month_last[0] >= 0


def test_grid_aggregation_above_the_budget() -> None:
    pts = _incidents(n=5000, n_locations=3000)
    s = summarise_points(pts, max_points=200)
    assert len(s) <= 200
    assert s.cell_m is not None and s.cell_m >= 25
    assert s.count.sum() == len(pts)
    # every distinct location is in exactly one cell
    distinct = len(set(zip(pts.geometry.x, pts.geometry.y, strict=True)))
    assert s.n_locations.sum() == s.info["distinct_locations"] == distinct
    assert (s.place == -1).all()
    # the smaller grid would not have fitted
    s_half = summarise_points(pts, max_points=len(s))
    assert s_half.cell_m == s.cell_m


def test_markers_lie_on_the_data() -> None:
    pts = _incidents(n=2000, n_locations=1500)
    s = summarise_points(pts, max_points=100)
    ll = pts.to_crs(4326).geometry
    lo, hi = ll.total_bounds[[1, 0]], ll.total_bounds[[3, 2]]
    assert np.all(s.latlon >= lo - 1e-5) and np.all(s.latlon <= hi + 1e-5)


def test_missing_columns_degrade_gracefully() -> None:
    pts = _incidents()[["geometry"]]
    s = summarise_points(pts)
    assert s.count.sum() == len(pts)
    assert s.types == ["Unknown type"] and s.months == [] and s.places == []
    assert (s.month_first == -1).all()


def test_lonlat_points_are_accepted() -> None:
    pts = _incidents().to_crs(4326)
    s = summarise_points(pts)
    assert s.count.sum() == len(pts)


def test_empty_input() -> None:
    s = summarise_points(_incidents().iloc[:0])
    assert len(s) == 0 and s.n_incidents == 0
    assert "[]" in IncidentLayer("x", s).script("m")


def test_bad_inputs() -> None:
    pts = _incidents(n=10)
    with pytest.raises(ValueError, match="max_points"):
        summarise_points(pts, max_points=0)
    with pytest.raises(CRSError, match="no CRS"):
        summarise_points(pts.set_crs(None, allow_override=True))
    poly = pts.copy()
    poly.geometry = poly.geometry.buffer(5)
    with pytest.raises(GeometryError, match="points only"):
        summarise_points(poly)


def test_location_text_is_escaped() -> None:
    pts = _incidents(n=5, n_locations=1)
    pts["location"] = "<script>alert(1)</script>"
    s = summarise_points(pts)
    assert s.places == ["&lt;script&gt;alert(1)&lt;/script&gt;"]
    js = IncidentLayer("x", s).script("m")
    assert "<script>" not in js


def test_cluster_only_above_the_threshold() -> None:
    s = summarise_points(_incidents(n_locations=50))
    small = IncidentLayer("x", s, cluster_above=100)
    big = IncidentLayer("x", s, cluster_above=10)
    assert not small.cluster and small.default_js == []
    assert big.cluster and big.default_js
    assert "markerClusterGroup" in big.script("m")


def test_heat_layer_carries_every_count() -> None:
    s = summarise_points(_incidents())
    js = HeatLayer("h", s).script("m")
    assert js.count("],[") == len(s) - 1
