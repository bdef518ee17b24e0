"""Tests for beatplan.hotspots.registry: one set of methods, their options checked at the start,
and the same defaults for find_hotspots, backtest and emerging_hotspots."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from beatplan.geo.errors import BeatplanError, InputTypeError, OptionError, ValidationError
from beatplan.geo.sample import make_sample
from beatplan.hotspots import (
    DEFAULT_METHOD,
    DBSCANMethod,
    GiStarMethod,
    HDBSCANMethod,
    HotspotMethod,
    KDEMethod,
    SpotMethod,
    TestedMethod,
    backtest,
    emerging_hotspots,
    find_hotspots,
    hotspot_method,
)
from beatplan.hotspots.registry import METHODS, REGISTRY
from beatplan.hotspots.study import Study


@pytest.fixture(scope="module")
def points():
    county = make_sample(seed=3, n_wards=60, incidents=6000)
    truth = county.incident_truth
    ok = truth["x"].notna().to_numpy()
    return gpd.GeoDataFrame(
        {
            "month": pd.to_datetime(county.incidents["Month"]),
            "category": county.incidents["Crime type"].astype("string"),
        },
        geometry=gpd.points_from_xy(truth["x"], truth["y"]),
        crs=27700,
    )[ok]


def test_one_class_per_method():
    assert METHODS == ("spots", "gistar", "kde", "dbscan", "hdbscan")
    assert REGISTRY == {"spots": SpotMethod, "gistar": GiStarMethod, "kde": KDEMethod,
                        "dbscan": DBSCANMethod, "hdbscan": HDBSCANMethod}  # fmt: skip
    assert DEFAULT_METHOD == "spots"
    for name, cls in REGISTRY.items():
        assert cls.name == name and issubclass(cls, HotspotMethod)
        assert "cell" in cls.option_names()
        # the methods with a significance test; the default has none (it never drops the
        # busiest places), so it refuses their options
        tested = issubclass(cls, TestedMethod)
        assert ({"alpha", "fdr", "background"} <= set(cls.option_names())) == tested
        assert tested == (name != "spots")
    assert HDBSCANMethod.takes_weights is False
    assert hotspot_method("kde").threshold == KDEMethod.default("threshold") == 3.0


def _taking(option):
    return [m for m, cls in REGISTRY.items() if option in cls.option_names()]


OTHERS = sorted(
    {(o, m) for cls in REGISTRY.values() for o in cls.option_names() for m in METHODS
     if o not in REGISTRY[m].option_names()}
)  # fmt: skip


@pytest.mark.parametrize("option, method", OTHERS)
def test_an_option_of_another_method_is_refused_before_any_work(option, method):
    """The error names the option and the methods it applies to, before the incidents are read."""
    takers = _taking(option)
    expected = rf"{option}= applies to .*{takers[-1]}.* not {method}"
    with pytest.raises(ValidationError, match=expected):
        # the incidents are not even a table: the option is refused first
        find_hotspots("not a table", method=method, **{option: 1})


def test_none_means_the_default_for_any_method(points):
    few = points.iloc[:3000]
    a = find_hotspots(few, method="kde", band=None, eps=None, permutations=None)
    b = find_hotspots(few, method="kde")
    assert a.params == b.params


def test_an_unknown_option_is_a_type_error():
    with pytest.raises(InputTypeError, match=r"bandwith=300 is not an option.*bandwidth") as err:
        find_hotspots("not a table", method="kde", bandwith=300)
    assert isinstance(err.value, TypeError)


def test_weights_for_hdbscan_are_refused_before_any_work():
    for option in ("weights", "halflife"):
        with pytest.raises(ValidationError, match=rf"{option}= applies to spots, gistar, kde "
                                                  r"and dbscan only, not hdbscan"):  # fmt: skip
            find_hotspots("not a table", method="hdbscan", **{option: "30D"})


def test_bad_values_are_refused_when_the_method_is_made():
    with pytest.raises(ValidationError, match=r"background=1: give the ring's radius"):
        hotspot_method("dbscan", background=1)
    with pytest.raises(OptionError, match="kernel"):
        hotspot_method("kde", kernel="triangle")
    with pytest.raises(OptionError, match="bandwidth rule"):
        hotspot_method("kde", bandwidth="scott")
    with pytest.raises(OptionError, match="method"):
        hotspot_method("kmeans")
    with pytest.raises(BeatplanError, match="rank_by"):
        find_hotspots("not a table", rank_by="size")


def test_a_method_object_is_the_same_as_its_keywords(points):
    few = points.iloc[:3000]
    by_name = find_hotspots(few, method="kde", bandwidth=300, threshold=2.5)
    by_object = find_hotspots(few, method=KDEMethod(bandwidth=300, threshold=2.5))
    assert by_object.params == by_name.params
    assert by_object.labels.equals(by_name.labels)
    # keywords replace the object's options, under the same check
    again = find_hotspots(few, method=KDEMethod(bandwidth=300), threshold=2.5)
    assert again.params == by_name.params
    with pytest.raises(ValidationError, match="band= applies to gistar only, not kde"):
        find_hotspots(few, method=KDEMethod(), band=200)


def test_every_option_is_documented_in_find_hotspots():
    doc = find_hotspots.__doc__ or ""
    for cls in REGISTRY.values():
        for option in cls.option_names():
            assert f"{option}" in doc, option


def test_find_backtest_and_emerging_share_the_defaults(points):
    """One rule per default: the three callers get the same cell and band from the same data."""
    hs = find_hotspots(points, method="gistar")
    em = emerging_hotspots(points)
    assert em.attrs["params"]["cell"] == hs.params["cell"]
    assert em.attrs["params"]["band"] == hs.params["band"]
    xy = np.c_[points.geometry.x, points.geometry.y]
    spec, how = hotspot_method("gistar").resolved(Study(xy))
    assert (spec.cell, spec.band) == (hs.params["cell"], hs.params["band"])
    assert how == {k: hs.params["how"][k] for k in ("cell", "band")}
    kde, _ = hotspot_method("kde").resolved(Study(xy))
    assert kde.bandwidth == find_hotspots(points, method="kde").params["bandwidth"]
    # the backtest's cell (fitted on the training months) is find_hotspots' on those months
    r = backtest(points, ["gistar"], mode="cells", step=12)
    fold = r[r["method"] == "gistar"].iloc[0]
    train = points["month"].dt.strftime("%Y-%m").between(fold["train_start"], "9999") & (
        points["month"].dt.strftime("%Y-%m") < fold["test_start"]
    )
    assert fold["cell"] == find_hotspots(points[train.to_numpy()], method="gistar").params["cell"]


def test_backtest_refuses_an_option_of_another_method(points):
    with pytest.raises(ValidationError, match="bandwidth= applies to kde only, not gistar"):
        backtest(points, ["gistar"], params={"gistar": {"bandwidth": 200}})
