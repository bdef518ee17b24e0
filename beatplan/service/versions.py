"""The data cache: whole versions on disk and a pointer to the current one.

Layout of the cache folder::

    current.json          {"version": ...}: the version served; replaced atomically
    status.json           the last reload: when, whether it worked, its error
    reload.lock           held (flock) by whoever builds a version
    v-<version>/          one whole version: manifest.json, wards.parquet,
                          layer-<n>.parquet per level, incidents.parquet (GeoParquet)

A version folder is written under a temporary name and renamed into place when every file is
written and synced; only then does ``current.json`` move to it (written to a temporary file,
synced and renamed). So a process killed at any moment leaves the pointer on a whole version,
and a restart serves it: the last whole data. Temporary folders left by a killed process are
removed by the next build.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd

from beatplan.geo.errors import InputFormatError
from beatplan.service.snapshot import Snapshot

__all__ = ["VersionCache"]

log = logging.getLogger("beatplan")

_POINTER = "current.json"
_STATUS = "status.json"
_LOCK = "reload.lock"
_KEEP = 3


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class VersionCache:
    """The cache folder of one service: versions, the pointer, the status and the lock.

    Parameters
    ----------
    folder : path-like
        Created when missing (mode 0700: it holds the incidents).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    # -- the lock --------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the build lock (one builder at a time, across processes)."""
        with (self.folder / _LOCK).open("a") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    # -- the pointer -----------------------------------------------------------------------
    def current(self) -> str | None:
        """Return the version the pointer names, when its folder is whole; else None."""
        data = _read_json(self.folder / _POINTER)
        version = data.get("version") if data else None
        if not isinstance(version, str) or not self._whole(version):
            return None
        return version

    def pointer_stamp(self) -> tuple[int, int] | None:
        """Something that changes whenever the pointer is replaced (its inode and time)."""
        try:
            st = (self.folder / _POINTER).stat()
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns)

    def _dir(self, version: str) -> Path:
        if not version.isalnum():
            raise InputFormatError(f"bad data version {version!r} in {self.folder}")
        return self.folder / f"v-{version}"

    def _whole(self, version: str) -> bool:
        try:
            return (self._dir(version) / "manifest.json").is_file()
        except InputFormatError:
            return False

    # -- writing ---------------------------------------------------------------------------
    def write(self, snap: Snapshot) -> None:
        """Write ``snap`` as a whole version (unless there already) and point to it."""
        final = self._dir(snap.version)
        if not self._whole(snap.version):
            self._clean_partial()
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{snap.version}-", dir=self.folder))
            try:
                self._write_files(tmp, snap)
                if final.exists():  # a damaged leftover (no manifest)
                    shutil.rmtree(final)
                tmp.rename(final)
                _fsync_dir(self.folder)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        _write_json(self.folder / _POINTER, {"version": snap.version, "at": time.time()})
        self._prune(keep=snap.version)

    @staticmethod
    def _write_files(folder: Path, snap: Snapshot) -> None:
        levels = [lv for lv in snap.layers]
        snap.wards.to_parquet(folder / "wards.parquet")
        for i, lv in enumerate(levels):
            snap.layers[lv].to_parquet(folder / f"layer-{i}.parquet")
        snap.points.to_parquet(folder / "incidents.parquet")
        for p in folder.iterdir():
            with p.open("rb") as f:
                os.fsync(f.fileno())
        manifest = {
            "format": "beatplan-serve-version",
            "version": snap.version,
            "title": snap.title,
            "levels": levels,
            "sources": snap.sources,
            "written": time.time(),
        }
        _write_json(folder / "manifest.json", manifest)  # last: its presence marks it whole

    def _clean_partial(self) -> None:
        for p in self.folder.glob(".tmp-*"):
            shutil.rmtree(p, ignore_errors=True)

    def _prune(self, keep: str) -> None:
        """Remove all but the newest few versions (never the one just written)."""
        dirs = sorted(self.folder.glob("v-*"), key=lambda p: p.stat().st_mtime, reverse=True)
        for p in [d for d in dirs if d.name != f"v-{keep}"][_KEEP - 1 :]:
            shutil.rmtree(p, ignore_errors=True)

    # -- reading ---------------------------------------------------------------------------
    def load(self, version: str) -> Snapshot:
        """Read a whole version back into a snapshot."""
        folder = self._dir(version)
        manifest = _read_json(folder / "manifest.json")
        if manifest is None or manifest.get("version") != version:
            raise InputFormatError(f"{folder}: not a whole cached version")
        try:
            wards = gpd.read_parquet(folder / "wards.parquet")
            layers = {
                str(lv): gpd.read_parquet(folder / f"layer-{i}.parquet")
                for i, lv in enumerate(manifest["levels"])
            }
            points = gpd.read_parquet(folder / "incidents.parquet")
        except (OSError, ValueError) as exc:
            raise InputFormatError(f"{folder}: cannot read the cached version ({exc})") from exc
        return Snapshot(
            version, str(manifest.get("title", "")), wards, layers, points,
            dict(manifest.get("sources") or {}),
        )  # fmt: skip

    # -- status ----------------------------------------------------------------------------
    def set_status(self, *, ok: bool, version: str | None, error: str | None = None) -> None:
        """Record the outcome of the last reload (shown by ``/version`` in every worker)."""
        _write_json(
            self.folder / _STATUS,
            {"ok": ok, "version": version, "error": error, "at": time.time()},
        )

    def status(self) -> dict[str, Any] | None:
        """Return the last reload's outcome, or None."""
        return _read_json(self.folder / _STATUS)
