"""Bad-input catalogue: one Locator shared by 64 threads calling locate() (issue 11, item 1).

libspatialindex (under rtree) is not thread-safe even for queries; before the fix a shared
Locator gave 0-8 % wrong answers and segfaulted. Every answer must equal locate_many's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
import shapely

from beatplan.geo.locator import Locator

N_THREADS = 64
CALLS_PER_THREAD = 300
X0, Y0, SIDE = 430_000.0, 290_000.0, 20_000.0  # a 20 km square in British National Grid


def _cells(n: int, seed: int) -> gpd.GeoDataFrame:
    """``n`` irregular polygons tiling the square, sharing edges (ties go to the smallest id)."""
    rng = np.random.default_rng(seed)
    seeds = shapely.multipoints(rng.uniform(0, SIDE, (n, 2)) + (X0, Y0))
    frame = shapely.box(X0, Y0, X0 + SIDE, Y0 + SIDE)
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=frame))
    cells = shapely.intersection(cells, frame)
    ids = [f"C{k:04d}" for k in range(len(cells))]
    return gpd.GeoDataFrame({"id": ids}, geometry=cells, crs=27700)


@pytest.fixture(scope="module")
def wards() -> gpd.GeoDataFrame:
    return _cells(300, seed=1)


@pytest.fixture(scope="module")
def beats(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return _cells(40, seed=2)


def _points(n: int, wards: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Random points over (and a little beyond) the square, a tenth on the polygons' vertices."""
    rng = np.random.default_rng(7)
    x = rng.uniform(X0 - 500, X0 + SIDE + 500, n)
    y = rng.uniform(Y0 - 500, Y0 + SIDE + 500, n)
    vertices = shapely.get_coordinates(wards.geometry.array)
    on = rng.random(n) < 0.1
    pick = vertices[rng.integers(0, len(vertices), int(on.sum()))]
    x[on], y[on] = pick[:, 0], pick[:, 1]
    return x, y


def _hammer(locate: Callable[[float, float], Any], x: np.ndarray, y: np.ndarray) -> list[Any]:
    """Call ``locate`` on every point from 64 threads started together; return the answers."""
    out: list[Any] = [None] * len(x)
    errors: list[BaseException] = []
    start = threading.Barrier(N_THREADS)
    xs, ys = x.tolist(), y.tolist()

    def work(k: int) -> None:
        start.wait()
        try:
            for i in range(k, len(xs), N_THREADS):
                out[i] = locate(xs[i], ys[i])
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    return out


def _expected(loc: Locator, x: np.ndarray, y: np.ndarray, **kw: Any) -> list[Any]:
    """locate_many's answers, in locate()'s shape (str or None; a dict per point for levels)."""
    many = loc.locate_many(x, y, **kw).astype(object)
    many = many.where(many.notna(), None)
    if len(loc.levels) == 1:
        return many.iloc[:, 0].tolist()
    return many.to_dict("records")


def _wrong(got: list[Any], want: list[Any]) -> int:
    return sum(a != b for a, b in zip(got, want, strict=True))


@pytest.mark.parametrize("case", ["one level", "hierarchy", "lon/lat input", "tolerance", "loaded"])
def test_shared_locator_answers_as_locate_many_under_64_threads(
    case: str, wards: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    n = N_THREADS * CALLS_PER_THREAD
    x, y = _points(n, wards)
    kw: dict[str, Any] = {}
    if case == "hierarchy":
        loc = Locator.from_layers({"ward": wards, "beat": beats})
    else:
        loc = Locator(wards, level="ward")
    if case == "lon/lat input":
        lonlat = gpd.GeoSeries(shapely.points(x, y), crs=27700).to_crs(4326)
        x, y = lonlat.x.to_numpy(), lonlat.y.to_numpy()
        kw = {"crs": 4326}
    elif case == "tolerance":
        kw = {"tolerance": 300.0}
    elif case == "loaded":
        loc = Locator.load(loc.save(tmp_path / "wards.locator"))
    want = _expected(loc, x, y, **kw)
    got = _hammer(lambda a, b: loc.locate(a, b, **kw), x, y)
    assert _wrong(got, want) == 0, f"{_wrong(got, want)} of {n} answers differ from locate_many"
    assert sum(v is not None for v in want) > n // 2  # most points are inside: a real test
    loc.close()


def test_threads_building_the_lazy_indexes_at_once_agree(wards: gpd.GeoDataFrame) -> None:
    """64 threads' first locate_many on a fresh Locator build its grid once, and all agree."""
    loc = Locator(wards, level="ward")
    x, y = _points(6_000, wards)  # above GRID_MIN_POINTS: the grid path
    want = _expected(Locator(wards, level="ward"), x, y)
    answers: list[list[Any]] = []
    start = threading.Barrier(N_THREADS)
    grids: set[int] = set()

    def work() -> None:
        start.wait()
        answers.append(_expected(loc, x, y))
        grids.add(id(loc._levels[0].grid))

    threads = [threading.Thread(target=work) for _ in range(N_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answers) == N_THREADS
    assert all(a == want for a in answers)
    assert len(grids) == 1  # built once, not once per thread
