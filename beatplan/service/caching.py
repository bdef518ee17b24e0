"""Results cached per data version: a bounded LRU with one computation per key at a time.

Each :class:`~beatplan.service.snapshot.Snapshot` holds its own :class:`Cache`, so a reload
(a new snapshot) drops every cached result at once. Heavy results (hotspots, maps) are computed
in a worker thread, at most ``heavy_jobs`` at a time, and concurrent requests for the same key
wait for the one computation instead of starting their own.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

__all__ = ["Cache"]

_MAX_ITEMS = 256
_MAX_BYTES = 256 * 1024 * 1024


def _size(value: Any) -> int:
    if isinstance(value, bytes | str):
        return len(value)
    if isinstance(value, tuple):
        return sum(_size(v) for v in value)
    return 1024


class Cache:
    """A bounded LRU of computed results with single-flight computation.

    Parameters
    ----------
    max_items, max_bytes : int
        Bounds; the least recently used entries go first.
    """

    def __init__(self, max_items: int = _MAX_ITEMS, max_bytes: int = _MAX_BYTES) -> None:
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._max_items = max_items
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._pending: dict[Hashable, asyncio.Future[Any]] = {}
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        """Return the cached value, or None."""
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return hit[0]

    def put(self, key: Hashable, value: Any) -> None:
        """Keep ``value`` under ``key``, dropping the oldest entries beyond the bounds."""
        size = _size(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while self._items and (
                len(self._items) > self._max_items or self._bytes > self._max_bytes
            ):
                _, (_, s) = self._items.popitem(last=False)
                self._bytes -= s

    async def compute(
        self,
        key: Hashable,
        func: Callable[[], Any],
        *,
        limiter: asyncio.Semaphore | None = None,
    ) -> tuple[Any, bool]:
        """Return ``(value, cached)``: the cached value, or ``func()`` run in a thread once.

        Requests for a key being computed wait for that computation; its error (a
        :class:`~beatplan.geo.errors.BeatplanError` for bad parameters) reaches each of them.
        """
        hit = self.get(key)
        if hit is not None:
            return hit, True
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending), False
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending[key] = fut
        self.misses += 1
        try:
            if limiter is not None:
                async with limiter:
                    value = await asyncio.to_thread(func)
            else:
                value = await asyncio.to_thread(func)
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._pending.pop(key, None)
        self.put(key, value)
        fut.set_result(value)
        return value, False
