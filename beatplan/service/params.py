"""Strict query parameters: only the names an endpoint takes, each once, short and printable.

What a value means is checked by the package that uses it, so a bad ``since`` or ``area`` gets
the same one-line message as on the command line; here only the shape is checked: no unknown
or repeated names, no control characters, at most ``param_chars`` characters. Numbers and
choices the service itself interprets (coordinates, CRS codes, levels) are checked here with
messages in the same style.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from beatplan.service.problems import Problem, bad_param

__all__ = ["choice", "crs_code", "number", "query", "truthy"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_EPSG = re.compile(r"^(?:EPSG:)?(\d{4,6})$", re.IGNORECASE)


def query(raw: bytes, allowed: Iterable[str], *, limit: int = 100) -> dict[str, str]:
    """Parse a query string, refusing unknown or repeated names and odd values.

    Parameters
    ----------
    raw : bytes
        The query string as sent.
    allowed : iterable of str
        The names the endpoint takes.
    limit : int
        Longest value.

    Returns
    -------
    dict of str to str
        Blank values are left out (``?since=`` means "not given").

    Raises
    ------
    Problem
        400, naming the parameter.
    """
    names = tuple(allowed)
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=len(names) + 1)  # fmt: skip
    except (UnicodeDecodeError, ValueError) as exc:
        raise Problem(400, "the query string is not valid UTF-8 or has too many parameters",
                      kind="bad-parameter") from exc  # fmt: skip
    out: dict[str, str] = {}
    for name, value in pairs:
        if name not in names:
            shown = name if len(name) <= 30 and not _CONTROL.search(name) else name[:30] + "…"
            raise bad_param(
                shown,
                f"unknown parameter {shown!r}; this endpoint takes: {', '.join(names) or 'none'}",
            )
        if name in out:
            raise bad_param(name, f"{name}: give it once")
        if len(value) > limit:
            raise bad_param(name, f"{name}: longer than {limit} characters")
        if _CONTROL.search(value):
            raise bad_param(name, f"{name}: control characters are not allowed")
        value = value.strip()
        if value:
            out[name] = value
    return out


def number(params: dict[str, str], name: str, *, lo: float | None = None,
           hi: float | None = None) -> float | None:  # fmt: skip
    """Return a finite number (within ``lo``..``hi``), or None when not given."""
    text = params.get(name)
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if (
        not math.isfinite(value)
        or (lo is not None and value < lo)
        or (hi is not None and value > hi)
    ):
        span = f" between {lo:g} and {hi:g}" if lo is not None and hi is not None else ""
        raise bad_param(name, f"{name}: expected a number{span}, found {text!r}")
    return value


def crs_code(params: dict[str, str], name: str = "crs") -> int | None:
    """Return an EPSG code (``27700`` or ``EPSG:27700``); nothing else reaches PROJ."""
    text = params.get(name)
    if text is None:
        return None
    m = _EPSG.match(text)
    if not m:
        raise bad_param(name, f"{name}: expected an EPSG code such as EPSG:27700, found {text!r}")
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    code = int(m.group(1))
    try:
        CRS.from_epsg(code)
    except CRSError as exc:
        raise bad_param(name, f"{name}: EPSG:{code} is not a CRS PROJ knows") from exc
    return code


def choice(params: dict[str, str], name: str, choices: Iterable[str], default: str | None = None
           ) -> str | None:  # fmt: skip
    """One of ``choices`` (case ignored), else 400 listing them (the packages' message)."""
    from beatplan.geo.errors import OptionError, check_option

    text = params.get(name)
    if text is None:
        return default
    options = list(choices)
    for c in options:
        if c.lower() == text.lower():
            return c
    try:
        return check_option(name, text, options)
    except OptionError as exc:
        raise bad_param(name, str(exc)) from exc


def truthy(params: dict[str, str], name: str) -> bool:
    """``true``/``false`` (also 1/0, yes/no)."""
    text = params.get(name)
    if text is None:
        return False
    low = text.lower()
    if low in ("1", "true", "yes"):
        return True
    if low in ("0", "false", "no"):
        return False
    raise bad_param(name, f"{name}: expected true or false, found {text!r}")
