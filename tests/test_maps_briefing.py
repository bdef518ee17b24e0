"""beatplan.maps.briefing: what the briefing map holds, checked on its rendered HTML."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from harness.maps import assets_missing_reason, urls_outside_assets

from beatplan.geo.errors import CRSError, OptionError, ValidationError
from beatplan.maps.briefing import LAYER_NAMES, briefing_map
from beatplan.maps.offline import external_resources, to_html

X0, Y0 = 456_000.0, 300_000.0
PAYLOAD = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def _layers() -> dict[str, gpd.GeoDataFrame]:
    boxes = [shapely.box(X0 + i * 2000, Y0 + j * 2000, X0 + (i + 1) * 2000, Y0 + (j + 1) * 2000)
             for j in range(2) for i in range(2)]  # fmt: skip
    beats = gpd.GeoDataFrame(
        {"id": ["B1", "B2", "B3", "B4"], "name": ["North <West>", None, "Centre", "East"]},
        geometry=boxes,
        crs=27700,
    )
    npa = gpd.GeoDataFrame(
        {"id": ["N1", "N2"], "name": ["South NPA", "North NPA"]},
        geometry=[shapely.union_all(boxes[:2]), shapely.union_all(boxes[2:])],
        crs=27700,
    )
    return {"beat": beats, "npa": npa}


def _incidents(n: int = 900, seed: int = 3) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 4000, size=(n, 2)) + [X0, Y0]
    xy = np.round(xy / 50) * 50  # snapped, as police.uk does
    return gpd.GeoDataFrame(
        {
            "month": pd.to_datetime(rng.choice(["2022-08-01", "2022-09-01", "2022-10-01"], n)),
            "timestamp": pd.NaT,
            "category": pd.Series(rng.choice(["Burglary", "Drugs", "Robbery"], n), dtype="string"),
            "location": pd.Series([f"On or near Road {k % 37}" for k in range(n)], dtype="string"),
        },
        geometry=shapely.points(xy),
        crs=27700,
    )


def _hotspots() -> gpd.GeoDataFrame:
    polys = [
        shapely.Point(X0 + 1000, Y0 + 1000).buffer(300),
        shapely.Point(X0 + 3000, Y0 + 3000).buffer(200),
        shapely.Point(X0 + 3000, Y0 + 1000).buffer(150),
    ]
    return gpd.GeoDataFrame(
        {
            "hotspot": [1, 2, 3],
            "incidents": [40, 25, 12],
            "share": [0.05, 0.03, 0.01],
            "area_m2": shapely.area(polys),
            "top_types": ["Burglary 20, Drugs 10", "Robbery 9", PAYLOAD],
            "first_month": ["2022-08", "2022-09", "2022-10"],
            "last_month": ["2022-10", "2022-10", "2022-10"],
            "peak_hours": [pd.NA, pd.NA, pd.NA],
            "method": "gistar",
        },
        geometry=polys,
        crs=27700,
    )


def _registered(html: str) -> dict[str, str]:
    """Layer name -> kind, from the registrations in the page's script."""
    return dict(re.findall(r'window\.beatplan\.register\("([^"]+)", \w+,\s*"?\'?(\w+)', html))


def _data_of(html: str, name: str) -> dict:
    """The GeoJSON FeatureCollection of the layer registered as ``name``."""
    for block in re.findall(r"\(function\(\) \{(.*?)\n\}\)\(\);", html, re.S):
        if f'register("{name}"' in block:
            m = re.search(r"L\.geoJson\((\{.*?\}), \{\n", block, re.S)
            assert m, f"no GeoJSON in layer {name}"
            return json.loads(m.group(1))
    raise AssertionError(f"layer {name!r} not found")


