"""Benchmark: beatplan.hotspots.dbscan against scikit-learn's DBSCAN (and HDBSCAN), time and peak
memory.

Generates 1M incidents (about 200 Gaussian hotspots of 50-500 m plus 40 % uniform background
over 50 km x 50 km, British National Grid-like coordinates), unsnapped and snapped to
police.uk-style anonymous map points, and clusters them with eps 150 m, min_samples 15.

Each implementation runs in its own subprocess that loads the points from a .npy file, so its
peak resident memory (``VmHWM``, C allocations included, reset after loading where Linux
allows) is its own. Run it once: scikit-learn needs about a minute and 8 GB per 1M points.

    python bench/bench_dbscan.py                 # 1M points, both datasets, sklearn included
    python bench/bench_dbscan.py --n 200000      # smaller
    python bench/bench_dbscan.py --no-sklearn    # ours only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
EPS = 150.0
MIN_SAMPLES = 15


def make_incidents(n: int, seed: int = 0) -> np.ndarray:
    """~200 Gaussian hotspots (sigma 50-500 m) + 40 % uniform background, 50 km square."""
    rng = np.random.default_rng(seed)
    n_hot = 200
    n_bg = int(0.4 * n)
    centres = rng.uniform(0, 50_000, (n_hot, 2))
    sigma = rng.uniform(50, 500, n_hot)
    sizes = rng.multinomial(n - n_bg, rng.dirichlet(np.ones(n_hot)))
    which = np.repeat(np.arange(n_hot), sizes)
    hot = centres[which] + rng.normal(size=(n - n_bg, 2)) * sigma[which, None]
    bg = rng.uniform(0, 50_000, (n_bg, 2))
    xy = np.vstack([hot, bg]) + [400_000.0, 250_000.0]
    return xy[rng.permutation(n)]


def snap_to_map_points(xy: np.ndarray, seed: int = 1) -> np.ndarray:
    """Move each incident to its nearest anonymous map point, as police.uk does.

    Map points are about one per 8 incidents, denser where incidents are (drawn from the
    incidents themselves, jittered by 30 m) plus a uniform sprinkle.
    """
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(seed)
    m = max(len(xy) // 8, 10)
    base = xy[rng.choice(len(xy), int(m * 0.8), replace=False)] + rng.normal(
        0, 30, (int(m * 0.8), 2)
    )
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    sprinkle = rng.uniform(lo, hi, (m - len(base), 2))
    points = np.round(np.vstack([base, sprinkle]), 1)
    _, idx = cKDTree(points).query(xy, k=1, workers=-1)
    return points[idx]


# --------------------------------------------------------------------------------------------
# worker (one implementation, in a subprocess)
# --------------------------------------------------------------------------------------------


def _vm(key: str) -> float:
    """A /proc/self/status memory figure in MB (``VmHWM`` peak, ``VmRSS`` current)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def worker(impl: str, data: str, out: str) -> None:
    sys.path.insert(0, str(REPO))
    import resource

    if impl.startswith("sklearn"):
        from sklearn.cluster import DBSCAN, HDBSCAN  # noqa: F401  (import before measuring)
    from beatplan.hotspots.dbscan import dbscan, hdbscan

    xy = np.load(data)
    before = _vm("VmRSS")
    try:  # reset the peak so that it covers the clustering only (Linux >= 4.0)
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    extra: dict[str, object] = {}
    if impl == "ours":
        res = dbscan(xy, eps=EPS, min_samples=MIN_SAMPLES)
        labels, core = res.labels, res.core
        extra = {"n_locations": res.params["n_locations"]}
    elif impl == "sklearn":
        model = DBSCAN(eps=EPS, min_samples=MIN_SAMPLES).fit(xy)
        labels = model.labels_
        core = np.zeros(len(xy), dtype=bool)
        core[model.core_sample_indices_] = True
    elif impl == "sklearn-weighted":  # scikit-learn's own advice: unique points + sample_weight
        u, inv, cnt = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
        model = DBSCAN(eps=EPS, min_samples=MIN_SAMPLES).fit(u, sample_weight=cnt)
        labels = model.labels_[inv.ravel()]
        core_u = np.zeros(len(u), dtype=bool)
        core_u[model.core_sample_indices_] = True
        core = core_u[inv.ravel()]
    elif impl == "ours-hdbscan":
        res = hdbscan(xy, min_cluster_size=50, min_samples=MIN_SAMPLES)
        labels, core = res.labels, res.core
        extra = {k: res.params[k] for k in ("mode", "n_places", "n_leaves", "unit")}
    elif impl == "sklearn-hdbscan":
        labels = HDBSCAN(min_cluster_size=50, min_samples=MIN_SAMPLES, copy=True).fit(xy).labels_
        core = labels >= 0
    else:
        raise SystemExit(f"unknown implementation {impl!r}")
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    np.save(out + ".labels.npy", np.asarray(labels, dtype=np.int64))
    np.save(out + ".core.npy", np.asarray(core, dtype=bool))
    print(
        json.dumps(
            {
                "impl": impl,
                "wall": wall,
                "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
                "peak_mb": _vm("VmHWM"),
                "rss_before_mb": before,
                "peak_reset": reset,
                "n_clusters": int(np.max(labels)) + 1,
                **extra,
            }
        )
    )


# --------------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------------


