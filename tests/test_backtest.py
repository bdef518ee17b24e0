"""Tests for beatplan.hotspots.backtest: the map users get scored against the naive baseline at
its own coverage, and the analyst's cell rankings at fixed coverages (real data too)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from _forces import bng_points as _pts
from _forces import chicago as chicago_data
from _forces import leicestershire as leicestershire_data

from beatplan.geo.errors import EmptyInputError, OptionError, ValidationError
from beatplan.hotspots import backtest, backtest_summary, find_hotspots
from beatplan.hotspots.baseline import CellAreas, ranked_hits
from beatplan.hotspots.study_area import as_study_area


def _synthetic(months=8, seed=0):
    """A stable hotspot in a 10 km square plus uniform background, ``months`` months."""
    rng = np.random.default_rng(seed)
    xs, ms = [], []
    for m in range(months):
        xs.append(rng.normal(3000, 40, (60, 2)))
        xs.append(rng.uniform(0, 10_000, (240, 2)))
        ms += [f"2024-{m + 1:02d}"] * 300
    return _pts(np.concatenate(xs), ms)


# --------------------------------------------------------------------------- map mode


def test_map_mode_scores_the_polygons_find_hotspots_draws():
    pts = _synthetic()
    area = shapely.box(0, 0, 10_000, 10_000)
    r = backtest(pts, ["gistar", "kde"], study_area=area)
    assert r.attrs["mode"] == "map" and r.attrs["study_area_m2"] == 1e8
    assert list(r["method"].unique()) == ["gistar", "kde"] and (r["asked"] == "default").all()
    assert r["test_start"].nunique() == 5 and r["incidents"].eq(300).all()
    # the fold's polygons are exactly what find_hotspots draws from the training months
    fold = r[r["method"] == "kde"].iloc[0]
    month = pts["month"].dt.strftime("%Y-%m")
    train = pts[(month >= fold["train_start"]) & (month < fold["test_start"])]
    test = pts[month == fold["test_start"]]
    hs = find_hotspots(train, method="kde", study_area=area)
    assert fold["hotspots"] == len(hs)
    assert fold["coverage"] == pytest.approx(hs.coverage)
    union = shapely.union_all(hs.areas.geometry.values)
    xy = shapely.get_coordinates(test.geometry.values)
    assert fold["hits"] == int(shapely.intersects_xy(union, xy[:, 0], xy[:, 1]).sum())
    assert fold["pai"] == pytest.approx(fold["hit_rate"] / fold["coverage"])
    # the naive baseline: the busiest 100 m training cells over the same area, ties shared
    cells = CellAreas.over(as_study_area(area, hs.crs))
    tr = cells.counts(shapely.get_coordinates(train.geometry.values))
    te = cells.counts(xy)
    naive = ranked_hits(tr, te, cells.area, fold["coverage"] * 1e8)
    assert fold["naive_hit_rate"] == pytest.approx(naive / 300)
    best = ranked_hits(te, te, cells.area, fold["coverage"] * 1e8)
    assert fold["pei"] == pytest.approx(fold["pai"] / (best / 300 / fold["coverage"]))
    assert (r["pei"] <= 1 + 1e-9).all() or (r["median_ha"] < 1).any()
    assert r["beats_naive"].equals(r["pai"] > r["naive_pai"])
    assert r["busiest_in"].between(0, 10).all()
    # the summary says it in words, per method
    s = backtest_summary(r)
    assert list(s["folds"]) == [5, 5]
    for row in s.itertuples():
        assert row.verdict.startswith(f"{row.method} (its own threshold): ")
        assert f"of {row.folds}" in row.verdict and "PAI" in row.verdict


def test_map_mode_at_asked_coverages():
    pts = _synthetic()
    area = shapely.box(0, 0, 10_000, 10_000)
    r = backtest(pts, "kde", study_area=area, coverage=[0.001, 0.01])
    assert list(r["asked"].unique()) == ["0.001", "0.01"]
    got = r.groupby("asked")["coverage"].max()
    assert got["0.001"] <= 0.0011 and 0.005 < got["0.01"] <= 0.0101
    s = backtest_summary(r)
    assert list(s["asked"]) == ["0.001", "0.01"]
    assert "coverage 0.001" in s["verdict"].iloc[0]


def test_coverage_as_a_percent_is_the_share_everywhere():
    pts = _synthetic()
    area = shapely.box(0, 0, 10_000, 10_000)
    by_share = backtest(pts, "kde", study_area=area, coverage=0.01)
    by_text = backtest(pts, "kde", study_area=area, coverage="1%")  # one value, not characters
    cols = ["test_start", "hotspots", "coverage", "hits", "pai"]
    assert by_text[cols].equals(by_share[cols])
    one = find_hotspots(pts, method="kde", study_area=area, coverage=0.005)
    assert find_hotspots(pts, method="kde", study_area=area, coverage="0.5%").coverage == (
        one.coverage
    )
    with pytest.raises(ValidationError, match=r"percent \('0.5%'\)"):
        find_hotspots(pts, study_area=area, coverage="half")


def test_map_mode_derives_the_study_area_and_counts_far_points():
    pts = _synthetic()
    far = _pts(np.full((50, 2), 300_000.0), ["2024-02"] * 50)
    r = backtest(pd.concat([pts, far], ignore_index=True), "kde")
    assert r.attrs["outside_study_area"] == 50
    assert "derived" in r.attrs["study_area"]
    assert 0.9e8 < r.attrs["study_area_m2"] < 1.2e8


# --------------------------------------------------------------------------- cells mode


def test_backtest_tidy_equal_coverage_and_baseline():
    pts = _synthetic()
    area = shapely.box(0, 0, 10_000, 10_000)
    r = backtest(pts, ["gistar", "kde"], mode="cells", study_area=area, coverage=(0.01, 0.05))
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
    with pytest.raises(ValidationError, match=r"rank= apply to mode='cells' only"):
        backtest(_synthetic(), "kde", rank="count")
    with pytest.raises(ValidationError, match=r"cell= apply to mode='cells' only"):
        backtest(_synthetic(), "kde", cell=50.0)
    with pytest.raises(OptionError, match="mode"):
        backtest(_synthetic(), "kde", mode="surface")


# --------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def leicestershire(shared_data):
    return leicestershire_data(shared_data)


@pytest.mark.realdata
def test_leicestershire_naive_baseline_reproduces_published_figures(leicestershire):
    """The issue measured the naive baseline at a mean PAI of about 62 at 1 % and 28 at 3 %."""
    inc, wards = leicestershire
    r = backtest(inc, [], mode="cells", study_area=wards)  # the baseline alone, 9 folds
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
    r = backtest(inc, "all", mode="cells", study_area=wards, cell=50.0, rank="count", step=3)
    assert r["test_start"].nunique() == 3
    mean = r.groupby(["method", "coverage"])["pai"].mean().unstack("coverage")
    naive_50 = backtest(inc, [], mode="cells", study_area=wards, baseline_cell=50.0, step=3)
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
    return chicago_data(shared_data)


@pytest.mark.realdata
def test_chicago_backtest_beats_the_baseline(chicago):
    """One fold a year (every 12th month) for speed; the note gives all 117 monthly folds."""
    inc, city = chicago
    r = backtest(inc, ["gistar", "kde"], mode="cells", study_area=city, cell=50.0, rank="count",
                 step=12)  # fmt: skip
    assert r["test_start"].nunique() == 10
    mean = r.groupby(["method", "coverage"])["pai"].mean().unstack("coverage")
    assert (mean.loc["gistar"] > mean.loc["naive"]).all()
    assert (mean.loc["kde"] > mean.loc["naive"]).all()
    # and the naive ranking on the same 50 m cells (the smaller cell is not the whole gain)
    same_cell = (
        backtest(inc, [], mode="cells", study_area=city, baseline_cell=50.0, step=12)
        .groupby("coverage")["pai"]
        .mean()
    )
    assert (mean.loc["gistar"] > same_cell).all(), (mean.loc["gistar"].tolist(), same_cell)
    assert (mean.loc["kde"] > same_cell).all(), (mean.loc["kde"].tolist(), same_cell)


@pytest.mark.realdata
def test_200_far_points_change_neither_the_default_scale_nor_the_backtest_pai(leicestershire):
    """police.uk files carry stray points far outside the force; with no study area given,
    200 of them (100-300 km away) move neither the default method's scale nor the backtest's
    PAI by 1 % (three folds, every fourth month, for time; the closing note gives all)."""
    from _forces import with_far_points

    inc, _ = leicestershire
    clean = inc.points
    far = with_far_points(clean, 200)
    a = find_hotspots(clean, since="3M")
    b = find_hotspots(far, since="3M")
    assert b.params["outside_study_area"] >= 40  # the far points of those months
    assert b.params["spacing"] == pytest.approx(a.params["spacing"], rel=0.01)
    assert b.params["study_area_km2"] == pytest.approx(a.params["study_area_km2"], rel=0.01)
    ra = backtest(clean, step=4, progress=False)
    rb = backtest(far, step=4, progress=False)
    assert rb.attrs["outside_study_area"] - ra.attrs["outside_study_area"] == 200
    assert list(ra["test_start"]) == list(rb["test_start"]) == ["2022-02", "2022-06", "2022-10"]
    np.testing.assert_allclose(rb["pai"], ra["pai"], rtol=0.01)
    np.testing.assert_allclose(rb["naive_pai"], ra["naive_pai"], rtol=0.01)
    # the old default cell rule (the mean nearest-neighbour distance) is moved by them
    from beatplan.hotspots.grid import nearest_distances

    def mean_nn(points):
        xy = np.unique(shapely.get_coordinates(points.geometry.values), axis=0)
        return float(nearest_distances(xy, 1).mean())

    assert mean_nn(far) > 1.1 * mean_nn(clean)
