"""beatplan.hotspots.hulls: one polygon per cluster, containing every member."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from beatplan.geo.errors import ValidationError
from beatplan.hotspots.hulls import cluster_polygons


def assert_contains_members(polys: gpd.GeoSeries, xy: np.ndarray, labels: np.ndarray) -> None:
    member = labels >= 0
    assert polys.index.tolist() == sorted(set(labels[member].tolist()))
    assert polys.geom_type.eq("Polygon").all() and polys.is_valid.all()
    geoms = polys.to_numpy()[np.searchsorted(polys.index.to_numpy(), labels[member])]
    inside = shapely.contains_xy(geoms, xy[member, 0], xy[member, 1])
    assert inside.all(), f"{(~inside).sum()} members outside their polygon"


@pytest.mark.parametrize("concave_ratio", [None, 0.0, 0.3, 1.0])
def test_awkward_clusters_contain_their_members(concave_ratio):
    rng = np.random.default_rng(0)
    base = np.array([452_000.0, 301_000.0])
    parts = [
        base + [[0.0, 0.0]],  # one point
        base + [[500.0, 0.0]] * 7,  # one location repeated
        base + [[1000.0, 0.0], [1030.0, 40.0]],  # two locations
        base + np.column_stack([np.linspace(2000, 2300, 25), np.linspace(0, 150, 25)]),  # line
        base + [[3000.0, 0.0], [3000.0, 0.0], [3000.0, 80.0]],  # two locations, one repeated
        base + rng.normal(0, 40, (400, 2)) + [4000.0, 0.0],  # a blob
        base
        + np.column_stack(  # a ring (very concave)
            [
                4000 + 300 * np.cos(np.linspace(0, 6, 200)),
                2000 + 300 * np.sin(np.linspace(0, 6, 200)),
            ]
        ),
    ]
    xy = np.vstack(parts)
    labels = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    noise = base + rng.uniform(0, 5000, (50, 2))
    xy = np.vstack([xy, noise])
    labels = np.concatenate([labels, np.full(50, -1)])
    polys = cluster_polygons(xy, labels, buffer=10.0, concave_ratio=concave_ratio, crs=27700)
    assert_contains_members(polys, xy, labels)
    assert polys.crs.to_epsg() == 27700 and polys.index.name == "cluster"
    # a single location becomes (nearly) a disc of the buffer's radius
    assert polys.loc[0].area == pytest.approx(np.pi * 100, rel=0.02)
    assert polys.loc[1].area == pytest.approx(np.pi * 100, rel=0.02)


def test_concave_hull_is_tighter_than_convex():
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    ring = np.column_stack([500 * np.cos(t), 500 * np.sin(t)])
    xy = np.vstack([ring, ring * 0.5])  # two rings: the convex hull is the big disc
    c_shape = np.vstack([xy[(xy[:, 0] < 0) | (np.abs(xy[:, 1]) > 300)]])
    labels = np.zeros(len(c_shape), dtype=int)
    convex = cluster_polygons(c_shape, labels, buffer=5)
    concave = cluster_polygons(c_shape, labels, buffer=5, concave_ratio=0.05)
    assert concave.area.iloc[0] < 0.9 * convex.area.iloc[0]
    assert_contains_members(concave, c_shape, labels)


def test_thinning_keeps_the_hull_close_to_the_full_one():
    """The polygon lies inside the buffered hull of all members and contains every member."""
    rng = np.random.default_rng(2)
    xy = np.vstack([rng.normal(0, 200, (20_000, 2)), rng.normal(5000, 50, (5000, 2))])
    labels = np.repeat([3, 8], [20_000, 5000])
    polys = cluster_polygons(xy, labels, buffer=25)
    assert_contains_members(polys, xy, labels)
    for lab in (3, 8):
        full = shapely.buffer(shapely.convex_hull(shapely.multipoints(xy[labels == lab])), 25)
        assert shapely.covers(full.buffer(1e-6), polys.loc[lab])
        assert polys.loc[lab].area > 0.97 * full.area


def test_labels_with_gaps_and_no_clusters():
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [100.0, 100.0], [5.0, 5.0]])
    polys = cluster_polygons(xy, np.array([7, 7, 42, -1]), buffer=2)
    assert polys.index.tolist() == [7, 42]
    empty = cluster_polygons(xy, np.full(4, -1), buffer=2, crs="EPSG:27700")
    assert len(empty) == 0 and empty.crs.to_epsg() == 27700
    # float labels holding whole numbers are accepted
    assert cluster_polygons(xy, np.array([0.0, 0.0, 1.0, -1.0]), buffer=2).index.tolist() == [0, 1]


def test_noise_points_may_have_nan_coordinates():
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [np.nan, np.nan]])
    polys = cluster_polygons(xy, np.array([0, 0, -1]), buffer=1)
    assert len(polys) == 1


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(
        st.tuples(st.floats(-1e4, 1e4, allow_nan=False), st.floats(-1e4, 1e4, allow_nan=False)),
        min_size=1,
        max_size=80,
    ),
    k=st.integers(1, 5),
    buffer=st.floats(0.01, 100.0),
    concave=st.sampled_from([None, 0.0, 0.5]),
    seed=st.integers(0, 1000),
)
def test_property_every_member_is_inside(pts, k, buffer, concave, seed):
    xy = np.array(pts) + 400_000.0
    labels = np.random.default_rng(seed).integers(-1, k, len(xy))
    polys = cluster_polygons(xy, labels, buffer=buffer, concave_ratio=concave)
    if (labels >= 0).any():
        assert_contains_members(polys, xy, labels)
    else:
        assert len(polys) == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"buffer": 0}, r"buffer=0; expected a distance > 0"),
        ({"buffer": -3}, "buffer=-3"),
        ({"buffer": float("nan")}, "buffer=nan"),
        ({"buffer": 5, "concave_ratio": 1.5}, r"concave_ratio=1.5; expected None or a ratio"),
        ({"buffer": 5, "concave_ratio": -0.1}, "concave_ratio=-0.1"),
    ],
)
def test_bad_parameters(kwargs, match):
    xy = np.array([[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValidationError, match=match):
        cluster_polygons(xy, np.array([0, 0]), **kwargs)


def test_bad_shapes_and_values():
    xy = np.array([[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValidationError, match=r"labels has shape \(3,\)"):
        cluster_polygons(xy, np.array([0, 0, 0]), buffer=1)
    with pytest.raises(ValidationError, match=r"xy has shape \(2, 3\)"):
        cluster_polygons(np.zeros((2, 3)), np.array([0, 0]), buffer=1)
    with pytest.raises(ValidationError, match="whole-number cluster labels"):
        cluster_polygons(xy, np.array([0.5, 0.0]), buffer=1)
    with pytest.raises(ValidationError, match=r"1 clustered point\(s\) have NaN"):
        cluster_polygons(np.array([[0.0, 0.0], [np.nan, 1.0]]), np.array([0, 0]), buffer=1)
    with pytest.raises(ValidationError) as err:  # every problem at once
        cluster_polygons(xy, np.array([0]), buffer=0, concave_ratio=3)
    assert len(err.value.problems) == 3
