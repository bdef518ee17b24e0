"""Tests for beatplan.geo.layers.read_boundaries on real public boundaries and small awkward
files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS
from shapely import GeometryCollection, MultiPolygon, Point, Polygon, box

from beatplan.geo.errors import (
    BeatplanError,
    ColumnNotFoundError,
    CRSError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    ValidationError,
)
from beatplan.geo.layers import detect_columns, read_boundaries

CONTRACT_KEYS = {"source", "id_col", "name_col", "crs_source", "repaired", "dissolved", "warnings"}
UTM16N = CRS.from_epsg(32616)
BNG = CRS.from_epsg(27700)


def assert_contract(gdf: gpd.GeoDataFrame) -> None:
    """The boundaries contract every successful read must meet."""
    cols = list(gdf.columns)
    assert cols[:2] == ["id", "name"]
    assert cols[-1] == "geometry" and gdf.geometry.name == "geometry"
    assert str(gdf["id"].dtype) == "string" and str(gdf["name"].dtype) == "string"
    assert gdf["id"].notna().all() and gdf["id"].is_unique
    assert isinstance(gdf.index, pd.RangeIndex) and gdf.index.start == 0
    geoms = gdf.geometry.values
    assert not shapely.is_missing(np.asarray(geoms)).any()
    assert not shapely.is_empty(np.asarray(geoms)).any()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    assert shapely.is_valid(np.asarray(geoms)).all()
    assert set(gdf.attrs["beatplan"]) == CONTRACT_KEYS
    assert gdf.crs is not None


def feature_collection(features: list[tuple[dict, dict | None]], *, crs: str | None = None) -> str:
    doc: dict = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }
    if crs is not None:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc)


def square(x: float, y: float, size: float = 0.01) -> dict:
    return shapely.geometry.mapping(box(x, y, x + size, y + size))


def write_geojson(path: Path, features: list[tuple[dict, dict | None]], **kw) -> Path:
    path.write_text(feature_collection(features, **kw))
    return path


# ---------------------------------------------------------------------------------------------
# real data


@pytest.fixture(scope="module")
def wd13(shared_data: Path) -> gpd.GeoDataFrame:
    return read_boundaries(shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad")


def test_wd13_wards_from_nine_district_files(wd13: gpd.GeoDataFrame, shared_data: Path) -> None:
    folder = shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad"
    files = sorted(folder.glob("*.json"))
    assert len(files) == 9
    per_file = sum(pyogrio.read_info(f)["features"] for f in files)
    assert len(wd13) == per_file == 171  # nothing lost, nothing doubled
    assert_contract(wd13)
    rep = wd13.attrs["beatplan"]
    assert rep["id_col"] == "WD13CD" and rep["name_col"] == "WD13NM"
    assert rep["crs_source"] == "EPSG:4326" and rep["repaired"] == []
    assert wd13.crs.equals(BNG)
    assert wd13["id"].str.match(r"^E05\d{6}$").all()
    assert wd13["name"].notna().all()
    # the chosen columns became id/name; the rest are kept
    assert {"WD13CDO", "WD13NMW"} <= set(wd13.columns)
    assert "WD13CD" not in wd13.columns
    # the force area is about 2,550 km²; BNG metres, not degrees
    assert 2.3e9 < wd13.area.sum() < 2.8e9


def test_wd13_ids_match_raw_file_ids(wd13: gpd.GeoDataFrame, shared_data: Path) -> None:
    folder = shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad"
    raw = pd.concat([pyogrio.read_dataframe(f) for f in sorted(folder.glob("*.json"))])
    assert sorted(wd13["id"]) == sorted(raw["WD13CD"])


@pytest.mark.parametrize("how", ["folder", "glob", "list"])
def test_wd19_city_wards_from_geojsonl_files(shared_data: Path, how: str) -> None:
    folder = shared_data / "leicestershire_boundaries" / "wd19_leicester_city_wards"
    source = {
        "folder": folder,
        "glob": str(folder / "*.geojsonl"),
        "list": sorted(folder.glob("*.geojsonl")),
    }[how]
    gdf = read_boundaries(source)
    assert_contract(gdf)
    assert len(gdf) == 21
    assert gdf.attrs["beatplan"]["id_col"] == "wd19cd"
    assert gdf.attrs["beatplan"]["name_col"] == "wd19nm"
    # each file is named after the ward it holds
    assert set(gdf["id"]) == {p.stem for p in folder.glob("*.geojsonl")}
    assert gdf.crs.equals(BNG)


def test_chicago_beats_duplicate_id_is_reported(shared_data: Path) -> None:
    path = shared_data / "chicago" / "police_beats_current.shp"
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    err = info.value
    assert len(err.problems) == 1  # the CRS and geometries are fine
    msg = str(err)
    assert "'beat_num'" in msg and "'3100' appears 3 times" in msg
    assert "277 features" in msg
    assert "id_col=" in msg and "dissolve=True" in msg
    assert isinstance(err, ValueError) and isinstance(err, BeatplanError)


def test_chicago_beat_column_is_no_id_either(shared_data: Path) -> None:
    path = shared_data / "chicago" / "police_beats_current.shp"
    raw = pyogrio.read_dataframe(path, read_geometry=False)
    assert not raw["beat"].is_unique  # the beat-within-sector digit
    with pytest.raises(ValidationError, match=r"id column 'beat' is not unique"):
        read_boundaries(path, id_col="beat")


def test_chicago_district_kml_duplicate_placemarks(shared_data: Path) -> None:
    path = shared_data / "chicago" / "chicago_police_districts.kml"
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    msg = str(info.value)
    # all 25 placemarks were read; district 31 is three separate placemarks
    assert "id column 'Name'" in msg and "25 features" in msg
    assert "'31' appears 3 times" in msg


def test_chicago_district_kml_after_dissolve(shared_data: Path, tmp_path: Path) -> None:
    """How a user reads the KML: merge the parts of district 31 first (not read_boundaries' job)."""
    src = shared_data / "chicago" / "chicago_police_districts.kml"
    raw = pyogrio.read_dataframe(src)
    merged = raw[["Name", "geometry"]].dissolve(by="Name", as_index=False)
    out = tmp_path / "districts.kml"
    pyogrio.write_dataframe(merged, out, driver="LIBKML")
    gdf = read_boundaries(out)
    assert_contract(gdf)
    assert len(gdf) == raw["Name"].nunique() == 23
    assert gdf.attrs["beatplan"]["id_col"] == "Name"
    assert (gdf["id"] == gdf["name"]).all()
    assert gdf.crs.equals(UTM16N)
    # LIBKML's empty housekeeping fields are not carried along
    assert not {"tessellate", "extrude", "visibility", "begin", "icon"} & set(gdf.columns)
    # nothing lost: same total area as the raw placemarks
    raw_area = raw.to_crs(UTM16N).area.sum()
    assert gdf.area.sum() == pytest.approx(raw_area, rel=1e-6)


def test_chicago_districts_geojson_to_utm(shared_data: Path) -> None:
    path = shared_data / "chicago" / "police_districts.geojson"
    with pytest.raises(ValidationError, match="'31' appears 3 times"):
        read_boundaries(path)
    gdf = read_boundaries(path, id_col="_SocrataID")
    assert_contract(gdf)
    assert len(gdf) == 25
    assert gdf.crs.equals(UTM16N)
    assert gdf.attrs["beatplan"]["name_col"] == "DIST_LABEL"
    assert "DIST_NUM" in gdf.columns
    # Chicago is 606 km² of land; in metres now
    assert 5.5e8 < gdf.area.sum() < 7e8
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 3.5e5 < minx < maxx < 5.5e5 and 4.6e6 < miny < maxy < 4.7e6


def test_chicago_district_kml_dissolve(shared_data: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = shared_data / "chicago" / "chicago_police_districts.kml"
    raw = pyogrio.read_dataframe(path)
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        gdf = read_boundaries(path, dissolve=True)
    assert_contract(gdf)
    raw_counts = raw["Name"].value_counts()
    assert len(gdf) == raw["Name"].nunique() < len(raw)
    assert set(gdf["id"]) == set(raw["Name"])
    # every id that had several placemarks is recorded with its number of parts, and only those
    assert gdf.attrs["beatplan"]["dissolved"] == {
        str(k): int(n) for k, n in raw_counts[raw_counts > 1].items()
    }
    assert gdf.attrs["beatplan"]["dissolved"]["31"] == 3
    d31 = gdf.loc[gdf["id"] == "31", "geometry"].iloc[0]
    assert d31.geom_type == "MultiPolygon"
    # nothing lost or doubled: the merged layer covers exactly what the raw placemarks cover
    raw_utm = raw.to_crs(gdf.crs)
    assert gdf.area.sum() == pytest.approx(shapely.union_all(raw_utm.geometry.values).area, abs=1)
    raw31 = shapely.union_all(raw_utm.loc[raw_utm["Name"] == "31"].geometry.values)
    assert d31.area == pytest.approx(raw31.area, abs=1)
    assert any("'31' (3 parts)" in r.getMessage() for r in caplog.records)
    assert any("'31'" in w for w in gdf.attrs["beatplan"]["warnings"])


def test_chicago_beats_dissolve(shared_data: Path) -> None:
    path = shared_data / "chicago" / "police_beats_current.shp"
    raw = pyogrio.read_dataframe(path)
    gdf = read_boundaries(path, dissolve=True)
    assert_contract(gdf)
    raw_ids = raw["beat_num"].astype(str).str.strip()
    assert len(gdf) == raw_ids.nunique() < len(raw)
    assert set(gdf["id"]) == set(raw_ids)
    counts = raw_ids.value_counts()
    assert gdf.attrs["beatplan"]["dissolved"] == {
        str(k): int(n) for k, n in counts[counts > 1].items()
    }
    assert gdf.attrs["beatplan"]["dissolved"]["3100"] == 3
    # the beats that were not merged keep their raw geometry's area
    raw_utm = raw.to_crs(gdf.crs)
    single = raw_utm[raw_ids.map(counts).to_numpy() == 1]
    got = gdf.set_index("id").loc[single["beat_num"].astype(str).str.strip()]
    assert got.area.to_numpy() == pytest.approx(single.area.to_numpy(), rel=1e-9)
    assert gdf.area.sum() == pytest.approx(shapely.union_all(raw_utm.geometry.values).area, abs=1)


def test_dissolve_reports_differing_attributes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bow = {
        "type": "Polygon",
        "coordinates": [[[-1, 52], [-0.99, 52.01], [-0.99, 52], [-1, 52.01], [-1, 52]]],
    }
    path = write_geojson(
        tmp_path / "parts.geojson",
        [
            ({"code": "a", "kind": "x", "same": 1}, square(-1.0, 52.0)),
            ({"code": "b", "kind": "z", "same": 1}, square(-0.9, 52.0)),
            ({"code": "a", "kind": "y", "same": 1}, square(-0.995, 52.0)),  # overlaps the first
            ({"code": "a", "kind": "x", "same": 1}, square(-0.5, 52.0)),  # apart: a MultiPolygon
            ({"code": "c", "kind": "w", "same": 2}, bow),
            ({"code": "c", "kind": "w", "same": 2}, square(-0.7, 52.0)),
        ],
    )
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        gdf = read_boundaries(path, dissolve=True, to_crs=BNG)
    assert_contract(gdf)
    assert list(gdf["id"]) == ["a", "b", "c"]  # first-occurrence order
    assert gdf.attrs["beatplan"]["dissolved"] == {"a": 3, "c": 2}
    assert list(gdf["kind"]) == ["x", "z", "w"]  # the first part's values
    # the bow-tie part was repaired before the merge
    assert gdf.attrs["beatplan"]["repaired"] == ["c"]
    raw = gpd.read_file(path)
    raw = raw.set_geometry(raw.make_valid()).to_crs(BNG)  # repaired where read, then projected
    for key in ("a", "c"):
        expected = shapely.union_all(raw.loc[raw["code"] == key].geometry.values).area
        assert gdf.loc[gdf["id"] == key].area.iloc[0] == pytest.approx(expected, rel=1e-9)
    assert gdf.loc[gdf["id"] == "a"].geom_type.iloc[0] == "MultiPolygon"
    message = next(w for w in gdf.attrs["beatplan"]["warnings"] if "dissolve=True" in w)
    assert "'kind' (in 'a')" in message
    assert "'same'" not in message
    assert any(r.getMessage() == message for r in caplog.records)


def test_dissolve_still_refuses_missing_ids(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [
            ({"code": "a"}, square(-1.0, 52.0)),
            ({"code": "a"}, square(-0.9, 52.0)),
            ({"code": None}, square(-0.8, 52.0)),
        ],
    )
    with pytest.raises(ValidationError) as info:
        read_boundaries(path, dissolve=True)
    msg = str(info.value)
    assert "no id" in msg and "'feature 3'" in msg
    assert "not unique" not in msg


def test_dissolve_without_duplicates_changes_nothing(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [({"code": c}, square(-1.0 + i * 0.01, 52.0)) for i, c in enumerate("abc")],
    )
    plain = read_boundaries(path)
    merged = read_boundaries(path, dissolve=True)
    assert merged.attrs["beatplan"]["dissolved"] == {} == plain.attrs["beatplan"]["dissolved"]
    assert merged.attrs["beatplan"]["warnings"] == []
    pd.testing.assert_frame_equal(pd.DataFrame(merged), pd.DataFrame(plain))


def test_northumbria_wards_gpkg_in_bng(shared_data: Path) -> None:
    path = shared_data / "northumbria" / "northumbria_wards.gpkg"
    gdf = read_boundaries(path)
    assert_contract(gdf)
    assert len(gdf) == 177
    assert gdf.attrs["beatplan"]["id_col"] == "ward_code"
    assert gdf.attrs["beatplan"]["name_col"] == "ward_name"
    assert gdf.attrs["beatplan"]["crs_source"] == "EPSG:27700"
    assert gdf.crs.equals(BNG)
    raw = pyogrio.read_dataframe(path)
    # already in the working CRS: coordinates untouched
    assert shapely.equals_exact(
        np.asarray(gdf.geometry.values), np.asarray(raw.geometry.values), tolerance=0
    ).all()


def test_community_areas_wrong_crs_reported(shared_data: Path) -> None:
    path = shared_data / "chicago" / "community_areas.geojson"
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    msg = str(info.value)
    assert "4236" in msg and "area of use" in msg and "crs=" in msg


def test_community_areas_read_with_crs_override(
    shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = shared_data / "chicago" / "community_areas.geojson"
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        gdf = read_boundaries(path, crs="EPSG:4326")
    assert_contract(gdf)
    assert len(gdf) == 77
    assert gdf.crs.equals(UTM16N)
    rep = gdf.attrs["beatplan"]
    assert "4236" in rep["crs_source"]
    assert any("4236" in w and "EPSG:4326" in w for w in rep["warnings"])
    assert any("4236" in r.getMessage() for r in caplog.records)


def test_lsoa_ring_self_intersections_are_repaired(shared_data: Path) -> None:
    gdf = read_boundaries(shared_data / "leicestershire_boundaries" / "lsoa11_by_lad")
    assert_contract(gdf)
    assert len(gdf) == 611
    # the four invalid LSOAs named in the data's PROVENANCE
    expected = {"E01013792", "E01013619", "E01013633", "E01025861"}
    assert set(gdf.attrs["beatplan"]["repaired"]) == expected


# ---------------------------------------------------------------------------------------------
# small files: one bad input each


def test_no_crs_says_how_to_give_one(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"ward_code": ["a", "b"]},
        geometry=[box(450000, 300000, 451000, 301000), box(451000, 300000, 452000, 301000)],
    )
    path = tmp_path / "wards.shp"
    with pytest.warns(UserWarning):
        pyogrio.write_dataframe(gdf, path)  # no .prj
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    assert len(info.value.problems) == 1
    msg = str(info.value)
    assert "no CRS" in msg and "crs='EPSG:27700'" in msg
    assert "(--crs EPSG:27700)" in msg  # and the command line's form (test_cli_hints: it exists)
    assert "British National Grid" in msg
    ok = read_boundaries(path, crs="EPSG:27700")
    assert_contract(ok)
    assert ok.attrs["beatplan"]["crs_source"] is None and ok.crs.equals(BNG)


def test_no_crs_lonlat_hint(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(-1.2, 52.6, -1.1, 52.7)])
    path = tmp_path / "wards.shp"
    with pytest.warns(UserWarning):
        pyogrio.write_dataframe(gdf, path)
    with pytest.raises(ValidationError, match=r"lon/lat degrees: pass crs='EPSG:4326'"):
        read_boundaries(path)


@pytest.mark.parametrize(
    ("geom", "declared", "match"),
    [
        (box(-1.2, 52.6, -1.1, 52.7), 27700, r"EPSG:27700 but its coordinates.*look like lon/lat"),
        (box(450000, 300000, 451000, 301000), 4326, r"EPSG:4326 but .*which are not degrees"),
    ],
    ids=["degrees-declared-bng", "metres-declared-lonlat"],
)
def test_declared_crs_that_cannot_fit_the_numbers(
    tmp_path: Path, geom: Polygon, declared: int, match: str
) -> None:
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"code": ["a"]}, geometry=[geom], crs=declared), path)
    with pytest.raises(ValidationError, match=match) as info:
        read_boundaries(path)
    assert len(info.value.problems) == 1 and "crs=" in str(info.value)


