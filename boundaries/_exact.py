"""Exact design of small groups of areas: every connected candidate area, then set partitioning.

Internal to :mod:`beatplan.boundaries.design` (used by :mod:`._partition`). When a group's
areas are a few wards each, the plan can be solved *exactly* rather than searched for:

1. :func:`connected_sets` lists every connected set of atoms whose demand lies in a band
   ``[lo, hi]`` (Wernicke's ESU enumeration of connected induced subgraphs, each set once,
   grown from its lowest atom; a branch stops as soon as its demand passes ``hi``, since demand
   is never negative). Bounded by a count of sets and of steps: ``None`` when it would exceed
   them, so the caller falls back to sampling.
2. :func:`best_cover` chooses exactly ``k`` of them covering each atom once (set partitioning,
   a mixed-integer programme solved by HiGHS through :func:`scipy.optimize.milp`), at least
   cost; :func:`least_worst` first minimises the largest deviation from the mean, with the
   constraint ``z >= sum of dev_S x_S over the sets S holding atom v`` for every atom (tight:
   each atom lies in exactly one chosen set). Infeasibility is *proven* by the solver, which is
   how the design states the bound the ward lines impose when a tolerance cannot be met.

Every solver call is bounded by a node count (deterministic) and a time limit (a safety net).
HiGHS's presolve is switched off: on these wide set-partitioning models it costs seconds and
saves nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csc_matrix, csr_matrix, diags, hstack, vstack

__all__ = ["Choice", "Sets", "best_cover", "connected_sets", "least_worst", "relax"]

#: Nodes of branch and bound per solve (deterministic), and a wall-clock safety net (s).
NODE_LIMIT = 4000
TIME_LIMIT = 20.0
#: Models with more columns than this solve their linear relaxation first.
_WIDE = 1500


@dataclass(frozen=True)
class Sets:
    """Candidate areas: sets of atoms in CSR form (``idx[ptr[s]:ptr[s+1]]`` is set ``s``)."""

    ptr: np.ndarray
    idx: np.ndarray
    demand: np.ndarray

    def __len__(self) -> int:
        return len(self.demand)

    def matrix(self, n: int) -> csc_matrix:
        """Return atoms x sets incidence (``n`` atoms)."""
        return csc_matrix((np.ones(len(self.idx)), self.idx, self.ptr), shape=(n, len(self)))

    def members(self, s: int) -> np.ndarray:
        """Return the atoms of set ``s``."""
        return self.idx[self.ptr[s] : self.ptr[s + 1]]


def connected_sets(
    neighbours: Sequence[Sequence[int]],
    demand: np.ndarray,
    lo: float,
    hi: float,
    *,
    nodes: np.ndarray,
    limit: int,
) -> Sets | None:
    """List every connected set of ``nodes`` whose demand lies in ``[lo, hi]``.

    Parameters
    ----------
    neighbours : sequence of sequences
        Each atom's neighbours (positions); only neighbours among ``nodes`` count.
    demand : numpy.ndarray
        Demand per atom (all atoms), never negative.
    lo, hi : float
        The band a set's demand must lie in.
    nodes : numpy.ndarray
        The atoms sets are made of (positions, ascending or not).
    limit : int
        The most sets to list; the walk also stops after ``8 * limit`` steps.

    Returns
    -------
    Sets or None
        The sets (atoms as positions in the whole graph), or None past the limit.

    Examples
    --------
    >>> path = [[1], [0, 2], [1]]  # three atoms in a row
    >>> s = connected_sets(path, np.array([1.0, 1, 1]), 2, 2, nodes=np.arange(3), limit=10)
    >>> sorted(sorted(s.members(t).tolist()) for t in range(len(s)))
    [[0, 1], [1, 2]]
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    local = {int(v): t for t, v in enumerate(nodes.tolist())}
    masks = []
    for v in nodes.tolist():
        m = 0
        for u in neighbours[v]:
            t = local.get(int(u))
            if t is not None:
                m |= 1 << t
        masks.append(m)
    d = [float(x) for x in np.asarray(demand, dtype=float)[nodes]]
    flat: list[int] = []
    ptr = [0]
    steps, cap = 0, 8 * limit
    for r in range(len(d)):
        if d[r] > hi:
            continue
        above = ~((1 << (r + 1)) - 1)
        stack: list[tuple[tuple[int, ...], float, int, int]] = [
            ((r,), d[r], masks[r] & above, masks[r] | (1 << r))
        ]
        while stack:
            mem, tot, ext, closed = stack.pop()
            steps += 1
            if tot >= lo:
                flat.extend(mem)
                ptr.append(len(flat))
                if len(ptr) > limit + 1:
                    return None
            if steps > cap:
                return None
            while ext:
                low = ext & -ext
                ext ^= low
                w = low.bit_length() - 1
                t2 = tot + d[w]
                if t2 <= hi:
                    stack.append(
                        (mem + (w,), t2, ext | (masks[w] & ~closed & above), closed | masks[w])
                    )
    idx = nodes[np.asarray(flat, dtype=np.int64)] if flat else np.zeros(0, dtype=np.int64)
    p = np.asarray(ptr, dtype=np.int64)
    sums = np.add.reduceat(np.asarray(demand, dtype=float)[idx], p[:-1]) if len(idx) else idx
    return Sets(p, idx, np.asarray(sums, dtype=float))


