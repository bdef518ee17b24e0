"""Shared fixtures: where the real public data lives, and small awkward geometries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_REPO = Path(__file__).resolve().parents[1]


def _data_root() -> Path | None:
    env = os.environ.get("BEATPLAN_TEST_DATA")
    candidates = [Path(env)] if env else []
    candidates += [_REPO.parent / "shared" / "data", _REPO / ".." / "shared" / "data"]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real public test data; the test is skipped when it is absent."""
    root = _data_root()
    if root is None:
        pytest.skip(
            "real test data not found: set BEATPLAN_TEST_DATA or place it at ../shared/data"
        )
    return root