def test_layers_and_counts() -> None:
    pts = _incidents()
    m = briefing_map(pts, _hotspots(), _layers(), tiles=None)
    html = m.get_root().render()
    reg = _registered(html)
    for key in ("outline", "beats", "heat", "hotspots", "incidents"):
        assert LAYER_NAMES[key] in reg
    # the last month only (police.uk-style monthly data, since="28D")
    n_oct = int((pts["month"] == "2022-10-01").sum())
    assert f"{n_oct:,} incidents" in html
    assert "October 2022" in html
    beats = _data_of(html, LAYER_NAMES["beats"])
    assert len(beats["features"]) == 4
    # each beat's tooltip counts its October incidents, edges included (a point on a shared
    # edge counts in both beats), as counted here independently
    tips = [f["properties"]["tip"] for f in beats["features"]]
    counts = [int(re.search(r"(\d+) incidents", t).group(1)) for t in tips]
    octo = pts[pts["month"] == "2022-10-01"]
    expected = [
        int(shapely.intersects_xy(b, octo.geometry.x, octo.geometry.y).sum())
        for b in _layers()["beat"].geometry
    ]
    assert counts == expected and sum(counts) >= n_oct
    hot = _data_of(html, LAYER_NAMES["hotspots"])
    assert [f["properties"]["pop"].split("</b>")[0] for f in hot["features"]] == [
        "<b>Hotspot 1",
        "<b>Hotspot 2",
        "<b>Hotspot 3",
    ]


def test_every_value_from_data_is_escaped() -> None:
    pts = _incidents(60)
    pts["location"] = PAYLOAD
    pts["category"] = PAYLOAD
    layers = _layers()
    layers["beat"].loc[0, "name"] = PAYLOAD
    m = briefing_map(pts, _hotspots(), layers, title=PAYLOAD, since=None, tiles=None)
    html = m.get_root().render()
    assert "<script>window.__xss" not in html
    assert "<img src=x" not in html
    # and each value is there, escaped: the location and crime type (in the incidents' string
    # tables), the beat name (label and tooltip), the hotspot's crime types and the title
    shown = "&lt;script&gt;window.__xss=1&lt;"
    for before in (
        '"tip":"\\u003cb>Beat B1 ',  # beat tooltip
        'txt = ["',  # beat label
        "Top crime types\\u003c\\/th>\\u003ctd>",  # hotspot popup
        'places: ["',  # incident location text
        'types: ["',  # incident crime type
        "\\u003ch1>",  # title
    ):
        assert before + shown in html, before


def test_area_by_id_limits_everything_to_it() -> None:
    pts = _incidents()
    layers = _layers()
    m = briefing_map(pts, _hotspots(), layers, area="N1", tiles=None, since=None)
    html = m.get_root().render()
    inside = shapely.intersects_xy(layers["npa"].geometry[0], pts.geometry.x, pts.geometry.y)
    assert f"{int(inside.sum()):,} incidents" in html
    assert "Crime briefing: South NPA" in html
    beats = _data_of(html, LAYER_NAMES["beats"])
    assert len(beats["features"]) == 2  # the two beats of N1; its neighbours only touch it
    hot = _data_of(html, LAYER_NAMES["hotspots"])
    assert len(hot["features"]) == 2  # hotspot 2 lies in N2


def test_area_by_name_and_polygon_agree() -> None:
    pts = _incidents()
    layers = _layers()
    by_name = briefing_map(pts, None, layers, area="north npa", tiles=None).get_root().render()
    poly = layers["npa"].geometry[1]
    by_poly = briefing_map(pts, None, layers, area=poly, tiles=None).get_root().render()
    count = re.compile(r"([\d,]+) incidents \\u00b7|([\d,]+) incidents ·")
    assert count.search(by_name).groups() == count.search(by_poly).groups()


def test_bad_area_and_options() -> None:
    pts = _incidents(50)
    with pytest.raises(ValidationError, match="N1"):
        briefing_map(pts, None, _layers(), area="nowhere", tiles=None)
    with pytest.raises(CRSError, match="lon/lat"):
        briefing_map(pts, None, _layers(), area=shapely.box(-1.2, 52.6, -1.1, 52.7), tiles=None)
    with pytest.raises(OptionError, match="tiles"):
        briefing_map(pts, None, _layers(), tiles="Google")
    with pytest.raises(OptionError, match="since"):
        briefing_map(pts, None, _layers(), since="yesterday", tiles=None)
    with pytest.raises(TypeError, match="hotspots"):
        briefing_map(pts, [1, 2], _layers(), tiles=None)


