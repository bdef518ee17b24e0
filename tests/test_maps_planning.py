"""beatplan.maps.planning and beatplan.maps.changes on the sample county and small hand-made
hierarchies."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from harness.maps import assets_missing_reason, urls_outside_assets

from beatplan.geo.errors import ValidationError
from beatplan.maps.changes import change_map
from beatplan.maps.offline import external_resources, to_html
from beatplan.maps.planning import planning_map

PAYLOAD = "<script>window.__xss=1</script>"


def _registered(html: str) -> dict[str, str]:
    return dict(re.findall(r'window\.beatplan\.register\("([^"]+)", \w+,\s*\'(\w+)', html))


def _features(html: str, name: str) -> list[dict[str, Any]]:
    for block in re.findall(r"\(function\(\) \{(.*?)\n\}\)\(\);", html, re.S):
        if f'register("{name}"' in block:
            m = re.search(r"L\.geoJson\((\{.*?\}), \{\n", block, re.S)
            assert m
            return json.loads(m.group(1))["features"]
    raise AssertionError(f"layer {name!r} not found")


def _wards() -> gpd.GeoDataFrame:
    """A 4 x 3 grid of 1 km wards: 6 beats, 3 sectors, 2 NPAs."""
    boxes, ids, beat, sector, npa = [], [], [], [], []
    for j in range(3):
        for i in range(4):
            boxes.append(shapely.box(i * 1000, j * 1000, (i + 1) * 1000, (j + 1) * 1000))
            ids.append(f"W{j}{i}")
            beat.append(f"B{j}{i // 2}")
            sector.append(f"S{i // 2}{min(j, 1)}" if j < 2 else f"S{i // 2}1")
            npa.append("N0" if i < 2 else "N1")
    g = gpd.GeoSeries(boxes, crs=27700).translate(450_000, 300_000)
    return gpd.GeoDataFrame(
        {"id": ids, "name": [f"Ward {k}" for k in ids], "beat": beat, "sector": sector, "npa": npa},
        geometry=g.values,
        crs=27700,
    )


@lru_cache(maxsize=1)
def _sample_realigned() -> tuple[Any, Any, gpd.GeoDataFrame]:
    from beatplan.boundaries.realign import realign
    from beatplan.geo.sample import make_sample

    s = make_sample(seed=1)
    r = realign(s.wards_new, {"beat": s.beats, "sector": s.sectors, "npa": s.npas})
    pts = gpd.GeoDataFrame(
        s.incidents.assign(month=pd.to_datetime(s.incidents["Month"] + "-01")),
        geometry=gpd.points_from_xy(s.incidents["Longitude"], s.incidents["Latitude"]),
        crs=4326,
    ).dropna(subset=["Longitude"])
    return s, r, pts


def test_planning_layers_labels_and_demand() -> None:
    w = _wards()
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 4000, size=(500, 2)) * [1, 0.75] + [450_000, 300_000]
    pts = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=27700)
    html = planning_map(w, demand=pts, tiles=None).get_root().render()
    reg = _registered(html)
    for name in ("Demand per beat", "Wards", "Beats", "Sectors", "NPAs"):
        assert name in reg and f"{name} labels" in reg or name == "Demand per beat"
    feats = _features(html, "Demand per beat")
    assert len(feats) == 6
    demand = [float(re.search(r"<th>Demand</th><td>([\d.]+)", f["properties"]["tip"]).group(1))
              for f in feats]  # fmt: skip
    assert sum(demand) == 500  # every point counted once (the wards cover the points)
    assert len(_features(html, "NPAs")) == 2 and len(_features(html, "Sectors")) == 4
    assert "2 NPAs" in html and "6 beats" in html


def test_planning_demand_from_a_series_and_a_table() -> None:
    w = _wards()
    s = pd.Series({"B00": 10.0, "B01": 20.0, "B10": 30.0, "B11": 40.0, "B20": 50.0})
    html = planning_map(w, demand=s, tiles=None).get_root().render()
    tips = [f["properties"]["tip"] for f in _features(html, "Demand per beat")]
    assert sum("<th>Demand</th><td>10.0" in t for t in tips) == 1
    assert "no data" in html  # B21 has no value
    table = pd.DataFrame({"level": "npa", "id": ["N0", "N1"], "incidents": [5, 7]})
    html = planning_map(w, demand=table, choropleth="npa", tiles=None).get_root().render()
    assert len(_features(html, "Demand per NPA")) == 2


def test_planning_escapes_names() -> None:
    w = _wards()
    w.loc[0, "name"] = PAYLOAD
    html = planning_map(w, tiles=None).get_root().render()
    assert "<script>window.__xss" not in html


def test_planning_bad_inputs() -> None:
    with pytest.raises(ValidationError, match="Realignment"):
        planning_map([1, 2, 3], tiles=None)
    with pytest.raises(ValidationError, match="choropleth"):
        planning_map(_wards(), choropleth="district", tiles=None)


def test_planning_realignment_marks_review_wards() -> None:
    s, r, pts = _sample_realigned()
    html = planning_map(r, demand=pts, tiles=None).get_root().render()
    review = _features(html, "Wards to review")
    assert len(review) == int(r.assignment["review"].sum()) > 0
    assert all("Review ward" in f["properties"]["tip"] for f in review)
    feats = _features(html, "Demand per beat")
    total = sum(float(re.search(r"<th>Demand</th><td>([\d.]+)", f["properties"]["tip"]).group(1))
                for f in feats)  # fmt: skip
    inside = shapely.intersects_xy(
        shapely.union_all(r.wards.to_crs(4326).geometry.values), pts.geometry.x, pts.geometry.y
    )
    assert total == pytest.approx(inside.sum(), abs=2)  # points on the outer edge may differ


def test_change_map_between_ward_tables() -> None:
    before = _wards()
    after = before.copy()
    after.loc[after["id"].isin(["W01", "W11"]), "beat"] = "B01"  # two wards move to beat B01
    after.loc[after["id"] == "W11", "npa"] = "N1"
    html = change_map(before, after, tiles=None).get_root().render()
    moved = _features(html, "Moved wards")
    tips = sorted(f["properties"]["tip"] for f in moved)
    assert len(moved) == 2
    assert "B00 \u2192 B01" in tips[0] or "B00 \\u2192 B01" in tips[0]
    assert any("N0 \u2192 N1" in t for t in tips)
    assert "2 wards moved" in html


def test_change_map_without_ward_tables_shows_ground_that_moved() -> None:
    w = _wards()
    from beatplan.maps._base import layers_from_wards

    before = layers_from_wards(w, ["beat"])["beat"]
    after_w = w.copy()
    after_w.loc[after_w["id"] == "W00", "beat"] = "B10"
    after = layers_from_wards(after_w, ["beat"])["beat"]
    html = change_map(before, after, tiles=None).get_root().render()
    pieces = _features(html, "Ground that changed beat")
    assert len(pieces) == 1
    assert "B00" in pieces[0]["properties"]["tip"] and "B10" in pieces[0]["properties"]["tip"]
    assert "100.0 ha" in pieces[0]["properties"]["tip"]  # the 1 km square of ward W00
    assert "1.0 km\u00b2 changed beat (1 piece)" in html


def test_change_map_realignment_shows_exactly_the_ground_that_changed_beat() -> None:
    s, r, _ = _sample_realigned()
    html = change_map(s.wards_old, r, tiles=None).get_root().render()
    pieces = _features(html, "Ground that changed beat")
    assert "Beats before" in _registered(html) and "Beats after" in _registered(html)
    # independently: the old beats' area that does not lie in the new beat of the same id
    old = s.wards_old.dissolve("beat").geometry
    new = r.wards.dissolve("beat").geometry.reindex(old.index)
    kept = shapely.area(shapely.intersection(old.values, new.values))
    changed_km2 = float((shapely.area(old.values) - np.nan_to_num(kept)).sum()) / 1e6
    shown = re.search(r"([\d,.]+) km\u00b2 changed beat \((\d+) pieces\)", html)
    assert shown is not None
    assert int(shown.group(2)) == len(pieces) > 0
    # shown to 0.1 km2; pieces under 500 m2 are left out: at most one per pair of different
    # old and new beats that meet, so at most that many times 500 m2 is missing
    ni, oi = shapely.STRtree(old.values).query(new.dropna().values, predicate="intersects")
    pairs = int((old.index[oi] != new.dropna().index[ni]).sum())
    missing = changed_km2 - float(shown.group(1))
    assert -0.05 - 1e-9 <= missing <= 0.05 + 1e-9 + pairs * 5e-4
    tips = [f["properties"]["tip"] for f in pieces]
    assert all("\\u2192" in t or "\u2192" in t for t in tips)
    assert all("In ward" in t for t in tips)


def test_change_map_bad_inputs() -> None:
    with pytest.raises(ValidationError, match="Reorganisation"):
        change_map(None, _wards(), tiles=None)
    with pytest.raises(ValidationError, match="level"):
        change_map(_wards(), _wards(), level="district", tiles=None)
    elsewhere = _wards()
    elsewhere.geometry = elsewhere.geometry.translate(100_000, 0)  # another force, 100 km away
    with pytest.raises(ValidationError, match=r"cover different places: their beats share 0\.0%"):
        change_map(_wards(), elsewhere, tiles=None)


@pytest.mark.skipif(assets_missing_reason() is not None, reason=str(assets_missing_reason()))
def test_offline_planning_and_change_maps_name_no_url() -> None:
    s, r, pts = _sample_realigned()
    for m in (planning_map(r, demand=pts, tiles=None), change_map(s.wards_old, r, tiles=None)):
        html = to_html(m)
        assert external_resources(html) == [] and urls_outside_assets(html) == []


def test_change_map_of_a_reorganisation_compares_with_its_current_table() -> None:
    from beatplan.boundaries.reorganise import reorganise

    w = _wards()
    merge = {"op": "merge", "level": "beat", "areas": ["B00", "B01"],
             "within": {"sector": "S00", "npa": "N0"}}  # fmt: skip
    r = reorganise(w, {"changes": [merge]})
    expected = sorted(w.loc[w["beat"] == "B01", "id"])  # the merge keeps the first id
    # at beat level B01's wards kept their beat under a new id (B01 lives on in B00): the map
    # says so, as the plan does (issue 11: the map, the summary and the crosswalk agree)
    html = change_map(None, r, tiles=None).get_root().render()
    assert "0 wards moved (2 more keep their beat under a new id" in html
    assert r.summary["by_level"]["beat"]["wards_moved"] == 0
    assert r.summary["by_level"]["beat"]["wards_renamed"] == 2
    cw = r.crosswalk.set_index("ward")
    assert (cw.loc[expected, "renamed"] == "beat;sector").all()
    # at NPA level they moved: N1 lives on, and they left it for N0
    html = change_map(None, r, level="npa", tiles=None).get_root().render()
    moved = _features(html, "Moved wards")
    assert sorted(re.search(r"Ward (W\d\d)", f["properties"]["tip"]).group(1) for f in moved) == (
        expected
    )
    assert all("B01 \u2192 B00" in f["properties"]["tip"] for f in moved)  # the levels below
    assert all("N1 \u2192 N0" in f["properties"]["tip"] for f in moved)
    assert f"{len(expected)} wards moved" in html
    assert r.summary["by_level"]["npa"]["wards_moved"] == len(expected)
    assert (cw.loc[expected, "changed"].str.contains("npa")).all()


def test_planning_map_of_a_reorganisation_and_of_a_plan_read_back(tmp_path) -> None:
    from beatplan.boundaries.outputs import read_plan, write_plan
    from beatplan.boundaries.reorganise import reorganise

    w = _wards()
    r = reorganise(w, {"changes": [{"op": "rename", "level": "npa", "area": "N0", "name": "West"}]})
    html = planning_map(r, tiles=None).get_root().render()
    assert {"Wards", "Beats", "Sectors", "NPAs"} <= set(_registered(html))
    assert "Wards to review" not in _registered(html)  # a reorganisation flags none
    # a realignment written and read back keeps its wards for review
    s, realigned, _ = _sample_realigned()
    write_plan(tmp_path, realigned)
    html = planning_map(read_plan(tmp_path), tiles=None).get_root().render()
    assert len(_features(html, "Wards to review")) == len(realigned.review) > 0


def test_briefing_map_takes_a_realignment_and_labels_beats_by_name() -> None:
    from beatplan.maps.briefing import LAYER_NAMES, briefing_map

    s, r, pts = _sample_realigned()
    npa = r.areas["npa"].iloc[0]
    html = briefing_map(pts, None, r, area=npa["name"], tiles=None).get_root().render()
    assert f"Crime briefing: {npa['name']}" in html
    beats = _features(html, LAYER_NAMES["beats"])
    in_npa = r.areas["beat"][r.areas["beat"]["npa"] == npa["id"]]
    assert len(beats) == len(in_npa)
    for name in in_npa["name"]:
        assert f'"{name}"' in html  # each beat's label is its name, not only its id
