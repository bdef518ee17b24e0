"""Tests for beatplan.geo.locator: point location on synthetic squares and on real Chicago beats."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS
from rtree import index as rindex
from shapely import box

import beatplan.geo._locator_index as locator_index
from beatplan.geo.errors import (
    BeatplanError,
    ColumnNotFoundError,
    CRSError,
    CRSMismatchError,
    DuplicateIdError,
    EmptyInputError,
    GeometryError,
    InputFormatError,
    OptionError,
    OutputExistsError,
)
from beatplan.geo.locator import MANIFEST, Locator

# -- synthetic: a 2 x 2 grid of 1 km squares in British National Grid -----------------------
X0, Y0, S = 450_000.0, 300_000.0, 1_000.0
# Row order deliberately differs from id order: the tie rule must follow ids, not rows.
GRID = {"D": (1, 1), "B": (1, 0), "C": (0, 1), "A": (0, 0)}  # id -> (column, row)


def _square(col: int, row: int) -> shapely.Polygon:
    return box(X0 + col * S, Y0 + row * S, X0 + (col + 1) * S, Y0 + (row + 1) * S)


@pytest.fixture
def grid() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(GRID), "pop": [1, 2, 3, 4]},
        geometry=[_square(*cr) for cr in GRID.values()],
        crs=27700,
    )


@pytest.fixture(params=["grid", "strtree"])
def bulk_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with locate_many on each of its two bulk paths (they must agree)."""
    threshold = 0 if request.param == "grid" else 10**12
    monkeypatch.setattr(locator_index, "GRID_MIN_POINTS", threshold)
    return str(request.param)