def test_inputs_are_not_modified() -> None:
    pts, hs, layers = _incidents(), _hotspots(), _layers()
    before = (pts.copy(), hs.copy(), {k: v.copy() for k, v in layers.items()})
    briefing_map(pts, hs, layers, area="N2", tiles=None)
    pd.testing.assert_frame_equal(pts, before[0])
    pd.testing.assert_frame_equal(hs, before[1])
    for k in layers:
        pd.testing.assert_frame_equal(layers[k], before[2][k])


def test_lonlat_inputs_are_accepted() -> None:
    pts = _incidents().to_crs(4326)
    layers = {k: v.to_crs(4326) for k, v in _layers().items()}
    html = briefing_map(pts, _hotspots().to_crs(4326), layers, tiles=None).get_root().render()
    assert LAYER_NAMES["hotspots"] in _registered(html)


def test_no_boundaries_no_hotspots() -> None:
    html = briefing_map(_incidents(), tiles=None, since=None).get_root().render()
    reg = _registered(html)
    assert LAYER_NAMES["incidents"] in reg and LAYER_NAMES["beats"] not in reg


def test_points_grouped_above_the_budget() -> None:
    html = briefing_map(_incidents(3000), None, _layers(), since=None, max_points=50, tiles=None)
    assert "m squares" in html.get_root().render()


def test_ward_table_boundaries() -> None:
    layers = _layers()
    wards = layers["beat"].assign(beat=["B1", "B2", "B3", "B4"], npa=["N1", "N1", "N2", "N2"])
    wards["id"] = ["W1", "W2", "W3", "W4"]
    html = briefing_map(_incidents(), None, wards, area="N2", tiles=None).get_root().render()
    assert len(_data_of(html, LAYER_NAMES["beats"])["features"]) == 2


@pytest.mark.skipif(assets_missing_reason() is not None, reason=str(assets_missing_reason()))
def test_offline_briefing_has_no_external_resource() -> None:
    html = to_html(briefing_map(_incidents(), _hotspots(), _layers(), tiles=None))
    assert external_resources(html) == []
    assert urls_outside_assets(html) == []
    html_osm = to_html(briefing_map(_incidents(), _hotspots(), _layers()))
    assert external_resources(html_osm) == []
    assert "tile.openstreetmap.org" in html_osm


def _ticked(m: object) -> dict[str, bool]:
    """Layer name -> whether the layer control shows it ticked when the map opens."""
    return {c.layer_name: c.show for c in m._children.values() if hasattr(c, "layer_name")}


def test_clustered_incidents_start_switched_off() -> None:
    pts, inc = _incidents(), LAYER_NAMES["incidents"]
    many = briefing_map(pts, _hotspots(), _layers(), since=None, tiles=None)
    assert _registered(many.get_root().render())[inc] == "cluster"
    assert not _ticked(many)[inc] and _ticked(many)[LAYER_NAMES["hotspots"]]
    few = briefing_map(pts, None, _layers(), since=None, cluster_above=10**6, tiles=None)
    assert _registered(few.get_root().render())[inc] == "points" and _ticked(few)[inc]
    forced = briefing_map(pts, None, _layers(), since=None, show_incidents=True, tiles=None)
    assert _registered(forced.get_root().render())[inc] == "cluster" and _ticked(forced)[inc]


def test_a_hotspot_only_touching_the_area_is_left_out() -> None:
    layers = _layers()
    south = layers["npa"].geometry[0]  # y from Y0 to Y0 + 2000
    hs = _hotspots().iloc[:1].copy()
    hs.geometry = [shapely.box(X0 + 500, Y0 + 2000, X0 + 900, Y0 + 2400)]  # on its north edge
    html = briefing_map(_incidents(), hs, layers, area="N1", tiles=None).get_root().render()
    assert shapely.touches(hs.geometry[0], south)
    assert LAYER_NAMES["hotspots"] not in _registered(html) and "0 hotspots" in html
    inside = hs.set_geometry(hs.translate(0, -100))  # now a quarter of it lies in N1
    html = briefing_map(_incidents(), inside, layers, area="N1", tiles=None).get_root().render()
    assert len(_data_of(html, LAYER_NAMES["hotspots"])["features"]) == 1


