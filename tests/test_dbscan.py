"""beatplan.hotspots.dbscan: grid DBSCAN against scikit-learn, HDBSCAN regimes, bad inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import cKDTree
from sklearn.cluster import DBSCAN, HDBSCAN

import beatplan.hotspots.dbscan as dbmod
from beatplan.geo.errors import CRSError, EmptyInputError, OptionError, ValidationError
from beatplan.hotspots.dbscan import DensityClusters, dbscan, hdbscan

# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def sklearn_dbscan(xy, eps, min_samples, weights=None):
    """Reference labels and core mask.

    ``algorithm="kd_tree"`` (what "auto" picks for 2-D data of more than a few points): its
    brute-force path measures distances with the dot-product expansion, which rounds pairs at
    exactly ``eps`` either way.
    """
    ms = float(min_samples)
    if ms.is_integer():
        ms_ref, w_ref = int(ms), weights
    elif weights is None:  # a count reaches 8.5 when it reaches 9
        ms_ref, w_ref = math.ceil(ms), None
    else:  # scikit-learn wants a whole min_samples: scale the weights with it
        f = next(f for f in (2, 4, 5, 10, 100, 1000) if (ms * f).is_integer())
        ms_ref, w_ref = round(ms * f), np.asarray(weights) * f
    ref = DBSCAN(eps=eps, min_samples=ms_ref, algorithm="kd_tree").fit(xy, sample_weight=w_ref)
    core = np.zeros(len(xy), dtype=bool)
    core[ref.core_sample_indices_] = True
    return ref.labels_, core


def one_to_one(a, b):
    """True when the labellings a and b (same length) are the same partition."""
    pairs = np.unique(np.column_stack([a, b]), axis=0)
    return len(pairs) == len(np.unique(a)) == len(np.unique(b))


def assert_same_as_sklearn(xy, eps, min_samples, weights=None):
    res = dbscan(xy, eps=eps, min_samples=min_samples, weights=weights)
    ref_labels, ref_core = sklearn_dbscan(xy, eps, min_samples, weights)
    # the same core points, exactly
    np.testing.assert_array_equal(res.core, ref_core)
    # the same partition of the core points into clusters
    assert one_to_one(res.labels[ref_core], ref_labels[ref_core])
    # the same noise: a non-core point is in a cluster iff a core point is within eps
    np.testing.assert_array_equal(res.labels < 0, ref_labels < 0)
    # every border point's cluster has a core point within eps of it
    border = np.flatnonzero(~res.core & (res.labels >= 0))
    if border.size:
        core_idx = np.flatnonzero(res.core)
        near = cKDTree(xy[core_idx]).query_ball_point(xy[border], eps)
        owner = np.repeat(border, [len(n) for n in near])
        hits = core_idx[np.concatenate(near).astype(np.intp)]
        ok = np.zeros(len(xy), dtype=bool)
        ok[owner[res.labels[hits] == res.labels[owner]]] = True
        assert ok[border].all()
    check_invariants(res, len(xy))
    return res


def check_invariants(res: DensityClusters, n: int):
    labels = res.labels
    assert labels.shape == (n,) and labels.dtype == np.int64
    assert res.core.shape == (n,) and res.core.dtype == bool
    k = res.n_clusters
    assert labels.min() >= -1 and (k == 0 or labels.max() == k - 1)
    # clusters numbered 0..k-1 by their first member in the input
    first = np.unique(labels[labels >= 0], return_index=True)[1]
    assert np.all(np.diff(first) > 0)
    # every core point is in a cluster, every cluster has a core point
    assert (labels[res.core] >= 0).all()
    assert set(np.unique(labels[res.core])) == set(range(k))
    np.testing.assert_array_equal(res.noise, labels < 0)


def blobs(rng, n, *, extent=3000.0, n_blobs=6, background=0.3):
    centres = rng.uniform(0, extent, (n_blobs, 2))
    sig = rng.uniform(20, 150, n_blobs)
    nb = int(n * background)
    which = rng.integers(0, n_blobs, n - nb)
    pts = centres[which] + rng.normal(size=(n - nb, 2)) * sig[which, None]
    return np.vstack([pts, rng.uniform(0, extent, (nb, 2))]) + [430_000.0, 300_000.0]


# --------------------------------------------------------------------------------------------
# DBSCAN equivalence
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eps", "min_samples", "snap", "weighted"),
    [
        (150.0, 15, None, False),
        (50.0, 5, None, False),
        (75.5, 12, 10.0, False),  # snapped to a 10 m lattice: many repeats, exact ties at eps
        (150.0, 30, 25.0, False),
        (100.0, 8.5, None, True),  # fractional threshold with weights
        (120.0, 20, 20.0, True),
        (30.0, 1, None, False),  # every point core
    ],
)
def test_dbscan_matches_sklearn_random(eps, min_samples, snap, weighted):
    rng = np.random.default_rng(int(eps * 10) + int(min_samples))
    xy = blobs(rng, 6000)
    if snap:
        xy = np.round(xy / snap) * snap
    w = rng.integers(0, 4, len(xy)).astype(float) if weighted else None
    assert_same_as_sklearn(xy, eps, min_samples, w)


def test_dbscan_float_weights_match_sklearn():
    rng = np.random.default_rng(5)
    xy = blobs(rng, 4000)
    w = rng.gamma(2.0, 0.7, len(xy))
    assert_same_as_sklearn(xy, 90.0, 6.3, w)


def test_weights_equal_repeated_points():
    """A weight of k is k incidents at that spot: same clusters as repeating the point."""
    rng = np.random.default_rng(11)
    xy = np.round(blobs(rng, 3000) / 15) * 15
    w = rng.integers(1, 5, len(xy))
    a = dbscan(xy, eps=100, min_samples=20, weights=w)
    rep = np.repeat(np.arange(len(xy)), w)
    b = dbscan(xy[rep], eps=100, min_samples=20)
    np.testing.assert_array_equal(a.core[rep], b.core)
    np.testing.assert_array_equal(a.labels[rep], b.labels)


def test_chunking_and_sparse_lookup_give_the_same_result(monkeypatch):
    """Tiny pair chunks and the binary-search cell lookup change nothing."""
    rng = np.random.default_rng(3)
    xy = np.round(blobs(rng, 5000) / 10) * 10
    base = dbscan(xy, eps=80, min_samples=10)
    monkeypatch.setattr(dbmod, "_CHUNK_PAIRS", 5)  # also sends big cell pairs to the k-d tree
    monkeypatch.setattr(dbmod, "_DENSE_GRID_MAX", 0)
    other = dbscan(xy, eps=80, min_samples=10)
    np.testing.assert_array_equal(base.labels, other.labels)
    np.testing.assert_array_equal(base.core, other.core)


@pytest.mark.parametrize("chunk", [2_000_000, 1000])
@pytest.mark.parametrize(("gap", "expected"), [(9.5, 1), (10.5, 2)])
def test_dense_cells_across_a_gap(monkeypatch, chunk, gap, expected):
    """Two dense squares with nothing between them: joined when their nearest points are
    within eps, whether compared pair by pair or (big cell pairs) with a k-d tree."""
    monkeypatch.setattr(dbmod, "_CHUNK_PAIRS", chunk)
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 3, (400, 2))
    b = rng.uniform(0, 3, (400, 2)) + [3 + gap, 0]
    a[0] = [3.0, 1.0]  # the closest pair is exactly `gap` apart
    b[0] = [3.0 + gap, 1.0]
    res = assert_same_as_sklearn(np.vstack([a, b]) + 1000.0, 10.0, 5)
    assert res.n_clusters == expected and res.core.all()


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pts=st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), min_size=1, max_size=60),
    eps2=st.integers(1, 30),
    min_samples=st.integers(1, 8),
    use_weights=st.booleans(),
    data=st.data(),
)
def test_dbscan_property_small_integer_inputs(pts, eps2, min_samples, use_weights, data):
    """On integer coordinates (exact arithmetic, many ties at exactly eps) the result is
    scikit-learn's; eps in half metres."""
    xy = np.array(pts, dtype=float)
    w = None
    if use_weights:
        w = np.array(
            data.draw(st.lists(st.integers(0, 3), min_size=len(xy), max_size=len(xy))),
            dtype=float,
        )
        if not w.any():  # scikit-learn refuses all-zero weights; nothing can be core
            res = dbscan(xy, eps=eps2 / 2.0, min_samples=min_samples, weights=w)
            assert (res.labels == -1).all() and not res.core.any()
            return
    assert_same_as_sklearn(xy, eps2 / 2.0, min_samples, w)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 300),
    scale=st.sampled_from([1.0, 50.0, 1000.0]),
    offset=st.sampled_from([0.0, 450_000.0, -3.0e6]),
    eps=st.floats(0.05, 200.0),
    min_samples=st.floats(1.0, 12.0),
)
def test_dbscan_property_random_floats(seed, n, scale, offset, eps, min_samples):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, scale, (n, 2)) + offset
    if n > 3:
        xy[: n // 3] = xy[n // 3 : 2 * (n // 3)]  # repeated locations
    assert_same_as_sklearn(xy, eps, min_samples)


def test_single_and_identical_points():
    one = dbscan(np.array([[5.0, 5.0]]), eps=10, min_samples=1)
    assert one.labels.tolist() == [0] and one.core.tolist() == [True]
    alone = dbscan(np.array([[5.0, 5.0]]), eps=10, min_samples=2)
    assert alone.labels.tolist() == [-1] and alone.n_clusters == 0
    same = dbscan(np.full((40, 2), 1234.5), eps=1, min_samples=15)
    assert (same.labels == 0).all() and same.core.all()
    few = dbscan(np.full((10, 2), 1234.5), eps=1, min_samples=15)
    assert (few.labels == -1).all() and not few.core.any()


def test_collinear_chain_is_one_cluster():
    xy = np.column_stack([np.arange(0, 1000, 10.0), np.zeros(100)])
    res = assert_same_as_sklearn(xy, 10.0, 3)
    assert res.n_clusters == 1 and res.core[1:-1].all()


def test_border_point_between_two_clusters_goes_to_nearest_core():
    y = np.arange(-20, 20.01, 0.25)
    left = np.column_stack([np.zeros_like(y), y])
    right = np.column_stack([np.full_like(y, 20.0), y])
    xy = np.vstack([left, right, [[9.0, 0.0]]])  # 9 m from the left line, 11 m from the right
    res = assert_same_as_sklearn(xy, 11.0, 60)
    assert res.n_clusters == 2 and not res.core[-1]
    mid = len(y) // 2  # the points at y = 0 of each line are core
    assert xy[mid, 1] == 0 and res.core[mid] and res.core[len(y) + mid]
    # within reach of both clusters (the right line's (20, 0) is exactly eps away) ...
    assert np.hypot(*(xy[-1] - [20.0, 0.0])) == 11.0
    # ... it joins the cluster of its nearest core point
    assert res.labels[-1] == res.labels[0] != res.labels[len(y)]


def test_params_report_the_run():
    xy = np.round(blobs(np.random.default_rng(1), 2000) / 10) * 10
    res = dbscan(xy, eps=100, min_samples=10)
    p = res.params
    assert p["method"] == "dbscan" and p["eps"] == 100 and p["min_samples"] == 10
    assert p["n_points"] == 2000 and p["n_locations"] == len(np.unique(xy, axis=0))
    assert p["n_clusters"] == res.n_clusters and p["border_rule"] == "nearest core point"


# --------------------------------------------------------------------------------------------
# real and sample data
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_xy():
    from beatplan.geo.sample import make_sample

    truth = make_sample(seed=7, incidents=30_000).incident_truth
    xy = truth[["x", "y"]].to_numpy(dtype=float)
    return xy[np.isfinite(xy).all(axis=1)]


@pytest.mark.parametrize(("eps", "min_samples"), [(150.0, 15), (60.0, 8)])
def test_dbscan_matches_sklearn_on_sample_county(sample_xy, eps, min_samples):
    res = assert_same_as_sklearn(sample_xy, eps, min_samples)
    assert res.n_clusters > 0


@pytest.fixture(scope="module")
def leicestershire_xy(shared_data):
    from beatplan.geo.incidents import read_incidents

    inc = read_incidents(shared_data / "leicestershire_street_crime")
    return np.column_stack([inc.points.geometry.x, inc.points.geometry.y])


@pytest.mark.realdata
@pytest.mark.parametrize(("eps", "min_samples"), [(150.0, 15), (100.0, 40), (50.0, 10)])
def test_dbscan_matches_sklearn_on_leicestershire_year(leicestershire_xy, eps, min_samples):
    """The whole police.uk year (110k incidents at ~18k snapped locations); scikit-learn
    takes under a second on it, so no subset is needed."""
    xy = leicestershire_xy
    assert len(xy) > 100_000
    res = assert_same_as_sklearn(xy, eps, min_samples)
    assert res.params["n_locations"] < len(xy) / 3  # snapped: clustered per location
    assert res.n_clusters > 50


# --------------------------------------------------------------------------------------------
# DBSCAN bad inputs
# --------------------------------------------------------------------------------------------


def test_dbscan_empty_input():
    with pytest.raises(EmptyInputError, match="no points"):
        dbscan(np.empty((0, 2)), eps=10, min_samples=3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"eps": 0, "min_samples": 3}, "eps=0"),
        ({"eps": -5, "min_samples": 3}, r"eps=-5; expected > 0"),
        ({"eps": float("nan"), "min_samples": 3}, "eps=nan is not a finite number"),
        ({"eps": 10, "min_samples": 0.5}, r"min_samples=0.5; expected >= 1"),
        ({"eps": 10, "min_samples": 3, "weights": [1.0, 2.0]}, r"weights has shape \(2,\)"),
        ({"eps": 10, "min_samples": 3, "weights": [1.0, -1.0, 1.0]}, "negative"),
        ({"eps": 10, "min_samples": 3, "weights": [1.0, np.nan, 1.0]}, "NaN or infinite"),
    ],
)
def test_dbscan_bad_parameters(kwargs, match):
    xy = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    with pytest.raises(ValidationError, match=match):
        dbscan(xy, **kwargs)


