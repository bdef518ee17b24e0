"""The design's search, level by level: units, partitions, balance and the lower bound (internal).

:func:`run_levels` designs each level inside the areas of the level above: the parent's count
of areas is shared among the regions of the fixed lines (:mod:`._apportion`), each unit is
split by a :class:`._partition.Partitioner`, and every area remembers its group (the unit it
was balanced in), the group's mean and whether it is a heavy ward standing alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from beatplan.boundaries._apportion import Share, largest_remainder, split_units
from beatplan.boundaries._net import Link, Net, link_pieces
from beatplan.boundaries._partition import Partitioner
from beatplan.geo.errors import ValidationError

__all__ = ["Level", "LevelResult", "Search", "run_levels"]

#: Fresh starts at most for a unit whose best split leaves an area beyond the tolerance.
RESTARTS = 3

Count = int | Mapping[str, int]


@dataclass(frozen=True)
class Level:
    """A level to design: its name and count (a number, or one per region of the first line)."""

    name: str
    count: Count

    @property
    def total(self) -> int:
        """The number of areas in all."""
        return self.count if isinstance(self.count, int) else int(sum(self.count.values()))


@dataclass(frozen=True)
class Search:
    """The search's settings."""

    tolerance: float
    keep: float
    compact: float
    seed: int
    islands: str


@dataclass
class LevelResult:
    """One designed level: an area number per ward and a row per area."""

    labels: np.ndarray
    areas: pd.DataFrame
    shares: list[tuple[str, str, Share]] = field(default_factory=list)
    bounds: list[dict[str, object]] = field(default_factory=list)


def run_levels(
    levels: Sequence[Level],
    net: Net,
    geoms: np.ndarray,
    demand: np.ndarray,
    fixed: Sequence[tuple[str, np.ndarray]],
    current: Mapping[str, np.ndarray],
    search: Search,
    links: list[Link],
) -> dict[str, LevelResult]:
    """Design every level, coarse to fine, each inside the areas of the one above."""
    n = net.n
    parents = [np.arange(n)]
    parent_ids = ["force"]
    out: dict[str, LevelResult] = {}
    problems: list[str] = []
    for li, lv in enumerate(levels):
        ks = _parent_counts(lv, parents, fixed, demand)
        labels = np.full(n, -1, dtype=np.int64)
        rows: list[dict[str, object]] = []
        res = LevelResult(labels, pd.DataFrame())
        for pi, (wards, k) in enumerate(zip(parents, ks, strict=True)):
            given = (
                {str(r): int(c) for r, c in lv.count.items()}
                if isinstance(lv.count, Mapping)
                and fixed
                and len(np.unique(fixed[0][1][wards])) > 1
                else None
            )
            units, shares = split_units(wards, k, fixed, demand, counts=given, what=lv.name)
            res.shares += [(lv.name, parent_ids[pi], s) for s in shares]
            for ui, unit in enumerate(units):
                seed = np.random.SeedSequence([search.seed, li, pi, ui])
                _solve_unit(
                    unit.wards, unit.k, unit.atoms, unit.region, lv, net, geoms, demand,
                    current, search, seed, links, labels, rows, res, parent_ids[pi], problems,
                )  # fmt: skip
        if problems:
            raise ValidationError("design", problems)
        res.areas = pd.DataFrame(rows)
        out[lv.name] = res
        parents = [np.nonzero(labels == a)[0] for a in range(int(labels.max()) + 1)]
        parent_ids = [f"{lv.name}:{a}" for a in range(len(parents))]
    return out


