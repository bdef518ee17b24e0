"""The served data: the current snapshot, reloaded beside the old and swapped atomically.

:func:`build` makes the newest whole version: it lists and hashes the source files, reads them
(unless that version is already cached whole), writes the version to the cache and points the
cache at it, all under the cache's lock. :class:`DataStore` holds the snapshot a worker serves;
:meth:`DataStore.reload` builds and swaps, :meth:`DataStore.follow` swaps to a version another
process built (workers of one server share the cache folder). A request reads
``store.current`` once and uses that snapshot throughout, so it sees the old data or the new,
never a mix. A build that fails changes nothing: the old data stays served and the error is
recorded for ``/version`` and returned to the admin who asked.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from beatplan.geo.errors import BeatplanError
from beatplan.service.settings import Settings
from beatplan.service.snapshot import Snapshot
from beatplan.service.sources import read_sources, source_files
from beatplan.service.versions import VersionCache

__all__ = ["DataStore", "Reloaded", "build", "error_line", "prepare", "refresh"]

log = logging.getLogger("beatplan")


def error_line(exc: BaseException) -> str:
    """One line saying what went wrong (the command line's message, lines joined)."""
    text = str(exc) if isinstance(exc, BeatplanError | OSError) else f"{type(exc).__name__}: {exc}"
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


@dataclass(frozen=True)
class Reloaded:
    """What a reload did."""

    version: str
    previous: str | None
    changed: bool
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        """For the admin endpoint's answer."""
        return {
            "version": self.version,
            "previous": self.previous,
            "changed": self.changed,
            "seconds": round(self.seconds, 3),
        }


def build(settings: Settings, cache: VersionCache, current: str | None = None) -> Snapshot | None:
    """Make the newest whole version current in the cache; return it (None: ``current``).

    Raises
    ------
    beatplan.geo.errors.BeatplanError, OSError
        The sources cannot be read; the cache and its pointer are left as they were.
    """
    with cache.lock():
        files = source_files(settings)
        version = files.version()
        if version == current:
            if cache.current() != version:  # e.g. the pointer was moved by hand
                log.info("data: version %s is current", version)
            return None
        if cache.current() == version:
            log.info("data: version %s read from the cache %s", version, cache.folder)
            return cache.load(version)
        t0 = time.perf_counter()
        snap = read_sources(settings, files)
        cache.write(snap)
        log.info(
            "data: version %s read from the sources in %.2f s and cached",
            version,
            time.perf_counter() - t0,
        )
        return snap


def refresh(settings: Settings, cache: VersionCache, current: str | None) -> Snapshot | None:
    """:func:`build`, recording the outcome for ``/version`` (an error keeps ``current``)."""
    try:
        snap = build(settings, cache, current)
    except (BeatplanError, OSError) as exc:
        line = error_line(exc)
        log.error("reload failed, still serving version %s: %s", current, line)
        cache.set_status(ok=False, version=current, error=line)
        raise
    cache.set_status(ok=True, version=current if snap is None else snap.version)
    return snap


def prepare(settings: Settings, cache: VersionCache, *, load: bool) -> Snapshot | None:
    """Make the cache's current version the newest whole data, at start.

    When the sources cannot be read, the last whole cached version stays current (and the
    error is recorded). Returns the snapshot when ``load`` (else None: workers load it).

    Raises
    ------
    beatplan.geo.errors.BeatplanError
        The sources are bad and no whole version is cached.
    """
    try:
        with cache.lock():
            files = source_files(settings)
            version = files.version()
            snap: Snapshot | None = None
            if cache.current() != version:
                snap = read_sources(settings, files)
                cache.write(snap)
                log.info("data: version %s read from the sources and cached", version)
            elif load:
                snap = cache.load(version)
        cache.set_status(ok=True, version=version)
        return snap
    except (BeatplanError, OSError) as exc:
        last = cache.current()
        if last is None:
            raise
        line = error_line(exc)
        log.error("data: cannot read the sources (%s); serving the last whole version %s",
                  line, last)  # fmt: skip
        cache.set_status(ok=False, version=last, error=line)
        return cache.load(last) if load else None


class DataStore:
    """The snapshot a worker serves, and how it is replaced.

    Parameters
    ----------
    settings : Settings
    snapshot : Snapshot, optional
        The data to start with; by default the cache's current version, else built from the
        sources (see :meth:`start`).
    """

    def __init__(self, settings: Settings, snapshot: Snapshot | None = None) -> None:
        self.settings = settings
        self.cache = VersionCache(settings.cache_dir)
        self._lock = threading.Lock()
        self._stamp = self.cache.pointer_stamp()
        self.current: Snapshot = snapshot if snapshot is not None else self._first()
        self._status: tuple[float, dict[str, Any] | None] = (-1.0, None)

    def _first(self) -> Snapshot:
        version = self.cache.current()
        if version is not None:
            try:
                return self.cache.load(version)
            except BeatplanError as exc:
                log.error("data: cached version %s unreadable (%s)", version, error_line(exc))
        snap = build(self.settings, self.cache)
        assert snap is not None
        return snap

    @classmethod
    def start(cls, settings: Settings) -> DataStore:
        """Build the newest data at start; if the sources are bad, serve the last whole version.

        Raises
        ------
        beatplan.geo.errors.BeatplanError
            The sources are bad and no whole version is cached.
        """
        cache = VersionCache(settings.cache_dir)
        snap = prepare(settings, cache, load=True)
        assert snap is not None
        return cls(settings, snap)

    def reload(self) -> Reloaded:
        """Build the newest data beside the current and swap to it (blocking; run in a thread).

        Raises
        ------
        beatplan.geo.errors.BeatplanError, OSError
            The new data cannot be read; the current data stays served.
        """
        with self._lock:
            t0 = time.perf_counter()
            old = self.current
            try:
                snap = refresh(self.settings, self.cache, old.version)
            finally:
                self._status = (-1.0, None)  # this process wrote it: read it again
            if snap is not None:
                self.current = snap  # the swap: one reference, replaced at once
            self._stamp = self.cache.pointer_stamp()
            done = Reloaded(self.current.version, old.version, snap is not None,
                            time.perf_counter() - t0)  # fmt: skip
            log.info("reload: version %s (%s)", done.version,
                     "new data" if done.changed else "unchanged")  # fmt: skip
            return done

    def status(self) -> dict[str, Any] | None:
        """Return the last reload's outcome (read from the cache at most once a second)."""
        now = time.monotonic()
        if now - self._status[0] >= 1.0:
            self._status = (now, self.cache.status())
        return self._status[1]

    def follow(self) -> bool:
        """Swap to the version another process made current, if any; True when swapped."""
        stamp = self.cache.pointer_stamp()
        if stamp == self._stamp:
            return False
        with self._lock:
            self._stamp = stamp
            version = self.cache.current()
            if version is None or version == self.current.version:
                return False
            try:
                snap = self.cache.load(version)
            except BeatplanError as exc:
                log.error("data: cannot load version %s (%s)", version, error_line(exc))
                return False
            self.current = snap
            log.info("data: now serving version %s", version)
            return True
