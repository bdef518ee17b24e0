"""Benchmark beatplan.geo.locator.Locator on Chicago's 275 police beats.

Run: ``python bench/bench_locate.py [--single 10000] [--bulk 1000000] [--seed 0]``

Prints, in one run on the same random points:
* single-point ``locate`` latency (median and 90th percentile, µs) against shapely's
  ``STRtree.query(Point, predicate="intersects")`` as the reference;
* bulk ``locate_many`` (point GeoSeries, and plain x/y arrays) against
  ``geopandas.sjoin(predicate="intersects")``, with the ratio;
* the time to build, save and load the locator.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from beatplan.geo.locator import Locator

DATA = Path(
    os.environ.get("BEATPLAN_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
UTM = 32616


def _beats() -> gpd.GeoDataFrame:
    beats = gpd.read_file(DATA / "chicago" / "police_beats_current.shp")
    beats = beats.set_crs(4326, allow_override=True).to_crs(UTM)
    return beats.dissolve("beat_num", as_index=False)[["beat_num", "geometry"]]


def _percentiles(ns: list[int]) -> tuple[float, float]:
    us = sorted(v / 1000 for v in ns)
    return statistics.median(us), us[int(0.9 * (len(us) - 1))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--single", type=int, default=10_000, help="single-point calls")
    ap.add_argument("--bulk", type=int, default=1_000_000, help="points for the bulk test")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)

    beats = _beats()
    t = time.perf_counter()
    loc = Locator(beats, id_col="beat_num", level="beat")
    print(f"build: {1e3 * (time.perf_counter() - t):.1f} ms for {len(beats)} beats")
    minx, miny, maxx, maxy = beats.total_bounds

    # -- single point -----------------------------------------------------------------------
    xs = rng.uniform(minx, maxx, args.single)
    ys = rng.uniform(miny, maxy, args.single)
    pairs = list(zip(xs.tolist(), ys.tolist(), strict=True))
    for x, y in pairs[:200]:  # warm up (prepared geometries build their internal index lazily)
        loc.locate(x, y)
    ns = []
    clock = time.perf_counter_ns
    for x, y in pairs:
        t0 = clock()
        loc.locate(x, y)
        ns.append(clock() - t0)
    med, p90 = _percentiles(ns)
    inside = sum(loc.locate(x, y) is not None for x, y in pairs)
    print(
        f"locate (1 point, {len(pairs)} calls, {inside / len(pairs):.0%} inside a beat): "
        f"median {med:.1f} µs, p90 {p90:.1f} µs"
    )
    lonlat = gpd.GeoSeries(shapely.points(xs, ys), crs=UTM).to_crs(4326)
    ll_pairs = list(zip(lonlat.x.tolist(), lonlat.y.tolist(), strict=True))
    ns = []
    for x, y in ll_pairs:
        t0 = clock()
        loc.locate(x, y, crs=4326)
        ns.append(clock() - t0)
    med_ll, p90_ll = _percentiles(ns)
    print(f"locate (lon/lat input, crs=4326): median {med_ll:.1f} µs, p90 {p90_ll:.1f} µs")

    tree = shapely.STRtree(np.asarray(beats.geometry.array))
    ns = []
    for x, y in pairs:
        t0 = clock()
        tree.query(shapely.Point(x, y), predicate="intersects")
        ns.append(clock() - t0)
    ref_med, ref_p90 = _percentiles(ns)
    print(
        f"reference STRtree.query(Point, 'intersects'), no tie rule: median {ref_med:.1f} µs, "
        f"p90 {ref_p90:.1f} µs; locate/reference = {med / ref_med:.2f}"
    )

    # -- bulk -------------------------------------------------------------------------------
    n = args.bulk
    bx = rng.uniform(minx, maxx, n)
    by = rng.uniform(miny, maxy, n)
    pts = gpd.GeoDataFrame(geometry=shapely.points(bx, by), crs=UTM)

    t = time.perf_counter()
    joined = gpd.sjoin(pts, beats, predicate="intersects", how="left")
    t_sjoin = time.perf_counter() - t
    t = time.perf_counter()
    loc.locate_many(bx, by)
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    got_xy = loc.locate_many(bx, by)
    t_xy = time.perf_counter() - t
    t = time.perf_counter()
    got = loc.locate_many(pts)
    t_many = time.perf_counter() - t
    ll = pts.to_crs(4326)
    lon, lat = ll.geometry.x.to_numpy(), ll.geometry.y.to_numpy()
    t = time.perf_counter()
    got_ll = loc.locate_many(lon, lat, crs=4326)
    t_ll = time.perf_counter() - t
    first = joined[~joined.index.duplicated()]
    same = (got["beat"].fillna("") == first["beat_num"].fillna("")).mean()
    print(f"bulk, {n:,} random points in the beats' bounding box:")
    print(f"  geopandas.sjoin(predicate='intersects')         {t_sjoin:6.2f} s")
    print(
        f"  locate_many(x, y), first call (builds the grid) {t_first:6.2f} s"
        f"  sjoin/this = {t_sjoin / t_first:5.1f}x"
    )
    print(
        f"  locate_many(x, y)                               {t_xy:6.2f} s"
        f"  sjoin/this = {t_sjoin / t_xy:5.1f}x"
    )
    print(
        f"  locate_many(GeoDataFrame of points)             {t_many:6.2f} s"
        f"  sjoin/this = {t_sjoin / t_many:5.1f}x"
    )
    print(
        f"  locate_many(lon, lat, crs=4326)                 {t_ll:6.2f} s"
        f"  sjoin/this = {t_sjoin / t_ll:5.1f}x"
    )
    print(
        f"  same answer as sjoin: {same:.4%}; x/y == GeoDataFrame: "
        f"{got_xy.equals(got.reset_index(drop=True))}; lon/lat == x/y: "
        f"{(got_ll['beat'].fillna('') == got_xy['beat'].fillna('')).mean():.4%}"
    )

    # -- save / load ------------------------------------------------------------------------
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "beats.locator"
        t = time.perf_counter()
        loc.save(folder)
        t_save = time.perf_counter() - t
        size = sum(p.stat().st_size for p in folder.iterdir())
        t = time.perf_counter()
        back = Locator.load(folder)
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        back.locate(*pairs[0])
        t_first = time.perf_counter() - t
        t = time.perf_counter()
        Locator(beats, id_col="beat_num", level="beat")
        t_build = time.perf_counter() - t
        agree = all(back.locate(x, y) == loc.locate(x, y) for x, y in pairs[:2000])
        back.close()
    print(
        f"save {1e3 * t_save:.1f} ms ({size / 1e6:.2f} MB), load {1e3 * t_load:.1f} ms "
        f"(first locate after load {1e6 * t_first:.0f} µs), build from the layer "
        f"{1e3 * t_build:.1f} ms; loaded answers agree: {agree}"
    )


if __name__ == "__main__":
    main()
