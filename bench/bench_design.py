"""Bench design() against spopt and GerryChain ReCom on the same wards and demand.

Cases: 171 Leicestershire wards (police.uk year) -> 40 beats; 8,000 generated wards -> 400 beats
in 40 NPAs (spopt and GerryChain on the 400-beat level only, one flat partition). Prints, per
method: largest |deviation| from the mean, coefficient of variation, mean and minimum
Polsby–Popper, seconds, and the ratio of each to design()'s. Needs the ``bench`` extra
(``pip install -e .[bench]``: gerrychain, spopt); a method whose package is missing is skipped.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import beatplan.geo as geo
from beatplan.boundaries.design import design
from beatplan.geo.incidents import read_incidents

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def figures(wards: gpd.GeoDataFrame, labels: np.ndarray, demand: np.ndarray) -> dict[str, float]:
    lab = pd.factorize(labels)[0]
    k = lab.max() + 1
    d = np.bincount(lab, weights=demand, minlength=k)
    dev = d / d.mean() - 1
    geoms = np.asarray(wards.geometry.values, dtype=object)
    order = np.argsort(lab, kind="stable")
    parts = [shapely.coverage_union_all(geoms[lab == a]) for a in range(k)]
    pp = 4 * np.pi * shapely.area(parts) / shapely.length(parts) ** 2
    del order
    return {"max|dev|%": 100 * np.abs(dev).max(), "CV": d.std() / d.mean(),
            "PP mean": pp.mean(), "PP min": pp.min()}  # fmt: skip


def run_all(name: str, wards: gpd.GeoDataFrame, demand: np.ndarray, k: int, **kw) -> None:
    rows = {}
    t = time.perf_counter()
    d = design(wards.assign(_d=demand), beats=k, demand="_d", tolerance=0.05, strict=False, **kw)
    ours = d.wards["beat"].to_numpy()
    rows["design"] = {**figures(wards, ours, demand), "s": time.perf_counter() - t}
    w = wards.assign(_d=demand)
    try:
        import libpysal
        from spopt.region import MaxPHeuristic, RegionKMeansHeuristic, Skater

        wq = libpysal.weights.Rook.from_dataframe(w, use_index=False, silence_warnings=True)
        for label, make in (
            ("spopt RegionKMeans", lambda: RegionKMeansHeuristic(w[["_d"]].to_numpy(), k, wq)),
            ("spopt MaxP (threshold = mean)",
             lambda: MaxPHeuristic(w, wq, ["_d"], "_d", float(demand.sum() / k), top_n=2)),
            ("spopt Skater", lambda: Skater(w, wq, ["_d"], n_clusters=k)),
        ):  # fmt: skip
            t = time.perf_counter()
            m = make()
            m.solve()
            rows[label] = {**figures(wards, np.asarray(m.labels_), demand),
                           "s": time.perf_counter() - t}  # fmt: skip
    except ImportError as exc:
        print(f"spopt skipped: {exc}")
    try:
        from gerrychain import GeographicPartition, Graph, MarkovChain, updaters
        from gerrychain.accept import always_accept
        from gerrychain.constraints import within_percent_of_ideal_population
        from gerrychain.proposals import recom

        t = time.perf_counter()
        g = Graph.from_geodataframe(w.reset_index(drop=True), ignore_errors=True)
        start = {i: lab for i, lab in enumerate(pd.factorize(ours)[0])}
        part = GeographicPartition(g, start, updaters={"population": updaters.Tally("_d")})
        ideal = float(demand.sum() / k)
        prop = lambda p: recom(p, "_d", ideal, 0.05, node_repeats=2)  # noqa: E731
        chain = MarkovChain(prop, [within_percent_of_ideal_population(part, 0.05)],
                            always_accept, part, total_steps=200)  # fmt: skip
        last = part
        for step in chain:
            last = step
        labels = np.array([last.assignment[i] for i in range(len(w))])
        rows["GerryChain ReCom (200 steps from design)"] = {
            **figures(wards, labels, demand), "s": time.perf_counter() - t}  # fmt: skip
    except ImportError as exc:
        print(f"gerrychain skipped: {exc}")
    frame = pd.DataFrame(rows).T
    print(f"\n== {name} (load: {os.getloadavg()[0]:.2f})")
    print(frame.round(3).to_string())
    print("ratios to design():")
    print((frame / frame.loc["design"]).round(2).to_string())


def generated(n_side: int = 90, seed: int = 0) -> gpd.GeoDataFrame:
    from test_design import tessellation

    return tessellation(n_side, n_side, seed)


def main() -> None:
    folder = DATA / "leicestershire_boundaries" / "wd13_wards_by_lad"
    parts = [geo.read_boundaries(f) for f in sorted(folder.glob("*.json"))]
    w = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=parts[0].crs)
    from beatplan.boundaries.demand import count_points

    inc = read_incidents(DATA / "leicestershire_street_crime")
    dem = count_points(w.geometry.values, inc.points, crs=w.crs).demand
    run_all("Leicestershire 171 wards -> 40 beats", w, dem, 40)
    g = generated()
    t = time.perf_counter()
    d = design(g, npas=40, beats=400, demand="people", tolerance=0.05, strict=False)
    print(f"\n8,100 generated wards -> 400 beats in 40 NPAs: {time.perf_counter() - t:.1f}s")
    print(d.describe())
    run_all("8,100 generated wards -> 400 beats (flat)", g, g["people"].to_numpy(), 400)


if __name__ == "__main__":
    main()
