"""The docstring examples of every module, run under the names users import them by.

pytest's ``--doctest-modules`` imports a file by its path, which would give the folder names
(``geo.layers``) a second copy of each module beside ``beatplan.geo.layers``. Here each module
is imported once, by its installed name, and each of its examples is one test.
"""

from __future__ import annotations

import doctest
import importlib
import io
import pkgutil

import pytest

import beatplan

PACKAGES = ("beatplan", "beatplan.geo", "beatplan.boundaries", "beatplan.hotspots", "beatplan.maps")
# pytest's default doctest flags
FLAGS = doctest.ELLIPSIS


def _module_names() -> list[str]:
    names: list[str] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        names.append(package)
        names += [
            info.name
            for info in pkgutil.iter_modules(module.__path__, package + ".")
            if not info.ispkg and info.name.rsplit(".", 1)[-1] != "__main__"
        ]
    return sorted(set(names))


def _examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: list[doctest.DocTest] = []
    for name in _module_names():
        module = importlib.import_module(name)
        found += [t for t in finder.find(module, name) if t.examples]
    return sorted(found, key=lambda t: t.name)


EXAMPLES = _examples()


def test_every_package_is_searched() -> None:
    names = {t.name.split(".")[1] for t in EXAMPLES if t.name.count(".") >= 1}
    assert {"geo", "boundaries", "hotspots", "maps"} <= names
    assert beatplan.__name__ == "beatplan"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda t: t.name)
def test_docstring_example(example: doctest.DocTest) -> None:
    if all(e.options.get(doctest.SKIP, False) for e in example.examples):
        pytest.skip("every example is marked +SKIP")
    out = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    example.globs = dict(example.globs)  # each run on a fresh copy of the module's namespace
    result = runner.run(example, out=out.write, clear_globs=True)
    assert result.failed == 0, out.getvalue()
