"""Fresh data without a restart, against the real server.

* reloads (admin endpoint) under concurrent requests, with two workers: every answer is whole,
  from the old data or the new (checked against each version's own answers), never an error;
* ``kill -HUP`` reloads (one process, and the parent of two workers);
* a reload from bad files keeps serving the old data and reports the error;
* ``kill -9`` while a reload is writing its version: the restart serves whole data, the new
  sources' when they are good, else the last whole version from the cache.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from harness.server import ServedPlan, add_token, bearer, link

# points in both sample counties (their wards differ, so most answers differ between them)
POINTS = [(450_000 + 1_500 * i, 290_000 + 1_100 * j) for i in range(20) for j in range(25)]
PATHS = [f"/api/locate?x={x}&y={y}" for x, y in POINTS[::7]] + [
    "/api/areas/npa",
    "/api/areas/beat?simplify=50",
    "/api/hotspots?since=3M",
    "/api/demand?level=beat",
]


@pytest.fixture
def served(tmp_path, plan_a, plan_b, tokens):
    """A folder whose ``plan`` and ``crime`` are symlinks (to county A at first)."""
    link(plan_a[0], tmp_path / "plan")
    link(plan_a[1], tmp_path / "crime")

    def make(workers: int = 1) -> ServedPlan:
        return ServedPlan(tmp_path / "plan", [tmp_path / "crime"], tokens.path,
                          tmp_path / "cache", tmp_path / "server.log", workers=workers)  # fmt: skip

    return make


def _use(tmp: Path, plan: tuple[Path, Path]) -> None:
    link(plan[0], tmp / "plan")
    link(plan[1], tmp / "crime")


def _digest(r: httpx.Response) -> str:
    return hashlib.sha256(r.content).hexdigest()


def _references(c: httpx.Client, token: str) -> tuple[str, dict[str, tuple[int, str]]]:
    out = {}
    version = None
    for p in PATHS:
        r = c.get(p, headers=bearer(token))
        version = version or r.headers["x-data-version"]
        assert r.headers["x-data-version"] == version
        out[p] = (r.status_code, _digest(r))
    assert version is not None
    return version, out


def _reload(c: httpx.Client, token: str) -> dict:
    r = c.post("/api/admin/reload", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()


def test_reload_under_concurrent_requests_never_mixes(served, tokens, plan_a, plan_b, tmp_path):
    fast = add_token(tokens.path, "load-client", "--rate", "1000000", "--burst", "1000000")
    srv = served(workers=2).start()
    try:
        with httpx.Client(base_url=srv.base, timeout=120) as c:
            # each version's own answers, asked while only it is served
            va, ref_a = _references(c, tokens.full)
            _use(tmp_path, plan_b)
            assert _reload(c, tokens.admin)["changed"]
            time.sleep(2.5)  # the other worker follows the cache within a second
            vb, ref_b = _references(c, tokens.full)
            _use(tmp_path, plan_a)
            _reload(c, tokens.admin)
            time.sleep(2.5)
        assert va != vb
        refs = {va: ref_a, vb: ref_b}
        assert sum(ref_a[p] != ref_b[p] for p in PATHS) > len(PATHS) // 2

        stop = threading.Event()
        seen: list[tuple[str, str, int, str]] = []
        errors: list[str] = []

        def client(seed: int) -> None:
            rnd = random.Random(seed)
            with httpx.Client(base_url=srv.base, timeout=120) as cc:
                while not stop.is_set():
                    p = rnd.choice(PATHS)
                    try:
                        r = cc.get(p, headers=bearer(fast))
                    except httpx.HTTPError as exc:
                        errors.append(f"{p}: {exc!r}")
                        continue
                    seen.append((p, r.headers.get("x-data-version", "?"), r.status_code,
                                 _digest(r)))  # fmt: skip

        threads = [threading.Thread(target=client, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        reloads = []
        with httpx.Client(base_url=srv.base, timeout=120) as c:
            for plan in (plan_b, plan_a, plan_b, plan_a):
                time.sleep(0.8)
                _use(tmp_path, plan)
                reloads.append(_reload(c, tokens.admin))
        time.sleep(1.5)
        stop.set()
        for t in threads:
            t.join(60)
    finally:
        srv.stop()
    assert not errors, errors[:5]
    assert all(r["changed"] for r in reloads)
    versions = {v for _, v, _, _ in seen}
    assert versions == {va, vb}, versions
    wrong = [(p, v, s) for p, v, s, d in seen if (s, d) != refs[v][p]]
    assert not wrong, wrong[:5]
    assert len(seen) > 200
    print(
        f"{len(seen)} answers during 4 reloads, by version: "
        f"{ {v: sum(x[1] == v for x in seen) for v in versions} }; none mixed, no error"
    )


def test_bad_files_keep_the_old_data_and_report(served, tokens, plan_a, tmp_path):
    broken = tmp_path / "broken-plan"
    broken.mkdir()
    (broken / "boundaries.gpkg").write_bytes(b"this is not a GeoPackage")
    with served().start() as srv, httpx.Client(base_url=srv.base, timeout=120) as c:
        before = c.get("/version", headers=bearer(tokens.admin)).json()["data"]["version"]
        link(broken, tmp_path / "plan")
        r = c.post("/api/admin/reload", headers=bearer(tokens.admin))
        assert r.status_code == 422
        body = r.json()
        assert body["type"].endswith(":reload-failed") and body["serving"] == before
        assert "boundaries.gpkg" in body["detail"] and "\n" not in body["detail"]
        after = c.get("/version", headers=bearer(tokens.admin)).json()
        assert after["data"]["version"] == before
        assert after["last_reload"]["ok"] is False and after["last_reload"]["error"]
        user = c.get("/version", headers=bearer(tokens.full)).json()
        assert "error" not in user["last_reload"]  # paths in errors are for admins only
        assert c.get("/health").json() == {"status": "degraded"}
        assert (
            c.get("/api/locate?x=469000&y=303000", headers=bearer(tokens.full)).status_code == 200
        )
        link(plan_a[0], tmp_path / "plan")
        assert _reload(c, tokens.admin)["changed"] is False
        assert c.get("/health").json() == {"status": "ok"}


@pytest.mark.parametrize("workers", [1, 2])
def test_sighup_reloads(served, tokens, plan_b, tmp_path, workers):
    with served(workers=workers).start() as srv, httpx.Client(base_url=srv.base,
                                                               timeout=120) as c:  # fmt: skip
        va = c.get("/version", headers=bearer(tokens.full)).json()["data"]["version"]
        _use(tmp_path, plan_b)
        srv.signal(signal.SIGHUP)
        deadline = time.monotonic() + 60
        streak = 0
        while time.monotonic() < deadline and streak < 20:  # every worker: 20 answers in a row
            r = c.get("/api/locate?x=469000&y=303000", headers=bearer(tokens.full))
            streak = streak + 1 if r.headers["x-data-version"] != va else 0
            time.sleep(0.02)
        assert streak >= 20, srv.log_text()[-2000:]
        assert srv.proc is not None and srv.proc.poll() is None


def _reload_quietly(base: str, token: str) -> None:
    """Ask for a reload whose server is about to be killed (no answer is expected)."""
    try:
        httpx.post(base + "/api/admin/reload", headers=bearer(token), timeout=120)
    except httpx.HTTPError:
        pass


def test_kill9_during_a_reload_restarts_on_whole_data(served, tokens, plan_a, plan_b, tmp_path):
    cache = tmp_path / "cache"
    srv = served().start()
    with httpx.Client(base_url=srv.base, timeout=120) as c:
        va, ref_a = _references(c, tokens.full)
    _use(tmp_path, plan_b)
    caught = False
    for _attempt in range(5):
        # a fresh copy of B's incidents: a new version, so the reload must write it
        fresh = tmp_path / f"crime-b{_attempt}"
        shutil.copytree(plan_b[1], fresh)
        first = sorted(fresh.iterdir())[0]
        (fresh / "extra.csv").write_text(first.read_text())  # new contents: a new version
        link(fresh, tmp_path / "crime")
        asked = threading.Thread(target=_reload_quietly, args=(srv.base, tokens.admin))
        asked.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(cache.glob(".tmp-*")):
            time.sleep(0.0005)
        caught = any(cache.glob(".tmp-*"))
        srv.kill9()  # while the version folder is half written
        asked.join(30)
        if caught:
            break
        srv = served().start()
    assert caught, "the reload never got to writing its version"
    assert any(cache.glob(".tmp-*"))  # the half-written version is still there
    # restart on good new sources: their data, whole; the half-written folder is cleaned
    srv = served().start()
    with httpx.Client(base_url=srv.base, timeout=120) as c:
        vb, ref_b = _references(c, tokens.full)
    srv.stop()
    assert vb != va and not any(cache.glob(".tmp-*"))
    # restart on broken sources: the last whole cached version, reported as degraded
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "boundaries.gpkg").write_bytes(b"garbage")
    link(broken, tmp_path / "plan")
    srv = served().start()
    try:
        with httpx.Client(base_url=srv.base, timeout=120) as c:
            v, ref = _references(c, tokens.full)
            assert c.get("/health").json() == {"status": "degraded"}
    finally:
        srv.stop()
    assert v == vb and ref == ref_b
