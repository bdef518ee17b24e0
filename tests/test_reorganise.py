"""reorganise: each operation on a small grid of wards, the checks rerun, and bad specs."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely import box

from beatplan.boundaries.outputs import write_plan
from beatplan.boundaries.reorganise import reorganise
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    DuplicateIdError,
    EmptyInputError,
    InputFormatError,
    ValidationError,
)

# A 6 x 4 grid of 1 km wards W<row><col>; beats are 2 x 2 blocks (B01..B06), sectors pair
# beats, NPAs pair sectors; districts split the grid into a west and an east half.
#
#   row 3 | B04 B04 | B05 B05 | B06 B06
#   row 2 | B04 B04 | B05 B05 | B06 B06
#   row 1 | B01 B01 | B02 B02 | B03 B03
#   row 0 | B01 B01 | B02 B02 | B03 B03
#           col 0 1   col 2 3   col 4 5
#: south-west corner of the grid: Leicester, British National Grid metres
X0, Y0 = 460_000, 300_000
SECTOR = {"B01": "S1", "B02": "S1", "B03": "S2", "B04": "S3", "B05": "S3", "B06": "S4"}
NPA = {"S1": "N1", "S2": "N2", "S3": "N1", "S4": "N2"}


def grid(n_rows: int = 4, n_cols: int = 6) -> gpd.GeoDataFrame:
    rows = []
    for r in range(n_rows):
        for c in range(n_cols):
            beat = f"B{(r // 2) * (n_cols // 2) + c // 2 + 1:02d}"
            rows.append(
                {
                    "id": f"W{r}{c}",
                    "name": f"Ward {r}-{c}",
                    "beat": beat,
                    "district": "D-WEST" if c < n_cols // 2 else "D-EAST",
                    "district_name": "West" if c < n_cols // 2 else "East",
                    "geometry": box(
                        X0 + c * 1000, Y0 + r * 1000, X0 + (c + 1) * 1000, Y0 + (r + 1) * 1000
                    ),
                }
            )
    w = gpd.GeoDataFrame(rows, geometry="geometry", crs=27700)
    w["sector"] = w["beat"].map(SECTOR)
    w["npa"] = w["sector"].map(NPA)
    w["npa_name"] = w["npa"].map({"N1": "North One", "N2": "North Two"})
    return w


@pytest.fixture
def wards() -> gpd.GeoDataFrame:
    return grid()


def where(result, level: str) -> dict[str, str]:
    return dict(zip(result.wards["id"], result.wards[level], strict=True))


def change(result, level: str, key: str) -> pd.Series:
    ch = result.changes[result.changes["level"] == level]
    ids = ch["id"].fillna(ch["old_id"])
    return ch[ids == key].iloc[0]


def assert_invariants(result, n_wards: int) -> None:
    """Every ward once; every level nests, covers the wards exactly and adds up."""
    w = result.wards
    assert len(w) == n_wards and w["id"].is_unique
    whole = shapely.union_all(w.geometry.values)
    for k, lv in enumerate(result.levels):
        layer = result.layers[lv]
        assert layer["n_wards"].sum() == n_wards
        assert set(layer["id"]) == set(w[lv])
        assert shapely.coverage_is_valid(layer.geometry.values)
        diff = shapely.symmetric_difference(shapely.union_all(layer.geometry.values), whole)
        assert shapely.area(diff) < 1e-6
        assert abs(shapely.area(layer.geometry.values).sum() - shapely.area(whole)) < 1e-6
        for up in result.levels[k + 1 :]:
            assert (w.groupby(lv)[up].nunique() == 1).all()
        live = result.changes[(result.changes["level"] == lv) & result.changes["id"].notna()]
        assert live["n_wards"].sum() == n_wards
        xw = result.area_crosswalk[result.area_crosswalk["level"] == lv]
        assert xw["n_wards"].sum() == n_wards
    assert len(result.crosswalk) == n_wards


# ------------------------------------------------------------------------ no change
def test_no_spec_rebuilds_and_checks(wards):
    r = reorganise(wards, None)
    assert r.checks.ok, str(r.checks)
    assert r.levels == ("beat", "sector", "npa")
    assert_invariants(r, 24)
    assert set(r.changes["status"]) == {"unchanged"}
    assert r.summary["wards_moved"] == 0
    assert r.layers["npa"].set_index("id").loc["N1", "name"] == "North One"
    assert r.layers["beat"]["area_m2"].tolist() == [4e6] * 6


def test_the_callers_frame_is_not_modified(wards):
    before = wards.copy()
    reorganise(wards, {"changes": [{"op": "merge", "level": "npa", "areas": ["N1", "N2"]}]})
    pd.testing.assert_frame_equal(wards, before)


# ------------------------------------------------------------------------ operations
def test_merge(wards):
    merge = {"op": "merge", "level": "npa", "areas": ["N1", "N2"], "id": "N", "name": "All"}
    r = reorganise(wards, {"changes": [merge]})
    assert set(where(r, "npa").values()) == {"N"}
    assert r.names["npa"] == {"N": "All"}
    assert change(r, "npa", "N")["status"] == "new"
    assert change(r, "npa", "N")["from"] == "N1 (16); N2 (8)"
    assert change(r, "npa", "N1")["status"] == "removed"
    assert change(r, "npa", "N1")["to"] == "N (16)"
    assert r.summary["wards_moved"] == 0  # a merge moves no ward out of its area
    assert r.checks.ok
    assert_invariants(r, 24)


def test_merge_keeps_the_first_id_and_joins_the_names(wards):
    r = reorganise(wards, {"changes": [{"op": "merge", "level": "beat", "areas": ["B01", "B02"]}]})
    assert set(r.wards.loc[r.wards["beat"] == "B01", "id"]) == {
        f"W{a}{b}" for a in (0, 1) for b in range(4)
    }
    assert "B02" not in set(r.wards["beat"])
    assert r.names["beat"]["B01"] == "B01 & B02"
    assert change(r, "beat", "B01")["status"] == "changed"
    assert change(r, "beat", "B01")["n_gained"] == 4
    assert change(r, "beat", "B02")["status"] == "removed"
    # the wards of B02 left their area (B02 lives on in B01, by identity)
    assert r.summary["by_level"]["beat"]["wards_moved"] == 0


def test_merge_of_areas_in_different_parents_needs_within(wards):
    spec = {"changes": [{"op": "merge", "level": "beat", "areas": ["B02", "B03"], "id": "BX"}]}
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    assert "changes[0]: its wards lie in 2 sector areas (S1, S2)" in str(err.value)
    spec["changes"][0]["within"] = {"sector": "S2"}
    r = reorganise(wards, spec)
    assert set(r.wards.loc[r.wards["beat"] == "BX", "sector"]) == {"S2"}
    assert set(r.wards.loc[r.wards["beat"] == "BX", "npa"]) == {"N2"}
    assert r.checks.ok
    assert_invariants(r, 24)


def test_merge_of_areas_that_do_not_touch(wards):
    spec = {"changes": [{"op": "merge", "level": "beat", "areas": ["B01", "B03"], "id": "BX",
                         "within": {"sector": "S1"}}]}  # fmt: skip
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    assert len(err.value.problems) == 1
    assert "changes[0].areas: the beat areas B01 | B03 do not touch" in err.value.problems[0]
    spec["changes"][0]["allow_non_contiguous"] = True
    r = reorganise(wards, spec)
    assert "BX" in r.exceptions["beat"]
    assert r.checks.ok  # declared: a warning, not an error
    assert any(p.check == "contiguity" and p.severity == "warning" for p in r.checks.problems)


def test_create_from_wards_splits_the_beats_it_cuts(wards):
    # a new NPA from the two bottom-left wards of B01 and the left column of B02: the beats
    # straddle the new line and are split along it (largest part keeps the id)
    spec = {"changes": [{"op": "create", "level": "npa", "id": "N3", "name": "Three",
                         "wards": ["W00", "W10", "W02", "W12", "W01", "W11"]}]}  # fmt: skip
    r = reorganise(wards, spec)
    assert {w for w, n in where(r, "npa").items() if n == "N3"} == {
        "W00", "W10", "W01", "W11", "W02", "W12"
    }  # fmt: skip
    # sector S1 keeps its id in N3 (6 wards), its other 2 wards become S1-2; beat B02 is cut
    # 2/2: the tie goes to the part in the smaller parent id (S1), the rest becomes B02-2
    sectors, beats = where(r, "sector"), where(r, "beat")
    assert sectors["W00"] == "S1" and sectors["W03"] == "S1-2" and sectors["W04"] == "S2"
    assert beats["W00"] == "B01" and beats["W02"] == "B02" and beats["W03"] == "B02-2"
    assert r.names["beat"]["B02-2"].startswith("B02 (")
    assert r.wards.loc[r.wards["beat"] == "B02-2", "npa"].unique().tolist() == ["N1"]
    assert any("split along the new line" in w for w in r.warnings)
    assert (r.steps["step"] == "(nesting)").sum() == 2  # beat B02 and sector S1
    assert r.checks.ok
    assert_invariants(r, 24)
    assert change(r, "beat", "B02-2")["status"] == "new"
    assert change(r, "beat", "B02")["wards_lost"] == "W03;W13"
    assert change(r, "npa", "N3")["from"] == "N1 (6)"


def test_create_from_districts_by_code_or_name(wards):
    for key in ("D-EAST", "east"):
        r = reorganise(
            wards,
            {"changes": [{"op": "create", "level": "npa", "id": "NE", "districts": [key]}]},
        )
        east = set(wards.loc[wards["district"] == "D-EAST", "id"])
        assert {w for w, n in where(r, "npa").items() if n == "NE"} == east
        assert r.checks.ok


def test_create_gets_the_next_id_of_the_levels_pattern(wards):
    r = reorganise(
        wards,
        {"changes": [{"op": "create", "level": "beat", "wards": ["W00", "W01"]}]},
    )
    assert set(r.wards.loc[r.wards["id"].isin(["W00", "W01"]), "beat"]) == {"B07"}
    assert r.names["beat"].get("B07") is None


def test_create_from_other_areas(wards):
    r = reorganise(
        wards,
        {"changes": [{"op": "create", "level": "sector", "id": "SX",
                      "areas": {"beat": ["B02", "B05"]}, "within": {"npa": "N1"}}]},
    )  # fmt: skip
    assert set(r.wards.loc[r.wards["sector"] == "SX", "beat"]) == {"B02", "B05"}
    assert r.checks.ok
    assert_invariants(r, 24)


def test_move_takes_the_new_areas_parents(wards):
    r = reorganise(
        wards, {"changes": [{"op": "move", "level": "beat", "wards": ["W04"], "to": "B02"}]}
    )
    row = r.wards.set_index("id").loc["W04"]
    assert (row["beat"], row["sector"], row["npa"]) == ("B02", "S1", "N1")
    assert r.crosswalk.set_index("ward").loc["W04", "changed"] == "beat;sector;npa"
    assert r.summary["wards_moved"] == 1
    assert change(r, "beat", "B03")["wards_lost"] == "W04"
    assert change(r, "beat", "B02")["wards_gained"] == "W04"
    assert change(r, "beat", "B03")["retained"] == pytest.approx(0.75)
    assert r.checks.ok
    assert_invariants(r, 24)


def test_move_that_leaves_areas_in_pieces(wards):
    # W00 (bottom-left corner) to B03 (bottom-right): it takes B03's sector and NPA too, so
    # beat B03, sector S2 and NPA N2 each get a detached piece
    spec = {"changes": [{"op": "move", "level": "beat", "wards": ["W00"], "to": "B03"}]}
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    problems = err.value.problems
    for area in ("beat B03", "sector S2", "npa N2"):
        assert f"changes[0]: after the changes {area} is in 2 pieces (cut off: W00)" in " ".join(
            problems
        )
    assert len(problems) == 3
    spec["exceptions"] = {"beat": ["B03"], "sector": ["S2"], "npa": ["N2"]}
    r = reorganise(wards, spec)
    assert r.checks.ok and "B03" in r.exceptions["beat"]
    assert {p.level for p in r.checks.warnings} == {"beat", "sector", "npa"}


def test_split(wards):
    spec = {"changes": [{"op": "split", "level": "beat", "area": "B01", "into": [
        {"id": "B01", "name": "B01 west", "wards": ["W00", "W10"]},
        {"id": "B01E", "rest": True},
    ]}]}  # fmt: skip
    r = reorganise(wards, spec)
    beats = where(r, "beat")
    assert [beats[w] for w in ("W00", "W10", "W01", "W11")] == ["B01", "B01", "B01E", "B01E"]
    assert r.names["beat"]["B01"] == "B01 west"
    assert r.names["beat"]["B01E"] == "B01 part 2"
    assert change(r, "beat", "B01")["status"] == "changed"
    assert change(r, "beat", "B01E")["status"] == "new"
    assert r.wards.loc[r.wards["beat"] == "B01E", "sector"].unique().tolist() == ["S1"]
    assert r.checks.ok
    assert_invariants(r, 24)


def test_split_problems(wards):
    spec = {"changes": [{"op": "split", "level": "beat", "area": "B01", "into": [
        {"id": "B01A", "wards": ["W00", "W11", "W02"]},   # not contiguous; W02 is in B02
        {"id": "B02", "wards": ["W10"]},                  # an id taken; W01 left out
    ]}]}  # fmt: skip
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    msg = str(err.value)
    assert "changes[0].into[0].wards: ward W02 is in beat B02, not in B01" in msg
    assert "changes[0].into: 1 ward(s) of beat B01 are in no part: W01" in msg
    assert "changes[0].into[1].id: beat B02 already exists" in msg
    assert "changes[0].into[0]: part B01A of beat B01 would be in 2 pieces" in msg


def test_rename(wards):
    spec = {"changes": [
        {"op": "rename", "level": "npa", "area": "N1", "id": "NORTH", "name": "Northern"},
        {"op": "rename", "level": "beat", "area": "B05", "name": "Fifth"},
    ]}  # fmt: skip
    r = reorganise(wards, spec)
    assert "N1" not in set(r.wards["npa"]) and r.names["npa"]["NORTH"] == "Northern"
    assert change(r, "npa", "NORTH")["status"] == "renamed"
    assert change(r, "npa", "NORTH")["old_id"] == "N1"
    assert change(r, "npa", "NORTH")["old_name"] == "North One"
    assert change(r, "beat", "B05")["status"] == "renamed"
    assert r.summary["wards_moved"] == 0
    assert set(r.crosswalk["changed"]) == {""}


def test_steps_are_applied_in_order(wards):
    spec = {"changes": [
        {"op": "merge", "level": "npa", "areas": ["N1", "N2"], "id": "N"},
        {"op": "rename", "level": "npa", "area": "N", "name": "Whole"},
        {"op": "rename", "level": "npa", "area": "N1", "name": "gone"},
    ]}  # fmt: skip
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    assert err.value.problems == [
        "changes[2].area: npa 'N1' no longer exists at this point (an earlier change removed it)"
    ]
    spec["changes"].pop()
    assert reorganise(wards, spec).names["npa"] == {"N": "Whole"}


def test_toml_spec_file(wards, tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(
        '[[changes]]\nop = "merge"\nlevel = "npa"\nareas = ["N1", "N2"]\nid = "N"\n',
        encoding="utf-8",
    )
    r = reorganise(wards, p)
    assert set(r.wards["npa"]) == {"N"} and r.summary["spec_source"] == str(p)


# ------------------------------------------------------------------------ bad specs
def test_every_problem_at_once_with_key_paths(wards, tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        """
changes:
  - op: merge
    level: npas
    areas: [N1, N2]
  - op: move
    level: beat
    wards: [W00, W0O, W99]
    to: S1
  - op: create
    level: beat
    id: B01
    wards: [W00]
  - op: move
    level: beat
    wards: [W01]
    to: B02
    colour: red
