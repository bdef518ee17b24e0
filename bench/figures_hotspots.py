"""Figures: the default hotspot map against the naive baseline, fold by fold, on the real forces.

Run from the repository root: ``python bench/figures_hotspots.py [--forces leicestershire,...]
[--coverage default,0.001,0.0025,0.005,0.01] [--chicago-step 1] [--csv out.csv]``.

Each fold finds hotspots with :func:`beatplan.hotspots.find_hotspots` (every default, as a user
gets it) on 3 months and scores the polygons on the next month inside the force (its wards or
beats), beside the naive baseline (the busiest 100 m cells of the same 3 months) at the
polygons' own coverage: :func:`beatplan.hotspots.backtest` in map mode. Forces: the
Leicestershire police.uk year (9 folds), Northumbria's 2022 anti-social behaviour (8 folds),
Nottingham's 2022 burglary and robbery (9 folds) and Chicago's aggravated assaults 2010-19
(117 folds). Printed: every fold, then per force and coverage the folds won and the means.
These are figures, not a timed test.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd

from beatplan.geo import read_incidents
from beatplan.hotspots import backtest, backtest_summary

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT / "tests"))

COLUMNS = ["test_start", "hotspots", "median_ha", "p90_ha", "coverage", "hit_rate", "pai",
           "naive_pai", "pei", "naive_pei", "rri", "busiest_in", "beats_naive"]  # fmt: skip


def nottingham(root: Path) -> tuple[object, gpd.GeoDataFrame]:
    """Nottingham's 2022 burglary and robbery (police.uk, 2,350 rows) and its 20 wards."""
    folder = root / "nottingham"
    inc = read_incidents([folder / f"nottingham_{kind}.csv.gz" for kind in ("burglary", "robbery")])
    wards = gpd.read_file(folder / "nottingham_wards.gpkg")
    return inc, wards.to_crs(inc.crs)


def load(force: str) -> tuple[object, gpd.GeoDataFrame]:
    """Return a force's incidents and its study area."""
    import _forces

    if force == "nottingham":
        return nottingham(DATA)
    return getattr(_forces, force)(DATA)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forces", default="leicestershire,northumbria,nottingham,chicago")
    ap.add_argument("--coverage", default="default,0.001,0.0025,0.005,0.01")
    ap.add_argument("--chicago-step", type=int, default=1, help="Months between Chicago folds.")
    ap.add_argument("--csv", type=Path, default=None, help="Write every fold's row here.")
    args = ap.parse_args()
    pd.set_option("display.width", 200)
    tables = []
    for force in args.forces.split(","):
        inc, area = load(force)
        for asked in args.coverage.split(","):
            cov = None if asked == "default" else float(asked)
            step = args.chicago_step if force == "chicago" else 1
            t0 = time.perf_counter()
            r = backtest(inc, study_area=area, coverage=cov, step=step, progress=False)
            secs = time.perf_counter() - t0
            r.insert(0, "force", force)
            tables.append(r)
            print(f"\n== {force}, coverage {asked}: {r['test_start'].nunique()} folds, "
                  f"{secs:.0f} s")  # fmt: skip
            if force != "chicago" or args.chicago_step > 1:
                print(r[COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            s = backtest_summary(r)
            print(s.drop(columns="verdict").to_string(float_format=lambda v: f"{v:.4g}"))
            print(s["verdict"].iloc[0])
            sys.stdout.flush()
    if args.csv is not None:
        pd.concat(tables, ignore_index=True).to_csv(args.csv, index=False)


if __name__ == "__main__":
    main()
