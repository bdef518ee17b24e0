"""Tests for beatplan.boundaries.realign on small hand-made layouts whose answers are known."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box

from beatplan.boundaries import WardsTooCoarseError, realign
from beatplan.geo import make_sample
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    DuplicateIdError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    ValidationError,
)

X0, Y0 = 450_000.0, 300_000.0
C = 1000.0
H = 2.0  # strips are 2 km tall


def strips(xs: list[float], prefix: str, *, h: float = H) -> gpd.GeoDataFrame:
    """Vertical strips between consecutive ``xs`` (km), noded at every other strip's edge."""
    geoms = [
        box(X0 + a * C, Y0, X0 + b * C, Y0 + h * C) for a, b in zip(xs[:-1], xs[1:], strict=True)
    ]
    return gpd.GeoDataFrame(
        {"id": [f"{prefix}{i}" for i in range(len(geoms))]}, geometry=geoms, crs=27700
    )


def beats2() -> gpd.GeoDataFrame:
    b = strips([0, 2, 4], "B")
    b["npa"] = ["N1", "N2"]
    return b


def points_at(xy_km: list[tuple[float, float]], n_each: int = 1) -> gpd.GeoDataFrame:
    xy = np.repeat(np.array(xy_km, dtype=float), n_each, axis=0)
    return gpd.GeoDataFrame(
        geometry=shapely.points(X0 + xy[:, 0] * C, Y0 + xy[:, 1] * C), crs=27700
    )


# ------------------------------------------------------------------------------- by area
def test_realign_by_area_shares_runner_up_review_and_changes() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    r = realign(wards, beats2(), levels=["beat", "npa"])
    a = r.assignment.set_index("ward")
    assert a["beat"].tolist() == ["B0", "B1", "B1"]
    assert a["npa"].tolist() == ["N1", "N2", "N2"]
    assert a.loc["w1", "share"] == pytest.approx(0.6 / 1.1)
    assert a.loc["w1", "runner_up"] == "B0"
    assert a.loc["w1", "runner_up_share"] == pytest.approx(0.5 / 1.1)
    assert a["review"].tolist() == [False, True, False]
    assert a.loc["w1", "reason"] == "marginal"
    assert a["moved"].tolist() == [False, True, False]
    assert (a["basis"] == "area").all()
    assert r.checks.ok, str(r.checks)
    ch = r.changes[r.changes["level"] == "beat"].set_index("id")
    assert ch.loc["B0", "area_old_m2"] == pytest.approx(4 * C * C)
    assert ch.loc["B0", "area_new_m2"] == pytest.approx(3 * C * C)
    assert ch.loc["B0", "retained"] == pytest.approx(0.75)
    assert ch.loc["B0", "wards_lost"] == "w1" and ch.loc["B1", "wards_gained"] == "w1"
    assert ch["area_new_m2"].sum() == pytest.approx(8 * C * C)
    s = r.summary
    assert (s["wards"], s["areas_old"], s["areas_new"], s["areas_emptied"]) == (3, 2, 2, 0)
    assert (s["wards_moved"], s["wards_marginal"], s["wards_review"]) == (1, 1, 1)
    assert s["area_shifted_m2"] == pytest.approx(1.0 * C * C)
    new_b1 = r.areas["beat"].set_index("id").loc["B1", "geometry"]
    expected = box(X0 + 1.5 * C, Y0, X0 + 4 * C, Y0 + H * C)
    assert shapely.area(shapely.symmetric_difference(new_b1, expected)) < 1e-6
    assert list(r.areas) == ["beat", "npa", "force"]
    # pieces: every ward's shares (with the part in no old area) sum to one
    p = r.pieces[r.pieces["level"] == "beat"]
    assert p.groupby("ward")["share"].sum().to_numpy() == pytest.approx(np.ones(3))
    assert "realigned to 2 of 2 beat areas by area" in r.describe()


def test_realign_keeps_index_and_leaves_inputs_alone() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w").set_index(pd.Index([10, 20, 30]))
    beats = beats2()
    before_w, before_b = wards.copy(), beats.copy()
    r = realign(wards, beats, levels=["beat", "npa"])
    assert r.assignment.index.tolist() == [10, 20, 30]
    pd.testing.assert_frame_equal(wards, before_w)
    pd.testing.assert_frame_equal(beats, before_b)


