"""What the routes share: the app's state and the per-request dependencies.

A request takes the current snapshot once (:func:`snapshot`; FastAPI resolves a dependency
once per request), so everything it answers comes from one version of the data.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from beatplan.service.problems import Problem
from beatplan.service.scope import ScopeView, scope_of
from beatplan.service.settings import Settings
from beatplan.service.snapshot import Area, Snapshot
from beatplan.service.store import DataStore
from beatplan.service.tokens import Principal, TokenFile

__all__ = [
    "AdminDep",
    "AppState",
    "PrincipalDep",
    "SnapshotDep",
    "ViewDep",
    "app_state",
    "json_response",
    "principal",
    "require_admin",
    "resolve_area",
    "scope_view",
    "snapshot",
    "take_snapshot",
]


@dataclass
class AppState:
    """Everything the app holds: settings, the data store, the tokens, the heavy-job limiter."""

    settings: Settings
    store: DataStore
    tokens: TokenFile
    heavy: asyncio.Semaphore | None = None
    tasks: list[Any] = field(default_factory=list)

    def limiter(self) -> asyncio.Semaphore:
        """Return the semaphore bounding hotspot and map work (made on the running loop)."""
        if self.heavy is None:
            self.heavy = asyncio.Semaphore(self.settings.limits.heavy_jobs)
        return self.heavy


def app_state(request: Request) -> AppState:
    """Return the app's state."""
    st: AppState = request.app.state.bp
    return st


def snapshot(request: Request) -> Snapshot:
    """Return the data this request is answered from (taken once; its errors say which)."""
    return take_snapshot(request.scope, app_state(request))


def take_snapshot(scope: Any, st: AppState) -> Snapshot:
    """Take the current snapshot for a request and note its version for every answer."""
    snap = st.store.current
    scope.setdefault("state", {})["data_version"] = snap.version
    return snap


def principal(request: Request) -> Principal:
    """Who is asking (set by the guard; a route without one is a server error)."""
    who = request.scope.get("state", {}).get("principal")
    if who is None:
        raise Problem(401, "this needs a token: send Authorization: Bearer <token>")
    p: Principal = who
    return p


SnapshotDep = Annotated[Snapshot, Depends(snapshot)]
PrincipalDep = Annotated[Principal, Depends(principal)]


def scope_view(who: PrincipalDep, snap: SnapshotDep) -> ScopeView:
    """Return what this token sees of this snapshot."""
    return scope_of(who, snap)


ViewDep = Annotated[ScopeView, Depends(scope_view)]


def require_admin(who: PrincipalDep) -> Principal:
    """Refuse (403) anyone but an admin token."""
    if not who.admin:
        raise Problem(403, "only an admin token may do this")
    return who


AdminDep = Annotated[Principal, Depends(require_admin)]


def resolve_area(snap: Snapshot, view: ScopeView, text: str | None, *, param: str = "area"
                 ) -> Area | None:  # fmt: skip
    """Return the area a parameter names, checked against the token's scope.

    Unknown to a scoped token: 403 (no probing for ids). Unknown otherwise: 400 with the
    command line's message (``beatplan map briefing --area``).
    """
    if text is None:
        view.require(None, what=param)
        return None
    area = snap.find_area(text)
    if area is None:
        if not view.everything:
            raise Problem(403, f"{param}: {view.outside}")
        _raise_unknown_area(snap, text)
    view.require(area, what=param)
    return area


def _raise_unknown_area(snap: Snapshot, text: str) -> None:
    """Raise the command line's error for an area that is no id or name."""
    from beatplan.maps._base import area_geometry, boundary_layers

    area_geometry(text, boundary_layers(snap.boundaries(), snap.crs), snap.crs)
    raise Problem(400, f"area={text!r} is no id or name in the boundaries", param="area")


def json_response(body: bytes, snap: Snapshot, *, media_type: str = "application/json") -> Any:
    """Answer ready JSON bytes, saying which data version answered."""
    from starlette.responses import Response

    return Response(body, media_type=media_type, headers={"x-data-version": snap.version})
