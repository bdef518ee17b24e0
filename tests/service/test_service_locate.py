"""``/api/locate`` answers equal :class:`beatplan.Locator`'s, for 10,000 points, in order."""

from __future__ import annotations

import io

import httpx
import numpy as np
import pandas as pd
import pytest
from harness.server import bearer

import beatplan as bp

LEVELS = ("ward", "beat", "sector", "npa")


@pytest.fixture(scope="module")
def expected(plan_a):
    """The reference: the ward from a Locator on the plan's wards, the rest from the wards."""
    plan = bp.read_plan(plan_a[0])
    rng = np.random.default_rng(12)
    x0, y0, x1, y1 = plan.wards.total_bounds
    pad = 2000  # some points fall outside the county
    x = rng.uniform(x0 - pad, x1 + pad, 10_000)
    y = rng.uniform(y0 - pad, y1 + pad, 10_000)
    ward = bp.Locator(plan.wards, level="ward").locate_many(x, y)["ward"]
    table = plan.wards.set_index(plan.wards["id"].astype(str))
    out = pd.DataFrame({"ward": ward.astype(object).where(ward.notna(), None)})
    for lv in LEVELS[1:]:
        out[lv] = [None if w is None else str(table.at[w, lv]) for w in out["ward"]]
    # the same points through a Locator holding every level: the same areas
    layers = {"ward": plan.wards, **{lv: plan.layers[lv] for lv in LEVELS[1:]}}
    every = bp.Locator.from_layers(layers).locate_many(x, y)
    for lv in LEVELS:
        assert (every[lv].fillna("-").to_numpy() == out[lv].fillna("-").to_numpy()).all()
    out = out.astype(object).where(out.notna(), None)
    return x, y, out, plan


def _ids(answer: dict) -> tuple:
    if "ward" not in answer:
        return (None,) * len(LEVELS)
    return tuple(answer[lv]["id"] for lv in LEVELS)


def test_batch_of_10000_equals_locator(server, tokens, expected):
    x, y, want, _ = expected
    points = [{"x": float(a), "y": float(b)} for a, b in zip(x, y, strict=True)]
    with httpx.Client(base_url=server.base, timeout=120) as c:
        r = c.post("/api/locate", json={"points": points}, headers=bearer(tokens.full))
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["count"] == 10_000 and body["version"] == r.headers["x-data-version"]
    got = [(None,) * 4 if a is None else _ids(a) for a in body["answers"]]
    ref = [tuple(row) for row in want[list(LEVELS)].itertuples(index=False)]
    assert got == ref
    assert body["located"] == int(want["ward"].notna().sum()) > 5000
    assert sum(a is None for a in body["answers"]) > 100  # outside the county: null, in order


def test_lonlat_batch_as_csv_equals_locator(server, tokens, expected):
    x, y, _, plan = expected
    import geopandas as gpd

    ll = gpd.GeoSeries(gpd.points_from_xy(x[:3000], y[:3000]), crs=plan.wards.crs).to_crs(4326)
    lng, lat = ll.x.to_numpy(), ll.y.to_numpy()
    ward = bp.Locator(plan.wards, level="ward").locate_many(lng, lat, crs=4326)["ward"]
    lines = [
        "id,lat,lng",
        *(f"p{i},{float(a)!r},{float(b)!r}" for i, (a, b) in enumerate(zip(lat, lng, strict=True))),
    ]
    with httpx.Client(base_url=server.base, timeout=120) as c:
        r = c.post("/api/locate", content="\n".join(lines).encode(),
                   headers={**bearer(tokens.full), "content-type": "text/csv",
                            "accept": "text/csv"})  # fmt: skip
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.text), dtype=str, keep_default_na=False)
    assert table["id"].tolist() == [f"p{i}" for i in range(3000)]
    assert table["ward_id"].tolist() == ["" if pd.isna(w) else w for w in ward]
    assert set(table["status"]) <= {"200", "404"}


def test_single_points_equal_the_batch(server, tokens, expected):
    x, y, want, plan = expected
    with httpx.Client(base_url=server.base, timeout=60) as c:
        for i in range(0, 10_000, 50):
            r = c.get(
                f"/api/locate?x={float(x[i])!r}&y={float(y[i])!r}", headers=bearer(tokens.full)
            )
            if want.at[i, "ward"] is None:
                assert r.status_code == 404 and r.json()["type"].endswith(":outside")
                continue
            a = r.json()
            assert _ids(a) == tuple(want.loc[i, list(LEVELS)])
            assert a["ward"]["name"] == plan.wards.set_index("id").at[a["ward"]["id"], "name"]
            assert a["force"]["id"] == "force"


def test_lat_lng_and_crs_give_the_same_answer(server, tokens):
    with httpx.Client(base_url=server.base, timeout=60) as c:
        h = bearer(tokens.full)
        by_xy = c.get("/api/locate?x=469000&y=303000&crs=EPSG:27700", headers=h).json()
        import pyproj

        lng, lat = pyproj.Transformer.from_crs(27700, 4326, always_xy=True).transform(
            469000, 303000
        )
        by_ll = c.get(f"/api/locate?lat={lat!r}&lng={lng!r}", headers=h).json()
        near = c.get("/api/locate?x=400000&y=200000&tolerance=1000", headers=h)
    assert by_xy == by_ll
    assert near.status_code == 404  # 100 km away: not within the tolerance