def test_swapped_lat_lon_is_reported_with_the_fix(tmp_path: Path) -> None:
    right = gpd.GeoDataFrame(
        {"code": ["a", "b"]},
        geometry=[box(-1.2, 52.6, -1.1, 52.7), box(-1.1, 52.6, -1.0, 52.7)],
        crs=4326,
    )
    swapped = right.copy()
    swapped.geometry = shapely.transform(right.geometry.values, lambda c: c[:, ::-1])
    path = tmp_path / "swapped.geojson"
    pyogrio.write_dataframe(swapped, path)
    with pytest.raises(ValidationError, match="wrong order") as info:
        read_boundaries(path)
    assert len(info.value.problems) == 1 and "swapped.geojson" in str(info.value)
    # the fix the message gives brings back the right polygons
    fixed = gpd.read_file(path)
    fixed.geometry = shapely.transform(fixed.geometry.values, lambda c: c[:, ::-1])
    fixed.to_file(tmp_path / "fixed.geojson")
    back = read_boundaries(tmp_path / "fixed.geojson")
    assert_contract(back)
    assert back.area.to_numpy() == pytest.approx(right.to_crs(27700).area.to_numpy(), rel=1e-9)


def test_duplicate_ids_listed(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [({"code": c}, square(-1.0 + i * 0.01, 52.0)) for i, c in enumerate("aabcc")],
    )
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    msg = str(info.value)
    assert "'a' appears 2 times" in msg and "'c' appears 2 times" in msg
    assert "'b'" not in msg
    assert "dissolve=True" in msg  # the default still refuses, and says how to merge instead


