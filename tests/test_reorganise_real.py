"""Leicestershire's 2020 move from 8 to 9 NPAs, as a spec over the 171 real WD13 wards.

The "before" layout is a plausible pre-2020 one (no official file is public): one NPA per
county district pair as described in tests/specs/leicestershire_2020.yaml, the city in three
NPAs. The spec makes the nine 2020 NPAs; the year of police.uk incidents (Nov 2021 - Oct 2022)
gives each NPA's demand.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import beatplan.geo as geo
from beatplan.boundaries.outputs import read_plan, write_plan
from beatplan.boundaries.reorganise import reorganise
from beatplan.geo.errors import ValidationError
from beatplan.geo.incidents import read_incidents

pytestmark = pytest.mark.realdata

SPEC = Path(__file__).parent / "specs" / "leicestershire_2020.yaml"

DISTRICTS = {
    "E06000016": "Leicester",
    "E06000017": "Rutland",
    "E07000129": "Blaby",
    "E07000130": "Charnwood",
    "E07000131": "Harborough",
    "E07000132": "Hinckley and Bosworth",
    "E07000133": "Melton",
    "E07000134": "North West Leicestershire",
    "E07000135": "Oadby and Wigston",
}
#: pre-2020 county layout: district -> (sector, sector name, NPA, NPA name)
COUNTY = {
    "E07000130": ("S-CHA", "Charnwood", "NPA-CHA", "Charnwood"),
    "E07000134": ("S-NWL", "North West Leicestershire", "NPA-NWL", "North West Leicestershire"),
    "E07000132": ("S-HB", "Hinckley and Bosworth", "NPA-HB", "Hinckley and Bosworth"),
    "E07000129": ("S-BLA", "Blaby", "NPA-BOW", "Blaby, Oadby and Wigston"),
    "E07000135": ("S-OW", "Oadby and Wigston", "NPA-BOW", "Blaby, Oadby and Wigston"),
    "E07000131": ("S-HAR", "Harborough", "NPA-HMR", "Harborough, Melton and Rutland"),
    "E07000133": ("S-MEL", "Melton", "NPA-HMR", "Harborough, Melton and Rutland"),
    "E06000017": ("S-RUT", "Rutland", "NPA-HMR", "Harborough, Melton and Rutland"),
}
#: pre-2020 city layout: sector -> (sector name, NPA, NPA name, WD13 ward names)
CITY = {
    "S-LW1": ("Beaumont Leys and Abbey", "NPA-LW", "Leicester West",
              ["Beaumont Leys", "Abbey", "Fosse"]),
    "S-LW2": ("Braunstone and Aylestone", "NPA-LW", "Leicester West",
              ["New Parks", "Western Park", "Braunstone Park and Rowley Fields", "Aylestone",
               "Eyres Monsell"]),
    "S-LE1": ("Belgrave and Rushey Mead", "NPA-LE", "Leicester East",
              ["Belgrave", "Rushey Mead", "Humberstone and Hamilton"]),
    "S-LE2": ("Evington and Coleman", "NPA-LE", "Leicester East",
              ["Thurncourt", "Evington", "Coleman", "Charnwood"]),
    "S-LC1": ("City Centre", "NPA-LCS", "Leicester City Centre and South",
              ["Castle", "Westcotes", "Latimer", "Spinney Hills", "Stoneygate"]),
    "S-LC2": ("Knighton and Freemen", "NPA-LCS", "Leicester City Centre and South",
              ["Freemen", "Knighton"]),
}  # fmt: skip
#: the 2020 NPAs the spec must give: id -> (districts wholly in it, city ward names)
EXPECTED = {
    "NPA-CHA": (["E07000130"], []),
    "NPA-NWL": (["E07000134"], []),
    "NPA-HBB": (["E07000132", "E07000129"], []),
    "NPA-MR": (["E07000133", "E06000017"], []),
    "NPA-HOW": (["E07000131", "E07000135"], []),
    "NPA-LW": ([], CITY["S-LW1"][3] + ["New Parks", "Western Park",
                                       "Braunstone Park and Rowley Fields"]),
    "NPA-LE": ([], CITY["S-LE1"][3] + CITY["S-LE2"][3]),
    "NPA-LC": ([], CITY["S-LC1"][3]),
    "NPA-LS": ([], ["Aylestone", "Eyres Monsell", "Freemen", "Knighton"]),
}  # fmt: skip


@pytest.fixture(scope="module")
def wards(shared_data: Path) -> gpd.GeoDataFrame:
    folder = shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad"
    parts = [
        geo.read_boundaries(f).assign(district=f.stem, district_name=DISTRICTS[f.stem])
        for f in sorted(folder.glob("*.json"))
    ]
    w = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(w, geometry="geometry", crs=parts[0].crs)


@pytest.fixture(scope="module")
def before(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The pre-2020 layout as a ward table (sector < npa) with area names."""
    w = wards.copy()
    cols = {"sector": {}, "sector_name": {}, "npa": {}, "npa_name": {}}
    for code, (s, sn, n, nn) in COUNTY.items():
        for wid in w.loc[w["district"] == code, "id"]:
            cols["sector"][wid], cols["sector_name"][wid] = s, sn
            cols["npa"][wid], cols["npa_name"][wid] = n, nn
    city = w[w["district"] == "E06000016"].set_index("name")["id"]
    for s, (sn, n, nn, names) in CITY.items():
        for name in names:
            wid = city[name]
            cols["sector"][wid], cols["sector_name"][wid] = s, sn
            cols["npa"][wid], cols["npa_name"][wid] = n, nn
    for c, m in cols.items():
        w[c] = w["id"].map(m)
    assert w[list(cols)].notna().all().all()
    return w


