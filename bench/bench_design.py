"""Bench design() against spopt and GerryChain ReCom on the same wards and demand.

Cases
    * 171 Leicestershire wards (the police.uk year of street crime) -> 40 beats, flat.
    * 8,000 generated wards (a jittered 100 x 80 grid, demand gamma-distributed) -> 400 beats in
      40 NPAs. design() builds the whole hierarchy (timed); the others design the beats inside
      design()'s NPAs with design()'s count per NPA (spopt has no hierarchy; ReCom needs a start
      plan, and starts from design()'s beats). spopt's MaxP and Skater are run on the first
      ``SPOPT_NPAS`` NPAs only (they take minutes per thousand wards); every method is measured
      on those same NPAs in that table, and on all 40 where it ran on all.

Measured the same way for every method: each beat's demand against the mean of its *group*
(the level's mean within the parent: the force for the flat case, the NPA for the nested one).
A single ward heavier than ``(1 + tolerance)`` times that mean cannot share a beat within the
tolerance; where a method leaves such a ward alone in its beat, that beat is counted as
"alone", left out of the largest |deviation| and the CV, and the group's mean is taken over
the other beats (design()'s rule); where a method puts it with other wards, the beat counts
like any other. Polsby–Popper = 4 pi area / perimeter^2 of each beat's union of wards.

Needs the ``bench`` extra (``pip install -e .[bench]``: gerrychain, spopt); a method whose
package is missing is skipped. Prints a table per case and the ratios to design()'s figures.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

import beatplan.geo as geo
from beatplan.boundaries._partition import heavy_atoms
from beatplan.boundaries.demand import count_points
from beatplan.boundaries.design import design
from beatplan.geo.incidents import read_incidents

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
TOL = 0.05
#: NPAs of the 8,000-ward case that spopt's MaxP and Skater are run on.
SPOPT_NPAS = 8
#: ReCom: steps per chain, and seconds at most per chain.
RECOM_STEPS = 200
RECOM_SECONDS = 60.0


def figures(
    geoms: np.ndarray, labels: np.ndarray, demand: np.ndarray, groups: np.ndarray
) -> dict[str, float]:
    """Largest |deviation| and CV against each group's mean (heavy wards alone left out), PP."""
    lab = pd.factorize(labels)[0]
    k = int(lab.max()) + 1
    d = np.bincount(lab, weights=demand, minlength=k)
    size = np.bincount(lab, minlength=k)
    area_group = pd.Series(groups).groupby(lab).first().to_numpy()
    devs, alone = [], 0
    for g in np.unique(area_group):
        areas = np.nonzero(area_group == g)[0]
        wards = np.nonzero(np.isin(lab, areas))[0]
        heavy, mean = heavy_atoms(demand[wards], len(areas), TOL)
        single_heavy = {int(lab[w]) for w in wards[heavy] if size[lab[w]] == 1}
        alone += len(single_heavy)
        rest = [a for a in areas.tolist() if a not in single_heavy]
        devs.append(d[rest] / mean - 1.0)
    dev = np.concatenate(devs)
    parts = [shapely.coverage_union_all(geoms[lab == a]) for a in range(k)]
    pp = 4 * np.pi * shapely.area(parts) / shapely.length(parts) ** 2
    return {"max|dev|%": 100 * float(np.abs(dev).max()), "CV": float(dev.std()),
            "alone": alone, "PP mean": float(pp.mean()), "PP min": float(pp.min())}  # fmt: skip


def spopt_runs(w: gpd.GeoDataFrame, k: int) -> dict[str, np.ndarray]:
    """Labels from spopt's RegionKMeans, MaxP (threshold at the mean) and Skater."""
    import libpysal
    from spopt.region import MaxPHeuristic, RegionKMeansHeuristic, Skater

    wq = libpysal.weights.Rook.from_dataframe(w, use_index=False, silence_warnings=True)
    out: dict[str, tuple[np.ndarray, float]] = {}
    makers = {
        "spopt RegionKMeans": lambda: RegionKMeansHeuristic(w[["_d"]].to_numpy(), k, wq),
        "spopt MaxP (threshold = mean)": lambda: MaxPHeuristic(
            w, wq, ["_d"], "_d", float(w["_d"].sum() / k), top_n=2),
        "spopt Skater": lambda: Skater(w, wq, ["_d"], n_clusters=k),
    }  # fmt: skip
    for label, make in makers.items():
        t = time.perf_counter()
        m = make()
        m.solve()
        out[label] = (np.asarray(m.labels_), time.perf_counter() - t)
    return out  # type: ignore[return-value]


def recom_run(w: gpd.GeoDataFrame, start: np.ndarray, seed: int = 0) -> tuple[np.ndarray, int]:
    """ReCom from ``start`` (within ±TOL of the ideal), bounded in steps and seconds."""
    from gerrychain import Graph, MarkovChain, Partition, updaters
    from gerrychain.accept import always_accept
    from gerrychain.constraints import within_percent_of_ideal_population
    from gerrychain.proposals import recom

    g = Graph.from_geodataframe(w.reset_index(drop=True), ignore_errors=True)
    assign = dict(enumerate(pd.factorize(start)[0].tolist()))
    part = Partition(g, assign, updaters={"population": updaters.Tally("_d", alias="population")})
    k = len(set(assign.values()))
    ideal = float(w["_d"].sum() / k)
    eps = max(TOL, float(np.abs(np.bincount(pd.factorize(start)[0], weights=w["_d"]) / ideal
                                - 1).max()) + 1e-9)  # fmt: skip

    def propose(p: Partition, *, rng: random.Random | int | None = None) -> Partition:
        return recom(p, "_d", ideal, eps, rng=rng)

    chain = MarkovChain(propose, [within_percent_of_ideal_population(part, eps)], always_accept,
                        part, total_steps=RECOM_STEPS, rng=seed)  # fmt: skip
    last, steps, t = part, 0, time.perf_counter()
    for state in chain:
        last, steps = state, steps + 1
        if time.perf_counter() - t > RECOM_SECONDS:
            break
    return np.array([last.assignment[i] for i in range(len(w))]), steps