@dataclass(frozen=True)
class Choice:
    """A solver's answer: which columns, its status, value and proven bound.

    ``status`` is ``"optimal"``, ``"feasible"`` (stopped at a limit with a solution),
    ``"infeasible"`` (proven: no choice exists), ``"no better"`` (proven: none beats the
    ``upper`` bound given) or ``"unknown"`` (stopped with none).
    """

    status: str
    chosen: np.ndarray
    value: float
    bound: float

    @property
    def found(self) -> bool:
        """Whether a choice was found."""
        return self.status in ("optimal", "feasible")


def _status(res: object) -> str:
    st = getattr(res, "status", 4)
    x = getattr(res, "x", None)
    if st == 0:
        return "optimal"
    if st == 2:
        return "infeasible"
    return "feasible" if x is not None else "unknown"


def _base(cols: csc_matrix, k: int, ident: np.ndarray | None) -> list[LinearConstraint]:
    """Each atom in exactly one chosen column; ``k`` columns; each current area used once."""
    n_cols = cols.shape[1]
    out = [
        LinearConstraint(cols, 1, 1),
        LinearConstraint(csr_matrix(np.ones((1, n_cols))), k, k),
    ]
    if ident is not None and (ident >= 0).any():
        used = ident >= 0
        codes, inv = np.unique(ident[used], return_inverse=True)
        rows = csr_matrix(
            (np.ones(int(used.sum())), (inv, np.nonzero(used)[0])), shape=(len(codes), n_cols)
        )
        out.append(LinearConstraint(rows, 0, 1))
    return out


def best_cover(
    cols: csc_matrix,
    cost: np.ndarray,
    k: int,
    *,
    ident: np.ndarray | None = None,
    upper: float | None = None,
    gap: float = 1e-4,
    node_limit: int = NODE_LIMIT,
    time_limit: float = TIME_LIMIT,
) -> Choice:
    """Choose ``k`` columns covering every atom once, at least total cost.

    Wide models first solve the linear relaxation: its infeasibility is a proof, an integral
    answer is optimal, and with an ``upper`` bound (a known plan's cost) every column whose
    reduced cost exceeds ``upper`` less the relaxation's value is dropped (it cannot be in a
    plan at least as good) before branch and bound.

    Parameters
    ----------
    cols : scipy.sparse.csc_matrix
        Atoms x columns incidence (0/1).
    cost : numpy.ndarray
        Cost per column.
    k : int
        Columns to choose.
    ident : numpy.ndarray, optional
        Per column, the current area it continues (-1: none); each is continued at most once.
    upper : float, optional
        The cost of a known choice: only better ones are sought.
    gap : float, default 1e-4
        Stop at a choice within this share of the best possible cost.
    node_limit, time_limit : int, float
        Bounds on the solve.

    Returns
    -------
    Choice
    """
    n_cols = cols.shape[1]
    none = np.zeros(0, dtype=np.int64)
    if n_cols == 0:
        return Choice("infeasible", none, np.inf, np.inf)
    cost = np.asarray(cost, dtype=float)
    cons = _base(cols, k, ident)
    keep = np.arange(n_cols)
    if n_cols > _WIDE:
        relaxed = _relax(cons, cost)
        if relaxed is None:
            return Choice("infeasible", none, np.inf, np.inf)
        x, value, reduced = relaxed
        if np.all((x < 1e-9) | (x > 1.0 - 1e-9)):
            chosen = np.nonzero(x > 0.5)[0]
            return Choice("optimal", chosen, float(cost[chosen].sum()), value)
        if upper is not None:
            if value >= upper - 1e-7 * max(1.0, abs(upper)):
                return Choice("no better", none, np.inf, value)
            keep = np.nonzero(reduced <= upper - value + 1e-7 * max(1.0, abs(upper)))[0]
            cons = _base(cols[:, keep], k, None if ident is None else ident[keep])
    res = milp(
        cost[keep],
        constraints=cons,
        integrality=np.ones(len(keep)),
        bounds=Bounds(0, 1),
        options={"presolve": False, "node_limit": node_limit, "time_limit": time_limit,
                 "mip_rel_gap": gap},
    )  # fmt: skip
    status = _status(res)
    if status == "infeasible" and len(keep) < n_cols:
        status = "no better"  # only columns that could beat ``upper`` were kept
    chosen = keep[np.nonzero(res.x > 0.5)[0]] if res.x is not None else none
    value = float(res.fun) if res.x is not None else np.inf
    bound = float(getattr(res, "mip_dual_bound", np.nan) or np.nan)
    return Choice(status, chosen, value, value if status == "optimal" else bound)