def test_null_geometry_listed(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [({"code": "a"}, square(-1.0, 52.0)), ({"code": "b"}, None)],
    )
    with pytest.raises(ValidationError, match=r"1 feature has no geometry \(null\): 'b'"):
        read_boundaries(path)


def test_empty_geometry_listed(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["a", "b", "c"]},
        geometry=[box(0, 0, 1000, 1000), Polygon(), box(1000, 0, 2000, 1000)],
        crs=27700,
    )
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(ValidationError, match=r"1 feature has an empty geometry: 'b'"):
        read_boundaries(path)


def test_point_layer_is_not_boundaries(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["p1", "p2"]}, geometry=[Point(-1.1, 52.6), Point(-1.2, 52.7)], crs=4326
    )
    path = tmp_path / "points.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    msg = str(info.value)
    assert "'p1' (Point)" in msg and "'p2' (Point)" in msg and "Polygon or MultiPolygon" in msg


def test_bowtie_is_repaired_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    bowtie = Polygon([(0, 0), (2000, 2000), (2000, 0), (0, 2000)])
    assert not bowtie.is_valid
    gdf = gpd.GeoDataFrame(
        {"code": ["ok", "bow"]}, geometry=[box(3000, 0, 4000, 1000), bowtie], crs=27700
    )
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        out = read_boundaries(path, to_crs=None)
    assert_contract(out)
    assert out.attrs["beatplan"]["repaired"] == ["bow"]
    assert any("'bow'" in w for w in out.attrs["beatplan"]["warnings"])
    assert any("'bow'" in r.getMessage() for r in caplog.records)
    fixed = out.set_index("id").geometry["bow"]
    assert fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    assert fixed.area == pytest.approx(2 * 1000 * 2000 / 2)  # two triangles
    assert out.set_index("id").geometry["ok"].equals(box(3000, 0, 4000, 1000))


