"""Benchmark: realign 8,000 detailed wards to 400 beats in 40 NPAs by demand (1M points).

Runs ``beatplan.boundaries.realign`` (every check included) and a plain geopandas implementation of
the same assignment (``overlay`` + ``sjoin`` of the points into the pieces + ``dissolve``)
on the same generated data in one process (interleaved, ``--repeat`` times, so both see the
same load), and prints the best and median times and ratios and how far the
two assignments agree. No file I/O is timed.

    .venv/bin/python bench/bench_realign.py [--wards 8000] [--beats 400] [--npas 40]
                                            [--points 1000000] [--seed 1] [--repeat 3]

The wards are Voronoi cells of random seeds whose shared edges are densified with smooth
noise (each edge once, so neighbours keep identical edges: a valid coverage), about 190
vertices per ward; the beats are a second, independent noisy tessellation (the worst case:
no beat edge follows a ward edge); NPAs group the beats around 40 seeds. Demand is half
uniform, half in Gaussian clusters.
"""

from __future__ import annotations

import argparse
import logging
import time

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries import realign

X0, Y0, SIZE = 400_000.0, 200_000.0, 100_000.0  # 100 km square in the English Midlands (BNG)
CRS = 27700


def noisy_tessellation(
    n: int, *, rng: np.random.Generator, spacing: float, amp: float = 0.08
) -> np.ndarray:
    """Voronoi cells of ``n`` random seeds in the box, edges densified with smooth noise."""
    box = shapely.box(X0, Y0, X0 + SIZE, Y0 + SIZE)
    seeds = shapely.points(rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=box))
    lines = shapely.union_all(np.concatenate([shapely.boundary(cells), [box.boundary]]))
    edges = shapely.get_parts(shapely.intersection(lines, box))
    edges = edges[shapely.get_num_coordinates(edges) >= 2]
    # split every edge into its segments, so each noisy edge is built once
    c, idx = shapely.get_coordinates(edges, return_index=True)
    same = idx[:-1] == idx[1:]
    p0, p1 = c[:-1][same], c[1:][same]
    d = p1 - p0
    length = np.hypot(d[:, 0], d[:, 1])
    ok = length > 0
    p0, p1, d, length = p0[ok], p1[ok], d[ok], length[ok]
    on_box = (
        (np.isclose(p0[:, 0], X0) & np.isclose(p1[:, 0], X0))
        | (np.isclose(p0[:, 0], X0 + SIZE) & np.isclose(p1[:, 0], X0 + SIZE))
        | (np.isclose(p0[:, 1], Y0) & np.isclose(p1[:, 1], Y0))
        | (np.isclose(p0[:, 1], Y0 + SIZE) & np.isclose(p1[:, 1], Y0 + SIZE))
    )
    k = np.maximum(2, np.ceil(length / spacing).astype(np.int64) + 1)
    k[on_box] = 2
    e = np.repeat(np.arange(len(k)), k)
    t = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k - 1, k)
    nx, ny = -d[:, 1] / length, d[:, 0] / length
    a = rng.normal(0.0, 1.0, (len(k), 4)) * amp / np.arange(1, 5) / 2
    off = sum(a[e, j] * np.sin((j + 1) * np.pi * t) for j in range(4)) * length[e]
    off = np.where(on_box[e], 0.0, off)
    xs = p0[e, 0] + t * d[e, 0] + off * nx[e]
    ys = p0[e, 1] + t * d[e, 1] + off * ny[e]
    noisy = shapely.linestrings(np.column_stack([xs, ys]), indices=e)
    noded = shapely.get_parts(shapely.node(shapely.multilinestrings(noisy)))
    return shapely.get_parts(shapely.polygonize(noded))


