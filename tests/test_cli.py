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
