"""Tests for beatplan.hotspots.grid: binning, default cell size, disc kernels and the study
region."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from beatplan.geo.errors import EmptyInputError, ValidationError
from beatplan.hotspots.grid import (
    Grid,
    default_cell,
    disc_offsets,
    distinct_locations,
    neighbour_scale,
    nice_round,
    study_mask,
)


def test_nice_round_picks_nearest_in_log_space():
    assert nice_round(80.3) == 100.0
    assert nice_round(29.4) == 25.0
    assert nice_round(1.4) == 1.0
    assert nice_round(3.3) == 2.5
    assert nice_round(4.0) == 5.0
    with pytest.raises(ValueError, match="positive"):
        nice_round(0.0)


def test_covering_snaps_origin_to_cell_multiples():
    g = Grid.covering((123.0, 456.0, 1234.0, 987.0), 100.0)
    assert (g.x0, g.y0) == (100.0, 400.0)
    assert g.bounds[2] > 1234.0 and g.bounds[3] > 987.0
    g2 = Grid.covering((150.0, 420.0, 400.0, 500.0), 100.0)
    assert (g2.x0 - g.x0) % 100 == 0 and (g2.y0 - g.y0) % 100 == 0


def test_covering_refuses_huge_grids_with_advice():
    with pytest.raises(ValidationError, match="larger cell"):
        Grid.covering((0, 0, 100_000, 100_000), 10.0, max_cells=1000)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-5000, 5000), st.floats(-5000, 5000)), min_size=1, max_size=200),
    st.sampled_from([7.0, 25.0, 100.0, 333.0]),
)
def test_count_keeps_every_point_and_locate_is_consistent(pts, cell):
    xy = np.array(pts, dtype=float)
    g = Grid.covering((*xy.min(axis=0), *xy.max(axis=0)), cell)
    counts = g.count(xy)
    assert counts.sum() == len(xy)  # nothing lost
    flat = g.locate(xy)
    assert (flat >= 0).all()
    row, col = np.divmod(flat, g.nx)
    # each point lies inside the box of its cell (up to floating-point rounding)
    tol = 1e-9 * cell
    x_lo, y_lo = g.x0 + col * cell, g.y0 + row * cell
    assert ((xy[:, 0] >= x_lo - tol) & (xy[:, 0] <= x_lo + cell + tol)).all()
    assert ((xy[:, 1] >= y_lo - tol) & (xy[:, 1] <= y_lo + cell + tol)).all()
    assert np.allclose(shapely.bounds(g.boxes(flat))[:, :2], np.c_[x_lo, y_lo])
    assert ((row >= 0) & (row < g.ny) & (col >= 0) & (col < g.nx)).all()


def test_count_weights_and_points_off_grid():
    g = Grid(0.0, 0.0, 10.0, 3, 2)
    xy = np.array([[5, 5], [15, 5], [15, 6], [-1, 0], [5, 25]], dtype=float)
    assert g.locate(xy).tolist() == [0, 1, 1, -1, -1]
    w = np.array([1.0, 2.0, 0.5, 9.0, 9.0])
    assert g.count(xy, w).tolist() == [[1.0, 2.5, 0.0], [0.0, 0.0, 0.0]]


def test_distinct_locations_roundtrip():
    xy = np.array([[1, 1], [2, 2], [1, 1], [1, 1]], dtype=float)
    u, inv, cnt = distinct_locations(xy)
    assert (u[inv] == xy).all()
    assert cnt.sum() == len(xy) and sorted(cnt.tolist()) == [1, 3]


def test_default_cell_rule_and_reason():
    rng = np.random.default_rng(0)
    # a square lattice with 80 m spacing: nearest neighbour 80 m -> 100 m cells
    g = np.stack(np.meshgrid(np.arange(20) * 80.0, np.arange(20) * 80.0), -1).reshape(-1, 2)
    xy = np.repeat(g, rng.integers(1, 5, len(g)), axis=0)  # stacked (snapped) incidents
    cell, reason = default_cell(xy)
    assert cell == 100.0
    assert "400 distinct" in reason and "80" in reason


def test_default_cell_grows_to_respect_max_cells():
    xy = np.r_[np.c_[np.arange(200) * 10.0, np.zeros(200)], [[100_000.0, 100_000.0]]]
    assert default_cell(xy[:200])[0] == 10.0
    cell, reason = default_cell(xy, max_cells=10_000)
    assert (100_000 / cell + 2) ** 2 <= 10_000
    assert "enlarged" in reason


def test_default_cell_needs_two_locations():
    with pytest.raises(EmptyInputError, match=r"^default_cell: .*fewer than 2 distinct.*cell="):
        default_cell(np.zeros((5, 2)))
    with pytest.raises(EmptyInputError, match=r"^neighbour_scale: .*fewer than 2 distinct"):
        neighbour_scale(np.ones((3, 2)))


def test_disc_offsets_includes_exact_lattice_distances():
    k = disc_offsets(200.0, 100.0)
    assert k.shape == (5, 5)
    assert k[2, 0] and k[0, 2] and not k[0, 0]  # (0, 2) is exactly 200 m away
    assert int(k.sum()) == 13
    assert int(disc_offsets(99.0, 100.0).sum()) == 1
    assert int(disc_offsets(150.0, 100.0).sum()) == 9


def test_study_mask_area_and_reach():
    g = Grid(0.0, 0.0, 100.0, 10, 10)
    area = shapely.box(0, 0, 500, 1000)
    occ = np.zeros(g.shape, bool)
    occ[5, 8] = True  # outside the area: still studied, it holds incidents
    m = study_mask(g, area=area, occupied=occ)
    assert m[:, :5].all() and not m[:, 5:7].any() and m[5, 8]
    m2 = study_mask(g, occupied=occ, reach=150.0)
    assert int(m2.sum()) == 9 and m2[4:7, 7:10].all()


@pytest.mark.parametrize("connectivity", [4, 8])
@pytest.mark.parametrize("seed", range(4))
def test_cell_polygons_are_each_components_coverage_union(seed, connectivity):
    """One vectorised union gives, byte for byte, coverage_union_all of each component's cells.

    Random masks hold rings (holes), cells touching only at a corner (a MultiPolygon under
    8-connectivity) and single cells; with min_incidents some components are left out.
    """
    from scipy import ndimage

    from beatplan.hotspots.grid import Grid
    from beatplan.hotspots.result import cell_polygons

    rng = np.random.default_rng(seed)
    hot = rng.random((30, 40)) < 0.35
    hot[2:7, 2:7] = True
    hot[3:6, 3:6] = False  # a ring of cells around a hole
    hot[4, 4] = True  # ... with an island in it
    hot[20, 30] = hot[21, 31] = True  # corner to corner
    grid = Grid(1000.0, 2000.0, 50.0, 40, 30)
    counts = rng.integers(0, 3, hot.shape).astype(float)
    comp, polys = cell_polygons(grid, hot, connectivity=connectivity, counts=counts,
                                min_incidents=3)  # fmt: skip
    structure = ndimage.generate_binary_structure(2, 1 if connectivity == 4 else 2)
    labelled, k = ndimage.label(hot, structure=structure)
    assert np.array_equal(comp, labelled)
    per = np.bincount(labelled.ravel(), weights=counts.ravel(), minlength=k + 1)
    assert sorted(polys) == [c for c in range(1, k + 1) if per[c] >= 3]
    for c, geom in polys.items():
        cells = np.flatnonzero(labelled.ravel() == c)
        expected = shapely.coverage_union_all(grid.boxes(cells))
        assert shapely.to_wkb(geom) == shapely.to_wkb(expected), c
        assert geom.area == pytest.approx(len(cells) * 2500.0)
    # counts per cell and the incidents' cells give the same components
    flat = np.repeat(np.arange(hot.size), counts.ravel().astype(int))
    assert (
        cell_polygons(grid, hot, connectivity=connectivity, flat=flat, min_incidents=3)[1].keys()
        == polys.keys()
    )


def test_locate_edges_and_off_grid_points_with_or_without_nan():
    """The right/top edges belong to the last cell; NaN and outside points are -1, mixed or not."""
    from beatplan.hotspots.grid import Grid

    g = Grid(0.0, 0.0, 10.0, 3, 3)
    pts = np.array([[30.0, 30.0], [5.0, 5.0], [30.0, 0.0], [-1.0, 5.0], [5.0, 30.1]])
    expected = [8, 0, 2, -1, -1]
    assert g.locate(pts).tolist() == expected
    with_nan = np.vstack([pts, [[np.nan, 5.0]]])
    assert g.locate(with_nan).tolist() == [*expected, -1]
    inside = pts[:3]  # every point on the grid: the unmasked path
    assert g.locate(inside).tolist() == expected[:3]
    assert g.locate(np.asfortranarray(inside)).tolist() == expected[:3]
    assert g.locate(np.empty((0, 2))).tolist() == []