# ------------------------------------------------------------------------------ by demand
def test_realign_by_demand_follows_the_points() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    # w1's demand sits in its B0 part (x 1.5..2); w2 has no point at all
    pts = points_at([(1.8, 1.0)], n_each=9).pipe(
        lambda p: pd.concat([p, points_at([(2.3, 1.0), (0.5, 0.5), (9, 9)])], ignore_index=True)
    )
    r = realign(wards, beats2(), levels=["beat", "npa"], by="demand", demand=pts)
    a = r.assignment.set_index("ward")
    assert a["beat"].tolist() == ["B0", "B0", "B1"]
    assert a.loc["w1", "share"] == pytest.approx(0.9)
    assert a.loc["w1", "basis"] == "demand" and not a.loc["w1", "review"]
    assert a.loc["w2", "basis"] == "area (no demand)" and a.loc["w2", "reason"] == "no demand"
    assert a["incidents"].tolist() == [1, 10, 0]
    s = r.summary
    assert s["demand_total"] == 11 and s["demand_outside_wards"] == 1
    assert s["demand_shifted"] == 1  # the point at x=2.3 now belongs to B0
    ch = r.changes[r.changes["level"] == "beat"].set_index("id")
    assert ch["demand_old"].sum() == ch["demand_new"].sum() == 11
    assert (ch.loc["B0", "demand_old"], ch.loc["B0", "demand_new"]) == (10, 11)
    assert any("lie in no ward" in w for w in r.warnings)
    assert r.checks.ok


def test_realign_takes_incidents_or_points_alike() -> None:
    from beatplan.geo.incidents import Incidents

    wards = strips([0, 1.5, 2.6, 4], "w")
    pts = points_at([(1.8, 1.0)], n_each=3)
    inc = Incidents(
        points=pts,
        rejected=pd.DataFrame(),
        rows_read=3,
        crs=pts.crs,
        sources=[],
        schema="xy",
        messages=[],
    )
    a = realign(wards, beats2(), by="demand", demand=pts).assignment
    b = realign(wards, beats2(), by="demand", demand=inc).assignment
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(InputFormatError, match="demand: expected incident or population points"):
        realign(wards, beats2(), by="demand", demand=[(1, 2)])


def test_realign_by_demand_with_every_point_outside_the_old_areas_falls_back_to_area() -> None:
    wards = strips([0, 1.5, 2.6, 3.5], "w")
    beats = strips([0, 2, 3], "B")  # the old beats stop at x=3: w2 is partly outside
    pts = points_at([(3.2, 1.0)], n_each=5)  # all of w2's demand lies outside them
    r = realign(wards, beats, by="demand", demand=pts)
    a = r.assignment.set_index("ward")
    assert a.loc["w2", "area"] == "B1"  # it overlaps B1: not given away as "no overlap"
    assert a.loc["w2", "basis"] == "area (no demand)"
    assert a.loc["w2", "share"] == pytest.approx(0.4 / 0.9)
    assert set(a.loc["w2", "reason"].split("; ")) == {"marginal", "no demand", "partly outside"}
    assert r.summary["wards_no_overlap"] == 0


def test_realign_by_demand_with_no_point_in_any_ward_says_so() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    far = points_at([(9, 9)], n_each=4)
    r = realign(wards, beats2(), by="demand", demand=far)
    assert (r.assignment["basis"] == "area (no demand)").all()
    assert any("none of the 4 demand point(s) lies in a ward" in w for w in r.warnings)
    assert r.assignment["area"].tolist() == realign(wards, beats2()).assignment["area"].tolist()


def test_realign_harm_weights() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    pts = points_at([(1.8, 1.0), (2.3, 1.0), (2.4, 1.0)])
    pts["category"] = ["Shoplifting", "Robbery", "Shoplifting"]
    plain = realign(wards, beats2(), by="demand", demand=pts)
    harm = realign(wards, beats2(), by="demand", demand=pts, weights="harm")
    assert plain.assignment["area"].tolist() == ["B0", "B1", "B1"]  # 2 of 3 points in B1
    assert harm.assignment["share"].iloc[1] == pytest.approx(367 / 369)
    assert harm.summary["demand_total"] == pytest.approx(369.0)


