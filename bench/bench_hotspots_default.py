"""Benchmark: the default hotspot method beside the previous default (Gi*), find and backtest.

Run from the repository root: ``python bench/bench_hotspots_default.py [--sizes 1000000,6000000]
[--repeat 2] [--no-real]``.

Cases:

* the Leicestershire police.uk year (``../shared/data``, 110,539 located incidents, 12 months;
  study area: its 171 wards), when the data are there;
* ``--sizes`` generated incidents over 50 km x 50 km spread over 12 months: about 200 Gaussian
  hotspots (sd 50-500 m, 60 % of the incidents) and 40 % uniform background, snapped like
  police.uk data to anonymous map points (one map point per 40 incidents, drawn from the same
  mixture), the study area the 50 km square.

Printed per case and method: ``find_hotspots`` on the last 3 months (the default training
window of the backtest) and on everything, and ``backtest`` (map mode: find on each fold's 3
training months, the polygons scored against the naive 100 m baseline), each the best of
``--repeat`` runs, with the ratio to Gi* in the same process; and the backtest's verdict. The
machine's load (``os.getloadavg``) is printed beside the timings.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from _timing import best_of  # bench/ is the script's folder, first on sys.path
from scipy.spatial import cKDTree

from beatplan.hotspots import DEFAULT_METHOD, backtest, backtest_summary, find_hotspots

SIDE = 50_000.0
PREVIOUS = "gistar"


def generate(n: int, seed: int = 0) -> gpd.GeoDataFrame:
    """Snapped incidents of 12 months: 200 Gaussian hotspots (60 %) and uniform background."""
    rng = np.random.default_rng(seed)

    def mixture(m: int) -> np.ndarray:
        k = 200
        centres = np.random.default_rng(seed + 1).uniform(2_000, SIDE - 2_000, (k, 2))
        sd = np.random.default_rng(seed + 2).uniform(50, 500, k)
        share = np.random.default_rng(seed + 3).lognormal(0, 0.8, k)
        n_hot = int(0.6 * m)
        which = np.repeat(np.arange(k), rng.multinomial(n_hot, share / share.sum()))
        hot = centres[which] + rng.normal(size=(n_hot, 2)) * sd[which, None]
        xy = np.concatenate([hot, rng.uniform(0, SIDE, (m - n_hot, 2))])
        return np.clip(xy, 0, SIDE - 1e-6)

    map_points = mixture(max(1000, n // 40))
    _, nearest = cKDTree(map_points).query(mixture(n), workers=-1)
    xy = map_points[nearest]
    month = pd.PeriodIndex.from_ordinals(
        rng.integers(0, 12, n) + pd.Period("2024-01", "M").ordinal, freq="M"
    ).to_timestamp()
    return gpd.GeoDataFrame(
        {"month": month}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700
    )


def leicestershire() -> tuple[Any, gpd.GeoDataFrame] | None:
    """The Leicestershire police.uk year and its wards, or None when the data are absent."""
    from beatplan.geo import read_boundaries, read_incidents

    root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    if not (root / "leicestershire_street_crime").is_dir():
        return None
    inc = read_incidents(root / "leicestershire_street_crime")
    wards = read_boundaries(root / "leicestershire_boundaries" / "wd13_wards_by_lad")
    return inc, wards.to_crs(inc.crs)


def run_case(name: str, incidents: Any, area: Any, repeat: int, methods: list[str]) -> None:
    load = "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    points = getattr(incidents, "points", incidents)
    print(f"\n== {name}: {len(points):,} incidents ({load})")
    times: dict[str, dict[str, float]] = {}
    for method in methods:
        t3, hs = best_of(repeat, find_hotspots, incidents, method=method, since="3M",
                         study_area=area)  # fmt: skip
        t_all, _ = best_of(repeat, find_hotspots, incidents, method=method, study_area=area)
        tb, table = best_of(1, backtest, incidents, method, study_area=area, progress=False)
        times[method] = {"find 3 months": t3, "find all": t_all, "backtest": tb}
        print(f"{method:>8}: find 3 months {t3:7.2f} s ({len(hs)} hotspots, "
              f"{hs.coverage:.2%}), find all {t_all:7.2f} s, backtest "
              f"{tb:7.2f} s ({table['test_start'].nunique()} folds)")  # fmt: skip
        for verdict in backtest_summary(table)["verdict"]:
            print(f"          {verdict}")
    if PREVIOUS in times:
        for method in times:
            if method == PREVIOUS:
                continue
            ratios = ", ".join(
                f"{k} {times[method][k] / times[PREVIOUS][k]:.2f}x" for k in times[method]
            )
            print(f"{method} / {PREVIOUS}: {ratios} (time; below 1 is faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000000,6000000")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--no-real", action="store_true", help="skip Leicestershire")
    args = parser.parse_args()
    methods = [DEFAULT_METHOD] + ([PREVIOUS] if PREVIOUS != DEFAULT_METHOD else [])
    if not args.no_real:
        real = leicestershire()
        if real is None:
            print("Leicestershire data not found (../shared/data): skipped")
        else:
            run_case("Leicestershire police.uk year", real[0], real[1], args.repeat, methods)
    square = shapely.box(0, 0, SIDE, SIDE)
    for n in (int(v) for v in args.sizes.split(",") if v.strip()):
        t = time.perf_counter()
        pts = generate(n)
        print(f"\n(generated {n:,} incidents in {time.perf_counter() - t:.1f} s)")
        run_case(f"generated {n:,}", pts, square, args.repeat, methods)


if __name__ == "__main__":
    main()
