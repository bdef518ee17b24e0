"""Share a level's areas among parents and fixed lines by largest remainder (internal).

Used by :func:`beatplan.boundaries.design`. :func:`largest_remainder` is Hamilton's method with
a floor of one area per share and a cap (no more areas than wards); :func:`split_units` walks
the fixed lines (``within=``, coarse to fine) inside one parent area and says where the areas
are shared out among the regions (each region gets its own) and where they are made of whole
regions (fewer areas than regions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from beatplan.geo.errors import ValidationError

__all__ = ["Unit", "largest_remainder", "split_units"]


def largest_remainder(
    total: int, weights: np.ndarray, *, caps: np.ndarray | None = None, what: str = "areas"
) -> tuple[np.ndarray, np.ndarray]:
    """Share ``total`` in proportion to ``weights``: at least one each, at most ``caps``.

    Each share gets ``max(1, floor(quota))`` (capped), then the rest goes one by one to the
    largest remainders (quota - count) among the shares below their cap, or is taken back
    from the smallest among those above one. Ties go to the first share.

    Returns
    -------
    counts, quotas : numpy.ndarray

    Examples
    --------
    >>> largest_remainder(8, np.array([15, 17, 22, 16, 33, 16, 27.0]))[0].tolist()
    [1, 1, 1, 1, 2, 1, 1]
    """
    w = np.asarray(weights, dtype=float)
    n = len(w)
    caps = np.full(n, total) if caps is None else np.asarray(caps, dtype=np.int64)
    if total < n or total > int(caps.sum()):
        raise ValidationError(
            what, [f"cannot share {total} area(s) among {n} part(s) holding {int(caps.sum())}"]
        )
    quota = total * w / w.sum() if w.sum() > 0 else np.full(n, total / n)
    counts = np.clip(np.floor(quota).astype(np.int64), 1, caps)
    while counts.sum() < total:
        room = np.where(counts < caps, quota - counts, -np.inf)
        counts[int(np.argmax(room))] += 1
    while counts.sum() > total:
        spare = np.where(counts > 1, quota - counts, np.inf)
        counts[int(np.argmin(spare))] -= 1
    return counts, quota


@dataclass(frozen=True)
class Unit:
    """Wards to split into ``k`` areas, made of ``atoms`` (one code per ward, or None: wards)."""

    wards: np.ndarray
    k: int
    atoms: np.ndarray | None
    region: str | None


@dataclass(frozen=True)
class Share:
    """How a parent's areas were shared among the regions of a fixed line."""

    within: str
    region: str
    demand: float
    quota: float
    count: int


def split_units(
    wards: np.ndarray,
    k: int,
    fixed: Sequence[tuple[str, np.ndarray]],
    demand: np.ndarray,
    *,
    counts: dict[str, int] | None = None,
    what: str = "areas",
) -> tuple[list[Unit], list[Share]]:
    """Cut one parent's wards along the fixed lines into the units each designed separately.

    Parameters
    ----------
    wards : numpy.ndarray
        Positions of the parent's wards.
    k : int
        Areas the parent holds.
    fixed : sequence of (name, codes)
        The fixed lines, coarse to fine: each a region code per ward (all wards).
    demand : numpy.ndarray
        Demand per ward (all wards).
    counts : dict, optional
        Given counts for regions of the first fixed line (instead of sharing ``k``).
    what : str
        The level, for messages.

    Returns
    -------
    units : list of Unit
    shares : list of Share
    """
    units: list[Unit] = []
    shares: list[Share] = []
    stack: list[tuple[np.ndarray, int, int, str | None]] = [(wards, k, 0, None)]
    while stack:
        part, kk, depth, region = stack.pop()
        atoms: np.ndarray | None = None
        while depth < len(fixed):
            name, codes = fixed[depth]
            regs, inv = np.unique(codes[part], return_inverse=True)
            if len(regs) == 1:
                depth += 1
                region = str(regs[0])
                continue
            given = counts if depth == 0 and counts else None
            if kk < len(regs) and given is None:
                atoms = codes
                break
            dem = np.bincount(inv, weights=demand[part])
            size = np.bincount(inv)
            if given is not None:
                n_each = np.array([given[str(r)] for r in regs], dtype=np.int64)
                quota = n_each.astype(float)
            else:
                n_each, quota = largest_remainder(kk, dem, caps=size, what=what)
            for t in range(len(regs) - 1, -1, -1):
                shares.append(
                    Share(name, str(regs[t]), float(dem[t]), float(quota[t]), int(n_each[t]))
                )
                stack.append((part[inv == t], int(n_each[t]), depth + 1, str(regs[t])))
            part = np.zeros(0, dtype=np.int64)
            break
        if len(part):
            units.append(Unit(part, kk, atoms, region))
    return units, shares