# ---------------------------------------------------------------------------- hierarchy
def test_realign_separate_layers_nesting_conflict_resolved_and_reported() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    beats = strips([0, 2, 4], "B")
    sectors = strips([0, 2.4, 4], "S")  # w1 mostly in S0, w2 in S1, both go to B1
    r = realign(wards, {"beat": beats, "sector": sectors})
    a = r.assignment.set_index("ward")
    assert a["beat"].tolist() == ["B0", "B1", "B1"]
    assert a.loc["w1", "sector"] == a.loc["w2", "sector"] == "S1"  # majority by area (2.8 > 2.2)
    assert "nesting" in a.loc["w1", "reason"] and a.loc["w1", "review"]
    assert r.conflicts[["level", "id", "parent"]].values.tolist() == [["beat", "B1", "S1"]]
    assert r.summary["nesting_conflicts"] == 1
    assert r.checks.ok, str(r.checks)
    assert r.areas["beat"].set_index("id").loc["B1", "sector"] == "S1"


def test_realign_parent_column_must_exist_and_be_filled() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    with pytest.raises(ColumnNotFoundError, match="'sector'"):
        realign(wards, beats2(), levels=["beat", "sector"])
    beats = beats2()
    beats.loc[1, "npa"] = None
    with pytest.raises(ValidationError, match="1 beat area\\(s\\) have no npa: B1"):
        realign(wards, beats, levels=["beat", "npa"])


# -------------------------------------------------------------------------- coverage gaps
def test_realign_uncovered_wards_flagged_and_given_to_neighbour() -> None:
    wards = strips([0, 1.5, 2.6, 3.5, 4.5], "w")
    beats = strips([0, 2, 3], "B")  # the old beats stop at x=3
    island = gpd.GeoDataFrame(
        {"id": ["isle"]},
        geometry=[box(X0 + 9 * C, Y0 + 9 * C, X0 + 10 * C, Y0 + 10 * C)],
        crs=27700,
    )
    r = realign(pd.concat([wards, island], ignore_index=True), beats)
    a = r.assignment.set_index("ward")
    assert a.loc["w3", "area"] == "B1" and a.loc["w3", "basis"] == "neighbour"
    assert "no overlap" in a.loc["w3", "reason"]
    assert a.loc["isle", "basis"] == "nearest" and a.loc["isle", "review"]
    assert a.loc["w2", "outside_share"] == pytest.approx(0.5 / 0.9)
    assert "partly outside" in a.loc["w2", "reason"]
    text = " ".join(r.warnings)
    assert "2 ward(s) overlap none of the old areas" in text and "isle" in text
    assert "cover only" in text and "w2" in text
    assert r.summary["wards_no_overlap"] == 2 and r.summary["wards_partly_outside"] == 1


def test_realign_island_ward_with_separate_layers() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    far = box(X0 + 9 * C, Y0 + 9 * C, X0 + 10 * C, Y0 + 10 * C)
    wards = pd.concat(
        [wards, gpd.GeoDataFrame({"id": ["isle"]}, geometry=[far], crs=27700)], ignore_index=True
    )
    layers = {"beat": strips([0, 2, 4], "B"), "sector": strips([0, 4], "S")}
    r = realign(wards, layers)
    a = r.assignment.set_index("ward")
    assert (a.loc["isle", "beat"], a.loc["isle", "sector"]) == ("B1", "S0")  # the nearest
    assert a.loc["isle", "basis"] == "nearest"
    # an island touches no other ward: it cannot be made contiguous, so the planner is told
    assert not r.checks.ok
    assert {"B1", "isle"} <= r.checks.ids("contiguity")
    assert any("exception" in p.message for p in r.checks.errors)
    assert sum(p.check == "contiguity" for p in r.checks.errors) == 2  # one per level
    ok = realign(wards, layers, exceptions=["B1", "S0"])
    assert ok.checks.ok, str(ok.checks)


