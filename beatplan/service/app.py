"""The app factory: routers per resource behind the guard, the data store, the background tasks.

:func:`create_app` takes the :class:`~beatplan.service.settings.Settings` (and, in a single
process, the data already loaded); :func:`app_from_env` is what each worker of ``--workers N``
imports, reading the settings from the environment and the data from the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from beatplan import __version__
from beatplan.geo.errors import BeatplanError
from beatplan.service.deps import AppState
from beatplan.service.guard import BodyTooLarge, Guard
from beatplan.service.problems import (
    Problem,
    on_beatplan_error,
    on_http_error,
    on_problem,
    on_unexpected,
    on_validation_error,
    problem_response,
)
from beatplan.service.routes import ROUTERS
from beatplan.service.routes.locate import locate_fast
from beatplan.service.settings import Settings
from beatplan.service.store import DataStore, error_line
from beatplan.service.tokens import TokenFile

__all__ = ["app_from_env", "create_app"]

log = logging.getLogger("beatplan")

#: How often a worker looks for a version another process made current (seconds).
FOLLOW_EVERY_S = 1.0


async def _follow(st: AppState) -> None:
    """Swap to versions other processes made current (the other workers, SIGHUP to the parent)."""
    while True:
        await asyncio.sleep(FOLLOW_EVERY_S)
        try:
            await asyncio.to_thread(st.store.follow)
        except Exception as exc:  # noqa: BLE001 - keep following; say what failed
            log.error("data: following the cache failed (%s)", error_line(exc))


async def _reload_on_signal(st: AppState) -> None:
    try:
        await asyncio.to_thread(st.store.reload)
    except Exception as exc:  # noqa: BLE001 - the store logged it and kept the old data
        log.error("SIGHUP reload failed: %s", error_line(exc))


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    st: AppState = app.state.bp
    st.limiter()
    st.tasks.append(asyncio.create_task(_follow(st)))
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
        if st.settings.workers <= 1:  # one process: SIGHUP reloads here
            loop.add_signal_handler(
                signal.SIGHUP, lambda: st.tasks.append(loop.create_task(_reload_on_signal(st)))
            )
        else:  # a worker: the parent reloads; a stray SIGHUP only makes us look sooner
            loop.add_signal_handler(
                signal.SIGHUP,
                lambda: st.tasks.append(
                    loop.create_task(asyncio.to_thread(st.store.follow))
                ),  # fmt: skip
            )
    log.info("serving data version %s", st.store.current.version)
    try:
        yield
    finally:
        for t in st.tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            loop.remove_signal_handler(signal.SIGHUP)


async def _too_large(request: Any, exc: Exception) -> Any:
    return problem_response(Problem(413, "the request body is too large"))


def create_app(settings: Settings, store: DataStore | None = None) -> Any:
    """Build the ASGI app.

    Parameters
    ----------
    settings : Settings
    store : DataStore, optional
        The data, already loaded; by default the cache's current version (else the sources).

    Returns
    -------
    ASGI app
        FastAPI's app wrapped in the :class:`~beatplan.service.guard.Guard`.
    """
    tokens = TokenFile(settings.tokens)
    st = AppState(settings, store if store is not None else DataStore(settings), tokens)
    app = FastAPI(
        title="beatplan",
        version=__version__,
        summary="Beat boundaries, point location, hotspots and briefing maps.",
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=_lifespan,
    )
    app.state.bp = st
    for router in ROUTERS:
        app.include_router(router)
    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(BeatplanError, on_beatplan_error)
    app.add_exception_handler(BodyTooLarge, _too_large)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(Exception, on_unexpected)
    return Guard(_FastLocate(app, st), settings, tokens)


class _FastLocate:
    """Send ``GET /api/locate`` straight to its plain-ASGI handler; the rest to FastAPI."""

    def __init__(self, app: Any, st: AppState) -> None:
        self.app = app
        self.st = st

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/locate" and scope["method"] == "GET":
            await locate_fast(self.st, scope, send)
        else:
            await self.app(scope, receive, send)


def app_from_env() -> Any:
    """Build a worker's app: settings from the environment, data from the cache."""
    settings = Settings.from_env()
    return create_app(settings)
