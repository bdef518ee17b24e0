"""Real cases: Leicester City's 2015 ward review, and Chicago's beats, districts and wards.

Leicester: police areas are built from the 22 WD13 city wards (12 beats in 6 sectors and 4
NPAs, each a union of whole old wards, defined below by ward name), then realigned to the 21
WD19 wards by area and by the demand of the 2021-22 police.uk incidents. The assignments are
checked against an independent plain geopandas computation (overlay, sjoin).

Chicago: every one of the 277 beat features (275 beats: 3100 is three polygons) lies in its
recorded district; realigning the beats to the 50 council wards is refused plainly, because
the wards are larger than the beats.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatplan.boundaries import WardsTooCoarseError, build_layers, realign
from beatplan.boundaries.checks import check_layer_nesting, check_layers
from beatplan.boundaries.coverage import check_coverage
from beatplan.geo import read_boundaries, read_incidents
from beatplan.geo.crs import working_crs

pytestmark = pytest.mark.realdata

LEVELS = ["beat", "sector", "npa"]
#: Leicester's 22 WD13 wards grouped into 12 beats (each a union of whole, touching wards).
BEATS = {
    "W1": ["Beaumont Leys", "New Parks"],
    "W2": ["Western Park", "Braunstone Park and Rowley Fields"],
    "W3": ["Fosse"],
    "E1": ["Abbey", "Rushey Mead"],
    "E2": ["Belgrave", "Latimer"],
    "E3": ["Humberstone and Hamilton", "Thurncourt"],
    "E4": ["Charnwood", "Coleman"],
    "E5": ["Evington"],
    "S1": ["Aylestone", "Eyres Monsell"],
    "S2": ["Freemen", "Knighton"],
    "C1": ["Castle", "Westcotes"],
    "C2": ["Spinney Hills", "Stoneygate"],
}
SECTORS = {"W1": "WA", "W3": "WA", "W2": "WB", "E1": "EA", "E2": "EA", "E3": "EB", "E4": "EB"}
SECTORS |= {"E5": "EB", "S1": "SA", "S2": "SA", "C1": "CA", "C2": "CA"}
NPAS = {"WA": "West", "WB": "West", "EA": "East", "EB": "East", "SA": "South", "CA": "Central"}


# -------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def leicester(shared_data: Path) -> dict[str, object]:
    base = shared_data / "leicestershire_boundaries"
    old = read_boundaries(base / "wd13_wards_by_lad" / "E06000016.json")
    new = read_boundaries(base / "wd19_leicester_city_wards")
    by_name = {n: b for b, names in BEATS.items() for n in names}
    old["beat"] = old["name"].map(by_name)
    old["sector"] = old["beat"].map(SECTORS)
    old["npa"] = old["sector"].map(NPAS)
    incidents = read_incidents(shared_data / "leicestershire_street_crime")
    return {"old": old, "new": new, "layers": build_layers(old), "points": incidents.points}


def reference_best(
    new: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, points: gpd.GeoDataFrame | None
) -> pd.DataFrame:
    """Plain geopandas best fit: overlay pieces, their area, and the points in them."""
    pieces = gpd.overlay(
        new[["id", "geometry"]],
        beats[["id", "geometry"]].rename(columns={"id": "beat"}),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["area"] = pieces.area
    if points is not None:
        joined = gpd.sjoin(
            points[["geometry"]], pieces[["id", "beat", "geometry"]], predicate="within"
        )
        counts = joined.groupby(["id", "beat"]).size().rename("n")
        pieces = pieces.merge(counts.reset_index(), on=["id", "beat"], how="left").fillna({"n": 0})
        pieces["share"] = pieces["n"] / pieces.groupby("id")["n"].transform("sum")
    else:
        pieces["share"] = pieces["area"] / pieces["id"].map(new.set_index("id").area)
    best = pieces.sort_values(["id", "share"], ascending=[True, False]).drop_duplicates("id")
    return best.set_index("id")[["beat", "share"]]


# -------------------------------------------------------------------------------- Leicester
def test_leicester_old_areas_are_a_clean_hierarchy(leicester: dict) -> None:
    old, layers = leicester["old"], leicester["layers"]
    assert len(old) == 22 and old["beat"].notna().all()
    assert [len(layers[lv]) for lv in LEVELS] == [12, 6, 4]
    rep = check_layers(old, layers, levels=LEVELS)
    assert rep.ok, str(rep)


@pytest.mark.parametrize("by", ["area", "demand"])
def test_leicester_2015_review_realigned(leicester: dict, by: str) -> None:
    new, beats, pts = leicester["new"], leicester["layers"]["beat"], leicester["points"]
    r = realign(new, beats, levels=LEVELS, by=by, demand=pts)
    a = r.assignment
    # every new ward assigned exactly once, to one of the old beats
    assert len(a) == 21 and a["ward"].is_unique and set(a["ward"]) == set(new["id"])
    assert set(a["beat"]) <= set(beats["id"])
    assert r.checks.ok, str(r.checks)
    for level in [*LEVELS, "force"]:
        assert check_coverage(r.areas[level], level=level).ok  # no gap, no overlap
        assert r.areas[level]["n_wards"].sum() == 21
    total = float(shapely.area(new.geometry.values).sum())
    assert r.areas["force"]["area_m2"].iloc[0] == pytest.approx(total, rel=1e-9)
    assert (r.wards.groupby("beat")["npa"].nunique() == 1).all()
    # the same best fit as plain geopandas for every ward: the old beats are unions of whole
    # WD13 wards, so no ward falls back (no demand), straddles (nesting) or is cut off
    ref = reference_best(new, beats, pts if by == "demand" else None)
    mine = a.set_index("ward")
    assert not mine["reason"].str.contains("contiguity|nesting|no demand|no overlap").any()
    assert r.moves.empty and r.conflicts.empty
    pd.testing.assert_series_equal(
        mine["beat"].astype(str), ref.loc[mine.index, "beat"].astype(str), check_names=False
    )
    np.testing.assert_allclose(mine["share"], ref.loc[mine.index, "share"], atol=1e-6)
    # the marginal wards are exactly those plain geopandas finds below the threshold
    marginal = mine["share"] < 0.8
    assert marginal.any()  # the 2015 review redrew wards across the old beats
    assert set(mine.index[marginal]) == set(ref.index[ref["share"] < 0.8])
    assert (mine["review"] == marginal).all()
    assert (mine.loc[marginal, "reason"] == "marginal").all()
    # demand adds up: every incident inside the new wards is counted once, old and new
    inside = gpd.sjoin(pts[["geometry"]], new[["id", "geometry"]], predicate="intersects")
    in_wards = inside.index.unique()
    n_inside = len(in_wards)
    in_both = gpd.sjoin(pts.loc[in_wards, ["geometry"]], beats[["id", "geometry"]])
    n_in_old = in_both.index.nunique()  # inside a new ward and an old beat
    assert a["incidents"].sum() == n_inside
    ch = r.changes
    for level in LEVELS:
        lc = ch[ch["level"] == level]
        assert lc["incidents_new"].sum() == n_inside
        assert lc["incidents_old"].sum() == n_in_old
        assert lc["area_new_m2"].sum() == pytest.approx(total, rel=1e-9)
    assert r.summary["demand_outside_wards"] == len(pts) - n_inside


def test_leicester_separate_layers_nest(leicester: dict) -> None:
    layers = leicester["layers"]
    old_layers = {lv: layers[lv][["id", "geometry"]] for lv in LEVELS}
    r = realign(leicester["new"], old_layers, by="demand", demand=leicester["points"])
    assert r.levels == tuple(LEVELS)
    assert r.checks.ok, str(r.checks)
    assert (r.wards.groupby("beat")["sector"].nunique() == 1).all()
    assert (r.wards.groupby("sector")["npa"].nunique() == 1).all()
    assert set(r.wards["npa"]) <= {"West", "East", "South", "Central"}


# ---------------------------------------------------------------------------------- Chicago
@pytest.fixture(scope="module")
def chicago(shared_data: Path) -> dict[str, gpd.GeoDataFrame]:
    base = shared_data / "chicago"
    # beat 3100 is three features and district 31 three polygons: read them as they are
    beats = gpd.read_file(base / "police_beats_current.shp").set_crs(4326, allow_override=True)
    districts = gpd.read_file(base / "police_districts.geojson")
    wards = gpd.read_file(base / "wards_2015.geojson")
    crs = working_crs(beats)
    beats = beats.to_crs(crs)
    beats["district"] = beats["district"].str.lstrip("0")
    return {"beats": beats, "districts": districts.to_crs(crs), "wards": wards.to_crs(crs)}


def test_chicago_beats_nest_in_their_districts(chicago: dict) -> None:
    beats, districts = chicago["beats"], chicago["districts"]
    assert len(beats) == 277 and len(districts) == 25
    rep = check_layer_nesting(
        beats,
        districts,
        child_id="beat_num",
        parent_id="DIST_NUM",
        recorded="district",
        child_level="beat",
        parent_level="district",
    )
    t = rep.tables["nesting"]
    assert len(t) == 275 and t["child"].is_unique  # 277 features, 3100 merged from three
    assert t["nested"].all() and t["agrees"].all()
    assert t["parent"].nunique() == 23  # 25 polygons, district 31 in three parts
    assert rep.ok, str(rep)
    assert any("'3100' ×3" in p.message for p in rep.warnings)


def test_chicago_realign_beats_to_wards_is_refused_plainly(chicago: dict) -> None:
    beats = chicago["beats"]
    wards = chicago["wards"].rename(columns={"WARD": "id"})
    with pytest.raises(WardsTooCoarseError) as err:
        realign(wards, beats, area_id="beat_num")
    msg = str(err.value)
    assert "the wards are larger than the areas" in msg
    assert "of 275 areas would get no ward" in msg
    r = realign(wards, beats, area_id="beat_num", allow_coarse=True)
    # whole wards go to beats: at most one beat per ward survives, and the rest are said
    assert r.summary["coarse"] and r.summary["areas_new"] <= len(wards)
    assert r.summary["areas_emptied"] == 275 - r.summary["areas_new"]
    assert len(r.assignment) == len(wards) and r.assignment["ward"].is_unique
    assert r.areas["area"]["n_wards"].sum() == len(wards)
    assert any("larger than" in w for w in r.warnings)
    assert any("sliver overlaps" in w for w in r.warnings)  # the 2015 ward map's slivers