def _parent_counts(
    lv: Level,
    parents: list[np.ndarray],
    fixed: Sequence[tuple[str, np.ndarray]],
    demand: np.ndarray,
) -> list[int]:
    """Return the areas each parent holds: shared by demand, or summed from counts per region."""
    if len(parents) == 1:
        return [lv.total]
    dem = np.array([float(demand[p].sum()) for p in parents])
    size = np.array([len(p) for p in parents])
    if not isinstance(lv.count, Mapping):
        return largest_remainder(lv.total, dem, caps=size, what=lv.name)[0].tolist()
    codes = fixed[0][1]
    ks = [0] * len(parents)
    inside: dict[str, list[int]] = {}
    for t, p in enumerate(parents):
        regs = np.unique(codes[p])
        if len(regs) > 1:
            ks[t] = int(sum(int(lv.count[str(r)]) for r in regs))
        else:
            inside.setdefault(str(regs[0]), []).append(t)
    for r, ts in inside.items():
        got = largest_remainder(int(lv.count[r]), dem[ts], caps=size[ts], what=f"{lv.name} in {r}")
        for t, c in zip(ts, got[0].tolist(), strict=True):
            ks[t] = c
    return ks


def _solve_unit(
    wards: np.ndarray,
    k: int,
    atoms: np.ndarray | None,
    region: str | None,
    lv: Level,
    net: Net,
    geoms: np.ndarray,
    demand: np.ndarray,
    current: Mapping[str, np.ndarray],
    search: Search,
    seed: np.random.SeedSequence,
    links: list[Link],
    labels: np.ndarray,
    rows: list[dict[str, object]],
    res: LevelResult,
    parent: str,
    problems: list[str],
) -> None:
    """Split one unit into ``k`` areas; write their numbers into ``labels`` and a row each."""
    sub = net.sub(wards)
    if len(np.unique(sub.components())) > 1:
        extra = link_pieces(sub, geoms[wards])
        if search.islands == "error":
            problems.append(
                f"{lv.name}s{' in ' + region if region else ''}: the wards fall into "
                f"{len(extra) + 1} pieces that share no boundary; pass islands='nearest' to "
                "link each piece to its nearest ward"
            )
            return
        extra = [Link(int(wards[x.a]), int(wards[x.b]), x.distance) for x in extra]
        links += extra
        net_links = [Link(int(np.searchsorted(wards, x.a)), int(np.searchsorted(wards, x.b)),
                          x.distance) for x in extra]  # fmt: skip
        sub = sub.with_links(net_links)
    if atoms is None:
        codes = np.arange(len(wards))
    else:
        codes = np.unique(atoms[wards], return_inverse=True)[1].astype(np.int64)
        sub = sub.contract(codes)
    n_atoms = int(codes.max()) + 1
    if k > n_atoms:
        where = f" in {region}" if region else ""
        problems.append(
            f"{k} {lv.name}s must lie{where}, which holds only {n_atoms} "
            f"{'ward' if atoms is None else 'region'}(s); each {lv.name} needs at least one: "
            f"ask for fewer {lv.name}s or move the fixed lines"
        )
        return
    d = np.bincount(codes, weights=demand[wards], minlength=n_atoms)
    cur = current.get(lv.name)
    cur_atoms = _atom_codes(cur[wards], codes, demand[wards]) if cur is not None else None
    p = _best_of(sub, d, k, cur_atoms, search, seed)
    base = int(labels.max()) + 1
    ward_part = p.labels_[codes]
    labels[wards] = base + ward_part
    dem = np.bincount(p.labels_, weights=d, minlength=k)
    heavy_part = np.zeros(k, dtype=bool)
    heavy_part[p.labels_[p.heavy_]] = True
    alone = heavy_part & (np.bincount(p.labels_, minlength=k) == 1)
    group = f"{parent}|{region or ''}"
    for a in range(k):
        rows.append(
            {
                "area": base + a,
                "group": group,
                "region": region,
                "mean": p.mean_,
                "demand": float(dem[a]),
                "stands_alone": bool(alone[a]),
                "current": int(p.ident_[a]) if len(p.ident_) > a else -1,
            }
        )
    res.bounds += _bounds(sub, d, p, k, lv.name, group, region, wards, codes, atoms is None)