def make_case(
    n_wards: int, n_beats: int, n_npas: int, n_points: int, seed: int
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Generated wards, beats (with their NPA) and demand points."""
    rng = np.random.default_rng(seed)
    ward_geoms = noisy_tessellation(n_wards, rng=rng, spacing=23.0)
    wards = gpd.GeoDataFrame(
        {"id": [f"W{i:05d}" for i in range(len(ward_geoms))]}, geometry=ward_geoms, crs=CRS
    )
    beat_geoms = noisy_tessellation(n_beats, rng=rng, spacing=60.0)
    npa_seeds = rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (n_npas, 2))
    cx = shapely.get_coordinates(shapely.centroid(beat_geoms))
    nearest = np.argmin(((cx[:, None, :] - npa_seeds[None, :, :]) ** 2).sum(-1), axis=1)
    beats = gpd.GeoDataFrame(
        {
            "id": [f"B{i:03d}" for i in range(len(beat_geoms))],
            "npa": [f"N{j:02d}" for j in nearest],
        },
        geometry=beat_geoms,
        crs=CRS,
    )
    n_uniform = n_points // 2
    centres = rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (200, 2))
    which = rng.integers(0, len(centres), n_points - n_uniform)
    clustered = centres[which] + rng.normal(0, 1500.0, (len(which), 2))
    xy = np.vstack([rng.uniform((X0, Y0), (X0 + SIZE, Y0 + SIZE), (n_uniform, 2)), clustered])
    points = gpd.GeoDataFrame(geometry=shapely.points(xy), crs=CRS)
    return wards, beats, points


def plain_geopandas(
    wards: gpd.GeoDataFrame, beats: gpd.GeoDataFrame, points: gpd.GeoDataFrame
) -> tuple[pd.Series, dict[str, gpd.GeoDataFrame]]:
    """The same assignment with stock geopandas: overlay, sjoin into the pieces, dissolve."""
    pieces = gpd.overlay(
        wards[["id", "geometry"]],
        beats[["id", "geometry"]].rename(columns={"id": "beat"}),
        how="intersection",
        keep_geom_type=True,
    )
    pieces["piece_area"] = pieces.area
    joined = gpd.sjoin(points, pieces[["id", "beat", "geometry"]], predicate="within")
    counts = joined.groupby(["id", "beat"]).size().rename("n").reset_index()
    best = counts.sort_values(["id", "n", "beat"], ascending=[True, False, True])
    best = best.drop_duplicates("id").set_index("id")["beat"]
    by_area = pieces.sort_values(["id", "piece_area"], ascending=[True, False])
    by_area = by_area.drop_duplicates("id").set_index("id")["beat"]
    beat = wards["id"].map(best).fillna(wards["id"].map(by_area))
    out = wards.assign(beat=beat.to_numpy())
    out["npa"] = out["beat"].map(beats.set_index("id")["npa"])
    layers = {"beat": out.dissolve("beat"), "npa": out.dissolve("npa")}
    return pd.Series(beat.to_numpy(), index=wards["id"].to_numpy()), layers


def main() -> None:
    """Run the benchmark and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wards", type=int, default=8000)
    ap.add_argument("--beats", type=int, default=400)
    ap.add_argument("--npas", type=int, default=40)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-plain", action="store_true")
    args = ap.parse_args()
    logging.getLogger("beatplan").setLevel(logging.ERROR)

    t = time.perf_counter()
    wards, beats, points = make_case(args.wards, args.beats, args.npas, args.points, args.seed)
    n_vertices = int(shapely.get_num_coordinates(wards.geometry.values).sum())
    print(
        f"data: {len(wards):,} wards ({n_vertices:,} vertices), {len(beats)} beats in "
        f"{beats['npa'].nunique()} NPAs, {len(points):,} points "
        f"(generated in {time.perf_counter() - t:.1f} s)"
    )

    ours: list[float] = []
    plains: list[float] = []
    laps: list[dict[str, float]] = []
    for _ in range(args.repeat):  # interleaved, so both see the same machine load
        t = time.perf_counter()
        r = realign(wards, beats, levels=["beat", "npa"], by="demand", demand=points)
        ours.append(time.perf_counter() - t)
        laps.append(dict(r.summary["seconds"]))
        if not args.skip_plain:
            t = time.perf_counter()
            plain_beat, _ = plain_geopandas(wards, beats, points)
            plains.append(time.perf_counter() - t)
    best, med = min(ours), float(np.median(ours))
    print(
        f"beatplan.realign (by demand, every check): best {best:.2f} s, median {med:.2f} s "
        f"of {len(ours)} (checks {'passed' if r.checks.ok else 'FAILED'}: "
        f"{len(r.checks.checks)} kinds; {r.summary['wards_review']} wards for review, "
        f"{r.summary['contiguity_moves']} contiguity moves)"
    )
    for label, pick in (("best", np.min), ("median", np.median)):
        stages = ", ".join(f"{k} {pick([lap[k] for lap in laps]):.2f}" for k in laps[0])
        print(f"  stages (s, {label}): {stages}")
    if args.skip_plain:
        return
    pbest, pmed = min(plains), float(np.median(plains))
    print(
        f"plain geopandas (overlay + sjoin + dissolve, no checks): best {pbest:.2f} s, "
        f"median {pmed:.2f} s"
    )
    print(f"speed-up: best {pbest / best:.2f}x, median {pmed / med:.2f}x")
    # the same best-fit rule: compare wards with a strict best (ties are broken by area here,
    # by id in the plain version) that were not moved to make an area contiguous
    mine = pd.Series(r.assignment["beat"].to_numpy(), index=r.assignment["ward"].to_numpy())
    a = r.assignment
    strict = (a["share"] > a["runner_up_share"]).to_numpy()
    untouched = ~a["reason"].str.contains("contiguity|no demand").to_numpy() & strict
    agree = (mine[untouched] == plain_beat.reindex(mine.index)[untouched]).mean()
    print(
        f"same area as the plain version: {agree:.4f} of {int(untouched.sum()):,} wards with a "
        f"strict best fit ({int((~strict).sum())} ties, {r.summary['contiguity_moves']} "
        "contiguity moves left out)"
    )


if __name__ == "__main__":
    main()
