"""Tests for beatplan.geo.write.write_layers: formats, round trips, overwrite guard, atomic
writes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import CRS
from shapely import box

from beatplan.geo.errors import (
    CRSError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    OutputExistsError,
    OutputWriteError,
)
from beatplan.geo.layers import read_boundaries
from beatplan.geo.write import (
    DRIVERS,
    output_paths,
    shapefile_field_names,
    write_layers,
    write_text,
)

BNG = CRS.from_epsg(27700)


@pytest.fixture(scope="module")
def wards(shared_data: Path) -> gpd.GeoDataFrame:
    """The 21 real post-2015 Leicester City wards, in the boundaries contract (BNG)."""
    return read_boundaries(shared_data / "leicestershire_boundaries" / "wd19_leicester_city_wards")


def small(n: int = 3, *, crs=27700, **columns) -> gpd.GeoDataFrame:
    """N unit-km squares in Leicester, with ids and names."""
    data = {"id": [f"w{i}" for i in range(n)], "name": [f"Ward {i}" for i in range(n)]}
    data.update(columns)
    geoms = [box(458000 + i * 1000, 304000, 459000 + i * 1000, 305000) for i in range(n)]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def same_geometries(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, tol: float = 0.0) -> bool:
    ga, gb = np.asarray(a.geometry.values), np.asarray(b.geometry.values)
    return bool(shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), tol).all())


# ---------------------------------------------------------------------------------------------
# formats and round trips


def test_gpkg_several_layers_round_trip(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    half = wards.iloc[:10].reset_index(drop=True)
    out = tmp_path / "plan.gpkg"
    assert write_layers(out, {"wards": wards, "half": half}) == out
    assert listing(tmp_path) == ["plan.gpkg"]
    assert [str(n) for n in pyogrio.list_layers(out)[:, 0]] == ["wards", "half"]
    for name, original in (("wards", wards), ("half", half)):
        back = read_boundaries(out, layer=name)
        assert back.attrs["beatplan"]["id_col"] == "id"
        assert back.attrs["beatplan"]["name_col"] == "name"
        assert back.crs.equals(BNG)
        assert len(back) == len(original)
        assert back["id"].tolist() == original["id"].tolist()
        assert back["name"].tolist() == original["name"].tolist()
        assert same_geometries(back, original)


def test_geojson_one_layer(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "wards.geojson"
    write_layers(out, {"wards": wards})
    assert listing(tmp_path) == ["wards.geojson"]
    back = read_boundaries(out, to_crs=None)
    assert back.attrs["beatplan"]["crs_source"] == "EPSG:27700"  # the layer's own CRS kept
    assert back["id"].tolist() == wards["id"].tolist()
    assert same_geometries(back, wards, tol=1e-6)


def test_geojson_several_layers_go_to_siblings(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "plan.geojson"
    layers = {"wards": wards, "first5": wards.iloc[:5]}
    assert write_layers(out, layers) == out
    expected = output_paths(out, layers)
    assert expected == {
        "wards": tmp_path / "plan_wards.geojson",
        "first5": tmp_path / "plan_first5.geojson",
    }
    assert listing(tmp_path) == ["plan_first5.geojson", "plan_wards.geojson"]
    for name, path in expected.items():
        assert len(read_boundaries(path)) == len(layers[name])


def test_geojson_lines(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "wards.geojsonl"
    write_layers(out, {"wards": wards})
    lines = out.read_text().strip().splitlines()
    assert len(lines) == len(wards)
    back = read_boundaries(out)
    assert back["id"].tolist() == wards["id"].tolist()
    assert back.area.sum() == pytest.approx(wards.area.sum(), rel=1e-6)


def test_shapefile_long_field_names(
    wards: gpd.GeoDataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    layer = wards.assign(
        population_2021=np.arange(len(wards)),
        population_2022=np.arange(len(wards)) * 2,
        incidents_per_1000=np.linspace(0, 1, len(wards)),
    )
    out = tmp_path / "wards.shp"
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        write_layers(out, {"wards": layer})
    mapping = shapefile_field_names(c for c in layer.columns if c != "geometry")
    assert mapping == {
        "population_2021": "population",
        "population_2022": "populati_1",
        "incidents_per_1000": "incidents_",
    }
    text = " ".join(r.getMessage() for r in caplog.records)
    for old, new in mapping.items():
        assert f"{old!r} -> {new!r}" in text
    assert listing(tmp_path) == [f"wards{s}" for s in (".cpg", ".dbf", ".prj", ".shp", ".shx")]
    raw = pyogrio.read_dataframe(out)
    for old, new in mapping.items():
        assert np.allclose(raw[new].to_numpy(dtype=float), layer[old].to_numpy(dtype=float))
    back = read_boundaries(out)
    assert back["id"].tolist() == wards["id"].tolist()
    assert back.crs.equals(BNG)


def test_shapefile_several_layers(tmp_path: Path) -> None:
    out = tmp_path / "plan.shp"
    write_layers(out, {"beats": small(3), "npas": small(1)})
    assert listing(tmp_path) == sorted(
        f"plan_{n}{s}" for n in ("beats", "npas") for s in (".cpg", ".dbf", ".prj", ".shp", ".shx")
    )
    assert len(read_boundaries(tmp_path / "plan_beats.shp")) == 3


def test_kml_readable_back(wards: gpd.GeoDataFrame, tmp_path: Path) -> None:
    out = tmp_path / "wards.kml"
    write_layers(out, {"wards": wards, "first5": wards.iloc[:5]})
    assert listing(tmp_path) == ["wards.kml"]
    back = read_boundaries(out, layer="wards")
    assert back.attrs["beatplan"]["crs_source"] == "EPSG:4326"
    assert back["id"].tolist() == wards["id"].tolist()
    assert back["name"].tolist() == wards["name"].tolist()
    assert back.crs.equals(BNG)
    assert back.area.to_numpy() == pytest.approx(wards.area.to_numpy(), rel=1e-6)
    assert len(read_boundaries(out, layer="first5")) == 5


def test_kml_names_default_to_ids(tmp_path: Path) -> None:
    layer = small(3)
    layer["name"] = pd.array(["North", None, "South"], dtype="string")
    out = tmp_path / "beats.kml"
    write_layers(out, {"beats": layer})
    raw = pyogrio.read_dataframe(out)
    assert raw["Name"].tolist() == ["North", "w1", "South"]
    nameless = small(2).drop(columns=["id", "name"])
    write_layers(tmp_path / "bare.kml", {"areas": nameless})
    assert pyogrio.read_dataframe(tmp_path / "bare.kml")["Name"].tolist() == ["areas 1", "areas 2"]


def test_objects_become_json_text_and_datetimes_stay(tmp_path: Path) -> None:
    when = pd.to_datetime(["2022-01-01 10:30", "2022-02-01", None], format="ISO8601")
    layer = small(
        3,
        wards=[["E05000001", "E05000002"], [], None],
        meta=[{"npa": "City", "n": 2}, {}, None],
        mixed=[1, "two", 3.5],
        when=when,
    )
    out = tmp_path / "plan.gpkg"
    write_layers(out, {"beats": layer})
    raw = pyogrio.read_dataframe(out)
    assert json.loads(raw.loc[0, "wards"]) == ["E05000001", "E05000002"]
    assert json.loads(raw.loc[1, "wards"]) == []
    assert pd.isna(raw.loc[2, "wards"])
    assert json.loads(raw.loc[0, "meta"]) == {"npa": "City", "n": 2}
    assert raw["mixed"].tolist() == ["1", "two", "3.5"]
    assert raw["when"].dtype.kind == "M"
    got = raw["when"]
    if got.dt.tz is not None:
        got = got.dt.tz_convert("UTC").dt.tz_localize(None)
    assert got.iloc[:2].tolist() == when[:2].tolist() and pd.isna(got.iloc[2])


def test_shapefile_datetimes_as_iso_text(tmp_path: Path) -> None:
    layer = small(
        2,
        when=pd.to_datetime(["2022-01-01 10:30", "2022-02-01"], format="ISO8601"),
        day=pd.to_datetime(["2022-01-01", "2022-02-01"]),
    )
    write_layers(tmp_path / "b.shp", {"b": layer})
    raw = pyogrio.read_dataframe(tmp_path / "b.shp")
    assert raw["when"].tolist() == ["2022-01-01T10:30:00", "2022-02-01T00:00:00"]
    assert raw["day"].tolist() == ["2022-01-01", "2022-02-01"]


def test_caller_frame_untouched(tmp_path: Path) -> None:
    layer = small(3, a_very_long_column_name=[1, 2, 3], tags=[["x"], ["y"], []])
    before = layer.copy()
    for name in ("a.kml", "a.shp", "a.gpkg"):
        write_layers(tmp_path / name, {"a": layer})
    pd.testing.assert_frame_equal(layer, before)
    assert layer.crs.equals(BNG)


def test_creates_missing_parent_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "plan.gpkg"
    write_layers(out, {"a": small()})
    assert out.is_file()


def test_explicit_driver_and_aliases(tmp_path: Path) -> None:
    write_layers(tmp_path / "plan.txt", {"a": small()}, driver="GeoJSON")
    assert pyogrio.read_info(tmp_path / "plan.txt")["driver"] == "GeoJSON"
    write_layers(tmp_path / "b.shp", {"a": small()}, driver="shapefile")
    assert (tmp_path / "b.dbf").is_file()


# ---------------------------------------------------------------------------------------------
# bad arguments


def test_unknown_suffix_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(OptionError) as info:
        write_layers(tmp_path / "plan.xyz", {"a": small()})
    msg = str(info.value)
    for suffixes in DRIVERS.values():
        for s in suffixes:
            assert s in msg
    assert "driver=" in msg
    assert listing(tmp_path) == []


def test_unknown_driver_lists_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"'GPKG'.*'GeoJSON'.*'ESRI Shapefile'.*'KML'"):
        write_layers(tmp_path / "plan.gpkg", {"a": small()}, driver="MapInfo")


def test_shapefile_needs_shp_suffix(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=r"must end in \.shp"):
        write_layers(tmp_path / "plan.dbf", {"a": small()}, driver="ESRI Shapefile")


def test_layer_without_crs(tmp_path: Path) -> None:
    with pytest.raises(CRSError, match=r"layer 'a' has no CRS.*set_crs"):
        write_layers(tmp_path / "plan.gpkg", {"a": small(crs=None)})
    assert listing(tmp_path) == []


def test_no_layers_and_not_a_geodataframe(tmp_path: Path) -> None:
    with pytest.raises(EmptyInputError):
        write_layers(tmp_path / "plan.gpkg", {})
    with pytest.raises(InputFormatError, match="expected a GeoDataFrame"):
        write_layers(tmp_path / "plan.gpkg", {"a": pd.DataFrame({"x": [1]})})  # type: ignore[dict-item]


def test_layer_names_must_make_file_names(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="cannot be part of a file name"):
        write_layers(tmp_path / "plan.geojson", {"a/b": small(), "c": small()})
    with pytest.raises(OptionError, match="differ only in case"):
        output_paths(tmp_path / "plan.geojson", ["Beats", "beats"])
    assert listing(tmp_path) == []


# ---------------------------------------------------------------------------------------------
# overwrite guard and atomic writes


@pytest.mark.parametrize("name", ["plan.gpkg", "plan.geojson", "plan.shp", "plan.kml"])
def test_refuses_to_overwrite(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    write_layers(out, {"a": small(3)})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(OutputExistsError) as info:
        write_layers(out, {"a": small(1)})
    msg = str(info.value)
    assert str(out) in msg and "overwrite=True" in msg and "--overwrite" in msg
    assert isinstance(info.value, FileExistsError)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


@pytest.mark.parametrize("name", ["plan.gpkg", "plan.geojson", "plan.shp", "plan.kml"])
def test_overwrite_replaces(tmp_path: Path, name: str) -> None:
    out = tmp_path / name
    write_layers(out, {"a": small(3)})
    files = listing(tmp_path)
    write_layers(out, {"a": small(1)}, overwrite=True)
    assert listing(tmp_path) == files  # no temporary files left
    assert len(read_boundaries(out)) == 1


def test_partial_shapefile_counts_as_existing(tmp_path: Path) -> None:
    (tmp_path / "plan.dbf").write_bytes(b"old")
    with pytest.raises(OutputExistsError, match="plan.dbf"):
        write_layers(tmp_path / "plan.shp", {"a": small()})


def test_overwrite_shapefile_drops_stale_index(tmp_path: Path) -> None:
    out = tmp_path / "plan.shp"
    write_layers(out, {"a": small(3)})
    (tmp_path / "plan.qix").write_bytes(b"spatial index of the old geometry")
    write_layers(out, {"a": small(2)}, overwrite=True)
    assert not (tmp_path / "plan.qix").exists()
    assert len(read_boundaries(out)) == 2


def test_sibling_exists_is_refused(tmp_path: Path) -> None:
    (tmp_path / "plan_npas.geojson").write_text("{}")
    with pytest.raises(OutputExistsError, match="plan_npas.geojson"):
        write_layers(tmp_path / "plan.geojson", {"beats": small(), "npas": small(1)})
    assert listing(tmp_path) == ["plan_npas.geojson"]  # nothing written, not even beats


def test_output_is_a_folder(tmp_path: Path) -> None:
    (tmp_path / "plan.gpkg").mkdir()
    with pytest.raises(OutputExistsError, match="is a folder"):
        write_layers(tmp_path / "plan.gpkg", {"a": small()}, overwrite=True)


def _fail_on_second_layer(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the second layer's write fail after the first was written."""
    real = pyogrio.write_dataframe
    calls: list[str] = []

    def flaky(df, path, **kw):
        calls.append(str(path))
        if len(calls) == 2:
            real(df, path, **kw)  # leave a half-written file behind, as a crash would
            raise RuntimeError("disk full")
        return real(df, path, **kw)

    monkeypatch.setattr(pyogrio, "write_dataframe", flaky)
    return calls


