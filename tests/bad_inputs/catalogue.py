"""The bad-input catalogue's shared parts: a case, the command line in-process, and the totals.

Each catalogue module in this folder lists its cases in ``CASES``; a case has an ``id`` and an
``error`` (the clean error expected: a beatplan error class, or :class:`CliError` for a
command that must print one line and exit 2; None when the input is handled without an error)
and checks that nothing was lost (every ward once; the old output intact or the new output
whole). ``python tests/bad_inputs/catalogue.py`` prints the totals over every module of the
folder (the README quotes them).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from beatplan.cli import main

HERE = Path(__file__).resolve().parent

#: A case's file: its bytes, or a function that writes it at the path given.
FileData = bytes | Callable[[Path], None]


def write_case(files: dict[str, FileData], tmp: Path, *, folder: bool, missing: str = "") -> Any:
    """Write a case's files into ``tmp/in``; return what to read.

    The folder itself when ``folder`` (or no file is given), a path in it that does not exist
    when ``missing`` names one, else the one file or the list of files.
    """
    where = tmp / "in"
    where.mkdir()
    paths = []
    for name, data in files.items():
        path = where / name
        if callable(data):
            data(path)
        else:
            path.write_bytes(data)
        paths.append(path)
    if missing:
        return where / missing
    if folder or not paths:
        return where
    return paths[0] if len(paths) == 1 else paths


def print_totals(
    capsys: pytest.CaptureFixture[str], reader: str, cases: Sequence[Any], kept: str
) -> None:
    """Print ``reader``'s case count, clean errors and the rest; check the ids are unique."""
    errors = sum(c.error is not None for c in cases)
    with capsys.disabled():
        print(
            f"\n{reader} catalogue: {len(cases)} cases: {errors} clean errors, "
            f"{len(cases) - errors} {kept}"
        )
    assert len({c.id for c in cases}) == len(cases)


class CliError(Exception):
    """A command printed one line ``error: ...`` on stderr and exited with code 2."""


@dataclass(frozen=True)
class Case:
    """One bad input: what it is, the clean error expected (None: handled), and the check."""

    id: str
    run: Callable[..., Any]
    error: type[BaseException] | None = None
    match: str = ""
    lost: str = "nothing"  # what "nothing lost" means here, for the reader of the catalogue

    def check(self, *args: Any, **kwargs: Any) -> None:
        """Run the case: handled (its own checks), or the clean error it expects."""
        if self.error is None:
            self.run(*args, **kwargs)
            return
        with pytest.raises(self.error, match=self.match) as err:
            self.run(*args, **kwargs)
        assert "Traceback" not in str(err.value)


def registry() -> tuple[list[Case], Callable[..., Callable[..., Any]]]:
    """Return a module's case list and the decorator that adds a function to it."""
    cases: list[Case] = []

    def case(
        id: str, error: type[BaseException] | None = None, match: str = "", lost: str = "nothing"
    ) -> Callable[..., Any]:
        def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
            cases.append(Case(id, fn, error, match, lost))
            return fn

        return deco

    return cases, case


def cli(*args: Any) -> Result:
    """Run ``beatplan ARGS`` in this process (the real click command, its real exit code)."""
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def cli_error(*args: Any) -> str:
    """Run a command that must fail cleanly; return its one-line message (raise CliError)."""
    res = cli(*args)
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    err = res.stderr.strip()
    assert err.startswith("error: ") and "Traceback" not in err, err
    first = err.splitlines()[0]
    assert len(err.splitlines()) == 1 or first.endswith("found:"), err  # one line, or a listing
    raise CliError(err.removeprefix("error: "))


def totals() -> dict[str, int]:
    """Cases, clean errors and inputs handled, over every catalogue module in this folder."""
    out = {"modules": 0, "cases": 0, "errors": 0, "handled": 0}
    for path in sorted(HERE.glob("test_*.py")):
        spec = importlib.util.spec_from_file_location(f"_catalogue_{path.stem}", path)
        assert spec is not None and spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up there
        sys.path.insert(0, str(HERE.parent))  # the modules import from tests/, as under pytest
        try:
            spec.loader.exec_module(mod)
        finally:
            sys.path.remove(str(HERE.parent))
        cases = getattr(mod, "CASES", None)
        if not cases:
            continue
        out["modules"] += 1
        out["cases"] += len(cases)
        errors = sum(getattr(c, "error", None) is not None for c in cases)
        out["errors"] += errors
        out["handled"] += len(cases) - errors
    return out


if __name__ == "__main__":
    t = totals()
    print(
        f"{t['cases']} cases in {t['modules']} modules: {t['errors']} clean errors, "
        f"{t['handled']} handled with nothing lost"
    )
