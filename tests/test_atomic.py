"""Whole-or-nothing outputs (beatplan.geo._atomic behind geo.write.atomic_output): the lock,
the swaps, and the recovery of what a writer killed at any step left."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import geopandas as gpd
import pytest
from shapely import box

from beatplan.geo import _atomic
from beatplan.geo.errors import OutputExistsError, OutputLockedError, OutputWriteError
from beatplan.geo.write import atomic_output, write_layers, write_text


def _folder(dest: Path, text: str, *, overwrite: bool = True) -> None:
    with atomic_output(dest, overwrite=overwrite, folder=True) as tmp:
        for name in ("a.csv", "b.csv", "c.csv"):
            (tmp / name).write_text(f"{name},{text}\n")


def _state(dest: Path) -> str | None:
    """Which version the folder holds whole ("old"/"new"), None if absent; fail if mixed."""
    if not dest.exists():
        return None
    texts = {p.read_text().split(",")[1].strip() for p in dest.iterdir()}
    assert len(texts) == 1 and len(list(dest.iterdir())) == 3, f"mixed: {texts}"
    return texts.pop()


def _leftovers(dest: Path) -> list[str]:
    return sorted(e for e in os.listdir(dest.parent) if e.startswith(f".{dest.name}~bp-"))


# ------------------------------------------------------------------------------ the lock
def test_a_second_writer_fails_at_once_while_the_first_writes(tmp_path: Path) -> None:
    dest = tmp_path / "plan"
    inside, release = threading.Event(), threading.Event()

    def first() -> None:
        with atomic_output(dest, folder=True) as tmp:
            (tmp / "a.csv").write_text("first")
            inside.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(10)
    with pytest.raises(OutputLockedError, match="another beatplan .* is writing") as err:
        _folder(dest, "second")
    assert str(dest) in str(err.value) and f"process {os.getpid()}" in str(err.value)
    assert isinstance(err.value, OSError)
    release.set()
    t.join()
    assert (dest / "a.csv").read_text() == "first"  # the first writer's output, whole
    with pytest.raises(OutputExistsError):  # and, after it, a writer without overwrite
        _folder(dest, "third", overwrite=False)
    assert _leftovers(dest) == []


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    code = (
        "import sys, time; from pathlib import Path; from beatplan.geo.write import atomic_output\n"
        f"with atomic_output(Path({str(dest)!r})) as tmp:\n"
        "    print('in', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "in"
        with pytest.raises(OutputLockedError, match=f"process {proc.pid}"):
            write_text(dest, "mine")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert any(e.endswith("~bp-lock") for e in _leftovers(dest))  # the stale lock file
    write_text(dest, "mine")  # taken over: the kernel let go of the dead process's lock
    assert dest.read_text() == "mine"
    assert _leftovers(dest) == []  # its staging file and the lock file: gone


# ------------------------------------------------------------------------------ recovery
def _crash_at(step: int, work: object) -> int:
    """Run ``work`` in a forked child that dies (os._exit) at its ``step``-th rename."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        calls = [0]
        real_rename, real_replace = os.rename, os.replace

        def crash(real):  # type: ignore[no-untyped-def]
            def f(*a, **k):  # type: ignore[no-untyped-def]
                if calls[0] == step:
                    os._exit(9)
                calls[0] += 1
                return real(*a, **k)

            return f

        os.rename, os.replace = crash(real_rename), crash(real_replace)
        try:
            work()  # type: ignore[operator]
        except BaseException:
            os._exit(3)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "journal"])
def test_a_folder_write_killed_at_every_rename_is_old_or_new(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    if not exchange:
        monkeypatch.setattr(_atomic, "_exchange", lambda *_: False)
    outcomes = []
    for step in range(20):
        dest = tmp_path / f"plan{step}"
        _folder(dest, "old")
        code = _crash_at(step, lambda d=dest: _folder(d, "new"))
        state = _state(dest)
        if state is None:  # between the two renames of the journalled swap
            assert not exchange and any(e.endswith("~bp-journal") for e in _leftovers(dest))
        # the next writer of dest settles it: a journal is finished, staging removed
        with _atomic.locked(dest):
            _atomic.recover(dest)
        after = _state(dest)
        assert after in ("old", "new")
        assert state != "new" or after == "new"  # recovery only ever finishes the swap
        assert not [e for e in _leftovers(dest) if not e.endswith("~bp-lock")]
        outcomes.append((code, after))
        if code == 0:
            break
    assert outcomes[-1] == (0, "new")  # the run with no crash completes
    assert ("old" in {o for _, o in outcomes[:-1]}) or exchange  # a crash before the swap


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_file_set_killed_at_every_rename_is_finished_by_the_next_writer(
    tmp_path: Path,
) -> None:
    """Shapefile parts: once the journal is written, the next writer rolls the set forward."""
    gdf = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(0, 0, 1, 1)], crs=27700)
    new = gpd.GeoDataFrame({"id": ["b", "c"]}, geometry=[box(0, 0, 1, 1)] * 2, crs=27700)
    for step in range(30):
        folder = tmp_path / f"s{step}"
        folder.mkdir()
        out = folder / "beats.shp"
        write_layers(out, {"beats": gdf})
        code = _crash_at(step, lambda o=out: write_layers(o, {"beats": new}, overwrite=True))
        with _atomic.locked(out):
            _atomic.recover(out)
        back = gpd.read_file(out)
        assert back["id"].tolist() in (["a"], ["b", "c"]), step  # the old set or the new
        parts = sorted(p.suffix for p in folder.iterdir() if not p.name.startswith("."))
        assert parts == [".cpg", ".dbf", ".prj", ".shp", ".shx"], parts
        if code == 0:
            break
    else:  # pragma: no cover
        raise AssertionError("the write never completed")