exceptions:
  sector: [S9]
""",
        encoding="utf-8",
    )
    with pytest.raises(ValidationError) as err:
        reorganise(wards, p)
    e = err.value
    assert e.source == str(p)
    expected = [
        "changes[0].level: unknown level 'npas'",
        "changes[1].to: 'S1' is a sector, not a beat",
        "changes[1].wards[1]: unknown ward code 'W0O'",
        "changes[1].wards[2]: unknown ward code 'W99'",
        "changes[2].id: beat B01 already exists",
        "changes[2].wards[0]: ward W00 is given twice at level beat (also at changes[1].wards[0])",
        "changes[3].colour: unknown key for op 'move'",
        "exceptions.sector[0]: no sector 'S9' after the changes",
    ]
    for want in expected:
        assert any(q.startswith(want) for q in e.problems), (want, e.problems)
    assert len(e.problems) == len(expected)
    assert "did you mean 'npa'" in str(e)
    assert str(e).splitlines()[0] == f"{p}: {len(expected)} problems found:"


def test_a_ward_given_twice_at_one_level(wards):
    spec = {"changes": [
        {"op": "move", "level": "beat", "wards": ["W02"], "to": "B01"},
        {"op": "move", "level": "beat", "wards": ["W02"], "to": "B02"},
        {"op": "create", "level": "npa", "wards": ["W02", "W03", "W12", "W13"]},  # other level
    ]}  # fmt: skip
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    assert [q for q in err.value.problems if "given twice" in q] == [
        "changes[1].wards[0]: ward W02 is given twice at level beat (also at "
        "changes[0].wards[0]); each ward can be placed once"
    ]


def test_districts_need_a_district_column(wards):
    spec = {"changes": [{"op": "create", "level": "npa", "districts": ["Nowhere", "West"]}]}
    with pytest.raises(ValidationError) as err:
        reorganise(wards, spec)
    assert "changes[0].districts[0]: no ward lies in district 'Nowhere'" in str(err.value)
    with pytest.raises(ValidationError, match="has no district column 'lad'"):
        reorganise(wards, {"district_column": "lad", **spec})


def test_levels_the_spec_expects(wards):
    spec = {"levels": ["beat", "npa"], "changes": [{"op": "rename", "level": "npa",
                                                    "area": "N1", "name": "x"}]}  # fmt: skip
    r = reorganise(wards, spec)  # the spec's levels are used when none are given
    assert r.levels == ("beat", "npa") and "sector" not in r.layers
    with pytest.raises(ValidationError, match="the spec expects levels beat, npa"):
        reorganise(wards, spec, levels=["beat", "sector", "npa"])


def test_a_current_hierarchy_that_does_not_nest(wards):
    w = wards.copy()
    w.loc[w["id"] == "W00", "npa"] = "N2"
    with pytest.raises(ValidationError, match="must nest before it is reorganised"):
        reorganise(w, None)


# ------------------------------------------------------------------------ inputs
def _no_crs(w):
    return w.set_crs(None, allow_override=True)


def _duplicate(w):
    w = w.copy()
    w.loc[1, "id"] = "W00"
    return w


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (_no_crs, CRSError, "current: the ward table has no CRS; set one with .set_crs"),
        (lambda w: w.iloc[:0], EmptyInputError, "current: the layer has no features"),
        (_duplicate, DuplicateIdError, "current: duplicate ward codes in column 'id': 'W00' ×2"),
        (
            lambda w: w.drop(columns=["beat", "sector", "npa"]),
            ColumnNotFoundError,
            "no level column found \\(looked for beat, sector, npa\\)",
        ),
    ],
    ids=["no CRS", "empty", "duplicate ward codes", "no level column"],
)
def test_a_bad_current_ward_table_is_one_clear_error(wards, make, error, message):
    with pytest.raises(error, match=message):
        reorganise(make(wards), None)


def test_bad_incidents_and_missing_plan(wards, tmp_path):
    with pytest.raises(InputFormatError, match="incidents: expected points"):
        reorganise(wards, None, incidents="crimes.csv")
    with pytest.raises(InputFormatError, match="no boundaries.gpkg found"):
        reorganise(tmp_path / "nowhere", None)


def test_current_from_a_written_plan_and_from_a_ward_file(wards, tmp_path):
    first = reorganise(
        wards,
        {"changes": [{"op": "merge", "level": "beat", "areas": ["B05", "B06"], "id": "B56",
                      "within": {"sector": "S3"}, "allow_non_contiguous": False}]},
    )  # fmt: skip
    write_plan(tmp_path / "plan", first)
    rename = {"op": "rename", "level": "npa", "area": "N1", "name": "Uno"}
    second = reorganise(tmp_path / "plan", {"changes": [rename]})
    assert second.levels == ("beat", "sector", "npa")
    assert second.names["npa"] == {"N1": "Uno", "N2": "North Two"}
    assert set(second.wards["beat"]) == set(first.wards["beat"])
    f = tmp_path / "wards.gpkg"
    wards.to_file(f, layer="wards_table")
    third = reorganise(f, None)
    assert third.checks.ok and len(third.wards) == 24


def test_demand_old_and_new(wards):
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, [6000, 4000], size=(500, 2)) + [X0, Y0]
    pts = gpd.GeoDataFrame(
        {"category": ["Burglary"] * 501},
        geometry=gpd.points_from_xy(np.r_[xy[:, 0], X0 + 9000.0], np.r_[xy[:, 1], Y0]),
        crs=27700,
    )
    r = reorganise(
        wards,
        {"changes": [{"op": "move", "level": "beat", "wards": ["W02", "W12"], "to": "B01"}]},
        incidents=pts,
    )
    assert r.summary["incidents_total"] == 500 and r.summary["incidents_outside"] == 1
    x, y = xy[:, 0] - X0, xy[:, 1] - Y0
    in_moved = (x >= 2000) & (x < 3000) & (y < 2000)
    assert r.summary["demand_shifted"] == in_moved.sum()
    b01 = change(r, "beat", "B01")
    assert b01["incidents_new"] - b01["incidents_old"] == in_moved.sum()
    for lv in r.levels:
        live = r.changes[(r.changes["level"] == lv) & r.changes["id"].notna()]
        assert live["incidents_new"].sum() == 500
        assert live["deviation_pct"].mean() == pytest.approx(0, abs=1e-9)
        assert r.layers[lv]["incidents"].sum() == 500
    assert r.layers["force"]["incidents"].iloc[0] == 500
    harm = reorganise(wards, None, incidents=pts, weights="harm")
    assert harm.layers["npa"]["demand"].sum() == pytest.approx(40.0 * 500)


def test_the_same_input_gives_the_same_result(wards):
    spec = {"changes": [{"op": "create", "level": "npa", "wards": ["W00", "W10", "W02"]},
                        {"op": "create", "level": "beat", "wards": ["W35"]}]}  # fmt: skip
    with pytest.raises(ValidationError):  # W02 does not touch W00/W10
        reorganise(wards, spec)
    spec["changes"][0]["wards"] = ["W00", "W10", "W01", "W11", "W02"]
    a, b = reorganise(wards, spec), reorganise(wards.sample(frac=1, random_state=3), spec)
    cols = ["level", "id", "status", "n_wards", "area_new_m2"]
    pd.testing.assert_frame_equal(a.changes[cols], b.changes[cols])
    assert set(a.wards["npa"]) == {"N1", "N2", "N3"}
    assert set(a.wards["beat"]) >= {"B07", "B02-2"}


# ------------------------------------------------------------------------ properties
@st.composite
def moves(draw):
    n_rows = draw(st.sampled_from([2, 4]))
    n_cols = draw(st.sampled_from([4, 6]))
    w = grid(n_rows, n_cols)
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["move", "merge", "create"]))
        level = draw(st.sampled_from(["beat", "sector", "npa"]))
        ids = sorted(w[level].unique())
        if kind == "move":
            ward = draw(st.sampled_from(sorted(w["id"])))
            ops.append(
                {"op": "move", "level": level, "wards": [ward], "to": draw(st.sampled_from(ids))}
            )
        elif kind == "merge" and len(ids) > 1:
            pair = draw(st.lists(st.sampled_from(ids), min_size=2, max_size=2, unique=True))
            op = {
                "op": "merge",
                "level": level,
                "areas": pair,
                "allow_non_contiguous": draw(st.booleans()),
            }
            up = {"beat": "sector", "sector": "npa"}.get(level)
            if up is not None and draw(st.booleans()):  # say where the merged area goes
                op["within"] = {up: str(w.loc[w[level] == pair[0], up].iloc[0])}
            ops.append(op)
        else:
            chosen = draw(
                st.lists(st.sampled_from(sorted(w["id"])), min_size=1, max_size=4, unique=True)
            )
            ops.append(
                {
                    "op": "create",
                    "level": "npa",
                    "wards": chosen,
                    "allow_non_contiguous": draw(st.booleans()),
                }
            )
    return w, {"changes": ops}  # fmt: skip


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(moves())
def test_any_accepted_spec_keeps_every_invariant(case):
    wards, spec = case
    try:
        r = reorganise(wards, spec)
    except ValidationError as err:  # refused: every problem says where in the spec it is
        assert err.problems
        assert all(q.startswith(("changes[", "exceptions", "(nesting)")) for q in err.problems)
        return
    assert r.checks.ok, str(r.checks)
    assert_invariants(r, len(wards))
    # the crosswalk says where each ward went, and what moved adds up
    moved = r.crosswalk["changed"] != ""
    assert moved.sum() == r.summary["wards_moved"]
    old = r.changes[r.changes["old_id"].notna()].drop_duplicates(["level", "old_id"])
    assert (old.groupby("level")["n_wards_old"].sum() == len(wards)).all()
