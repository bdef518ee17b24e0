"""Bad-input catalogue, outputs (issue 11, item 2 and the OSError one-liners).

Every case is a fault while writing a plan, a map or a layer set, or a folder that is not a
whole plan. Each checks the clean error (class and message; a command: one line and exit 2)
and that nothing was lost: the old output byte for byte, or the new one whole
(``read_plan`` checks every file against ``plan.json``), and no hidden leftovers.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from shapely import box

from bad_inputs.catalogue import CliError, cli, cli_error, registry
from beatplan.boundaries import outputs as plan_outputs
from beatplan.boundaries.outputs import read_plan, write_plan
from beatplan.boundaries.realign import realign
from beatplan.boundaries.reorganise import reorganise
from beatplan.geo import _atomic
from beatplan.geo import write as geo_write
from beatplan.geo.errors import (
    IncompleteOutputError,
    InputFormatError,
    OutputExistsError,
    OutputLockedError,
    OutputWriteError,
)
from beatplan.geo.sample import make_sample, write_sample
from beatplan.geo.write import write_layers

LEVELS = ("beat", "sector", "npa")
CASES, case = registry()


def snap(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def leftovers(dest: Path) -> list[str]:
    return sorted(e for e in os.listdir(dest.parent) if e.startswith(f".{dest.name}~bp-"))


def intact(e: Any) -> None:
    """The old plan is there, byte for byte, whole, with no leftovers."""
    assert snap(e.plan) == e.before
    read_plan(e.plan)
    assert leftovers(e.plan) == []


def realign_args(e: Any, *extra: Any) -> list[Any]:
    return ["realign", "--wards", e.wards, "--beats", e.beats, "--out", e.plan, *extra]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("outputs_bad")
    county = make_sample()
    wards, beats = root / "wards.geojson", root / "beats.geojson"
    county.wards_new.to_file(wards)
    county.beats.to_file(beats)
    result = realign(county.wards_new, county.beats, levels=LEVELS)
    plan, other = root / "plan", root / "other"
    write_plan(plan, result)
    rename = {"op": "rename", "level": "npa", "area": "NPA-CE", "name": "Central East"}
    write_plan(other, reorganise(plan, {"changes": [rename]}))
    return SimpleNamespace(root=root, wards=wards, beats=beats, plan0=plan, other=other,
                           county=county, result=result)  # fmt: skip


@pytest.fixture
def e(base: SimpleNamespace, tmp_path: Path) -> SimpleNamespace:
    plan = tmp_path / "plan"
    shutil.copytree(base.plan0, plan)
    return SimpleNamespace(**vars(base), plan=plan, tmp=tmp_path, before=snap(plan))


# ------------------------------------------------------------------------ concurrent writers
@case("two realign runs writing one --out at once", CliError,
      r"is writing this output|already holds|holds \d+ output")  # fmt: skip
def two_writers(e: Any) -> None:
    out = e.tmp / "both"
    cmd = [sys.executable, "-m", "beatplan", *map(str, realign_args(e))]
    cmd[cmd.index(str(e.plan))] = str(out)
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]  # fmt: skip
    done = [(p.wait(300), *p.communicate()) for p in procs]
    codes = sorted(d[0] for d in done)
    assert codes == [0, 2], done  # one plan, and one clear failure: never both "done"
    read_plan(out)
    assert leftovers(out) == []
    err = next(d[2] for d in done if d[0] == 2).strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    raise CliError(err)


@case("a second writer while a thread writes the plan", OutputLockedError,
      "another beatplan .* is writing this output")  # fmt: skip
def writer_while_writing(e: Any) -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _atomic.locked(e.plan):
            inside.set()
            release.wait(30)

    t = threading.Thread(target=hold)
    t.start()
    inside.wait(30)
    try:
        write_plan(e.plan, e.result, overwrite=True)
    finally:
        release.set()
        t.join()
        intact(e)


@case("stale lock and staging left by a killed run", lost="the next run succeeds, no leftovers")
def stale_litter(e: Any) -> None:
    tok = "ab" * 16
    (e.plan.parent / ".plan~bp-lock").write_text("12345\n")
    (e.plan.parent / f".plan~bp-new-{tok}").mkdir()
    (e.plan.parent / f".plan~bp-new-{tok}" / "boundaries.gpkg").write_bytes(b"half")
    (e.plan.parent / f".plan~bp-old-{'cd' * 16}").mkdir()
    res = cli(*realign_args(e, "--overwrite"))
    assert res.exit_code == 0, res.stderr
    assert leftovers(e.plan) == []
    read_plan(e.plan)


@case("a swap killed between its two renames (folder absent)",
      lost="the next run finishes the swap, then writes")  # fmt: skip
def killed_swap(e: Any) -> None:
    aside = e.plan.parent / f".plan~bp-old-{'ef' * 16}"
    staged = e.plan.parent / f".plan~bp-new-{'12' * 16}"
    shutil.copytree(e.other, staged)
    e.plan.rename(aside)  # the first rename done, the second not
    journal = _atomic._write_journal(e.plan, [[e.plan.name, aside.name], [staged.name, "plan"]])
    assert journal.exists() and not e.plan.exists()
    res = cli(*realign_args(e, "--overwrite"))
    assert res.exit_code == 0, res.stderr
    assert leftovers(e.plan) == [] and read_plan(e.plan).kind == "realign"


# ------------------------------------------------------------------- folders that are not whole
def _mixed(e: Any) -> None:
    """The new GeoPackage beside the old plan.json, CSVs and report."""
    shutil.copy2(e.other / "boundaries.gpkg", e.plan / "boundaries.gpkg")


@case("mixed plan folder: read_plan", IncompleteOutputError,
      r"boundaries.gpkg does not belong to this plan .* mixes two writes")  # fmt: skip
def mixed_read(e: Any) -> None:
    _mixed(e)
    read_plan(e.plan)


@case("mixed plan folder: reorganise --current", CliError, "does not belong to this plan")
def mixed_reorganise(e: Any) -> None:
    _mixed(e)
    spec = e.tmp / "spec.yaml"
    spec.write_text("changes:\n  - {op: rename, level: npa, area: NPA-CE, name: X}\n")
    try:
        cli_error("reorganise", "--current", e.plan, "--spec", spec, "--out", e.tmp / "new")
    finally:
        assert not (e.tmp / "new").exists()


@case("mixed plan folder: map planning", CliError, "does not belong to this plan")
def mixed_map(e: Any) -> None:
    _mixed(e)
    cli_error("map", "planning", e.plan, "--out", e.tmp / "m.html", "--tiles", "none")


@case("mixed plan folder: info", CliError, r"problems found in 1 of 1")
def mixed_info(e: Any) -> None:
    _mixed(e)
    res = cli("info", e.plan)
    assert "does not belong to this plan" in res.stdout
    assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    raise CliError(res.stderr.strip())


@case("GeoPackage and CSVs but no plan.json", IncompleteOutputError, "no plan.json")
def no_manifest(e: Any) -> None:
    (e.plan / "plan.json").unlink()
    read_plan(e.plan)


@case("plan.json but no GeoPackage", IncompleteOutputError, "plan.json but no boundaries.gpkg")
def no_gpkg(e: Any) -> None:
    (e.plan / "boundaries.gpkg").unlink()
    read_plan(e.plan)


@case("a file plan.json lists is missing", IncompleteOutputError, "review.csv is missing")
def file_missing(e: Any) -> None:
    (e.plan / "review.csv").unlink()
    read_plan(e.plan)


@case("a CSV edited after writing", IncompleteOutputError,
      r"crosswalk.csv does not belong .* bytes where plan.json records")  # fmt: skip
def file_edited(e: Any) -> None:
    with (e.plan / "crosswalk.csv").open("a") as f:
        f.write("extra,row\n")
    read_plan(e.plan)


# ------------------------------------------------------------------------ the system says no
@case("full disk while GDAL writes the GeoPackage (simulated)", CliError,
      r"plan/boundaries.gpkg: cannot write layer 'wards' \(no space left on the")  # fmt: skip
def full_disk_gdal(e: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*_: Any, **__: Any) -> None:
        raise pyogrio.errors.DataSourceError("Failed to commit transaction")

    monkeypatch.setattr(geo_write.pyogrio, "write_dataframe", full)
    monkeypatch.setattr(geo_write.shutil, "disk_usage", lambda _: SimpleNamespace(free=0))
    try:
        cli_error(*realign_args(e, "--overwrite"))
    finally:
        monkeypatch.undo()
        intact(e)


@case(
    "full disk while writing a CSV (ENOSPC)",
    CliError,
    r"plan: cannot write \(No space left on device\); what was there is left as it was",
)
def full_disk_csv(e: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(path: Path, text: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    monkeypatch.setattr(plan_outputs, "_put", full)
    try:
        cli_error(*realign_args(e, "--overwrite"))
    finally:
        monkeypatch.undo()
        intact(e)


@case("read-only output folder (EROFS)", CliError,
      r"plan: cannot write \(Read-only file system\)")  # fmt: skip
def read_only(e: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.open

    def ro(path: Any, flags: int, *args: Any, **kw: Any) -> int:
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and str(e.tmp) in str(path):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real(path, flags, *args, **kw)

    monkeypatch.setattr(_atomic.os, "open", ro)
    try:
        cli_error(*realign_args(e, "--overwrite"))
    finally:
        monkeypatch.undo()
        intact(e)


@case("map --overwrite --out a folder", CliError, "is a folder; give a file name for the output")
def map_out_folder(e: Any) -> None:
    folder = e.tmp / "maps"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    try:
        cli_error("map", "planning", e.plan, "--out", folder, "--overwrite", "--tiles", "none")
    finally:
        assert (folder / "keep.txt").read_text() == "mine"


@case("realign --out a file", CliError, "exists and is not a folder")
def out_is_a_file(e: Any) -> None:
    f = e.tmp / "a_file"
    f.write_text("mine")
    args = realign_args(e, "--overwrite")
    args[args.index(e.plan)] = f
    try:
        cli_error(*args)
    finally:
        assert f.read_text() == "mine"


@case("--out a folder holding other files, with --overwrite", CliError,
      r"notes.docx, not part of this output; the folder is replaced whole")  # fmt: skip
def foreign_files(e: Any) -> None:
    (e.plan / "notes.docx").write_text("mine")
    e.before["notes.docx"] = b"mine"
    try:
        cli_error(*realign_args(e, "--overwrite"))
    finally:
        assert snap(e.plan) == e.before


@case("--out holding a plan, no --overwrite", CliError, "already holds a plan")
def exists(e: Any) -> None:
    try:
        cli_error(*realign_args(e))
    finally:
        intact(e)


@case("a Shapefile set whose move fails half-way", OutputWriteError, "device not ready")
def shapefile_half(e: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    out = e.tmp / "beats.shp"
    gdf = e.county.beats
    write_layers(out, {"beats": gdf})
    before = snap(e.tmp)
    real, n = os.rename, [0]

    def flaky(src: Any, dst: Any) -> None:
        if "~bp-new-" in str(Path(src).parent.name):
            n[0] += 1
            if n[0] == 2:
                raise OSError("device not ready")
        real(src, dst)

    monkeypatch.setattr(os, "rename", flaky)
    try:
        write_layers(out, {"beats": gdf.head(3)}, overwrite=True)
    finally:
        monkeypatch.undo()
        assert snap(e.tmp) == before and leftovers(out) == []


@case("a sample folder holding other files", OutputExistsError, "not part of this output")
def sample_foreign(e: Any) -> None:
    out = e.tmp / "sample"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    try:
        write_sample(out, overwrite=True)
    finally:
        assert (out / "notes.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


@case("a lone surrogate in a layer's text", InputFormatError, "lone surrogate")
def surrogate_layer(e: Any) -> None:
    name = pd.Series(["x\ud800y"], dtype=object)  # (pandas' own text type refuses it)
    gdf = gpd.GeoDataFrame({"id": ["a"], "name": name}, geometry=[box(0, 0, 1, 1)], crs=27700)
    out = e.tmp / "s.gpkg"
    try:
        write_layers(out, {"beats": gdf})
    finally:
        assert not out.exists() and leftovers(out) == []


@case("the same inputs twice", lost="every file byte for byte the same")
def byte_stable(e: Any) -> None:
    a, b = e.tmp / "a", e.tmp / "b"
    for out in (a, b):
        args = realign_args(e, "--format", "geojson", "--format", "shp", "--format", "kml")
        args[args.index(e.plan)] = out
        assert cli(*args).exit_code == 0
    assert snap(a) == snap(b)  # boundaries.gpkg (and .dbf) included: their dates are pinned
    assert len(snap(a)) > 30


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_output_fault(c: Any, e: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {"monkeypatch": monkeypatch} if "monkeypatch" in c.run.__code__.co_varnames else {}
    c.check(e, **kwargs)
