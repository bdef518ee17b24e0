"""kill -9 at random points of ``beatplan realign --out DIR`` and of a map's save (issue 11).

Each kill is a real ``python -m beatplan`` process given SIGKILL at a random moment while it
writes: the test watches the output's folder for the writer's hidden staging entry
(``.<name>~bp-new-<token>``, made once the lock is held and what a killed writer left is
settled) and kills after a random delay drawn to fall anywhere in the write, from the first
byte to the last rename. After each kill:

- the plan folder is whole, and is the old plan or the new one (``read_plan`` checks every
  file's size and SHA-256 against ``plan.json``; the plan id says which);
- a map is the old file, byte for byte, or a whole new one;
- the hidden leftovers are only the killed writer's own (the next writer settled the earlier
  ones), and a writer after the last kill succeeds and leaves none.

Half the plan kills run with the one-step folder exchange (``renameat2``) switched off, so
the journal-protected two-rename swap is killed too; there the folder may be briefly absent
between the renames, and the next writer (here: the recovery it runs) puts the new one in place.

Fast mode: 12 plan kills and 8 map kills. ``BEATPLAN_KILLS=N`` runs N of each.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from beatplan.boundaries.outputs import read_plan, write_plan
from beatplan.boundaries.realign import realign
from beatplan.geo import _atomic
from beatplan.geo.errors import IncompleteOutputError, InputFormatError
from beatplan.geo.sample import make_sample

KILLS = int(os.environ.get("BEATPLAN_KILLS", "0"))
PLAN_KILLS = KILLS or 12
MAP_KILLS = KILLS or 8
#: A child that runs the command line with the one-step folder exchange switched off.
NO_EXCHANGE = (
    "import sys, beatplan.geo._atomic as a; a._exchange = lambda *_: False; "
    "from beatplan.cli import main; sys.argv[0] = 'beatplan'; main()"
)
PLAN_ID: dict[str, str] = {}
#: How long a whole write takes (from the staging entry to the end), measured once per worker.
WINDOW: dict[str, float] = {}
LEVELS = ("beat", "sector", "npa")


def _plan_id(folder: Path) -> str:
    import json

    return str(json.loads((folder / "plan.json").read_text(encoding="utf-8"))["plan_id"])


def _beatplan(*args: str | Path, exchange: bool = True) -> list[str]:
    head = [sys.executable, "-m", "beatplan"] if exchange else [sys.executable, "-c", NO_EXCHANGE]
    return [*head, *map(str, args)]


def _leftovers(dest: Path) -> list[str]:
    return sorted(e for e in os.listdir(dest.parent) if e.startswith(f".{dest.name}~bp-"))


def _out(cmd: list[str], dest: Path) -> list[str]:
    """The same command writing to ``dest``."""
    i = cmd.index("--out")
    return [*cmd[: i + 1], str(dest), *cmd[i + 2 :]]


def _ino(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _write_seconds(cmd: list[str], dest: Path) -> float:
    """Time a whole write of ``cmd`` to ``dest`` (which exists): from its staging entry's
    appearance to the moment the new output takes ``dest``'s place."""
    before, old = set(_leftovers(dest)), _ino(dest)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = swapped = None
    while proc.poll() is None and swapped is None:
        now = time.perf_counter()
        if started is None and any("~bp-new-" in e and e not in before for e in _leftovers(dest)):
            started = now
        if started is not None and _ino(dest) not in (old, None):
            swapped = now
        time.sleep(0.0002)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert started is not None
    return (swapped or time.perf_counter()) - started


