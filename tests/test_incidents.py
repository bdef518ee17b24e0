"""Tests for beatplan.geo.incidents.read_incidents: real police.uk, Chicago, Northumbria and
Nottingham files, and small synthetic files with every kind of bad row."""

from __future__ import annotations

import csv
import gzip
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from _police_uk import HEADER as POLICE_HEADER
from _police_uk import police_row
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer
from shapely import box

from beatplan.geo.errors import (
    BeatplanError,
    ColumnNotFoundError,
    CRSError,
    EmptyInputError,
    GeometryError,
    InputFormatError,
    OptionError,
    ValidationError,
)
from beatplan.geo.incidents import REJECT_REASONS, SCHEMAS, Incidents, read_incidents

BNG = CRS.from_epsg(27700)
UTM16N = CRS.from_epsg(32616)
POINT_COLUMNS = [
    "id", "month", "timestamp", "category", "location", "lsoa", "source", "row", "geometry",
]  # fmt: skip
POINT_DTYPES = {
    "id": "string", "month": "datetime64[ns]", "timestamp": "datetime64[ns]",
    "category": "string", "location": "string", "lsoa": "string", "source": "string",
    "row": "int64",
}  # fmt: skip
TO_BNG = Transformer.from_crs(4326, 27700, always_xy=True)


def assert_contract(inc: Incidents) -> None:
    """What every successful read must meet, whatever the input."""
    pts, rej = inc.points, inc.rejected
    assert len(pts) + len(rej) == inc.rows_read
    assert list(pts.columns) == POINT_COLUMNS
    assert {c: str(pts[c].dtype) for c in POINT_DTYPES} == POINT_DTYPES
    assert isinstance(pts.index, pd.RangeIndex) and pts.index.start == 0
    assert pts.crs is not None and CRS.from_user_input(pts.crs).equals(inc.crs)
    assert set(pts.geom_type) <= {"Point"}
    assert np.isfinite(shapely.get_coordinates(np.asarray(pts.geometry.values))).all()
    assert (pts["row"] >= 1).all()
    assert list(rej.columns) == ["source", "row", "reason", "detail"]
    assert [str(rej[c].dtype) for c in rej.columns] == ["string", "int64", "string", "string"]
    assert set(rej["reason"]) <= set(REJECT_REASONS)
    assert rej["detail"].notna().all()
    # every (source, row) appears exactly once among points and rejected
    keys = pd.concat([pts[["source", "row"]], rej[["source", "row"]]], ignore_index=True)
    assert not keys.duplicated().any()
    assert inc.schema in SCHEMAS and inc.schema != "auto"


