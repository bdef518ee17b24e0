"""Tests of beatplan.geo.sample: determinism, boundary invariants, police.uk realism, planted
hotspots."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from _police_uk import CRIME_TYPES as TYPES
from _police_uk import HEADER
from geopandas.testing import assert_geodataframe_equal
from pyproj import Transformer

from beatplan.geo.errors import OptionError, OutputExistsError
from beatplan.geo.sample import SampleCounty, make_sample, write_sample

SEED = 20261122
OTHER_SEED = 7

MONTHS = [f"2025-{m:02d}" for m in (11, 12)] + [f"2026-{m:02d}" for m in range(1, 11)]
LEVELS = ("districts", "wards_new", "wards_old", "beats", "sectors", "npas")


@pytest.fixture(scope="module")
def county() -> SampleCounty:
    return make_sample(seed=SEED)


@pytest.fixture(scope="module")
def county_again() -> SampleCounty:
    return make_sample(seed=SEED)


@pytest.fixture(scope="module")
def county_other() -> SampleCounty:
    return make_sample(seed=OTHER_SEED)


@pytest.fixture(scope="module", params=["default", "other"])
def any_county(request, county, county_other) -> SampleCounty:
    return county if request.param == "default" else county_other


@pytest.fixture(scope="module")
def written(county, tmp_path_factory) -> dict[str, Path]:
    return write_sample(tmp_path_factory.mktemp("sample_a"), seed=SEED)


def _hashes(paths: dict[str, Path]) -> dict[str, str]:
    return {k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in paths.items() if p.is_file()}


def _located(c: SampleCounty) -> tuple[np.ndarray, pd.DataFrame]:
    """BNG coordinates of the located incidents (from their lon/lat) and those rows."""
    rows = c.incidents[c.incidents["Longitude"].notna()]
    t = Transformer.from_crs(4326, 27700, always_xy=True)
    x, y = t.transform(rows["Longitude"].to_numpy(), rows["Latitude"].to_numpy())
    return np.c_[x, y], rows


# ----------------------------------------------------------------------------------------------
# determinism
# ----------------------------------------------------------------------------------------------
def test_same_seed_gives_identical_frames(county, county_again):
    assert county.seed == county_again.seed == SEED
    assert county.months == county_again.months
    assert shapely.equals_exact(county.outline, county_again.outline, tolerance=0)
    for name in LEVELS:
        assert_geodataframe_equal(getattr(county, name), getattr(county_again, name))
    assert_geodataframe_equal(county.hotspots_truth, county_again.hotspots_truth)
    pd.testing.assert_frame_equal(county.incidents, county_again.incidents)
    pd.testing.assert_frame_equal(county.incident_truth, county_again.incident_truth)


def test_different_seed_gives_a_different_county(county, county_other):
    assert not county.outline.equals(county_other.outline)
    assert county.wards_new.geometry.area.sum() != pytest.approx(
        county_other.wards_new.geometry.area.sum(), abs=1.0
    )
    ids = set(county.incidents["Crime ID"].dropna())
    other_ids = set(county_other.incidents["Crime ID"].dropna())
    assert not ids & other_ids
    assert set(county.wards_new["name"]) != set(county_other.wards_new["name"])


def test_written_files_are_byte_identical_for_one_seed(written, county, county_other, tmp_path):
    again = county.write(tmp_path / "again")
    other = county_other.write(tmp_path / "other")
    h_a, h_b, h_o = _hashes(written), _hashes(again), _hashes(other)
    assert set(h_a) == set(h_b)
    assert h_a == h_b
    # another seed: every data file differs (the month names, hence the CSV keys, are the same)
    for key in ("boundaries", "wards_new", "beats_old", "hotspots_truth", "crime/2026-01"):
        assert h_a[key] != h_o[key], key


def test_written_files_and_layers(written, county):
    expected = {"boundaries", "wards_new", "beats_old", "hotspots_truth", "readme", "crime"}
    expected |= {f"crime/{m}" for m in MONTHS}
    assert set(written) == expected
    assert all(p.exists() for p in written.values())
    assert written["crime"].is_dir()
    assert sorted(p.name for p in written["crime"].iterdir()) == [
        f"{m}-sample-street.csv" for m in MONTHS
    ]
    # no temporary folder left behind
    assert not [p for p in written["boundaries"].parent.iterdir() if p.name.startswith(".")]
    layers = {name for name, _ in pyogrio.list_layers(written["boundaries"])}
    assert layers == {*LEVELS, "outline"}
    for name in LEVELS:
        back = gpd.read_file(written["boundaries"], layer=name)
        assert back.crs.to_epsg() == 27700
        assert back["id"].tolist() == getattr(county, name)["id"].tolist()
        assert shapely.coverage_is_valid(back.geometry.to_numpy())
    beats = gpd.read_file(written["beats_old"])
    assert beats["id"].tolist() == county.beats["id"].tolist()
    assert beats.crs.to_epsg() == 27700
    hot = gpd.read_file(written["hotspots_truth"])
    assert hot["id"].tolist() == county.hotspots_truth["id"].tolist()
    readme = written["readme"].read_text(encoding="utf-8")
    for name in ("boundaries.gpkg", "wards_new.geojson", "beats_old.geojson", "crime/", "hotspots"):
        assert name in readme


def test_write_refuses_to_overwrite(written):
    out = written["boundaries"].parent
    before = _hashes(written)
    with pytest.raises(OutputExistsError, match="overwrite=True") as err:
        write_sample(out, seed=SEED + 1)
    assert isinstance(err.value, FileExistsError)
    assert str(out) in str(err.value)
    assert _hashes(written) == before


def test_write_refuses_when_only_a_crime_file_exists(tmp_path):
    (tmp_path / "crime").mkdir()
    (tmp_path / "crime" / "2026-01-sample-street.csv").write_text("x")
    with pytest.raises(OutputExistsError, match="2026-01-sample-street.csv"):
        write_sample(tmp_path)


def test_write_overwrites_when_asked(county, tmp_path):
    (tmp_path / "boundaries.gpkg").write_bytes(b"not a geopackage")
    with pytest.raises(OutputExistsError, match="boundaries.gpkg"):
        county.write(tmp_path)
    assert (tmp_path / "boundaries.gpkg").read_bytes() == b"not a geopackage"
    paths = county.write(tmp_path, overwrite=True)
    back = gpd.read_file(paths["boundaries"], layer="wards_new")
    assert back["id"].tolist() == county.wards_new["id"].tolist()


# ----------------------------------------------------------------------------------------------
# boundaries
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("level", LEVELS)
def test_each_level_is_an_exact_coverage_of_the_outline(any_county, level):
    gdf = getattr(any_county, level)
    geoms = gdf.geometry.to_numpy()
    assert gdf.crs.to_epsg() == 27700
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_type_id(geoms) == 3).all(), "every area is one polygon (contiguous)"
    assert shapely.coverage_is_valid(geoms), "shared edges match exactly, no overlaps"
    union = shapely.union_all(geoms)
    assert abs(union.area - any_county.outline.area) < 1.0
    assert union.symmetric_difference(any_county.outline).area < 1.0
    assert gdf["id"].is_unique and gdf["name"].is_unique
    assert gdf["id"].notna().all() and gdf["name"].notna().all()
    assert isinstance(gdf.index, pd.RangeIndex)


def test_outline_is_irregular_and_in_england(any_county):
    o = any_county.outline
    minx, miny, maxx, maxy = o.bounds
    assert 420_000 < minx < maxx < 520_000 and 260_000 < miny < maxy < 350_000
    assert o.area / shapely.envelope(o).area < 0.9, "not a rectangle"
    assert o.area / shapely.convex_hull(o).area < 0.99, "not convex"
    assert 1.2e9 < o.area < 3.0e9  # 1,200-3,000 km², a shire county


def test_counts_and_ids(any_county):
    c = any_county
    assert 6 <= len(c.districts) <= 8
    assert 140 <= len(c.wards_new) <= 160
    assert 140 <= len(c.wards_old) <= 160
    assert 30 <= len(c.beats) <= 40
    assert 10 <= len(c.sectors) <= 12
    assert 5 <= len(c.npas) <= 7
    patterns = {
        "districts": r"E079\d{5}",
        "wards_new": r"E059\d{5}",
        "wards_old": r"E058\d{5}",
        "beats": r"B\d\d",
        "sectors": r"S\d\d",
        "npas": r"NPA-[A-Z]{1,3}",
    }
    for level, pattern in patterns.items():
        ids = getattr(c, level)["id"]
        assert ids.str.fullmatch(pattern).all(), level
    assert (c.npas["name"].str.len() > 0).all()


def _nested(small: gpd.GeoDataFrame, big: gpd.GeoDataFrame, column: str) -> None:
    """Each small area lies in the big area its ``column`` names, and they add up exactly."""
    assert small[column].notna().all()
    assert set(small[column]) == set(big["id"]), f"every {column} is used and exists"
    parent = big.set_index("id").geometry.loc[small[column]].to_numpy()
    inside = shapely.area(shapely.intersection(small.geometry.to_numpy(), parent))
    np.testing.assert_allclose(inside, small.geometry.area.to_numpy(), rtol=1e-9, atol=1e-3)
    for pid, group in small.groupby(column):
        union = shapely.coverage_union_all(group.geometry.to_numpy())
        target = big.loc[big["id"] == pid].geometry.iloc[0]
        assert union.symmetric_difference(target).area < 1.0, pid


def test_wards_nest_in_districts(any_county):
    _nested(any_county.wards_new, any_county.districts, "district")
    _nested(any_county.wards_old, any_county.districts, "district")


def test_police_hierarchy_nests(any_county):
    c = any_county
    wo = c.wards_old
    # every old ward in exactly one beat, and its sector and NPA agree with the beat's
    assert wo["id"].is_unique
    beat = c.beats.set_index("id")
    assert (wo["sector"].to_numpy() == beat.loc[wo["beat"], "sector"].to_numpy()).all()
    assert (wo["npa"].to_numpy() == beat.loc[wo["beat"], "npa"].to_numpy()).all()
    sector = c.sectors.set_index("id")
    assert (c.beats["npa"].to_numpy() == sector.loc[c.beats["sector"], "npa"].to_numpy()).all()
    _nested(wo, c.beats, "beat")
    _nested(c.beats, c.sectors, "sector")
    _nested(c.sectors, c.npas, "npa")


def test_populations_add_up(any_county):
    c = any_county
    total = c.districts["population"].sum()
    assert total > 0
    assert c.wards_new["population"].sum() == total
    assert c.wards_old["population"].sum() == total
    by_d = c.wards_new.groupby("district")["population"].sum()
    assert (by_d.reindex(c.districts["id"]).to_numpy() == c.districts["population"]).all()


def test_old_and_new_wards_overlap_many_to_many(any_county):
    new, old = any_county.wards_new, any_county.wards_old
    tree = shapely.STRtree(old.geometry.to_numpy())
    i_new, i_old = tree.query(new.geometry.to_numpy(), predicate="intersects")
    piece = shapely.area(
        shapely.intersection(new.geometry.to_numpy()[i_new], old.geometry.to_numpy()[i_old])
    )
    # pieces of a new ward add up to the whole ward: nothing lost in the overlay
    np.testing.assert_allclose(
        np.bincount(i_new, weights=piece, minlength=len(new)), new.geometry.area, rtol=1e-9
    )
    big = piece > 0.01 * new.geometry.area.to_numpy()[i_new]
    parts_new = np.bincount(i_new[big], minlength=len(new))
    parts_old = np.bincount(i_old[big], minlength=len(old))
    assert (parts_new >= 1).all()
    # a boundary review: most new wards take substantial pieces of two or more old wards,
    # and most old wards are spread over two or more new ones
    assert (parts_new >= 2).sum() >= 0.6 * len(new)
    assert (parts_old >= 2).sum() >= 0.6 * len(old)
    assert parts_new.max() >= 3


# ----------------------------------------------------------------------------------------------
# incidents
# ----------------------------------------------------------------------------------------------
def test_csv_files_are_police_uk_street_files(written, county):
    lines_total = 0
    for month in MONTHS:
        path = written[f"crime/{month}"]
        text = path.read_bytes().decode("utf-8")
        lines = text.split("\r\n")  # CRLF line ends, as police.uk's files have
        assert lines[0] == HEADER
        assert lines[-1] == ""
        data = lines[1:-1]
        lines_total += len(data)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert (frame["Month"] == month).all()
        lon = frame.loc[frame["Longitude"] != "", "Longitude"]
        assert lon.str.fullmatch(r"-?\d+\.\d{6}").all()
        assert frame.loc[frame["Latitude"] != "", "Latitude"].str.fullmatch(r"\d+\.\d{6}").all()
        ids = frame.loc[frame["Crime ID"] != "", "Crime ID"]
        assert ids.str.fullmatch(r"[0-9a-f]{64}").all()
    assert lines_total == len(county.incidents)


def test_incident_frame_matches_files(written, county):
    monthly = county.monthly()
    assert list(monthly) == [f"{m}-sample-street.csv" for m in MONTHS]
    for month in ("2025-11", "2026-10"):
        back = pd.read_csv(written[f"crime/{month}"], dtype={"Longitude": float, "Latitude": float})
        frame = monthly[f"{month}-sample-street.csv"]
        assert list(back.columns) == list(frame.columns)
        assert len(back) == len(frame)
        np.testing.assert_array_equal(back["Longitude"], frame["Longitude"].to_numpy())
        for col in ("Crime ID", "Location", "LSOA code", "Crime type", "Last outcome category"):
            assert (back[col].fillna("") == frame[col].fillna("")).all(), col
    t = county.incident_truth
    assert len(t) == len(county.incidents) and (t.index == county.incidents.index).all()
    for name, rows in t.groupby("file"):
        assert rows["row"].tolist() == list(range(1, len(rows) + 1)), name


def test_incident_columns_types_and_months(county):
    inc = county.incidents
    assert ",".join(inc.columns) == HEADER
    assert 40_000 <= len(inc) <= 60_000
    assert list(county.months) == MONTHS
    assert sorted(inc["Month"].unique()) == MONTHS
    assert set(inc["Crime type"]) == TYPES
    shares = inc["Crime type"].value_counts(normalize=True)
    assert 0.25 < shares["Violence and sexual offences"] < 0.45  # the largest type, as on police.uk
    assert shares.idxmax() == "Violence and sexual offences"
    assert 0.08 < shares["Anti-social behaviour"] < 0.25
    assert shares.min() > 0.003
    assert (inc["Reported by"] == inc["Falls within"]).all()
    assert inc["Context"].isna().all()


def test_anti_social_behaviour_rows_have_no_id_or_outcome(county):
    inc = county.incidents
    asb = inc["Crime type"] == "Anti-social behaviour"
    assert asb.sum() > 1000
    assert inc.loc[asb, "Crime ID"].isna().all()
    assert inc.loc[asb, "Last outcome category"].isna().all()
    ids = inc.loc[~asb, "Crime ID"]
    assert ids.notna().all() and ids.is_unique
    assert inc.loc[~asb, "Last outcome category"].notna().all()


def test_some_rows_have_no_location(any_county):
    inc = any_county.incidents
    none = inc["Longitude"].isna()
    assert 0.01 <= none.mean() <= 0.05
    assert (inc["Latitude"].isna() == none).all()
    assert (inc.loc[none, "Location"] == "No Location").all()
    assert inc.loc[none, "LSOA code"].isna().all() and inc.loc[none, "LSOA name"].isna().all()
    assert inc.loc[~none, "Location"].str.startswith("On or near ").all()
    assert inc.loc[~none, "LSOA code"].str.fullmatch(r"E019\d{5}").all()
    # police.uk lists rows with no location after the located ones in each file
    for _, rows in inc.groupby("Month"):
        flags = rows["Longitude"].isna().to_numpy()
        assert not (flags[:-1] & ~flags[1:]).any()


def test_points_are_snapped_and_inside_the_county(any_county):
    xy, rows = _located(any_county)
    assert shapely.contains_xy(any_county.outline, xy[:, 0], xy[:, 1]).all()
    points = rows[["Longitude", "Latitude"]].drop_duplicates()
    assert len(points) < 0.5 * len(rows), "many incidents share one map point"
    assert len(points) > 2000
    # one map point, one location text
    per_point = rows.groupby(["Longitude", "Latitude"])["Location"].nunique()
    assert (per_point == 1).all()


def test_lsoa_is_the_new_ward_of_the_point(any_county):
    # the exact snapped points (the truth table's BNG x, y): every one in exactly one new ward,
    # and its LSOA code is that ward's
    inc, truth = any_county.incidents, any_county.incident_truth
    located = inc["Longitude"].notna().to_numpy()
    x, y = truth["x"].to_numpy()[located], truth["y"].to_numpy()[located]
    tree = shapely.STRtree(any_county.wards_new.geometry.to_numpy())
    idx_pt, idx_ward = tree.query(shapely.points(x, y), predicate="intersects")
    assert (np.bincount(idx_pt, minlength=len(x)) == 1).all()
    ward = np.empty(len(x), dtype=np.int64)
    ward[idx_pt] = idx_ward
    code = np.array([f"E019{k + 1:05d}" for k in range(len(any_county.wards_new))])
    assert (inc["LSOA code"].to_numpy()[located] == code[ward]).all()
    # the published lon/lat (6 decimals, as police.uk) is that point to within a few decimetres
    xy, _ = _located(any_county)
    assert np.hypot(xy[:, 0] - x, xy[:, 1] - y).max() < 0.2
    assert truth.loc[~located, ["x", "y"]].isna().all().all()


def test_background_density_is_not_uniform(county):
    xy, _ = _located(county)
    wards = county.wards_new
    tree = shapely.STRtree(wards.geometry.to_numpy())
    idx_pt, idx_ward = tree.query(shapely.points(xy), predicate="intersects")
    _, first = np.unique(idx_pt, return_index=True)
    counts = np.bincount(idx_ward[first], minlength=len(wards))
    density = counts / (wards.geometry.area.to_numpy() / 1e6)
    lo, hi = np.percentile(density, [10, 90])
    assert hi > 10 * max(lo, 1e-9), "urban wards far denser than rural ones"


# ----------------------------------------------------------------------------------------------
# planted hotspots
# ----------------------------------------------------------------------------------------------
def test_hotspot_truth_table(any_county):
    h = any_county.hotspots_truth
    assert 12 <= len(h) <= 20
    assert h.crs.to_epsg() == 27700
    assert {"id", "x", "y", "radius_m", "incidents", "months_active", "kind", "geometry"} <= set(
        h.columns
    )
    assert h["id"].is_unique
    assert h["radius_m"].between(80, 400).all()
    assert h.geometry.x.to_numpy() == pytest.approx(h["x"].to_numpy())
    assert {"persistent", "emerging"} <= set(h["kind"])
    assert set(h["kind"]) <= {"persistent", "emerging", "seasonal"}
    assert shapely.contains_xy(any_county.outline, h["x"], h["y"]).all()
    assert (h.loc[h["kind"] == "persistent", "months_active"] == 12).all()
    assert (h.loc[h["kind"] == "emerging", "months_active"] < 12).all()
    assert (h.loc[h["kind"] == "emerging", "last_month"] == MONTHS[-1]).all()
    # the truth labels agree with the table: counts and active months
    t = any_county.incident_truth
    labelled = t["hotspot"].value_counts()
    assert (labelled.reindex(h["id"]).fillna(0).to_numpy() == h["incidents"].to_numpy()).all()
    months = any_county.incidents["Month"]
    for _, row in h.iterrows():
        m = months[t["hotspot"] == row["id"]]
        assert m.min() >= row["first_month"] and m.max() <= row["last_month"]
    assert t.loc[t["hotspot"].notna(), "x"].notna().all(), "hotspot incidents have a location"


def test_every_hotspot_stands_far_above_its_background(any_county):
    """Count incidents (all of them, unlabelled) within each hotspot's radius during its active
    months, against the background expected from a surrounding ring clear of other hotspots."""
    xy, rows = _located(any_county)
    month = rows["Month"].to_numpy()
    h = any_county.hotspots_truth
    centres = shapely.points(h["x"], h["y"])
    ratios = []
    for i, row in h.iterrows():
        active = (month >= row["first_month"]) & (month <= row["last_month"])
        pts = xy[active]
        r = row["radius_m"]
        inside = (np.hypot(pts[:, 0] - row["x"], pts[:, 1] - row["y"]) <= r).sum()
        ring = shapely.buffer(centres[i], 2 * r + 800).difference(shapely.buffer(centres[i], 2 * r))
        others = [
            shapely.buffer(centres[j], 2 * h["radius_m"].iloc[j]) for j in range(len(h)) if j != i
        ]
        ring = ring.difference(shapely.union_all(others)).intersection(any_county.outline)
        in_ring = shapely.contains_xy(ring, pts[:, 0], pts[:, 1]).sum()
        expected = in_ring / ring.area * np.pi * r**2
        assert inside >= 30, row["id"]
        ratios.append(inside / max(expected, 1.0))
    assert min(ratios) >= 3.0, ratios


# ----------------------------------------------------------------------------------------------
# options
# ----------------------------------------------------------------------------------------------
def test_options_scale_the_county():
    c = make_sample(seed=3, months=3, start="2026-01", n_wards=80, incidents=5000)
    assert c.months == ("2026-01", "2026-02", "2026-03")
    assert sorted(c.incidents["Month"].unique()) == list(c.months)
    assert 3000 <= len(c.incidents) <= 7000
    assert 70 <= len(c.wards_new) <= 90
    for level in LEVELS:
        geoms = getattr(c, level).geometry.to_numpy()
        assert shapely.coverage_is_valid(geoms)
        assert abs(shapely.union_all(geoms).area - c.outline.area) < 1.0
    assert (c.incident_truth["file"] == "2026-02-sample-street.csv").sum() > 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": "1"}, "seed='1' is not an integer"),
        ({"seed": True}, "seed=True is not an integer"),
        ({"seed": -1}, "seed=-1 is out of range"),
        ({"months": 0}, "months=0 is out of range"),
        ({"months": 37}, "months=37 is out of range"),
        ({"n_wards": 10}, "n_wards=10 is out of range"),
        ({"incidents": 10}, "incidents=10 is out of range"),
        ({"start": "2025-13"}, "start='2025-13' is not a month"),
        ({"start": "Nov 2025"}, "YYYY-MM"),
        ({"no_location_share": 0.5}, "no_location_share=0.5 is out of range"),
        ({"no_location_share": "x"}, "no_location_share='x'"),
    ],
)
def test_bad_options_are_refused(kwargs, match):
    with pytest.raises(OptionError, match=re.escape(match)):
        make_sample(**kwargs)


def test_arguments_are_keyword_only():
    with pytest.raises(TypeError):
        make_sample(SEED)  # type: ignore[misc]
    with pytest.raises(TypeError):
        write_sample("x", SEED)  # type: ignore[misc]
