"""Tests for beatplan.boundaries.demand: point location, weights, demand per area and per level."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box

from beatplan.boundaries.demand import (
    HARM_WEIGHTS,
    area_demand,
    incident_weights,
    level_demand,
    locate_xy,
    point_xy,
)
from beatplan.geo.errors import ColumnNotFoundError, CRSError, GeometryError
from beatplan.geo.sample import CRIME_TYPES

X0, Y0 = 450_000.0, 300_000.0
C = 1000.0

#: The 14 police.uk crime types (the sample county's canonical list).
POLICE_UK_TYPES = set(CRIME_TYPES)


def tessellation(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = shapely.box(X0, Y0, X0 + 10 * C, Y0 + 10 * C)
    pts = shapely.multipoints(rng.uniform((X0, Y0), (X0 + 10 * C, Y0 + 10 * C), (n, 2)))
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=frame))
    return np.asarray(shapely.intersection(cells, frame))


def reference_locate(polys: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """STRtree + intersects, first polygon by position: the rule locate_xy promises."""
    tree = shapely.STRtree(polys)
    pi, gi = tree.query(shapely.points(x, y), predicate="intersects")
    out = np.full(len(x), -1)
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]]
    out[pi[first]] = gi[first]
    return out


def grid_layer() -> gpd.GeoDataFrame:
    geoms = [box(X0 + i * C, Y0, X0 + (i + 1) * C, Y0 + C) for i in range(3)]
    return gpd.GeoDataFrame({"id": ["A", "B", "C"]}, geometry=geoms, crs=27700)


# --------------------------------------------------------------------------------- locate
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_locate_xy_matches_reference(seed: int) -> None:
    polys = tessellation(60, seed)
    rng = np.random.default_rng(seed + 10)
    xy = rng.uniform((X0 - 2 * C, Y0 - 2 * C), (X0 + 12 * C, Y0 + 12 * C), (20_000, 2))
    # points exactly on vertices and edges, and NaN
    verts = shapely.get_coordinates(polys[:5])
    xy = np.vstack([xy, verts, [[np.nan, Y0]]])
    got = locate_xy(polys, xy[:, 0], xy[:, 1])
    ref = reference_locate(polys, xy[:, 0], xy[:, 1])
    ref[-1] = -1
    np.testing.assert_array_equal(got, ref)
    assert (got[: len(verts)] >= -1).all()


def test_locate_xy_shared_edge_goes_to_first_polygon() -> None:
    layer = grid_layer()
    got = locate_xy(
        layer.geometry.values, np.array([X0 + C, X0 + 2 * C]), np.array([Y0 + 5, Y0 + 5])
    )
    assert got.tolist() == [0, 1]


def test_locate_xy_stacked_points_located_once_same_answer() -> None:
    polys = tessellation(40, 5)
    rng = np.random.default_rng(7)
    sites = rng.uniform((X0, Y0), (X0 + 10 * C, Y0 + 10 * C), (300, 2))
    xy = sites[rng.integers(0, len(sites), 5000)]  # police.uk style: many incidents per point
    got = locate_xy(polys, xy[:, 0], xy[:, 1])
    np.testing.assert_array_equal(got, reference_locate(polys, xy[:, 0], xy[:, 1]))


def test_locate_xy_empty_inputs() -> None:
    assert locate_xy([], np.array([1.0]), np.array([1.0])).tolist() == [-1]
    assert locate_xy(grid_layer().geometry.values, np.array([]), np.array([])).tolist() == []


# ---------------------------------------------------------------------------------- points
def test_point_xy_reprojects_and_rejects_non_points() -> None:
    p = gpd.GeoDataFrame(geometry=[shapely.Point(-1.13, 52.63), None], crs=4326)
    x, y = point_xy(p, crs=27700)
    assert 458_000 < x[0] < 460_000 and 303_000 < y[0] < 306_000
    assert np.isnan(x[1])
    with pytest.raises(CRSError, match="no CRS"):
        point_xy(p.set_crs(None, allow_override=True), crs=27700)
    with pytest.raises(GeometryError, match="not points"):
        point_xy(grid_layer())


# --------------------------------------------------------------------------------- weights
def test_harm_table_covers_police_uk_types() -> None:
    assert set(HARM_WEIGHTS) == POLICE_UK_TYPES
    assert all(v > 0 for v in HARM_WEIGHTS.values())
    assert HARM_WEIGHTS["Robbery"] > HARM_WEIGHTS["Shoplifting"]


def test_incident_weights(caplog: pytest.LogCaptureFixture) -> None:
    df = pd.DataFrame({"category": ["Robbery", "Burglary", "Made up"], "population": [10, None, 3]})
    assert incident_weights(df).tolist() == [1.0, 1.0, 1.0]
    assert incident_weights(df, "population").tolist() == [10.0, 0.0, 3.0]
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        w = incident_weights(df, "harm", default=2.0)
    assert w.tolist() == [365.0, 40.0, 2.0]
    assert "Made up" in caplog.text
    assert incident_weights(df, {"Robbery": 5}).tolist() == [5.0, 1.0, 1.0]
    with pytest.raises(ColumnNotFoundError, match="weights='people'"):
        incident_weights(df, "people")
    with pytest.raises(ColumnNotFoundError, match="no 'crime' column"):
        incident_weights(df, "harm", category="crime")


# ---------------------------------------------------------------------------------- demand
def make_points(n: int, seed: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.uniform((X0 - 500, Y0 - 200), (X0 + 3 * C, Y0 + C), (n, 2))
    cats = rng.choice(sorted(POLICE_UK_TYPES), n)
    return gpd.GeoDataFrame({"category": cats}, geometry=shapely.points(xy), crs=27700)


def test_area_demand_counts_add_up_and_deviation() -> None:
    layer = grid_layer()
    pts = make_points(3000, 1)
    pts.loc[0, "geometry"] = None
    d = area_demand(pts.to_crs(4326), layer)  # reprojected to the areas' CRS
    assert d["id"].tolist() == ["A", "B", "C"]
    assert d["incidents"].sum() + d.attrs["outside"] + d.attrs["unlocated"] == len(pts)
    assert d.attrs["unlocated"] == 1
    assert d["deviation"].sum() == pytest.approx(0.0, abs=1e-9)
    assert d["share"].sum() == pytest.approx(1.0)
    ref = gpd.sjoin(pts.dropna(subset=["geometry"]), layer, predicate="within")["id"].value_counts()
    assert d.set_index("id")["incidents"].to_dict() == ref.reindex(["A", "B", "C"]).to_dict()
    mean = d["demand"].mean()
    np.testing.assert_allclose(d["deviation_pct"], 100 * (d["demand"] / mean - 1))


def test_area_demand_harm_weighted() -> None:
    layer = grid_layer()
    pts = make_points(2000, 2)
    d = area_demand(pts, layer, weights="harm", level="beat")
    assert d["level"].tolist() == ["beat"] * 3
    inside = gpd.sjoin(pts, layer, predicate="within")
    ref = inside.assign(w=inside["category"].map(HARM_WEIGHTS)).groupby("id")["w"].sum()
    np.testing.assert_allclose(d.set_index("id")["demand"], ref.reindex(["A", "B", "C"]))


def test_level_demand_levels_add_up() -> None:
    layer = grid_layer()
    wards = layer.assign(beat=["B1", "B1", "B2"], npa="N1")
    pts = make_points(4000, 3)
    d = level_demand(wards, pts, levels=["beat", "npa"])
    assert d["level"].tolist() == ["beat", "beat", "npa"]
    beat = d[d["level"] == "beat"].set_index("id")
    npa = d[d["level"] == "npa"].set_index("id")
    assert beat["incidents"].sum() == npa.loc["N1", "incidents"]
    assert beat.loc["B1", "n_wards"] == 2
    assert npa.loc["N1", "deviation"] == pytest.approx(0.0)
    assert beat["deviation"].sum() == pytest.approx(0.0)
    assert npa.loc["N1", "incidents"] + d.attrs["outside"] == len(pts)
    again = level_demand(
        wards,
        pts,
        levels=["beat", "npa"],
        ward_counts=(np.array([1, 2, 3]), np.array([1.0, 2.0, 3.0])),
    )
    assert again.set_index(["level", "id"]).loc[("beat", "B1"), "demand"] == 3.0


def test_harm_weights_of_points_without_crime_types_say_so(caplog) -> None:
    import logging

    import geopandas as gpd
    import shapely

    from beatplan.boundaries.demand import incident_weights

    pts = gpd.GeoDataFrame(
        {"category": [None, None, None]}, geometry=[shapely.Point(0, 0)] * 3, crs=27700
    )
    with caplog.at_level(logging.WARNING, logger="beatplan"):
        w = incident_weights(pts, "harm")
    assert w.tolist() == [1.0, 1.0, 1.0]
    assert "have no crime type" in caplog.text and "()" not in caplog.text