def test_unrepairable_geometry_is_an_error(tmp_path: Path) -> None:
    flat = Polygon([(0, 0), (1000, 0), (2000, 0), (0, 0)])  # no area at all
    gdf = gpd.GeoDataFrame(
        {"code": ["ok", "flat"]}, geometry=[box(3000, 0, 4000, 1000), flat], crs=27700
    )
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(ValidationError, match=r"cannot be repaired.*'flat'"):
        read_boundaries(path)


def test_zero_byte_file_is_empty_input(tmp_path: Path) -> None:
    path = tmp_path / "nothing.geojson"
    path.write_bytes(b"")
    with pytest.raises(EmptyInputError, match="nothing.geojson"):
        read_boundaries(path)


def test_feature_collection_without_features_is_empty_input(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "none.geojson", [])
    with pytest.raises(EmptyInputError, match="holds no features"):
        read_boundaries(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="no_such_wards.gpkg"):
        read_boundaries(tmp_path / "no_such_wards.gpkg")


def test_not_a_vector_file(tmp_path: Path) -> None:
    path = tmp_path / "wards.geojson"
    path.write_text("this is not json")
    with pytest.raises(InputFormatError, match="wards.geojson"):
        read_boundaries(path)


def test_table_without_geometry(tmp_path: Path) -> None:
    path = tmp_path / "wards.csv"  # GDAL reads a CSV as a layer with no geometry
    path.write_text("code,name\nE05000001,Abbey\n")
    with pytest.raises(InputFormatError, match=r"wards.csv: has no geometry column"):
        read_boundaries(path)


