"""Bad-input catalogue, design() and ``beatplan design`` (issue 10).

Each case gives design(), priority_area() or the command an input a careless or hostile user
might, and checks the clean error (a beatplan error class and its message; a command: one
line and exit 2, naming an option that exists) or, when the input is handled, that nothing
was lost: every ward once, in a plan that passes its checks.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from test_design import tessellation

from bad_inputs.catalogue import CliError, cli, cli_error, registry
from beatplan.boundaries.design import design, priority_area
from beatplan.geo.errors import (
    ColumnNotFoundError,
    EmptyInputError,
    InputFormatError,
    OptionError,
    ValidationError,
)

CASES, case = registry()


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("design_bad")
    w = tessellation(5, 4, 1)
    w["district"] = np.where(np.arange(len(w)) < 10, "A", "B")
    w.to_file(root / "wards.gpkg")
    poly = gpd.GeoDataFrame({"dist": ["A"]}, geometry=[w.union_all()], crs=w.crs)
    poly.to_file(root / "lines.gpkg")
    (root / "table.csv").write_text("a,b\n1,2\n")
    return SimpleNamespace(root=root, w=w, wards=root / "wards.gpkg", lines=root / "lines.gpkg",
                           csv=root / "table.csv")  # fmt: skip


@pytest.fixture
def e(base: SimpleNamespace, tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(**vars(base), tmp=tmp_path)


def once(d: Any, wards: gpd.GeoDataFrame) -> None:
    """Every ward once, and a plan that passes its checks."""
    got = d.wards[d.ward_id].astype(str)
    assert got.is_unique and set(got) == set(wards["id"].astype(str))
    assert d.checks.ok, d.describe()


# --------------------------------------------------------------------------------- the API
@case("beats=None", ValidationError, r"beats=None: give how many beats")
def beats_none(e: Any) -> None:
    design(e.w, beats=None)


@case("a seed that is not a whole number", ValidationError, r"seed='x': expected a whole")
def seed_text(e: Any) -> None:
    design(e.w, beats=2, seed="x")


@case("demand as a mapping", InputFormatError, r"demand: expected 'wards', a ward column")
def demand_mapping(e: Any) -> None:
    design(e.w, beats=2, demand={"W0000": 1})


@case("an unknown demand column", ColumnNotFoundError, r"demand='nope' is not a column.*--demand")
def demand_column(e: Any) -> None:
    design(e.w, beats=2, demand="nope")


@case("weights with a demand column", OptionError, r"weighs incident points.*--incidents")
def weights_column(e: Any) -> None:
    design(e.w, beats=2, demand="people", weights="harm")


@case("incident points none of which falls in the wards", ValidationError,
      r"none of the 2 incident point\(s\) falls in the wards")  # fmt: skip
def points_outside(e: Any) -> None:
    far = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs=27700)
    design(e.w, beats=2, demand=far)


@case("no incident points at all", ValidationError, r"none of the 0 incident point")
def points_empty(e: Any) -> None:
    design(e.w, beats=2, demand=gpd.GeoDataFrame(geometry=[], crs=27700))


@case("a within column with blanks", ValidationError, r"1 ward\(s\) have no 'district': W0003")
def within_blank(e: Any) -> None:
    design(e.w.assign(district=e.w["district"].where(e.w["id"] != "W0003")), beats=2,
           within="district")  # fmt: skip


@case("within polygons that hold none of the wards", ValidationError,
      r"none of the 20 wards lies in any of the 1 fixed polygon")  # fmt: skip
def within_elsewhere(e: Any) -> None:
    away = gpd.GeoDataFrame({"id": ["X"]}, geometry=[shapely.box(0, 0, 10, 10)], crs=27700)
    design(e.w, beats=2, within=away)


@case("within polygons: an empty layer", EmptyInputError, r"within: no polygons")
def within_empty(e: Any) -> None:
    design(e.w, beats=2, within=gpd.GeoDataFrame({"id": []}, geometry=[], crs=27700))


@case("a current plan with wards in no area", ValidationError,
      r"1 ward\(s\) are in no current beat: W0000")  # fmt: skip
def current_blank(e: Any) -> None:
    cur = e.w.assign(beat=np.where(e.w["id"] == "W0000", None, "B1"))
    design(e.w, beats=2, current=cur)


@case("current given as a number", InputFormatError, r"current: expected a plan")
def current_number(e: Any) -> None:
    design(e.w, beats=2, current=5)


@case("wards as a table without geometry", InputFormatError, r"a table without geometry")
def wards_table(e: Any) -> None:
    design(pd.DataFrame({"id": ["a"]}), beats=1)


@case("wards given as a number", InputFormatError, r"expected a GeoDataFrame of ward polygons")
def wards_number(e: Any) -> None:
    design(5, beats=1)


@case("priority_area with a negative area", ValidationError, r"km2=-1: expected an area above 0")
def priority_negative(e: Any) -> None:
    priority_area(e.w, demand="people", km2=-1)


@case("priority_area with an area no ward fits", ValidationError,
      r"no single ward fit\(s\) in 0.0001 km²; allow more area \(km2=\)")  # fmt: skip
def priority_tiny(e: Any) -> None:
    priority_area(e.w, demand="people", km2=0.0001)


@case("priority_area harm-weighting a ward column", lost="the column taken as given")
def priority_harm_column(e: Any) -> None:
    pa = priority_area(e.w, demand="people", size=2)  # harm=True weighs incidents only
    assert len(pa.ids) == 2 and pa.demand == e.w.set_index("id").loc[pa.ids, "people"].sum()


# ------------------------------------------------------------------------- the command line
@case(
    "--within FILE:COLUMN naming no column",
    CliError,
    r"--within .*'nope' is not a column of .* \(its columns: dist\); give --within FILE:COLUMN",
)
def within_file_column(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 2, "--within", f"{e.lines}:nope", "--out",
              e.tmp / "p")  # fmt: skip


@case("--within FILE:COLUMN", lost="every ward once; the plan passes its checks")
def within_file_ok(e: Any) -> None:
    res = cli("design", "--wards", e.wards, "--beats", 2, "--demand", "people", "--tolerance",
              0.2, "--within", f"{e.lines}:dist", "--out", e.tmp / "p")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    from beatplan.boundaries.outputs import read_plan

    once(read_plan(e.tmp / "p"), e.w)


@case("--demand naming no column", CliError, r"demand='nope' is not a column.*--demand COLUMN")
def cli_demand_column(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 2, "--demand", "nope", "--out", e.tmp / "p")


@case("--demand naming a text column", CliError, r"20 ward\(s\) have no number")
def cli_demand_text(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 2, "--demand", "district", "--out",
              e.tmp / "p")  # fmt: skip


@case("--incidents with --demand", CliError, r"give either --incidents or --demand, not both")
def cli_both(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 2, "--demand", "people", "--incidents",
              e.csv, "--out", e.tmp / "p")  # fmt: skip


@case("--harm without --incidents", CliError, r"--harm weighs incidents: give --incidents too")
def cli_harm(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 2, "--harm", "--out", e.tmp / "p")


@case("--current a ward file without level columns", CliError,
      r"current: no column for any level designed \(beat\)")  # fmt: skip
def cli_current_levels(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 2, "--current", e.wards, "--out",
              e.tmp / "p")  # fmt: skip


@case("--current a ward file whose one layer is called wards", lost="read as a ward table")
def cli_current_ward_file(e: Any) -> None:
    cur = e.tmp / "wards.gpkg"  # its layer is named "wards", as a plan's is; no force layer
    e.w.assign(beat=np.where(e.w["district"] == "A", "B1", "B2")).to_file(cur)
    res = cli("design", "--wards", e.wards, "--beats", 2, "--demand", "people", "--tolerance",
              0.3, "--current", cur, "--out", e.tmp / "p")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    from beatplan.boundaries.outputs import read_plan

    once(read_plan(e.tmp / "p"), e.w)


@case("--wards a table without geometry", CliError, r"has no geometry column")
def cli_wards_csv(e: Any) -> None:
    cli_error("design", "--wards", e.csv, "--beats", 2, "--out", e.tmp / "p")


@case("more beats than wards", CliError, r"beats=50 but there are only 20 wards")
def cli_too_many(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 50, "--out", e.tmp / "p")


@case("more NPAs than beats", CliError, r"beats=4 is fewer than npas=6")
def cli_npas(e: Any) -> None:
    cli_error("design", "--wards", e.wards, "--beats", 4, "--npas", 6, "--out", e.tmp / "p")


@case("a tolerance the ward lines cannot meet", CliError,
      r"below what the ward lines allow.*--best-effort")  # fmt: skip
def cli_tolerance(e: Any) -> None:
    res = cli("design", "--wards", e.wards, "--beats", 3, "--demand", "people", "--tolerance",
              0.0001, "--out", e.tmp / "p")  # fmt: skip
    assert res.exit_code == 2 and "Traceback" not in res.stderr
    assert not (e.tmp / "p").exists()  # nothing written without --best-effort
    raise CliError(" ".join(res.stderr.split()))


@case("--out an existing file", CliError, r"exists and is not a folder")
def cli_out_file(e: Any) -> None:
    (e.tmp / "f").write_text("x")
    cli_error("design", "--wards", e.wards, "--beats", 2, "--out", e.tmp / "f")
    assert (e.tmp / "f").read_text() == "x"


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_design_input(c: Any, e: SimpleNamespace) -> None:
    c.check(e)
