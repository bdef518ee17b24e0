"""beatplan.maps.layers: display geometry, escaping and script-safe JSON."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Polygon

from beatplan.geo.errors import CRSError, GeometryError
from beatplan.maps.layers import (
    DECIMALS,
    GeoJsonLayer,
    LabelLayer,
    area_labels,
    display_geometry,
    escape,
    feature_collection,
    js_json,
    to_lonlat,
)
from beatplan.maps.style import Legend

PAYLOADS = ["<script>alert(1)</script>", '<img src=x onerror="alert(2)">', 'O\'Brien & "Sons"']


def test_escape_every_special_character() -> None:
    out = escape(PAYLOADS + [None, 42])
    assert out.tolist() == [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;",
        "O&#x27;Brien &amp; &quot;Sons&quot;",
        "",
        "42",
    ]
    for s in out:
        assert not set("<>\"'") & set(s)


def test_escape_keeps_the_index_and_handles_missing() -> None:
    s = pd.Series(["a<b", pd.NA, None], index=[10, 20, 30], dtype="object")
    out = escape(s)
    assert list(out.index) == [10, 20, 30]
    assert out.tolist() == ["a&lt;b", "", ""]


def test_js_json_cannot_close_a_script() -> None:
    obj = {"a": "</script><script>alert(1)</script>", "b": "\u2028"}
    text = js_json(obj)
    assert "</" not in text and "<" not in text
    assert json.loads(text) == obj


def _wiggly_pair() -> gpd.GeoDataFrame:
    # two squares sharing a wiggly edge (x = 1000 +- a few metres), 500 vertices on it
    y = np.linspace(0, 1000, 500)
    x = 1000 + 3 * np.sin(y / 7)
    edge = list(zip(x, y, strict=True))
    left = Polygon([(0, 0), *edge, (0, 1000)])
    right = Polygon([(2000, 0), (2000, 1000), *edge[::-1]])
    return gpd.GeoDataFrame({"id": ["L", "R"]}, geometry=[left, right], crs=27700).set_geometry(
        gpd.GeoSeries([left, right], crs=27700).translate(450_000, 300_000).values
    )


def test_coverage_simplification_keeps_shared_edges() -> None:
    gdf = _wiggly_pair()
    before = shapely.get_num_coordinates(gdf.geometry.values).sum()
    out = display_geometry(gdf, tolerance=10)
    after = shapely.get_num_coordinates(out).sum()
    assert after < before / 3
    # the two simplified polygons still form a coverage: no gap, no overlap along the shared edge
    assert shapely.coverage_is_valid(out)
    assert shapely.area(shapely.intersection(out[0], out[1])) == pytest.approx(0, abs=1e-12)
    shared_a = shapely.intersection(shapely.boundary(out[0]), shapely.boundary(out[1]))
    assert shapely.length(shared_a) > 0.8 * 1000 / 111_000  # the whole edge, in degrees


def test_display_geometry_is_lonlat_rounded_to_about_a_metre() -> None:
    out = display_geometry(_wiggly_pair(), tolerance=0)
    xy = shapely.get_coordinates(out)
    assert np.all((xy[:, 0] > -2) & (xy[:, 0] < 2) & (xy[:, 1] > 49) & (xy[:, 1] < 56))
    scaled = xy * 10**DECIMALS
    assert np.allclose(scaled, np.round(scaled), atol=1e-6)


def test_display_geometry_projects_lonlat_input_before_simplifying() -> None:
    gdf = _wiggly_pair().to_crs(4326)
    out = display_geometry(gdf, tolerance=10)
    assert (
        shapely.get_num_coordinates(out).sum()
        < shapely.get_num_coordinates(gdf.geometry.values).sum() / 3
    )
    assert shapely.coverage_is_valid(out)


def test_display_geometry_needs_a_crs() -> None:
    gdf = _wiggly_pair().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="set_crs"):
        display_geometry(gdf)


def test_forced_coverage_with_points_is_an_error() -> None:
    g = gpd.GeoSeries([shapely.Point(450_000, 300_000)], crs=27700)
    with pytest.raises(GeometryError, match="polygons only"):
        display_geometry(g, coverage=True)


def test_overlapping_polygons_are_simplified_one_by_one() -> None:
    a = shapely.Point(450_000, 300_000).buffer(500, quad_segs=64)
    b = shapely.Point(450_400, 300_000).buffer(500, quad_segs=64)
    out = display_geometry(gpd.GeoSeries([a, b], crs=27700), tolerance=20)
    assert np.all(shapely.is_valid(out))
    assert shapely.get_num_coordinates(out).sum() < shapely.get_num_coordinates([a, b]).sum()


def test_feature_collection_drops_empty_and_is_script_safe() -> None:
    geoms = np.array([shapely.Point(-1.1, 52.6), shapely.Polygon(), shapely.Point(-1.2, 52.7)])
    props = pd.DataFrame({"tip": escape(["a</script>", "b", PAYLOADS[0]]), "n": [1, 2, 3]})
    text = feature_collection(geoms, props)
    assert "</" not in text
    fc = json.loads(text)
    assert [f["properties"]["n"] for f in fc["features"]] == [1, 3]
    assert fc["features"][1]["properties"]["tip"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    with pytest.raises(ValueError, match="2 property rows"):
        feature_collection(geoms, props.iloc[:2])


def test_to_lonlat_orders_lat_first() -> None:
    pts = gpd.GeoSeries([shapely.Point(-1.13, 52.63)], crs=4326).to_crs(27700)
    ll = to_lonlat(pts)
    assert ll.shape == (1, 2)
    assert ll[0] == pytest.approx([52.63, -1.13], abs=2e-5)


def test_label_layer_escapes_text() -> None:
    lyr = LabelLayer("x", np.array([[52.6, -1.1]]), [PAYLOADS[1]])
    js = lyr.script("map_1")
    assert "onerror=&quot;" in js and "<img" not in js
    with pytest.raises(ValueError, match="1 label positions but 2 texts"):
        LabelLayer("x", np.array([[52.6, -1.1]]), ["a", "b"])


def test_area_labels_sit_inside_their_polygons_and_show_when_they_fit() -> None:
    u = shapely.Point(456_000, 300_000).buffer(3000, quad_segs=64)  # a ring (not convex)
    ring = u.difference(shapely.Point(456_000, 300_000).buffer(2000))
    small = shapely.box(470_000, 300_000, 470_200, 300_200)
    geoms = gpd.GeoSeries([ring, small], crs=27700)
    lyr = area_labels("l", geoms, ["Ring", "Small"], css_class="bp-beat", always=[False, False])
    back = gpd.GeoSeries(shapely.points(lyr.latlon[:, ::-1]), crs=4326).to_crs(27700)
    assert shapely.within(back.values, geoms.values).all()
    # the 200 m square needs a closer zoom than the 5 km ring before its label fits
    assert lyr.min_zoom[1] > lyr.min_zoom[0] > 0
    forced = area_labels("l", geoms, ["Ring", "Small"], css_class="bp-beat", always=[False, True])
    assert forced.min_zoom[1] == 0 and forced.min_zoom[0] == lyr.min_zoom[0]


def test_panes_are_checked_and_take_no_clicks() -> None:
    with pytest.raises(ValueError, match="bp-top-lines"):
        LabelLayer("x", np.array([[52.6, -1.1]]), ["a"], pane="markerPane")
    lyr = GeoJsonLayer("x", feature_collection(np.array([]), pd.DataFrame()), styles=[{}],
                       pane="bp-top-lines")  # fmt: skip
    js = lyr.script("map_1")
    assert "interactive: false" in js and '"bp-top-lines", 610)' in js


def test_legend_swatches_match_the_map() -> None:
    leg = Legend("L", [("box", "#ff0000", "a", 0.4), ("box", "#00ff00", "b"),
                       ("ramp", ["#0000ff", "#ff0000"], "heat")])  # fmt: skip
    html = json.loads(leg.html_js)
    assert "background:rgba(255,0,0,0.40);border-color:#ff0000" in html
    assert "background:#00ff00" in html
    assert "linear-gradient(to right,#0000ff,#ff0000)" in html
    with pytest.raises(ValueError, match="rrggbb"):
        Legend("L", [("ramp", ["#0000ff", "red"], "heat")])
