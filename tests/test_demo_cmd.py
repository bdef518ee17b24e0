"""`beatplan demo`: the whole pipeline, written whole or not at all, offline or with a note."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from harness.maps import assets_missing_reason, urls_outside_assets

from beatplan import cli
from beatplan.demo_cmd import PARTS
from beatplan.geo.errors import AssetsNotFoundError
from beatplan.maps import assets


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """One real run through the entry point (python -m beatplan)."""
    reason = assets_missing_reason()
    if reason:
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("demo") / "results"
    res = subprocess.run(
        [sys.executable, "-m", "beatplan", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return out, res


def test_demo_writes_every_part_offline(demo):
    out, res = demo
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(PARTS)
    for name in ("briefing.html", "planning.html", "changes.html"):
        html = (out / name).read_text(encoding="utf-8")
        assert urls_outside_assets(html) == [], name  # no basemap, everything inlined
    assert (out / "plan" / "plan.json").is_file()
    assert f"done: results are in {out.resolve()}" in res.stdout
    assert _leftovers(out.parent) == []


def test_demo_refuses_to_replace_without_overwrite(demo, tmp_path):
    out, res = demo
    assert res.returncode == 0, res.stderr
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    again = CliRunner().invoke(cli.main, ["demo", "--out", str(out)])
    assert again.exit_code == 2
    assert "--overwrite" in again.output
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def _fail_at_maps(monkeypatch: pytest.MonkeyPatch) -> None:
    import beatplan.maps

    def boom(*args: object, **kwargs: object) -> None:
        raise AssetsNotFoundError("stand-in failure while saving a map")

    monkeypatch.setattr(beatplan.maps, "save", boom)


def test_demo_refuses_a_folder_holding_other_files(tmp_path):
    out = tmp_path / "a plan"
    out.mkdir()
    (out / "plan.json").write_text("{}")
    res = CliRunner().invoke(cli.main, ["demo", "--out", str(out)])
    assert res.exit_code == 2
    assert "is not empty (plan.json)" in res.output and "--overwrite" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["plan.json"]
    assert _leftovers(tmp_path) == []


def test_demo_writes_into_an_empty_folder(tmp_path):
    from beatplan.demo_cmd import _check_out

    (tmp_path / "empty").mkdir()
    _check_out(tmp_path / "empty", overwrite=False)  # an empty folder is no one's work


def test_a_failed_demo_leaves_nothing_behind(tmp_path, monkeypatch):
    _fail_at_maps(monkeypatch)
    out = tmp_path / "results"
    res = CliRunner().invoke(cli.main, ["demo", "--out", str(out), "--online"])
    assert res.exit_code == 2
    assert "stand-in failure" in res.output
    assert not out.exists()
    assert _leftovers(tmp_path) == []


def test_a_failed_overwrite_keeps_the_old_demo(tmp_path, monkeypatch):
    out = tmp_path / "results"
    out.mkdir()
    (out / "briefing.html").write_text("old")
    (out / "notes.txt").write_text("mine")
    _fail_at_maps(monkeypatch)
    res = CliRunner().invoke(cli.main, ["demo", "--out", str(out), "--online", "--overwrite"])
    assert res.exit_code == 2
    assert sorted(p.name for p in out.iterdir()) == ["briefing.html", "notes.txt"]
    assert (out / "briefing.html").read_text() == "old"
    assert _leftovers(tmp_path) == []


def _no_assets(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object, **kwargs: object) -> Path:
        raise AssetsNotFoundError("cannot fetch the map assets (stand-in: no network)")

    monkeypatch.setattr(assets, "assets_available", lambda bundles=None: False)
    monkeypatch.setattr(assets, "fetch_assets", fail)


def test_without_assets_the_demo_falls_back_to_a_cdn_and_says_so(tmp_path, monkeypatch):
    _no_assets(monkeypatch)
    out = tmp_path / "results"
    res = CliRunner().invoke(cli.main, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    notes = [line for line in res.output.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and assets.FETCH_COMMAND in notes[0]
    html = (out / "briefing.html").read_text(encoding="utf-8")
    assert "leaflet" in " ".join(urls_outside_assets(html)).lower()  # Leaflet from a CDN


def test_offline_demanded_without_assets_is_a_clear_error(tmp_path, monkeypatch):
    _no_assets(monkeypatch)
    out = tmp_path / "results"
    res = CliRunner().invoke(cli.main, ["demo", "--out", str(out), "--offline"])
    assert res.exit_code == 2
    assert "cannot fetch the map assets" in res.output
    assert not out.exists()