def test_hotspots_are_clipped_ranked_within_the_area_and_named() -> None:
    layers = _layers()
    south = layers["npa"].geometry[0]
    hs = _hotspots()
    # hotspot 1 straddles N1's edge: half of it lies in the north
    hs.geometry = [shapely.Point(X0 + 1000, Y0 + 2000).buffer(300), *hs.geometry[1:]]
    html = briefing_map(_incidents(), hs, layers, area="N1", tiles=None).get_root().render()
    hot = _data_of(html, LAYER_NAMES["hotspots"])
    assert len(hot["features"]) == 2
    # the drawn outline is the part inside the area
    first = shapely.geometry.shape(hot["features"][0]["geometry"])
    edge = gpd.GeoSeries([shapely.Point(X0 + 1000, Y0 + 2000)], crs=27700).to_crs(4326)
    assert first.bounds[3] <= edge.y.iloc[0] + 5e-5  # not north of the edge (5 m: display)
    whole = gpd.GeoSeries([hs.geometry.iloc[0]], crs=27700).to_crs(4326).iloc[0]
    assert whole.bounds[3] > edge.y.iloc[0] + 1e-3  # while the hotspot reaches past it
    pops = [f["properties"]["pop"] for f in hot["features"]]
    assert pops[0].startswith("<b>Hotspot 1") and pops[1].startswith("<b>Hotspot 2")
    # hotspot 3 is ranked 2 in N1, its force-wide rank said; each named by its beat
    assert "<th>Force-wide rank</th><td>3</td>" in pops[1]
    assert "Beat" in pops[0] and "North &lt;West&gt;" in pops[0]
    tips = [f["properties"]["tip"] for f in hot["features"]]
    assert "B2" in tips[1]  # B2 has no name: its id
    # the ranked table on the map names the beats too
    assert "Hotspots, ranked" in html and "North &lt;West&gt;" in html
    assert south.contains(shapely.Point(X0 + 1000, Y0 + 1900))


def test_top_and_the_title_say_coverage_and_what_the_backtest_found() -> None:
    from beatplan.hotspots import backtest, find_hotspots

    pts = _incidents(3000)
    force = shapely.box(X0, Y0, X0 + 4000, Y0 + 4000)
    hs = find_hotspots(pts, study_area=force)
    assert len(hs) > 3
    html = briefing_map(pts, hs, _layers(), tiles=None, top=3).get_root().render()
    assert len(_data_of(html, LAYER_NAMES["hotspots"])["features"]) == 3
    assert f"hotspots cover {hs.coverage:.2%} of the study area" in html
    assert "backtest" not in html
    months = pts.assign(month=pts["month"] - pd.DateOffset(months=1))
    year = pd.concat([months, pts], ignore_index=True)  # 4 months: one fold
    table = backtest(year, study_area=force, progress=False)
    held = table["hit_rate"].mean()
    html = briefing_map(pts, hs, _layers(), tiles=None, backtest=table).get_root().render()
    assert f"such hotspots held {held:.0%} of the next month" in html
    assert "mean of 1 month" in html


def test_progress_bar_only_when_asked(capfd) -> None:
    briefing_map(_incidents(), _hotspots(), _layers(), since=None, tiles=None, progress=True)
    err = capfd.readouterr().err
    assert "briefing map:" in err and "/5 " in err
    briefing_map(_incidents(), _hotspots(), _layers(), since=None, tiles=None)
    assert capfd.readouterr().err == ""  # not a terminal, and too few incidents


def test_outlines_are_simplified_by_their_cell_and_bad_params_are_ignored() -> None:
    from beatplan.maps.briefing import _months_of, _outline_tolerance

    assert _outline_tolerance('{"cell": 5.0}') == 3.75  # spots' 5 m staircases
    assert _outline_tolerance('{"cell": 100.0}') == 10.0  # Gi*'s cells never cut by more
    assert _outline_tolerance('{"cell": 0.5}') == 1.0
    for bad in (None, "", "not json", "[1, 2]", '{"cell": "x"}', '{"cell": NaN}'):
        assert _outline_tolerance(bad) == 1.0
        assert _months_of(bad) is None
