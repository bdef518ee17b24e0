"""Bad-input catalogue, plans, specs, maps and the command line (issue 11, items 6 and the rest).

Each case gives realign, reorganise, a spec, a map or a command an input a hostile or
careless user might, and checks the clean error (class and message; a command: one line and
exit 2) or, when the input is handled, that nothing was lost: every ward once, figures that
agree, names shown as written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import geopandas as gpd
import pytest

from bad_inputs.catalogue import CliError, cli, cli_error, registry
from beatplan.boundaries.outputs import read_plan, write_plan
from beatplan.boundaries.realign import realign
from beatplan.boundaries.reorganise import reorganise
from beatplan.boundaries.spec import load_spec
from beatplan.geo.errors import ValidationError
from beatplan.geo.sample import make_sample, write_sample
from beatplan.maps import change_map, planning_map

LEVELS = ("beat", "sector", "npa")
CASES, case = registry()


def once(r: Any, wards: gpd.GeoDataFrame) -> None:
    """Every ward is in the result exactly once."""
    got = r.wards[r.ward_id].astype(str)
    assert got.is_unique and set(got) == set(wards["id"].astype(str))


def covered_figure(warnings: Any) -> float:
    found = [re.search(r"cover only (-?[\d.]+)% of the wards' area", w) for w in warnings]
    figures = [float(m.group(1)) for m in found if m]
    assert len(figures) == 1, warnings
    return figures[0]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("plans_bad")
    written = write_sample(root / "sample")
    county = make_sample()
    beats = county.beats
    x = beats.geometry.centroid.x
    half = beats[x < x.median()]
    far = beats.assign(geometry=beats.geometry.translate(100_000, 0))
    files = {}
    for name, layer in (("half", half), ("far", far), ("wards", county.wards_new)):
        files[name] = root / f"{name}.geojson"
        layer.to_file(files[name])
    plan = root / "plan"
    write_plan(plan, realign(county.wards_new, beats, levels=LEVELS))
    return SimpleNamespace(root=root, sample=written["boundaries"].parent, county=county,
                           plan=plan, **files)  # fmt: skip


@pytest.fixture
def e(base: SimpleNamespace, tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(**vars(base), tmp=tmp_path)


# ------------------------------------------------------------------------ realign: coverage
@case("beats covering half the wards", lost="every ward once; the true figure")
def half_coverage(e: Any) -> None:
    c = e.county
    half = gpd.read_file(e.half)
    r = realign(c.wards_new, half, levels=LEVELS)
    once(r, c.wards_new)
    covered = covered_figure(r.warnings)
    truth = half.union_all().intersection(c.wards_new.union_all()).area / c.wards_new.area.sum()
    assert abs(covered - 100 * truth) < 0.1, (covered, truth)  # was "8.8%" (counted twice)


@case("beats 100 km from every ward", ValidationError,
      r"cover only 0\.0% of the wards' area \(150 of 150 wards overlap none")  # fmt: skip
def far_api(e: Any) -> None:
    realign(e.county.wards_new, gpd.read_file(e.far), levels=LEVELS)


@case("beats 100 km away, on the command line", CliError, r"cover only 0\.0%.*--min-coverage")
def far_cli(e: Any) -> None:
    try:
        cli_error("realign", "--wards", e.wards, "--beats", e.far, "--out", e.tmp / "p")
    finally:
        assert not (e.tmp / "p").exists()  # and no "checks: passed"


@case("beats 100 km away with min_coverage=0", lost="every ward once; '0.0%' said")
def far_allowed(e: Any) -> None:
    r = realign(e.county.wards_new, gpd.read_file(e.far), levels=LEVELS, min_coverage=0)
    once(r, e.county.wards_new)
    assert covered_figure(r.warnings) == 0.0


@case("realign's warnings on the command line", lost="each said once, none twice")
def warnings_once(e: Any) -> None:
    res = cli("realign", "--wards", e.wards, "--beats", e.half, "--out", e.tmp / "p")
    assert res.exit_code == 0, res.stderr
    said = [ln for ln in (res.stdout + res.stderr).splitlines() if "cover only" in ln]
    assert len(said) == 1, said
    notes = [ln.split(": ", 1)[1] for ln in (res.stdout + res.stderr).splitlines()
             if ln.lower().startswith("warning: ")]  # fmt: skip
    assert notes and len(notes) == len(set(notes))


@case("-q on realign", lost="only errors: nothing printed, the plan written")
def quiet_realign(e: Any) -> None:
    res = cli("-q", "realign", "--wards", e.wards, "--beats", e.half, "--out", e.tmp / "p")
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == "", res.stderr
    read_plan(e.tmp / "p")


# ------------------------------------------------------------------------------------ specs
def spec_file(e: Any, name: str, text: str) -> Path:
    p = e.tmp / name
    p.write_text(text, encoding="utf-8")
    return p


@case("YAML nested 100,000 deep", ValidationError, "nested deeper than can be read")
def deep_yaml(e: Any) -> None:
    n = 100_000
    load_spec(spec_file(e, "deep.yaml", "changes: " + "[" * n + "]" * n + "\n"))


@case("TOML nested 50,000 deep", ValidationError, "nested deeper than can be read")
def deep_toml(e: Any) -> None:
    n = 50_000
    load_spec(spec_file(e, "deep.toml", "x = " + "[" * n + "]" * n + "\n"))


@case("a lone surrogate in the spec's name", ValidationError,
      r"name: 'bad \\ud800' holds U\+D800, .*lone surrogate")  # fmt: skip
def surrogate_name(e: Any) -> None:
    load_spec(spec_file(e, "s.yaml", 'name: "bad \\ud800"\nchanges: []\n'))


@case("a lone surrogate in a spec, on the command line", CliError,
      r"changes\[0\]\.name: .* lone surrogate")  # fmt: skip
def surrogate_cli(e: Any) -> None:
    spec = spec_file(e, "s.yaml", "changes:\n  - {op: rename, level: npa, area: NPA-CE, "
                     'name: "x\\udfff"}\n')  # fmt: skip
    try:
        cli_error("reorganise", "--current", e.plan, "--spec", spec, "--out", e.tmp / "new")
    finally:
        assert not (e.tmp / "new").exists()  # refused at the checks, not at the write


@case("billion laughs (nested YAML aliases)", ValidationError, "unknown key for the spec")
def laughs(e: Any) -> None:
    lines, prev = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'], "a"
    for c in "bcdefghi":
        lines.append(f"{c}: &{c} [" + ",".join(["*" + prev] * 9) + "]")
        prev = c
    load_spec(spec_file(e, "laughs.yaml", "\n".join([*lines, "changes: [*i]"]) + "\n"))


@case("a YAML !!python/object tag", ValidationError, "could not determine a constructor")
def python_tag(e: Any) -> None:
    load_spec(spec_file(e, "t.yaml", 'changes: !!python/object/apply:os.system ["echo hi"]\n'))


# ------------------------------------------------------------------------ reorganise figures
@case("merge and rename: the summary, crosswalk and change map", lost="the three agree")
def figures_agree(e: Any) -> None:
    plan = read_plan(e.plan)
    npas = sorted(plan.layers["npa"]["id"])
    spec = {"changes": [
        {"op": "merge", "level": "npa", "areas": npas[:2], "id": "NPA-M", "name": "Merged"},
        {"op": "rename", "level": "npa", "area": npas[2], "id": "NPA-R"},
    ]}  # fmt: skip
    r = reorganise(e.plan, spec)
    once(r, plan.wards)
    cw = r.crosswalk
    for lv in r.levels:
        moved = cw["changed"].str.split(";").map(lambda xs, lv=lv: lv in xs)
        renamed = cw["renamed"].str.split(";").map(lambda xs, lv=lv: lv in xs)
        idchg = cw[f"{lv}_old"] != cw[lv]
        by = r.summary["by_level"][lv]
        assert moved.sum() == by["wards_moved"] and renamed.sum() == by["wards_renamed"]
        assert (idchg == (moved | renamed)).all()  # no ward whose id changed goes unsaid
        html = change_map(plan, r, level=lv, tiles=None).get_root().render()
        assert f"{by['wards_moved']} ward{'s' if by['wards_moved'] != 1 else ''} moved" in html
    assert r.summary["by_level"]["npa"]["wards_renamed"] > 0  # the merge and the rename


# --------------------------------------------------------------------------- names in outputs
def _named(e: Any, names: dict[str, str]) -> Any:
    c = e.county
    beats = c.beats.copy()
    beats["name"] = beats["id"].map(names).fillna(beats["name"])
    return realign(c.wards_new, beats, levels=LEVELS)


def _planning_with(e: Any, sep: str) -> None:
    name = f"North{sep}Beat"
    r = _named(e, {"B01": name})
    html = planning_map(r, tiles=None).get_root().render()
    assert "North" in html and "Beat" in html


@case("U+2028 in a beat name: planning map", lost="drawn, the name kept")
def name_u2028(e: Any) -> None:
    _planning_with(e, "\u2028")


@case("U+0085 in a beat name: planning map", lost="drawn, the name kept")
def name_u0085(e: Any) -> None:
    _planning_with(e, "\x85")


FORMULAS = {"B01": '=HYPERLINK("http://x","y")', "B02": "@SUM(A1)", "B03": "+1", "B04": "-1+2",
            "B05": "\tTab", "B06": "\rCR", "B07": "'quoted"}  # fmt: skip


@case("spreadsheet formulas in names: the CSVs", lost="neutralised, and read back exact")
def formulas(e: Any) -> None:
    r = _named(e, FORMULAS)
    files = write_plan(e.tmp / "p", r)
    raw = files["changes_csv"].read_text(encoding="utf-8")
    for bad in FORMULAS.values():  # no cell starts with what a spreadsheet would run
        assert not re.search(rf"(^|,|\"){re.escape(bad)}", raw.replace(f"'{bad}", "")), bad
    back = read_plan(e.tmp / "p")
    names = back.changes.set_index("id")["name"]
    for bid, text in FORMULAS.items():
        assert names[bid] == text.strip() or names[bid] == text  # the name as written


@case("Markdown and HTML in names: changes.md", lost="shown as written, nothing active")
def markdown(e: Any) -> None:
    names = {"B01": "[click](javascript:alert(1))", "B02": "<script>x</script>", "B03": "*a*|b"}
    files = write_plan(e.tmp / "p", _named(e, names))
    md = files["changes_md"].read_text(encoding="utf-8")
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in md
    assert "\\<script\\>x\\</script\\>" in md and "<script>" not in md
    assert "\\*a\\*\\|b" in md


# ------------------------------------------------------------------------- maps: which area
@case("--area B04 on a beats file with sector/npa columns", lost="the beat found, map drawn")
def area_b04(e: Any) -> None:
    out = e.tmp / "b.html"
    res = cli("map", "briefing", e.sample / "crime", "-b", e.sample / "beats_old.geojson",
              "--area", "B04", "--since", "3M", "--method", "none", "--tiles", "none",
              "--online", "--out", out)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "Oakfield" in out.read_text(encoding="utf-8")


@case("--area Nowhere", CliError, r"searched at every level.*beat area\(s\), e\.g\. B01 ")
def area_nowhere(e: Any) -> None:
    cli_error("map", "briefing", e.sample / "crime", "-b", e.plan, "--area", "Nowhere",
              "--out", e.tmp / "b.html", "--online")  # fmt: skip


@case("--area with a typo", CliError, r"did you mean B04 Oakfield \(beat\)")
def area_typo(e: Any) -> None:
    cli_error(
        "map",
        "briefing",
        e.sample / "crime",
        "-b",
        e.sample / "beats_old.geojson",
        "--area",
        "Oakfeld",
        "--method",
        "none",
        "--out",
        e.tmp / "b.html",
        "--online",
    )


@case("map changes: a beats file against a plan", lost="says the level and how to choose")
def changes_level(e: Any) -> None:
    res = cli("map", "changes", e.sample / "beats_old.geojson", e.plan, "--tiles", "none",
              "--online", "--out", e.tmp / "c.html")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert "comparing beats: the smallest level both sides have" in res.stdout
    assert "--level sector|npa compares another" in res.stdout


# ------------------------------------------------------------------------- the command line
@case("info on a file with problems", CliError, r"problems found in 1 of 2 input\(s\)")
def info_problems(e: Any) -> None:
    bad = e.tmp / "degrees.geojson"  # lon/lat numbers declared as British National Grid
    doc = json.loads((e.sample / "beats_old.geojson").read_text())
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    for i, f in enumerate(doc["features"]):
        x, y = -1.2 + 0.01 * i, 52.6
        f["geometry"] = {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 0.01, y], [x, y + 0.01], [x, y]]],
        }
    bad.write_text(json.dumps(doc))
    res = cli("info", e.plan, bad)
    assert res.exit_code == 2 and "problems found:" in res.stdout
    assert "kind: plan (realign)" in res.stdout  # the good input described all the same
    raise CliError(res.stderr.strip())


@case("hotspots --boundaries a plan folder", lost="every level names the hotspots")
def hotspots_plan(e: Any) -> None:
    out = e.tmp / "h.gpkg"
    res = cli("hotspots", e.sample / "crime", "--months", "2026-09..2026-10", "--boundaries",
              e.plan, "--out", out)  # fmt: skip
    assert res.exit_code == 0, res.stderr
    cols = set(gpd.read_file(out).columns)
    assert {"beat", "sector", "npa"} <= cols, cols


@case("-q on hotspots", lost="no table, no summary; the file written")
def hotspots_quiet(e: Any) -> None:
    out = e.tmp / "h.gpkg"
    res = cli("-q", "hotspots", e.sample / "crime", "--months", "2026-10", "--out", out)
    assert res.exit_code == 0 and res.stdout == "", res.stdout
    assert out.is_file()


@case("a boundary input with an unknown :key=", CliError, r"cannot read 'colour=red'")
def bad_key(e: Any) -> None:
    res = cli("realign", "--wards", e.wards, "--beats", f"{e.half}:colour=red", "--out",
              e.tmp / "p")  # fmt: skip
    assert res.exit_code == 2 and "FILE[:LAYER][:id=COL][:name=COL]" in res.stderr
    raise CliError(res.stderr.strip().splitlines()[-1])


@case("an id column the reader cannot guess", CliError,
      r"cannot tell which column holds the feature ids.*FILE:id=COLUMN")  # fmt: skip
def id_unguessable(e: Any) -> None:
    beats = gpd.read_file(e.sample / "beats_old.geojson").rename(columns={"id": "code_x"})
    beats = beats.drop(columns="name")
    path = e.tmp / "beats.geojson"
    beats.to_file(path)
    res = cli("realign", "--wards", e.wards, "--beats", f"{path}:id=code_x", "--out", e.tmp / "p")
    assert res.exit_code == 0, res.stderr  # named, it is read
    cli_error("realign", "--wards", e.wards, "--beats", path, "--out", e.tmp / "q")


@case("a GeoPackage of several layers without :LAYER", CliError,
      r"holds 7 layers .*on the command line .*:LAYER")  # fmt: skip
def layer_needed(e: Any) -> None:
    gpkg = e.sample / "boundaries.gpkg"
    res = cli("realign", "--wards", f"{gpkg}:wards_new", "--beats", f"{gpkg}:beats", "--out",
              e.tmp / "p")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    cli_error("realign", "--wards", gpkg, "--beats", f"{gpkg}:beats", "--out", e.tmp / "q")


@case("a plan's layer as a boundary input (plan:npas)", lost="read with the plan's ids and names")
def plan_layer(e: Any) -> None:
    res = cli("info", f"{e.plan}:npas")
    assert res.exit_code == 0, res.stderr
    assert "id column: id; name column: name" in res.stdout


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_plan_input(c: Any, e: SimpleNamespace) -> None:
    c.check(e)


def test_catalogue_totals(capsys: pytest.CaptureFixture[str]) -> None:
    from bad_inputs.catalogue import totals

    t = totals()
    with capsys.disabled():
        print(f"\nbad-input catalogue: {t['cases']} cases in {t['modules']} modules, "
              f"{t['errors']} clean errors, {t['handled']} handled with nothing lost")  # fmt: skip
    assert t["cases"] == t["errors"] + t["handled"] and t["cases"] >= len(CASES)
    assert len({c.id for c in CASES}) == len(CASES)
