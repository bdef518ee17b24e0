"""Benchmark beatplan.geo.read_incidents against pandas.read_csv + geopandas.points_from_xy +
to_crs.

Run: ``.venv/bin/python bench/bench_read.py [--rows 1000000] [--files 12] [--repeat 3]``

1. Writes ``--rows`` synthetic police.uk street-level rows (realistic ids, blank ids for
   anti-social behaviour, ~2.7 % without a location, snapped points around Leicester, 14 crime
   types) as ``--files`` monthly CSVs in a temporary folder.
2. Times, in the same process, best of ``--repeat``:
   - ``read_incidents(folder)`` (every row checked, rejected rows kept, BNG points);
   - the reference: ``pandas.read_csv`` per file (C engine, and the pyarrow engine), concat,
     drop rows without coordinates, ``geopandas.points_from_xy`` in EPSG:4326 and
     ``to_crs(27700)`` - the same output geometry without any checks.
3. The same on the real Leicestershire year (../shared/data, 113,663 rows in 12 files) when
   present.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from _timing import best_of  # bench/ is the script's folder, first on sys.path

from beatplan.geo.incidents import read_incidents

HEADER = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]  # fmt: skip
CRIME_TYPES = {  # Leicestershire Nov 2021 - Oct 2022 mix
    "Violence and sexual offences": 43386, "Public order": 13544,
    "Criminal damage and arson": 10972, "Anti-social behaviour": 10035, "Other theft": 9210,
    "Vehicle crime": 6987, "Burglary": 5191, "Shoplifting": 4008, "Drugs": 3231,
    "Other crime": 2486, "Bicycle theft": 1955, "Possession of weapons": 1025,
    "Theft from the person": 848, "Robbery": 785,
}  # fmt: skip
OUTCOMES = [
    "Investigation complete; no suspect identified", "Unable to prosecute suspect",
    "Under investigation", "Status update unavailable", "Awaiting court outcome",
    "Local resolution", "Offender given a caution",
]  # fmt: skip
STREETS = [
    "Supermarket", "Parking Area", "Petrol Station", "High Street", "Church Lane", "Mill Road",
    "Station Road", "London Road", "Park Avenue", "Victoria Street", "Nightclub", "Hospital",
]  # fmt: skip


def make_police_csvs(folder: Path, n_rows: int, n_files: int, seed: int = 20221101) -> list[Path]:
    """Write ``n_rows`` police.uk-format rows as ``n_files`` monthly CSVs; return the paths."""
    rng = np.random.default_rng(seed)
    # ~25k anonymised snap points around Leicester, each with a street and an LSOA
    n_snap = 25_000
    snap_lon = rng.normal(-1.13, 0.18, n_snap)
    snap_lat = rng.normal(52.64, 0.12, n_snap)
    snap_street = rng.integers(0, len(STREETS), n_snap)
    snap_lsoa = rng.integers(0, 611, n_snap)
    types = np.array(list(CRIME_TYPES))
    weights = np.array(list(CRIME_TYPES.values()), dtype=float)
    weights /= weights.sum()
    paths = []
    per_file = np.diff(np.linspace(0, n_rows, n_files + 1).astype(int))
    for k, n in enumerate(per_file):
        year, month = 2021 + (10 + k) // 12, (10 + k) % 12 + 1
        label = f"{year}-{month:02d}"
        snap = rng.integers(0, n_snap, n)
        crime = types[rng.choice(len(types), n, p=weights)]
        asb = crime == "Anti-social behaviour"
        no_loc = rng.random(n) < 0.0275
        ids = _hex_ids(rng, n)  # one 64-hex-digit id per row, as police.uk
        ids[asb] = ""
        lon = np.char.mod("%.6f", snap_lon[snap]).astype(object)
        lat = np.char.mod("%.6f", snap_lat[snap]).astype(object)
        lon[no_loc] = ""
        lat[no_loc] = ""
        location = np.char.add("On or near ", np.array(STREETS)[snap_street[snap]]).astype(object)
        location[no_loc] = "No Location"
        lsoa_num = snap_lsoa[snap]
        lsoa_code = np.char.add("E0102", np.char.zfill(lsoa_num.astype(str), 4)).astype(object)
        lsoa_name = np.char.add("Leicester ", np.char.zfill(lsoa_num.astype(str), 3)).astype(object)
        lsoa_code[no_loc] = ""
        lsoa_name[no_loc] = ""
        outcome = np.array(OUTCOMES, dtype=object)[rng.integers(0, len(OUTCOMES), n)]
        outcome[asb] = ""
        table = pa.table(
            {
                "Crime ID": ids,
                "Month": np.full(n, label, dtype=object),
                "Reported by": np.full(n, "Leicestershire Police", dtype=object),
                "Falls within": np.full(n, "Leicestershire Police", dtype=object),
                "Longitude": lon,
                "Latitude": lat,
                "Location": location,
                "LSOA code": lsoa_code,
                "LSOA name": lsoa_name,
                "Crime type": crime.astype(object),
                "Last outcome category": outcome,
                "Context": np.full(n, "", dtype=object),
            }
        )
        path = folder / f"{label}-leicestershire-street.csv"
        pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))
        paths.append(path)
    return paths


def _hex_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    raw = rng.integers(0, 256, (n, 32), dtype=np.uint8)
    digits = np.frombuffer(b"0123456789abcdef", dtype="S1")
    hexed = np.empty((n, 64), dtype="S1")
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 15]
    return hexed.view("S64").ravel().astype(str).astype(object)


def reference(paths: list[Path], engine: str) -> gpd.GeoDataFrame:
    """What one would write with pandas and geopandas alone (no checks, rows dropped)."""
    df = pd.concat([pd.read_csv(p, engine=engine) for p in paths], ignore_index=True)
    df = df.dropna(subset=["Longitude", "Latitude"])
    gdf = gpd.GeoDataFrame(
        df, geometry=gpd.points_from_xy(df["Longitude"], df["Latitude"]), crs=4326
    )
    return gdf.to_crs(27700)


def compare(label: str, paths: list[Path], source: object, repeat: int) -> None:
    t_ours, inc = best_of(repeat, lambda: read_incidents(source))  # type: ignore[arg-type]
    t_c, ref_c = best_of(repeat, lambda: reference(paths, "c"))
    t_pa, _ = best_of(repeat, lambda: reference(paths, "pyarrow"))
    n_points = len(inc.points)  # type: ignore[attr-defined]
    n_ref = len(ref_c)  # type: ignore[arg-type]
    dups = inc.reason_counts.get("duplicate id", 0)  # type: ignore[attr-defined]
    print(f"\n== {label}: {inc.rows_read:,} rows in {len(paths)} files")  # type: ignore[attr-defined]
    print(f"read_incidents                          {t_ours:7.3f} s  ({n_points:,} points, "
          f"{len(inc.rejected):,} rejected)")  # type: ignore[attr-defined]  # fmt: skip
    print(f"pandas.read_csv(C) + points_from_xy + to_crs  {t_c:7.3f} s  ({n_ref:,} points)")
    print(f"pandas.read_csv(pyarrow) + ... + to_crs       {t_pa:7.3f} s")
    print(f"ratio reference(C) / read_incidents       {t_c / t_ours:6.2f}x")
    print(f"ratio reference(pyarrow) / read_incidents {t_pa / t_ours:6.2f}x")
    print(f"rows per second (read_incidents)          {inc.rows_read / t_ours:,.0f}")  # type: ignore[attr-defined]
    assert n_points + dups == n_ref, "read_incidents and the reference disagree on points"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--files", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="beatplan-bench-") as tmp:
        t0 = time.perf_counter()
        paths = make_police_csvs(Path(tmp), args.rows, args.files)
        size = sum(p.stat().st_size for p in paths) / 1e6
        print(f"wrote {args.rows:,} synthetic police.uk rows in {len(paths)} files "
              f"({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")  # fmt: skip
        compare("synthetic police.uk", paths, tmp, args.repeat)
    real = Path(__file__).resolve().parents[2] / "shared" / "data" / "leicestershire_street_crime"
    if real.is_dir():
        files = sorted(real.glob("*.csv"))
        compare("real Leicestershire year", files, real, args.repeat)
    else:
        print(f"\n(real data not found at {real}; skipped)")


if __name__ == "__main__":
    main()
