"""Tests for beatplan.hotspots.gistar: disc sums, BH FDR, and agreement with PySAL esda's
G_Local."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from scipy.stats import false_discovery_control, poisson

from beatplan.geo.errors import EmptyInputError, ValidationError
from beatplan.hotspots.gistar import (
    above_background,
    bh_reject,
    disc_sum,
    disc_sum_at,
    fdr_bh,
    gi_star,
)
from beatplan.hotspots.grid import Grid, disc_offsets


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(1, 12),
    st.floats(0.0, 4.5),
    st.integers(0, 2**31 - 1),
)
def test_disc_sum_equals_direct_correlation(ny, nx, radius, seed):
    rng = np.random.default_rng(seed)
    v = rng.poisson(2.0, (ny, nx)).astype(float)
    k = disc_offsets(radius, 1.0)
    expected = ndimage.correlate(v, k.astype(float), mode="constant", cval=0.0)
    assert np.array_equal(disc_sum(v, k), expected)
    w = rng.random((ny, nx))  # float path
    np.testing.assert_allclose(
        disc_sum(w, k), ndimage.correlate(w, k.astype(float), mode="constant"), atol=1e-12
    )
    cells = rng.choice(ny * nx, size=min(5, ny * nx), replace=False)  # the sparse version
    np.testing.assert_allclose(disc_sum_at(v, k, cells), expected.ravel()[cells], atol=1e-9)


def test_fdr_bh_matches_scipy():
    rng = np.random.default_rng(3)
    p = np.r_[rng.uniform(0, 0.002, 30), rng.uniform(0, 1, 500)]
    reject, q = fdr_bh(p, 0.05)
    np.testing.assert_allclose(q, false_discovery_control(p, method="bh"), rtol=1e-12)
    assert np.array_equal(reject, false_discovery_control(p, method="bh") <= 0.05)
    p2 = p.copy()
    p2[:5] = np.nan
    r2, q2 = fdr_bh(p2, 0.05)
    assert np.isnan(q2[:5]).all() and not r2[:5].any()
    # m= counts untested hypotheses as p = 1: the same as passing those ones explicitly
    r3, q3 = fdr_bh(p2, 0.05, m=len(p2))
    ones = np.where(np.isnan(p2), 1.0, p2)
    np.testing.assert_allclose(q3[5:], false_discovery_control(ones, method="bh")[5:], rtol=1e-12)
    assert r3.sum() <= r2.sum()
    with pytest.raises(ValueError, match="fewer than"):
        fdr_bh(p, 0.05, m=3)


@pytest.mark.parametrize("seed", range(6))
def test_bh_reject_is_fdr_bh_s_discoveries(seed):
    """The candidates-only sort gives exactly fdr_bh's discoveries: ties, NaN, m=, near alpha."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 4000))
    alpha = 0.05
    pool = np.r_[rng.uniform(0, 2 * alpha, 40), alpha, np.nextafter(alpha, 1),
                 np.nextafter(alpha, 0), 0.0, 1.0]  # fmt: skip
    p = rng.choice(pool, n)  # many ties, values on and beside alpha
    if seed % 2:
        p[rng.random(n) < 0.3] = np.nan
    p = p.reshape(-1, 2) if n % 2 == 0 and seed % 3 == 0 else p
    valid = int(np.count_nonzero(~np.isnan(p)))
    for m in (None, valid, valid * 3 + 7):
        expected = fdr_bh(p, alpha, m=m)[0]
        assert np.array_equal(bh_reject(p, alpha, m=m), expected), m
    assert bh_reject(np.full(5, np.nan), alpha).sum() == 0
    with pytest.raises(ValueError, match="fewer than"):
        bh_reject(np.zeros(5), alpha, m=3)


def test_gistar_q_is_fdr_bh_of_p():
    rng = np.random.default_rng(0)
    v = rng.poisson(1.0, (40, 50)).astype(float)
    v[10:13, 20:24] += 9
    g = gi_star(v, cell=100.0, band=150.0)
    reject, q = fdr_bh(g.p, 0.05)
    np.testing.assert_array_equal(g.q, q)
    assert np.array_equal(g.hot | g.cold, reject) and g.hot.any()
    off = gi_star(v, cell=100.0, band=150.0, fdr=False)
    np.testing.assert_array_equal(off.q, off.p)


