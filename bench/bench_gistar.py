"""Benchmark: Gi* hotspots vs PySAL esda's G_Local on the same 250k-cell grid, and KDE on 1M.

Run from the repository root: ``python bench/bench_gistar.py [--n 1000000] [--repeat 3]``.

Data: ``--n`` generated incidents over 50 km x 50 km, about 200 Gaussian hotspots (standard
deviation 50-500 m) holding 60 % of them and 40 % uniform background, not snapped. They are
binned to 100 m cells (500 x 500 = 250,000 cells) and Gi* is computed over a 150 m distance
band (a cell and its 8 neighbours).

Printed: esda ``G_Local(y, w, transform="B", star=True, permutations=0)`` time (the libpysal
weights are built beforehand and not timed); our ``gi_star`` on the same counts; our
``find_hotspots`` end to end from the points (binning, Gi*, Benjamini–Hochberg FDR, merging
the hot cells into polygons, ranking and describing the hotspots; reading excluded), as Gi*
alone (``background=None``, whose hot cells must equal esda's) and with the default
background test; the
ratios; the largest |z| difference and whether the significant cells are the same; then KDE
end to end on the same points.
"""

from __future__ import annotations

import argparse
import time
import warnings

import geopandas as gpd
import numpy as np
from _timing import best_of  # bench/ is the script's folder, first on sys.path
from scipy.stats import false_discovery_control

from beatplan.hotspots import find_hotspots, gi_star
from beatplan.hotspots.grid import Grid
from beatplan.hotspots.result import cell_polygons

SIDE = 50_000.0
CELL = 100.0
BAND = 150.0


def generate(n: int, seed: int = 0) -> np.ndarray:
    """About 200 Gaussian hotspots (sd 50-500 m, 60 %) plus 40 % uniform background."""
    rng = np.random.default_rng(seed)
    k = 200
    centres = rng.uniform(2_000, SIDE - 2_000, (k, 2))
    sd = rng.uniform(50, 500, k)
    share = rng.lognormal(0, 0.8, k)
    n_hot = int(0.6 * n)
    per = rng.multinomial(n_hot, share / share.sum())
    which = np.repeat(np.arange(k), per)
    hot = centres[which] + rng.normal(size=(n_hot, 2)) * sd[which, None]
    background = rng.uniform(0, SIDE, (n - n_hot, 2))
    xy = np.concatenate([hot, background])
    return np.clip(xy, 0, SIDE - 1e-6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-esda", action="store_true")
    args = ap.parse_args()

    xy = generate(args.n)
    x0 = 400_000.0  # put the square in British National Grid country
    y0 = 250_000.0
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0] + x0, xy[:, 1] + y0), crs=27700)
    grid = Grid(x0, y0, CELL, int(SIDE / CELL), int(SIDE / CELL))
    t_bin, counts = best_of(args.repeat, grid.count, np.c_[xy[:, 0] + x0, xy[:, 1] + y0])
    print(f"{args.n:,} incidents; grid {grid.ny} x {grid.nx} = {grid.size:,} cells of {CELL:g} m; "
          f"band {BAND:g} m")  # fmt: skip
    print(f"binning: {t_bin:.3f} s")

    t_ours, ours = best_of(args.repeat, gi_star, counts, cell=CELL, band=BAND)
    print(f"gi_star (z, p, BH FDR) on the grid: {t_ours:.3f} s")
    coords = np.c_[xy[:, 0] + x0, xy[:, 1] + y0]

    def from_coordinates():
        # the array pipeline: bin, Gi* with FDR, merge the hot cells into polygons
        flat = grid.locate(coords)
        values = np.bincount(flat, minlength=grid.size).astype(float).reshape(grid.shape)
        g = gi_star(values, cell=CELL, band=BAND)
        return cell_polygons(grid, g.hot, flat=flat, min_incidents=1)

    t_arr, (_, polys) = best_of(args.repeat, from_coordinates)
    print(f"binning + gi_star + polygons from coordinates: {t_arr:.3f} s ({len(polys)} polygons)")
    area = None  # the whole square is the study region: pass it as the area
    import shapely

    square = shapely.box(x0, y0, x0 + SIDE, y0 + SIDE)
    # Gi* alone (background=None): its hot cells are esda's significant cells
    t_e2e, hs = best_of(
        args.repeat, find_hotspots, pts, method="gistar", cell=CELL, band=BAND, area=square,
        min_incidents=1, background=None,
    )  # fmt: skip
    print(f"find_hotspots gistar end to end, Gi* alone: {t_e2e:.3f} s ({len(hs)} hotspots, "
          f"{int((hs.labels > 0).sum()):,} incidents in them)")  # fmt: skip
    t_bg, hs_bg = best_of(
        args.repeat, find_hotspots, pts, method="gistar", cell=CELL, band=BAND, area=square,
        min_incidents=1,
    )  # fmt: skip
    inside_bg = int((hs_bg.labels > 0).sum())
    print(f"find_hotspots gistar end to end, default background test: {t_bg:.3f} s "
          f"({len(hs_bg)} hotspots, {inside_bg:,} incidents in them)")  # fmt: skip
    del area

    if not args.skip_esda:
        import libpysal
        from esda.getisord import G_Local

        xs, ys = grid.centres()
        centres = np.c_[xs.ravel(), ys.ravel()]
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w = libpysal.weights.DistanceBand(centres, threshold=BAND, binary=True,
                                              silence_warnings=True)  # fmt: skip
        print(f"(libpysal weights built in {time.perf_counter() - t:.1f} s, not timed)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t_esda, ref = best_of(
                1, G_Local, counts.ravel(), w, transform="B", star=True, permutations=0
            )
        print(f"esda G_Local(star=True, permutations=0): {t_esda:.3f} s")
        dz = np.abs(ref.Zs - ours.z.ravel()).max()
        sig = false_discovery_control(2 * ref.p_norm, method="bh") <= 0.05
        same = np.array_equal(sig & (ref.Zs > 0), ours.hot.ravel()) and np.array_equal(
            sig & (ref.Zs < 0), ours.cold.ravel()
        )
        hs_cells = hs.surface.hot.ravel() if hs.surface is not None else None
        same_e2e = hs_cells is not None and np.array_equal(hs_cells, sig & (ref.Zs > 0))
        print(f"max |z - z_esda| = {dz:.2e}; same significant cells: {same}; "
              f"end-to-end hot cells identical: {same_e2e}")  # fmt: skip
        print(f"ratio esda / gi_star: {t_esda / t_ours:,.0f}x; esda / (binning + gi_star + "
              f"polygons): {t_esda / t_arr:,.0f}x; esda / find_hotspots end to end from the "
              f"GeoDataFrame: {t_esda / t_e2e:,.0f}x (Gi* alone), {t_esda / t_bg:,.0f}x (with "
              "the background test)")  # fmt: skip

    t_kde, kd = best_of(args.repeat, find_hotspots, pts, method="kde", cell=CELL,
                        bandwidth=300.0, area=square)  # fmt: skip
    print(f"find_hotspots kde end to end (300 m quartic, 3 x mean): {t_kde:.3f} s "
          f"({len(kd)} hotspots)")  # fmt: skip
    t_def, dflt = best_of(1, find_hotspots, pts, method="gistar")
    print(f"find_hotspots gistar with data-driven defaults (cell {dflt.params['cell']:g} m, "
          f"band {dflt.params['band']:g} m): {t_def:.3f} s ({len(dflt)} hotspots)")  # fmt: skip


if __name__ == "__main__":
    main()