def test_missing_id_column_lists_columns(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson", [({"ward_code": "a", "ward_name": "A"}, square(-1, 52))]
    )
    with pytest.raises(ColumnNotFoundError) as info:
        read_boundaries(path, id_col="WD22CD")
    msg = str(info.value)
    assert "b.geojson" in msg and "'WD22CD'" in msg
    assert "ward_code" in msg and "ward_name" in msg
    assert isinstance(info.value, KeyError)
    with pytest.raises(ColumnNotFoundError, match="name_col='nm'"):
        read_boundaries(path, name_col="nm")


def test_no_id_column_detected(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "b.geojson", [({"colour": "red", "n": 3}, square(-1, 52))])
    with pytest.raises(ColumnNotFoundError) as info:
        read_boundaries(path)
    msg = str(info.value)
    assert "colour" in msg and "n" in msg and "id_col=" in msg


def test_several_problems_reported_together(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"code": ["a", "a", "b", "c"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000), None, Point(5, 5)],
    )
    path = tmp_path / "bad.gpkg"
    with pytest.warns(UserWarning):
        pyogrio.write_dataframe(gdf, path, geometry_type="Unknown")
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    problems = info.value.problems
    assert len(problems) == 4
    joined = "\n".join(problems)
    assert "no CRS" in joined
    assert "'a' appears 2 times" in joined
    assert "no geometry (null): 'b'" in joined
    assert "'c' (Point)" in joined
    assert str(info.value).startswith(f"{path}: 4 problems found")