def _esda(values, mask, cell, band):
    libpysal = pytest.importorskip("libpysal")
    esda = pytest.importorskip("esda")
    grid = Grid(0.0, 0.0, cell, values.shape[1], values.shape[0])
    xs, ys = grid.centres()
    pts = np.c_[xs[mask], ys[mask]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = libpysal.weights.DistanceBand(pts, threshold=band, binary=True, silence_warnings=True)
        g = esda.getisord.G_Local(values[mask], w, transform="B", star=True, permutations=0)
    return g


@pytest.mark.parametrize("band", [150.0, 250.0, 420.0])
def test_gistar_agrees_with_esda(band):
    rng = np.random.default_rng(7)
    ny, nx, cell = 45, 60, 100.0
    v = rng.poisson(0.4, (ny, nx)).astype(float)
    v[10:14, 20:25] += rng.poisson(5, (4, 5))
    v[30:33, 40:42] += 8
    mask = np.ones((ny, nx), bool)
    mask[:6, :9] = False  # an irregular study region: edges and a notch
    mask[40:, 50:] = False
    ours = gi_star(v, cell=cell, band=band, mask=mask)
    ref = _esda(v, mask, cell, band)
    # the same neighbours
    np.testing.assert_array_equal(
        ours.cardinality[mask], np.asarray(ref.w.sparse.sum(axis=1)).ravel()
    )
    np.testing.assert_allclose(ours.z[mask], ref.Zs, rtol=0, atol=1e-9)
    assert np.isnan(ours.z[~mask]).all()
    # the same significant cells: BH on esda's (two-sided) p-values
    p_ref = 2 * ref.p_norm
    sig_ref = false_discovery_control(p_ref, method="bh") <= 0.05
    assert np.array_equal(ours.hot[mask], sig_ref & (ref.Zs > 0))
    assert np.array_equal(ours.cold[mask], sig_ref & (ref.Zs < 0))
    assert ours.hot[11, 22]  # the planted cluster is found
    assert ours.n == int(mask.sum())


def test_gistar_permutations_seeded_and_close_to_analytic():
    rng = np.random.default_rng(11)
    v = rng.poisson(0.5, (40, 40)).astype(float)
    v[15:19, 15:19] += 7
    a = gi_star(v, cell=50.0, band=80.0, permutations=4999, seed=5)
    b = gi_star(v, cell=50.0, band=80.0, permutations=4999, seed=5)
    c = gi_star(v, cell=50.0, band=80.0, permutations=4999, seed=6)
    assert np.array_equal(a.p_sim, b.p_sim)
    assert not np.array_equal(a.p_sim, c.p_sim)
    assert a.p_sim is not None
    assert (a.p_sim >= 2 / 5000 - 1e-15).all() and (a.p_sim <= 1).all()
    # the planted block is significant with both p-values; most cells agree
    assert a.hot[16, 16]
    agree = (a.hot == gi_star(v, cell=50.0, band=80.0).hot).mean()
    assert agree > 0.97


def test_gistar_without_fdr_tests_each_cell_at_alpha():
    rng = np.random.default_rng(2)
    v = rng.poisson(1.0, (30, 30)).astype(float)
    raw = gi_star(v, cell=10.0, band=15.0, fdr=False)
    fdr = gi_star(v, cell=10.0, band=15.0, fdr=True)
    # pure noise: a per-cell test finds some "hotspots", FDR control almost none
    assert (raw.hot | raw.cold).sum() >= (fdr.hot | fdr.cold).sum()
    assert (raw.hot | raw.cold).sum() == int((raw.p_norm <= 0.05).sum())


def test_gistar_bad_inputs():
    v = np.ones((5, 5))
    with pytest.raises(ValidationError, match="has the value 1"):
        gi_star(v, cell=10.0, band=15.0)
    with pytest.raises(EmptyInputError, match="at least 2"):
        gi_star(np.arange(25.0).reshape(5, 5), cell=10.0, band=15.0, mask=np.zeros((5, 5), bool))
    with pytest.raises(ValidationError, match="alpha"):
        gi_star(np.arange(25.0).reshape(5, 5), cell=10.0, band=15.0, alpha=1.5)
    with pytest.raises(ValidationError, match="cell"):
        gi_star(np.arange(25.0).reshape(5, 5), cell=-1.0, band=15.0)
    with pytest.raises(ValidationError, match="2-D"):
        gi_star(np.arange(5.0), cell=10.0, band=15.0)


def test_above_background_is_the_poisson_tail_over_the_ring():
    rng = np.random.default_rng(3)
    v = rng.poisson(2.0, (25, 30)).astype(float)
    v[12, 15] = 40.0
    mask = np.ones(v.shape, bool)
    mask[:3, :] = False  # left out of both sums
    p = above_background(v, cell=100.0, band=150.0, ring=450.0, mask=mask)
    # direct: for each cell, the neighbours within 150 m and the ring out to 450 m
    ys, xs = np.nonzero(mask)
    for i, j in [(12, 15), (20, 5), (3, 0), (24, 29), (10, 14)]:
        d = np.hypot(ys - i, xs - j) * 100.0
        near, ring = d <= 150.0 + 1e-6, (d > 150.0 + 1e-6) & (d <= 450.0 + 1e-6)
        local = v[ys[near], xs[near]].sum()
        expected = near.sum() * v[ys[ring], xs[ring]].mean()
        assert p[i, j] == pytest.approx(poisson.sf(local - 1, expected), rel=1e-9), (i, j)
    assert np.isnan(p[~mask]).all()
    at = np.zeros(v.shape, bool)
    at[10:14, 13:17] = True
    p_at = above_background(v, cell=100.0, band=150.0, ring=450.0, mask=mask, at=at)
    np.testing.assert_allclose(p_at[at], p[at], rtol=1e-12)
    assert np.isnan(p_at[~at]).all()
    assert p[12, 15] < 1e-6  # the planted cell stands out from its ring (40 among ~2s)
    with pytest.raises(ValidationError, match="beyond band"):
        above_background(v, cell=100.0, band=150.0, ring=100.0)


@pytest.mark.realdata
def test_gistar_agrees_with_esda_on_leicester_counts(shared_data):
    """Real counts: 100 m cells over 12 x 12 km of Leicester, a 250 m band."""
    from beatplan.geo import read_incidents

    inc = read_incidents(shared_data / "leicestershire_street_crime")
    xy = np.c_[inc.points.geometry.x, inc.points.geometry.y]
    grid = Grid(452_000.0, 298_000.0, 100.0, 120, 120)  # around Leicester city centre
    counts = grid.count(xy)
    assert counts.sum() > 40_000
    mask = np.ones(grid.shape, bool)
    ours = gi_star(counts, cell=100.0, band=250.0, mask=mask)
    ref = _esda(counts, mask, 100.0, 250.0)
    np.testing.assert_allclose(ours.z.ravel(), ref.Zs, rtol=0, atol=1e-9)
    sig = false_discovery_control(2 * ref.p_norm, method="bh") <= 0.05
    assert np.array_equal(ours.hot.ravel(), sig & (ref.Zs > 0))
    assert ours.hot.sum() > 100
