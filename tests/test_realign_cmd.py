"""`beatplan realign` and `beatplan reorganise` through the real entry point; the demo run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from beatplan.boundaries.outputs import read_plan
from beatplan.boundaries.pipeline import realign_sample
from beatplan.cli import COMMANDS
from beatplan.geo.errors import OutputExistsError
from beatplan.geo.sample import make_sample


def run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m beatplan ARGS`` (the real entry point)."""
    return subprocess.run(
        [sys.executable, "-m", "beatplan", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_both_commands_are_registered():
    assert COMMANDS["realign"][0] == "realign_cmd"
    assert COMMANDS["reorganise"][0] == "reorganise_cmd"


@pytest.fixture(scope="module")
def county():
    return make_sample()


@pytest.fixture(scope="module")
def sample(county, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    county.write(out)  # what write_sample writes, without making the county twice
    return out


@pytest.fixture(scope="module")
def realigned(sample, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("plans") / "realigned"
    res = run(
        "realign",
        "--wards", sample / "wards_new.geojson",
        "--beats", sample / "beats_old.geojson",
        "--incidents", sample / "crime",
        "--by", "demand",
        "--format", "geojson",
        "--out", out,
    )  # fmt: skip
    return out, res


def test_realign_writes_the_plan_and_a_summary(realigned, sample):
    out, res = realigned
    assert res.returncode == 0, res.stderr
    text = res.stdout
    for phrase in ("wards moved:", "marginal wards:", "demand shifted:", "checks: passed"):
        assert phrase in text
    plan = read_plan(out)
    assert plan.levels == ("beat", "sector", "npa")
    wards_new = gpd.read_file(sample / "wards_new.geojson")
    assert len(plan.wards) == len(wards_new)
    assert set(plan.wards["id"]) == set(wards_new["id"])  # every new ward assigned once
    manifest = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    moved = manifest["summary"]["wards_moved"]
    assert f"wards moved: {moved}" in text
    assert (out / "boundaries_npas.geojson").is_file()
    review = pd.read_csv(out / "review.csv")
    assert f"flagged for review: {len(review)}" in text


def test_realign_refuses_to_overwrite(realigned, sample):
    out, _ = realigned
    before = (out / "changes.md").read_bytes()
    args = ["realign", "--wards", sample / "wards_new.geojson",
            "--beats", sample / "beats_old.geojson", "--out", out]  # fmt: skip
    res = run(*args)
    assert res.returncode == 2
    assert "already holds a plan" in res.stderr and "--overwrite" in res.stderr
    assert "Traceback" not in res.stderr
    assert (out / "changes.md").read_bytes() == before
    res = run(*args, "--overwrite")
    assert res.returncode == 0, res.stderr
    assert "no incidents given" in res.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--by", "demand"], "no incidents were given"),
        (["--by", "nearest"], "'nearest' is not one of 'area', 'demand'"),
    ],
)
def test_realign_bad_arguments(sample, tmp_path, extra, message):
    res = run(
        "realign",
        "--wards", sample / "wards_new.geojson",
        "--beats", sample / "beats_old.geojson",
        "--out", tmp_path / "p", *extra,
    )  # fmt: skip
    assert res.returncode == 2
    assert message in res.stderr
    assert not (tmp_path / "p").exists()


def test_reorganise_a_written_plan(realigned, tmp_path):
    current, _ = realigned
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: Central NPAs merged\n"
        "changes:\n"
        "  - {op: merge, level: npa, areas: [NPA-CE, NPA-CSW], id: NPA-C, name: Central}\n",
        encoding="utf-8",
    )
    res = run("reorganise", "--current", current, "--spec", spec, "--out", tmp_path / "new")
    assert res.returncode == 0, res.stderr
    assert "Central NPAs merged" in res.stdout and "new: NPA-C" in res.stdout
    npas = gpd.read_file(tmp_path / "new" / "boundaries.gpkg", layer="npas")
    old = gpd.read_file(current / "boundaries.gpkg", layer="npas")
    assert len(npas) == len(old) - 1 and "Central" in set(npas["name"])


def test_reorganise_bad_spec_lists_every_problem(realigned, tmp_path):
    current, _ = realigned
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "changes:\n"
        "  - {op: merge, level: npas, areas: [NPA-CE, NPA-CSW]}\n"
        "  - {op: move, level: beat, wards: [E05999999], to: B01}\n"
        "  - {op: rename, level: npa, area: NPA-XX, name: X}\n",
        encoding="utf-8",
    )
    res = run("reorganise", "--current", current, "--spec", spec, "--out", tmp_path / "new")
    assert res.returncode == 2
    err = res.stderr
    assert err.startswith(f"error: {spec}: 3 problems found")
    for path in ("changes[0].level", "changes[1].wards[0]", "changes[2].area"):
        assert f"- {path}:" in err
    assert "E05999999" in err and "Traceback" not in err
    assert not (tmp_path / "new").exists()
    res = run("reorganise", "--current", current, "--spec", tmp_path / "nope.yaml",
              "--out", tmp_path / "new")  # fmt: skip
    assert res.returncode == 2 and "no such spec file" in res.stderr


