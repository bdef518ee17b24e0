"""Options and error handling shared by every command."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from beatplan.geo.errors import BeatplanError

__all__ = [
    "ExitCode",
    "crs_option",
    "handle_errors",
    "out_option",
    "overwrite_option",
    "parse_months",
    "parse_types",
]

F = TypeVar("F", bound=Callable[..., Any])


class ExitCode:
    """Exit codes: 0 success, 1 unexpected failure, 2 bad input or usage."""

    OK = 0
    FAILURE = 1
    BAD_INPUT = 2


overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that already exist."
)
crs_option = click.option(
    "--crs",
    default=None,
    metavar="CRS",
    help="CRS of inputs that lack one or declare a wrong one (e.g. EPSG:4326).",
)


def out_option(
    default: str | None = None, help: str = "Output path.", *, required: bool | None = None
) -> Callable[[F], F]:
    """Return an ``--out`` option; it is required when it has no default unless told otherwise."""
    return click.option(
        "--out",
        "-o",
        type=click.Path(path_type=Path),
        default=default,
        required=default is None if required is None else required,
        help=help,
    )


def parse_months(text: str | None) -> str | tuple[str, str] | None:
    """Read a months option: one month, or an inclusive range ``A..B`` (or ``A:B``).

    Shared by the command line (``--months``) and the service (``months=``).

    Examples
    --------
    >>> parse_months("2022-01..2022-03"), parse_months(" 2022-05 "), parse_months(None)
    (('2022-01', '2022-03'), '2022-05', None)
    """
    if text is None:
        return None
    for sep in ("..", ":"):
        if sep in text:
            lo, hi = text.split(sep, 1)
            return (lo.strip(), hi.strip())
    return text.strip()


def parse_types(values: str | tuple[str, ...]) -> list[str] | None:
    """Read crime types: repeated values and/or values separated by ``;`` (None for none).

    Examples
    --------
    >>> parse_types(("Burglary; Robbery", "Drugs")), parse_types("")
    (['Burglary', 'Robbery', 'Drugs'], None)
    """
    items = (values,) if isinstance(values, str) else values
    out = [t.strip() for v in items for t in v.split(";") if t.strip()]
    return out or None


def handle_errors(func: F) -> F:
    """Turn beatplan errors into one message on stderr and exit code 2 (traceback only with -v)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BeatplanError, FileNotFoundError) as exc:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().params.get("verbose", 0):
                raise
            msg = str(exc).replace("\n", "\n  ") if "\n" in str(exc) else str(exc)
            click.echo(f"error: {msg}", err=True)
            sys.exit(ExitCode.BAD_INPUT)

    return wrapper  # type: ignore[return-value]
