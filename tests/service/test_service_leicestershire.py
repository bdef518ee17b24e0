"""The real case: Leicestershire's year of police.uk crime served from a force-wide plan.

Cold start (sources read, cache written) and warm start (from the cache) are timed and printed;
10,000 points are located over HTTP and compared with :class:`beatplan.Locator`; the City NPA's
hotspots and briefing map are served.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from harness.server import ServedPlan, bearer, leicestershire_plan

import beatplan as bp

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def leics(shared_data, tmp_path_factory):
    return leicestershire_plan(shared_data, tmp_path_factory.mktemp("leics") / "plan")


def test_leicestershire_year_served(leics, tokens, tmp_path):
    plan, crime = leics
    srv = ServedPlan(plan, [crime], tokens.path, tmp_path / "cache", tmp_path / "server.log")
    srv.start(timeout=300)
    cold = srv.started_s
    srv.stop()
    srv.start(timeout=300)
    warm = srv.started_s
    print(f"Leicestershire year: cold start {cold:.1f} s, warm start (cache) {warm:.1f} s")
    try:
        wards = bp.read_plan(plan).wards
        rng = np.random.default_rng(3)
        x0, y0, x1, y1 = wards.total_bounds
        x, y = rng.uniform(x0, x1, 10_000), rng.uniform(y0, y1, 10_000)
        want = bp.Locator(wards, level="ward").locate_many(x, y)["ward"]
        with httpx.Client(base_url=srv.base, timeout=300) as c:
            h = bearer(tokens.full)
            version = c.get("/version", headers=h).json()["data"]
            assert version["incidents"] == 110_539 and version["areas"]["ward"] == 170
            body = {"points": [{"x": float(a), "y": float(b)} for a, b in zip(x, y, strict=True)]}
            answers = c.post("/api/locate", json=body, headers=h).json()["answers"]
            got = [None if a is None else a["ward"]["id"] for a in answers]
            assert got == [None if pd_na else w for w, pd_na in zip(want, want.isna(), strict=True)]
            hot = c.get("/api/hotspots?area=City&since=28D", headers=h)
            assert hot.status_code == 200 and hot.json()["features"]
            m = c.get("/maps/briefing?area=City&since=28D", headers=h)
            assert m.status_code == 200 and m.headers["content-type"].startswith("text/html")
            assert "Crime briefing: NPA City" in m.text
    finally:
        srv.stop()
