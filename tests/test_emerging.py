"""Tests for beatplan.hotspots.emerging: the Mann–Kendall trend and the categories on planted
data."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from beatplan.geo.errors import EmptyInputError, ValidationError
from beatplan.geo.sample import make_sample
from beatplan.hotspots.emerging import CATEGORIES, emerging_hotspots, mann_kendall


def _mk_one(x):
    """Textbook Mann–Kendall z for one series (loops; the reference)."""
    n = len(x)
    s = sum(np.sign(x[j] - x[i]) for i in range(n - 1) for j in range(i + 1, n))
    _, c = np.unique(x, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - (c * (c - 1) * (2 * c + 5)).sum()) / 18
    return (s - np.sign(s)) / np.sqrt(var) if s else 0.0


def test_mann_kendall_matches_the_textbook_formula_with_ties():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, (12, 300)).astype(float)  # many ties
    z, p = mann_kendall(y)
    ref = np.array([_mk_one(y[:, i]) for i in range(y.shape[1])])
    np.testing.assert_allclose(z, ref, atol=1e-12)
    assert ((p >= 0) & (p <= 1)).all()
    up, _ = mann_kendall(np.arange(12.0)[:, None])
    flat, pf = mann_kendall(np.ones((12, 1)))
    assert up[0] > 4 and flat[0] == 0 and pf[0] == 1
    with pytest.raises(ValidationError, match="3 time steps"):
        mann_kendall(np.ones((2, 4)))


@pytest.fixture(scope="module")
def county_points():
    county = make_sample()
    truth = county.incident_truth
    ok = truth["x"].notna().to_numpy()
    pts = gpd.GeoDataFrame(
        {"month": pd.to_datetime(county.incidents["Month"])},
        geometry=gpd.points_from_xy(truth["x"], truth["y"]),
        crs=27700,
    )[ok]
    return county, pts


def test_planted_persistent_and_emerging_hotspots_are_told_apart(county_points):
    county, pts = county_points
    em = emerging_hotspots(pts)
    assert set(em["category"]) <= set(CATEGORIES)
    assert sum(em.attrs["params"]["categories"].values()) == len(em)
    latest = pts["month"].max()
    for _, h in county.hotspots_truth.iterrows():
        near = em[em.geometry.distance(h.geometry) <= h.radius_m]["category"]
        if h["kind"] == "persistent":
            # a hotspot active all year is hot in (almost) every month
            assert near.isin(["persistent", "intensifying", "diminishing"]).mean() > 0.8, h["id"]
        elif h["kind"] == "emerging" and pd.Timestamp(h["first_month"]) > pts["month"].min():
            # it started part-way through and is still active: recent, never persistent
            assert pd.Timestamp(h["last_month"]) == latest
            assert near.isin(["new", "consecutive", "sporadic", "intensifying"]).any(), h["id"]
            assert not near.eq("persistent").mean() > 0.5, h["id"]
    # invariants of the categories
    assert (em.loc[em["category"] == "new", "months_hot"] == 1).all()
    assert (em.loc[em["category"] == "persistent", "hot_share"] >= 0.9).all()
    assert em.loc[em["category"] != "persistent", "latest_hot"].all()


def test_needs_three_months(county_points):
    _, pts = county_points
    with pytest.raises(EmptyInputError, match="at least 3"):
        emerging_hotspots(pts, months=("2026-01", "2026-02"))