def write_police(path: Path, rows: list[str], *, header: str = POLICE_HEADER) -> Path:
    path.write_text(header + "\n" + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def good_rows(n: int, start: int = 1) -> list[str]:
    return [police_row(i) for i in range(start, start + n)]


def reasons_by_row(inc: Incidents) -> dict[int, str]:
    return dict(zip(inc.rejected["row"].tolist(), inc.rejected["reason"].tolist(), strict=True))


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def leics_dir(shared_data: Path) -> Path:
    return shared_data / "leicestershire_street_crime"


@pytest.fixture(scope="module")
def leics(leics_dir: Path) -> Incidents:
    return read_incidents(leics_dir)


@pytest.fixture(scope="module")
def leics_raw(leics_dir: Path) -> pd.DataFrame:
    """The same twelve files read independently with pandas, all as text."""
    frames = [
        pd.read_csv(f, dtype=str, keep_default_na=False).assign(
            _source=f.name, _row=lambda d: np.arange(1, len(d) + 1)
        )
        for f in sorted(leics_dir.glob("*.csv"))
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.mark.realdata
def test_leicestershire_year_counts(leics: Incidents, leics_raw: pd.DataFrame) -> None:
    assert_contract(leics)
    assert leics.schema == "police.uk"
    assert len(leics.sources) == 12
    # PROVENANCE.md: 113,663 rows, 3,123 of them without a location
    assert leics.rows_read == 113_663 == len(leics_raw)
    counts = leics.reason_counts
    assert counts["no location"] == 3_123
    # One Crime ID appears twice: the same public-order offence at the same supermarket is
    # published in both the 2021-11 and the 2021-12 file (its outcome changed between the
    # monthly extracts). The second copy is rejected; no other row is.
    located = leics_raw[leics_raw["Longitude"] != ""]
    ids = located["Crime ID"]
    expected_dups = int((ids[ids != ""].duplicated()).sum())
    assert expected_dups == 1
    assert counts == {"no location": 3_123, "duplicate id": expected_dups}
    dup = leics.rejected[leics.rejected["reason"] == "duplicate id"].iloc[0]
    assert dup["source"] == "2021-12-leicestershire-street.csv"
    assert "2021-11-leicestershire-street.csv" in dup["detail"]
    # the 10,035 anti-social-behaviour rows have blank ids and are never duplicates
    blank_located = int((located["Crime ID"] == "").sum())
    assert int(leics.points["id"].isna().sum()) == blank_located
    assert set(leics.points.loc[leics.points["id"].isna(), "category"]) == {"Anti-social behaviour"}


@pytest.mark.realdata
def test_leicestershire_year_values(leics: Incidents, leics_raw: pd.DataFrame) -> None:
    pts = leics.points
    assert leics.crs.equals(BNG)
    assert not any("swapped" in m for m in leics.messages)
    months = pts["month"].dt.strftime("%Y-%m")
    assert sorted(months.unique()) == [
        f"{y}-{m:02d}" for y, m in [(2021, 11), (2021, 12)] + [(2022, k) for k in range(1, 11)]
    ]
    assert pts["timestamp"].isna().all()  # police.uk gives the month only
    assert pts["category"].nunique() == 14
    # per category, points == located rows minus the one duplicate (a public-order offence)
    located = leics_raw[leics_raw["Longitude"] != ""]
    expected = located["Crime type"].value_counts()
    expected["Public order"] -= 1
    got = pts["category"].value_counts()
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    # rows trace back to the raw files: same location text and same projected point
    merged = pts.merge(
        leics_raw, left_on=["source", "row"], right_on=["_source", "_row"], how="left"
    )
    assert (merged["location"] == merged["Location"]).all()
    assert (merged["lsoa"] == merged["LSOA code"]).all()
    ex, ey = TO_BNG.transform(
        merged["Longitude"].astype(float).to_numpy(), merged["Latitude"].astype(float).to_numpy()
    )
    assert np.allclose(pts.geometry.x, ex, atol=1e-6) and np.allclose(pts.geometry.y, ey, atol=1e-6)
    # the rejected rows are exactly the raw rows without coordinates (plus the duplicate)
    noloc = leics.rejected[leics.rejected["reason"] == "no location"]
    raw_noloc = leics_raw[leics_raw["Longitude"] == ""]
    assert sorted(zip(noloc["source"], noloc["row"], strict=True)) == sorted(
        zip(raw_noloc["_source"], raw_noloc["_row"], strict=True)
    )
    text = leics.summary()
    assert "113,663 rows read" in text and "no location 3,123" in text
    assert "EPSG:27700" in text and "2021-11 .. 2022-10" in text


@pytest.mark.realdata
def test_leicestershire_glob_and_list_match_folder(leics: Incidents, leics_dir: Path) -> None:
    files = sorted(leics_dir.glob("*.csv"))
    by_glob = read_incidents(str(leics_dir / "*-leicestershire-street.csv"))
    by_list = read_incidents(files)
    for other in (by_glob, by_list):
        assert other.rows_read == leics.rows_read
        assert other.sources == leics.sources
        pd.testing.assert_frame_equal(other.rejected, leics.rejected)
        for col in ("id", "month", "category", "source", "row"):
            assert other.points[col].equals(leics.points[col]), col
        assert np.array_equal(
            shapely.get_coordinates(np.asarray(other.points.geometry.values)),
            shapely.get_coordinates(np.asarray(leics.points.geometry.values)),
        )


@pytest.mark.realdata
def test_chicago_2018_lonlat_and_state_plane_agree(shared_data: Path) -> None:
    path = shared_data / "chicago" / "crimes_2018-01_sample.csv"
    by_lonlat = read_incidents(path)
    by_xy = read_incidents(path, schema="xy", crs="EPSG:3435")
    for inc in (by_lonlat, by_xy):
        assert_contract(inc)
        assert inc.rows_read == 17_197
        assert inc.reason_counts == {"no location": 160}  # PROVENANCE: 160 without coordinates
        assert inc.crs.equals(UTM16N)  # outside Great Britain: the local UTM zone
    assert by_lonlat.schema == "lonlat" and by_xy.schema == "xy"
    assert (by_lonlat.points["row"].to_numpy() == by_xy.points["row"].to_numpy()).all()
    gap = by_lonlat.points.distance(by_xy.points)
    assert gap.max() < 3.0  # State Plane feet and WGS84 lon/lat give the same place
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    pts = by_lonlat.points
    picked = raw.iloc[pts["row"].to_numpy() - 1]
    assert (pts["id"].to_numpy() == picked["ID"].to_numpy()).all()
    assert (pts["category"].to_numpy() == picked["Primary Type"].to_numpy()).all()
    assert (pts["location"].to_numpy() == picked["Block"].to_numpy()).all()
    stamps = pd.to_datetime(picked["Date"], format="%m/%d/%Y %I:%M:%S %p")
    assert (pts["timestamp"].to_numpy() == stamps.to_numpy()).all()
    assert (pts["month"] == pd.Timestamp("2018-01-01")).all()


@pytest.mark.realdata
def test_chicago_parquet_with_text_coordinates(shared_data: Path) -> None:
    inc = read_incidents(shared_data / "chicago" / "crimes_2023-11-06_to_2023-11-19.parquet")
    assert_contract(inc)
    assert inc.rows_read == 9_939
    assert inc.reason_counts == {"no location": 3}  # PROVENANCE: 3 without coordinates
    ts = inc.points["timestamp"]
    assert ts.notna().all()
    assert ts.min() >= pd.Timestamp("2023-11-06") and ts.max() < pd.Timestamp("2023-11-20")
    assert inc.points["category"].notna().all() and inc.points["id"].is_unique


@pytest.mark.realdata
def test_chicago_aggravated_assaults_gz(shared_data: Path) -> None:
    inc = read_incidents(shared_data / "chicago" / "chicago_aggravated_assaults.csv.gz")
    assert_contract(inc)
    assert inc.rows_read == len(inc.points) == 148_636
    ts = inc.points["timestamp"]
    assert ts.min() >= pd.Timestamp("2010-01-01") and ts.max() < pd.Timestamp("2020-01-01")
    assert inc.points["category"].isna().all()  # the file has no crime-type column
    assert any("crime type" in m for m in inc.messages)


@pytest.mark.realdata
def test_northumbria_tab(shared_data: Path) -> None:
    inc = read_incidents(shared_data / "northumbria" / "northumbria_asb.tab")
    assert_contract(inc)
    assert inc.rows_read == len(inc.points) == 39_706
    assert inc.crs.equals(BNG)
    months = inc.points["month"].dt.strftime("%Y-%m").unique()
    assert sorted(months) == [f"2022-{m:02d}" for m in range(1, 12)]  # no December rows
    assert inc.points["timestamp"].isna().all()  # a "month" column: month only
    assert inc.points["lsoa"].str.startswith("E01").all()


@pytest.mark.realdata
def test_nottingham_two_gz_files_and_area(shared_data: Path) -> None:
    folder = shared_data / "nottingham"
    files = [folder / "nottingham_burglary.csv.gz", folder / "nottingham_robbery.csv.gz"]
    inc = read_incidents(files)
    assert_contract(inc)
    assert inc.rows_read == len(inc.points) == 1_795 + 555
    assert list(inc.points["source"].unique()) == [f.name for f in files]
    # keep only one ward: the count must match an independent point-in-polygon test
    wards = gpd.read_file(folder / "nottingham_wards.gpkg")
    ward = wards.iloc[[0]]
    inside = read_incidents(files, area=ward)
    assert_contract(inside)
    poly = ward.to_crs(27700).geometry.iloc[0]
    raw = pd.concat([pd.read_csv(f) for f in files])
    ex, ey = TO_BNG.transform(raw["longitude"].to_numpy(), raw["latitude"].to_numpy())
    expected_in = int(shapely.intersects_xy(poly, ex, ey).sum())
    assert 0 < expected_in < inc.rows_read
    assert len(inside.points) == expected_in
    assert inside.reason_counts == {"outside area": inc.rows_read - expected_in}


# --------------------------------------------------------------------------- point layers


def test_vector_point_layers(tmp_path: Path) -> None:
    lon = np.array([-1.15, -1.14, -1.13, np.nan])
    lat = np.array([52.95, 52.96, 52.97, np.nan])
    geoms = list(gpd.points_from_xy(lon, lat))
    geoms[3] = None
    gdf = gpd.GeoDataFrame(
        {
            "crime_id": ["a", "b", "a", "c"],
            "month": ["2022-01", "2022-02", "2022-02", "2022-03"],
            "category": ["Burglary", "Robbery", "Burglary", "Burglary"],
        },
        geometry=geoms,
        crs=4326,
    )
    for name in ("points.gpkg", "points.geojson"):
        path = tmp_path / name
        gdf.to_file(path)
        inc = read_incidents(path)
        assert_contract(inc)
        assert inc.schema == "vector" and inc.crs.equals(BNG)
        assert inc.points["row"].tolist() == [1, 2]
        assert reasons_by_row(inc) == {3: "duplicate id", 4: "no location"}
        ex, ey = TO_BNG.transform(lon[:2], lat[:2])
        assert np.allclose(inc.points.geometry.x, ex) and np.allclose(inc.points.geometry.y, ey)
        assert inc.points["category"].tolist() == ["Burglary", "Robbery"]


def test_vector_polygon_layer_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "areas.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs=27700).to_file(path)
    with pytest.raises(GeometryError, match="must hold points.*Polygon"):
        read_incidents(path)


def test_vector_mixed_geometries_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mixed.geojson"
    gpd.GeoDataFrame(
        {"a": [1, 2]}, geometry=[shapely.Point(-1.1, 52.6), box(-1.1, 52.6, -1.0, 52.7)], crs=4326
    ).to_file(path)
    with pytest.raises(GeometryError, match="Polygon"):
        read_incidents(path, schema="vector")


def test_vector_layer_without_crs(tmp_path: Path) -> None:
    gdf = gpd.GeoDataFrame(
        {"category": ["Burglary", "Drugs"]},
        geometry=[shapely.Point(458000, 304000), shapely.Point(459000, 305000)],
    )
    path = tmp_path / "nocrs.gpkg"
    with pytest.warns(UserWarning):  # pyogrio warns that the layer has no CRS
        gdf.to_file(path)
    with pytest.raises(CRSError, match=r"nocrs.gpkg.*has no CRS; pass crs="):
        read_incidents(path)
    inc = read_incidents(path, crs="EPSG:27700")
    assert_contract(inc)
    assert inc.points.geometry.x.tolist() == [458000, 459000]


def test_vector_layer_refuses_table_options(tmp_path: Path) -> None:
    path = tmp_path / "points.gpkg"
    gpd.GeoDataFrame(geometry=[shapely.Point(-1.1, 52.6)], crs=4326).to_file(path)
    with pytest.raises(OptionError, match="leave them out"):
        read_incidents(path, x="lon", y="lat")
    with pytest.raises(InputFormatError, match="is a vector layer.*schema='xy'"):
        read_incidents(path, schema="xy", crs=27700)


def test_vector_file_without_a_point_layer(tmp_path: Path) -> None:
    path = tmp_path / "areas.gpkg"
    for name in ("a", "b"):
        gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)], crs=27700).to_file(path, layer=name)
    with pytest.raises(InputFormatError, match=r"holds no point layer \(layers: a .*, b "):
        read_incidents(path)


