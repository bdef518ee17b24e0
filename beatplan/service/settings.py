"""The service's settings: one frozen object, made by ``beatplan serve`` and passed in.

Worker processes (``--workers N``) get the same settings through one environment variable
holding them as JSON (:meth:`Settings.to_env`, :meth:`Settings.from_env`), so nothing is read
from a global settings module.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["ENV_SETTINGS", "LIMITS", "Limits", "Settings", "default_cache_dir"]

#: The environment variable worker processes read their settings from.
ENV_SETTINGS = "BEATPLAN_SERVE_SETTINGS"


@dataclass(frozen=True)
class Limits:
    """Request limits.

    Attributes
    ----------
    batch_points : int
        Most points one ``POST /api/locate`` may hold.
    batch_bytes : int
        Largest ``POST /api/locate`` body.
    body_bytes : int
        Largest body of any other request.
    target_bytes : int
        Longest request target (path and query string).
    param_chars : int
        Longest value of one query parameter.
    ticket_s : int
        How long a briefing-map link made by the sign-in page stays valid.
    heavy_jobs : int
        Hotspot and map computations run at once per worker (the rest wait).
    """

    batch_points: int = 10_000
    batch_bytes: int = 2 * 1024 * 1024
    body_bytes: int = 16 * 1024
    target_bytes: int = 4096
    param_chars: int = 100
    ticket_s: int = 300
    heavy_jobs: int = 1


LIMITS = Limits()


def default_cache_dir(plan: Path, incidents: tuple[str, ...]) -> Path:
    """Return the cache folder for these inputs: under ``$XDG_CACHE_HOME/beatplan/serve``.

    Kept out of the data folders by default (they may be shared or read-only, and a plan folder
    holds only what ``write_plan`` wrote); ``--cache DIR`` puts it anywhere, e.g. beside the data.
    """
    key = json.dumps([str(plan.resolve()), *[str(Path(i).resolve()) for i in incidents]])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "beatplan" / "serve" / digest


@dataclass(frozen=True)
class Settings:
    """Everything the service is told at start.

    Attributes
    ----------
    plan : pathlib.Path
        A plan folder (or its GeoPackage), or a boundary file with level columns.
    incidents : tuple of str
        Incident files, folders or globs (read with :func:`beatplan.geo.read_incidents`).
    tokens : pathlib.Path
        The tokens file (``beatplan token add``).
    cache : pathlib.Path
        The folder of the data cache (whole versions and the pointer to the current one).
    host, port, workers : str, int, int
        Where to listen, and how many worker processes.
    tiles : str or None
        The briefing maps' basemap, or None for none (then a map needs no network at all).
    allowed_hosts : tuple of str
        ``Host`` header names accepted (DNS-rebinding guard); ``"*"`` accepts any.
    access_log : bool
        Log one line per request (method, route, status, time, token name; never the query
        text or the token).
    secret : str
        Hex key signing the sign-in page's short-lived map links (shared by the workers).
    limits : Limits
    """

    plan: Path
    incidents: tuple[str, ...] = ()
    tokens: Path = Path("tokens.json")
    cache: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    tiles: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    access_log: bool = True
    secret: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    limits: Limits = LIMITS

    def __post_init__(self) -> None:
        object.__setattr__(self, "plan", Path(self.plan))
        object.__setattr__(self, "tokens", Path(self.tokens))
        object.__setattr__(self, "incidents", tuple(str(i) for i in self.incidents))
        if self.cache is None:
            object.__setattr__(self, "cache", default_cache_dir(self.plan, self.incidents))
        else:
            object.__setattr__(self, "cache", Path(self.cache))

    @property
    def cache_dir(self) -> Path:
        """The cache folder (never None once built)."""
        assert self.cache is not None  # set in __post_init__
        return self.cache

    @property
    def hosts(self) -> frozenset[str]:
        """Host names accepted in the ``Host`` header."""
        base = {"127.0.0.1", "localhost", "::1", "[::1]", self.host}
        return frozenset(base | set(self.allowed_hosts))

    def to_env(self) -> str:
        """Return the settings as JSON, for worker processes."""
        data = asdict(self)
        data["plan"] = str(self.plan)
        data["tokens"] = str(self.tokens)
        data["cache"] = str(self.cache)
        return json.dumps(data)

    @classmethod
    def from_env(cls, text: str | None = None) -> Settings:
        """Read what :meth:`to_env` wrote (from ``$BEATPLAN_SERVE_SETTINGS`` by default)."""
        raw: dict[str, Any] = json.loads(text if text is not None else os.environ[ENV_SETTINGS])
        raw["limits"] = Limits(**raw.get("limits", {}))
        raw["incidents"] = tuple(raw.get("incidents", ()))
        raw["allowed_hosts"] = tuple(raw.get("allowed_hosts", ()))
        return cls(**raw)

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with some settings changed."""
        return replace(self, **changes)
