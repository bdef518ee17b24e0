"""Bad-input catalogue for read_boundaries (issue 11): each case a clean error or a full layer.

A clean error is the beatplan error class with a message that names the feature(s) or
file(s) at fault and, as a hint, only read_boundaries' own arguments (``id_col=``,
``layer=``, ``crs=`` ...; the command line maps them to its options). A layer read keeps
every feature: one row per feature (per id with ``dissolve=True``), each with an id and a
valid polygon.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely import box

from bad_inputs.catalogue import print_totals, write_case
from beatplan.geo.errors import (
    BeatplanError,
    ColumnNotFoundError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    ValidationError,
)
from beatplan.geo.layers import read_boundaries

X, Y = -1.13, 52.63


def square(i: int, d: float = 0.01) -> list[list[list[float]]]:
    x = X + i * d
    return [[[x, Y], [x + d, Y], [x + d, Y + d], [x, Y + d], [x, Y]]]


def feature(props: dict[str, Any], geometry: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def poly(coords: Any) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": coords}


def geojson(*features: dict[str, Any], crs: str | None = None) -> bytes:
    doc: dict[str, Any] = {"type": "FeatureCollection", "features": list(features)}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(doc).encode()


def squares(key: str, ids: list[str], **extra: list[Any]) -> bytes:
    return geojson(
        *[
            feature({key: v, **{k: vals[i] for k, vals in extra.items()}}, poly(square(i)))
            for i, v in enumerate(ids)
        ]
    )


def wards(col: str, ids: list[str], start: int = 0) -> bytes:
    return geojson(*[feature({col: v}, poly(square(start + i))) for i, v in enumerate(ids)])


@dataclass
class Case:
    id: str
    files: dict[str, bytes | Callable[[Path], None]]
    kwargs: dict[str, Any] = field(default_factory=dict)
    error: type[BeatplanError] | None = None
    match: str = ""
    ids: list[str] | None = None  # the ids read, in order
    id_col: str | None = None
    warning: str = ""
    folder: bool = False


def _two_layers(path: Path) -> None:
    g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=27700)
    g.to_file(path, layer="wards")
    g.to_file(path, layer="beats")


def _no_crs(path: Path) -> None:
    g = gpd.GeoDataFrame(
        {"ward_code": ["a", "b"]},
        geometry=[box(450000, 300000, 451000, 301000), box(451000, 300000, 452000, 301000)],
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g.to_file(path)


TWO_POINT_RING = poly([[[X, Y], [X + 0.01, Y]]])
UNCLOSED = poly([[[X, Y], [X + 0.01, Y], [X + 0.01, Y + 0.01]]])
BOWTIE = poly([[[X, Y], [X + 0.01, Y + 0.01], [X + 0.01, Y], [X, Y + 0.01], [X, Y]]])

CASES = [
    # --- geometry (the reading side of the 2-point ring) ---------------------------------
    Case(
        "a ring of two points",
        {
            "a.geojson": geojson(
                feature({"id": "A"}, poly(square(0))), feature({"id": "B"}, TWO_POINT_RING)
            )
        },
        error=ValidationError,
        match="cannot be repaired.*'B'",
    ),
    Case(
        "an unclosed ring is closed",
        {
            "a.geojson": geojson(
                feature({"id": "A"}, poly(square(0))), feature({"id": "C"}, UNCLOSED)
            )
        },
        ids=["A", "C"],
        warning="closed the unclosed ring of 1 feature (a ring must end where it starts): 'C'",
    ),
    Case(
        "a self-crossing bow-tie is repaired",
        {"a.geojson": geojson(feature({"id": "A"}, BOWTIE))},
        ids=["A"],
        warning="repaired 1 invalid geometry",
    ),
    Case(
        "a null geometry",
        {"a.geojson": geojson(feature({"id": "A"}, poly(square(0))), feature({"id": "N"}, None))},
        error=ValidationError,
        match="no geometry \\(null\\): 'N'",
    ),
    Case(
        "an empty polygon",
        {
            "a.geojson": geojson(
                feature({"id": "E"}, poly([])), feature({"id": "A"}, poly(square(1)))
            )
        },
        error=ValidationError,
        match="'E'",
    ),
    Case(
        "a point among polygons",
        {
            "a.geojson": geojson(
                feature({"id": "A"}, poly(square(0))),
                feature({"id": "P"}, {"type": "Point", "coordinates": [X, Y]}),
            )
        },
        error=ValidationError,
        match="not polygons: 'P' \\(Point\\)",
    ),
    # --- ids (hints name read_boundaries' arguments only) ----------------------------------
    Case(
        "no id column",
        {"a.geojson": squares("colour", ["red", "red"])},
        error=ColumnNotFoundError,
        match="cannot tell which column.*id_col=",
    ),
    Case(
        "a repeated id",
        {"a.geojson": squares("id", ["A", "A", "B"])},
        error=ValidationError,
        match="'A' appears 2 times.*dissolve=True",
    ),
    Case(
        "a repeated id dissolved",
        {"a.geojson": squares("id", ["A", "A", "B"])},
        {"dissolve": True},
        ids=["A", "B"],
        warning="merged",
    ),
    Case(
        "a missing id",
        {"a.geojson": squares("id", ["A", ""])},
        error=ValidationError,
        match="no id in column 'id': 'feature 2'",
    ),
    Case(
        "id_col that is not a column",
        {"a.geojson": squares("id", ["A"])},
        {"id_col": "beat"},
        error=ColumnNotFoundError,
        match="id_col='beat' is not a column",
    ),
    Case(
        "a sectors file whose only column is 'sector'",
        {"a.geojson": squares("sector", ["S1", "S2"])},
        ids=["S1", "S2"],
        id_col="sector",
    ),
    Case(
        "an NPA file whose only column is 'NPA'",
        {"a.geojson": squares("NPA", ["N1", "N2"])},
        ids=["N1", "N2"],
        id_col="NPA",
    ),
    Case(
        "sector and npa: the unique one is the id",
        {"a.geojson": squares("npa", ["N1", "N1"], sector=["S1", "S2"])},
        ids=["S1", "S2"],
        id_col="sector",
    ),
    Case(
        "a districts file with 'District'",
        {"a.geojson": squares("District", ["1", "2"])},
        ids=["1", "2"],
        id_col="District",
    ),
    Case(
        "two ward vintages in one folder",
        {
            "wd13.geojson": wards("WD13CD", ["E05000001", "E05000002"]),
            "wd19.geojson": wards("wd19cd", ["E05010458"], start=5),
        },
        error=InputFormatError,
        match="different id columns: 'WD13CD' in 'wd13.geojson'; 'wd19cd' in 'wd19.geojson'",
        folder=True,
    ),
    Case(
        "files of one vintage in one folder",
        {
            "a.geojson": wards("WD13CD", ["E05000001"]),
            "b.geojson": wards("WD13CD", ["E05000002"], 3),
        },
        ids=["E05000001", "E05000002"],
        folder=True,
    ),
    # --- files, layers and CRS -------------------------------------------------------------
    Case(
        "two layers and no layer=",
        {"a.gpkg": _two_layers},
        error=OptionError,
        match="holds 2 layers.*pass layer= naming",
    ),
    Case(
        "a layer that is not there",
        {"a.gpkg": _two_layers},
        {"layer": "npas"},
        error=OptionError,
        match="'wards'",
    ),
    Case(
        "no CRS",
        {"a.shp": _no_crs},
        error=ValidationError,
        match="declares no CRS.*British National Grid.*crs='EPSG:27700'",
    ),
    Case(
        "degrees declared as British National Grid",
        {"a.geojson": geojson(feature({"id": "A"}, poly(square(0))), crs="EPSG:27700")},
        error=ValidationError,
        match="look like lon/lat degrees",
    ),
    Case("an empty file", {"a.geojson": b""}, error=EmptyInputError, match="0 bytes"),
    Case("no features", {"a.geojson": geojson()}, error=EmptyInputError, match="no features"),
    Case(
        "not a vector file",
        {"a.geojson": b"hello"},
        error=InputFormatError,
        match="GDAL cannot read",
    ),
    Case(
        "no such file",
        {},
        {"_path": "nowhere.geojson"},
        error=InputFormatError,
        match="no such file",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_boundary_input(case: Case, tmp_path: Path) -> None:
    missing = case.kwargs.get("_path", "")
    source = write_case(case.files, tmp_path, folder=case.folder, missing=missing)
    kwargs = {k: v for k, v in case.kwargs.items() if not k.startswith("_")}
    if case.error is not None:
        with pytest.raises(case.error, match=case.match):
            read_boundaries(source, **kwargs)
        # hints name the API's argument; a command-line form they add is checked to exist by
        # tests/test_cli_hints.py
        return
    gdf = read_boundaries(source, **kwargs)
    assert gdf["id"].tolist() == case.ids  # every feature (or id) once, in order
    assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
    assert set(gdf.geom_type) <= {"Polygon", "MultiPolygon"}
    info = gdf.attrs["beatplan"]
    if case.id_col:
        assert info["id_col"] == case.id_col
    if case.warning:
        assert any(case.warning in w for w in info["warnings"]), info["warnings"]


def test_catalogue_totals(capsys: pytest.CaptureFixture[str]) -> None:
    print_totals(capsys, "read_boundaries", CASES, "read with every feature")


def test_info_on_a_two_point_ring_says_which_feature(tmp_path: Path) -> None:
    """``beatplan info`` reports the bad ring as a problem of feature 'B', no traceback."""
    from click.testing import CliRunner

    from beatplan.cli import main

    path = tmp_path / "ring.geojson"
    path.write_bytes(
        geojson(feature({"id": "A"}, poly(square(0))), feature({"id": "B"}, TWO_POINT_RING))
    )
    result = CliRunner().invoke(main, ["info", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "problems found" in result.output and "'B'" in result.output
    assert "Traceback" not in result.output and "GEOSException" not in result.output


def test_realign_with_a_two_point_ring_is_a_one_line_error(tmp_path: Path) -> None:
    """``beatplan realign`` refuses the layer with the feature's id: exit 2, no traceback."""
    from click.testing import CliRunner

    from beatplan.cli import main

    good = tmp_path / "wards.geojson"
    good.write_bytes(squares("id", ["W1", "W2"]))
    bad = tmp_path / "beats.geojson"
    bad.write_bytes(
        geojson(feature({"id": "A"}, poly(square(0))), feature({"id": "B"}, TWO_POINT_RING))
    )
    out = tmp_path / "plan"
    result = CliRunner().invoke(
        main, ["realign", "--wards", str(good), "--beats", str(bad), "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    assert "'B'" in result.output and "Traceback" not in result.output
    assert not out.exists()
