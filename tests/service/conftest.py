"""Fixtures of the service tests: the sample plans, tokens, and real servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness.server import ServedPlan, add_token, sample_plan


@dataclass(frozen=True)
class Tokens:
    """A tokens file and the tokens in it (the revoked one no longer works)."""

    path: Path
    admin: str
    full: str
    scoped: str
    revoked: str


@pytest.fixture(scope="session")
def plan_a(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The sample county (seed 1): its plan folder and its crime folder."""
    return sample_plan(tmp_path_factory.mktemp("county-a"), seed=1)


@pytest.fixture(scope="session")
def plan_b(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Another county (seed 2): other wards, beats and incidents, for reloads."""
    return sample_plan(tmp_path_factory.mktemp("county-b"), seed=2)


@pytest.fixture(scope="session")
def tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    path = tmp_path_factory.mktemp("tokens") / "tokens.json"
    admin = add_token(path, "admin", "--admin")
    full = add_token(path, "analyst", "--rate", "1000", "--burst", "1000")
    scoped = add_token(path, "ce-desk", "--area", "NPA-CE", "--rate", "1000", "--burst", "1000")
    revoked = add_token(path, "leaver")
    from beatplan.service.tokens import revoke_token

    revoke_token(path, "leaver")
    return Tokens(path, admin, full, scoped, revoked)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, plan_a: tuple[Path, Path], tokens: Tokens
) -> Iterator[ServedPlan]:
    """One server on the sample county, shared by a module's read-only tests."""
    tmp = tmp_path_factory.mktemp("served")
    srv = ServedPlan(plan_a[0], [plan_a[1]], tokens.path, tmp / "cache", tmp / "server.log")
    with srv:
        yield srv