def _best_of(
    sub: Net,
    d: np.ndarray,
    k: int,
    cur: np.ndarray | None,
    search: Search,
    seed: np.random.SeedSequence,
) -> Partitioner:
    """Split a unit; while some area is beyond the tolerance, try afresh (a bounded number)."""
    best: Partitioner | None = None
    for child in seed.spawn(RESTARTS):
        p = Partitioner(
            k, tolerance=search.tolerance, keep=search.keep, compact=search.compact,
            seed=np.random.default_rng(child),
        ).fit(sub, d, cur)  # fmt: skip
        if best is None or p.cost_ < best.cost_:
            best = p
        if best.beyond_ == 0 or best.optimal_:
            break
    assert best is not None
    return best


def _atom_codes(cur: np.ndarray, codes: np.ndarray, demand: np.ndarray) -> np.ndarray:
    """Each atom's current area: the one holding most of its demand (its wards' own when one)."""
    df = pd.DataFrame({"a": codes, "c": cur, "d": demand + 1e-9})
    top = df.groupby(["a", "c"], sort=True)["d"].sum().reset_index()
    top = top.sort_values(["a", "d", "c"], ascending=[True, False, True], kind="stable")
    return (
        top.drop_duplicates("a")
        .set_index("a")["c"]
        .reindex(range(int(codes.max()) + 1))
        .to_numpy(dtype=np.int64)
    )


def _bounds(
    sub: Net,
    d: np.ndarray,
    p: Partitioner,
    k: int,
    level: str,
    group: str,
    region: str | None,
    wards: np.ndarray,
    codes: np.ndarray,
    ward_atoms: bool,
) -> list[dict[str, object]]:
    """Return what the ward lines impose in one unit: heavy wards alone, and light wards' floor."""
    m = p.mean_
    out: list[dict[str, object]] = []
    first_ward = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    first_ward[codes[::-1]] = wards[::-1]

    def row(kind: str, a: int, bound: float) -> dict[str, object]:
        return {
            "level": level, "group": group, "region": region, "atom": int(first_ward[a]),
            "ward_atom": ward_atoms, "no_ward": False, "kind": kind, "demand": float(d[a]),
            "mean": m, "bound_pct": 100.0 * bound, "reached": False,
        }  # fmt: skip

    out += [row("stands alone", a, d[a] / m - 1.0) for a in np.nonzero(p.heavy_)[0].tolist()]
    if p.bound_ > 0:  # proven by enumeration or set partitioning (see _partition._polish)
        exact = row(p.bound_kind_, max(p.bound_atom_, 0), p.bound_)
        exact["ward_atom"] = ward_atoms and p.bound_atom_ >= 0
        exact["no_ward"] = p.bound_atom_ < 0
        exact["demand"] = float(d[p.bound_atom_]) if p.bound_atom_ >= 0 else np.nan
        exact["reached"] = bool(p.optimal_) and p.worst_ <= p.bound_ * (1 + 1e-9) + 1e-12
        out.append(exact)
    if m <= 0 or k <= 1:
        return out
    light = ~p.heavy_
    if int(light.sum()) == k - int(p.heavy_.sum()):  # every light atom is an area of its own
        dev = np.abs(d[light] / m - 1.0)
        t = int(np.argmax(dev))
        return [*out, row("one per area", int(np.nonzero(light)[0][t]), float(dev[t]))]
    if np.ptp(d[light]) == 0 and not math.isclose(m / d[light][0], round(m / d[light][0])):
        # equal demand per atom (ward counts): areas hold whole atoms, floor or ceiling of m
        q = m / d[light][0]
        worst = max(q - math.floor(q), math.ceil(q) - q) / q
        return [*out, row("whole wards", int(np.nonzero(light)[0][0]), worst)]
    eff = np.where(p.heavy_, m, d)
    nb_min = np.full(sub.n, np.inf)
    np.minimum.at(nb_min, sub.i, eff[sub.j])
    np.minimum.at(nb_min, sub.j, eff[sub.i])
    alone = np.abs(1.0 - d / m)
    grown = np.maximum(0.0, (d + nb_min) / m - 1.0)
    floor = np.where(light, np.minimum(alone, grown), 0.0)
    a = int(np.argmax(floor))
    return [*out, row("light ward", a, float(floor[a]))] if floor[a] > 0 else out
