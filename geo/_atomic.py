"""The machinery behind :func:`beatplan.geo.write.atomic_output`: lock, stage, commit, recover.

An output at ``<folder>/<name>`` (a file, a folder, or a set of sibling files such as a
Shapefile's parts) is written as follows:

1. **Lock.** ``<folder>/.<name>~bp-lock`` is opened and locked (``flock``; released by the
   operating system when the process dies, so a lock file left by a killed run is harmless and
   is reused). A second writer of the same output fails at once with
   :class:`~beatplan.geo.errors.OutputLockedError`.
2. **Recover.** Under the lock, what a killed writer left is settled: a committed swap (its
   journal exists) is finished; staging files and folders (``.<name>~bp-new-<token>``) and
   old copies put aside (``.<name>~bp-old-<token>``) are removed.
3. **Stage.** The caller writes the new output under ``.<name>~bp-new-<token>``.
4. **Commit.** Files are flushed to disk, then moved into place: a file by one
   :func:`os.replace`; a folder by one ``renameat2(RENAME_EXCHANGE)`` where the system offers
   it (Linux), so ``<name>`` is never absent or mixed, else by a journal-protected pair of
   renames; a set of files by a journal-protected series of :func:`os.replace`. The journal
   (``.<name>~bp-journal``) is written, atomically, only once every new file is complete, so a
   run killed after it exists is rolled forward by the next writer, and one killed before it
   leaves the old output untouched.

Every hidden name ends in ``~bp-<kind>-<32 hex digits>`` or ``~bp-lock``/``~bp-journal``, so no
suffix a reader looks for (``.csv``, ``.geojson`` ...) ever matches a leftover, and the names of
one output can never be mistaken for another's.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from beatplan.geo.errors import OutputLockedError, OutputWriteError

__all__ = [
    "commit_file",
    "commit_files",
    "commit_folder",
    "locked",
    "new_name",
    "recover",
    "write_error",
]

_TAG = "~bp-"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def new_name(dest: Path, suffix: str = "") -> Path:
    """Return a fresh staging path beside ``dest`` (``.<name>~bp-new-<token><suffix>``)."""
    return dest.parent / f".{dest.name}{_TAG}new-{uuid.uuid4().hex}{suffix}"


def _lock_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}{_TAG}lock"


def _journal_path(dest: Path) -> Path:
    return dest.parent / f".{dest.name}{_TAG}journal"


def _leftovers(dest: Path) -> list[Path]:
    """Staging and put-aside entries a killed writer of ``dest`` may have left."""
    prefix = f".{dest.name}{_TAG}"
    found = []
    try:
        entries = list(os.scandir(dest.parent))
    except OSError:
        return []
    for e in entries:
        if not e.name.startswith(prefix):
            continue
        kind, _, rest = e.name[len(prefix) :].partition("-")
        if kind in ("new", "old") and _TOKEN.match(rest[:32]):
            found.append(Path(e.path))
    return sorted(found)


# ------------------------------------------------------------------------------ lock
if sys.platform == "win32":  # pragma: no cover - the suite runs on Linux
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


@contextmanager
def locked(dest: Path) -> Iterator[None]:
    """Hold the lock of output ``dest`` for the ``with`` block; fail at once if it is held.

    Raises
    ------
    OutputLockedError
        Another process (or thread) is writing ``dest``.
    """
    path = _lock_path(dest)
    for _ in range(20):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = _holder(fd)
            os.close(fd)
            raise OutputLockedError(
                f"{dest}: another beatplan{holder} is writing this output right now; wait for "
                "it to finish, or write to another path"
            )
        try:  # the holder may have released and removed the file between our open and lock
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:  # pragma: no cover - only under a storm of writers
        raise OutputLockedError(f"{dest}: could not take the lock {path}; try again")
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)


def _holder(fd: int) -> str:
    """Say which process holds a lock (`` (process 123)``), from the lock file, if it says."""
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


# ------------------------------------------------------------------------------ recovery
def recover(dest: Path) -> None:
    """Finish a committed swap of ``dest`` and remove what killed writers left (under the lock)."""
    journal = _journal_path(dest)
    if journal.exists():
        try:
            ops = [(str(a), str(b)) for a, b in json.loads(journal.read_text("utf-8"))["moves"]]
        except (ValueError, KeyError, TypeError, OSError):
            ops = []  # a journal is written whole (renamed into place); this is not ours
        _apply(dest.parent, ops)
        _fsync_dir(dest.parent)
        journal.unlink(missing_ok=True)
    for p in _leftovers(dest):
        _remove(p)


def _apply(
    parent: Path, ops: Sequence[Sequence[str]], done: list[tuple[Path, Path]] | None = None
) -> None:
    """Run journal moves ``[src, dst]`` (relative to ``parent``) in order, noting each in ``done``.

    A move is made only while ``src`` exists and ``dst`` does not, so running the journal again
    after a crash skips what was done and never moves a new file or folder aside.
    """
    done = [] if done is None else done
    for src_name, dst_name in ops:
        src, dst = parent / src_name, parent / dst_name
        if (src.exists() or src.is_symlink()) and not (dst.exists() or dst.is_symlink()):
            os.rename(src, dst)
            done.append((src, dst))


def _run(dest: Path, ops: list[list[str]]) -> None:
    """Write the journal, make the moves, remove the journal; on an error, undo the moves."""
    journal = _write_journal(dest, ops)
    done: list[tuple[Path, Path]] = []
    try:
        _apply(dest.parent, ops, done)
    except BaseException:
        for src, dst in reversed(done):
            os.rename(dst, src)
        journal.unlink(missing_ok=True)
        raise
    _fsync_dir(dest.parent)
    journal.unlink()  # before any old copy goes: a re-run must never move the new one aside


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _write_journal(dest: Path, ops: Sequence[Sequence[str]]) -> Path:
    """Write the journal of a swap, whole (a temporary file renamed into place), and flush it."""
    journal = _journal_path(dest)
    tmp = new_name(dest)
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"moves": ops}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, journal)
    _fsync_dir(dest.parent)
    return journal


# ------------------------------------------------------------------------------ commit
def _fsync_file(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(p: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        return
    try:
        _fsync_file(p)
    except OSError:  # some file systems refuse fsync on a folder; the rename still holds
        pass


def _fsync_tree(root: Path) -> None:
    for folder, _, files in os.walk(root):
        for f in files:
            _fsync_file(Path(folder) / f)
        _fsync_dir(Path(folder))


def commit_file(tmp: Path, dest: Path) -> None:
    """Flush ``tmp`` and rename it onto ``dest`` (one atomic step)."""
    _fsync_file(tmp)
    os.replace(tmp, dest)
    _fsync_dir(dest.parent)


def commit_folder(tmp: Path, dest: Path) -> None:
    """Swap the finished folder ``tmp`` in at ``dest``; what was there is removed."""
    _fsync_tree(tmp)
    if not dest.exists():
        os.rename(tmp, dest)
    elif dest.is_dir() and not any(dest.iterdir()):
        os.rename(tmp, dest)  # onto an empty folder: one atomic rename
    elif _exchange(tmp, dest):
        _remove(tmp)  # it now holds the old folder
    else:
        aside = dest.parent / f".{dest.name}{_TAG}old-{uuid.uuid4().hex}"
        _run(dest, [[dest.name, aside.name], [tmp.name, dest.name]])
        _remove(aside)  # (if killed first, the next writer removes it as a leftover)
    _fsync_dir(dest.parent)


def commit_files(staging: Path, dest: Path, files: Iterable[Path]) -> None:
    """Move the files written in ``staging`` onto ``files``; remove those it did not write.

    ``dest`` names the set (its journal). What is at each of ``files`` is first moved aside
    into ``staging``; once the journal exists the swap is finished even if this process dies
    (by the next writer of ``dest``); an error while moving puts the old files back.
    """
    _fsync_tree(staging)
    aside = staging / f"{_TAG}old"
    aside.mkdir()
    rel = functools.partial(os.path.relpath, start=dest.parent)
    ops: list[list[str]] = []
    for f in files:
        if f.exists() or f.is_symlink():
            ops.append([rel(f), rel(aside / f.name)])
        if (staging / f.name).exists():
            ops.append([rel(staging / f.name), rel(f)])
    _run(dest, ops)
    _remove(staging)  # the old files (if killed first, a leftover the next writer removes)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2``); False where the system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system cannot exchange
        return False
    raise OSError(err, os.strerror(err), os.fspath(b))


def write_error(dest: Path, exc: BaseException) -> OutputWriteError:
    """Return the one-line error for a failed write of ``dest`` (the path and the reason)."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    where = getattr(exc, "filename", None)
    shown = os.fspath(where) if where else ""
    return OutputWriteError(
        f"{dest}: cannot write ({reason}"
        + (f": {shown}" if shown and _TAG not in shown and shown != os.fspath(dest) else "")
        + "); what was there is left as it was"
    )