def table(name: str, rows: dict[str, dict[str, float]]) -> None:
    frame = pd.DataFrame(rows).T
    print(f"\n== {name} (load average {os.getloadavg()[0]:.2f})")
    print(frame.round(3).to_string())
    cols = ["max|dev|%", "CV", "PP mean", "PP min", "s"]
    ratio = frame[cols] / frame.loc["design", cols]
    print("ratios to design():")
    print(ratio.round(2).to_string())


def flat_case() -> None:
    folder = DATA / "leicestershire_boundaries" / "wd13_wards_by_lad"
    parts = [geo.read_boundaries(f) for f in sorted(folder.glob("*.json"))]
    w = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), geometry="geometry", crs=parts[0].crs)
    inc = read_incidents(DATA / "leicestershire_street_crime")
    dem = np.asarray(count_points(w.geometry.values, inc.points, crs=w.crs).demand, dtype=float)
    w = w.assign(_d=dem)
    geoms = np.asarray(w.geometry.values, dtype=object)
    one = np.zeros(len(w), dtype=np.int64)
    k = 40
    rows: dict[str, dict[str, float]] = {}
    t = time.perf_counter()
    d = design(w, beats=k, demand="_d", tolerance=TOL, strict=False)
    ours = d.wards["beat"].to_numpy()
    rows["design"] = {**figures(geoms, ours, dem, one), "s": time.perf_counter() - t}
    try:
        for label, (lab, s) in spopt_runs(w, k).items():  # type: ignore[misc]
            rows[label] = {**figures(geoms, lab, dem, one), "s": s}
    except ImportError as exc:
        print(f"spopt skipped: {exc}")
    try:
        t = time.perf_counter()
        lab, steps = recom_run(w, ours)
        rows[f"GerryChain ReCom ({steps} steps from design)"] = {
            **figures(geoms, lab, dem, one), "s": time.perf_counter() - t}  # fmt: skip
    except ImportError as exc:
        print(f"gerrychain skipped: {exc}")
    table("Leicestershire 171 wards -> 40 beats (police.uk year)", rows)


def nested_case() -> None:
    from test_design import tessellation

    g = tessellation(100, 80, 0)
    dem = g["people"].to_numpy(dtype=float)
    geoms = np.asarray(g.geometry.values, dtype=object)
    t = time.perf_counter()
    d = design(g, npas=40, beats=400, demand="people", tolerance=TOL, strict=False)
    took = time.perf_counter() - t
    print(f"\n8,000 generated wards -> 400 beats in 40 NPAs: design() {took:.1f}s")
    print(d.describe())
    npa = d.wards["npa"].to_numpy()
    beat = d.wards["beat"].to_numpy()
    rows_all: dict[str, dict[str, float]] = {"design": {**figures(geoms, beat, dem, npa),
                                                        "s": took}}  # fmt: skip
    w = g.assign(_d=dem)
    order = sorted(set(npa.tolist()))
    some = np.isin(npa, order[:SPOPT_NPAS])
    rows_some: dict[str, dict[str, float]] = {
        "design": {**figures(geoms[some], beat[some], dem[some], npa[some]),
                   "s": took * some.sum() / len(g)}}  # fmt: skip
    try:
        labs: dict[str, list[np.ndarray]] = {}
        secs: dict[str, float] = {}
        full = np.full(len(g), "", dtype=object)
        for n in order[:SPOPT_NPAS]:
            m = npa == n
            k = len(set(beat[m].tolist()))
            sub = w[m].reset_index(drop=True)
            for label, (lab, s) in spopt_runs(sub, k).items():  # type: ignore[misc]
                got = labs.setdefault(label, [full.copy()])[0]
                got[np.nonzero(m)[0]] = [f"{n}:{x}" for x in lab]
                secs[label] = secs.get(label, 0.0) + s
        for label, (got,) in labs.items():
            rows_some[label] = {**figures(geoms[some], got[some], dem[some], npa[some]),
                                "s": secs[label]}  # fmt: skip
    except ImportError as exc:
        print(f"spopt skipped: {exc}")
    try:
        t = time.perf_counter()
        out = np.empty(len(g), dtype=object)
        steps = 0
        for n in order:
            m = npa == n
            lab, s = recom_run(w[m].reset_index(drop=True), beat[m])
            out[np.nonzero(m)[0]] = [f"{n}:{x}" for x in lab]
            steps += s
        secs_recom = time.perf_counter() - t
        label = f"GerryChain ReCom ({steps} steps in 40 NPAs, from design)"
        rows_all[label] = {**figures(geoms, out, dem, npa), "s": secs_recom}
        rows_some[label] = {**figures(geoms[some], out[some], dem[some], npa[some]),
                            "s": secs_recom * some.sum() / len(g)}  # fmt: skip
    except ImportError as exc:
        print(f"gerrychain skipped: {exc}")
    table("8,000 generated wards -> 400 beats in 40 NPAs (all NPAs)", rows_all)
    table(f"the same, on the first {SPOPT_NPAS} NPAs (design's time pro rata)", rows_some)


def main() -> None:
    flat_case()
    nested_case()


if __name__ == "__main__":
    main()