def test_realign_sample_for_the_demo(sample, county, tmp_path):
    result, files = realign_sample(sample, tmp_path / "demo")  # the files the demo wrote
    assert result.checks.ok, str(result.checks)
    assert result.levels == ("beat", "sector", "npa") and result.by == "demand"
    assert files["gpkg"].is_file() and files["changes_md"].is_file()
    mem, _ = realign_sample(county, tmp_path / "demo2")  # the county in memory
    assert len(mem.wards) == len(result.wards) == len(county.wards_new)
    assert set(mem.wards["beat"]) == set(result.wards["beat"])
    with pytest.raises(OutputExistsError):
        realign_sample(sample, tmp_path / "demo")


def test_realign_files_with_each_level_in_its_own_file(sample, tmp_path):
    from beatplan.boundaries.pipeline import realign_files

    gpkg = sample / "boundaries.gpkg"
    paths = {}
    for layer in ("beats", "sectors", "npas"):
        paths[layer] = tmp_path / f"{layer}.geojson"
        gpd.read_file(gpkg, layer=layer).to_file(paths[layer])
    result, inc = realign_files(
        sample / "wards_new.geojson",
        paths["beats"],
        sectors=paths["sectors"],
        npas=paths["npas"],
    )
    assert inc is None and result.by == "area"
    assert result.levels == ("beat", "sector", "npa")
    assert result.checks.ok, str(result.checks)
    w = result.wards
    assert (w.groupby("beat")["sector"].nunique() == 1).all()
    assert (w.groupby("sector")["npa"].nunique() == 1).all()
    names = dict(zip(result.areas["npa"]["id"], result.areas["npa"]["name"], strict=True))
    npas = gpd.read_file(paths["npas"])
    assert set(names.items()) <= set(zip(npas["id"], npas["name"], strict=True))


def test_wards_coarser_than_the_beats_are_refused_unless_allow_coarse(tmp_path: Path) -> None:
    from click.testing import CliRunner
    from shapely import box

    from beatplan.cli import main

    wards = gpd.GeoDataFrame(
        {"code": ["W1", "W2"]}, geometry=[box(0, 0, 4000, 8000), box(4000, 0, 8000, 8000)],
        crs=27700,
    )  # fmt: skip
    beats = gpd.GeoDataFrame(
        {"code": [f"B{i}{j}" for i in range(4) for j in range(4)]},
        geometry=[box(2000 * i, 2000 * j, 2000 * (i + 1), 2000 * (j + 1))
                  for i in range(4) for j in range(4)],
        crs=27700,
    )  # fmt: skip
    wards.to_file(tmp_path / "wards.geojson")
    beats.to_file(tmp_path / "beats.geojson")
    args = ["realign", "--wards", f"{tmp_path / 'wards.geojson'}:id=code",
            "--beats", f"{tmp_path / 'beats.geojson'}:id=code"]  # fmt: skip
    refused = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "a")])
    assert refused.exit_code == 2 and "--allow-coarse" in refused.output, refused.output
    assert not (tmp_path / "a").exists()
    done = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b"), "--allow-coarse"])
    assert done.exit_code == 0, done.output
    assert len(read_plan(tmp_path / "b").wards) == 2
