"""Turn a file, a folder, a glob or a list of them into a sorted list of files."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from beatplan.geo.errors import EmptyInputError, InputFormatError

__all__ = ["PathLike", "Sources", "expand_sources", "source_items"]

PathLike = str | os.PathLike[str]
Sources = PathLike | Sequence[PathLike]

_GLOB_CHARS = set("*?[")


def source_items(source: Sources) -> list[PathLike]:
    """Return ``source`` as a list of paths; refuse anything that is not a path or a list of them.

    Raises
    ------
    InputFormatError
        Not a path, a glob or a list of them (``None``, a number, a table ...).

    Examples
    --------
    >>> source_items("a.csv"), source_items(["a.csv", "b.csv"])
    (['a.csv'], ['a.csv', 'b.csv'])
    """
    if isinstance(source, str | os.PathLike):
        return [source]
    if isinstance(source, Sequence) and all(isinstance(i, str | os.PathLike) for i in source):
        return list(source)
    raise InputFormatError(
        f"expected a file, a folder, a glob or a list of them, got {type(source).__name__}"
    )


def expand_sources(source: Sources, *, suffixes: Iterable[str] | None = None) -> list[Path]:
    """List the files ``source`` names, in a stable order.

    Parameters
    ----------
    source : path, glob or sequence of them
        A file; a folder (its files whose suffix is in ``suffixes``, not recursive); a glob
        pattern; or a list mixing these.
    suffixes : iterable of str, optional
        Lower-case suffixes (``".csv"``, ``".json"`` ...) to take from folders. ``None`` takes
        every file in a folder.

    Returns
    -------
    list of pathlib.Path
        Files in the order given, each folder's and glob's matches sorted by name; no repeats.

    Raises
    ------
    InputFormatError
        A path that does not exist.
    EmptyInputError
        Nothing matched.
    """
    items = source_items(source)
    wanted = None if suffixes is None else {s.lower() for s in suffixes}
    out: list[Path] = []
    missing: list[str] = []
    for item in items:
        found = _files_of(os.fspath(item), wanted)
        if found is None:
            missing.append(os.fspath(item))
        else:
            out.extend(found)
    if missing:
        raise InputFormatError(
            "no such file or folder: " + ", ".join(missing) + " (check the path and spelling)"
        )
    if not out:
        raise EmptyInputError("no input files given")
    return _unique(out)


def _files_of(text: str, wanted: set[str] | None) -> list[Path] | None:
    """Return the files one item names (a file, a folder's, a glob's); None if it names nothing."""
    path = Path(text)
    if path.is_dir():
        found = sorted(
            p for p in path.iterdir() if p.is_file() and (wanted is None or _suffix(p) in wanted)
        )
        if not found:
            raise EmptyInputError(
                f"{text}: folder holds no file ending in "
                f"{', '.join(sorted(wanted)) if wanted else 'anything'}"
            )
        return found
    if path.is_file():
        return [path]
    if _GLOB_CHARS & set(text):
        found = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        if not found:
            raise EmptyInputError(f"{text}: the pattern matches no file")
        return found
    return None


def _unique(paths: list[Path]) -> list[Path]:
    """Drop repeats (the same file named twice, by any path), keeping the first."""
    seen: set[Path] = set()
    unique = []
    for p in paths:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for double in (".csv.gz", ".csv.zip", ".tab.gz", ".tsv.gz"):
        if name.endswith(double):
            return double
    return path.suffix.lower()