# --------------------------------------------------------------------------- empty and unreadable


def test_header_only_file_gives_an_empty_result(tmp_path: Path) -> None:
    inc = read_incidents(write_police(tmp_path / "empty.csv", []))
    assert_contract(inc)
    assert inc.rows_read == 0 and len(inc.points) == 0 and len(inc.rejected) == 0
    assert inc.schema == "police.uk"
    assert any("no data rows" in m for m in inc.messages)
    assert "0 rows read" in inc.summary()


def test_zero_byte_file_is_an_input_format_error(tmp_path: Path) -> None:
    path = tmp_path / "nothing.csv"
    path.write_bytes(b"")
    with pytest.raises(InputFormatError, match="nothing.csv.*header"):
        read_incidents(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.csv.gz", b"not gzip at all"),
        ("bad.parquet", b"PAR1 but not parquet"),
        ("binary.csv", bytes(range(256)) * 8),
    ],
)
def test_unreadable_files(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputFormatError, match=name.replace(".", r"\.")):
        read_incidents(path)


def test_unterminated_quote_is_a_malformed_row(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('lon,lat\n-1.1,52.6\n"-1.2,52.7\n')
    inc = read_incidents(path)
    assert_contract(inc)
    assert inc.rows_read == 2 and reasons_by_row(inc) == {2: "malformed row"}


def test_missing_coordinate_columns(tmp_path: Path) -> None:
    path = tmp_path / "nocoords.csv"
    path.write_text("ref,when,what\n1,2022-01,Burglary\n")
    with pytest.raises(ColumnNotFoundError) as err:
        read_incidents(path)
    text = str(err.value)
    assert "nocoords.csv" in text and "'ref', 'when', 'what'" in text and "x=" in text
    assert isinstance(err.value, KeyError) and isinstance(err.value, BeatplanError)


def test_named_column_missing(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(3))
    with pytest.raises(ColumnNotFoundError, match=r"'Occurred'.*date=.*'Crime ID'"):
        read_incidents(path, date="Occurred")
    with pytest.raises(ColumnNotFoundError, match="given as x="):
        read_incidents(path, x="East", y="Latitude")


def test_police_schema_on_a_plain_table(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("lon,lat\n-1.1,52.6\n")
    with pytest.raises(ColumnNotFoundError, match="not a police.uk street-level file"):
        read_incidents(path, schema="police.uk")


def test_unknown_schema_option(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(2))
    with pytest.raises(OptionError, match=r"schema='policeuk'.*'police.uk'.*'vector'"):
        read_incidents(path, schema="policeuk")


def test_only_one_of_x_and_y(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(2))
    with pytest.raises(OptionError, match="give both or neither"):
        read_incidents(path, x="Longitude")


def test_projected_xy_without_crs(tmp_path: Path) -> None:
    path = tmp_path / "bng.csv"
    path.write_text("easting,northing\n458000,304000\n459000,305000\n")
    with pytest.raises(CRSError, match="needs the CRS"):
        read_incidents(path, schema="xy")
    with pytest.raises(CRSError, match="no CRS; pass crs="):
        read_incidents(path)
    inc = read_incidents(path, crs="EPSG:27700")
    assert_contract(inc)
    assert inc.schema == "xy"
    assert inc.points.geometry.x.tolist() == [458000, 459000]


def test_projected_out_of_range_and_zero(tmp_path: Path) -> None:
    path = tmp_path / "bng.csv"
    rows = [f"{458000 + 10 * i},{304000 + 10 * i}" for i in range(8)]
    rows[2] = "45800000,304000"  # a digit too many: far outside Great Britain's grid
    rows[5] = "0,0"
    path.write_text("easting,northing\n" + "\n".join(rows) + "\n")
    inc = read_incidents(path, crs=27700)
    assert_contract(inc)
    assert reasons_by_row(inc) == {3: "out of range", 6: "zero coordinates"}
    assert "area of use of EPSG:27700" in inc.rejected["detail"].iloc[0]


def test_projected_values_in_the_wrong_projected_crs(tmp_path: Path) -> None:
    path = tmp_path / "chicago_feet.csv"  # Illinois State Plane feet, declared as BNG metres
    path.write_text("x,y\n1176000,1900000\n1177000,1901000\n1178000,1902000\n")
    with pytest.raises(CRSError, match=r"read in EPSG:27700.*outside its area of use.*crs="):
        read_incidents(path, schema="xy", crs=27700)
    assert len(read_incidents(path, schema="xy", crs=3435).points) == 3


def test_schema_and_crs_that_contradict(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("x,y\n458000,304000\n")
    with pytest.raises(CRSError, match="schema='xy' is for projected.*use schema='lonlat'"):
        read_incidents(path, schema="xy", crs=4326)
    with pytest.raises(CRSError, match="reads longitude/latitude but crs=EPSG:27700"):
        read_incidents(path, schema="lonlat", crs=27700)


def test_folder_or_pattern_with_no_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not incidents")
    with pytest.raises(EmptyInputError, match="folder holds no file ending in.*\\.csv"):
        read_incidents(tmp_path)
    with pytest.raises(EmptyInputError, match="pattern matches no file"):
        read_incidents(str(tmp_path / "*.csv"))
    with pytest.raises(InputFormatError, match="no such file or folder.*nowhere.csv"):
        read_incidents(tmp_path / "nowhere.csv")


def test_projected_values_read_as_lonlat(tmp_path: Path) -> None:
    path = tmp_path / "looks.csv"
    path.write_text("x,y\n458000,304000\n459000,305000\n")
    with pytest.raises(CRSError, match="not degrees.*schema='xy'"):
        read_incidents(path, x="x", y="y")


def test_to_crs_choices(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(3))
    kept = read_incidents(path, to_crs=None)
    assert kept.crs.equals(CRS.from_epsg(4326))
    assert kept.points.geometry.x.iloc[0] == pytest.approx(-1.129)
    web = read_incidents(path, to_crs="EPSG:3857")
    assert web.crs.equals(CRS.from_epsg(3857))
    with pytest.raises(CRSError, match="must be projected"):
        read_incidents(path, to_crs=4326)


# --------------------------------------------------------------------------- bad rows


def test_non_numeric_coordinates(tmp_path: Path) -> None:
    rows = good_rows(4)
    rows[1] = police_row(2, lon="abc")
    rows[2] = police_row(3, lat='"52,63"')
    inc = read_incidents(write_police(tmp_path / "a.csv", rows))
    assert_contract(inc)
    assert reasons_by_row(inc) == {2: "not a number", 3: "not a number"}
    details = inc.rejected["detail"].tolist()
    assert "Longitude='abc'" in details[0] and "Latitude='52,63'" in details[1]


def test_blank_coordinates(tmp_path: Path) -> None:
    rows = good_rows(4)
    rows[0] = police_row(1, lon="", lat="")
    rows[3] = police_row(4, lat="  ")
    inc = read_incidents(write_police(tmp_path / "a.csv", rows))
    assert reasons_by_row(inc) == {1: "no location", 4: "no location"}
    assert inc.rejected["detail"].tolist() == [
        "Longitude and Latitude are blank",
        "Latitude is blank",
    ]


def test_out_of_range_coordinates(tmp_path: Path) -> None:
    rows = good_rows(6)
    rows[1] = police_row(2, lat="95.0")
    rows[4] = police_row(5, lon="-190.5")
    rows[5] = police_row(6, lon="inf")
    inc = read_incidents(write_police(tmp_path / "a.csv", rows))
    assert_contract(inc)
    assert reasons_by_row(inc) == {2: "out of range", 5: "out of range", 6: "out of range"}
    assert "Latitude=95" in inc.rejected["detail"].iloc[0]


def test_zero_coordinates(tmp_path: Path) -> None:
    rows = good_rows(4)
    rows[2] = police_row(3, lon="0", lat="0.000")
    rows[3] = police_row(4, lon="0.0", lat="51.48")  # Greenwich meridian: a real place
    inc = read_incidents(write_police(tmp_path / "a.csv", rows))
    assert reasons_by_row(inc) == {3: "zero coordinates"}
    assert 4 in inc.points["row"].tolist()


def test_swapped_lonlat_in_great_britain(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    straight = read_incidents(write_police(tmp_path / "straight.csv", good_rows(20)))
    swapped_rows = [
        police_row(i, lon=f"{52.63 + 0.001 * (i % 37):.6f}", lat=f"{-1.13 + 0.001 * (i % 50):.6f}")
        for i in range(1, 21)
    ]
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        swapped = read_incidents(write_police(tmp_path / "swapped.csv", swapped_rows))
    assert_contract(swapped)
    assert len(swapped.rejected) == 0
    assert any("swapped" in m and "swapped.csv" in m for m in swapped.messages)
    assert any("swapped" in r.getMessage() for r in caplog.records)
    assert swapped.points.geometry.geom_equals_exact(straight.points.geometry, 1e-6).all()
    assert not any("swapped" in m for m in straight.messages)


def test_swapped_lonlat_beyond_90(tmp_path: Path) -> None:
    path = tmp_path / "los_angeles.csv"  # the latitude column holds -118: beyond +-90
    path.write_text("latitude,longitude\n-118.24,34.05\n-118.30,34.10\n-118.25,34.00\n")
    inc = read_incidents(path)
    assert any("swapped" in m and "beyond" in m for m in inc.messages)
    utm11 = CRS.from_epsg(32611)
    assert len(inc.points) == 3 and inc.crs.equals(utm11)
    back = Transformer.from_crs(utm11, 4326, always_xy=True)
    lon, lat = back.transform(inc.points.geometry.x.to_numpy(), inc.points.geometry.y.to_numpy())
    assert np.allclose(lon, [-118.24, -118.30, -118.25]) and np.allclose(lat, [34.05, 34.10, 34.0])


def test_duplicate_ids_within_and_across_files(tmp_path: Path) -> None:
    first = good_rows(3)
    first.append(police_row(4, crime_id="id00002"))  # repeats row 2
    first.append(police_row(5, crime_id=""))  # blank ids are never duplicates
    first.append(police_row(6, crime_id=""))
    second = [police_row(7, crime_id="id00001"), police_row(8, crime_id="id00002")]
    a = write_police(tmp_path / "2022-01.csv", first)
    b = write_police(tmp_path / "2022-02.csv", second)
    inc = read_incidents([a, b])
    assert_contract(inc)
    rej = inc.rejected
    assert rej["reason"].unique().tolist() == ["duplicate id"]
    assert list(zip(rej["source"], rej["row"], strict=True)) == [
        ("2022-01.csv", 4),
        ("2022-02.csv", 1),
        ("2022-02.csv", 2),
    ]
    assert "2022-01.csv row 2" in rej["detail"].iloc[0]
    assert int(inc.points["id"].isna().sum()) == 2


def test_duplicate_of_a_rejected_row_is_kept(tmp_path: Path) -> None:
    rows = [police_row(1, lon=""), police_row(2, crime_id="id00001")]
    inc = read_incidents(write_police(tmp_path / "a.csv", rows))
    assert reasons_by_row(inc) == {1: "no location"}
    assert inc.points["id"].tolist() == ["id00001"]


def test_malformed_rows_are_counted_and_numbered(tmp_path: Path) -> None:
    rows = good_rows(6)
    rows[1] = rows[1] + ",extra field"
    rows[3] = ",".join(rows[3].split(",")[:9])
    path = write_police(tmp_path / "a.csv", rows)
    inc = read_incidents(path)
    assert_contract(inc)
    assert inc.rows_read == 6
    assert reasons_by_row(inc) == {2: "malformed row", 4: "malformed row"}
    assert "expected 12 fields, found 13" in inc.rejected["detail"].iloc[0]
    assert "expected 12 fields, found 9" in inc.rejected["detail"].iloc[1]
    # the kept rows keep their own numbers: row n says "Street n"
    pts = inc.points
    assert pts["row"].tolist() == [1, 3, 5, 6]
    assert pts["location"].tolist() == [f"On or near Street {n}" for n in (1, 3, 5, 6)]
    assert any("malformed" in m for m in inc.messages)


def test_quoted_newlines_and_blank_lines_keep_row_numbers(tmp_path: Path) -> None:
    rows = good_rows(4)
    rows[1] = rows[1].replace("On or near Street 2", '"On or near\nStreet 2"')
    path = tmp_path / "a.csv"
    path.write_text(POLICE_HEADER + "\n" + "\n".join(rows[:3]) + "\n\n" + rows[3] + ",x\n")
    inc = read_incidents(path)
    assert_contract(inc)
    assert inc.points["row"].tolist() == [1, 2, 3]
    assert inc.points["location"].iloc[1] == "On or near\nStreet 2"
    assert reasons_by_row(inc) == {4: "malformed row"}


def test_bad_and_blank_dates(tmp_path: Path) -> None:
    rows = good_rows(6)
    rows[1] = police_row(2, month="2022-13")
    rows[4] = police_row(5, month="")
    inc = read_incidents(write_police(tmp_path / "a.csv", rows))
    assert_contract(inc)
    assert reasons_by_row(inc) == {2: "bad date"}
    assert "Month='2022-13'" in inc.rejected["detail"].iloc[0]
    kept = inc.points.set_index("row")
    assert pd.isna(kept.loc[5, "month"]) and kept.loc[1, "month"] == pd.Timestamp("2022-03-01")
    assert any("blank" in m and "NaT" in m for m in inc.messages)
    assert "1 point without a date" in inc.summary() and "bad date 1" in inc.summary()


def test_date_column_without_dates(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("lon,lat,date\n-1.1,52.6,soon\n-1.2,52.7,later\n")
    with pytest.raises(InputFormatError, match=r"'date' does not hold dates.*'soon'"):
        read_incidents(path)


def test_day_first_and_us_dates(tmp_path: Path) -> None:
    uk = tmp_path / "uk.csv"
    uk.write_text("lon,lat,date\n-1.1,52.6,03/02/2022 14:05\n-1.2,52.7,25/12/2022 09:00\n")
    got = read_incidents(uk).points["timestamp"].tolist()
    assert got == [pd.Timestamp("2022-02-03 14:05"), pd.Timestamp("2022-12-25 09:00")]
    us = tmp_path / "us.csv"
    us.write_text(
        "lon,lat,date\n-87.6,41.8,01/27/2018 11:59:00 PM\n-87.7,41.9,01/02/2018 12:00:00 AM\n"
    )
    got = read_incidents(us).points["timestamp"].tolist()
    assert got == [pd.Timestamp("2018-01-27 23:59"), pd.Timestamp("2018-01-02 00:00")]


def test_points_outside_area(tmp_path: Path) -> None:
    rows = [police_row(i) for i in range(1, 41)]
    path = write_police(tmp_path / "a.csv", rows)
    lon = np.array([-1.13 + 0.001 * (i % 50) for i in range(1, 41)])
    lat = np.array([52.63 + 0.001 * (i % 37) for i in range(1, 41)])
    # a box in lon/lat whose edges sit between the grid values, so no point is on an edge
    area = gpd.GeoDataFrame(geometry=[box(-1.1295, 52.6305, -1.1105, 52.6505)], crs=4326)
    inside = (lon > -1.1295) & (lon < -1.1105) & (lat > 52.6305) & (lat < 52.6505)
    assert 0 < inside.sum() < len(rows)
    for shape in (area, area.to_crs(27700).geometry, area.to_crs(27700).geometry.iloc[0]):
        inc = read_incidents(path, area=shape)
        assert_contract(inc)
        assert inc.points["row"].tolist() == list(np.flatnonzero(inside) + 1)
        assert set(inc.rejected["reason"]) == {"outside area"}
        assert len(inc.rejected) == int((~inside).sum())


def test_area_in_wrong_crs_or_type(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(3))
    with pytest.raises(CRSError, match="bare shapely geometry"):
        read_incidents(path, area=box(-1.2, 52.6, -1.0, 52.7))  # degrees, but points are BNG
    with pytest.raises(CRSError, match="no CRS"):
        read_incidents(path, area=gpd.GeoSeries([box(-1.2, 52.6, -1.0, 52.7)]))
    with pytest.raises(GeometryError, match="must be a GeoDataFrame"):
        read_incidents(path, area="Leicester")


def test_area_without_any_polygon(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(3))
    line = gpd.GeoSeries([shapely.LineString([(-1.2, 52.6), (-1.0, 52.7)])], crs=4326)
    for area in (line, gpd.GeoSeries([shapely.Point(-1.1, 52.6)], crs=4326)):
        with pytest.raises(GeometryError, match="no polygon with an area"):
            read_incidents(path, area=area)


def test_keeping_the_source_crs_of_sources_that_differ(tmp_path: Path) -> None:
    pts = gpd.GeoDataFrame(
        {"category": ["Burglary", "Drugs"]},
        geometry=[shapely.Point(458000, 304000), shapely.Point(459000, 305000)],
        crs=27700,
    )
    pts.to_file(tmp_path / "bng.gpkg")
    pts.to_crs(4326).to_file(tmp_path / "lonlat.geojson")
    files = [tmp_path / "bng.gpkg", tmp_path / "lonlat.geojson"]
    with pytest.raises(CRSError, match=r"to_crs=None.*differ.*EPSG:27700.*EPSG:4326"):
        read_incidents(files, to_crs=None)
    both = read_incidents(files)  # the default: one working CRS for all
    assert_contract(both)
    assert both.crs.equals(BNG)
    xy = shapely.get_coordinates(np.asarray(both.points.geometry.values))
    assert np.allclose(xy, np.tile([[458000, 304000], [459000, 305000]], (2, 1)), atol=1e-6)


def test_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("lon,lat,location\n-1.1,52.6,Caf\xe9 Street\n".encode("latin-1"))
    inc = read_incidents(path)
    assert inc.points["location"].tolist() == ["Caf\u00e9 Street"]
    assert any("Latin-1" in m for m in inc.messages)


def test_tab_gz_and_semicolon_tables(tmp_path: Path) -> None:
    tab = tmp_path / "a.tab.gz"
    with gzip.open(tab, "wt") as fh:
        fh.write("month\tlongitude\tlatitude\tcategory\n2022-01-01\t-1.6\t54.97\tASB\n")
    semi = tmp_path / "b.csv"
    semi.write_text("Lat;Lng;Type\n54.98;-1.61;Robbery\n")
    inc = read_incidents([tab, semi])
    assert_contract(inc)
    assert inc.points["category"].tolist() == ["ASB", "Robbery"]
    assert inc.points["month"].tolist() == [pd.Timestamp("2022-01-01"), pd.NaT]


def test_mixed_schemas_are_refused(tmp_path: Path) -> None:
    a = write_police(tmp_path / "a.csv", good_rows(2))
    b = tmp_path / "b.csv"
    b.write_text("month,longitude,latitude\n2022-01-01,-1.1,52.6\n")
    with pytest.raises(InputFormatError, match="a.csv: police.uk; b.csv: lonlat"):
        read_incidents([a, b])


def test_incidents_checks_its_own_counts() -> None:
    empty = gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs=27700)
    rej = pd.DataFrame({"source": [], "row": [], "reason": [], "detail": []})
    with pytest.raises(ValidationError, match="rows read"):
        Incidents(empty, rej, rows_read=1, crs=BNG, sources=[], schema="xy")


def test_does_not_modify_the_area(tmp_path: Path) -> None:
    path = write_police(tmp_path / "a.csv", good_rows(3))
    area = gpd.GeoDataFrame(geometry=[box(-1.2, 52.6, -1.0, 52.7)], crs=4326)
    before = area.copy()
    read_incidents(path, area=area)
    pd.testing.assert_frame_equal(area, before)


# --------------------------------------------------------------------------- invariant

KINDS = ("good", "blank", "text", "range", "zero", "date", "malformed", "dup")
EXPECTED = {
    "blank": "no location",
    "text": "not a number",
    "range": "out of range",
    "zero": "zero coordinates",
    "date": "bad date",
    "malformed": "malformed row",
    "dup": "duplicate id",
}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n_good=st.integers(min_value=1, max_value=25),
    bad=st.lists(st.sampled_from(KINDS[1:]), max_size=12),
    seed=st.integers(min_value=0, max_value=2**31 - 1),
)
def test_every_row_is_kept_or_rejected_for_its_reason(
    tmp_path: Path, n_good: int, bad: list[str], seed: int
) -> None:
    kinds = ["good"] * (n_good + len(bad)) + bad  # good rows always the majority
    order = np.random.default_rng(seed).permutation(len(kinds))
    kinds = [kinds[i] for i in order]
    rows, seen = [], []
    for n, kind in enumerate(kinds, start=1):
        if kind == "dup" and seen:
            rows.append(police_row(n, crime_id=seen[0]))
            continue
        if kind == "dup":
            kinds[n - 1] = kind = "good"
        row = {
            "good": police_row(n),
            "blank": police_row(n, lon=""),
            "text": police_row(n, lat="n/a"),
            "range": police_row(n, lat="-91"),
            "zero": police_row(n, lon="0", lat="0"),
            "date": police_row(n, month="March"),
            "malformed": police_row(n) + ",,",
        }[kind]
        if kind == "good":
            seen.append(f"id{n:05d}")
        rows.append(row)
    path = write_police(tmp_path / f"h{seed}.csv", rows)
    inc = read_incidents(path)
    assert_contract(inc)
    assert inc.rows_read == len(kinds)
    want = {n: EXPECTED[k] for n, k in enumerate(kinds, start=1) if k != "good"}
    assert reasons_by_row(inc) == want
    assert inc.points["row"].tolist() == [n for n, k in enumerate(kinds, start=1) if k == "good"]


def test_reading_a_written_police_csv_round_trips_values(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(POLICE_HEADER.split(","))
        w.writerow(["x1", "2022-05", "P", "P", "-1.1", "52.6", 'On or near "The, Street"',
                    "E01000001", "L", "Drugs", "", ""])  # fmt: skip
    inc = read_incidents(path)
    pt = inc.points.iloc[0]
    assert (pt["id"], pt["category"], pt["location"]) == ("x1", "Drugs", 'On or near "The, Street"')


@pytest.mark.parametrize("source", [None, 5, [1, 2], {"a": 1}])
def test_a_source_that_is_not_a_path_is_a_clear_error(source) -> None:
    from beatplan.geo.errors import InputFormatError
    from beatplan.geo.layers import read_boundaries

    for reader in (read_incidents, read_boundaries):
        with pytest.raises(InputFormatError, match="expected a file, a folder, a glob or a list"):
            reader(source)
