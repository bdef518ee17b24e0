"""Bad parameters, oversized bodies, path traversal and injection, against the real server.

Every refusal is RFC 7807 problem details with a one-line ``detail``; bad values the packages
check get the command line's own message (compared with the real ``beatplan`` commands).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys

import httpx
import pytest
from harness.server import bearer


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["type"].startswith("urn:beatplan:problem:")
    assert "\n" not in body["detail"] and "Traceback" not in body["detail"]
    return body


BAD_PARAMS = [
    ("/api/locate?lat=52.6", "lng", "give both lat and lng"),
    ("/api/locate?lat=95&lng=-1", "lat", "lat: expected a number between -90 and 90, found '95'"),
    ("/api/locate?lat=nan&lng=-1", "lat", "expected a number"),
    ("/api/locate?lat=1e309&lng=-1", "lat", "expected a number"),
    ("/api/locate?x=1&y=2&crs=WGS84", "crs", "expected an EPSG code"),
    ("/api/locate?x=1&y=2&crs=EPSG:99999", "crs", "is not a CRS PROJ knows"),
    ("/api/locate?lat=52.6&lng=-1&x=1", "lat", "not both"),
    ("/api/locate?lat=52.6&lng=-1&lat=52.7", "lat", "give it once"),
    ("/api/locate?lat=52.6&lng=-1&bogus=1", "bogus", "unknown parameter 'bogus'"),
    ("/api/locate?x=469000&y=303000&tolerance=-5", "tolerance", "between 0 and 1000"),
    ("/api/areas/beat?simplify=lots", "simplify", "expected a number"),
    ("/api/demand?level=county", "level", "level='county' is not a valid choice"),
    ("/api/demand?level=beat&weights=heavy", "weights", "is not a valid choice"),
    ("/maps/briefing?method=magic", "method", "is not a valid choice"),
    ("/api/hotspots?coverage=lots", "coverage", "expected a number"),
    ("/api/hotspots?since=" + "9" * 101, "since", "longer than 100 characters"),
    ("/api/hotspots?since=%00", "since", "control characters"),
]


@pytest.mark.parametrize(("path", "param", "text"), BAD_PARAMS)
def test_bad_parameters_are_problem_details(server, tokens, path, param, text):
    with httpx.Client(base_url=server.base, timeout=60) as c:
        body = _problem(c.get(path, headers=bearer(tokens.full)), 400)
    assert body["param"] == param
    assert text in body["detail"]


def _cli_error(*args: str) -> str:
    res = subprocess.run([sys.executable, "-m", "beatplan", *args], capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    assert res.returncode == 2, res.stderr
    text = res.stderr.strip()
    assert text.startswith("error: ")
    return " ".join(line.strip() for line in text[len("error: ") :].splitlines())


def test_package_errors_carry_the_command_lines_message(server, tokens, plan_a, tmp_path):
    plan, crime = plan_a
    cli_since = _cli_error("hotspots", str(crime), "--since", "3X", "--out",
                           str(tmp_path / "h.gpkg"))  # fmt: skip
    cli_area = _cli_error("map", "briefing", str(crime), "-b", str(plan), "--area", "Nowhere",
                          "--out", str(tmp_path / "m.html"))  # fmt: skip
    cli_month = _cli_error("map", "briefing", str(crime), "-b", str(plan), "--since",
                           "1999-01", "--out", str(tmp_path / "m2.html"))  # fmt: skip
    with httpx.Client(base_url=server.base, timeout=60) as c:
        h = bearer(tokens.full)
        since = _problem(c.get("/api/hotspots?since=3X", headers=h), 400)["detail"]
        area = _problem(c.get("/maps/briefing?area=Nowhere", headers=h), 400)["detail"]
        month = _problem(c.get("/maps/briefing?since=1999-01", headers=h), 400)["detail"]
    assert since == cli_since
    assert area == cli_area
    assert month == cli_month


def test_oversized_and_malformed_bodies(server, tokens):
    h = bearer(tokens.full)
    with httpx.Client(base_url=server.base, timeout=60) as c:
        big = {"points": [{"x": 469000.0, "y": 303000.0}] * 10_001}
        body = _problem(c.post("/api/locate", json=big, headers=h), 413)
        assert "at most 10,000" in body["detail"]
        huge = b'{"points": [' + b'{"x": 469000.0, "y": 303000.0},' * 80_000 + b"]}"
        _problem(c.post("/api/locate", content=huge, headers={**h, "content-type":
                 "application/json"}), 413)  # fmt: skip

        def chunks():  # no Content-Length: the limit holds while the body is read
            for _ in range(300):
                yield b" " * 10_000

        _problem(c.post("/api/locate", content=chunks(), headers={**h, "content-type":
                 "application/json"}), 413)  # fmt: skip
        _problem(c.post("/maps/briefing/link", content=b"x" * 20_000, headers=h), 413)
        _problem(c.post("/api/locate", content=b"{nope", headers={**h, "content-type":
                 "application/json"}), 400)  # fmt: skip
        _problem(c.post("/api/locate", json={"points": [{"x": "1", "y": 2}]}, headers=h), 400)
        _problem(c.post("/api/locate", json={"points": [{"lat": 91, "lng": 2}]}, headers=h), 400)
        _problem(c.post("/api/locate", json={"points": [], "drop": 1}, headers=h), 400)
        _problem(c.post("/api/locate", content=b"a,b\n1,2\n", headers={**h, "content-type":
                 "text/csv"}), 400)  # fmt: skip
        _problem(c.post("/api/locate", content=b"<x/>", headers={**h, "content-type":
                 "application/xml"}), 415)  # fmt: skip
        _problem(c.get("/api/locate?" + "a" * 5000, headers=h), 414)


PROBES = [
    "/api/areas/ward/..%2F..%2F..%2Fetc%2Fpasswd",
    "/api/areas/..%2F..%2Fetc%2Fpasswd/x",
    "/api/areas/ward/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/..%2F..%2F..%2Fetc%2Fpasswd",
    "/static/../../../../etc/passwd",
    "/maps/briefing/view/..%2F..%2F..%2Fetc%2Fpasswd",
    "/maps/briefing/view/" + "A" * 2000,
    "/api/hotspots?area=../../../../etc/passwd",
    "/api/hotspots?area=%2Fetc%2Fpasswd",
    "/maps/briefing?area=file:///etc/passwd",
    "/api/locate?x=1&y=2&crs=%2Binit%3D%2Fetc%2Fpasswd",
    "/api/locate?x=1&y=2&crs=" + "EPSG:4326%27%20OR%201%3D1--",
    "/api/hotspots?since=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "/api/demand?level=beat%27%3B%20DROP%20TABLE%20wards%3B--",
    "/api/areas/beat/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
    "/api/hotspots?types=%7B%7B7*7%7D%7D",
]


@pytest.mark.parametrize("path", PROBES)
def test_traversal_and_injection_reach_nothing(server, tokens, path):
    with httpx.Client(base_url=server.base, timeout=60) as c:
        r = c.get(path, headers=bearer(tokens.full))
    assert r.status_code in (400, 403, 404), (r.status_code, r.text[:200])
    assert r.headers["content-type"] == "application/problem+json"
    assert "root:" not in r.text
    # a value echoed in the detail is JSON text, never HTML, and the browser may not sniff it
    assert r.headers["x-content-type-options"] == "nosniff"
    json.loads(r.text)


def test_raw_requests_are_refused_cleanly(server, tokens):
    """Requests an HTTP client would not send: a raw dotted path, a foreign Host."""

    def raw(request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
            s.sendall(request)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        return data

    auth = f"Authorization: Bearer {tokens.full}\r\n".encode()
    out = raw(b"GET /api/areas/../../../etc/passwd HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth
              + b"Connection: close\r\n\r\n")  # fmt: skip
    assert re.match(rb"HTTP/1.1 (400|403|404)", out) and b"root:" not in out
    out = raw(b"GET /api/whoami HTTP/1.1\r\nHost: evil.example\r\n" + auth
              + b"Connection: close\r\n\r\n")  # fmt: skip
    assert out.startswith(b"HTTP/1.1 400") and b"unknown Host" in out
