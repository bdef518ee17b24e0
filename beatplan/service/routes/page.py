"""``GET /``: the sign-in page (no data; its script and style allowed by hash)."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from starlette.responses import Response

from beatplan.service.params import query

__all__ = ["router", "sign_in_page"]

router = APIRouter(tags=["page"])


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def sign_in_page() -> tuple[bytes, str]:
    """Return the page's HTML and its Content-Security-Policy (read once from the package)."""
    folder = files("beatplan.service") / "page"
    css = (folder / "app.css").read_text(encoding="utf-8")
    js = (folder / "app.js").read_text(encoding="utf-8")
    html = (folder / "index.html").read_text(encoding="utf-8")
    html = html.replace("{{CSS}}", css).replace("{{JS}}", js)
    csp = (
        f"default-src 'none'; script-src {_hash(js)}; style-src {_hash(css)}; "
        "connect-src 'self'; frame-src 'self'; img-src 'self' data:; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    )
    return html.encode(), csp


@router.get("/", summary="Sign-in page", include_in_schema=False)
async def index(request: Request) -> Response:
    """Paste a token, pick an area and a period, open the briefing map."""
    query(request.scope["query_string"], ())
    body, csp = sign_in_page()
    return Response(
        body, media_type="text/html; charset=utf-8", headers={"content-security-policy": csp}
    )