def test_bulk_path_switch_is_live(grid: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    """The threshold ``bulk_path`` sets really picks the path: the grid is used, or never."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("grid used")

    monkeypatch.setattr(locator_index.Grid, "lookup", refuse)
    loc = Locator(grid)
    monkeypatch.setattr(locator_index, "GRID_MIN_POINTS", 10**12)
    assert loc.locate_many([X0 + 10], [Y0 + 10])[loc.levels[0]].tolist() == ["A"]
    monkeypatch.setattr(locator_index, "GRID_MIN_POINTS", 0)
    with pytest.raises(AssertionError, match="grid used"):
        loc.locate_many([X0 + 10], [Y0 + 10])


@pytest.fixture
def loc(grid: gpd.GeoDataFrame) -> Locator:
    return Locator(grid, level="beat")


def _centre(name: str) -> tuple[float, float]:
    col, row = GRID[name]
    return X0 + (col + 0.5) * S, Y0 + (row + 0.5) * S


def _both(loc: Locator, xs: list[float], ys: list[float], **kw: object) -> list[object]:
    """Answers of locate and locate_many; asserts they agree and returns them."""
    one = [loc.locate(x, y, **kw) for x, y in zip(xs, ys, strict=True)]  # type: ignore[arg-type]
    many = loc.locate_many(xs, ys, **kw)[loc.levels[0]]  # type: ignore[arg-type]
    assert many.dtype == "string"
    assert [None if v is pd.NA else v for v in many.tolist()] == one
    return one


def test_interior_points(loc: Locator) -> None:
    names = sorted(GRID)
    xs, ys = zip(*(_centre(n) for n in names), strict=True)
    assert _both(loc, list(xs), list(ys)) == names


@pytest.mark.usefixtures("bulk_path")
def test_shared_edge_and_vertex_go_to_smallest_id(grid: gpd.GeoDataFrame) -> None:
    xm, ym = X0 + S, Y0 + S  # the vertex all four squares share
    xs = [xm, X0 + 0.5 * S, xm, X0 + 1.5 * S, xm]
    ys = [Y0 + 0.5 * S, ym, Y0 + 1.5 * S, ym, ym]
    # edges: A|B -> A, A|C -> A, C|D -> C, B|D -> B; vertex of all four -> A
    expected = ["A", "A", "C", "B", "A"]
    for frame in (grid, grid.iloc[::-1], grid.sample(frac=1, random_state=1)):
        assert _both(Locator(frame), xs, ys) == expected


@pytest.mark.usefixtures("bulk_path")
def test_outer_boundary_is_inside(loc: Locator) -> None:
    # covers semantics: the outer edge and corner belong to the square
    assert _both(loc, [X0, X0, X0 + 2 * S], [Y0 + 10, Y0, Y0 + 2 * S]) == ["A", "A", "D"]


@pytest.mark.usefixtures("bulk_path")
def test_lattice_invariant_matches_covers_rule(loc: Locator, grid: gpd.GeoDataFrame) -> None:
    """Random points on a lattice (many on edges): the answer is the smallest covering id."""
    rng = np.random.default_rng(42)
    step = S / 4
    xs = X0 - S / 2 + step * rng.integers(0, 13, 600)
    ys = Y0 - S / 2 + step * rng.integers(0, 13, 600)
    got = _both(loc, xs.tolist(), ys.tolist())
    pts = shapely.points(xs, ys)
    covering = [sorted(grid.id[grid.covers(p)]) for p in pts]
    assert got == [c[0] if c else None for c in covering]
    on_edges = sum(len(c) > 1 for c in covering)
    assert on_edges > 50  # the lattice really exercised shared edges and vertices
    assert sum(g is None for g in got) == sum(not c for c in covering) > 0


@pytest.mark.usefixtures("bulk_path")
def test_overlaps_holes_and_multipolygons() -> None:
    """Overlapping squares, a polygon with a hole, a two-part polygon: smallest covering id."""
    ring = box(X0 + 1200, Y0, X0 + 2000, Y0 + 800).difference(
        box(X0 + 1400, Y0 + 200, X0 + 1800, Y0 + 600)
    )
    layer = gpd.GeoDataFrame(
        {"id": ["R", "Q", "P", "H"]},
        geometry=[
            shapely.MultiPolygon([ring, box(X0 + 2200, Y0, X0 + 2400, Y0 + 200)]),
            box(X0 + 400, Y0 + 400, X0 + 1000, Y0 + 1000),
            box(X0, Y0, X0 + 600, Y0 + 600),
            box(X0 + 1500, Y0 + 300, X0 + 1700, Y0 + 500),  # an island in R's hole
        ],
        crs=27700,
    )
    loc = Locator(layer)
    rng = np.random.default_rng(11)
    lattice_x = X0 - 100 + 50.0 * rng.integers(0, 53, 1500)
    lattice_y = Y0 - 100 + 50.0 * rng.integers(0, 25, 1500)
    xs = np.concatenate([lattice_x, rng.uniform(X0 - 100, X0 + 2500, 1500)])
    ys = np.concatenate([lattice_y, rng.uniform(Y0 - 100, Y0 + 1100, 1500)])
    got = _both(loc, xs.tolist(), ys.tolist())
    pts = shapely.points(xs, ys)
    ids = sorted(layer.id)
    covers = np.column_stack([layer.geometry[layer.id == i].iloc[0].covers(pts) for i in ids])
    want = [ids[int(np.argmax(row))] if row.any() else None for row in covers]
    assert got == want
    # every kind of place was hit: overlap, hole, island, second part, outside, edges
    assert {"P", "Q", "R", "H", None} <= set(got)
    assert (covers.sum(axis=1) > 1).sum() > 20  # overlaps and shared edges were exercised


def test_outside_and_tolerance(loc: Locator) -> None:
    east = X0 + 2 * S
    # 5 m east of D, 5 m east of B
    xs, ys = [east + 5, east + 5], [Y0 + 1.5 * S, Y0 + 0.5 * S]
    assert _both(loc, xs, ys) == [None, None]
    assert _both(loc, xs, ys, tolerance=10) == ["D", "B"]
    assert _both(loc, xs, ys, tolerance=4.9) == [None, None]
    assert _both(loc, xs, ys, tolerance=5.0) == ["D", "B"]  # distance <= tolerance
    # 5 m east of the B|D corner line: equally near B and D -> the smaller id
    assert _both(loc, [east + 5], [Y0 + S], tolerance=10) == ["B"]
    # 3 m south and 4 m east of the outer corner of B: distance 5
    assert _both(loc, [east + 4], [Y0 - 3], tolerance=5) == ["B"]
    assert _both(loc, [east + 4], [Y0 - 3], tolerance=4.99) == [None]
    # inside points are not moved by a tolerance
    cx, cy = _centre("C")
    assert _both(loc, [cx], [cy], tolerance=5_000) == ["C"]


@pytest.mark.usefixtures("bulk_path")
def test_tolerance_picks_nearest_not_smallest_id(loc: Locator) -> None:
    top = Y0 + 2 * S
    # 2 m north of D's top edge; C is 500 m away: D although "C" < "D"
    assert _both(loc, [X0 + 1.5 * S], [top + 2], tolerance=1_000) == ["D"]
    # 1 m east of the C|D line, 2 m north: D at 2 m, C at sqrt(5) m
    assert _both(loc, [X0 + S + 1], [top + 2], tolerance=100) == ["D"]
    # 1 m west of it: C at 2 m, D at sqrt(5) m
    assert _both(loc, [X0 + S - 1], [top + 2], tolerance=100) == ["C"]


@pytest.mark.usefixtures("bulk_path")
def test_nan_and_missing_points(loc: Locator) -> None:
    cx, cy = _centre("B")
    assert loc.locate(math.nan, cy) is None
    assert loc.locate(cx, math.inf, tolerance=10) is None
    assert _both(loc, [cx, math.nan, cx], [cy, cy, math.nan], tolerance=10) == ["B", None, None]
    far = [1e300, -1e300, cx, cx]
    assert _both(loc, far, [cy, cy, 1e300, -math.inf], tolerance=10) == [None] * 4
    pts = gpd.GeoSeries(
        [shapely.Point(cx, cy), None, shapely.Point(), shapely.Point(cx, cy)],
        index=[10, 20, 30, 40],
        crs=27700,
    )
    out = loc.locate_many(pts)
    assert list(out.index) == [10, 20, 30, 40]
    assert out["beat"].isna().tolist() == [False, True, True, False]


def test_locate_many_inputs_and_index(loc: Locator, grid: gpd.GeoDataFrame) -> None:
    names = sorted(GRID)
    centres = np.array([_centre(n) for n in names])
    idx = pd.Index(list("wxyz"), name="call")
    x = pd.Series(centres[:, 0], index=idx)
    by_arrays = loc.locate_many(x, centres[:, 1])
    assert by_arrays.index.equals(idx)
    assert by_arrays["beat"].tolist() == names
    by_pairs = loc.locate_many(centres)
    assert by_pairs["beat"].tolist() == names
    frame = gpd.GeoDataFrame({"n": range(4)}, geometry=shapely.points(centres), crs=27700)
    frame.index = idx
    before = frame.copy()
    by_frame = loc.locate_many(frame)
    assert by_frame.index.equals(idx)
    assert by_frame["beat"].tolist() == names
    pd.testing.assert_frame_equal(frame, before)
    empty = loc.locate_many(np.empty(0), np.empty(0))
    assert list(empty.columns) == ["beat"] and len(empty) == 0


def test_lonlat_input_is_transformed(loc: Locator) -> None:
    names = sorted(GRID)
    native = gpd.GeoSeries([shapely.Point(*_centre(n)) for n in names], crs=27700)
    lonlat = native.to_crs(4326)
    lon, lat = lonlat.x.to_numpy(), lonlat.y.to_numpy()
    assert [loc.locate(a, b, crs=4326) for a, b in zip(lon, lat, strict=True)] == names
    assert [loc.locate(a, b, crs="EPSG:4326") for a, b in zip(lon, lat, strict=True)] == names
    assert loc.locate_many(lon, lat, crs=4326)["beat"].tolist() == names
    assert loc.locate_many(lonlat)["beat"].tolist() == names
    assert loc.locate_many(lonlat.to_frame("geometry"))["beat"].tolist() == names
    # the same numbers taken as metres are nowhere near the squares
    assert loc.locate(lon[0], lat[0]) is None


@pytest.mark.usefixtures("bulk_path")
def test_lonlat_edge_points_agree_between_locate_and_locate_many(loc: Locator) -> None:
    rng = np.random.default_rng(7)
    step = S / 8
    xs = X0 + step * rng.integers(0, 17, 300)
    ys = Y0 + step * rng.integers(0, 17, 300)
    ll = gpd.GeoSeries(shapely.points(xs, ys), crs=27700).to_crs(4326)
    one = [loc.locate(a, b, crs=4326) for a, b in zip(ll.x, ll.y, strict=True)]
    many = loc.locate_many(ll.x.to_numpy(), ll.y.to_numpy(), crs=4326)["beat"]
    assert [None if v is pd.NA else v for v in many.tolist()] == one
    assert loc.locate_many(ll)["beat"].equals(many)


def test_geographic_layer_is_held_in_metres(grid: gpd.GeoDataFrame) -> None:
    loc = Locator(grid.to_crs(4326))
    assert loc.crs.is_projected and loc.crs.to_epsg() == 27700
    assert loc.locate(*_centre("C")) == "C"
    assert loc.locate(*_centre("C"), tolerance=1) == "C"
    utm = Locator(grid, crs="EPSG:32630")
    assert utm.crs.to_epsg() == 32630
    p = gpd.GeoSeries([shapely.Point(*_centre("D"))], crs=27700)
    assert utm.locate_many(p)["area"].tolist() == ["D"]


@pytest.mark.usefixtures("bulk_path")
def test_hierarchy(grid: gpd.GeoDataFrame) -> None:
    npas = gpd.GeoDataFrame(
        {"code": ["N2", "N1"]},
        geometry=[_square(0, 0).union(_square(1, 0)), _square(0, 1).union(_square(1, 1))],
        crs=27700,
    ).to_crs(4326)  # another CRS: reprojected into the first level's
    loc = Locator.from_layers({"beat": grid, "npa": npas}, id_col={"beat": "id", "npa": "code"})
    assert loc.levels == ("beat", "npa")
    assert loc.crs.to_epsg() == 27700
    assert loc.locate(*_centre("D")) == {"beat": "D", "npa": "N1"}
    assert loc.locate(X0 - 50, Y0) == {"beat": None, "npa": None}
    assert loc.locate(X0 - 50, Y0 + 10, tolerance=100) == {"beat": "A", "npa": "N2"}
    xm, ym = X0 + S, Y0 + S  # on the N1|N2 line: N1 < N2
    assert loc.locate(xm, ym) == {"beat": "A", "npa": "N1"}
    out = loc.locate_many([xm, X0 - 50, math.nan], [ym, Y0, Y0])
    assert list(out.columns) == ["beat", "npa"]
    assert (out.dtypes == "string").all()
    assert out.iloc[0].tolist() == ["A", "N1"]
    assert out.iloc[1:].isna().all().all()
    assert loc.ids("npa") == ["N1", "N2"]
    with pytest.raises(OptionError, match="'ward'"):
        loc.ids("ward")
    with pytest.raises(OptionError, match="name one"):
        loc.ids()


def test_caller_layer_untouched(grid: gpd.GeoDataFrame) -> None:
    before = grid.copy()
    Locator(grid).locate(*_centre("A"))
    pd.testing.assert_frame_equal(grid, before)
    assert not shapely.is_prepared(np.asarray(grid.geometry.array)).any()


def test_integer_ids_become_strings(grid: gpd.GeoDataFrame) -> None:
    loc = Locator(grid, id_col="pop")
    assert loc.ids() == ["1", "2", "3", "4"]
    assert loc.locate(*_centre("D")) == "1"


# -- bad input -------------------------------------------------------------------------------
def test_layer_without_crs(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(CRSError, match="no CRS.*set_crs"):
        Locator(grid.set_crs(None, allow_override=True))


def test_layer_crs_that_cannot_be_right(grid: gpd.GeoDataFrame) -> None:
    wrong = grid.to_crs(4326).set_crs(27700, allow_override=True)
    with pytest.raises(CRSError, match="look like lon/lat"):
        Locator(wrong)


def test_geographic_working_crs_rejected(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(CRSError, match="projected"):
        Locator(grid, crs=4326)


def test_invalid_polygon_is_named_in_a_warning(
    grid: gpd.GeoDataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    # a bow-tie in place of C: built, but the caller is told which id is invalid
    bowtie = shapely.Polygon(
        [(X0, Y0 + S), (X0 + S, Y0 + 2 * S), (X0 + S, Y0 + S), (X0, Y0 + 2 * S)]
    )
    bad = grid.copy()
    bad.loc[bad.id == "C", "geometry"] = bowtie
    with caplog.at_level("WARNING", logger="beatplan"):
        loc = Locator(bad)
    warned = [r.getMessage() for r in caplog.records if "invalid" in r.getMessage()]
    assert len(warned) == 1 and "'C'" in warned[0] and "make_valid" in warned[0]
    assert loc.locate(*_centre("A")) == "A"  # the valid squares still answer
    caplog.clear()
    with caplog.at_level("WARNING", logger="beatplan"):
        Locator(grid)
    assert not [r for r in caplog.records if "invalid" in r.getMessage()]


def test_duplicate_ids(grid: gpd.GeoDataFrame) -> None:
    dup = grid.assign(id=["A", "B", "A", "C"])
    with pytest.raises(DuplicateIdError, match=r"A \(x2\).*dissolve\(by='id'"):
        Locator(dup)


def test_empty_layer(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(EmptyInputError, match="no features"):
        Locator(grid.iloc[:0])
    with pytest.raises(EmptyInputError):
        Locator.from_layers({})


@pytest.mark.parametrize(
    "geom",
    [shapely.Point(X0, Y0), shapely.LineString([(X0, Y0), (X0 + 1, Y0)]), shapely.Polygon(), None],
    ids=["point", "line", "empty", "null"],
)
def test_non_polygon_layer(grid: gpd.GeoDataFrame, geom: object) -> None:
    bad = grid.copy()
    bad.loc[bad.id == "C", "geometry"] = geom
    with pytest.raises(GeometryError, match=r"ids 'C'"):
        Locator(bad)


def test_missing_and_null_ids(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(ColumnNotFoundError, match="'beat_num'.*'id', 'pop'"):
        Locator(grid, id_col="beat_num")
    with pytest.raises(InputFormatError, match="null id"):
        Locator(grid.assign(id=["A", None, "C", "D"]))
    with pytest.raises(ColumnNotFoundError, match="'npa'"):
        Locator.from_layers({"beat": grid, "npa": grid}, id_col={"beat": "id"})


def test_not_a_geodataframe(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(InputFormatError, match="GeoDataFrame"):
        Locator(grid.geometry)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="level names"):
        Locator(grid, level="")


@pytest.mark.parametrize("tol", [-1, math.nan, math.inf, "far", True])
def test_bad_tolerance(loc: Locator, tol: object) -> None:
    with pytest.raises(OptionError, match="tolerance"):
        loc.locate(*_centre("A"), tolerance=tol)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="tolerance"):
        loc.locate_many([X0], [Y0], tolerance=tol)  # type: ignore[arg-type]


def test_bad_points(loc: Locator) -> None:
    with pytest.raises(GeometryError, match="not points"):
        loc.locate_many(gpd.GeoSeries([_square(0, 0)], crs=27700))
    with pytest.raises(CRSError, match="no CRS"):
        loc.locate_many(gpd.GeoSeries([shapely.Point(*_centre("A"))]))
    assert loc.locate_many(gpd.GeoSeries([shapely.Point(*_centre("A"))]), crs=27700)[
        "beat"
    ].tolist() == ["A"]
    with pytest.raises(CRSMismatchError, match="EPSG:27700"):
        loc.locate_many(gpd.GeoSeries([shapely.Point(*_centre("A"))], crs=27700), crs=4326)
    with pytest.raises(InputFormatError, match="y must not be given"):
        loc.locate_many(gpd.GeoSeries([shapely.Point(*_centre("A"))], crs=27700), [1.0])
    with pytest.raises(InputFormatError, match="equal length"):
        loc.locate_many([1.0, 2.0], [1.0])
    with pytest.raises(InputFormatError, match="numbers"):
        loc.locate_many(["a"], ["b"])
    with pytest.raises(InputFormatError, match=r"shape \(n, 2\)"):
        loc.locate_many([1.0, 2.0, 3.0])
    with pytest.raises(InputFormatError, match="numbers"):
        loc.locate("a", 1.0)  # type: ignore[arg-type]
    with pytest.raises(InputFormatError, match="numbers"):
        loc.locate(None, 1.0, crs=4326)  # type: ignore[arg-type]
    with pytest.raises(CRSError, match="not a coordinate reference system"):
        loc.locate(1.0, 1.0, crs="EPSG:nonsense")


def test_errors_share_the_root(grid: gpd.GeoDataFrame) -> None:
    with pytest.raises(BeatplanError):
        Locator(grid.assign(id="same"))
    with pytest.raises(ValueError):
        Locator(grid.iloc[:0])


# -- save / load -----------------------------------------------------------------------------
def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _refuse_rtree_builds(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way of filling an rtree fail, so only reopening a saved one works."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the rtree was rebuilt")

    for name in ("insert", "add", "_create_idx_from_stream", "_create_idx_from_array"):
        monkeypatch.setattr(rindex.Index, name, refuse)


def test_rebuild_guard_is_live(
    grid: gpd.GeoDataFrame, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # the guard used below can fail: building a locator (or saving one) does go through it
    loc = Locator(grid)
    _refuse_rtree_builds(monkeypatch)
    with pytest.raises(AssertionError, match="rebuilt"):
        Locator(grid)
    with pytest.raises(AssertionError, match="rebuilt"):
        loc.save(tmp_path / "loc")
    assert list(tmp_path.iterdir()) == []  # a failed save leaves nothing behind


def test_save_load_roundtrip(grid: gpd.GeoDataFrame, tmp_path: Path) -> None:
    npas = gpd.GeoDataFrame({"id": ["N"]}, geometry=[_square(0, 0).union(_square(1, 0))], crs=27700)
    loc = Locator.from_layers({"beat": grid, "npa": npas})
    out = loc.save(tmp_path / "loc")
    assert (out / MANIFEST).is_file()
    assert {p.suffix for p in out.iterdir()} == {".json", ".idx", ".dat", ".parquet", ".npz"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left
    # the polygon sidecar is GeoParquet that GIS tools (and geopandas) open
    side = gpd.read_parquet(out / "level1.parquet")
    assert side.crs.equals(CRS.from_epsg(27700)) and side.id.tolist() == ["N"]

    rng = np.random.default_rng(3)
    xs = X0 - 100 + rng.integers(0, 9, 400) * 275.0
    ys = Y0 - 100 + rng.integers(0, 9, 400) * 275.0
    want = loc.locate_many(xs, ys, tolerance=60)
    with Locator.load(out) as back:
        assert back.levels == loc.levels and back.crs.equals(loc.crs)
        pd.testing.assert_frame_equal(back.locate_many(xs, ys, tolerance=60), want)
        one = [back.locate(x, y, tolerance=60) for x, y in zip(xs, ys, strict=True)]
        assert one == [loc.locate(x, y, tolerance=60) for x, y in zip(xs, ys, strict=True)]


def test_load_does_not_rebuild_or_rewrite(
    loc: Locator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = loc.save(tmp_path / "loc")
    before = _digest(folder)
    _refuse_rtree_builds(monkeypatch)

    def refuse_grid(*args: object, **kwargs: object) -> None:
        raise AssertionError("the grid was rebuilt")

    monkeypatch.setattr(locator_index.Grid, "build", refuse_grid)
    monkeypatch.setattr(locator_index, "GRID_MIN_POINTS", 0)  # bulk goes through the grid
    back = Locator.load(folder)
    names = sorted(GRID)
    assert [back.locate(*_centre(n)) for n in names] == names
    assert back.locate(X0 + S, Y0 + S) == "A"
    xs, ys = zip(*(_centre(n) for n in names), strict=True)
    assert back.locate_many(list(xs), list(ys))["beat"].tolist() == names
    assert back._levels[0].rtree.properties.storage == rindex.RT_Disk
    back.close()
    assert _digest(folder) == before


def test_load_reads_the_saved_index(loc: Locator, tmp_path: Path) -> None:
    folder = loc.save(tmp_path / "loc")
    (folder / "level0.dat").unlink()
    with pytest.raises(InputFormatError, match=r"level0\.dat"):
        Locator.load(folder)


def test_load_rejects_a_broken_rtree(
    loc: Locator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = loc.save(tmp_path / "loc")
    idx = folder / "level0.idx"
    good = idx.read_bytes()
    idx.write_bytes(b"\0" * 16)
    with pytest.raises(InputFormatError, match=r"level0\.idx"):
        Locator.load(folder)
    idx.write_bytes(good)

    def unwritable(*args: object, **kwargs: object) -> None:
        raise OSError("Unable to open file for index storage")

    monkeypatch.setattr(rindex, "Index", unwritable)
    with pytest.raises(InputFormatError, match="writable"):
        Locator.load(folder)


def test_load_rejects_a_bad_grid(loc: Locator, tmp_path: Path) -> None:
    folder = loc.save(tmp_path / "loc")
    with np.load(folder / "level0.grid.npz") as saved:
        arrays = dict(saved)
    arrays["cands"] = arrays["cands"] + 100  # ranks beyond the 4 polygons
    np.savez(folder / "level0.grid.npz", **arrays)
    with pytest.raises(InputFormatError, match="not a valid grid"):
        Locator.load(folder)
    (folder / "level0.grid.npz").write_bytes(b"not numpy")
    with pytest.raises(InputFormatError, match="not a valid grid"):
        Locator.load(folder)


def test_save_guards(loc: Locator, tmp_path: Path) -> None:
    folder = loc.save(tmp_path / "loc")
    with pytest.raises(OutputExistsError, match="overwrite=True"):
        loc.save(folder)
    loc.save(folder, overwrite=True)
    assert Locator.load(folder).locate(*_centre("B")) == "B"
    nested = loc.save(tmp_path / "new" / "dir" / "loc")  # missing parents are made
    assert Locator.load(nested).locate(*_centre("C")) == "C"
    other = tmp_path / "mine"
    other.mkdir()
    (other / "keep.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="not a saved locator"):
        loc.save(other, overwrite=True)
    assert (other / "keep.txt").read_text() == "x"


def test_load_bad_folder(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="not a saved locator"):
        Locator.load(tmp_path / "nothing")
    (tmp_path / MANIFEST).write_text('{"format": "other", "version": 9}')
    with pytest.raises(InputFormatError, match="expected format"):
        Locator.load(tmp_path)


# -- real data: Chicago police beats and January 2018 crimes ---------------------------------
CHICAGO_UTM = 32616


@pytest.fixture(scope="module")
def chicago(shared_data: Path) -> dict[str, object]:
    folder = shared_data / "chicago"
    beats = gpd.read_file(folder / "police_beats_current.shp")
    beats = beats.set_crs(4326, allow_override=True).to_crs(CHICAGO_UTM)
    # beat_num "3100" is three separate polygons: one beat, so merge them
    beats = beats.dissolve("beat_num", as_index=False)
    districts = gpd.read_file(folder / "police_districts.geojson").to_crs(CHICAGO_UTM)
    districts = districts.dissolve("DIST_NUM", as_index=False)  # "31" is three polygons too
    crimes = pd.read_csv(
        folder / "crimes_2018-01_sample.csv",
        usecols=["Beat", "Latitude", "Longitude"],
        dtype={"Beat": "string"},
    )
    points = gpd.GeoDataFrame(
        crimes, geometry=gpd.points_from_xy(crimes.Longitude, crimes.Latitude), crs=4326
    )
    return {
        "beats": beats,
        "districts": districts,
        "crimes": crimes,
        "points": points,
        "loc": Locator(beats, id_col="beat_num", level="beat"),
    }


def _check_against_sjoin(
    got: pd.Series, points: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, col: str
) -> int:
    """Assert ``got`` is sjoin's match for every point (the smallest id where several polygons
    cover it, the locator's tie rule); return how many points had exactly one match."""
    j = gpd.sjoin(points[["geometry"]], layer[[col, "geometry"]], predicate="intersects")
    # nothing lost: a point is located exactly when sjoin finds a polygon for it
    assert set(got.index[got.notna()]) == set(j.index)
    smallest = j[col].astype(str).groupby(level=0).min()
    assert got[smallest.index].astype(object).tolist() == smallest.tolist()
    matches = j.index.value_counts()
    return int((matches == 1).sum())


@pytest.mark.usefixtures("bulk_path")
@pytest.mark.realdata
def test_chicago_matches_sjoin(chicago: dict[str, object]) -> None:
    loc: Locator = chicago["loc"]  # type: ignore[assignment]
    points: gpd.GeoDataFrame = chicago["points"]  # type: ignore[assignment]
    got = loc.locate_many(points)["beat"]
    assert got.index.equals(points.index)
    utm = points.to_crs(CHICAGO_UTM)
    n_single = _check_against_sjoin(got, utm, chicago["beats"], "beat_num")  # type: ignore[arg-type]
    assert n_single > 16_000  # nearly every point has exactly one beat
    no_xy = chicago["crimes"].Latitude.isna().to_numpy()  # type: ignore[attr-defined]
    assert no_xy.sum() == 160  # as PROVENANCE.md says
    assert got[no_xy].isna().all()


@pytest.mark.usefixtures("bulk_path")
@pytest.mark.realdata
def test_chicago_locate_equals_locate_many(chicago: dict[str, object]) -> None:
    loc: Locator = chicago["loc"]  # type: ignore[assignment]
    crimes: pd.DataFrame = chicago["crimes"]  # type: ignore[assignment]
    lon, lat = crimes.Longitude.to_numpy(), crimes.Latitude.to_numpy()
    many = loc.locate_many(lon, lat, crs=4326)["beat"]
    one = [loc.locate(a, b, crs=4326) for a, b in zip(lon, lat, strict=True)]
    assert [None if v is pd.NA else v for v in many.tolist()] == one
    tol = loc.locate_many(lon, lat, crs=4326, tolerance=500)["beat"]
    assert (tol[many.notna()] == many[many.notna()]).all()  # tolerance only adds answers
    assert tol.notna().sum() > many.notna().sum()


@pytest.mark.realdata
def test_chicago_recorded_beat_agreement(chicago: dict[str, object]) -> None:
    loc: Locator = chicago["loc"]  # type: ignore[assignment]
    points: gpd.GeoDataFrame = chicago["points"]  # type: ignore[assignment]
    recorded = chicago["crimes"]["Beat"]  # type: ignore[index]
    has_xy = points.geometry.notna() & ~points.geometry.is_empty
    got = loc.locate_many(points)["beat"]
    rate_locator = float((got[has_xy] == recorded[has_xy]).fillna(False).mean())
    # plain point-in-polygon: sjoin "within", one beat per point
    j = gpd.sjoin(
        points[has_xy].to_crs(CHICAGO_UTM)[["geometry"]],
        chicago["beats"][["beat_num", "geometry"]],  # type: ignore[index]
        predicate="within",
        how="left",
    )
    j = j[~j.index.duplicated()]
    rate_pip = float((j.beat_num == recorded[j.index]).fillna(False).mean())
    assert rate_locator == pytest.approx(rate_pip, abs=1e-12)
    assert 0.85 < rate_locator < 1.0  # a sanity check on the join, not the figure


@pytest.mark.realdata
def test_chicago_save_load(chicago: dict[str, object], tmp_path: Path) -> None:
    loc: Locator = chicago["loc"]  # type: ignore[assignment]
    points: gpd.GeoDataFrame = chicago["points"]  # type: ignore[assignment]
    want = loc.locate_many(points)
    with Locator.load(loc.save(tmp_path / "beats")) as back:
        pd.testing.assert_frame_equal(back.locate_many(points), want)
        utm = points.to_crs(CHICAGO_UTM)
        sub = utm.geometry[utm.geometry.notna() & ~utm.geometry.is_empty].iloc[::10]
        expected = [None if v is pd.NA else v for v in want["beat"][sub.index].tolist()]
        assert [back.locate(p.x, p.y) for p in sub] == expected


@pytest.mark.realdata
def test_chicago_hierarchy(chicago: dict[str, object]) -> None:
    beats: gpd.GeoDataFrame = chicago["beats"]  # type: ignore[assignment]
    districts: gpd.GeoDataFrame = chicago["districts"]  # type: ignore[assignment]
    points: gpd.GeoDataFrame = chicago["points"]  # type: ignore[assignment]
    loc = Locator.from_layers(
        {"beat": beats, "district": districts.to_crs(4326)},
        id_col={"beat": "beat_num", "district": "DIST_NUM"},
    )
    assert loc.crs.to_epsg() == CHICAGO_UTM
    out = loc.locate_many(points)
    assert list(out.columns) == ["beat", "district"]
    single = chicago["loc"].locate_many(points)["beat"]  # type: ignore[attr-defined]
    assert out["beat"].equals(single)
    _check_against_sjoin(out["district"], points.to_crs(CHICAGO_UTM), districts, "DIST_NUM")
    # beats nest in districts: the beat's own district attribute names the located district
    beat_district = dict(zip(beats.beat_num, beats.district.str.lstrip("0"), strict=True))
    both = out.dropna()
    nested = both["beat"].map(beat_district) == both["district"]
    assert nested.all()  # PROVENANCE.md: every beat lies inside its district
    first = points.geometry[both.index[0]]
    answer = loc.locate(first.x, first.y, crs=4326)
    assert answer == {"beat": both["beat"].iloc[0], "district": both["district"].iloc[0]}
