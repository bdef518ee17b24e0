"""Tests for beatplan.hotspots.kde: kernel weights, the density surface, bandwidth rules,
thresholds."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from beatplan.geo.errors import EmptyInputError, OptionError, ValidationError
from beatplan.hotspots.kde import default_bandwidth, hot_cells, kde_surface, kernel_weights


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize(
    ("h", "cell"), [(250.0, 100.0), (60.0, 50.0), (30.0, 100.0), (900.0, 25.0)]
)
def test_kernel_weights_sum_to_one_and_are_symmetric(kernel, h, cell):
    w = kernel_weights(h, cell, kernel)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(w, w[::-1]) and np.allclose(w, w.T)
    assert (w >= 0).all()
    centre = w.shape[0] // 2
    assert w[centre, centre] == w.max()


def test_quartic_reaches_exactly_the_bandwidth():
    w = kernel_weights(250.0, 100.0)
    assert w.shape == (5, 5)  # 2 cells each side: 200 m < 250 m < 300 m
    assert w[2, 0] > 0 and w[0, 0] == 0  # (200, 0) inside; (200, 200) = 283 m outside


def test_surface_integrates_to_the_counts_away_from_edges():
    rng = np.random.default_rng(1)
    c = np.zeros((200, 220))
    c[50:150, 60:160] = rng.poisson(0.5, (100, 100))
    for h in (150.0, 2000.0):  # small kernel (direct) and large one (FFT)
        d = kde_surface(c, cell=50.0, bandwidth=h)
        assert d.sum() * (50.0 * 50.0) / 1e6 == pytest.approx(c.sum(), rel=1e-9)
        assert (d >= 0).all()


def test_fft_path_is_exactly_zero_beyond_reach_and_matches_direct():
    c = np.zeros((300, 300))
    c[150, 150] = 7.0
    c[40, 260] = 2.0
    big = kde_surface(c, cell=10.0, bandwidth=200.0)  # 41 x 41 kernel: FFT path
    w = kernel_weights(200.0, 10.0)
    direct = ndimage.correlate(c, w, mode="constant") * (1e6 / 100.0)
    np.testing.assert_allclose(big, direct, rtol=1e-9, atol=1e-9)
    far = np.ones_like(c, bool)
    far[130:171, 130:171] = False
    far[20:61, 240:281] = False
    assert (big[far] == 0).all()


def test_bandwidth_rules():
    rng = np.random.default_rng(4)
    lattice = np.stack(np.meshgrid(np.arange(30) * 50.0, np.arange(30) * 50.0), -1).reshape(-1, 2)
    h, reason = default_bandwidth(lattice, rule="nn")
    # on a 50 m lattice an inner point's 8 nearest are 4 at 50 m and 4 at 70.7 m
    assert h == 71.0
    assert "8th nearest" in reason
    h_cell, reason_cell = default_bandwidth(lattice, rule="nn", cell=250.0)
    assert h_cell == 250.0 and "raised to one cell" in reason_cell
    xy = rng.normal(0, 1000, (5000, 2))
    hs, why = default_bandwidth(xy, rule="silverman")
    sd = math.sqrt((np.hypot(*(xy - xy.mean(0)).T) ** 2).mean())
    dm = float(np.median(np.hypot(*(xy - xy.mean(0)).T)))
    expected = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * 5000**-0.2
    assert hs == pytest.approx(round(expected))
    assert "Silverman" in why
    with pytest.raises(OptionError, match="'nn', 'silverman'"):
        default_bandwidth(xy, rule="scott")
    with pytest.raises(EmptyInputError, match=r"^default_bandwidth: .*2 distinct.*bandwidth="):
        default_bandwidth(np.zeros((4, 2)))


def test_hot_cells_by_multiple_of_mean_and_by_top_share():
    d = np.zeros((10, 10))
    d[0, :5] = [100, 50, 40, 30, 1]
    mask = np.ones_like(d, bool)
    hot, value, reason = hot_cells(d, mask, threshold=3.0)
    mean = d.mean()  # 2.21
    assert value == pytest.approx(3 * mean)
    assert hot.sum() == 4 and not hot[0, 4]
    assert "3 x the mean" in reason
    hot2, v2, r2 = hot_cells(d, mask, top=0.02)
    assert hot2.sum() == 2 and hot2[0, 0] and hot2[0, 1]
    assert "2.00%" in r2
    # the mean is taken over the study region only
    m3 = np.zeros_like(mask)
    m3[0, :] = True
    hot3, v3, _ = hot_cells(d, m3, threshold=1.5)
    assert v3 == pytest.approx(1.5 * d[0].mean())
    assert not hot3[1:].any()
    with pytest.raises(ValidationError, match="top"):
        hot_cells(d, mask, top=1.5)
    with pytest.raises(ValidationError, match="threshold"):
        hot_cells(d, mask, threshold=0)
    with pytest.raises(EmptyInputError):
        hot_cells(d, np.zeros_like(mask))


def test_kernel_option_checked():
    with pytest.raises(OptionError, match="quartic"):
        kernel_weights(100.0, 10.0, "epanechnikov")
    with pytest.raises(ValidationError, match="positive"):
        kernel_weights(-5.0, 10.0)
