"""The curated ``beatplan`` API and the one import root."""

from __future__ import annotations

import importlib
import inspect
import pydoc
import subprocess
import sys

import pytest

import beatplan as bp
from beatplan.cli import COMMANDS


def test_every_public_name_resolves_to_its_defining_module():
    for name in bp.__all__:
        value = getattr(bp, name)
        if name == "__version__":
            assert isinstance(value, str)
        elif name == "errors":
            assert inspect.ismodule(value) and value.__name__ == "beatplan.errors"
        else:
            assert value.__module__.startswith("beatplan."), name


def test_the_api_names_the_issue_asks_for():
    for name in (
        "read_incidents", "read_boundaries", "write_layers", "Locator", "realign", "reorganise",
        "find_hotspots", "backtest", "briefing_map", "planning_map", "change_map", "save_map",
    ):  # fmt: skip
        assert name in bp.__all__ and callable(getattr(bp, name))
    assert bp.save_map is importlib.import_module("beatplan.maps.offline").save


def test_design_is_in_the_curated_api():
    for name in ("design", "priority_area", "Design"):
        assert name in bp.__all__ and callable(getattr(bp, name))
    county = bp.make_sample(seed=1, n_wards=60, incidents=1000)
    d = bp.design(county.wards_new, beats=6, demand="population", tolerance=0.2)
    assert isinstance(d, bp.Design) and isinstance(d, bp.BoundaryPlan) and d.checks.ok
    with pytest.raises(bp.errors.InfeasibleDesignError) as err:
        bp.design(county.wards_new, beats=3, demand="population", tolerance=0.0001)
    assert isinstance(err.value, ValueError) and err.value.best is not None


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'read_everything'"):
        bp.read_everything  # noqa: B018


def test_errors_share_one_root_and_the_builtins():
    e = bp.errors
    for name in e.__all__:
        cls = getattr(e, name)
        assert issubclass(cls, e.BeatplanError)
    assert issubclass(e.AssetsNotFoundError, FileNotFoundError)
    assert issubclass(e.WardsTooCoarseError, ValueError)
    # the classes the packages raise are these very classes
    from beatplan.boundaries.realign import WardsTooCoarseError
    from beatplan.maps.assets import AssetsNotFoundError
    from beatplan.maps.offline import ExternalResourceError

    assert WardsTooCoarseError is e.WardsTooCoarseError
    assert AssetsNotFoundError is e.AssetsNotFoundError
    assert ExternalResourceError is e.ExternalResourceError


def test_help_lists_the_curated_api():
    text = pydoc.render_doc(bp, renderer=pydoc.plaintext)
    for name in ("read_incidents", "realign", "find_hotspots", "briefing_map", "Locator"):
        assert name in text


def _fresh(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/"
    )
    return out.stdout.strip()


def test_import_is_lazy():
    # neither the package nor the CLI's --help loads geopandas
    assert _fresh("import sys, beatplan; print('geopandas' in sys.modules)") == "False"
    code = (
        "import sys\nfrom click.testing import CliRunner\nfrom beatplan.cli import main\n"
        "r = CliRunner().invoke(main, ['--help'])\n"
        "print(r.exit_code, 'geopandas' in sys.modules, 'realign' in r.output)"
    )
    assert _fresh(code) == "0 False True"


def test_no_generic_top_level_packages_are_importable():
    code = (
        "import importlib.util as u\n"
        "print([n for n in ('geo', 'boundaries', 'hotspots', 'maps') if u.find_spec(n)])"
    )
    assert _fresh(code) == "[]"


def test_help_table_matches_each_command():
    for name, (module, short) in COMMANDS.items():
        command = importlib.import_module(f"beatplan.{module}").command
        assert command.get_short_help_str(limit=200) == short, name
