"""Every error beatplan raises on purpose, under one root.

:class:`BeatplanError` is the root; each subclass also inherits the matching built-in
(``ValueError``, ``KeyError``, ``TypeError``, ``FileExistsError``, ``FileNotFoundError``), so
callers may catch either. A message names the input, what was expected, what was found and how
to fix it. The classes are defined in :mod:`beatplan.geo.errors`; this is their public home.

Examples
--------
>>> import beatplan as bp
>>> issubclass(bp.errors.OptionError, ValueError)
True
"""

from beatplan.geo.errors import (
    AssetsNotFoundError,
    BeatplanError,
    ColumnNotFoundError,
    CRSError,
    CRSMismatchError,
    DuplicateIdError,
    EmptyInputError,
    ExternalResourceError,
    GeometryError,
    IncompleteOutputError,
    InfeasibleDesignError,
    InputFormatError,
    InputTypeError,
    OptionError,
    OutputExistsError,
    OutputLockedError,
    OutputWriteError,
    ValidationError,
    WardsTooCoarseError,
)

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
]
