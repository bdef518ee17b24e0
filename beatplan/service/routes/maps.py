"""``/maps/briefing``: the offline briefing map of an area and a period, as one HTML file.

``GET /maps/briefing?area=&since=`` (Bearer) answers the HTML itself. A browser cannot send a
Bearer header when it opens a page, so the sign-in page asks ``POST /maps/briefing/link`` (Bearer)
for a link ``/maps/briefing/view/<ticket>``: the ticket names the token's key id, the area, the
period and an expiry a few minutes ahead, signed with HMAC-SHA256 under the server's key. It
holds no token; it stops working when it expires or the token is revoked, and the area is
checked against the token's scope again when it is opened.

Maps are cached per (area, period, method) on the snapshot, i.e. per data version. Each map
is answered with a Content-Security-Policy allowing exactly its own inline scripts (by hash),
no network but the basemap's tiles (when the server has one), and framing by this site only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import Any

import geopandas as gpd
from fastapi import APIRouter, Request
from starlette.responses import Response

from beatplan.service.deps import (
    AppState,
    PrincipalDep,
    SnapshotDep,
    ViewDep,
    app_state,
    json_response,
    resolve_area,
)
from beatplan.service.params import choice, query
from beatplan.service.problems import Problem
from beatplan.service.scope import scope_of
from beatplan.service.snapshot import Area, Snapshot
from beatplan.service.tokens import Principal

__all__ = ["map_csp", "router"]

router = APIRouter(tags=["maps"])

_PARAMS = ("area", "since", "method")
_METHODS = ("gistar", "kde", "dbscan", "hdbscan", "none")
_SCRIPT = re.compile(r"<script\b[^>]*>(.*?)</script>", re.S | re.I)
#: Tile servers of the basemaps the maps offer (for the CSP's img-src).
_TILE_HOSTS = {
    "OpenStreetMap": "https://tile.openstreetmap.org",
    "CartoDB positron": "https://*.basemaps.cartocdn.com",
    "CartoDB voyager": "https://*.basemaps.cartocdn.com",
}


def map_csp(html: str, tiles: str | None) -> str:
    """Return a Content-Security-Policy allowing exactly the inline scripts of ``html``."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _SCRIPT.findall(html)
    )
    img = "data: blob:" + (f" {_TILE_HOSTS[tiles]}" if tiles in _TILE_HOSTS else "")
    return (
        f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src {img}; "
        "font-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'self'"
    )


def _render(snap: Snapshot, area: Area | None, since: str, method: str,
            tiles: str | None) -> tuple[bytes, str]:  # fmt: skip
    from beatplan._briefing import briefing
    from beatplan.maps._base import LEVEL_TITLES
    from beatplan.maps.offline import to_html

    polygon: Any = None
    if area is not None:
        name = area.name or f"{LEVEL_TITLES.get(area.level, area.level.capitalize())} {area.id}"
        polygon = gpd.GeoDataFrame({"name": [name]}, geometry=[snap.area_geometry(area)],
                                   crs=snap.crs)  # fmt: skip
    m, _ = briefing(snap.points, snap.boundaries(), area=polygon, since=since, method=method,
                    tiles=tiles)  # fmt: skip
    html = to_html(m, offline=True)
    return html.encode(), map_csp(html, tiles)


async def _map_response(request: Request, st: AppState, snap: Snapshot, area: Area | None,
                        since: str, method: str) -> Response:  # fmt: skip
    tiles = st.settings.tiles
    key = ("map", None if area is None else area.key, since, method)
    (body, csp), _ = await snap.cache.compute(
        key, lambda: _render(snap, area, since, method, tiles), limiter=st.limiter()
    )
    return Response(
        body,
        media_type="text/html; charset=utf-8",
        headers={
            "content-security-policy": csp,
            "x-frame-options": "SAMEORIGIN",
            "x-data-version": snap.version,
        },
    )


def _map_params(request: Request, st: AppState) -> tuple[dict[str, str], str, str]:
    params = query(request.scope["query_string"], _PARAMS, limit=st.settings.limits.param_chars)
    method = choice(params, "method", _METHODS, default="gistar")
    assert method is not None
    return params, params.get("since", "28D"), method


@router.get("/maps/briefing", summary="The offline briefing map (HTML)")
async def briefing_map(
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
) -> Response:
    """Answer the briefing map of ``area`` for ``since`` (default 28D), one offline HTML file."""
    st = app_state(request)
    params, since, method = _map_params(request, st)
    area = resolve_area(snap, view, params.get("area"))
    return await _map_response(request, st, snap, area, since, method)


# ------------------------------------------------------------------------------- links
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: bytes) -> bytes:
    return hmac.new(bytes.fromhex(secret), payload, hashlib.sha256).digest()


def make_ticket(secret: str, who: Principal, area: Area | None, since: str, method: str,
                ttl: int) -> str:  # fmt: skip
    """Return a signed, expiring ticket for one map."""
    payload = json.dumps(
        [who.key_id, None if area is None else area.key, since, method, int(time.time()) + ttl],
        separators=(",", ":"),
    ).encode()
    return _b64(payload) + "." + _b64(_sign(secret, payload))


def read_ticket(secret: str, ticket: str) -> tuple[str, str | None, str, str]:
    """Return the key id, area key, period and method of a valid ticket; else 403."""
    denied = Problem(403, "this map link is not valid or has expired; open the map again")
    head, _, sig = ticket.partition(".")
    try:
        payload, given = _unb64(head), _unb64(sig)
    except ValueError:
        raise denied from None
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise denied
    key_id, area_key, since, method, expires = json.loads(payload)
    if time.time() > expires:
        raise denied
    return str(key_id), area_key, str(since), str(method)


@router.post("/maps/briefing/link", summary="A short-lived link to a briefing map")
async def briefing_link(
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
    who: PrincipalDep,
) -> Response:
    """Answer a link the browser can open (valid a few minutes, for this token only)."""
    st = app_state(request)
    params, since, method = _map_params(request, st)
    area = resolve_area(snap, view, params.get("area"))
    ttl = st.settings.limits.ticket_s
    ticket = make_ticket(st.settings.secret, who, area, since, method, ttl)
    body = {"url": f"/maps/briefing/view/{ticket}", "expires_in": ttl}
    return json_response(json.dumps(body).encode(), snap)


@router.get("/maps/briefing/view/{ticket}", summary="Open a briefing-map link")
async def briefing_view(ticket: str, request: Request,
                        snap: SnapshotDep) -> Response:  # fmt: skip
    """Answer the map a link from ``/maps/briefing/link`` names."""
    st = app_state(request)
    query(request.scope["query_string"], ())
    if len(ticket) > 1024:
        raise Problem(403, "this map link is not valid or has expired; open the map again")
    key_id, area_key, since, method = read_ticket(st.settings.secret, ticket)
    st.tokens.refresh()
    who = st.tokens.principal(key_id)
    if who is None:
        raise Problem(403, "this map link's token has been revoked")
    view = scope_of(who, snap)
    area = None if area_key is None else snap.find_area(area_key)
    if area_key is not None and area is None:
        raise Problem(404, "the area of this link is no longer in the plan")
    view.require(area)
    return await _map_response(request, st, snap, area, since, method)