def _kill_while_writing(
    cmd: list[str], dest: Path, rng: random.Random, window: float
) -> tuple[bool, float]:
    """Start ``cmd``; once its staging entry for ``dest`` appears, wait a random part of
    ``window`` seconds and SIGKILL it. Return (killed, seconds into the write)."""
    before = set(_leftovers(dest))
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        started = None
        while proc.poll() is None:
            new = [e for e in _leftovers(dest) if "~bp-new-" in e and e not in before]
            if new:
                started = time.perf_counter()
                break
            time.sleep(0.0005)
        if started is None:  # it finished (or failed) before writing
            _, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err.decode()
            return False, 0.0
        delay = rng.uniform(0, window)
        while time.perf_counter() - started < delay and proc.poll() is None:
            time.sleep(0.0002)
        if proc.poll() is not None:
            return False, delay
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        return True, delay
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small wards and beats (so a run is mostly the write), the old plan and its map."""
    root = tmp_path_factory.mktemp("kill")
    county = make_sample(n_wards=60, incidents=1000, months=1)
    wards, beats = root / "wards.geojson", root / "beats.geojson"
    county.wards_new.to_file(wards)
    county.beats.to_file(beats)
    old = root / "old_plan"  # the beats on the old wards: another plan
    write_plan(old, realign(county.wards_old, county.beats, levels=LEVELS, min_coverage=0))
    PLAN_ID["old"] = _plan_id(old)
    return {"wards": wards, "beats": beats, "old": old, "root": root}


def _fresh_plan(inputs: dict[str, Path], name: str) -> Path:
    """A folder holding the old plan (a copy), for the killed writers to replace."""
    import shutil

    dest = inputs["root"] / name
    if not dest.exists():
        shutil.copytree(inputs["old"], dest)
    return dest


def _reset(dest: Path, old: Path) -> None:
    """Put the old output at ``dest`` (the hidden leftovers beside it stay, for the writer)."""
    if dest.is_dir():
        shutil.rmtree(dest)
    elif dest.exists():
        dest.unlink()
    if old.is_dir():
        shutil.copytree(old, dest)
    else:
        shutil.copy2(old, dest)


def _killed(cmd: list[str], dest: Path, old: Path, rng: random.Random, key: str) -> float:
    """Kill ``cmd`` at a random point of its write of ``dest`` (reset to ``old`` first):
    anywhere from its first byte to a little after its swap. Return the delay."""
    if key not in WINDOW:  # one whole write, elsewhere: how long it takes
        trial = dest.with_name(f"trial_{key}{dest.suffix}")
        _reset(trial, old)
        WINDOW[key] = _write_seconds(_out(cmd, trial), trial)
        if trial.is_dir():  # the new plan, as every writer here writes it (byte-stable)
            PLAN_ID["new"] = _plan_id(trial)
    for _ in range(6):  # a writer that finished before its kill is run again
        _reset(dest, old)
        killed, delay = _kill_while_writing(cmd, dest, rng, window=1.2 * WINDOW[key])
        if killed:
            return delay
    raise AssertionError("the writer always finished before the kill")


@pytest.mark.parametrize("k", range(PLAN_KILLS))
def test_kill_realign_leaves_the_old_plan_or_the_new(inputs: dict[str, Path], k: int) -> None:
    exchange = k % 2 == 0
    dest = inputs["root"] / f"plan_{'x' if exchange else 'j'}{os.getpid()}"
    cmd = _beatplan("realign", "--wards", inputs["wards"], "--beats", inputs["beats"],
                    "--out", dest, "--overwrite", "--format", "geojson", "--format", "shp",
                    exchange=exchange)  # fmt: skip
    delay = _killed(cmd, dest, inputs["old"], random.Random(1000 + k), f"plan{exchange}")
    left = _leftovers(dest)
    # only this writer's own leftovers: the earlier ones were settled by it
    assert sum("~bp-new-" in e for e in left) <= 1, left
    assert sum("~bp-old-" in e for e in left) <= 1, left
    absent = not dest.exists()
    if absent:  # killed between the two renames of the journalled swap
        assert not exchange and any(e.endswith("~bp-journal") for e in left), left
        _atomic.recover(dest)  # what the next writer does first
    try:
        plan_id = _plan_id(dest)
        read_plan(dest)  # every file checked against plan.json
    except (IncompleteOutputError, InputFormatError, OSError) as exc:  # pragma: no cover
        raise AssertionError(f"kill {k}: the plan folder is not whole: {exc}") from exc
    assert plan_id in (PLAN_ID["old"], PLAN_ID["new"]), "neither the old plan nor the new"
    which = "new" if plan_id == PLAN_ID["new"] else "old"
    print(
        f"plan kill {k} ({'exchange' if exchange else 'journal'}) at {delay:.3f} s of "
        f"{WINDOW[f'plan{exchange}']:.3f}: {which}" + (" (after recovery)" if absent else "")
    )


def test_a_run_after_kills_succeeds_and_leaves_nothing(inputs: dict[str, Path]) -> None:
    dest = _fresh_plan(inputs, f"plan_after{os.getpid()}")
    rng = random.Random(7)
    cmd = _beatplan("realign", "--wards", inputs["wards"], "--beats", inputs["beats"],
                    "--out", dest, "--overwrite", exchange=False)  # fmt: skip
    _kill_while_writing(cmd, dest, rng, window=0.5)
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert _leftovers(dest) == []  # lock, staging, old copies and journal: all gone
    read_plan(dest)


@pytest.fixture(scope="module")
def old_map(inputs: dict[str, Path]) -> bytes:
    out = inputs["root"] / "reference.html"
    res = subprocess.run(
        _beatplan("map", "planning", inputs["old"], "--out", out, "--tiles", "none"),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    return out.read_bytes()


@pytest.mark.parametrize("k", range(MAP_KILLS))
def test_kill_map_save_leaves_the_old_map_or_the_new(
    inputs: dict[str, Path], old_map: bytes, k: int
) -> None:
    dest = inputs["root"] / f"map{os.getpid()}.html"
    old = inputs["root"] / "old.html"
    old.write_bytes(old_map)
    cmd = _beatplan("map", "planning", inputs["old"], "--out", dest, "--overwrite",
                    "--tiles", "none", "--title", f"new {k}")  # fmt: skip
    delay = _killed(cmd, dest, old, random.Random(2000 + k), "map")
    data = dest.read_bytes()
    whole_new = data.rstrip().endswith(b"</html>") and b"new " in data
    assert data == old_map or whole_new, (
        f"kill {k}: the map is neither the old file nor a whole new one ({len(data)} bytes)"
    )
    assert sum("~bp-new-" in e for e in _leftovers(dest)) <= 1
    print(f"map kill {k} at {delay:.3f} s of {WINDOW['map']:.3f}: "
          f"{'old' if data == old_map else 'new'}")  # fmt: skip
