"""Tests for beatplan.geo.progress: a tqdm bar on a terminal, the plain iterable otherwise."""

from __future__ import annotations

import io
import logging

import pytest
from tqdm import tqdm

from beatplan.geo.progress import progress, progress_enabled


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        if self.closed:
            raise ValueError("I/O operation on closed file")
        return True


def _stderr(monkeypatch: pytest.MonkeyPatch, stream: io.StringIO) -> io.StringIO:
    # patched inside the test body: pytest's capture resets sys.stderr after fixture setup
    monkeypatch.setattr("sys.stderr", stream)
    return stream


@pytest.fixture
def beatplan_level():
    logger = logging.getLogger("beatplan")
    old = logger.level
    yield logger.setLevel
    logger.setLevel(old)


def test_a_terminal_gets_a_bar_on_stderr(monkeypatch, beatplan_level) -> None:
    beatplan_level(logging.WARNING)
    terminal = _stderr(monkeypatch, _Terminal())
    items = [1, 2, 3]
    wrapped = progress(items, desc="reading files", unit="file")
    assert isinstance(wrapped, tqdm)
    assert list(wrapped) == items
    assert "reading files" in terminal.getvalue()


def test_not_a_terminal_returns_the_iterable_itself(monkeypatch, beatplan_level) -> None:
    beatplan_level(logging.WARNING)
    stream = _stderr(monkeypatch, io.StringIO())
    items = [1, 2, 3]
    assert progress(items, desc="x") is items
    assert stream.getvalue() == ""


def test_quiet_logger_silences_the_bar(monkeypatch, beatplan_level) -> None:
    beatplan_level(logging.ERROR)  # what the command line's -q sets
    terminal = _stderr(monkeypatch, _Terminal())
    items = range(5)
    assert progress(items) is items
    assert terminal.getvalue() == ""
    beatplan_level(logging.INFO)  # -v: still a bar
    assert isinstance(progress(items), tqdm)


def test_enabled_false_wins_over_a_terminal(monkeypatch, beatplan_level) -> None:
    beatplan_level(logging.WARNING)
    terminal = _stderr(monkeypatch, _Terminal())
    items = range(5)
    assert progress(items, enabled=False) is items
    assert terminal.getvalue() == ""


def test_enabled_true_forces_a_bar(monkeypatch, beatplan_level) -> None:
    beatplan_level(logging.ERROR)
    stream = _stderr(monkeypatch, io.StringIO())
    bar = progress(iter(range(4)), total=4, desc="folds", unit="fold", enabled=True)
    assert isinstance(bar, tqdm)
    assert sum(bar) == 6
    assert "folds" in stream.getvalue()


def test_a_closed_or_missing_stderr_means_no_bar(monkeypatch, beatplan_level) -> None:
    beatplan_level(logging.WARNING)
    closed = _Terminal()
    closed.close()
    monkeypatch.setattr("sys.stderr", closed)
    assert progress_enabled() is False
    monkeypatch.setattr("sys.stderr", None)
    assert progress_enabled() is False
