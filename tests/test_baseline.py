"""Tests for beatplan.hotspots.baseline: cells ranked until an area or a count, ties shared, and
the 100 m cells' areas inside the study area."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from beatplan.hotspots.baseline import CellAreas, rank_cells, ranked_hits
from beatplan.hotspots.study_area import StudyArea


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


def test_ranked_hits_by_area_shares_the_tie_at_the_cut_off():
    rank = np.array([9.0, 4.0, 4.0, 4.0, 1.0, 7.0])
    hits = np.array([3.0, 2.0, 4.0, 0.0, 5.0, 1.0])
    area = np.array([100.0, 100.0, 50.0, 50.0, 100.0, 0.0])  # the last cell has no area
    assert ranked_hits(rank, hits, area, 100.0) == 3.0
    # the tied group (200 m²) is half taken: half of its 6 hits
    assert ranked_hits(rank, hits, area, 200.0) == pytest.approx(3.0 + 0.5 * 6.0)
    assert ranked_hits(rank, hits, area, 300.0) == pytest.approx(9.0)
    assert ranked_hits(rank, hits, area, 1e9) == 14.0  # never the cell without area
    assert ranked_hits(rank, hits, area, 0.0) == 0.0


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_ranked_hits_is_monotone_and_never_beats_the_oracle(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 50))
    rank = rng.integers(0, 3, n).astype(float)
    hits = rng.integers(0, 6, n).astype(float)
    area = rng.choice([0.0, 50.0, 100.0], n)
    targets = np.linspace(0, area.sum() * 1.1, 12)
    got = [ranked_hits(rank, hits, area, t) for t in targets]
    assert all(b >= a - 1e-9 for a, b in zip(got, got[1:], strict=False))
    oracle = [ranked_hits(hits / np.maximum(area, 1e-9), hits, area, t) for t in targets]
    assert all(g <= o + 1e-9 for g, o in zip(got, oracle, strict=True))


def test_cell_areas_clip_cells_to_the_study_area():
    triangle = StudyArea(shapely.Polygon([(0, 0), (1000, 0), (0, 1000)]), "given")
    cells = CellAreas.over(triangle, 100.0)
    assert cells.grid.shape == (10, 10)
    assert cells.area.sum() == pytest.approx(triangle.area_m2, rel=0.01)
    whole = cells.area.reshape(10, 10)
    assert whole[0, 0] == 10_000.0 and whole[9, 9] == 0.0
    assert 0 < whole[0, 9] < 10_000.0  # on the diagonal
    xy = np.array([[50.0, 50.0], [50.0, 60.0], [950.0, 20.0], [5000.0, 5000.0]])
    assert cells.counts(xy).sum() == 3  # off the grid: ignored
