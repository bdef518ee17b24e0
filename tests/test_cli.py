"""The command line through its real entry points: exit codes and one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BEATPLAN = shutil.which("beatplan", path=str(Path(sys.executable).parent))


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "beatplan", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_version_through_console_script_and_module():
    assert BEATPLAN is not None, "console script `beatplan` is not installed next to python"
    from beatplan import __version__

    script = subprocess.run([BEATPLAN, "--version"], capture_output=True, text=True, check=True)
    module = run("--version")
    assert module.returncode == 0
    assert __version__ in script.stdout
    assert script.stdout == module.stdout


def test_show_versions_lists_dependencies():
    res = run("show-versions")
    assert res.returncode == 0
    for name in ("geopandas", "shapely", "pyproj", "GEOS", "PROJ"):
        assert name in res.stdout


def test_unknown_command_is_a_usage_error():
    res = run("no-such-command")
    assert res.returncode == 2
    assert "no-such-command" in res.stderr


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "nope.gpkg"
    res = run("info", str(missing))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "nope.gpkg" in res.stderr
    assert "Traceback" not in res.stderr


def test_verbose_shows_the_traceback(tmp_path):
    res = run("-v", "info", str(tmp_path / "nope.gpkg"))
    assert res.returncode != 0
    assert "Traceback" in res.stderr


@pytest.mark.parametrize("args", [["info"], ["sample"]])
def test_missing_arguments_exit_2(args):
    assert run(*args).returncode == 2


def test_info_describes_boundaries_and_incidents(shared_data):
    wards = shared_data / "leicestershire_boundaries" / "wd13_wards_by_lad"
    crime = shared_data / "leicestershire_street_crime" / "2022-10-leicestershire-street.csv"
    res = run("info", str(wards), str(crime))
    assert res.returncode == 0, res.stderr
    assert "features: 171" in res.stdout
    assert "WD13CD" in res.stdout
    assert "EPSG:27700" in res.stdout
    assert "9,802" in res.stdout or "9802" in res.stdout


def test_info_reports_a_wrong_crs_without_crashing(shared_data):
    res = run("info", str(shared_data / "chicago" / "community_areas.geojson"))
    assert res.returncode == 2, res.stderr  # problems found: not a success (issue 11)
    assert "problems found in 1 of 1 input(s)" in res.stderr
    assert "problems found" in res.stdout
    assert "4236" in res.stdout


def test_sample_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "county"
    first = run("sample", str(out), "--seed", "7")
    assert first.returncode == 0, first.stderr
    assert (out / "boundaries.gpkg").is_file()
    assert len(list((out / "crime").glob("*.csv"))) == 12
    again = run("sample", str(out), "--seed", "7")
    assert again.returncode == 2
    assert "overwrite" in again.stderr.lower()


@pytest.mark.parametrize(
    "args",
    [
        ["design", "--wards", "w.gpkg", "--beats", "3"],
        ["realign", "--wards", "w.gpkg", "--beats", "b.gpkg"],
        ["reorganise", "--current", "p", "--spec", "s.yaml"],
        ["hotspots", "x.csv"],
        ["map", "briefing", "x.csv"],
        ["map", "planning", "p"],
        ["map", "changes", "p", "q"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
def test_a_required_out_left_off_is_a_usage_error(args: list[str]) -> None:
    """Every required option is enforced (click >= 8.3 took an explicit default=None as given)."""
    from click.testing import CliRunner

    from beatplan.cli import main

    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert "Missing option '--out'" in res.output


def test_a_boundary_input_can_dissolve_an_area_drawn_in_parts(tmp_path: Path) -> None:
    import geopandas as gpd
    from click.testing import CliRunner
    from shapely import box

    from beatplan.cli import main

    path = tmp_path / "beats.geojson"
    gpd.GeoDataFrame(
        {"beat": ["A", "A", "B"]},
        geometry=[box(0, 0, 1000, 1000), box(3000, 0, 4000, 1000), box(1000, 0, 2000, 1000)],
        crs=27700,
    ).to_file(path)
    refused = CliRunner().invoke(main, ["info", str(path)])
    assert refused.exit_code == 2 and "FILE:dissolve" in refused.output
    merged = CliRunner().invoke(main, ["info", f"{path}:id=beat:dissolve"])
    assert merged.exit_code == 0, merged.output
    assert "merged the features sharing an id" in merged.output
