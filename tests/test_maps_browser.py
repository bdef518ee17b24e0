"""Maps opened from disk in headless Chromium, no network: no JS errors, layers drawn, XSS inert.

Screenshots are written to ``$BEATPLAN_SCREENSHOTS`` (default: pytest's tmp folder).
"""

from __future__ import annotations

from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from folium.plugins import Fullscreen
from harness.chromium import open_page
from harness.maps import PROBE

from beatplan.maps.layers import (
    GeoJsonLayer,
    LabelLayer,
    add_registry,
    display_geometry,
    escape,
    feature_collection,
)
from beatplan.maps.offline import save
from beatplan.maps.points import HeatLayer, IncidentLayer, summarise_points
from beatplan.maps.style import BEAT_LINE, HOTSPOT_LINE, Legend, TitleBox, add_page_css

pytestmark = pytest.mark.browser

XSS_SCRIPT = "<script>window.__xss = 1</script>"
XSS_IMG = '<img src=x onerror="window.__xss = 2">'


def _hostile_incidents(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(7)
    xy = rng.uniform(0, 3000, size=(n, 2)) + [458_000, 303_000]
    loc = np.where(np.arange(n) % 2 == 0, XSS_SCRIPT, XSS_IMG)
    return gpd.GeoDataFrame(
        {
            "category": pd.Series(
                np.where(np.arange(n) % 3 == 0, XSS_IMG, "Burglary"), dtype="string"
            ),
            "month": pd.Timestamp("2022-10-01"),
            "location": pd.Series(loc, dtype="string"),
        },
        geometry=shapely.points(xy),
        crs=27700,
    )


def _hostile_map(cluster_above: int) -> folium.Map:
    pts = _hostile_incidents(40)
    s = summarise_points(pts)
    m = folium.Map(tiles=None, maxZoom=19, control_scale=True)
    add_registry(m)
    add_page_css(m)
    box = shapely.box(458_000, 303_000, 461_000, 306_000)
    areas = gpd.GeoDataFrame({"name": [XSS_SCRIPT]}, geometry=[box], crs=27700)
    fc = feature_collection(
        display_geometry(areas),
        pd.DataFrame({"tip": escape(areas["name"]), "pop": escape(areas["name"])}),
    )
    g = folium.FeatureGroup(name=escape(XSS_IMG).iloc[0]).add_to(m)
    GeoJsonLayer("areas", fc, styles=[BEAT_LINE]).add_to(g)
    LabelLayer("labels", np.array([[52.63, -1.13]]), [XSS_IMG]).add_to(g)
    p = folium.FeatureGroup(name="Incidents").add_to(m)
    IncidentLayer("incidents", s, cluster_above=cluster_above).add_to(p)
    h = folium.FeatureGroup(name="Heat").add_to(m)
    HeatLayer("heat", s).add_to(h)
    TitleBox(XSS_SCRIPT, XSS_IMG).add_to(m)
    Legend(XSS_SCRIPT, [("box", "#ff0000", XSS_IMG)]).add_to(m)
    Fullscreen().add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[52.61, -1.16], [52.66, -1.10]])
    return m


@pytest.mark.parametrize("cluster_above", [1000, 5], ids=["plain", "clustered"])
def test_hostile_text_stays_inert_in_the_browser(
    browser_ready: None, tmp_path: Path, shots: Path, cluster_above: int
) -> None:
    path = save(_hostile_map(cluster_above), tmp_path / "xss.html")
    html = path.read_text()
    assert XSS_SCRIPT not in html and "<img src=x" not in html
    res = open_page(path, probe=PROBE, screenshot=shots / f"xss_{cluster_above}.png")
    assert res.errors == []
    assert res.external_requests == []
    v = res.value
    assert v["xss"] == 0, "injected code ran"
    assert v["layers"]["incidents"]["count"] == 40  # 40 distinct locations, clustered or not
    assert v["layers"]["incidents"]["kind"] == ("cluster" if cluster_above == 5 else "points")
    # the payloads are shown as text, and no element was created from them
    pop = v["popups"]["incidents"]
    assert pop["scripts"] == 0 and pop["imgs"] == 0
    assert (XSS_SCRIPT in pop["text"]) or (XSS_IMG in pop["text"])
    tip = v["tooltips"]["incidents"]
    assert tip["scripts"] == 0 and tip["imgs"] == 0
    assert (XSS_SCRIPT in tip["text"]) or (XSS_IMG in tip["text"])
    area_pop = v["popups"]["areas"]
    assert area_pop["text"] == XSS_SCRIPT and area_pop["scripts"] == 0
    assert v["tooltips"]["areas"]["text"] == XSS_SCRIPT
    assert XSS_SCRIPT in v["title"] and XSS_IMG in v["title"]
    assert XSS_IMG in v["legend"][0]
    assert XSS_IMG in v["control"]
    assert not [i for i in v["images"] if i.startswith("http") or i.startswith("file")]
    assert all(r.startswith(("data:", "file:")) for r in v["resources"])
    assert res.screenshot is not None and res.screenshot.stat().st_size > 5000


