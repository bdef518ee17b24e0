"""Fuzz read_incidents and read_boundaries with generated files (issue 11, the catalogue's fuzz).

Generated CSV/TSV bytes (random headers and delimiters, quotes left open, encodings, BOMs,
line ends, blank lines, numbers, NaN, huge values) and GeoJSON (rings of any length, NaN and
huge coordinates, nulls, wrong types, garbage). Any exception other than a beatplan error
fails, and nothing may be lost: ``points + rejected == rows read`` and no more rows than the
file has lines; a boundary layer read has every feature (or says which are wrong).

CI runs a fixed number of examples (derandomised, well under 30 s). For a long run:
``BEATPLAN_FUZZ_EXAMPLES=20000 pytest tests/bad_inputs/test_fuzz_readers.py`` (random seeds).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from _police_uk import HEADER
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beatplan.geo.errors import BeatplanError
from beatplan.geo.incidents import read_incidents
from beatplan.geo.layers import read_boundaries

LONG = int(os.environ.get("BEATPLAN_FUZZ_EXAMPLES", "0"))
FUZZ = settings(
    max_examples=LONG or 80,
    deadline=None,
    derandomize=not LONG,
    database=None,
    suppress_health_check=list(HealthCheck),
)

HEADERS = [
    *HEADER.split(","),
    *["lon", "lat", "x", "y", "easting", "northing", "date", "category", "id", "", "Lng"],
    *["Caf\u00e9", "Longitude"],
]
POLICE = HEADER.split(",")
VALUES = [
    "",
    " ",
    "-1.13",
    "52.63",
    "-1.2",
    "52.7",
    "52.63",
    "-1.13",
    "0",
    "0.0",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "-1e308",
    "9" * 40,
    "abc",
    "2022-03",
    "2022-13",
    "March",
    "Burglary",
    "id1",
    "id1",
    "On or near \u00e9",
    '"quoted, comma"',
    '"open',
    'mid"quote',
    '"a""b"',
    "\u2028",
    "\u0085",
    "\x00",
    "458000",
    "304000",
    "-91",
    "181",
    "\u00e9",
    "\U0001f600",
    "\t",
    ";",
    "|",
]
ENCODINGS = ["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "mixed"]


@st.composite
def tables(draw: st.DrawFn) -> tuple[str, bytes]:
    """A delimited text file as bytes, and its suffix."""
    police = draw(st.booleans())
    header = list(POLICE) if police else draw(st.lists(st.sampled_from(HEADERS), max_size=8))
    if not police and draw(st.booleans()):
        header += draw(st.sampled_from([["lon", "lat"], ["Longitude", "Latitude"], ["x", "y"]]))
    delim = draw(st.sampled_from([",", ",", "\t", ";", "|"]))
    n_rows = draw(st.integers(0, 25))
    rows = []
    for _ in range(n_rows):
        width = len(header) + draw(st.sampled_from([0, 0, 0, 0, -1, 1, -3]))
        cells = draw(
            st.lists(st.sampled_from(VALUES), min_size=max(width, 0), max_size=max(width, 0))
        )
        if police and len(cells) >= 6 and draw(st.booleans()):
            cells[4] = f"{-1.13 + draw(st.floats(-0.3, 0.3)):.6f}"
            cells[5] = f"{52.63 + draw(st.floats(-0.3, 0.3)):.6f}"
            if draw(st.integers(0, 9)) == 0:
                cells[4], cells[5] = cells[5], cells[4]
        rows.append(delim.join(cells))
    if rows and draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), "")  # a blank line
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join([delim.join(header), *rows]) + draw(st.sampled_from(["", end]))
    encoding = draw(st.sampled_from(ENCODINGS))
    if encoding == "mixed":
        data = text.encode("utf-8", "replace").replace(b"\xc3\xa9", b"\xe9", 1)
    else:
        data = text.encode(encoding, errors="replace")
    if data and draw(st.integers(0, 4)) == 0:  # a few bytes damaged
        buf = bytearray(data)
        for _ in range(draw(st.integers(1, 5))):
            at = draw(st.integers(0, len(buf) - 1))
            buf[at : at + 1] = draw(
                st.sampled_from(
                    [
                        b'"',
                        b"\n",
                        b"\r",
                        b"\x00",
                        b"\xff",
                        b",",
                        b"\xe9",
                        b"",
                        b'""',
                        b"\xef\xbb\xbf",
                    ]
                )
            )
        data = bytes(buf)
    suffix = draw(st.sampled_from([".csv", ".csv", ".tsv", ".csv.gz"]))
    if suffix.endswith(".gz"):
        data = gzip.compress(data)
    return suffix, data


def _lines(data: bytes, suffix: str) -> int:
    """An upper bound on a file's data rows: its lines after the first."""
    if suffix.endswith(".gz"):
        data = gzip.decompress(data)
    n = data.count(b"\n") + data.count(b"\r") + data.count("\u2028".encode()) + 1
    return n