def test_realign_reports_gap_between_wards() -> None:
    wards = strips([0, 1, 2, 3, 4], "w", h=3)
    middle = box(X0 + 1 * C, Y0 + 1 * C, X0 + 2 * C, Y0 + 2 * C)
    wards.loc[1, "geometry"] = shapely.difference(wards.geometry.iloc[1], middle)  # a hole in w1
    r = realign(wards, strips([0, 2, 4], "B", h=3))
    said = [w for w in r.warnings if "gap(s) between wards" in w]
    assert len(said) == 1 and "1,000,000 m² between w0, w1, w2" in said[0]
    gaps = [p for p in r.checks.warnings if p.check == "gap"]
    assert len(gaps) == 1 and set(gaps[0].ids) == {"w0", "w1", "w2"}
    assert r.checks.ok  # a hole may be real: reported, not an error, and not filled
    assert r.areas["force"]["area_m2"].iloc[0] == pytest.approx(11 * C * C)


# --------------------------------------------------------------------------- bad inputs
def test_realign_two_crss_reprojected_and_said() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    r = realign(wards, beats2().to_crs(4326))
    assert r.crs.to_epsg() == 27700
    assert r.areas["area"].crs.to_epsg() == 27700
    assert r.assignment["area"].tolist() == ["B0", "B1", "B1"]
    said = [w for w in r.warnings if "reprojected" in w]
    assert said == [
        "reprojected to the working CRS EPSG:27700: area layer (from EPSG:4326); "
        "layers are never mixed in different CRSs"
    ]
    with pytest.raises(CRSError, match="area layer: the layer has no CRS"):
        realign(wards, beats2().set_crs(None, allow_override=True))


def _empty_wards() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return strips([0, 1.5, 2.6, 4], "w").iloc[:0], beats2()


def _empty_areas() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return strips([0, 1.5, 2.6, 4], "w"), beats2().iloc[:0]


def _duplicate_codes() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    wards = strips([0, 1.5, 2.6, 4], "w")
    wards.loc[2, "id"] = "w0"
    return wards, beats2()


def _overlapping_wards() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    wards = strips([0, 1.5, 2.6, 4], "w")
    wards.loc[0, "geometry"] = box(X0, Y0, X0 + 2.0 * C, Y0 + H * C)  # over half of w1
    return wards, beats2()


def _wards_without_crs() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    return strips([0, 1.5, 2.6, 4], "w").set_crs(None, allow_override=True), beats2()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        pytest.param(
            _empty_wards,
            EmptyInputError,
            r"^wards: the layer has no features; expected at least one polygon \(check the file",
            id="empty ward layer",
        ),
        pytest.param(
            _empty_areas,
            EmptyInputError,
            r"^area layer: the layer has no features; expected at least one polygon",
            id="empty area layer",
        ),
        pytest.param(
            _duplicate_codes,
            DuplicateIdError,
            r"^wards: duplicate ward codes in column 'id': 'w0' ×2; each ward must appear once: "
            r"merge the parts .* or fix the codes",
            id="duplicate ward codes",
        ),
        pytest.param(
            _overlapping_wards,
            ValidationError,
            r"overlap by more than 1% of the smaller ward: w0 and w1 \(1,000,000 m², 45\.5% of "
            r"the smaller\); a ward layer must be a partition",
            id="overlapping wards",
        ),
        pytest.param(
            _wards_without_crs,
            CRSError,
            r"^wards: the layer has no CRS; set the one its coordinates are in with \.set_crs",
            id="ward layer without CRS",
        ),
    ],
)
def test_realign_bad_input_is_one_clear_error(make, error, message) -> None:
    wards, areas = make()
    with pytest.raises(error, match=message):
        realign(wards, areas)


def test_realign_bad_options() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    with pytest.raises(OptionError, match="by='volume' is not a valid choice.*'area', 'demand'"):
        realign(wards, beats2(), by="volume")
    with pytest.raises(OptionError, match="no demand points were given: pass demand="):
        realign(wards, beats2(), by="demand")
    with pytest.raises(OptionError, match="review_below=2 must lie between 0 and 1"):
        realign(wards, beats2(), review_below=2)
    with pytest.raises(ColumnNotFoundError, match="area layer: no id column 'beat_num'"):
        realign(wards, beats2(), area_id="beat_num")