def run(impl: str, data: Path, tmp: Path) -> dict:
    out = str(tmp / f"{data.stem}-{impl}")
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", impl, str(data), out],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{impl} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["labels"] = np.load(out + ".labels.npy")
    res["core"] = np.load(out + ".core.npy")
    return res


def same_clusters(xy: np.ndarray, a: dict, b: dict) -> str:
    """Compare ours (a) with scikit-learn (b): core mask, core partition, noise, borders."""
    from scipy.spatial import cKDTree

    if not np.array_equal(a["core"], b["core"]):
        return f"DIFFERENT core points ({int((a['core'] != b['core']).sum())} differ)"
    c = a["core"]
    pairs = np.unique(np.column_stack([a["labels"][c], b["labels"][c]]), axis=0)
    if not (len(pairs) == len(np.unique(pairs[:, 0])) == len(np.unique(pairs[:, 1]))):
        return "DIFFERENT clusters of core points"
    if not np.array_equal(a["labels"] < 0, b["labels"] < 0):
        return "DIFFERENT noise"
    border = np.flatnonzero(~c & (a["labels"] >= 0))
    core_idx = np.flatnonzero(c)
    d, j = cKDTree(xy[core_idx]).query(xy[border], k=1, workers=-1)
    ok = (d <= EPS) & (a["labels"][core_idx[j]] == a["labels"][border])
    if not ok.all():
        return f"{int((~ok).sum())} border points not next to a core point of their cluster"
    bl = a["labels"][border]
    ref = b["labels"][border]
    mapping = dict(zip(pairs[:, 1].tolist(), pairs[:, 0].tolist(), strict=True))
    moved = int(sum(1 for x, y in zip(bl.tolist(), ref.tolist(), strict=True) if mapping[y] != x))
    return (
        f"identical: same {int(c.sum()):,} core points, same {len(pairs):,} clusters, same noise; "
        f"{len(border):,} border points, {moved:,} assigned to another reachable cluster"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn's DBSCAN")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return
    print(f"{args.n:,} incidents, eps={EPS:g} m, min_samples={MIN_SAMPLES}; {os.cpu_count()} CPUs")
    print(
        "peak MB: the process's peak resident memory (VmHWM, reset after loading the points, "
        "so interpreter, libraries and points included); +MB: what clustering added"
    )
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        xy = make_incidents(args.n)
        datasets = {"unsnapped": xy, "snapped": snap_to_map_points(xy)}
        for name, pts in datasets.items():
            path = tmp / f"{name}.npy"
            np.save(path, pts)
            n_loc = len(np.unique(pts, axis=0))
            print(f"\n== {name}: {len(pts):,} points at {n_loc:,} distinct locations")
            impls = ["ours"]
            if not args.no_sklearn:
                impls.append("sklearn")
                if name == "snapped":
                    impls.append("sklearn-weighted")
            results = {impl: run(impl, path, tmp) for impl in impls}
            print(
                f"{'implementation':<18}{'wall s':>9}{'cpu s':>9}{'peak MB':>10}{'+MB':>9}"
                "  clusters"
            )
            for impl, r in results.items():
                r["extra_mb"] = r["peak_mb"] - r["rss_before_mb"]
                print(
                    f"{impl:<18}{r['wall']:>9.2f}{r['cpu']:>9.2f}{r['peak_mb']:>10.0f}"
                    f"{r['extra_mb']:>9.0f}  {r['n_clusters']:,}"
                )
            ours = results["ours"]
            for impl in impls[1:]:
                r = results[impl]
                print(
                    f"ours vs {impl}: {r['wall'] / ours['wall']:.1f}x faster (wall), "
                    f"{r['cpu'] / ours['cpu']:.1f}x less CPU, "
                    f"{r['peak_mb'] / ours['peak_mb']:.1f}x less peak memory "
                    f"({r['extra_mb'] / ours['extra_mb']:.1f}x counting only what clustering "
                    "added to the process)"
                )
                print(f"  equivalence: {same_clusters(pts, ours, r)}")
            h = run("ours-hdbscan", path, tmp)
            print(
                f"ours hdbscan (min_cluster_size 50, min_samples 15): {h['wall']:.2f} s wall, "
                f"{h['cpu']:.2f} s CPU, {h['peak_mb']:.0f} MB peak, {h['n_clusters']:,} clusters; "
                f"mode {h['mode']}, {h['n_places']:,} places, {h['n_leaves']:,} leaves, "
                f"unit {h['unit']:g}"
            )
        if not args.no_sklearn:
            # scikit-learn's HDBSCAN builds its tree in O(n^2): compare on a 20k subsample
            from sklearn.metrics import adjusted_rand_score

            sub = xy[np.random.default_rng(3).choice(len(xy), min(20_000, len(xy)), replace=False)]
            path = tmp / "sub20k.npy"
            np.save(path, sub)
            a, b = run("ours-hdbscan", path, tmp), run("sklearn-hdbscan", path, tmp)
            print(
                f"\n== HDBSCAN on a {len(sub):,}-point subsample (unsnapped): ours "
                f"{a['wall']:.2f} s ({a['mode']}), scikit-learn {b['wall']:.2f} s "
                f"({b['wall'] / a['wall']:.1f}x); adjusted Rand index "
                f"{adjusted_rand_score(b['labels'], a['labels']):.4f}"
            )


if __name__ == "__main__":
    main()