def relax(
    cols: csc_matrix, cost: np.ndarray, k: int, *, ident: np.ndarray | None = None
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Solve the linear relaxation of :func:`best_cover`: (x, value, reduced costs).

    None when even the relaxation is infeasible: a proof that no choice exists.
    """
    return _relax(_base(cols, k, ident), np.asarray(cost, dtype=float))


def _relax(
    cons: list[LinearConstraint], cost: np.ndarray
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Solve the linear relaxation: (x, value, reduced costs), or None when infeasible."""
    a_eq = vstack([cons[0].A, cons[1].A]).tocsr()
    b_eq = np.r_[np.ones(cons[0].A.shape[0]), float(np.asarray(cons[1].lb).ravel()[0])]
    a_ub = cons[2].A if len(cons) > 2 else None
    b_ub = np.ones(a_ub.shape[0]) if a_ub is not None else None
    res = linprog(cost, A_eq=a_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1),
                  method="highs")  # fmt: skip
    if res.status == 2:
        return None
    if res.status != 0:  # pragma: no cover - a relaxation of a bounded model always solves
        return np.full(len(cost), 0.5), -np.inf, np.zeros(len(cost))
    return np.asarray(res.x), float(res.fun), np.asarray(res.lower.marginals)


def least_worst(
    cols: csc_matrix,
    dev: np.ndarray,
    k: int,
    *,
    ident: np.ndarray | None = None,
    node_limit: int = NODE_LIMIT,
    time_limit: float = TIME_LIMIT,
) -> Choice:
    """Choose ``k`` columns covering every atom once, minimising the largest ``dev``.

    ``value`` is the largest deviation of the choice; ``bound`` what the solver proved no
    choice can beat (equal to ``value`` when optimal).
    """
    n, n_cols = cols.shape
    if n_cols == 0:
        return Choice("infeasible", np.zeros(0, dtype=np.int64), np.inf, np.inf)
    ext = hstack([cols, csc_matrix((n, 1))]).tocsc()
    cons = _base(ext, k, None if ident is None else np.r_[ident, -1])
    cons[1] = LinearConstraint(csr_matrix(np.r_[np.ones(n_cols), 0.0][None, :]), k, k)
    worst = hstack([cols @ diags(np.asarray(dev, dtype=float)), -np.ones((n, 1))])
    cons.append(LinearConstraint(worst.tocsr(), -np.inf, 0.0))
    res = milp(
        np.r_[np.zeros(n_cols), 1.0],
        constraints=cons,
        integrality=np.r_[np.ones(n_cols), 0.0],
        bounds=Bounds(0, np.r_[np.ones(n_cols), np.inf]),
        options={"presolve": False, "node_limit": node_limit, "time_limit": time_limit},
    )
    status = _status(res)
    if res.x is None:
        return Choice(status, np.zeros(0, dtype=np.int64), np.inf,
                      float(getattr(res, "mip_dual_bound", np.nan) or np.nan))  # fmt: skip
    chosen = np.nonzero(res.x[:n_cols] > 0.5)[0]
    value = float(np.max(dev[chosen])) if len(chosen) else 0.0
    bound = value if status == "optimal" else float(getattr(res, "mip_dual_bound", 0.0) or 0.0)
    return Choice(status, chosen, value, bound)
