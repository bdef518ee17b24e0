"""Shared fixtures: where the real public data lives, what map tests need, small geometries."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness.maps import assets_missing_reason, chromium_missing_reason, require

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


@pytest.fixture(scope="module")
def need_assets() -> None:
    """The offline map assets are fetched (else skip; fail under CI)."""
    require(assets_missing_reason())


@pytest.fixture(scope="module")
def browser_ready() -> None:
    """Headless Chromium and the offline map assets are both here (else skip; fail under CI)."""
    require(chromium_missing_reason(), assets_missing_reason())


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: ``$BEATPLAN_SCREENSHOTS`` to keep them, else a temporary folder."""
    env = os.environ.get("BEATPLAN_SCREENSHOTS")
    out = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    out.mkdir(parents=True, exist_ok=True)
    return out