def test_missing_ids_reported(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [({"code": "a"}, square(-1, 52)), ({"code": " "}, square(-1.1, 52))],
    )
    with pytest.raises(ValidationError, match=r"1 feature has no id in column 'code': 'feature 2'"):
        read_boundaries(path)


# ---------------------------------------------------------------------------------------------
# options and formats


def test_multi_layer_gpkg_needs_layer(tmp_path: Path) -> None:
    path = tmp_path / "plan.gpkg"
    for name, n in (("beats", 3), ("sectors", 2)):
        gdf = gpd.GeoDataFrame(
            {"id": [f"{name}{i}" for i in range(n)]},
            geometry=[box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(n)],
            crs=27700,
        )
        pyogrio.write_dataframe(gdf, path, layer=name)
    with pytest.raises(OptionError, match=r"holds 2 layers.*'beats'.*'sectors'.*layer="):
        read_boundaries(path)
    with pytest.raises(OptionError, match="'beats', 'sectors'"):
        read_boundaries(path, layer="npas")
    assert len(read_boundaries(path, layer="sectors")) == 2
    assert len(read_boundaries(path, layer=0)) == 3
    with pytest.raises(OptionError, match="out of range"):
        read_boundaries(path, layer=2)


def test_files_in_different_crs_are_reprojected(tmp_path: Path) -> None:
    a = gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(450000, 300000, 451000, 301000)], crs=27700)
    b = gpd.GeoDataFrame(
        {"code": ["b"]}, geometry=[box(451000, 300000, 452000, 301000)], crs=27700
    ).to_crs(4326)
    pyogrio.write_dataframe(a, tmp_path / "a.gpkg")
    pyogrio.write_dataframe(b, tmp_path / "b.geojson")
    gdf = read_boundaries([tmp_path / "a.gpkg", tmp_path / "b.geojson"], to_crs=None)
    assert_contract(gdf)
    assert gdf.crs.equals(BNG)  # the first file's CRS, never a mix
    assert gdf.area.to_numpy() == pytest.approx([1e6, 1e6], rel=1e-6)
    assert gdf.geometry[1].centroid.distance(Point(451500, 300500)) < 0.01


