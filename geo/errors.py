"""Exceptions raised by beatplan.

Every error derives from :class:`BeatplanError` and also from the matching built-in
exception, so callers may catch either ``BeatplanError`` or, say, ``ValueError``.
A message names the input (file, layer, column or feature), what was expected,
what was found and how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AssetsNotFoundError",
    "BeatplanError",
    "CRSError",
    "CRSMismatchError",
    "ColumnNotFoundError",
    "DuplicateIdError",
    "EmptyInputError",
    "ExternalResourceError",
    "GeometryError",
    "InfeasibleDesignError",
    "IncompleteOutputError",
    "InputFormatError",
    "InputTypeError",
    "OptionError",
    "OutputExistsError",
    "OutputLockedError",
    "OutputWriteError",
    "ValidationError",
    "WardsTooCoarseError",
    "check_option",
]


class BeatplanError(Exception):
    """Root of every error beatplan raises on purpose."""


class InputFormatError(BeatplanError, ValueError):
    """A file or table cannot be read as the expected format."""


class InputTypeError(BeatplanError, TypeError):
    """An argument is not of a type the function accepts."""


class EmptyInputError(BeatplanError, ValueError):
    """An input holds no rows or features, or a selection left none."""


class CRSError(BeatplanError, ValueError):
    """A coordinate reference system is missing or cannot be right for the data."""


class CRSMismatchError(CRSError):
    """Two inputs that must share a CRS do not, and reprojection was not allowed."""


class ColumnNotFoundError(BeatplanError, KeyError):
    """A required column is absent."""

    def __str__(self) -> str:  # KeyError repr-quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class DuplicateIdError(BeatplanError, ValueError):
    """Ids that must be unique are repeated."""


class GeometryError(BeatplanError, ValueError):
    """Geometries are null, empty, of the wrong type or cannot be repaired."""


class OptionError(BeatplanError, ValueError):
    """A string option is not one of the valid choices."""


class OutputExistsError(BeatplanError, FileExistsError):
    """An output file exists and ``overwrite`` was not given."""


class OutputLockedError(BeatplanError, BlockingIOError):
    """Another process (or thread) is writing the same output right now."""


class OutputWriteError(BeatplanError, OSError):
    """An output could not be written (no space, no permission ...); the old one is intact."""


class IncompleteOutputError(InputFormatError):
    """A folder beatplan wrote is incomplete or mixes two writes (or was changed since)."""


class ValidationError(BeatplanError, ValueError):
    """One input failed several checks; ``problems`` lists every one of them.

    Parameters
    ----------
    source : str
        What was being validated (a file path or a layer name).
    problems : sequence of str
        One line per problem found.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{source}: {n} problem{'s' if n != 1 else ''} found"
        super().__init__(head + ":\n" + "\n".join(f"  - {p}" for p in self.problems))


class WardsTooCoarseError(ValidationError):
    """The wards are larger than the areas they are realigned to: most areas would vanish."""


class AssetsNotFoundError(BeatplanError, FileNotFoundError):
    """An offline map needs a JavaScript or CSS asset that has not been fetched."""


class ExternalResourceError(BeatplanError, ValueError):
    """An offline map would still load a script, stylesheet or image from the network."""


def check_option(name: str, value: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise :class:`OptionError`.

    Parameters
    ----------
    name : str
        The option's name, used in the message.
    value : str
        The value given.
    choices : iterable of str
        The valid values.

    Returns
    -------
    str
        ``value`` unchanged.

    Examples
    --------
    >>> check_option("by", "area", ("area", "demand"))
    'area'
    """
    valid = tuple(choices)
    if value not in valid:
        raise OptionError(
            f"{name}={value!r} is not a valid choice; "
            f"expected one of: {', '.join(map(repr, valid))}"
        )
    return value


class InfeasibleDesignError(ValidationError):
    """A design cannot meet its tolerance; ``best`` holds the best plan found (or None)."""

    def __init__(self, source: str, problems: Sequence[str], *, best: Any = None) -> None:
        super().__init__(source, problems)
        self.best = best
