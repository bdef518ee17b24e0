"""What the bad-input catalogues share: their totals, printed for the README."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

__all__ = ["print_totals", "write_case"]

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