def test_crs_override_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write_geojson(tmp_path / "b.geojson", [({"code": "a"}, square(-1, 52))])
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        gdf = read_boundaries(path, crs="EPSG:4258", to_crs=None)
    assert gdf.crs.equals(CRS.from_epsg(4258))
    assert any("EPSG:4258" in r.getMessage() for r in caplog.records)
    # the same CRS given again is no override, no warning
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        again = read_boundaries(path, crs=4326)
    assert again.attrs["beatplan"]["warnings"] == []
    assert not caplog.records


@pytest.mark.parametrize(
    ("to_crs", "epsg"), [("working", 27700), (None, 4326), ("EPSG:3857", 3857), (32630, 32630)]
)
def test_to_crs(tmp_path: Path, to_crs, epsg: int) -> None:
    path = write_geojson(tmp_path / "b.geojson", [({"code": "a"}, square(-1, 52))])
    assert read_boundaries(path, to_crs=to_crs).crs.to_epsg() == epsg


def test_geojson_lines_several_features(tmp_path: Path) -> None:
    path = tmp_path / "wards.geojsonl"
    lines = [
        json.dumps(
            {
                "type": "Feature",
                "properties": {"WD22CD": f"E0500000{i}"},
                "geometry": square(-1 + i * 0.01, 52),
            }
        )
        for i in range(3)
    ]
    path.write_text("\n".join(lines) + "\n")
    gdf = read_boundaries(path)
    assert list(gdf["id"]) == ["E05000000", "E05000001", "E05000002"]
    assert gdf.attrs["beatplan"]["id_col"] == "WD22CD"


def test_bad_crs_arguments(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "b.geojson", [({"code": "a"}, square(-1, 52))])
    with pytest.raises(CRSError, match="crs='not a crs'"):
        read_boundaries(path, crs="not a crs")
    with pytest.raises(CRSError, match="to_crs='EPSG:999999'"):
        read_boundaries(path, to_crs="EPSG:999999")


