"""Tests for ``beatplan hotspots`` (find and backtest) through the click entry point."""

from __future__ import annotations

import click
import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from beatplan import cli
from beatplan.geo import write_sample
from beatplan.hotspots_cmd import command


def run(args: list[str]):
    """Invoke ``beatplan hotspots ...`` through the real entry point."""
    return CliRunner().invoke(cli.main, ["hotspots", *args])


def test_registered_under_beatplan():
    assert cli.main.get_command(click.Context(cli.main), "hotspots") is command


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    write_sample(out)
    return out


def test_find_prints_a_ranked_table_and_writes_the_layer(sample, tmp_path):
    out = tmp_path / "hs.gpkg"
    res = run([str(sample / "crime"), "--boundaries", str(sample / "beats_old.geojson"),
               "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("spots: ")  # the default method
    header = next(line for line in lines if line.strip().startswith("rank"))
    assert "incidents" in header and "beat" in header and "top types" in header
    written = pyogrio.read_dataframe(out, layer="hotspots")
    assert f"wrote {len(written)} hotspots to {out}" in res.output
    assert written["hotspot"].tolist() == list(range(1, len(written) + 1))
    assert {"incidents", "share", "area_m2", "top_types", "beat", "params"} <= set(written.columns)
    # the defaults and how they were chosen are printed
    assert "spacing:" in res.output and "nearest-neighbour" in res.output
    assert "cell:" in res.output and "threshold:" in res.output and "coverage:" in res.output
    # no overwrite without --overwrite
    again = run([str(sample / "crime"), "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    ok = run([str(sample / "crime"), "--out", str(out), "--overwrite", "--method", "kde",
              "--since", "28D", "--show", "3"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert "latest 1 month" in ok.output


def test_find_with_filters_and_one_area(sample, tmp_path):
    out = tmp_path / "beat.geojson"
    res = run([str(sample / "crime"), "--types", "Burglary;Vehicle crime", "--months",
               "2026-01..2026-06", "--boundaries", str(sample / "beats_old.geojson"),
               "--area-id", "B01", "--method", "dbscan", "--background", "0",
               "--out", str(out)])  # fmt: skip
    # (six months of burglary and vehicle crime in one beat: too few for any method's
    # background test, so DBSCAN alone; its default finds none here, as Gi* and KDE)
    assert res.exit_code == 0, res.output
    assert "background: off: every location clustered" in res.output
    assert "types: Burglary, Vehicle crime" in res.output
    assert "area: a polygon of" in res.output  # only beat B01
    beats = pyogrio.read_dataframe(sample / "beats_old.geojson")
    b01 = beats.loc[beats["id"] == "B01"].to_crs(27700).geometry.iloc[0]
    written = pyogrio.read_dataframe(out).to_crs(27700)
    assert len(written) and written.geometry.intersects(b01).all()


def test_find_background_zero_is_gistar_alone(sample, tmp_path):
    res = run([str(sample / "crime"), "--method", "gistar", "--background", "0",
               "--out", str(tmp_path / "a.gpkg")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "background: off: Gi* alone" in res.output
    res4 = run([str(sample / "crime"), "--method", "gistar", "--out", str(tmp_path / "b.gpkg")])
    assert "background: 4.0 - hot cells whose" in res4.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--types", "Burglery"], "did you mean 'Burglary'"),
        (["--cell", "0.001"], "looks like degrees"),
        (["--months", "2019-01"], "selects none"),
        (["--method", "kmeans"], "Invalid value for '--method'"),
        (["--area-id", "B01"], "--area-id needs --boundaries"),
        (
            ["--method", "kde", "--permutations", "99"],
            "permutations= applies to gistar only, not kde",
        ),
        (["--method", "gistar", "--eps", "200"], "eps= applies to dbscan and hdbscan only"),
    ],
)
def test_find_bad_input_exits_2_with_one_line(sample, tmp_path, args, message):
    res = run([str(sample / "crime"), *args, "--out", str(tmp_path / "x.gpkg")])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_missing_file_exits_2(tmp_path):
    res = run([str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "x.gpkg")])
    assert res.exit_code == 2
    assert "nowhere.csv" in res.output


def test_an_out_of_unknown_format_is_refused_before_any_work(tmp_path):
    # the incidents do not exist: the --out check must come first
    res = run([str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "x.txt")])
    assert res.exit_code == 2
    assert "cannot tell the format from the suffix '.txt'" in res.output
    assert "nowhere.csv" not in res.output


def test_backtest_cells_prints_pai_per_method_and_writes_csv(sample, tmp_path):
    out = tmp_path / "bt.csv"
    res = run(["backtest", str(sample / "crime"), "--mode", "cells", "--method", "gistar",
               "--method", "kde", "--coverage", "1%,3%", "--step", "3",
               "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "PAI@1%" in res.output and "PAI@3%" in res.output
    for name in ("naive", "gistar", "kde"):
        assert any(line.startswith(name) for line in res.output.splitlines())
    table = pd.read_csv(out)
    assert set(table["method"]) == {"naive", "gistar", "kde"}
    assert set(table["coverage"]) == {0.01, 0.03}
    again = run(["backtest", str(sample / "crime"), "--method", "kde", "--out", str(out)])
    assert again.exit_code == 2 and "--overwrite" in again.output
    helped = run(["backtest", "--help"])
    out_help = helped.output.split("--out", 1)[1].split("--overwrite", 1)[0]
    assert "Also write" in out_help and "[required]" not in out_help  # the CSV is optional
    bad = run(["backtest", str(sample / "crime"), "--coverage", "one"])
    assert bad.exit_code == 2 and "--coverage" in bad.output
    percent = run(["backtest", str(sample / "crime"), "--coverage", "1,3"])  # the old percents
    assert percent.exit_code == 2 and "give a share (0.005) or a percent with % (1%)" in (
        percent.output
    )
    cells_only = run(["backtest", str(sample / "crime"), "--rank", "count"])
    assert cells_only.exit_code == 2 and "mode='cells' only" in cells_only.output


def test_backtest_map_mode_says_who_beat_the_baseline(sample, tmp_path):
    res = run(["backtest", str(sample / "crime"), "--method", "gistar", "--step", "4"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert "study area" in lines[0] and "derived" in lines[0]
    header = next(line for line in lines if line.strip().startswith("test"))
    for col in ("hotspots", "coverage", "PAI", "naive PAI", "PEI", "won"):
        assert col in header
    verdict = [line for line in lines if line.startswith("gistar (its own threshold): ")]
    assert len(verdict) == 1 and "naive baseline" in verdict[0] and " of " in verdict[0]


def test_find_coverage_top_and_study_area(sample, tmp_path):
    out = tmp_path / "top.gpkg"
    res = run([str(sample / "crime"), "--coverage", "0.5%", "--top", "3", "--study-area",
               str(sample / "wards_new.geojson"), "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "study area:" in res.output and "given (a layer" in res.output
    assert "coverage: " in res.output and "asked 0.005" in res.output
    written = pyogrio.read_dataframe(out, layer="hotspots")
    assert 1 <= len(written) <= 3
    bad = run([str(sample / "crime"), "--coverage", "5", "--out", str(tmp_path / "b.gpkg")])
    assert bad.exit_code == 2 and "5%" in bad.output


def test_study_area_a_plan_folder_or_its_force_layer(tmp_path):
    """--study-area takes a plan folder (its force layer), as --boundaries does."""
    from harness.server import sample_plan

    plan, crime = sample_plan(tmp_path)
    res = run([str(crime), "--study-area", str(plan), "--out", str(tmp_path / "p.gpkg")])
    assert res.exit_code == 0, res.output
    force = pyogrio.read_dataframe(plan / "boundaries.gpkg", layer="force")
    assert f"study area: {force.area.sum() / 1e6:,.1f} km²" in res.output
    assert "given (a layer: 1 feature)" in res.output
    layer = run([str(crime), "--study-area", f"{plan}:force", "--out", str(tmp_path / "f.gpkg")])
    assert layer.exit_code == 0, layer.output
    assert f"study area: {force.area.sum() / 1e6:,.1f} km²" in layer.output
    bad = run([str(crime), "--study-area", f"{plan}:nolayer", "--out", str(tmp_path / "n.gpkg")])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_the_default_method_named_in_the_cli_is_the_library_default():
    from beatplan.hotspots import DEFAULT_METHOD
    from beatplan.hotspots.registry import METHODS
    from beatplan.hotspots_cmd import DEFAULT_METHOD as CLI_DEFAULT
    from beatplan.options import HOTSPOT_METHODS

    assert CLI_DEFAULT == DEFAULT_METHOD
    assert set(HOTSPOT_METHODS) == set(METHODS)
