"""write_plan / read_plan: the files a planner hands on, stable from run to run."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely import box
from test_reorganise import X0, Y0, grid  # the 6 x 4 grid of 1 km wards at (X0, Y0)

from beatplan.boundaries import BoundaryPlan, realign
from beatplan.boundaries.outputs import layer_name, read_plan, write_plan
from beatplan.boundaries.reorganise import reorganise
from beatplan.geo.errors import (
    IncompleteOutputError,
    InputFormatError,
    OptionError,
    OutputExistsError,
)

TEXT = [
    "crosswalk.csv",
    "crosswalk_areas.csv",
    "changes.csv",
    "changes.md",
    "review.csv",
    "checks.csv",
    "plan.json",
]
SPEC = {
    "name": "Grid | test",
    "changes": [
        {"op": "merge", "level": "npa", "areas": ["N1", "N2"], "id": "N", "name": "All | one"},
        {"op": "move", "level": "beat", "wards": ["W02", "W12"], "to": "B01"},
        {"op": "split", "level": "beat", "area": "B06", "into": [
            {"id": "B06", "wards": ["W24", "W34"]}, {"id": "B06E", "name": "East", "rest": True}
        ]},
    ],
    "exceptions": {"beat": ["B03"]},
}  # fmt: skip


def points(n: int = 400, seed: int = 1) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, [6000, 4000], size=(n, 2)) + [X0, Y0]
    return gpd.GeoDataFrame(
        {"category": rng.choice(["Burglary", "Robbery"], n)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=27700,
    )


@pytest.fixture
def result():
    return reorganise(grid(), SPEC, incidents=points())


def test_files_and_layers(result, tmp_path):
    files = write_plan(tmp_path / "plan", result)
    out = tmp_path / "plan"
    assert sorted(p.name for p in out.iterdir()) == sorted(["boundaries.gpkg", *TEXT])
    assert files["gpkg"] == out / "boundaries.gpkg"
    names = [str(n) for n in pyogrio.list_layers(files["gpkg"])[:, 0]]
    assert names == ["wards", "beats", "sectors", "npas", "force"]
    wards = gpd.read_file(files["gpkg"], layer="wards")
    assert wards.columns[:5].tolist() == ["id", "name", "beat", "sector", "npa"]
    assert {"beat_name", "npa_name", "district", "incidents", "demand"} <= set(wards.columns)
    assert len(wards) == 24 and wards["incidents"].sum() == 400
    for lv in ("beat", "sector", "npa"):
        layer = gpd.read_file(files["gpkg"], layer=layer_name(lv))
        assert layer["id"].tolist() == sorted(layer["id"])
        assert layer["n_wards"].sum() == 24 and layer["incidents"].sum() == 400
        unions = wards.dissolve(lv).geometry
        for aid, geom in zip(layer["id"], layer.geometry, strict=True):
            assert shapely.area(shapely.symmetric_difference(geom, unions[aid])) < 1e-6
    force = gpd.read_file(files["gpkg"], layer="force")
    assert len(force) == 1 and force.geometry.area.iloc[0] == pytest.approx(24e6)
    assert wards.crs.to_epsg() == 27700


def test_crosswalks_and_change_report(result, tmp_path):
    files = write_plan(tmp_path, result)
    cw = pd.read_csv(files["crosswalk"], dtype=str, keep_default_na=False)
    assert len(cw) == 24 and cw["ward"].is_unique
    assert cw.columns.tolist()[:4] == ["ward", "name", "beat_old", "beat"]
    moved = cw.set_index("ward").loc[["W02", "W12"]]
    assert (moved["beat_old"] == "B02").all() and (moved["beat"] == "B01").all()
    xw = pd.read_csv(files["crosswalk_areas"])
    shares = xw.groupby(["level", "old_id"])["share_of_old"].sum()
    assert np.allclose(shares, 1.0)
    assert (xw.groupby("level")["n_wards"].sum() == 24).all()
    ch = pd.read_csv(files["changes_csv"])
    assert {"deviation_pct", "demand_old", "demand_new", "retained", "wards_gained"} <= set(
        ch.columns
    )
    live = ch[ch["id"].notna()]
    assert (live.groupby("level")["incidents_new"].sum() == 400).all()
    md = files["changes_md"].read_text(encoding="utf-8")
    assert md.startswith("# Grid \\| test\n")  # every name escaped alike; shows as "Grid | test"
    for heading in ("## Summary", "## Changes applied", "## Beats", "## Sectors", "## NPAs",
                    "## Marginal wards for review", "## Checks", "## Files"):  # fmt: skip
        assert heading in md
    assert "All \\| one" in md  # a pipe in a name does not break the table
    assert "B01: gained W02;W12" in md
    assert "- beat: B03" in md  # the declared exception
    checks = pd.read_csv(files["checks"])
    assert checks.columns.tolist() == ["check", "level", "severity", "n_ids", "ids", "message"]
    plan = json.loads(files["plan"].read_text(encoding="utf-8"))
    assert plan["levels"] == ["beat", "sector", "npa"] and plan["kind"] == "reorganise"
    assert plan["layers"] == {"wards": 24, "beats": 7, "sectors": 4, "npas": 1, "force": 1}
    assert plan["checks"]["ok"] is True


def test_refuses_to_overwrite(result, tmp_path):
    files = write_plan(tmp_path, result)
    before = {k: p.read_bytes() for k, p in files.items()}
    other = reorganise(grid(), None)
    with pytest.raises(OutputExistsError) as err:
        write_plan(tmp_path, other)
    assert "boundaries.gpkg" in str(err.value) and "overwrite" in str(err.value)
    assert {k: p.read_bytes() for k, p in files.items()} == before  # nothing touched
    write_plan(tmp_path, other, overwrite=True)
    assert files["changes_md"].read_bytes() != before["changes_md"]
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left
    f = tmp_path / "a_file"
    f.write_text("x")
    with pytest.raises(OutputExistsError, match="not a folder"):
        write_plan(f, result)


def test_other_formats(result, tmp_path):
    files = write_plan(tmp_path, result, formats=["geojson", "shapefile"])
    for name in ("wards", "beats", "sectors", "npas", "force"):
        g = gpd.read_file(files[f"geojson:{name}"])
        s = gpd.read_file(files[f"shp:{name}"])
        assert len(g) == len(s) == len(gpd.read_file(files["gpkg"], layer=name))
    assert files["geojson:npas"].name == "boundaries_npas.geojson"
    with pytest.raises(OptionError, match="formats='dxf'.*'gpkg'"):
        write_plan(tmp_path / "x", result, formats=["dxf"])


def test_same_input_same_files(tmp_path):
    a = write_plan(tmp_path / "a", reorganise(grid(), SPEC, incidents=points()))
    b = write_plan(tmp_path / "b", reorganise(grid(), SPEC, incidents=points()))
    for key in ("crosswalk", "crosswalk_areas", "changes_csv", "changes_md", "review", "checks",
                "plan"):  # fmt: skip
        assert a[key].read_bytes() == b[key].read_bytes(), key
    for name in ("wards", "beats", "npas"):
        ga = gpd.read_file(a["gpkg"], layer=name)
        gb = gpd.read_file(b["gpkg"], layer=name)
        pd.testing.assert_frame_equal(ga.drop(columns="geometry"), gb.drop(columns="geometry"))
        assert ga.geometry.geom_equals_exact(gb.geometry, 0).all()


def test_read_plan_round_trip(result, tmp_path):
    write_plan(tmp_path, result)
    for path in (tmp_path, tmp_path / "boundaries.gpkg"):
        plan = read_plan(path)
        assert plan.levels == ("beat", "sector", "npa")
        assert plan.exceptions == {"beat": frozenset({"B03"})}
        w = plan.wards
        assert w["id"].tolist() == result.wards["id"].tolist()
        assert (w["beat"].to_numpy() == result.wards["beat"].to_numpy()).all()
        assert dict(zip(w["npa"], w["npa_name"], strict=True)) == {"N": "All | one"}
    (tmp_path / "plan.json").unlink()
    with pytest.raises(IncompleteOutputError, match="no plan.json"):
        read_plan(tmp_path)  # a folder without plan.json is not a whole plan
    # its GeoPackage alone: the levels are found from the layers
    assert read_plan(tmp_path / "boundaries.gpkg").levels == ("beat", "sector", "npa")


def _realignment():
    """Vertical 1.5 km beat strips over the grid: columns 1 and 4 are cut in half (review)."""
    beats = gpd.GeoDataFrame(
        {"id": ["BA", "BB", "BC", "BD"], "npa": ["N1", "N1", "N2", "N2"]},
        geometry=[box(X0 + x, Y0, X0 + x + 1500, Y0 + 4000) for x in (0, 1500, 3000, 4500)],
        crs=27700,
    )
    return realign(grid()[["id", "geometry"]], beats, levels=["beat", "npa"], demand=points())


@pytest.mark.parametrize("kind", ["reorganise", "realign"])
def test_read_plan_gives_the_plan_back(kind, tmp_path):
    if kind == "reorganise":
        result: BoundaryPlan = reorganise(grid(), SPEC, incidents=points())
    else:
        result = _realignment()
    files = write_plan(tmp_path / "a", result)
    plan = read_plan(tmp_path / "a")
    assert isinstance(plan, BoundaryPlan) and isinstance(result, BoundaryPlan)
    assert (plan.kind, plan.title, plan.levels) == (kind, result.title, result.levels)
    assert list(plan.layers) == list(result.layers)  # the levels, then the force
    for lv in plan.levels:
        assert plan.layers[lv]["id"].tolist() == sorted(result.layers[lv]["id"])
        assert plan.names[lv] == result.names[lv]
    assert plan.checks.checks == result.checks.checks
    assert [str(p) for p in plan.checks.problems] == [str(p) for p in result.checks.problems]
    assert plan.review["ward"].tolist() == result.review["ward"].tolist()
    assert plan.ward_counts is not None and result.ward_counts is not None
    assert (plan.ward_counts[0] == result.ward_counts[0]).all()
    # written again, the plan gives the same tables and manifest, byte for byte
    again = write_plan(tmp_path / "b", plan)
    for key in ("gpkg", "crosswalk", "crosswalk_areas", "changes_csv", "review", "checks"):
        assert again[key].read_bytes() == files[key].read_bytes(), key
    # plan.json too, but for changes.md's checksum (and so the plan id): a plan read back
    # describes itself in general terms in the report's summary (its tables are the same)
    a, b = (json.loads(f["plan"].read_text(encoding="utf-8")) for f in (files, again))
    for m in (a, b):
        del m["manifest"]["changes.md"], m["plan_id"]
    assert a == b


def test_read_plan_bad_inputs(tmp_path):
    with pytest.raises(InputFormatError, match="no boundaries.gpkg"):
        read_plan(tmp_path)
    other = tmp_path / "other.gpkg"
    grid().to_file(other, layer="beats_only")
    with pytest.raises(InputFormatError, match="has no 'wards' layer"):
        read_plan(other)
    with pytest.raises(InputFormatError, match="expected the result"):
        write_plan(tmp_path / "x", object())


def test_write_a_realignment(tmp_path):
    # old beats: vertical strips of 1.5 km over the 6 x 4 km grid of 1 km wards, so the
    # wards in columns 1 and 4 are split half and half (marginal) and the rest are whole
    wards = grid()[["id", "name", "geometry"]]
    beats = gpd.GeoDataFrame(
        {"id": ["BA", "BB", "BC", "BD"], "name": ["A", "B", "C", "D"],
         "npa": ["N1", "N1", "N2", "N2"]},
        geometry=[box(X0 + x, Y0, X0 + x + 1500, Y0 + 4000) for x in (0, 1500, 3000, 4500)],
        crs=27700,
    )  # fmt: skip
    r = realign(wards, beats, levels=["beat", "npa"], demand=points(), review_below=0.8)
    files = write_plan(tmp_path, r)
    review = pd.read_csv(files["review"])
    assert set(review["ward"]) == set(r.assignment.loc[r.assignment["review"], "ward"])
    # exactly the wards the beat lines cut in half (columns 1 and 4): share 0.5 < 0.8
    assert set(review["ward"]) == {f"W{row}{col}" for row in range(4) for col in (1, 4)}
    assert np.allclose(review["share"], 0.5)
    ch = pd.read_csv(files["changes_csv"])
    assert "deviation_pct" in ch.columns and "name" in ch.columns
    assert ch.loc[ch["level"] == "beat", "deviation_pct"].mean() == pytest.approx(0, abs=1e-6)
    md = files["changes_md"].read_text(encoding="utf-8")
    assert "## Marginal wards for review" in md and review["ward"].iloc[0] in md
    plan = read_plan(tmp_path)
    assert plan.levels == ("beat", "npa") and len(plan.wards) == 24
    xw = pd.read_csv(files["crosswalk_areas"])
    assert set(xw.loc[xw["level"] == "beat", "old_id"]) == {"BA", "BB", "BC", "BD"}
    assert set(xw.loc[xw["level"] == "npa", "old_id"]) == {"N1", "N2"}
    assert np.allclose(xw.groupby(["level", "old_id"])["share_of_old"].sum(), 1.0)
    # a realignment written out can be reorganised further
    r2 = reorganise(tmp_path, {"changes": [{"op": "rename", "level": "npa", "area": "N1",
                                            "name": "West"}]})  # fmt: skip
    assert r2.checks.ok and r2.names["npa"]["N1"] == "West"