def test_missing_ids_in_one_of_several_files(tmp_path: Path) -> None:
    write_geojson(tmp_path / "a.geojson", [({"code": "a"}, square(-1, 52))])
    write_geojson(tmp_path / "b.geojson", [({"other": "b"}, square(-1.1, 52))])
    with pytest.raises(ValidationError, match=r"no id in column 'code': 'b.geojson feature 1'"):
        read_boundaries(tmp_path)
    with pytest.raises(ColumnNotFoundError, match=r"missing from 1 of 2 files.*b.geojson"):
        read_boundaries(tmp_path, id_col="code")


def test_float_ids_lose_their_point_zero(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [({"beat_num": 1.0}, square(-1, 52)), ({"beat_num": 22.0}, square(-1.1, 52))],
    )
    assert list(read_boundaries(path)["id"]) == ["1", "22"]


def test_case_insensitive_column_and_clashing_names(tmp_path: Path) -> None:
    path = write_geojson(
        tmp_path / "b.geojson",
        [({"Ward_Code": "a", "ID": 7, "NAME": "x", "pop": 10}, square(-1, 52))],
    )
    gdf = read_boundaries(path, id_col="ward_code", name_col="pop")
    assert gdf.attrs["beatplan"]["id_col"] == "Ward_Code"
    assert list(gdf.columns) == ["id", "name", "ID_orig", "NAME_orig", "geometry"]
    assert gdf.loc[0, "id"] == "a" and gdf.loc[0, "name"] == "10"
    assert any("'ID' to 'ID_orig'" in w for w in gdf.attrs["beatplan"]["warnings"])


def test_collections_and_z(tmp_path: Path) -> None:
    poly_gc = GeometryCollection([box(0, 0, 1000, 1000), box(2000, 0, 3000, 1000)])
    mixed_gc = GeometryCollection([box(0, 2000, 1000, 3000), Point(5, 5)])
    z = shapely.force_3d(box(4000, 0, 5000, 1000), 12.0)
    gdf = gpd.GeoDataFrame(
        {"code": ["gc", "mixed", "z"]}, geometry=[poly_gc, mixed_gc, z], crs=27700
    )
    path = tmp_path / "b.gpkg"
    pyogrio.write_dataframe(gdf, path, geometry_type="Unknown")
    with pytest.raises(ValidationError) as info:
        read_boundaries(path)
    assert len(info.value.problems) == 1
    assert "'mixed' (GeometryCollection)" in str(info.value)
    ok = gdf[gdf["code"] != "mixed"]
    path2 = tmp_path / "ok.gpkg"
    pyogrio.write_dataframe(ok, path2, geometry_type="Unknown")
    out = read_boundaries(path2, to_crs=None)
    assert_contract(out)
    assert isinstance(out.geometry[0], MultiPolygon) and out.geometry[0].area == 2e6
    assert not shapely.has_z(np.asarray(out.geometry.values)).any()


def test_does_not_touch_input_files(tmp_path: Path) -> None:
    path = write_geojson(tmp_path / "b.geojson", [({"code": "a"}, square(-1, 52))])
    before = path.read_bytes()
    read_boundaries(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.geojson"]


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (["WD13CD", "WD13CDO", "WD13NM", "WD13NMW"], ("WD13CD", "WD13NM")),
        (["wd19cd", "wd19nm"], ("wd19cd", "wd19nm")),
        (["FID", "LAD22CD", "WD22CD", "WD22NM", "WD22NMW"], ("WD22CD", "WD22NM")),
        (["ward_code", "ward_name"], ("ward_code", "ward_name")),
        (["LSOA11CD", "LSOA11NM", "LAD11CD"], ("LSOA11CD", "LSOA11NM")),
        (["LAD22CD", "LAD22NM"], ("LAD22CD", "LAD22NM")),
        (["beat", "beat_num", "district", "sector"], ("beat_num", None)),
        (["DIST_NUM", "DIST_LABEL", "_SocrataID"], ("DIST_NUM", "DIST_LABEL")),
        (["Name", "description"], ("Name", "Name")),
        (["id", "name", "beat", "sector", "npa"], ("id", "name")),
        (["WARD"], ("WARD", None)),
        (["colour"], (None, None)),
    ],
)
def test_detect_columns(columns: list[str], expected: tuple) -> None:
    assert detect_columns(columns) == expected