def test_dbscan_reports_every_problem_at_once():
    xy = np.array([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(ValidationError) as err:
        dbscan(xy, eps=-1, min_samples=0, weights=[1.0])
    assert len(err.value.problems) == 4
    assert "rows 0" in str(err.value)


def test_dbscan_nan_coordinates():
    xy = np.array([[0.0, 0.0], [np.inf, 1.0], [2.0, np.nan]])
    with pytest.raises(ValidationError, match=r"2 point\(s\) have NaN or infinite .*rows 1, 2"):
        dbscan(xy, eps=10, min_samples=2)


def test_dbscan_bad_shape():
    with pytest.raises(ValidationError, match=r"shape \(3,\)"):
        dbscan(np.array([1.0, 2.0, 3.0]), eps=10, min_samples=2)


def test_dbscan_eps_in_degrees_on_metres():
    xy = np.array([[430_000.0, 300_000.0], [445_000.0, 310_000.0]])
    with pytest.raises(CRSError, match="looks like degrees"):
        dbscan(xy, eps=0.0015, min_samples=2)
    # a small eps on a small extent is fine
    small = dbscan(np.array([[0.0, 0.0], [0.003, 0.0]]), eps=0.005, min_samples=2)
    assert small.labels.tolist() == [0, 0]


# --------------------------------------------------------------------------------------------
# HDBSCAN
# --------------------------------------------------------------------------------------------


def test_hdbscan_equals_sklearn_without_ties():
    """min_samples=1 on distinct random floats: no equal distances, so one right answer."""
    rng = np.random.default_rng(21)
    for trial in range(4):
        xy = blobs(rng, 1500, n_blobs=5)
        for method in ("eom", "leaf"):
            mcs = 10 + 7 * trial
            ref = HDBSCAN(
                min_cluster_size=mcs, min_samples=1, cluster_selection_method=method, copy=True
            ).fit(xy)
            res = hdbscan(xy, min_cluster_size=mcs, min_samples=1, cluster_selection_method=method)
            assert res.params["mode"] == "exact"
            assert one_to_one(res.labels, ref.labels_)
            np.testing.assert_array_equal(res.labels < 0, ref.labels_ < 0)


@pytest.mark.parametrize(("snap", "min_samples"), [(None, 5), (None, 15), (20.0, 10)])
def test_hdbscan_spanning_tree_equals_sklearn(snap, min_samples):
    """The merge heights of the cluster tree (a tie-free fingerprint of HDBSCAN: every
    minimum spanning tree has the same weights) equal scikit-learn's on the raw points,
    repeated locations included."""
    rng = np.random.default_rng(min_samples)
    xy = blobs(rng, 1200)
    if snap:
        xy = np.round(xy / snap) * snap
    ref = HDBSCAN(min_cluster_size=10, min_samples=min_samples, copy=True).fit(xy)
    locs = dbmod._locations(xy, None, "t")
    nleaf = locs.w.astype(np.intp)  # every incident a leaf (the "exact" regime)
    nn = max(2 * min_samples, 16)  # hdbscan's default n_neighbors
    graph, _ = dbmod._leaf_graph(locs.x, locs.y, locs.w, nleaf, min_samples, nn, 1)
    assert graph.shape == (len(xy), len(xy))
    mine = np.sort(minimum_spanning_tree(graph).data)
    mine[mine == dbmod._TINY] = 0.0
    theirs = np.sort(ref._single_linkage_tree_["value"])
    np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-9)


def test_hdbscan_weights_equal_repeated_points():
    rng = np.random.default_rng(8)
    xy = np.round(blobs(rng, 1500) / 10) * 10
    w = rng.integers(0, 4, len(xy))
    a = hdbscan(xy, min_cluster_size=25, min_samples=10, weights=w)
    rep = np.repeat(np.arange(len(xy)), w)
    b = hdbscan(xy[rep], min_cluster_size=25, min_samples=10)
    np.testing.assert_array_equal(a.labels[rep], b.labels)
    # a weightless point takes its location's label: noise where nothing else is
    loc_w = {}
    for (x, y), wi in zip(map(tuple, xy), w, strict=True):
        loc_w[(x, y)] = loc_w.get((x, y), 0) + wi
    empty = np.array([loc_w[tuple(p)] == 0 for p in xy])
    assert empty.any() and (a.labels[empty] == -1).all()


def incidents_per_cluster(res, weights=None):
    lab = res.labels
    w = np.ones(len(lab)) if weights is None else weights
    return np.bincount(lab[lab >= 0], weights=w[lab >= 0])


def test_hdbscan_capped_regime_keeps_the_size_test():
    """Capping a heavy location's leaves keeps 'is this side big enough' exact: every
    cluster still holds min_cluster_size incidents."""
    rng = np.random.default_rng(4)
    xy = np.round(blobs(rng, 20_000, n_blobs=12) / 25) * 25
    counts = np.unique(xy, axis=0, return_counts=True)[1]
    budget = int((np.minimum(counts, 40).sum() + len(xy)) // 2)
    assert np.minimum(counts, 40).sum() <= budget < len(xy)
    res = hdbscan(xy, min_cluster_size=40, min_samples=10, max_leaves=budget)
    assert res.params["mode"] == "capped" and res.params["leaf_cap"] >= 40
    assert res.params["n_leaves"] <= budget
    assert res.n_clusters >= 6
    assert incidents_per_cluster(res).min() >= 40
    leaf = hdbscan(
        xy, min_cluster_size=40, min_samples=10, max_leaves=budget, cluster_selection_method="leaf"
    )
    assert incidents_per_cluster(leaf).min() >= 40


def test_hdbscan_places_regime_finds_planted_blobs():
    rng = np.random.default_rng(9)
    centres = np.array([[0.0, 0.0], [3000.0, 0.0], [0.0, 3000.0], [3000.0, 3000.0]])
    xy = np.vstack(
        [c + rng.normal(0, 60, (5000, 2)) for c in centres]
        + [rng.uniform(-1000, 4000, (10_000, 2))]
    )
    res = hdbscan(xy, min_cluster_size=200, min_samples=20, max_leaves=6000)
    assert res.params["mode"] == "places" and res.params["n_leaves"] <= 6000 * 1.1
    # each planted blob is (mostly) one cluster of its own
    for i in range(4):
        lab = res.labels[i * 5000 : (i + 1) * 5000]
        top = np.bincount(lab[lab >= 0]).argmax()
        assert (lab == top).mean() > 0.8
    tops = {np.bincount(res.labels[i * 5000 : (i + 1) * 5000].clip(0)).argmax() for i in range(4)}
    assert len(tops) == 4
    # scikit-learn on these raw points (7 s) leaves 63 % of the background as noise; the
    # places approximation must leave a good part of it too
    assert (res.labels[20_000:] < 0).mean() > 0.4


def test_hdbscan_small_and_degenerate_inputs():
    same = hdbscan(np.full((30, 2), 10.0), min_cluster_size=5)
    assert same.labels.shape == (30,) and len(set(same.labels.tolist())) == 1
    line = np.column_stack([np.arange(100.0), np.zeros(100)])
    assert hdbscan(line, min_cluster_size=10).labels.shape == (100,)
    two = hdbscan(np.array([[0.0, 0.0], [1.0, 1.0]]), min_cluster_size=2, min_samples=1)
    assert two.labels.shape == (2,)


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"min_cluster_size": 1}, ValidationError, r"min_cluster_size=1; expected >= 2"),
        ({"min_cluster_size": 5.5}, ValidationError, "expected a whole number"),
        ({"min_cluster_size": 5, "min_samples": 0}, ValidationError, "min_samples=0"),
        ({"min_cluster_size": 5, "min_samples": 50}, ValidationError, "only 20 incidents"),
        ({"min_cluster_size": 5, "weights": np.full(20, 0.5)}, ValidationError, "fractional"),
        ({"min_cluster_size": 5, "weights": np.zeros(20)}, EmptyInputError, "weight 0"),
        (
            {"min_cluster_size": 5, "cluster_selection_method": "best"},
            OptionError,
            "'eom', 'leaf'",
        ),
    ],
)
def test_hdbscan_bad_inputs(kwargs, err, match):
    xy = np.random.default_rng(0).uniform(0, 100, (20, 2))
    with pytest.raises(err, match=match):
        hdbscan(xy, **kwargs)


def test_hdbscan_empty_and_nan():
    with pytest.raises(EmptyInputError):
        hdbscan(np.empty((0, 2)), min_cluster_size=5)
    with pytest.raises(ValidationError, match="NaN"):
        hdbscan(np.array([[0.0, np.nan], [1.0, 1.0]]), min_cluster_size=2)
