"""What the modules of :mod:`beatplan.boundaries` share: messages, ids, problems, array helpers.

Internal: every name here is for the package's own modules (each module imports what it needs
from here, never another module's private helper).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.geo.errors import (
    ColumnNotFoundError,
    DuplicateIdError,
    EmptyInputError,
    GeometryError,
    ValidationError,
)

__all__ = [
    "MAX_LISTED",
    "argsort_ints",
    "as_ids",
    "did_you_mean",
    "duplicate_ids",
    "expand_ranges",
    "layer_ids",
    "listing",
    "mix",
    "raise_problems",
    "strings",
    "ward_values",
    "ward_weights",
]

#: How many values a message lists before "and N more".
MAX_LISTED = 10


def listing(values: Iterable[Any], n: int = MAX_LISTED) -> str:
    """Join the first ``n`` values with commas and say how many more there are."""
    items = [str(v) for v in values]
    more = len(items) - n
    return ", ".join(items[:n]) + (f" and {more} more" if more > 0 else "")


def strings(values: Any) -> Any:
    """Return ``values`` as a pandas string array (None and NaN become <NA>)."""
    arr = np.asarray(values, dtype=object)
    return pd.array(arr, dtype="string")


def as_ids(values: pd.Series) -> pd.Series:
    """Ids as pandas strings; numbers written without a trailing ``.0``; nulls kept as <NA>."""
    s = pd.Series(values, copy=True)
    if pd.api.types.is_float_dtype(s.dtype):
        whole = s.notna() & (s == np.floor(s.fillna(0)))
        out = s.astype("string")
        out[whole] = s[whole].astype("int64").astype("string")
        return out
    return s.astype("string")


def layer_ids(frame: Any, id_col: str, what: str) -> pd.Series:
    """Return the ids of an input layer, after checking it is a non-empty GeoDataFrame with them."""
    if not isinstance(frame, gpd.GeoDataFrame):
        raise GeometryError(
            f"{what}: expected a GeoDataFrame of polygons, got {type(frame).__name__}"
        )
    if len(frame) == 0:
        raise EmptyInputError(
            f"{what}: the layer has no features; expected at least one polygon (check the file, "
            "the layer name and any filter)"
        )
    if id_col not in frame.columns:
        raise ColumnNotFoundError(
            f"{what}: no id column {id_col!r}; the columns are {listing(frame.columns)}; "
            "pass the column holding each feature's code"
        )
    return as_ids(frame[id_col])


def duplicate_ids(ids: pd.Series, what: str, id_col: str) -> str | None:
    """Say which ward codes repeat (with their counts), or None when every code is unique."""
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    if not len(dup):
        return None
    return (
        f"{what}: duplicate ward codes in column {id_col!r}: "
        + listing(f"{k!r} ×{v}" for k, v in dup.value_counts().items())
        + "; each ward must appear once: merge the parts of a ward into one feature "
        "(GeoDataFrame.dissolve) or fix the codes"
    )


def raise_problems(what: str, problems: list[str], duplicates: str | None) -> None:
    """Raise every problem at once; repeated codes alone are a :class:`DuplicateIdError`."""
    if duplicates is not None and not problems:
        raise DuplicateIdError(duplicates)
    if duplicates is not None:
        problems = [duplicates, *problems]
    if problems:
        raise ValidationError(what, problems)


def did_you_mean(value: str, choices: Iterable[Any], *, n: int = 1, cutoff: float = 0.6) -> str:
    """Return `` (did you mean 'x' or 'y'?)`` for the choices close to ``value``, else ``""``."""
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=n, cutoff=cutoff)
    return f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""


def ward_weights(
    table: gpd.GeoDataFrame, weight: str | Sequence[float] | np.ndarray | pd.Series | None
) -> np.ndarray:
    """One weight per ward: a column of ``table``, given numbers, or (None) the ward areas."""
    if weight is None:
        return np.asarray(shapely.area(table.geometry.values), dtype=float)
    return np.nan_to_num(ward_values(table, weight), nan=0.0)


def ward_values(
    table: gpd.GeoDataFrame, weight: str | Sequence[float] | np.ndarray | pd.Series
) -> np.ndarray:
    """One number per ward from a column of ``table`` or given numbers (NaN where none)."""
    if isinstance(weight, str):
        if weight not in table.columns:
            raise ColumnNotFoundError(
                f"weight={weight!r} is not a column of the ward table; its columns are "
                f"{listing(table.columns)}"
            )
        w = pd.to_numeric(table[weight], errors="coerce").to_numpy(dtype=float)
    else:
        w = np.asarray(weight, dtype=float)
        if w.shape != (len(table),):
            raise ValidationError(
                "weight", [f"expected one weight per ward ({len(table)}), got shape {w.shape}"]
            )
    return w


def mix(z: np.ndarray) -> np.ndarray:
    """Return the splitmix64 finaliser of ``z`` (uint64): a well-spread hash of each value."""
    z = z ^ (z >> np.uint64(30))
    z = z * np.uint64(0xBF58476D1CE4E5B9)
    z = z ^ (z >> np.uint64(27))
    z = z * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def expand_ranges(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the ranges ``[s, s + c)``; also say which range each item came from."""
    counts = counts.astype(np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    offs = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return np.repeat(starts.astype(np.int64), counts) + offs, owner


def argsort_ints(keys: np.ndarray) -> np.ndarray:
    """Stable argsort of non-negative integers, by 16-bit radix passes.

    numpy sorts 16-bit keys stably by counting (radix sort), about ten times faster than a
    comparison sort of the same number of 64-bit keys; a key below 2**32 takes two passes.
    """
    keys = np.asarray(keys)
    if len(keys) == 0 or keys.dtype.kind not in "iu" or keys.min() < 0 or keys.max() >= 1 << 48:
        return np.argsort(keys, kind="stable")
    top = int(keys.max())
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while top >> shift:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order
