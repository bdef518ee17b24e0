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
    "parse_share",
    "parse_shares",
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


def parse_share(text: str, what: str = "--coverage") -> float:
    """Parse a share of the area, ``0.005`` or ``0.5%``; refuse a bare number above 0.2."""
    t = text.strip()
    try:
        value = float(t[:-1]) / 100 if t.endswith("%") else float(t)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: give a share (0.005) or a percent (0.5%)",
                                 param_hint=what) from exc  # fmt: skip
    if not t.endswith("%") and value > 0.2:
        raise click.BadParameter(
            f"{text!r} would cover {value:.0%} of the area: give a share (0.005) or a percent "
            f"with % ({t}%)",
            param_hint=what,
        )
    if not 0 < value <= 1:
        raise click.BadParameter(f"{text!r}: a share above 0 and at most 1", param_hint=what)
    return value


def parse_shares(text: str | None, what: str = "--coverage") -> list[float] | None:
    """Parse comma-separated shares (see :func:`parse_share`); None stays None."""
    if text is None:
        return None
    shares = [parse_share(c, what) for c in text.split(",") if c.strip()]
    if not shares:
        raise click.BadParameter("no coverage given", param_hint=what)
    return shares
