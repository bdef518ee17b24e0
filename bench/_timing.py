"""What the benchmarks share: the best of several timed runs."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any


def best_of(repeat: int, func: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Run ``func(*args, **kwargs)`` ``repeat`` times; return the fastest wall time and a result.

    Garbage is collected before each run, so one run's leftovers are not timed in the next.
    """
    best, out = float("inf"), None
    for _ in range(max(1, repeat)):
        gc.collect()
        t = time.perf_counter()
        out = func(*args, **kwargs)
        best = min(best, time.perf_counter() - t)
    return best, out