@pytest.mark.parametrize("name", ["plan.gpkg", "plan.geojson", "plan.shp", "plan.kml"])
def test_failure_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    calls = _fail_on_second_layer(monkeypatch)
    with pytest.raises(RuntimeError, match="disk full"):
        write_layers(tmp_path / name, {"beats": small(3), "npas": small(1)})
    assert len(calls) == 2
    assert listing(tmp_path) == []


def test_failure_keeps_the_old_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "plan.gpkg"
    write_layers(out, {"beats": small(3)})
    before = out.read_bytes()
    _fail_on_second_layer(monkeypatch)
    with pytest.raises(RuntimeError):
        write_layers(out, {"beats": small(2), "npas": small(1)}, overwrite=True)
    assert listing(tmp_path) == ["plan.gpkg"]
    assert out.read_bytes() == before


@pytest.mark.parametrize("name", ["plan.geojson", "plan.shp"])
def test_failed_move_into_place_restores_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A move that fails half-way (several sibling files or Shapefile parts) leaves no mix."""
    out = tmp_path / name
    write_layers(out, {"beats": small(3), "npas": small(2)})
    (tmp_path / "plan_beats.qix").write_bytes(b"index")  # a sidecar of the old geometry
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = os.rename
    placed: list[Path] = []

    def flaky(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if "~bp-new-" in Path(src).parent.name:  # a new file moving into place
            placed.append(Path(dst))
            if len(placed) == 2:  # the first new file is in place, the second fails
                raise OSError("device not ready")
        real(src, dst)

    monkeypatch.setattr(os, "rename", flaky)
    with pytest.raises(OutputWriteError, match="device not ready") as err:
        write_layers(out, {"beats": small(1), "npas": small(1)}, overwrite=True)
    monkeypatch.undo()
    assert str(err.value).startswith(f"{out}: cannot write") and "\n" not in str(err.value)
    assert isinstance(err.value, OSError)
    assert len(placed) == 2
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no mix, no litter


# ---------------------------------------------------------------------------------------------
# helpers


def test_shapefile_field_names_rules() -> None:
    # short names that fit are kept even when they come after a long one
    assert shapefile_field_names(["population_total", "population"]) == {
        "population_total": "populati_1"
    }
    # dBase compares names without case
    assert shapefile_field_names(["ID", "id"]) == {"id": "id_1"}
    # byte limit, not characters: never split a UTF-8 character
    got = shapefile_field_names(["Straßenname_lang"])
    new = got["Straßenname_lang"]
    assert len(new.encode("utf-8")) <= 10 and new == "Straßenna"
    names = [f"incident_count_{i}" for i in range(25)]
    mapped = shapefile_field_names(names)
    assert len(set(v.lower() for v in mapped.values())) == 25
    assert all(len(v.encode()) <= 10 for v in mapped.values())
    assert shapefile_field_names(["id", "name", "geometry"]) == {}


def test_output_paths_single_and_multi(tmp_path: Path) -> None:
    assert output_paths(tmp_path / "a.shp", ["beats"]) == {"beats": tmp_path / "a.shp"}
    assert output_paths(tmp_path / "a.kml", ["x", "y"]) == {
        "x": tmp_path / "a.kml",
        "y": tmp_path / "a.kml",
    }


def test_write_text_is_atomic_and_guards_existing_files(tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    assert write_text(out, "a\nb\n") == out
    assert out.read_text() == "a\nb\n"
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_text(out, "changed")
    assert out.read_text() == "a\nb\n"
    write_text(out, "changed", overwrite=True)
    assert out.read_text() == "changed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.md"]
    # readable by others like any file the user writes, not mkstemp's private 0600
    assert out.stat().st_mode & 0o777 == 0o666 & ~_current_umask()


def _current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