@FUZZ
@given(table=tables())
def test_read_incidents_never_loses_a_row(table: tuple[str, bytes]) -> None:
    suffix, data = table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_bytes(data)
        try:
            inc = read_incidents(path)
        except BeatplanError:
            return
        assert len(inc.points) + len(inc.rejected) == inc.rows_read
        assert inc.rows_read <= _lines(data, suffix)
        assert inc.crs.is_projected
        assert not inc.points["row"].duplicated().any()
        keys = set(inc.points["row"]) | set(inc.rejected["row"])
        assert len(keys) == inc.rows_read  # every row once, in points or rejected


# ------------------------------------------------------------------------------- GeoJSON

COORD = st.one_of(
    st.floats(-2.0, 0.0),
    st.floats(51.0, 54.0),
    st.sampled_from([float("nan"), float("inf"), 1e300, -1e300, 0.0, 450000.0]),
)
POINT = st.lists(COORD, min_size=2, max_size=3)


@st.composite
def rings(draw: st.DrawFn) -> list[list[float]]:
    pts = draw(st.lists(POINT, min_size=0, max_size=6))
    if pts and draw(st.booleans()):
        pts.append(list(pts[0]))  # closed
    return pts


def _square(x: float, y: float, d: float = 0.01) -> list[list[list[float]]]:
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


@st.composite
def geometries(draw: st.DrawFn) -> object:
    kind = draw(
        st.sampled_from(
            [
                "square",
                "square",
                "polygon",
                "multi",
                "point",
                "line",
                "null",
                "empty",
                "collection",
                "bad",
            ]
        )
    )
    if kind == "square":
        return {"type": "Polygon", "coordinates": _square(-1.1 + draw(st.floats(0, 0.5)), 52.6)}
    if kind == "polygon":
        return {"type": "Polygon", "coordinates": draw(st.lists(rings(), max_size=3))}
    if kind == "multi":
        return {"type": "MultiPolygon", "coordinates": [draw(st.lists(rings(), max_size=2))]}
    if kind == "point":
        return {"type": "Point", "coordinates": draw(POINT)}
    if kind == "line":
        return {"type": "LineString", "coordinates": draw(st.lists(POINT, max_size=4))}
    if kind == "empty":
        return {"type": "Polygon", "coordinates": []}
    if kind == "collection":
        return {
            "type": "GeometryCollection",
            "geometries": [{"type": "Polygon", "coordinates": _square(-1.0, 52.0)}],
        }
    if kind == "bad":
        return draw(
            st.sampled_from(
                [
                    {"type": "Polygon"},
                    {"type": "Nope", "coordinates": []},
                    "text",
                    7,
                    {"coordinates": [[1, 2]]},
                ]
            )
        )
    return None


PROPS = st.dictionaries(
    st.sampled_from(["id", "ID", "name", "sector", "npa", "wd19cd", "code", "x", ""]),
    st.one_of(st.none(), st.text(max_size=5), st.integers(-3, 3), st.floats(allow_nan=True)),
    max_size=4,
)


@st.composite
def layers(draw: st.DrawFn) -> bytes:
    features = [
        {"type": "Feature", "properties": draw(PROPS), "geometry": draw(geometries())}
        for _ in range(draw(st.integers(0, 6)))
    ]
    doc: object = {"type": "FeatureCollection", "features": features}
    if draw(st.integers(0, 9)) == 0:
        doc["crs"] = {"type": "name", "properties": {"name": "EPSG:27700"}}  # type: ignore[index]
    text = json.dumps(doc, allow_nan=True)
    if draw(st.integers(0, 14)) == 0:
        text = text[: draw(st.integers(0, len(text)))]  # truncated
    return text.encode("utf-8")


@FUZZ
@given(data=layers(), dissolve=st.booleans())
def test_read_boundaries_accounts_for_every_feature(data: bytes, dissolve: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layer.geojson"
        path.write_bytes(data)
        try:
            gdf = read_boundaries(path, dissolve=dissolve)
        except BeatplanError:
            return
        n_features = len(json.loads(data)["features"])
        assert len(gdf) <= n_features and (dissolve or len(gdf) == n_features)
        assert gdf["id"].notna().all() and gdf["id"].is_unique
        assert gdf.geometry.is_valid.all() and not gdf.geometry.is_empty.any()
        assert np.isin(gdf.geom_type, ["Polygon", "MultiPolygon"]).all()


@pytest.mark.parametrize("data", [b"", b"{", b"\xff\xfe\x00", b"[]", b"null", b"{}"])
def test_garbage_geojson_is_a_clean_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "layer.geojson"
    path.write_bytes(data)
    with pytest.raises(BeatplanError):
        read_boundaries(path)
