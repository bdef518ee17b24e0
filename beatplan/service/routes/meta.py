"""``/health``, ``/version``, ``/api/whoami`` and the admin's ``/api/admin/reload``."""

from __future__ import annotations

import asyncio
import json
import logging

from fastapi import APIRouter, Request
from starlette.responses import Response

from beatplan import __version__
from beatplan.geo.errors import BeatplanError
from beatplan.service.deps import AdminDep, PrincipalDep, ViewDep, app_state, json_response
from beatplan.service.params import query
from beatplan.service.problems import Problem
from beatplan.service.store import error_line

__all__ = ["router"]

log = logging.getLogger("beatplan")

router = APIRouter(tags=["service"])


@router.get("/health", summary="Liveness (no token needed)")
async def health(request: Request) -> Response:
    """``{"status": "ok"}`` while serving (``"degraded"`` after a failed reload)."""
    query(request.scope["query_string"], ())
    status = app_state(request).store.status() or {}
    body = {"status": "ok" if status.get("ok", True) else "degraded"}
    return Response(json.dumps(body).encode(), media_type="application/json")


@router.get("/version", summary="Versions of the software and of the data")
async def version(request: Request, who: PrincipalDep) -> Response:
    """Answer beatplan's version, the data version and, for admins, the last reload."""
    query(request.scope["query_string"], ())
    st = app_state(request)
    snap = st.store.current
    data = snap.describe()
    if who.scoped:  # a force-wide count is outside a scoped token's areas
        data.pop("incidents", None)
    body = {"beatplan": __version__, "data": data, "workers": st.settings.workers}
    status = st.store.status()
    if status is not None:
        body["last_reload"] = {
            "ok": status.get("ok"),
            "at": status.get("at"),
            **({"error": status.get("error")} if who.admin else {}),
        }
    return json_response(json.dumps(body).encode(), snap)


@router.get("/api/whoami", summary="The token's name, rights and areas")
async def whoami(request: Request, who: PrincipalDep, view: ViewDep) -> Response:
    """Name, admin right and the areas the token is limited to."""
    query(request.scope["query_string"], ())
    body = {
        "name": who.name,
        "admin": who.admin,
        "scoped": who.scoped,
        "areas": list(view.names),
        "rate": who.rate,
    }
    return Response(json.dumps(body).encode(), media_type="application/json")


@router.post("/api/admin/reload", summary="Reload the plan and incidents (admin)")
async def reload(request: Request, who: AdminDep) -> Response:
    """Read the source files again, beside the current data, and swap when they are whole.

    A failure keeps the current data served and answers 422 with the reason.
    """
    query(request.scope["query_string"], ())
    st = app_state(request)
    try:
        done = await asyncio.to_thread(st.store.reload)
    except (BeatplanError, OSError) as exc:
        raise Problem(
            422,
            error_line(exc),
            kind="reload-failed",
            extra={"serving": st.store.current.version},
        ) from exc
    log.info("reload asked by %s: version %s", who.name, done.version)
    return Response(json.dumps(done.as_dict()).encode(), media_type="application/json")
