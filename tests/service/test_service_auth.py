"""The auth matrix against the real server: no token, wrong, revoked, scoped in/out, admin.

Also: revoking takes effect on a running server, the per-token rate limit answers 429 with
Retry-After, and neither a token nor the query text reaches the server's log.
"""

from __future__ import annotations

import time

import httpx
import pytest
from harness.server import add_token, bearer

# the scoped token sees NPA-CE; (469000, 303000) lies in it, (464462, 305049) in NPA-CNW
INSIDE = "x=469000&y=303000"
OUTSIDE = "x=464462&y=305049"
NOWHERE = "x=400000&y=200000"

#: (method, path) -> expected status for: none, malformed, wrong, revoked, full, scoped, admin
MATRIX = {
    ("GET", "/health"): (200, 200, 200, 200, 200, 200, 200),
    ("GET", "/"): (200, 200, 200, 200, 200, 200, 200),
    ("GET", "/version"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/whoami"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/openapi.json"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", f"/api/locate?{INSIDE}"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", f"/api/locate?{OUTSIDE}"): (401, 401, 401, 401, 200, 403, 200),
    ("GET", f"/api/locate?{NOWHERE}"): (401, 401, 401, 401, 404, 403, 404),
    ("GET", "/api/areas"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/areas/npa"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/areas/npa/NPA-CE"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/areas/npa/NPA-NE"): (401, 401, 401, 401, 200, 403, 200),
    ("GET", "/api/areas/force/force"): (401, 401, 401, 401, 200, 403, 200),
    ("GET", "/api/areas/npa/NO-SUCH"): (401, 401, 401, 401, 404, 403, 404),
    ("GET", "/api/hotspots?area=NPA-CE"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/hotspots?area=B01"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/hotspots?area=NPA-NE"): (401, 401, 401, 401, 200, 403, 200),
    ("GET", "/api/hotspots"): (401, 401, 401, 401, 200, 403, 200),
    ("GET", "/api/demand?level=beat"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/api/demand?level=beat&area=NPA-NE"): (401, 401, 401, 401, 200, 403, 200),
    ("GET", "/api/demand?level=force"): (401, 401, 401, 401, 400, 400, 400),
    ("GET", "/maps/briefing?area=NPA-CE"): (401, 401, 401, 401, 200, 200, 200),
    ("GET", "/maps/briefing?area=NPA-NE"): (401, 401, 401, 401, 200, 403, 200),
    ("POST", "/maps/briefing/link?area=NPA-CE"): (401, 401, 401, 401, 200, 200, 200),
    ("POST", "/maps/briefing/link?area=NPA-NE"): (401, 401, 401, 401, 200, 403, 200),
    ("POST", "/api/admin/reload"): (401, 401, 401, 401, 403, 403, 200),
}
WHO = ("none", "malformed", "wrong", "revoked", "full", "scoped", "admin")


def _headers(who: str, tokens) -> dict[str, str]:
    fake = "bpt.0123456789ab." + "A" * 43  # well formed, no such key id
    return {
        "none": {},
        "malformed": {"Authorization": "Bearer not-a-token"},
        "wrong": bearer(fake),
        "revoked": bearer(tokens.revoked),
        "full": bearer(tokens.full),
        "scoped": bearer(tokens.scoped),
        "admin": bearer(tokens.admin),
    }[who]


def test_auth_matrix(server, tokens):
    got = {}
    with httpx.Client(base_url=server.base, timeout=60) as c:
        for method, path in MATRIX:
            row = []
            for who in WHO:
                r = c.request(method, path, headers=_headers(who, tokens))
                row.append(r.status_code)
                if r.status_code == 401:
                    assert r.headers["www-authenticate"].startswith("Bearer")
                if r.status_code >= 400:
                    assert r.headers["content-type"] == "application/problem+json"
                    body = r.json()
                    assert body["status"] == r.status_code and "\n" not in body["detail"]
            got[(method, path)] = tuple(row)
    wrong = {k: (got[k], v) for k, v in MATRIX.items() if got[k] != v}
    assert not wrong, wrong


def test_scoped_batch_answers_403_per_point_outside(server, tokens):
    points = [{"x": 469000, "y": 303000, "id": "in"}, {"x": 464462, "y": 305049, "id": "out"},
              {"x": 400000, "y": 200000, "id": "nowhere"}]  # fmt: skip
    with httpx.Client(base_url=server.base, timeout=60) as c:
        scoped = c.post("/api/locate", json={"points": points}, headers=bearer(tokens.scoped))
        full = c.post("/api/locate", json={"points": points}, headers=bearer(tokens.full))
    a = scoped.json()["answers"]
    assert [p["id"] for p in a] == ["in", "out", "nowhere"]
    assert a[0]["npa"]["id"] == "NPA-CE"
    assert a[1] == {"id": "out", "status": 403, "detail": "outside the areas this token may see"}
    assert a[2]["status"] == 403  # a scoped token does not learn what lies outside the force
    b = full.json()["answers"]
    assert b[1]["npa"]["id"] != "NPA-CE" and b[2]["status"] == 404


def test_scoped_token_lists_only_its_areas(server, tokens):
    with httpx.Client(base_url=server.base, timeout=60) as c:
        index = c.get("/api/areas", headers=bearer(tokens.scoped)).json()
        beats = c.get("/api/areas/beat", headers=bearer(tokens.scoped)).json()
        whole = c.get("/api/areas/beat", headers=bearer(tokens.full)).json()
    assert [a["id"] for a in index["areas"]["npa"]] == ["NPA-CE"]
    assert index["areas"]["force"] == [] and index["areas"]["sector"]
    assert {f["properties"]["parents"]["npa"]["id"] for f in beats["features"]} == {"NPA-CE"}
    assert len(whole["features"]) > len(beats["features"]) > 0


def test_revoked_token_stops_working_without_restart(server, tokens):
    late = add_token(tokens.path, "temp-desk")
    with httpx.Client(base_url=server.base, timeout=60) as c:
        assert c.get("/api/whoami", headers=bearer(late)).status_code == 200
        from beatplan.service.tokens import revoke_token

        revoke_token(tokens.path, "temp-desk")
        deadline = time.monotonic() + 5
        status = 200
        while time.monotonic() < deadline and status == 200:
            time.sleep(0.2)
            status = c.get("/api/whoami", headers=bearer(late)).status_code
    assert status == 401


def test_rate_limit_answers_429_with_retry_after(server, tokens):
    slow = add_token(tokens.path, "slow-desk", "--rate", "1", "--burst", "3")
    with httpx.Client(base_url=server.base, timeout=60) as c:
        codes = [c.get("/api/whoami", headers=bearer(slow)) for _ in range(8)]
    assert [r.status_code for r in codes[:3]] == [200, 200, 200]
    limited = [r for r in codes if r.status_code == 429]
    assert limited, [r.status_code for r in codes]
    assert int(limited[0].headers["retry-after"]) >= 1
    assert "rate limit" in limited[0].json()["detail"]


def test_wrong_secrets_for_a_live_key_are_rate_limited_per_address(server, tokens):
    key_id = tokens.full.split(".")[1]  # a live key id: each wrong secret costs a scrypt
    with httpx.Client(base_url=server.base, timeout=60) as c:
        answers = [
            c.get("/api/whoami", headers=bearer(f"bpt.{key_id}.{i:043d}")) for i in range(25)
        ]
        codes = [r.status_code for r in answers]
        assert codes[0] == 401 and 429 in codes
        wait = int(next(r for r in answers if r.status_code == 429).headers["retry-after"])
        time.sleep(wait)  # the lock-out is brief: after Retry-After a real token gets in
        assert c.get("/api/whoami", headers=bearer(tokens.full)).status_code == 200


@pytest.mark.parametrize("path", ["/", "/health", "/api/whoami", "/maps/briefing?area=NPA-CE"])
def test_security_headers(server, tokens, path):
    with httpx.Client(base_url=server.base, timeout=60) as c:
        r = c.get(path, headers=bearer(tokens.full))
    h = r.headers
    assert r.status_code == 200
    assert h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert "server" not in h
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp and "'unsafe-eval'" not in csp
    if h["content-type"].startswith("text/html"):
        assert "script-src 'sha256-" in csp and "'unsafe-inline'" not in csp.split("style-src")[0]
        assert "connect-src" in csp and "base-uri 'none'" in csp


def test_logs_hold_no_token_and_no_query_text(server, tokens):
    marker = "zq9secretquerytext"
    with httpx.Client(base_url=server.base, timeout=60) as c:
        c.get(f"/api/hotspots?area={marker}", headers=bearer(tokens.full))
        c.get(f"/api/locate?lat=52.6&lng=-1.1&{marker}=1", headers=bearer(tokens.scoped))
        c.get("/api/whoami", headers=bearer(tokens.revoked))
        c.get("/api/whoami", headers={"Authorization": f"Bearer {marker}"})
        c.get(f"/maps/briefing/view/{marker}")
    time.sleep(0.3)
    log = server.log_text()
    assert "GET /api/hotspots 400" in log  # the access log is on, with route templates only
    for secret in (marker, tokens.full, tokens.scoped, tokens.revoked, tokens.admin):
        assert secret not in log
    assert tokens.full.split(".")[2] not in log
