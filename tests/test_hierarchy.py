"""Tests for beatplan.boundaries.hierarchy: the ward table, layers as exact unions, nesting."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box

from beatplan.boundaries.hierarchy import build_layers, group_union, nest, ward_table
from beatplan.geo.errors import (
    ColumnNotFoundError,
    DuplicateIdError,
    EmptyInputError,
    GeometryError,
    ValidationError,
)

X0, Y0 = 450_000.0, 300_000.0  # British National Grid, near Leicester
CELL = 1000.0


def grid_wards(nx: int = 4, ny: int = 3) -> gpd.GeoDataFrame:
    """A grid of square wards ``w<col><row>`` in EPSG:27700."""
    ids, geoms = [], []
    for i in range(nx):
        for j in range(ny):
            ids.append(f"w{i}{j}")
            geoms.append(
                box(X0 + i * CELL, Y0 + j * CELL, X0 + (i + 1) * CELL, Y0 + (j + 1) * CELL)
            )
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=27700)


def with_levels() -> gpd.GeoDataFrame:
    """4x3 grid: beats are columns, sectors pairs of columns, one NPA."""
    w = grid_wards()
    col = w["id"].str[1].astype(int)
    w["beat"] = "B" + col.astype(str)
    w["sector"] = np.where(col < 2, "S1", "S2")
    w["npa"] = "N1"
    w["npa_name"] = "City"
    return w


def area_of(sym: shapely.Geometry) -> float:
    return float(shapely.area(sym))


# ------------------------------------------------------------------------------ ward_table
def test_ward_table_from_lookup_dict_and_frame() -> None:
    w = grid_wards(2, 1)
    t = ward_table(w, levels=["beat"], lookup={"beat": {"w00": "A", "w10": "B"}})
    assert t["beat"].tolist() == ["A", "B"]
    lk = pd.DataFrame({"id": ["w00", "w10"], "beat": ["A", "A"], "npa": ["N", "N"]})
    t2 = ward_table(w, levels=["beat", "npa"], lookup=lk)
    assert t2.columns.tolist()[:3] == ["id", "beat", "npa"]
    assert t2["npa"].tolist() == ["N", "N"]
    assert "beat" not in w.columns  # the caller's frame is untouched


def test_ward_table_numeric_ids_become_strings() -> None:
    w = grid_wards(2, 1).assign(id=[1713.0, 1714.0], beat=[1, 2])
    t = ward_table(w, levels=["beat"])
    assert t["id"].tolist() == ["1713", "1714"]
    assert t["beat"].tolist() == ["1", "2"]


def test_ward_table_errors() -> None:
    w = with_levels()
    with pytest.raises(EmptyInputError, match="no features"):
        ward_table(w.iloc[:0])
    with pytest.raises(ColumnNotFoundError, match="no ward id column 'code'"):
        ward_table(w, ward_id="code")
    with pytest.raises(ColumnNotFoundError, match="level.*'division'"):
        ward_table(w, levels=["beat", "division"])
    dup = w.copy()
    dup.loc[1, "id"] = "w00"
    with pytest.raises(DuplicateIdError, match="'w00' ×2"):
        ward_table(dup)
    hole = w.copy()
    hole.loc[[2, 5], "sector"] = None
    with pytest.raises(ValidationError, match="2 ward\\(s\\) belong to no sector .*: w02, w12"):
        ward_table(hole)


def test_ward_table_reports_every_problem_at_once() -> None:
    w = with_levels()
    w.loc[0, "id"] = "w01"
    w.loc[3, "beat"] = None
    w.loc[4, "geometry"] = None
    with pytest.raises(ValidationError) as err:
        ward_table(w)
    assert len(err.value.problems) == 3
    assert "w01" in err.value.problems[0]


# ----------------------------------------------------------------------------- group_union
@pytest.mark.parametrize("sizes", [[1], [1, 2, 3, 5, 17], [8, 1, 1, 1, 30]])
def test_group_union_matches_union_all(sizes: list[int]) -> None:
    n = sum(sizes)
    w = grid_wards(n, 1)
    codes = np.repeat(np.arange(len(sizes)), sizes)
    rng = np.random.default_rng(3)
    perm = rng.permutation(n)  # groups need not be contiguous in the input
    geoms = w.geometry.values[perm]
    out = group_union(np.asarray(geoms), codes, len(sizes))
    for k in range(len(sizes)):
        ref = shapely.union_all(geoms[codes == k])
        assert area_of(shapely.symmetric_difference(out[k], ref)) < 1e-6
        assert out[k].area == pytest.approx(sizes[k] * CELL * CELL)


def test_group_union_empty_group_and_non_coverage() -> None:
    w = grid_wards(2, 1)
    out = group_union(np.asarray(w.geometry.values), np.array([0, 0]), 2)
    assert out[1].is_empty
    overlapping = np.array([box(0, 0, 2, 2), box(1, 1, 3, 3)], dtype=object)
    assert group_union(overlapping, np.array([0, 0]), 1, coverage=False)[0].area == 7.0


# ---------------------------------------------------------------------------- build_layers
def test_build_layers_exact_unions_and_counts() -> None:
    w = with_levels()
    layers = build_layers(w, names={"npa": "npa_name", "sector": {"S1": "West"}})
    assert list(layers) == ["beat", "sector", "npa", "force"]
    beats = layers["beat"]
    assert beats["id"].tolist() == ["B0", "B1", "B2", "B3"]
    assert beats["n_wards"].sum() == len(w)
    assert beats["sector"].tolist() == ["S1", "S1", "S2", "S2"]
    assert (beats["npa"] == "N1").all()
    for _, row in beats.iterrows():
        ref = shapely.union_all(w.geometry[w["beat"] == row["id"]].values)
        assert area_of(shapely.symmetric_difference(row.geometry, ref)) < 1e-6
    total = float(shapely.area(w.geometry.values).sum())
    for name in ("beat", "sector", "npa", "force"):
        assert layers[name]["area_m2"].sum() == pytest.approx(total)
        assert layers[name].crs == w.crs
        assert shapely.coverage_is_valid(layers[name].geometry.values)
    assert layers["npa"]["name"].tolist() == ["City"]
    names = layers["sector"]["name"]
    assert names.iloc[0] == "West" and pd.isna(names.iloc[1])
    assert layers["force"]["n_wards"].tolist() == [len(w)]
    assert layers["force"].geometry.iloc[0].geom_type == "Polygon"


def test_build_layers_level_not_nested_unions_wards() -> None:
    w = with_levels()
    w.loc[w["id"] == "w10", "sector"] = "S2"  # beat B1 now straddles S1 and S2
    layers = build_layers(w)
    beats = layers["beat"].set_index("id")
    assert pd.isna(beats.loc["B1", "sector"])
    assert beats.loc["B0", "sector"] == "S1"
    sectors = layers["sector"].set_index("id")
    assert sectors.loc["S2", "n_wards"] == 7
    assert sectors.loc["S2", "area_m2"] == pytest.approx(7 * CELL * CELL)


def test_build_layers_rejects_overlapping_wards() -> None:
    w = with_levels()
    w.loc[0, "geometry"] = box(X0, Y0, X0 + 1.5 * CELL, Y0 + CELL)  # overlaps w10
    with pytest.raises(GeometryError, match="validate_wards"):
        build_layers(w)


# ------------------------------------------------------------------------------------ nest
def test_nest_majority_by_area_and_report() -> None:
    w = with_levels()
    w.loc[w["id"] == "w10", "sector"] = "S2"  # one of B1's three wards in S2
    r = nest(w)
    assert not r.ok
    assert (r.wards.groupby("beat")["sector"].nunique() == 1).all()
    assert r.wards.loc[r.wards["id"] == "w10", "sector"].item() == "S1"
    row = r.conflicts.iloc[0]
    assert (row["level"], row["id"], row["parent"]) == ("beat", "B1", "S1")
    assert row["share"] == pytest.approx(2 / 3)
    assert row["wards_moved"] == "w10" and row["n_moved"] == 1
    assert "S2 (0.333)" in row["others"]
    assert w.loc[w["id"] == "w10", "sector"].item() == "S2"  # input untouched
    assert r.wards["beat"].tolist() == w["beat"].tolist()  # smallest level never changes


def test_nest_by_weight_overrides_area() -> None:
    w = with_levels()
    w.loc[w["id"] == "w10", "sector"] = "S2"
    weight = np.where(w["id"] == "w10", 100.0, 1.0)  # the demand sits in w10
    r = nest(w, weight=weight)
    assert set(r.wards.loc[r.wards["beat"] == "B1", "sector"]) == {"S2"}
    w["incidents"] = weight
    assert nest(w, weight="incidents").wards["sector"].tolist() == r.wards["sector"].tolist()
    with pytest.raises(ColumnNotFoundError, match="weight='people'"):
        nest(w, weight="people")


def test_nest_propagates_upwards() -> None:
    w = with_levels()
    w["npa"] = np.where(w["sector"] == "S1", "N1", "N2")
    w.loc[w["id"] == "w20", "sector"] = "S1"  # B2 in S1 (1 ward) and S2 (2 wards)
    w.loc[w["id"] == "w20", "npa"] = "N1"
    r = nest(w)
    got = r.wards.set_index("id")
    assert got.loc["w20", "sector"] == "S2" and got.loc["w20", "npa"] == "N2"
    assert (r.wards.groupby("beat")["npa"].nunique() == 1).all()
    assert (r.wards.groupby("sector")["npa"].nunique() == 1).all()


def test_nest_moved_wards_take_the_higher_levels_of_their_new_parent() -> None:
    w = with_levels()
    w["npa"] = np.where(w["sector"] == "S1", "N1", "N2")
    w.loc[w["id"] == "w10", ["sector", "npa"]] = ["S2", "N2"]  # one of B1's wards, nested
    r = nest(w)
    got = r.wards.set_index("id")
    assert (got.loc["w10", "sector"], got.loc["w10", "npa"]) == ("S1", "N1")
    # only the real conflict is reported: sector S1 never straddled two NPAs in the input
    assert r.conflicts[["level", "id", "parent"]].values.tolist() == [["beat", "B1", "S1"]]


def test_nest_already_nested() -> None:
    r = nest(with_levels())
    assert r.ok and len(r.conflicts) == 0
