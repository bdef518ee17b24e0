"""Progress bars for long work: tqdm on a terminal, silence everywhere else.

Every long job (reading many files, realigning or designing on thousands of wards, backtest
folds, national hotspots and maps) wraps its outer loop in :func:`progress`. A function of the
API that does such work takes ``progress: bool | None = None`` and passes it on as ``enabled``:

* ``None`` (the default) — automatic: a bar only when standard error is a terminal and the
  ``"beatplan"`` logger is not set quieter than WARNING (the command line's ``-q`` sets ERROR);
* ``True`` — always a bar (on standard error);
* ``False`` — never a bar; the iterable is returned as it is, at no cost.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

__all__ = ["progress", "progress_enabled", "stages"]

T = TypeVar("T")


def progress_enabled(enabled: bool | None = None) -> bool:
    """Say whether a progress bar should be shown.

    Parameters
    ----------
    enabled : bool or None
        ``True`` or ``False`` decide; ``None`` means automatic: on only when standard error is a
        terminal and the ``"beatplan"`` logger lets WARNING through.

    Returns
    -------
    bool
        Whether to show a bar.

    Examples
    --------
    >>> progress_enabled(False)
    False
    >>> progress_enabled(True)
    True
    """
    if enabled is not None:
        return bool(enabled)
    if not logging.getLogger("beatplan").isEnabledFor(logging.WARNING):
        return False
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def progress(
    iterable: Iterable[T],
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool | None = None,
) -> Iterable[T]:
    """Wrap ``iterable`` in a tqdm progress bar when one should be shown.

    Parameters
    ----------
    iterable : iterable
        The work to walk through.
    total : int, optional
        The number of items, when ``len(iterable)`` does not say it.
    desc : str
        A short label before the bar, e.g. ``"reading files"``.
    unit : str
        What one item is, e.g. ``"file"``, ``"fold"``.
    enabled : bool or None
        See :func:`progress_enabled`. ``False`` returns ``iterable`` itself.

    Returns
    -------
    iterable
        A tqdm iterator writing to standard error, or ``iterable`` unchanged.

    Examples
    --------
    >>> list(progress(range(3), desc="counting", enabled=False))
    [0, 1, 2]
    """
    if not progress_enabled(enabled):
        return iterable
    bar: Iterator[T] = tqdm(
        iterable,
        total=total,
        desc=desc or None,
        unit=unit,
        file=sys.stderr,
        leave=False,
        dynamic_ncols=True,
        mininterval=0.2,
    )
    return bar


@contextmanager
def stages(
    names: Sequence[str], *, desc: str, enabled: bool | None = None
) -> Iterator[Callable[[], None]]:
    """Show a bar of named stages; the ``with`` block calls what it yields after each stage.

    For work that runs as a few long vectorised stages rather than a loop over items (realign,
    a national map): the bar moves one stage at a time and is gone when the block ends.

    Parameters
    ----------
    names : sequence of str
        The stages, in order (their number is the bar's length).
    desc : str
        A short label before the bar.
    enabled : bool or None
        See :func:`progress_enabled`.

    Yields
    ------
    callable
        Call it when a stage is done.

    Examples
    --------
    >>> with stages(["read", "draw"], desc="map", enabled=False) as done:
    ...     done()
    ...     done()
    """
    steps = iter(progress(list(names), desc=desc, unit="stage", enabled=enabled))

    def done() -> None:
        next(steps, None)

    try:
        yield done
    finally:
        for _ in steps:  # finish (and so close) the bar
            pass