def test_the_probe_sees_unescaped_markup_run(browser_ready: None, tmp_path: Path) -> None:
    """The control for the test above: markup put in a popup unescaped is caught."""
    m = folium.Map(tiles=None)
    add_registry(m)
    box = gpd.GeoDataFrame(geometry=[shapely.box(458_000, 303_000, 461_000, 306_000)], crs=27700)
    fc = feature_collection(display_geometry(box), pd.DataFrame({"pop": [XSS_IMG]}))  # raw
    GeoJsonLayer("raw", fc, styles=[BEAT_LINE]).add_to(m)
    m.fit_bounds([[52.61, -1.16], [52.66, -1.10]])
    v = open_page(save(m, tmp_path / "raw.html"), probe=PROBE).value
    assert v["popups"]["raw"]["imgs"] == 1
    assert v["xss"] == 2, "the probe should see the onerror handler run"


def test_briefing_map_keeps_hostile_data_inert(
    browser_ready: None, tmp_path: Path, shots: Path
) -> None:
    """Through briefing_map itself: Location, crime type, beat name, hotspot text and title."""
    from beatplan.maps import briefing_map

    pts = _hostile_incidents(60)
    box = shapely.box(458_000, 303_000, 461_000, 306_000)
    beats = gpd.GeoDataFrame({"id": ["B1"], "name": [XSS_IMG]}, geometry=[box], crs=27700)
    hot = gpd.GeoDataFrame(
        {"hotspot": [1], "incidents": [9], "top_types": [XSS_SCRIPT + XSS_IMG]},
        geometry=[shapely.Point(459_500, 304_500).buffer(400)],
        crs=27700,
    )
    m = briefing_map(pts, hot, beats, title=XSS_SCRIPT, since=None, tiles=None, cluster_above=5)
    path = save(m, tmp_path / "briefing_xss.html")
    res = open_page(path, probe=PROBE, screenshot=shots / "briefing_xss.png")
    assert res.errors == [] and res.external_requests == []
    v = res.value
    assert v["xss"] == 0, "injected code ran"
    for name in ("Incidents", "Hotspots (ranked)", "Beats"):
        shown = v["popups"].get(name) or v["tooltips"][name]
        assert shown["scripts"] == 0 and shown["imgs"] == 0, name
    assert (XSS_SCRIPT in v["popups"]["Incidents"]["text"]) or (
        XSS_IMG in v["popups"]["Incidents"]["text"]
    )
    assert XSS_SCRIPT + XSS_IMG in v["popups"]["Hotspots (ranked)"]["text"]
    assert XSS_IMG in v["tooltips"]["Beats"]["text"]
    assert XSS_SCRIPT in v["title"]


# ---- real data: each map opened from disk, checked, and its screenshot kept -------------------


def _open_map(m: folium.Map, out: Path, shot: Path) -> dict:
    """Save ``m`` offline, open it with no network and check what every map must have."""
    res = open_page(save(m, out), probe=PROBE, screenshot=shot)
    assert res.errors == [], res.errors
    assert res.external_requests == [], res.external_requests
    v = res.value
    assert v["maps"] == 1 and v["xss"] == 0
    assert v["scale"] and v["fullscreen"]
    assert v["legend"] and v["title"]
    assert all(r.startswith(("data:", "file:")) for r in v["resources"])
    assert v["drawn"] > 0  # vector layers are on the page
    return v


def _check_hotspots_above_clusters(v: dict) -> None:
    """Rank numbers and outlines sit in panes above the marker pane, where clusters are drawn;
    the heat lies under the shapes."""
    panes = v["panes"]
    assert panes["bp-heat"]["z"] < panes["overlayPane"]["z"] and panes["bp-heat"]["canvases"] == 1
    assert panes["overlayPane"]["canvases"] == 0
    top = max(panes["markerPane"]["z"], panes["overlayPane"]["z"])
    assert panes["bp-top-labels"]["z"] > top and panes["bp-top-labels"]["ranks"] >= 1
    assert panes["bp-top-lines"]["z"] > top and panes["bp-top-lines"]["paths"] >= 1
    assert panes["bp-top-lines"]["strokes"] == [HOTSPOT_LINE]  # every rank's outline, not blue
    assert panes["bp-top-labels"]["z"] < panes["tooltipPane"]["z"]
    # with few hotspots every one is numbered at the opening zoom
    n = v["layers"]["Hotspots (ranked)"]["count"]
    assert n <= 20 and v["layers"]["Hotspots (ranked) labels"]["visible"] == n