def test_realign_merges_area_features_sharing_an_id() -> None:
    wards = strips([0, 1.5, 2.6, 4], "w")
    beats = strips([0, 1, 2, 4], "B")
    beats.loc[1, "id"] = "B0"  # B0 published as two features
    r = realign(wards, beats)
    assert any("'B0' ×2" in w for w in r.warnings)
    assert r.assignment["area"].tolist() == ["B0", "B2", "B2"]


# --------------------------------------------------------------------------- granularity
def test_realign_wards_larger_than_areas_is_said_plainly() -> None:
    wards = strips([0, 4], "w")  # one 8 km² ward against 8 beats of 1 km²
    beats = strips([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4], "B")
    with pytest.raises(
        WardsTooCoarseError, match="larger than the areas they are realigned to"
    ) as err:
        realign(wards, beats)
    assert "7 of 8 areas would get no ward" in str(err.value)
    r = realign(wards, beats, allow_coarse=True)
    assert r.summary["coarse"] and r.summary["areas_emptied"] == 7
    assert any("larger than" in w for w in r.warnings)


# ---------------------------------------------------------------------------- contiguity
def test_realign_fixes_contiguity_unless_exception() -> None:
    wards = strips([0, 1, 2, 3, 4], "w")
    beats = gpd.GeoDataFrame(
        {"id": ["B0", "B1"]},
        geometry=[
            shapely.union(
                box(X0, Y0, X0 + C, Y0 + H * C), box(X0 + 3 * C, Y0, X0 + 4 * C, Y0 + H * C)
            ),
            box(X0 + C, Y0, X0 + 3 * C, Y0 + H * C),
        ],
        crs=27700,
    )
    r = realign(wards, beats)
    a = r.assignment.set_index("ward")
    assert a.loc["w3", "area"] == "B1" and "contiguity" in a.loc["w3", "reason"]
    assert r.moves[["from", "to", "wards"]].values.tolist() == [["B0", "B1", "w3"]]
    assert r.checks.ok
    kept = realign(wards, beats, exceptions=["B0"])
    assert kept.assignment.set_index("ward").loc["w3", "area"] == "B0"
    assert kept.checks.ok and kept.summary["contiguity_moves"] == 0
    assert any(p.check == "contiguity" for p in kept.checks.warnings)
    unfixed = realign(wards, beats, fix=False)
    assert not unfixed.checks.ok and unfixed.checks.ids("contiguity") >= {"B0", "w3"}


def test_realign_sample_county() -> None:
    s = make_sample(seed=3, n_wards=80, incidents=4000)
    inc = s.incidents.dropna(subset=["Longitude"])
    pts = gpd.GeoDataFrame(
        {"category": inc["Crime type"].to_numpy()},
        geometry=shapely.points(inc["Longitude"], inc["Latitude"]),
        crs=4326,
    )
    r = realign(s.wards_new, s.beats, levels=["beat", "sector", "npa"], by="demand", demand=pts)
    a = r.assignment
    assert len(a) == len(s.wards_new) and a["ward"].is_unique
    assert r.checks.ok, str(r.checks)
    assert set(r.wards["npa"]) <= set(s.npas["id"])
    assert (r.wards.groupby("beat")["sector"].nunique() == 1).all()
    assert a["incidents"].sum() + r.summary["demand_outside_wards"] == len(pts)
    layers = {"beat": s.beats, "sector": s.sectors, "npa": s.npas}
    r2 = realign(s.wards_new, layers)
    assert r2.checks.ok and (r2.wards.groupby("sector")["npa"].nunique() == 1).all()


def test_realign_progress_bar_only_when_asked_or_on_a_terminal(capfd) -> None:
    s = make_sample(seed=3, n_wards=80, incidents=4000)
    r = realign(s.wards_new, s.beats, levels=["beat", "sector", "npa"], progress=True)
    err = capfd.readouterr().err
    assert "realign:" in err and "/10 " in err  # a bar of its 10 stages, on standard error
    for shown in (False, None):  # never; automatic: stderr is not a terminal here
        again = realign(s.wards_new, s.beats, levels=["beat", "sector", "npa"], progress=shown)
        assert capfd.readouterr().err == ""
        assert again.wards["beat"].tolist() == r.wards["beat"].tolist()  # the same result
