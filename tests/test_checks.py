"""Tests for beatplan.boundaries.checks: every check, input validation and the contiguity fix."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import Polygon, box

from beatplan.boundaries.checks import (
    check_assignment,
    check_layer_nesting,
    check_layers,
    check_nesting,
    check_unions,
)
from beatplan.boundaries.contiguity import check_contiguity, fix_contiguity, normalise_exceptions
from beatplan.boundaries.coverage import check_coverage, find_gaps, shared_boundaries
from beatplan.boundaries.hierarchy import build_layers
from beatplan.boundaries.report import CheckReport
from beatplan.boundaries.validate import dissolve_duplicates, validate_areas, validate_wards
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSMismatchError,
    DuplicateIdError,
    EmptyInputError,
    GeometryError,
    OptionError,
    ValidationError,
)

X0, Y0 = 450_000.0, 300_000.0
C = 1000.0


def sq(i: float, j: float, w: float = 1.0, h: float = 1.0) -> Polygon:
    return box(X0 + i * C, Y0 + j * C, X0 + (i + w) * C, Y0 + (j + h) * C)


def grid(nx: int, ny: int) -> gpd.GeoDataFrame:
    ids = [f"w{i}{j}" for i in range(nx) for j in range(ny)]
    geoms = [sq(i, j) for i in range(nx) for j in range(ny)]
    return gpd.GeoDataFrame({"id": ids}, geometry=geoms, crs=27700)


def table(nx: int = 4, ny: int = 3) -> gpd.GeoDataFrame:
    """Beats are columns; sectors pairs of columns; one NPA."""
    w = grid(nx, ny)
    col = w["id"].str[1].astype(int)
    w["beat"] = "B" + col.astype(str)
    w["sector"] = np.where(col < 2, "S1", "S2")
    w["npa"] = "N1"
    return w


# ---------------------------------------------------------------------------------- report
def test_report_basics() -> None:
    rep = CheckReport()
    assert rep.ok and str(rep).startswith("all 0 checks passed")
    rep.ran("x")
    rep.add("coverage", "beat", ["B1", 2], "bad edges", severity="warning")
    assert rep.ok and rep.ids() == {"B1", "2"}
    rep.add("union", "npa", ["N1"], "differs")
    assert not rep.ok and len(rep.errors) == 1 and len(rep.warnings) == 1
    frame = rep.to_frame()
    assert frame.columns.tolist() == ["check", "level", "severity", "n_ids", "ids", "message"]
    assert frame["ids"].tolist() == ["B1;2", "N1"]
    with pytest.raises(ValidationError, match="union \\(npa\\): differs"):
        rep.raise_for_errors("result")
    with pytest.raises(OptionError, match="severity='fatal'"):
        rep.add("union", "npa", [], "x", severity="fatal")


def test_normalise_exceptions() -> None:
    assert normalise_exceptions("B1", ["beat", "npa"]) == {
        "beat": frozenset({"B1"}),
        "npa": frozenset({"B1"}),
    }
    got = normalise_exceptions({"npa": ["N9"]}, ["beat", "npa"])
    assert got == {"beat": frozenset(), "npa": frozenset({"N9"})}
    with pytest.raises(OptionError, match="'division'"):
        normalise_exceptions({"division": ["X"]}, ["beat", "npa"])


# ------------------------------------------------------------------------------ adjacency
def test_shared_boundaries_grid_and_corners() -> None:
    w = grid(2, 2)
    sb = shared_boundaries(w)
    pairs = {(a, b): ln for a, b, ln in sb.itertuples(index=False)}
    assert pairs == {("w00", "w01"): C, ("w00", "w10"): C, ("w01", "w11"): C, ("w10", "w11"): C}
    # w00 and w11 touch at a corner only: not neighbours


def test_shared_boundaries_ignores_ring_orientation_and_sums_parts() -> None:
    a = shapely.orient_polygons(sq(0, 0, 2, 1), exterior_cw=True)
    b = sq(0, 1, 1, 1)
    c = shapely.MultiPolygon([sq(1, 1), sq(0, -1)])  # two parts, both touch a
    w = gpd.GeoDataFrame({"id": ["a", "b", "c"]}, geometry=[a, b, c], crs=27700)
    w.loc[0, "geometry"] = shapely.segmentize(w.geometry.iloc[0], 250.0)
    w.loc[1, "geometry"] = shapely.segmentize(w.geometry.iloc[1], 250.0)
    w.loc[2, "geometry"] = shapely.segmentize(w.geometry.iloc[2], 250.0)
    sb = shared_boundaries(w).set_index(["ward_a", "ward_b"])["length_m"]
    assert sb[("a", "b")] == pytest.approx(C)
    assert sb[("a", "c")] == pytest.approx(2 * C)
    assert sb[("b", "c")] == pytest.approx(C)


# ---------------------------------------------------------------------------------- checks
def test_check_assignment_and_nesting() -> None:
    w = table()
    assert check_assignment(w).ok and check_nesting(w).ok
    bad = w.copy()
    bad.loc[1, "beat"] = None
    bad.loc[2, "id"] = "w00"
    rep = check_assignment(bad)
    assert rep.ids("assignment", "beat") == {"w01"}
    assert rep.ids("assignment", "ward") == {"w00"}
    bad = w.copy()
    bad.loc[bad["id"] == "w10", "sector"] = "S2"
    rep = check_nesting(bad)
    assert rep.ids("nesting", "beat") == {"B1"}
    assert "B1 in S1, S2" in rep.problems[0].message


def test_check_coverage_overlap_and_narrow_gap() -> None:
    good = grid(2, 1)
    assert check_coverage(good).ok
    over = good.copy()
    over.loc[0, "geometry"] = sq(0, 0, 1.2, 1)
    rep = check_coverage(over)
    assert rep.ids("overlap") == {"w00", "w10"}
    assert "200,000.0 m²" in rep.errors[0].message
    gap = good.copy()
    gap.loc[0, "geometry"] = sq(0, 0, 0.999, 1)  # a 1 m gap between the two wards
    assert check_coverage(gap).ok  # gaps are allowed in a coverage ...
    rep = check_coverage(gap, gap_width=2.0)  # ... unless narrower than gap_width
    assert not rep.ok and rep.ids("coverage") == {"w00", "w10"}


def test_check_unions_detects_wrong_layer() -> None:
    w = table()
    layers = build_layers(w)
    assert check_unions(w, layers).ok
    broken = {k: v.copy() for k, v in layers.items()}
    broken["beat"].loc[0, "geometry"] = sq(0, 0, 1, 2)  # B0 lost its top ward
    rep = check_unions(w, broken)
    assert rep.ids("union", "beat") >= {"B0", "w02"}
    msgs = " ".join(p.message for p in rep.problems)
    assert "differs from the union of the wards by 1,000,000.0 m²" in msgs
    assert "do not have the area of their wards" in msgs
    assert "lie outside the polygon of their beat: w02" in msgs


def test_check_contiguity_and_exceptions() -> None:
    w = table()
    w.loc[w["id"] == "w30", "beat"] = "B0"  # B0 now has a detached ward
    rep = check_contiguity(w, levels=["beat"])
    assert not rep.ok
    assert rep.ids("contiguity") == {"B0", "w30"}
    ok = check_contiguity(w, levels=["beat"], exceptions=["B0"])
    assert ok.ok and len(ok.warnings) == 1 and "exception" in ok.warnings[0].message


def test_check_contiguity_corner_touch_is_not_contiguous() -> None:
    w = grid(2, 2).assign(beat=["A", "B", "B", "A"])  # A = w00 + w11: a corner only
    assert check_contiguity(w, levels=["beat"]).ids("contiguity") >= {"A"}


def test_check_layers_all_pass_then_each_fails() -> None:
    w = table()
    rep = check_layers(w)
    assert rep.ok, str(rep)
    assert set(rep.checks) == {"assignment", "nesting", "coverage", "gap", "union", "contiguity"}
    holed = w[w["id"] != "w11"].reset_index(drop=True)  # a hole in the middle of beat B1
    rep = check_layers(holed, exceptions=["B1"])  # which B1's two halves may stay apart
    assert rep.ok and sorted(p.check for p in rep.warnings) == ["contiguity", "gap"]
    assert rep.ids("gap") == {"w01", "w10", "w12", "w21"}
    bad = w.copy()
    bad.loc[bad["id"] == "w10", "sector"] = "S2"
    assert check_layers(bad).ids("nesting") == {"B1"}
    bad = w.copy()
    bad.loc[0, "beat"] = None
    rep = check_layers(bad)
    assert rep.ids("assignment") == {"w00"}
    bad = w.copy()
    bad.loc[0, "geometry"] = sq(0, 0, 1.5, 1)
    rep = check_layers(bad)
    assert rep.ids("overlap", "ward") == {"w00", "w10"}
    assert any("layers not built" in p.message for p in rep.problems)


# ----------------------------------------------------------------------------- validation
def test_validate_wards_clean_layer_untouched() -> None:
    w = grid(3, 2)
    out, msgs = validate_wards(w)
    assert msgs == []
    assert out.geometry.geom_equals(w.geometry).all()
    assert out is not w


def test_validate_wards_errors() -> None:
    w = grid(3, 2)
    with pytest.raises(EmptyInputError, match="wards: the layer has no features"):
        validate_wards(w.iloc[:0])
    with pytest.raises(ColumnNotFoundError, match="no id column 'WD19CD'"):
        validate_wards(w, ward_id="WD19CD")
    dup = w.copy()
    dup.loc[3, "id"] = "w00"
    with pytest.raises(DuplicateIdError, match="duplicate ward codes.*'w00' ×2"):
        validate_wards(dup)
    many = dup.copy()
    many.loc[4, "geometry"] = None
    many.loc[5, "geometry"] = shapely.Point(X0, Y0)
    with pytest.raises(ValidationError) as err:
        validate_wards(many)
    text = str(err.value)
    assert "'w00' ×2" in text and "null or empty geometry: w20" in text
    assert "not polygons (Point): w21" in text


def test_validate_wards_big_overlap_is_an_error() -> None:
    w = grid(3, 1)
    w.loc[0, "geometry"] = sq(0, 0, 1.5, 1)  # covers half of w10
    with pytest.raises(ValidationError, match="w00 and w10 \\(500,000 m², 50.0% of the smaller\\)"):
        validate_wards(w)


def test_validate_wards_repairs_slivers_and_reports() -> None:
    w = grid(3, 1)
    w.loc[0, "geometry"] = sq(0, 0, 1.002, 1)  # a 2 m sliver over w10
    with pytest.raises(ValidationError, match="repair=True"):
        validate_wards(w, repair=False)
    out, msgs = validate_wards(w)
    assert any("sliver overlaps" in m and "w00" in m and "w10" in m for m in msgs)
    g = out.geometry.values
    assert shapely.coverage_is_valid(g)
    assert shapely.area(g).sum() == pytest.approx(3 * C * C)  # nothing lost, nothing doubled
    assert w.loc[0, "geometry"].area == pytest.approx(1.002 * C * C)  # input untouched


def test_validate_wards_repairs_invalid_geometry() -> None:
    w = grid(2, 1)
    x, y = X0 + 3 * C, Y0
    bowtie = Polygon([(x, y), (x + C, y + C), (x + C, y), (x, y + C), (x, y)])
    w = pd.concat(
        [w, gpd.GeoDataFrame({"id": ["bow"]}, geometry=[bowtie], crs=27700)], ignore_index=True
    )
    out, msgs = validate_wards(w)
    assert any("invalid geometry repaired" in m and "bow" in m for m in msgs)
    assert shapely.is_valid(out.geometry.values).all()
    assert out.geometry.iloc[2].area == pytest.approx(C * C / 2)


def test_validate_wards_a_ward_make_valid_cannot_save_is_an_error() -> None:
    w = grid(2, 1)
    flat = Polygon([(X0 + 3 * C, Y0), (X0 + 4 * C, Y0 + C), (X0 + 5 * C, Y0 + 2 * C)])  # no area
    w = pd.concat(
        [w, gpd.GeoDataFrame({"id": ["flat"]}, geometry=[flat], crs=27700)], ignore_index=True
    )
    with pytest.raises(ValidationError, match="make_valid left no polygon for flat; fix these"):
        validate_wards(w)


def test_validate_wards_reports_gaps_with_neighbours() -> None:
    w = grid(3, 3)
    w = w[w["id"] != "w11"].reset_index(drop=True)  # a hole in the middle
    out, msgs = validate_wards(w)
    assert len(out) == 8
    gap = [m for m in msgs if "gap" in m]
    assert len(gap) == 1 and "1,000,000 m² between w01, w10, w12, w21" in gap[0]
    gaps = find_gaps(w.geometry.values)
    assert len(gaps) == 1 and gaps["area"].iloc[0] == pytest.approx(C * C)


def test_dissolve_duplicates_and_validate_areas() -> None:
    a = gpd.GeoDataFrame(
        {"id": ["3100", "0111", "3100"], "district": ["31", "1", "99"]},
        geometry=[sq(0, 0), sq(1, 0), sq(5, 5)],
        crs=27700,
    )
    out, msg = dissolve_duplicates(a)
    assert out["id"].tolist() == ["3100", "0111"]
    assert out.geometry.iloc[0].geom_type == "MultiPolygon"
    assert out.geometry.iloc[0].area == pytest.approx(2 * C * C)
    assert msg is not None and "'3100' ×2" in msg and "district differ" in msg
    over = gpd.GeoDataFrame(
        {"id": ["A", "B"]}, geometry=[sq(0, 0, 2, 1), sq(1, 0, 2, 1)], crs=27700
    )
    out, msgs = validate_areas(over)
    assert len(out) == 2 and any("A/B 1,000,000 m²" in m for m in msgs)


def test_check_layer_nesting() -> None:
    parents = gpd.GeoDataFrame(
        {"id": ["P1", "P2"]}, geometry=[sq(0, 0, 2, 2), sq(2, 0, 2, 2)], crs=27700
    )
    kids = gpd.GeoDataFrame(
        {"id": ["a", "b", "c", "a"], "parent": ["P1", "P1", "P2", "P1"]},
        geometry=[sq(0, 0), sq(1, 1), sq(1.5, 0, 1, 1), sq(0, 1)],
        crs=27700,
    )
    rep = check_layer_nesting(
        kids, parents, recorded="parent", child_level="beat", parent_level="district"
    )
    t = rep.tables["nesting"].set_index("child")
    assert t.loc["a", "parent"] == "P1" and t.loc["a", "share"] == pytest.approx(1.0)
    assert not t.loc["c", "nested"] and t.loc["c", "share"] == pytest.approx(0.5)
    assert rep.ids("nesting") == {"c"}
    assert any("'a' ×2" in p.message for p in rep.warnings)
    msgs = " ".join(p.message for p in rep.errors)
    assert "1 beat(s) straddle several districts: c (50.0% in P1)" in msgs
    assert "1 beat(s) disagree with their recorded district: c records P2 but lies in P1" in msgs
    stray = pd.concat(
        [kids, gpd.GeoDataFrame({"id": ["far"], "parent": ["P1"]}, geometry=[sq(9, 9)], crs=27700)],
        ignore_index=True,
    )
    rep = check_layer_nesting(stray, parents, child_level="beat", parent_level="district")
    assert any("1 beat(s) lie in no district: far" in p.message for p in rep.errors)
    assert rep.tables["nesting"].set_index("child").loc["far", "share"] == 0.0
    with pytest.raises(CRSMismatchError, match="to_crs"):
        check_layer_nesting(kids.to_crs(4326), parents)


# --------------------------------------------------------------------------- fix_contiguity
def test_fix_contiguity_tie_goes_to_the_smaller_id() -> None:
    # B0 = w0 (main, left) + x (detached, bottom right); x borders B1 (a) for 1 km and B2 (c)
    # for 1 km (b touches it at a corner only): a tie, so the smaller id B1 takes it
    geoms = [sq(0, 0, 1, 3), sq(1, 0, 1, 1), sq(1, 1, 1, 2), sq(2, 0, 1, 1), sq(2, 1, 1, 2)]
    w = gpd.GeoDataFrame(
        {
            "id": ["w0", "a", "b", "x", "c"],
            "beat": ["B0", "B1", "B2", "B0", "B2"],
            "npa": ["N1", "N1", "N2", "N1", "N2"],
        },
        geometry=shapely.segmentize(np.array(geoms), C),  # node every edge at 1 km
        crs=27700,
    )
    fix = fix_contiguity(w, levels=["beat", "npa"])
    got = fix.wards.set_index("id")
    assert got.loc["x", "beat"] == "B1"
    assert got.loc["x", "npa"] == "N1"
    assert fix.moves[["level", "from", "to", "wards"]].values.tolist() == [
        ["beat", "B0", "B1", "x"]
    ]
    assert fix.moved_wards == {"x"}
    assert fix.report.ok
    assert check_layers(fix.wards, levels=["beat", "npa"]).ok
    assert w.loc[3, "beat"] == "B0"  # input untouched


def test_fix_contiguity_prefers_more_shared_boundary() -> None:
    # detached d touches B1 (a) over 1 km and B2 (b above, e right) over 2 km
    geoms = [sq(0, 0, 1, 3), sq(1, 0, 1, 1), sq(1, 1, 3, 2), sq(2, 0, 1, 1), sq(3, 0, 1, 1)]
    w = gpd.GeoDataFrame(
        {"id": ["m", "a", "b", "d", "e"], "beat": ["B0", "B1", "B2", "B0", "B2"]},
        geometry=shapely.segmentize(np.array(geoms), C),  # node every edge at 1 km
        crs=27700,
    )
    fix = fix_contiguity(w, levels=["beat"])
    assert fix.wards.set_index("id").loc["d", "beat"] == "B2"
    assert fix.moves["shared_m"].tolist() == [pytest.approx(2 * C)]


def test_fix_contiguity_respects_exceptions_and_reports_islands() -> None:
    w = table()
    w.loc[w["id"] == "w30", "beat"] = "B0"
    fix = fix_contiguity(w, levels=["beat", "sector", "npa"], exceptions={"beat": ["B0"]})
    assert len(fix.moves) == 0 and fix.report.ok
    island = pd.concat(
        [
            w,
            gpd.GeoDataFrame(
                {"id": ["isle"], "beat": ["B3"], "sector": ["S2"], "npa": ["N1"]},
                geometry=[sq(9, 9)],
                crs=27700,
            ),
        ],
        ignore_index=True,
    )
    fix = fix_contiguity(island, levels=["beat"])
    assert not fix.report.ok
    assert any(
        "isle" in p.message and "touch no other area" in p.message for p in fix.report.errors
    )


def test_fix_contiguity_will_not_split_a_declared_exception() -> None:
    w = table()
    w.loc[w["id"] == "w30", ["beat", "sector"]] = ["B0", "S1"]  # B0 (an exception) in 2 parts
    fix = fix_contiguity(w, levels=["beat", "sector", "npa"], exceptions={"beat": ["B0"]})
    # sector S1's detached ward w30 belongs to beat B0: moving it would split B0 across sectors
    assert len(fix.moves) == 0
    assert not fix.report.ok
    msg = " ".join(p.message for p in fix.report.errors)
    assert "sector S1: moving its detached part would split beat B0" in msg
    assert fix.wards["sector"].tolist() == w["sector"].tolist()


def test_fix_contiguity_higher_level_moves_whole_beats() -> None:
    w = table(6, 2)  # beats B0..B5
    w["sector"] = np.where(w["beat"].isin(["B0", "B1", "B5"]), "S1", "S2")  # B5 detached from S1
    w["npa"] = np.where(w["sector"] == "S1", "N1", "N2")
    fix = fix_contiguity(w, levels=["beat", "sector", "npa"])
    got = fix.wards
    assert set(got.loc[got["beat"] == "B5", "sector"]) == {"S2"}
    assert set(got.loc[got["beat"] == "B5", "npa"]) == {"N2"}
    assert got["beat"].tolist() == w["beat"].tolist()
    assert check_layers(got).ok


def test_validate_wards_rejects_non_frame() -> None:
    with pytest.raises(GeometryError, match="GeoDataFrame"):
        validate_wards(pd.DataFrame({"id": ["a"]}))


def test_shared_boundaries_edges_not_noded_alike() -> None:
    # w0's right edge is one segment; a and b split it at y=1: not a valid coverage, so the
    # boundaries are intersected instead of matched
    w = gpd.GeoDataFrame(
        {"id": ["w0", "a", "b"], "beat": ["B0", "B1", "B0"]},
        geometry=[sq(0, 0, 1, 3), sq(1, 0, 1, 1), sq(1, 1, 1, 2)],
        crs=27700,
    )
    sb = shared_boundaries(w).set_index(["ward_a", "ward_b"])["length_m"]
    assert sb[("w0", "a")] == pytest.approx(C) and sb[("w0", "b")] == pytest.approx(2 * C)
    assert check_contiguity(w, levels=["beat"]).ok