@pytest.mark.realdata
def test_leicester_city_west_briefing(
    browser_ready: None, shared_data: Path, tmp_path: Path, shots: Path
) -> None:
    from harness.maps import CITY_WEST_WD19, leicester_city_west

    from beatplan.maps import briefing_map

    inc, hs, layers = leicester_city_west(shared_data)
    m = briefing_map(inc, hs, layers, area="CW", tiles=None)
    v = _open_map(m, tmp_path / "city_west.html", shots / "leicester_city_west_briefing.png")
    lay = v["layers"]
    assert lay["Beats"]["count"] == len(CITY_WEST_WD19) == 6
    # the incidents shown are October's inside City West, every one of them
    west = shapely.union_all(
        layers["beat"].geometry.values[layers["beat"]["id"].isin(list(CITY_WEST_WD19))]
    )
    pts = inc.points
    inside = shapely.intersects_xy(west, pts.geometry.x, pts.geometry.y) & (
        pts["month"] == "2022-10-01"
    )
    assert f"{int(inside.sum()):,} incidents" in v["title"]
    assert "October 2022" in v["title"] and "City West" in v["title"]
    assert lay["Incidents"]["kind"] == "cluster"
    assert lay["Hotspots (ranked)"]["count"] >= 1
    assert v["control"] == ["Area outline", "Beats", "Heat", "Hotspots (ranked)", "Incidents"]
    # clustered incidents start switched off, so that their bubbles do not hide the hotspots
    assert v["ticked"] == [True, True, True, True, False] and not lay["Incidents"]["onMap"]
    _check_hotspots_above_clusters(v)
    assert v["popups"]["Hotspots (ranked)"]["text"].startswith("Hotspot ")
    assert "On or near" in v["popups"]["Incidents"]["text"]


@pytest.mark.realdata
def test_leicestershire_nine_npas_planning(
    browser_ready: None, shared_data: Path, tmp_path: Path, shots: Path
) -> None:
    from harness.maps import leicestershire_npas

    from beatplan.maps import planning_map

    wards, year = leicestershire_npas(shared_data)
    m = planning_map(wards, demand=year, title="Leicestershire: nine NPAs", tiles=None)
    v = _open_map(m, tmp_path / "npas.html", shots / "leicestershire_npas_planning.png")
    lay = v["layers"]
    assert lay["NPAs"]["count"] == 9 and lay["Demand per NPA"]["count"] == 9
    assert lay["Wards"]["count"] == 171 and not lay["Wards"]["onMap"]
    assert "9 NPAs" in v["title"] and "Nov 2021" in v["title"]


@pytest.mark.realdata
def test_chicago_district_briefing(
    browser_ready: None, shared_data: Path, tmp_path: Path, shots: Path
) -> None:
    from harness.maps import chicago_district

    from beatplan.maps import briefing_map

    inc, hs, layers = chicago_district(shared_data)
    m = briefing_map(inc, hs, layers, area="11", tiles=None)
    v = _open_map(m, tmp_path / "chicago_11.html", shots / "chicago_district_11_briefing.png")
    beats_11 = int((layers["beat"]["district"].astype(int) == 11).sum())
    assert v["layers"]["Beats"]["count"] == beats_11 > 5
    assert "District 11" in v["title"] and "Nov 2023" in v["title"]
    assert v["layers"]["Hotspots (ranked)"]["count"] == len(hs)
    _check_hotspots_above_clusters(v)


_PRINTED = r"""
(() => {
  const shown = (sel) => { const e = document.querySelector(sel);
                           return !!e && getComputedStyle(e).display !== 'none'; };
  const map = Object.values(window).find(v => { try { return v instanceof L.Map; }
                                                catch (e) { return false; } });
  const box = document.querySelector('.folium-map').getBoundingClientRect();
  const fit = window.beatplan.layers['Area outline'].getBounds();
  return {layers: shown('.leaflet-control-layers'), zoom: shown('.leaflet-control-zoom'),
          legend: shown('.bp-legend'), title: shown('.bp-title'),
          width: box.width, height: box.height, inView: map.getBounds().pad(0.02).contains(fit)};
})()
"""


def test_briefing_prints_on_a4(browser_ready: None, tmp_path: Path, shots: Path) -> None:
    """The print stylesheet: an A4 landscape page, no buttons, title and legend kept."""
    from beatplan.maps import briefing_map

    pts = _hostile_incidents(200)
    box = shapely.box(458_000, 303_000, 461_000, 306_000)
    beats = gpd.GeoDataFrame({"id": ["B1"], "name": ["Centre"]}, geometry=[box], crs=27700)
    path = save(briefing_map(pts, None, beats, area="B1", tiles=None), tmp_path / "print.html")
    res = open_page(path, probe=_PRINTED, size=(1123, 794), media="print",
                    screenshot=shots / "briefing_printed.png")  # fmt: skip
    assert res.errors == []
    v = res.value
    assert not v["layers"] and not v["zoom"] and v["legend"] and v["title"]
    # 283 mm x 196 mm at 96 px per inch (the page less its margins)
    assert v["width"] == pytest.approx(283 / 25.4 * 96, abs=2)
    assert v["height"] == pytest.approx(196 / 25.4 * 96, abs=2)
    assert v["inView"]
