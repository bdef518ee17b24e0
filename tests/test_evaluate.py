"""Tests for beatplan.hotspots.evaluate: hit rate, PAI, RRI and the rolling backtest (real data
too)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from beatplan.geo import read_incidents
from beatplan.geo.errors import EmptyInputError, OptionError, ValidationError
from beatplan.hotspots import backtest, evaluate, find_hotspots, rank_cells

# --------------------------------------------------------------------------- evaluate


def _pts(xy, months=None):
    xy = np.asarray(xy, dtype=float)
    cols = {} if months is None else {"month": pd.to_datetime(months)}
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)


def test_evaluate_pai_hit_rate_and_rri_by_hand():
    area = shapely.box(0, 0, 10_000, 10_000)  # 100 km²
    hot = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000)], crs=27700)  # 1 km² = 1 %
    rng = np.random.default_rng(0)
    later = np.r_[rng.uniform(0, 1000, (30, 2)), rng.uniform(2000, 10_000, (70, 2))]
    earlier = np.r_[rng.uniform(0, 1000, (20, 2)), rng.uniform(2000, 10_000, (180, 2))]
    ev = evaluate(hot, _pts(later), area, earlier=_pts(earlier))
    assert ev["incidents"] == 100 and ev["hits"] == 30
    assert ev["hit_rate"] == pytest.approx(0.30)
    assert ev["area_share"] == pytest.approx(0.01)
    assert ev["pai"] == pytest.approx(30.0)
    # RRI: (30 / 20) / (100 / 200) = 3
    assert ev["rri"] == pytest.approx(3.0)
    # incidents outside the study area are ignored; hotspot parts outside it too
    outside = np.r_[later, [[20_000.0, 20_000.0]] * 10]
    hot2 = gpd.GeoSeries([shapely.box(-1000, 0, 1000, 1000)], crs=27700)
    ev2 = evaluate(hot2, _pts(outside), area)
    assert ev2["incidents"] == 100 and ev2["area_share"] == pytest.approx(0.01)
    assert np.isnan(ev2["rri"])


def test_evaluate_a_hotspots_result_uses_its_incidents_for_rri():
    rng = np.random.default_rng(2)
    xy = np.r_[rng.normal(5000, 60, (300, 2)), rng.uniform(0, 10_000, (700, 2))]
    hs = find_hotspots(_pts(xy), method="gistar")
    later = np.r_[rng.normal(5000, 60, (150, 2)), rng.uniform(0, 10_000, (350, 2))]
    ev = evaluate(hs, _pts(later), shapely.box(0, 0, 10_000, 10_000))
    assert ev["earlier_incidents"] == 1000
    assert ev["pai"] > 10 and 0.5 < ev["rri"] < 2


def test_evaluate_bad_inputs():
    hot = gpd.GeoSeries([shapely.box(0, 0, 10, 10)], crs=27700)
    with pytest.raises(EmptyInputError, match="inside the study area"):
        evaluate(hot, _pts([[50_000, 50_000]]), shapely.box(0, 0, 100, 100))
    with pytest.raises(ValidationError, match="Hotspots result"):
        evaluate([1, 2], _pts([[5, 5]]), shapely.box(0, 0, 100, 100))
    with pytest.raises(ValidationError, match="positive area"):
        evaluate(hot, _pts([[5, 5]]), shapely.LineString([(0, 0), (1, 1)]))


# --------------------------------------------------------------------------- rank_cells


def test_rank_cells_shares_ties():
    s = np.array([3.0, 2.0, 2.0, 1.0, -np.inf])
    test = np.array([5.0, 4.0, 0.0, 9.0, 100.0])
    assert rank_cells(s, test, test, 1.0) == (5.0, 5.0)
    assert rank_cells(s, test, test, 2.0) == (7.0, 7.0)  # half of the tied pair
    assert rank_cells(s, test, test, 3.0) == (9.0, 9.0)
    assert rank_cells(s, test, test, 10.0) == (18.0, 18.0)  # never the -inf cell
    assert rank_cells(s, test, test, [1.0, 3.0]) == [(5.0, 5.0), (9.0, 9.0)]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 60))
def test_rank_cells_is_monotone_and_bounded(seed, n):
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 4, n).astype(float)  # many ties
    test = rng.integers(0, 5, n).astype(float)
    ks = np.linspace(0, n, 13)
    hits = [h for h, _ in rank_cells(s, test, test, list(ks))]
    assert all(b >= a - 1e-9 for a, b in zip(hits, hits[1:], strict=False))
    assert hits[0] == 0 and hits[-1] == pytest.approx(test.sum())
    # taking k cells never beats the best k cells by test count (an oracle)
    best = np.cumsum(np.sort(test)[::-1])
    for k, h in zip(ks, hits, strict=True):
        lo = int(np.floor(k))
        bound = best[lo - 1] if lo else 0.0
        bound += (k - lo) * (best[lo] - bound if lo < n else 0)
        assert h <= bound + 1e-9


# --------------------------------------------------------------------------- backtest


def _synthetic(months=8, seed=0):
    """A stable hotspot in a 10 km square plus uniform background, ``months`` months."""
    rng = np.random.default_rng(seed)
    xs, ms = [], []
    for m in range(months):
        xs.append(rng.normal(3000, 40, (60, 2)))
        xs.append(rng.uniform(0, 10_000, (240, 2)))
        ms += [f"2024-{m + 1:02d}"] * 300
    return _pts(np.concatenate(xs), ms)


def test_backtest_tidy_equal_coverage_and_baseline():
    pts = _synthetic()
    area = shapely.box(0, 0, 10_000, 10_000)
    r = backtest(pts, ["gistar", "kde"], study_area=area, coverage=(0.01, 0.05))
    assert set(r["method"]) == {"naive", "gistar", "kde"}
    assert r["test_start"].nunique() == 5  # 8 months: tests 2024-04 .. 2024-08
    assert r["incidents"].eq(300).all()
    # equal coverage: every method covers the same share in every fold
    shares = r.groupby(["test_start", "coverage"])["area_share"].agg(["min", "max"])
    np.testing.assert_allclose(shares["min"], shares["max"])
    np.testing.assert_allclose(r["area_share"], r["coverage"])
    # the stable hotspot holds ~20 % of the incidents on a tiny area: every method finds it
    mean = r.groupby(["method", "coverage"])["pai"].mean()
    assert (mean.xs(0.01, level="coverage") > 15).all()
    np.testing.assert_allclose(r["hit_rate"], r["hits"] / r["incidents"])
    assert r["hit_rate"].between(0, 1).all()


def test_backtest_bad_inputs():
    pts = _synthetic(months=3)
    with pytest.raises(EmptyInputError, match="3 months"):
        backtest(pts, "gistar")
    with pytest.raises(OptionError, match="method"):
        backtest(_synthetic(), "kmeans")
    with pytest.raises(ValidationError, match="coverage"):
        backtest(_synthetic(), "kde", coverage=(0.0,))
    with pytest.raises(ValidationError, match="month"):
        backtest(_pts([[0, 0], [1, 1]]), "kde")


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def leicestershire(shared_data):
    inc = read_incidents(shared_data / "leicestershire_street_crime")
    wards = pd.concat(
        [
            gpd.read_file(p)
            for p in sorted(
                (shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad").glob("*.json")
            )
        ]
    ).to_crs(inc.crs)
    return inc, wards


@pytest.mark.realdata
def test_leicestershire_naive_baseline_reproduces_published_figures(leicestershire):
    """The issue measured the naive baseline at a mean PAI of about 62 at 1 % and 28 at 3 %."""
    inc, wards = leicestershire
    r = backtest(inc, [], study_area=wards)  # the baseline alone, all 9 monthly folds
    assert r["test_start"].nunique() == 9
    mean = r.groupby("coverage")["pai"].mean()
    assert 60 <= mean[0.01] <= 64
    assert 27 <= mean[0.03] <= 30


@pytest.mark.realdata
def test_leicestershire_every_method_beats_the_baseline_at_equal_coverage(leicestershire):
    """Methods ranked on their training counts in 50 m cells, ties broken by their own score.

    Three folds (every third month: 2022-02, 2022-05, 2022-08) keep the test quick; the
    closing note gives all nine. Two baselines, both at equal coverage: the issue's (the
    busiest 100 m cells) and the same naive ranking on the methods' own 50 m cells. Most of
    the gain over the first is the smaller cell, so the second is the honest comparison: it
    asks whether a method's score adds anything to the count, and the margin is narrow
    (about 1 to 2 PAI). Ranked by their own smoothed score alone the methods do *not* beat
    either baseline on police.uk data (the snapped points make crime so concentrated that
    smoothing spreads it away from the busiest points); that is reported, not asserted.
    """
    inc, wards = leicestershire
    r = backtest(inc, "all", study_area=wards, cell=50.0, rank="count", step=3)
    assert r["test_start"].nunique() == 3
    mean = r.groupby(["method", "coverage"])["pai"].mean().unstack("coverage")
    naive_50 = backtest(inc, [], study_area=wards, baseline_cell=50.0, step=3)
    assert naive_50["test_start"].tolist() == r.loc[r["method"] == "naive", "test_start"].tolist()
    same_cell = naive_50.groupby("coverage")["pai"].mean()
    base = mean.loc["naive"]
    for method in ("gistar", "kde", "dbscan", "hdbscan"):
        assert (mean.loc[method] > base).all(), (method, mean.loc[method].tolist(), base.tolist())
        assert (mean.loc[method] > same_cell).all(), (method, mean.loc[method].tolist(),
                                                      same_cell.tolist())  # fmt: skip
    # the 50 m cell alone accounts for most of the gain at 0.5 % and 1 %
    for cov in (0.005, 0.01):
        gain = mean.loc["gistar", cov] - base[cov]
        assert same_cell[cov] - base[cov] > 0.5 * gain, (cov, same_cell[cov], base[cov], gain)


@pytest.fixture(scope="module")
def chicago(shared_data):
    inc = read_incidents(shared_data / "chicago" / "chicago_aggravated_assaults.csv.gz")
    beats = gpd.read_file(shared_data / "chicago" / "police_beats_current.shp")
    city = beats.set_crs(4326, allow_override=True).to_crs(inc.crs)
    return inc, city


@pytest.mark.realdata
def test_chicago_hotspots_by_year_predict_the_next_year(chicago):
    inc, city = chicago
    years = sorted(inc.points["month"].dt.year.unique())
    assert years == list(range(2010, 2020))
    pts = inc.points
    for year in years[:-1]:
        hs = find_hotspots(inc, months=(f"{year}-01", f"{year}-12"))
        assert len(hs) >= 10
        assert hs.params["incidents"] == int((pts["month"].dt.year == year).sum())
        ev = evaluate(hs, pts[pts["month"].dt.year == year + 1], city)
        # a year's hotspots hold several times their area share of the next year's assaults
        assert ev["pai"] > 3, (year, ev.to_dict())
        assert 0.5 < ev["rri"] < 1.5


@pytest.mark.realdata
def test_chicago_backtest_beats_the_baseline(chicago):
    """One fold a year (every 12th month) for speed; the note gives all 117 monthly folds."""
    inc, city = chicago
    r = backtest(inc, ["gistar", "kde"], study_area=city, cell=50.0, rank="count", step=12)
    assert r["test_start"].nunique() == 10
    mean = r.groupby(["method", "coverage"])["pai"].mean().unstack("coverage")
    assert (mean.loc["gistar"] > mean.loc["naive"]).all()
    assert (mean.loc["kde"] > mean.loc["naive"]).all()
    # and the naive ranking on the same 50 m cells (the smaller cell is not the whole gain)
    same_cell = (
        backtest(inc, [], study_area=city, baseline_cell=50.0, step=12)
        .groupby("coverage")["pai"]
        .mean()
    )
    assert (mean.loc["gistar"] > same_cell).all(), (mean.loc["gistar"].tolist(), same_cell)
    assert (mean.loc["kde"] > same_cell).all(), (mean.loc["kde"].tolist(), same_cell)