@pytest.fixture(scope="module")
def incidents(shared_data: Path):
    return read_incidents(shared_data / "leicestershire_street_crime")


@pytest.fixture(scope="module")
def result(before, incidents):
    return reorganise(before, SPEC, incidents=incidents)


def test_before_has_eight_npas(before):
    assert len(before) == 171
    assert before["npa"].nunique() == 8
    assert before.groupby("district").size().to_dict()["E06000016"] == 22


def test_nine_npas_with_the_declared_wards(result, wards):
    npa = result.layers["npa"]
    assert sorted(npa["id"]) == sorted(EXPECTED)
    table = result.wards.set_index("id")
    city = wards[wards["district"] == "E06000016"].set_index("name")["id"]
    for nid, (districts, city_names) in EXPECTED.items():
        members = set(table.index[table["npa"] == nid])
        want = set(wards.loc[wards["district"].isin(districts), "id"]) | set(city[city_names])
        assert members == want, nid
    # every ward once; the counts add up to the 171 wards
    assert npa["n_wards"].sum() == 171
    assert result.wards["id"].is_unique


def test_layers_nest_cover_and_are_contiguous(result, wards):
    assert result.checks.ok, str(result.checks)
    assert {"assignment", "nesting", "coverage", "union", "contiguity"} <= set(result.checks.checks)
    # nesting: each sector in exactly one NPA
    assert (result.wards.groupby("sector")["npa"].nunique() == 1).all()
    # cover: the NPA union is the union of the wards, and the NPAs do not overlap
    whole = shapely.coverage_union_all(wards.geometry.values)
    npas = result.layers["npa"].geometry.values
    assert shapely.area(shapely.symmetric_difference(shapely.union_all(npas), whole)) < 1.0
    assert abs(shapely.area(npas).sum() - shapely.area(whole)) < 1.0
    assert shapely.coverage_is_valid(npas)
    # contiguous: every NPA is one polygon (islands of a single ward aside)
    for geom, nid in zip(npas, result.layers["npa"]["id"], strict=True):
        parts = shapely.get_parts(geom)
        big = parts[shapely.area(parts) > 0.01 * shapely.area(geom)]
        assert len(big) == 1, nid


def test_incidents_per_npa_counted_once(result, incidents):
    npa = result.layers["npa"].set_index("id")
    pts = incidents.points
    xy = shapely.get_coordinates(pts.geometry.values)
    force = result.layers["force"].geometry.values[0]
    shapely.prepare(force)
    inside = shapely.intersects_xy(force, xy[:, 0], xy[:, 1])
    # every located incident inside the force area is counted, once
    assert npa["incidents"].sum() == inside.sum()
    assert result.summary["incidents_total"] == inside.sum()
    assert result.summary["incidents_outside"] == len(pts) - inside.sum()
    assert result.summary["incidents_unlocated"] == 0  # read_incidents rejects those
    # per NPA: between the points strictly within and those touching its polygon
    for nid, geom in npa.geometry.items():
        shapely.prepare(geom)
        touching = shapely.intersects_xy(geom, xy[:, 0], xy[:, 1]).sum()
        within = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]).sum()
        assert within <= npa.loc[nid, "incidents"] <= touching, nid
    # the levels add up
    assert result.layers["sector"]["incidents"].sum() == npa["incidents"].sum()
    assert npa["incidents"].min() > 1000  # a year of a force's crime: every NPA has demand