def test_leftovers_of_other_outputs_are_left_alone(tmp_path: Path) -> None:
    other = tmp_path / f".plan.gpkg~bp-new-{'0' * 32}"
    other.mkdir()  # a writer of plan.gpkg, not of plan
    mine = tmp_path / f".plan~bp-new-{'1' * 32}"
    mine.mkdir()
    _folder(tmp_path / "plan", "x")
    assert other.exists() and not mine.exists()


# ------------------------------------------------------------------------------ refusals
def test_a_folder_output_refuses_a_folder_holding_other_files(tmp_path: Path) -> None:
    from beatplan.boundaries.outputs import is_plan_file

    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "notes.docx").write_text("mine")
    with pytest.raises(OutputExistsError, match="notes.docx, not part of this output"):
        with atomic_output(dest, overwrite=True, folder=True, owned=is_plan_file):
            pass
    assert (dest / "notes.docx").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_output(empty, folder=True, owned=is_plan_file) as tmp:  # empty: free
        (tmp / "plan.json").write_text("{}")
    assert (empty / "plan.json").is_file()


def test_a_file_output_refuses_a_folder_even_with_overwrite(tmp_path: Path) -> None:
    with pytest.raises(OutputExistsError, match="is a folder; give a file name"):
        write_text(tmp_path, "x", overwrite=True)


# ------------------------------------------------------------------------------ system errors
@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "No space left on device"),
        (errno.EROFS, "Read-only file system"),
        (errno.EACCES, "Permission denied"),
    ],  # fmt: skip
)
def test_a_system_error_while_writing_is_one_line_naming_the_output(
    tmp_path: Path, code: int, words: str
) -> None:
    dest = tmp_path / "plan"
    _folder(dest, "old")
    with pytest.raises(OutputWriteError) as err:
        with atomic_output(dest, overwrite=True, folder=True) as tmp:
            (tmp / "a.csv").write_text("new")
            raise OSError(code, os.strerror(code), str(tmp / "b.csv"))
    msg = str(err.value)
    assert msg.startswith(f"{dest}: cannot write ({words}") and "\n" not in msg, msg
    assert "~bp-" not in msg  # the user's path, not the staging one
    assert _state(dest) == "old" and _leftovers(dest) == []


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(exist_ok=True)
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                             capture_output=True, timeout=10)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    return res.returncode == 0


@pytest.fixture
def tiny_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 2 MB file system (a real full disk), when this machine lets us mount one."""
    where = tmp_path / "tiny"
    if not _mount_tmpfs(where, "size=2m"):
        pytest.skip("cannot mount a tmpfs here (needs root); the monkeypatched ENOSPC test runs")
    yield where
    subprocess.run(["umount", str(where)], check=False, timeout=30)


def test_a_full_disk_leaves_the_old_plan_and_says_so(tiny_disk: Path) -> None:
    from beatplan.boundaries.outputs import read_plan, write_plan
    from beatplan.boundaries.reorganise import reorganise

    small = gpd.GeoDataFrame(
        {"id": ["w1", "w2"], "beat": ["B1", "B2"], "npa": ["N", "N"]},
        geometry=[box(450_000, 300_000, 451_000, 301_000), box(451_000, 300_000, 452_000, 301_000)],
        crs=27700,
    )
    plan = tiny_disk / "plan"
    write_plan(plan, reorganise(small, None, levels=["beat", "npa"]))
    before = {p.name: p.read_bytes() for p in plan.iterdir()}
    filler = tiny_disk / "filler"
    try:  # fill the disk
        with open(filler, "wb") as f:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
    except OSError:
        pass
    os.truncate(filler, max(filler.stat().st_size - 16 * 1024, 0))  # room for the lock only
    with pytest.raises(OutputWriteError, match=f"^{plan}.*(space|full)") as err:
        write_plan(plan, reorganise(small, None, levels=["beat", "npa"]), overwrite=True)
    assert "\n" not in str(err.value)
    assert {p.name: p.read_bytes() for p in plan.iterdir()} == before
    read_plan(plan)
    assert [e for e in os.listdir(tiny_disk) if "~bp-" in e] == []
