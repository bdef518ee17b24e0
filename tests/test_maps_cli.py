"""beatplan map ...: the command line, through click with its real exit codes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from harness.maps import assets_missing_reason

from beatplan.map_cmd import command
from beatplan.maps.offline import external_resources

needs_assets = pytest.mark.skipif(
    assets_missing_reason() is not None, reason=str(assets_missing_reason())
)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(5)
    n = 300
    lon = -1.14 + rng.normal(0, 0.01, n)
    lat = 52.63 + rng.normal(0, 0.007, n)
    csv = pd.DataFrame(
        {
            "Crime ID": [f"id{i}" for i in range(n)],
            "Month": rng.choice(["2022-09", "2022-10"], n),
            "Reported by": "Leicestershire Police",
            "Falls within": "Leicestershire Police",
            "Longitude": lon.round(6),
            "Latitude": lat.round(6),
            "Location": "On or near <b>High Street</b>",
            "LSOA code": "E01000001",
            "LSOA name": "Leicester 001A",
            "Crime type": rng.choice(["Burglary", "Drugs"], n),
            "Last outcome category": "",
            "Context": "",
        }
    )
    inc = d / "2022-10-test-street.csv"
    csv.to_csv(inc, index=False)
    boxes = [shapely.box(-1.2 + 0.03 * i, 52.58, -1.17 + 0.03 * i, 52.68) for i in range(4)]
    beats = gpd.GeoDataFrame({"id": ["B1", "B2", "B3", "B4"], "name": list("ABCD")},
                             geometry=boxes, crs=4326)  # fmt: skip
    bfile = d / "beats.geojson"
    beats.to_file(bfile)
    wards = beats.assign(beat=["B1", "B1", "B2", "B2"], npa="N1")
    wfile = d / "wards.geojson"
    wards.to_file(wfile)
    return {"dir": d, "incidents": inc, "beats": bfile, "wards": wfile}


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(command, list(args))
    return r.exit_code, r.output


@needs_assets
def test_briefing_writes_one_offline_file(files: dict[str, Path]) -> None:
    out = files["dir"] / "brief.html"
    code, text = _run(
        "briefing", str(files["incidents"]), "-b", str(files["beats"]), "--area", "B2",
        "--tiles", "none", "--method", "kde", "--out", str(out),
    )  # fmt: skip
    assert code == 0, text
    assert "wrote" in text and "offline" in text
    html = out.read_text()
    assert external_resources(html) == []
    assert "<b>High Street</b>" not in html
    # an existing output is not replaced without --overwrite: exit 2, one line, file unchanged
    code, text = _run("briefing", str(files["incidents"]), "--tiles", "none", "--out", str(out))
    assert code == 2 and "--overwrite" in text
    assert out.read_text() == html


def test_briefing_online_keeps_cdn_links(files: dict[str, Path]) -> None:
    out = files["dir"] / "online.html"
    code, text = _run(
        "briefing", str(files["incidents"]), "--online", "--method", "none", "--since", "all",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, text
    assert any("leaflet" in u for u in external_resources(out.read_text()))


def test_bad_area_and_bad_tiles_exit_2(files: dict[str, Path]) -> None:
    out = files["dir"] / "bad.html"
    code, text = _run("briefing", str(files["incidents"]), "-b", str(files["beats"]),
                      "--area", "nowhere", "--out", str(out))  # fmt: skip
    assert code == 2 and "nowhere" in text and not out.exists()
    code, text = _run("briefing", str(files["incidents"]), "--tiles", "Google", "--out", str(out))
    assert code == 2 and "tiles" in text.lower()


@needs_assets
def test_planning_and_changes(files: dict[str, Path]) -> None:
    plan = files["dir"] / "plan.html"
    code, text = _run("planning", str(files["wards"]), "-i", str(files["incidents"]),
                      "--tiles", "none", "--out", str(plan))  # fmt: skip
    assert code == 0, text
    assert "Demand per beat" in plan.read_text()
    chg = files["dir"] / "changes.html"
    code, text = _run("changes", str(files["beats"]), str(files["wards"]), "--tiles", "none",
                      "--out", str(chg))  # fmt: skip
    assert code == 0, text
    assert "Beats before" in chg.read_text()


def test_tile_choices_are_the_basemaps_maps_knows() -> None:
    # the command lists them itself so that `beatplan --help` need not import folium
    from beatplan.map_cmd import _TILE_CHOICES
    from beatplan.maps._base import TILES

    assert set(_TILE_CHOICES) == set(TILES)


def test_map_command_through_the_real_entry_point(files: dict[str, Path]) -> None:
    import subprocess
    import sys

    out = files["dir"] / "entry.html"
    run = subprocess.run(
        [sys.executable, "-m", "beatplan", "map", "briefing", str(files["incidents"]),
         "--method", "none", "--since", "all", "--online", "--tiles", "none", "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert out.is_file() and "wrote" in run.stdout
    again = subprocess.run(
        [sys.executable, "-m", "beatplan", "map", "briefing", str(files["incidents"]),
         "--out", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert "Traceback" not in again.stderr


def test_briefing_default_hotspots_coverage_top_and_backtest(files: dict[str, Path]) -> None:
    """The default method force-wide over --hotspots-from; the title says the coverage and,
    when the data allow a backtest (not here: 2 months), what it found."""
    out = files["dir"] / "default.html"
    code, text = _run(
        "briefing", str(files["incidents"]), "-b", str(files["beats"]), "--tiles", "none",
        "--online", "--coverage", "0.5%", "--top", "5", "--out", str(out),
    )  # fmt: skip
    assert code == 0, text
    assert "hotspots (spots, the latest 3 months" in text and "covering 0.50%" in text
    assert "no backtest:" in text and "need more" in text  # 2 months of data: no fold
    html = out.read_text()
    assert "of the study area" in html
    code, text = _run(
        "briefing", str(files["incidents"]), "--tiles", "none", "--online", "--no-backtest",
        "--coverage", "5", "--out", str(files["dir"] / "bad.html"),
    )  # fmt: skip
    assert code == 2 and "5%" in text