def test_change_report(result, wards):
    ch = result.changes
    npa = ch[ch["level"] == "npa"].set_index(ch[ch["level"] == "npa"]["id"].fillna("-"))
    status = dict(zip(npa["id"].fillna(npa["old_id"]), npa["status"], strict=True))
    assert status["NPA-CHA"] == "unchanged" and status["NPA-NWL"] == "unchanged"
    assert status["NPA-HMR"] == "removed" and status["NPA-BOW"] == "removed"
    for nid in ("NPA-MR", "NPA-HOW", "NPA-HBB", "NPA-LS"):
        assert status[nid] == "new"
    assert status["NPA-LC"] == "changed"  # NPA-LCS renamed and lost Freemen and Knighton
    lc = npa.loc["NPA-LC"]
    assert lc["old_id"] == "NPA-LCS" and lc["n_lost"] == 2 and lc["n_gained"] == 0
    assert set(lc["wards_lost"].split(";")) == {"E05001795", "E05001797"}
    # demand old vs new adds up over each level and both years' totals agree
    live = npa[npa["id"].notna()]
    old = ch[(ch["level"] == "npa") & ch["old_id"].notna()].drop_duplicates("old_id")
    assert live["incidents_new"].sum() == old["incidents_old"].sum()
    assert abs(live["deviation_pct"].mean()) < 1e-9  # deviations from the mean sum to zero
    # wards that left the area their old NPA lives on in: NPA-HMR lives on in NPA-MR (Melton
    # and Rutland hold more of its wards than Harborough), so Harborough's wards moved;
    # NPA-BOW lives on in NPA-HBB (Blaby), so Oadby and Wigston's moved; Aylestone and Eyres
    # Monsell left Leicester West, Freemen and Knighton left NPA-LCS (now NPA-LC)
    size = wards.groupby("district").size()
    assert size["E07000133"] + size["E06000017"] > size["E07000131"]
    assert size["E07000129"] > size["E07000135"]
    moved = result.crosswalk[result.crosswalk["changed"].str.contains("npa")]
    districts = result.wards.set_index("id")["district"]
    assert sorted(districts[moved["ward"]].value_counts().items()) == [
        ("E06000016", 4),
        ("E07000131", size["E07000131"]),
        ("E07000135", size["E07000135"]),
    ]
    assert set(moved["ward"]) >= {"E05001785", "E05001793", "E05001795", "E05001797"}
    assert result.summary["by_level"]["npa"]["areas_old"] == 8
    assert result.summary["by_level"]["npa"]["areas_new"] == 9


def test_write_and_reorganise_from_the_written_folder(before, incidents, tmp_path):
    current = reorganise(before, None, incidents=incidents)
    assert current.checks.ok and len(current.layers["npa"]) == 8
    write_plan(tmp_path / "2019", current)
    plan = read_plan(tmp_path / "2019")
    assert plan.levels == ("sector", "npa") and len(plan.wards) == 171
    r = reorganise(tmp_path / "2019", SPEC)  # names, districts and demand come from the files
    assert len(r.layers["npa"]) == 9 and r.checks.ok
    assert r.summary["incidents_total"] == current.summary["incidents_total"]
    files = write_plan(tmp_path / "2020", r, formats=["gpkg", "geojson"])
    npas = gpd.read_file(files["gpkg"], layer="npas")
    assert len(npas) == 9 and set(npas["name"]) >= {"Melton and Rutland", "Leicester South"}
    md = files["changes_md"].read_text(encoding="utf-8")
    for name in ("Melton and Rutland", "Harborough, Oadby and Wigston", "Leicester Central"):
        assert name in md
    cw = pd.read_csv(files["crosswalk"], dtype=str)
    assert len(cw) == 171 and cw["ward"].is_unique


def test_spec_errors_on_real_wards(before):
    bad = {
        "levels": ["sector", "npa"],
        "changes": [
            {"op": "merge", "level": "npa", "areas": ["NPA-NWL", "NPA-HMR"]},  # not touching
            # New Parks leaves Leicester West whole; the second code is a typo
            {"op": "create", "level": "npa", "id": "NPA-X", "wards": ["E05001799", "E0500178"]},
        ],
    }
    with pytest.raises(ValidationError) as err:
        reorganise(before, bad)
    msg = str(err.value)
    assert "changes[0].areas" in msg and "do not touch" in msg
    assert "changes[1].wards[1]" in msg and "E0500178" in msg
    assert len(err.value.problems) == 2


def test_a_change_that_cuts_an_area_is_reported_with_its_consequences(before):
    # Aylestone alone as an NPA cuts Eyres Monsell off from Leicester West and its sector
    bad = {"changes": [{"op": "create", "level": "npa", "wards": ["E05001785"]}]}
    with pytest.raises(ValidationError) as err:
        reorganise(before, bad)
    problems = err.value.problems
    assert len(problems) == 2
    assert any(p.startswith("changes[0]") and "npa NPA-LW is in 2 pieces" in p for p in problems)
    assert any("sector S-LW2 is in 2 pieces" in p and "split to stay inside" in p for p in problems)
    assert all("E05001793" in p for p in problems)  # Eyres Monsell is the ward cut off


def test_leicester_city_groups_are_sensible(result, wards):
    """Each city NPA lies in the part of the city its name says (centroids, BNG metres)."""
    npa = result.layers["npa"].set_index("id")
    c = shapely.centroid(npa.geometry.values)
    x = dict(zip(npa.index, shapely.get_x(c), strict=True))
    y = dict(zip(npa.index, shapely.get_y(c), strict=True))
    assert x["NPA-LW"] < x["NPA-LC"] < x["NPA-LE"]
    assert y["NPA-LS"] < y["NPA-LC"]
    assert np.isfinite(list(x.values())).all()
