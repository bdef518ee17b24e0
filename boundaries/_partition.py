"""Split a connected graph of atoms into k contiguous parts of near-equal demand (internal).

:class:`Partitioner` (configure, ``fit``, results in ``labels_``) is the engine of
:func:`beatplan.boundaries.design`. Every part stays connected by construction:

1. **Start.** From the current plan when there is one (its areas' connected pieces, the
   smallest merged into a neighbour or the heaviest cut in two until there are ``k``), else
   by recursive bisection: draw random spanning trees of the atoms (``scipy`` minimum spanning
   trees over random edge weights, long shared boundaries kept preferably) and cut the edge
   whose two sides best match their share of the parts, preferring short cuts (GerryChain's
   balanced edge cut; a bounded number of trees, never an open-ended retry).
2. **Heavy atoms.** An atom heavier than the upper bound stands alone: it counts as one
   part's demand exactly (so the others balance among themselves), wards sharing its part are
   given to neighbouring parts, and its part is frozen.
3. **Improve.** Boundary moves (an atom to a neighbouring part, never one whose removal
   would cut its part: networkx articulation points) and merge-split steps (two neighbouring
   parts merged and cut again along the best edge of fresh spanning trees, as ReCom does)
   that lower the cost: demand beyond the tolerance first, then the sum of squared
   deviations, the parts' isoperimetric excess (compactness) and the demand moved from the
   current plan (weighted by ``keep``).

Deterministic for a seed: the only randomness is one ``numpy.random.Generator``, and every
loop has a fixed bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix, csc_matrix, csr_matrix
from scipy.sparse.csgraph import depth_first_order, minimum_spanning_tree

from beatplan.boundaries._exact import Sets, best_cover, connected_sets, relax
from beatplan.boundaries._net import Net

__all__ = ["Partitioner", "heavy_atoms"]

#: Weight of demand beyond the tolerance against every other term of the cost.
_BEYOND = 1000.0
_EPS = 1e-9
#: Exact polish: parts of at most this many atoms on average are re-split exactly.
_EXACT_PER_PART = 10
#: The most candidate areas enumerated for a whole unit, and for one neighbourhood.
_WHOLE_SETS = 150_000
_LNS_SETS = 4_000
#: Steps of the descent on the largest deviation per exact solve.
_DESCENT_ROUNDS = 12
#: Neighbourhoods: their sizes in parts, tried in turn, their most atoms, and how many
#: chains to parts out of step the other way.
_LNS_SIZES = (2, 3, 5, 8)
_LNS_ATOMS = 32
_LNS_SINKS = 4
#: Neighbourhood solves per part at most, and rounds of the closing proof.
_LNS_STEPS_PER_PART = {"excess": 20, "balance": 4, "cost": 3}
#: Bounds on one neighbourhood's solve: branch-and-bound nodes, and seconds (a safety net).
_LNS_NODES = 500
_LNS_SECONDS = 3.0
_PROOF_ROUNDS = 1
#: Price and branch on the whole unit: rounds (widening bands) and the columns kept.
_RESTRICTED_ROUNDS = 3
_RESTRICTED_SETS = 1500


def heavy_atoms(demand: np.ndarray, k: int, tolerance: float) -> tuple[np.ndarray, float]:
    """Atoms that must stand alone (heavier than the upper bound), and the others' mean.

    The mean is taken over the parts the other atoms fill: ``(total - heavy) / (k - h)``,
    repeated until no further atom is heavier than ``(1 + tolerance)`` times it. At most
    ``k - 1`` atoms stand alone (the heaviest).
    """
    heavy = np.zeros(len(demand), dtype=bool)
    total = float(demand.sum())
    if k <= 1 or total <= 0:
        return heavy, total / max(k, 1)
    order = np.argsort(-demand, kind="stable")
    h = 0
    mean = total / k
    while h < k - 1 and demand[order[h]] > (1.0 + tolerance) * mean:
        h += 1
        mean = (total - float(demand[order[:h]].sum())) / (k - h)
    heavy[order[:h]] = True
    return heavy, mean


@dataclass
class _Parts:
    """Per-part sums kept up to date as atoms move."""

    demand: list[float]
    area: list[float]
    perim: list[float]
    members: list[set[int]]
    ident: list[int]


class Partitioner:
    """Split atoms into ``k`` contiguous parts, each within ``tolerance`` of the mean demand.

    Parameters
    ----------
    k : int
        The number of parts.
    tolerance : float, default 0.05
        Allowed relative deviation of a part's demand from the mean.
    keep : float, default 1.0
        Cost of moving one mean part's worth of demand away from its current part.
    compact : float, default 1.0
        Weight of compactness (the parts' isoperimetric excess, 1 / sqrt(Polsby–Popper) - 1).
    seed : int, default 0
        Seed of the random spanning trees.
    trees : int, default 12
        Spanning trees drawn per cut.
    rounds : int, optional
        Merge-split rounds at most; default ``4 * k`` (at least 40).

    Attributes
    ----------
    labels_ : numpy.ndarray
        Part of each atom, ``0 .. k-1``.
    heavy_ : numpy.ndarray of bool
        The atoms standing alone.
    mean_ : float
        The mean demand of the parts that are not a heavy atom alone.
    ident_ : numpy.ndarray
        For each part, the current area it continues (its code), or -1.
    """

    def __init__(
        self,
        k: int,
        *,
        tolerance: float = 0.05,
        keep: float = 1.0,
        compact: float = 1.0,
        seed: int | np.random.Generator = 0,
        trees: int = 12,
        rounds: int | None = None,
    ) -> None:
        self.k = int(k)
        self.tolerance = float(tolerance)
        self.keep = float(keep)
        self.compact = float(compact)
        self.seed = seed
        self.trees = int(trees)
        self.rounds = rounds

    # ------------------------------------------------------------------ fit
    def fit(self, net: Net, demand: np.ndarray, current: np.ndarray | None = None) -> Partitioner:
        """Split the atoms of ``net`` (connected) by ``demand``; start from ``current`` codes."""
        self.rng_ = np.random.default_rng(self.seed)
        self.net_ = net
        self.nb_ = net.neighbours()
        self.d_ = np.asarray(demand, dtype=float)
        n, k = net.n, self.k
        self.heavy_, self.mean_ = heavy_atoms(self.d_, k, self.tolerance)
        self.eff_ = np.where(self.heavy_, self.mean_, self.d_)
        self.scale_ = max(self.mean_, _EPS)
        self.cur_ = np.asarray(current, dtype=np.int64) if current is not None else np.full(n, -1)
        self.with_current_ = current is not None
        self.bound_, self.bound_kind_, self.bound_atom_ = 0.0, "", -1
        self.optimal_ = False
        self.goal_ = self.tolerance  # demand beyond this costs; raised to a proven floor
        if k >= n:
            labels = np.arange(n, dtype=np.int64)
            self._start(labels, self._idents(labels))
            self._finish()
            return self
        if self.with_current_:
            labels, ident = self._from_current()
        else:
            labels = self._bisect(np.arange(n), k)
            ident = [-1] * k
        self._start(labels, ident)
        self._stand_alone()
        self._improve()
        self._polish()
        self._finish()
        return self

    def _finish(self) -> None:
        """Set the results: labels, idents, cost and how far beyond the tolerance."""
        self.labels_ = self.lab_.copy()
        self.ident_ = np.asarray(self.parts_.ident, dtype=np.int64)
        self.worst_ = self._worst() if not all(self.frozen_) else 0.0
        self.cost_ = self.cost()
        dev = np.abs(self._devs())
        frozen = np.asarray(self.frozen_)
        self.beyond_ = float(np.maximum(0.0, dev[~frozen] - self.tolerance).sum())

    # ------------------------------------------------------------------ cost
    def _term(self, demand: float, area: float, perim: float) -> float:
        """Return the cost of one part: demand beyond the tolerance, deviation, compactness."""
        dev = demand / self.scale_ - 1.0
        tol = self.tolerance
        beyond = max(0.0, abs(dev) - self.goal_) / tol
        shape = perim / (2.0 * math.sqrt(math.pi * area)) - 1.0 if area > 0 else 0.0
        return _BEYOND * beyond + (dev / tol) ** 2 + self.compact * shape

    def _moved(self, v: int, part: int) -> float:
        """Return the cost of atom ``v`` lying in ``part`` rather than in its current area."""
        if not self.with_current_ or self.keep == 0:
            return 0.0
        c = self.cur_[v]
        if c >= 0 and self.parts_.ident[part] == c:
            return 0.0
        return self.keep * self.d_[v] / self.scale_

    def cost(self) -> float:
        """Return the total cost of the present parts."""
        p = self.parts_
        total = sum(self._term(p.demand[a], p.area[a], p.perim[a]) for a in range(len(p.demand)))
        return total + sum(self._moved(v, int(self.lab_[v])) for v in range(self.net_.n))

    # ------------------------------------------------------------------ state
    def _idents(self, labels: np.ndarray) -> list[int]:
        """Each part's current area: the one holding most of its demand, each used once."""
        k = int(labels.max()) + 1 if len(labels) else 0
        ident = [-1] * k
        if not self.with_current_:
            return ident
        known = self.cur_ >= 0
        if not known.any():
            return ident
        nc = int(self.cur_.max()) + 1
        share = np.zeros((k, nc))
        np.add.at(share, (labels[known], self.cur_[known]), self.d_[known] + _EPS)
        order = np.argsort(-share, axis=None, kind="stable")
        used: set[int] = set()
        for flat in order.tolist():
            a, c = divmod(flat, nc)
            if share[a, c] <= 0:
                break
            if ident[a] < 0 and c not in used:
                ident[a] = c
                used.add(c)
        return ident

    def _start(self, labels: np.ndarray, ident: list[int]) -> None:
        net = self.net_
        k = int(labels.max()) + 1
        inside = labels[net.i] == labels[net.j]
        perim = np.bincount(labels, weights=net.perimeter, minlength=k).astype(float)
        perim = perim - 2.0 * np.bincount(
            labels[net.i[inside]], weights=net.length[inside], minlength=k
        )
        self.lab_ = labels.astype(np.int64).copy()
        members: list[set[int]] = [set() for _ in range(k)]
        for v, a in enumerate(self.lab_.tolist()):
            members[a].add(v)
        self.parts_ = _Parts(
            np.bincount(labels, weights=self.eff_, minlength=k).tolist(),
            np.bincount(labels, weights=net.area, minlength=k).tolist(),
            perim.tolist(),
            members,
            list(ident),
        )
        self.graph_ = net.graph()
        self.frozen_ = [False] * k
        self.version_ = [0] * k
        self.cut_: dict[int, set[int]] = {}

    def _articulation(self, a: int) -> set[int]:
        """Return the atoms whose removal would cut part ``a`` (cached until the part changes)."""
        got = self.cut_.get(a)
        if got is None:
            got = set(nx.articulation_points(self.graph_.subgraph(self.parts_.members[a])))
            self.cut_[a] = got
        return got

    def _shared(self, v: int) -> dict[int, float]:
        """Boundary ``v`` shares with each part (its own included)."""
        out: dict[int, float] = {}
        lab = self.lab_
        nbrs, lens = self.nb_[v]
        for u, ln in zip(nbrs, lens, strict=True):
            b = int(lab[u])
            out[b] = out.get(b, 0.0) + ln
        return out

    def _move(self, v: int, b: int, shared: dict[int, float]) -> None:
        p, net = self.parts_, self.net_
        a = int(self.lab_[v])
        e = float(self.eff_[v])
        p.demand[a] -= e
        p.demand[b] += e
        p.area[a] -= float(net.area[v])
        p.area[b] += float(net.area[v])
        p.perim[a] += -float(net.perimeter[v]) + 2.0 * shared.get(a, 0.0)
        p.perim[b] += float(net.perimeter[v]) - 2.0 * shared.get(b, 0.0)
        p.members[a].discard(v)
        p.members[b].add(v)
        self.lab_[v] = b
        self.cut_.pop(a, None)
        self.cut_.pop(b, None)
        self.version_[a] += 1
        self.version_[b] += 1

    # ------------------------------------------------------------------ start
    def _tree(self, sub: Net) -> tuple[np.ndarray, np.ndarray]:
        """Return a random spanning tree of ``sub`` in depth-first order: (order, predecessors)."""
        med = float(np.median(sub.length[sub.length > 0])) if (sub.length > 0).any() else 1.0
        w = (self.rng_.random(len(sub.i)) + 0.05) / (1.0 + sub.length / med)
        g = coo_matrix((w, (sub.i, sub.j)), shape=(sub.n, sub.n)).tocsr()
        tree = minimum_spanning_tree(g)
        root = int(self.rng_.integers(sub.n))
        order, pred = depth_first_order(tree, root, directed=False, return_predecessors=True)
        return order, pred

    def _cut(self, nodes: np.ndarray, k1: int, k2: int) -> np.ndarray:
        """Cut ``nodes`` in two connected sides for ``k1`` and ``k2`` parts; side 1's mask.

        Small sets (a few dozen atoms) get four times the trees: their cuts are few and cheap.
        """
        sub = self.net_.sub(nodes)
        w = self.eff_[nodes]
        total = float(w.sum())
        k = k1 + k2
        mean = total / k
        scale = math.sqrt(max(float(sub.area.sum()), _EPS))
        best: tuple[float, np.ndarray] | None = None
        for _ in range(self.trees * (4 if sub.n <= 40 else 1)):
            order, pred = self._tree(sub)
            if len(order) < sub.n:  # not connected: cannot happen for a linked net
                continue
            sums, sizes = _subtree_sums(order, pred, w)
            s = sums[order[1:]]
            c = sizes[order[1:]]
            # the subtree takes k1 parts (a) or k2 parts (b)
            err_a = np.maximum(np.abs(s / (k1 * mean) - 1), np.abs((total - s) / (k2 * mean) - 1))
            err_b = np.maximum(np.abs(s / (k2 * mean) - 1), np.abs((total - s) / (k1 * mean) - 1))
            ok_a = (c >= k1) & (sub.n - c >= k2)
            ok_b = (c >= k2) & (sub.n - c >= k1)
            err_a[~ok_a] = np.inf
            err_b[~ok_b] = np.inf
            err = np.minimum(err_a, err_b)
            pos = np.empty(sub.n, dtype=np.int64)
            pos[order] = np.arange(sub.n)
            for t in np.argsort(err, kind="stable")[:6]:
                if not np.isfinite(err[t]):
                    break
                v = order[t + 1]
                mask = np.zeros(sub.n, dtype=bool)
                mask[order[pos[v] : pos[v] + sizes[v]]] = True
                cut = float(sub.length[mask[sub.i] != mask[sub.j]].sum()) / scale
                beyond = max(0.0, float(err[t]) - self.tolerance) / self.tolerance
                score = (
                    _BEYOND * beyond + (float(err[t]) / self.tolerance) ** 2 + self.compact * cut
                )
                side1 = mask if err_a[t] <= err_b[t] else ~mask
                if best is None or score < best[0]:
                    best = (score, side1)
        if best is None:
            raise RuntimeError("no spanning tree of a part could be cut")  # pragma: no cover
        return best[1]

    def _bisect(self, nodes: np.ndarray, k: int) -> np.ndarray:
        """Recursive bisection of ``nodes`` into ``k`` parts (labels 0 .. k-1)."""
        labels = np.full(self.net_.n, -1, dtype=np.int64)
        stack = [(nodes, k)]
        nxt = 0
        while stack:
            part, kk = stack.pop()
            if kk == 1:
                labels[part] = nxt
                nxt += 1
                continue
            k1 = kk // 2
            side = self._cut(part, k1, kk - k1)
            stack.append((part[~side], kk - k1))
            stack.append((part[side], k1))
        return labels

    def _from_current(self) -> tuple[np.ndarray, list[int]]:
        """Start from the current areas' pieces, merged or cut until there are ``k``."""
        net, cur = self.net_, self.cur_.copy()
        free = cur < 0
        cur[free] = cur.max() + 1 + np.arange(int(free.sum())) if free.any() else cur[free]
        same = cur[net.i] == cur[net.j]
        m = coo_matrix((np.ones(int(same.sum())), (net.i[same], net.j[same])), shape=(net.n, net.n))
        from scipy.sparse.csgraph import connected_components

        _, labels = connected_components(m, directed=False)
        labels = np.asarray(labels, dtype=np.int64)
        while int(labels.max()) + 1 > self.k:
            labels = self._merge_lightest(labels)
        while int(labels.max()) + 1 < self.k:
            dem = np.bincount(labels, weights=self.eff_)
            size = np.bincount(labels)
            cand = np.nonzero(size >= 2)[0]
            a = int(cand[np.argmax(dem[cand])])
            nodes = np.nonzero(labels == a)[0]
            side = self._cut(nodes, 1, 1)
            labels[nodes[~side]] = int(labels.max()) + 1
        return labels, self._idents(labels)

    def _merge_lightest(self, labels: np.ndarray) -> np.ndarray:
        """Merge the lightest part into its lightest neighbouring part; renumber."""
        net = self.net_
        dem = np.bincount(labels, weights=self.eff_)
        a = int(np.argmin(dem))
        li, lj = labels[net.i], labels[net.j]
        touch = np.r_[lj[li == a], li[lj == a]]
        touch = np.unique(touch[touch != a])
        b = int(touch[np.argmin(dem[touch])])
        labels = labels.copy()
        labels[labels == a] = b
        return np.unique(labels, return_inverse=True)[1].astype(np.int64)

    # ------------------------------------------------------------------ heavy atoms
    def _stand_alone(self) -> None:
        """Give the other atoms of a heavy atom's part to neighbouring parts; freeze the part."""
        p = self.parts_
        for h in np.nonzero(self.heavy_)[0].tolist():
            a = int(self.lab_[h])
            rest = p.members[a] - {h}
            if rest:
                pieces = nx.connected_components(self.graph_.subgraph(rest))
                for piece in sorted(pieces, key=min):
                    self._give_away(sorted(piece), a)
            self.frozen_[a] = len(p.members[a]) == 1

    def _give_away(self, piece: list[int], a: int) -> None:
        """Move a connected piece out of part ``a`` into its lightest neighbouring part."""
        p = self.parts_
        touch = {int(self.lab_[u]) for v in piece for u in self.nb_[v][0] if int(self.lab_[u]) != a}
        touch = {b for b in touch if not self.frozen_[b]}
        if not touch:
            return
        b = min(touch, key=lambda x: (p.demand[x], x))
        todo = list(piece)
        while todo:  # move wards touching b first, so b stays connected
            moved = [v for v in todo if any(int(self.lab_[u]) == b for u in self.nb_[v][0])]
            if not moved:
                return
            for v in moved:
                self._move(v, b, self._shared(v))
            todo = [v for v in todo if v not in set(moved)]

    # ------------------------------------------------------------------ improve
    def _improve(self) -> None:
        small = self.net_.n / max(self.k, 1) <= _EXACT_PER_PART  # the exact polish follows
        rounds = self.rounds if self.rounds is not None else (
            self.k if small else max(40, 4 * self.k))  # fmt: skip
        self._sweep()
        stale: set[tuple[int, int]] = set()
        for _ in range(rounds):
            pair = self._next_pair(stale)
            if pair is None:
                break
            if self._recombine(*pair):
                stale.clear()
                self._sweep()
            else:
                stale.add(pair)

    def _sweep(self, max_sweeps: int = 30) -> None:
        """Move boundary atoms to a neighbouring part while that lowers the cost."""
        net = self.net_
        for _ in range(max_sweeps):
            lab = self.lab_
            edge = lab[net.i] != lab[net.j]
            border = np.unique(np.r_[net.i[edge], net.j[edge]])
            changed = False
            for v in self.rng_.permutation(border).tolist():
                changed |= self._try_move(v)
            if not changed:
                return

    def _try_move(self, v: int) -> bool:
        p = self.parts_
        a = int(self.lab_[v])
        if self.frozen_[a] or len(p.members[a]) <= 1:
            return False
        shared = self._shared(v)
        e = float(self.eff_[v])
        area, per = float(self.net_.area[v]), float(self.net_.perimeter[v])
        old_a = self._term(p.demand[a], p.area[a], p.perim[a])
        new_a = self._term(
            p.demand[a] - e, p.area[a] - area, p.perim[a] - per + 2.0 * shared.get(a, 0.0)
        )
        stay = self._moved(v, a)
        best, best_b = -_EPS * 10, -1
        for b, ln in shared.items():
            if b == a or self.frozen_[b]:
                continue
            old_b = self._term(p.demand[b], p.area[b], p.perim[b])
            new_b = self._term(p.demand[b] + e, p.area[b] + area, p.perim[b] + per - 2.0 * ln)
            delta = new_a + new_b - old_a - old_b + self._moved(v, b) - stay
            if delta < best:
                best, best_b = delta, b
        if best_b < 0 or v in self._articulation(a):
            return False
        self._move(v, best_b, shared)
        return True

    def _devs(self) -> np.ndarray:
        return np.asarray(self.parts_.demand) / self.scale_ - 1.0

    def _next_pair(self, stale: set[tuple[int, int]]) -> tuple[int, int] | None:
        """Return the next two neighbouring parts to merge and split: worst deviation first."""
        dev = self._devs()
        net, lab = self.net_, self.lab_
        li, lj = lab[net.i], lab[net.j]
        diff = li != lj
        pairs = np.unique(
            np.c_[np.minimum(li[diff], lj[diff]), np.maximum(li[diff], lj[diff])], axis=0
        )
        if not len(pairs):
            return None
        frozen = np.asarray(self.frozen_)
        pairs = pairs[~frozen[pairs[:, 0]] & ~frozen[pairs[:, 1]]]
        # worst first: the larger |deviation| of the two, then the pair most out of step
        bad = np.maximum(np.abs(dev[pairs[:, 0]]), np.abs(dev[pairs[:, 1]]))
        gap = np.abs(dev[pairs[:, 0]] - dev[pairs[:, 1]])
        shape = self._shapes()
        worst_shape = np.maximum(shape[pairs[:, 0]], shape[pairs[:, 1]])
        key = np.where(bad > self.tolerance * 0.5, bad + gap, 0.0) + 1e-3 * worst_shape
        for t in np.argsort(-key, kind="stable").tolist():
            pair = (int(pairs[t, 0]), int(pairs[t, 1]))
            if pair not in stale:
                return pair
        return None

    def _shapes(self) -> np.ndarray:
        p = self.parts_
        area = np.maximum(np.asarray(p.area), _EPS)
        return np.asarray(p.perim) / (2.0 * np.sqrt(np.pi * area)) - 1.0

    def _recombine(self, a: int, b: int) -> bool:
        """Merge parts ``a`` and ``b`` and cut them again; keep the cut if the cost falls."""
        p = self.parts_
        nodes = np.array(sorted(p.members[a] | p.members[b]), dtype=np.int64)
        if len(nodes) < 2:
            return False
        before = self._pair_cost(a, b, nodes)
        side = self._cut(nodes, 1, 1)
        old = self.lab_[nodes].copy()
        best: tuple[float, np.ndarray] | None = None
        for first, second in ((a, b), (b, a)):
            labels = np.where(side, first, second)
            self.lab_[nodes] = labels
            c = self._pair_cost(a, b, nodes)
            if best is None or c < best[0]:
                best = (c, labels)
        self.lab_[nodes] = old
        assert best is not None
        if best[0] >= before - 1e-9:
            return False
        self._reassign(nodes, best[1], (a, b))
        return True

    def _pair_cost(self, a: int, b: int, nodes: np.ndarray) -> float:
        """Return the cost of parts ``a`` and ``b`` as ``lab_`` has them."""
        net = self.net_
        sub = net.sub(nodes)
        lab = self.lab_[nodes]
        total = 0.0
        for x in (a, b):
            m = lab == x
            inside = m[sub.i] & m[sub.j]
            perim = float(sub.perimeter[m].sum() - 2.0 * sub.length[inside].sum())
            total += self._term(float(self.eff_[nodes][m].sum()), float(sub.area[m].sum()), perim)
        if self.with_current_:
            total += sum(self._moved(int(v), int(x)) for v, x in zip(nodes, lab, strict=True))
        return total

    def _reassign(self, nodes: np.ndarray, labels: np.ndarray, parts: tuple[int, int]) -> None:
        """Put ``nodes`` in the parts ``labels`` name, updating the sums of both parts."""
        net, p = self.net_, self.parts_
        self.lab_[nodes] = labels
        sub = net.sub(nodes)
        for x in parts:
            m = labels == x
            inside = m[sub.i] & m[sub.j]
            p.demand[x] = float(self.eff_[nodes][m].sum())
            p.area[x] = float(sub.area[m].sum())
            p.perim[x] = float(sub.perimeter[m].sum() - 2.0 * sub.length[inside].sum())
            p.members[x] = set(nodes[m].tolist())
            self.cut_.pop(x, None)
            self.version_[x] += 1

    # ------------------------------------------------------------------ exact polish
    def _polish(self) -> None:
        """Improve the plan by exact set partitioning: the whole unit, else neighbourhoods.

        Parts of a few atoms each are re-split exactly (:mod:`._exact`). First the floor: the
        closest to the mean each atom's best connected area comes, a bound no plan beats; the
        search then aims at it (demand beyond ``max(tolerance, floor)`` is what costs). The
        whole unit is solved at once when its candidate areas are few enough, which proves the
        best balance the ward lines allow; else, repeatedly, neighbourhoods of parts are
        re-split exactly (a large-neighbourhood search), then the whole unit is asked for a
        plan better than the one reached (a proof when there is none). Parts of many atoms
        are left to the spanning trees.
        """
        light = [a for a in range(len(self.parts_.demand)) if not self.frozen_[a]]
        if len(light) < 2:
            return
        n_light = sum(len(self.parts_.members[a]) for a in light)
        if n_light / len(light) > _EXACT_PER_PART:
            return
        self._ward_floor(light)
        self.goal_ = max(self.tolerance, self.bound_)
        whole = self._solve_group(light, limit=_WHOLE_SETS, whole=True)
        if whole == "too big" or not self.optimal_:
            if self._worst() > self.goal_ * (1.0 + 1e-9):
                self._restricted(light)
            self._lns()
            if self._worst() > self.goal_ * (1.0 + 1e-9):
                self._prove(light)
        self.optimal_ |= self._worst() <= self.bound_ * (1.0 + 1e-9) + 1e-12
        self.goal_ = self.tolerance

    def _worst(self, parts: list[int] | None = None) -> float:
        """Return the largest |deviation| among ``parts`` (default: every part not frozen)."""
        dev = np.abs(self._devs())
        frozen = np.asarray(self.frozen_)
        return float(dev[~frozen].max() if parts is None else dev[parts].max())

    def _raise_bound(self, value: float, kind: str, atom: int = -1) -> None:
        if value > self.bound_ + _EPS:
            self.bound_, self.bound_kind_, self.bound_atom_ = float(value), kind, int(atom)

    def _ward_floor(self, light: list[int]) -> None:
        """Raise the bound to each atom's best area.

        The best area is the closest to the mean that any connected set holding the atom comes
        (every connected set enumerated, in widening bands).
        """
        nodes = np.array(sorted(set().union(*(self.parts_.members[a] for a in light))))
        band = self.tolerance
        while True:
            sets = self._sets(nodes, band, _WHOLE_SETS)
            if sets is None:
                return
            dev = np.abs(sets.demand / self.scale_ - 1.0)
            best = np.full(self.net_.n, np.inf)
            owner = np.repeat(np.arange(len(sets)), np.diff(sets.ptr))
            np.minimum.at(best, sets.idx, dev[owner])
            best = best[nodes]
            t = int(np.argmax(best))
            if np.isfinite(best[t]):
                self._raise_bound(float(best[t]), "ward's best area", int(nodes[t]))
                return
            self._raise_bound(band, "ward's best area", int(nodes[t]))  # beyond the band
            if band >= 1.0:
                return
            band = min(1.0, 2.0 * band)

    def _sets(self, nodes: np.ndarray, band: float, limit: int) -> Sets | None:
        band = band * (1.0 + 1e-9) + 1e-12
        lo, hi = self.scale_ * (1.0 - band), self.scale_ * (1.0 + band)
        adj = [nbrs for nbrs, _ in self.nb_]
        return connected_sets(adj, self.eff_, lo, hi, nodes=nodes, limit=limit)

    def _columns(
        self, sets: Sets, nodes: np.ndarray, parts: list[int], *, full: bool = True
    ) -> tuple[csc_matrix, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Columns for the solver: (incidence, set of each, current area it continues, |dev|, cost).

        With a current plan each set appears once per current area it could continue (those of
        ``parts`` and those no part continues; with ``full=False`` only the one it overlaps
        most) and once as a new area; its cost adds the demand it moves.
        """
        net = self.net_
        n_sets = len(sets)
        pos = np.full(net.n, -1, dtype=np.int64)
        pos[nodes] = np.arange(len(nodes))
        owner = np.repeat(np.arange(n_sets), np.diff(sets.ptr))
        inc = csr_matrix(
            (np.ones(len(sets.idx)), (owner, pos[sets.idx])), shape=(n_sets, len(nodes))
        )
        area = inc @ net.area[nodes]
        inner = (pos[net.i] >= 0) & (pos[net.j] >= 0)
        ei, ej = pos[net.i[inner]], pos[net.j[inner]]
        shared = inc[:, ei].multiply(inc[:, ej]) @ net.length[inner]
        perim = inc @ net.perimeter[nodes] - 2.0 * np.asarray(shared).ravel()
        dev = sets.demand / self.scale_ - 1.0
        shape = np.where(
            area > 0, perim / (2.0 * np.sqrt(np.pi * np.maximum(area, _EPS))) - 1.0, 0.0
        )
        beyond = np.maximum(0.0, np.abs(dev) - self.goal_) / self.tolerance
        term = _BEYOND * beyond + (dev / self.tolerance) ** 2 + self.compact * shape
        which = np.arange(n_sets)
        ident = np.full(n_sets, -1, dtype=np.int64)
        if self.with_current_:
            keep = max(self.keep, 1e-6)  # a whisper of keep: ids follow the current areas
            moved = keep * sets.demand / self.scale_  # the atoms are light: eff is demand
            cur = self.cur_[nodes]
            used = {int(self.parts_.ident[a]) for a in range(len(self.parts_.ident))}
            free = {int(self.parts_.ident[a]) for a in parts} | (
                set(np.unique(self.cur_[self.cur_ >= 0]).tolist()) - used
            )
            ok = np.array([c in free for c in cur.tolist()], dtype=bool) & (cur >= 0)
            if ok.any():
                codes, inv = np.unique(cur[ok], return_inverse=True)
                onehot = csr_matrix(
                    (self.d_[nodes][ok] + _EPS, (np.nonzero(ok)[0], inv)),
                    shape=(len(nodes), len(codes)),
                )
                over = (inc @ onehot).tocoo()
                if not full:  # the current area each set overlaps most, and new
                    top = np.lexsort((over.col, -over.data, over.row))
                    first = np.r_[True, np.diff(over.row[top]) != 0]
                    pick = top[first]
                    over = coo_matrix((over.data[pick], (over.row[pick], over.col[pick])),
                                      shape=over.shape)  # fmt: skip
                which = np.r_[which, over.row]
                ident = np.r_[ident, codes[over.col]]
                cost = np.r_[term + moved, term[over.row] + moved[over.row]
                             - keep * over.data / self.scale_]  # fmt: skip
            else:
                cost = term + moved
        else:
            cost = term
        cols = inc.T.tocsc()[:, which]
        return cols, which, ident, np.abs(dev[which]), cost

    def _group_cost(self, parts: list[int], nodes: np.ndarray) -> float:
        p = self.parts_
        total = sum(self._term(p.demand[a], p.area[a], p.perim[a]) for a in parts)
        if self.with_current_:
            total += sum(self._moved(int(v), int(self.lab_[v])) for v in nodes.tolist())
        return total

    def _solve_group(
        self, parts: list[int], *, limit: int, whole: bool = False, cap: float | None = None
    ) -> str:
        """Re-split ``parts`` exactly; return "better", "same" or "too big".

        Balance first (``cap`` None): while some part is beyond the tolerance, ask for the
        least-cost plan whose every part is closer to the mean than the worst one now (a descent
        that ends on a proof that none exists: for the whole unit, that makes the worst
        deviation reached the bound); within the tolerance, the least cost. With ``cap``, the
        least cost with every part within ``max(tolerance, cap)``.
        """
        p = self.parts_
        nodes = np.array(sorted(set().union(*(p.members[a] for a in parts))), dtype=np.int64)
        worst = self._worst(parts)
        tol = self.tolerance * (1.0 + 1e-9)
        limit_band = tol if cap is None else max(tol, cap * (1.0 + 1e-9) + 1e-12)
        balance = worst > limit_band
        # the parts' mean deviation is a floor on their worst: no re-split goes below it
        floor = abs(sum(p.demand[a] for a in parts) / (len(parts) * self.scale_) - 1.0)
        if balance and floor >= worst * (1.0 - 1e-6):
            return "same"
        sets = self._sets(nodes, max(limit_band, worst), limit)
        if sets is None:
            return "too big"
        cols, which, ident, dev, cost = self._columns(sets, nodes, parts, full=whole)
        r = len(parts)
        chosen: np.ndarray | None = None
        band = limit_band if floor <= limit_band else worst * (1.0 - 1e-6)
        old_cost = self._group_cost(parts, nodes)
        limits: dict[str, Any] = (
            {} if whole else {"node_limit": _LNS_NODES, "time_limit": _LNS_SECONDS}
        )
        for _ in range(_DESCENT_ROUNDS if whole else 3):
            inside = np.nonzero(dev <= band)[0]
            got = best_cover(cols[:, inside], cost[inside], r,
                             ident=ident[inside] if self.with_current_ else None,
                             upper=None if balance else old_cost, **limits)  # fmt: skip
            if got.found:
                chosen = inside[got.chosen]
                if band <= limit_band or got.status != "optimal":
                    self.optimal_ |= whole and band <= tol and got.status == "optimal"
                    break
                band = float(dev[chosen].max()) * (1.0 - 1e-6)
                continue
            if got.status == "no better":
                self.optimal_ |= whole
                break
            if got.status != "infeasible":
                break
            reached = worst if chosen is None else float(dev[chosen].max())
            if band <= limit_band and balance:  # none within the band: descend from the worst
                if whole:
                    self._raise_bound(self.tolerance, "no plan within the tolerance")
                band = reached * (1.0 - 1e-6)
                continue
            if whole:  # none closer to the mean than the best reached: it is the optimum
                self._raise_bound(reached, "set partitioning")
                self.optimal_ = True
            break
        if chosen is None:
            return "same"
        new_worst = float(dev[chosen].max()) if len(chosen) else np.inf
        new_cost = float(cost[chosen].sum())
        cheaper = new_cost < old_cost - 1e-9 * max(1.0, abs(old_cost))
        if not (new_worst < worst - 1e-9 if balance else cheaper):
            return "same"
        self._adopt(parts, sets, which[chosen], ident[chosen])
        return "better"

    def _adopt(self, parts: list[int], sets: Sets, chosen: np.ndarray, ident: np.ndarray) -> None:
        """Give the chosen sets to ``parts`` (one continuing a part's area keeps its number)."""
        p = self.parts_
        order = sorted(range(len(chosen)), key=lambda t: (-int(ident[t] >= 0), int(ident[t]), t))
        free = list(parts)
        target: dict[int, int] = {}
        for t in order:
            same = [a for a in free if ident[t] >= 0 and p.ident[a] == int(ident[t])]
            a = same[0] if same else -1
            if a >= 0:
                target[t] = a
                free.remove(a)
        for t in order:
            if t not in target:
                target[t] = free.pop(0)
        net = self.net_
        for t, a in target.items():
            members = sets.members(int(chosen[t]))
            self.lab_[members] = a
        for t, a in target.items():
            members = sets.members(int(chosen[t]))
            sub = net.sub(members)
            p.demand[a] = float(self.eff_[members].sum())
            p.area[a] = float(net.area[members].sum())
            p.perim[a] = float(net.perimeter[members].sum() - 2.0 * sub.length.sum())
            p.members[a] = set(members.tolist())
            p.ident[a] = int(ident[t])
            self.cut_.pop(a, None)
            self.version_[a] += 1

    def _part_neighbours(self) -> list[set[int]]:
        net, lab = self.net_, self.lab_
        li, lj = lab[net.i], lab[net.j]
        diff = li != lj
        out: list[set[int]] = [set() for _ in range(len(self.parts_.demand))]
        for a, b in zip(li[diff].tolist(), lj[diff].tolist(), strict=True):
            out[a].add(b)
            out[b].add(a)
        return out

    def _clusters(self, a: int, touch: list[set[int]], paths: bool) -> list[list[int]]:
        """Return neighbourhoods of part ``a``, small first.

        Rings around it (2, 3, 5, 8 parts; in each ring those most out of step with ``a``
        first), then, with ``paths``, the chain of parts to each of the nearest parts out of
        step the other way (demand passed along).
        """
        dev = self._devs()
        p = self.parts_
        sign = 1.0 if dev[a] >= 0 else -1.0

        def around(x: int) -> list[int]:
            return sorted((b for b in touch[x] if not self.frozen_[b]),
                          key=lambda b: (sign * dev[b], b))  # fmt: skip

        out: list[list[int]] = []
        for size in _LNS_SIZES:
            got, atoms, seen, ring = [a], len(p.members[a]), {a}, [a]
            while ring and len(got) < size:
                nxt = [b for x in ring for b in around(x) if b not in seen]
                nxt = sorted(set(nxt), key=lambda b: (sign * dev[b], b))
                seen.update(nxt)
                ring = []
                for b in nxt:
                    if len(got) < size and atoms + len(p.members[b]) <= _LNS_ATOMS:
                        got.append(b)
                        ring.append(b)
                        atoms += len(p.members[b])
            if len(got) > 1 and sorted(got) not in out:
                out.append(sorted(got))
        if paths:
            parent = {a: -1}
            queue = [a]
            for x in queue:
                for b in around(x):
                    if b not in parent:
                        parent[b] = x
                        queue.append(b)
            sinks = [b for b in queue if sign * dev[b] < -self.tolerance / 2][:_LNS_SINKS]
            for b in sinks:
                chain = [b]
                while parent[chain[-1]] >= 0:
                    chain.append(parent[chain[-1]])
                if sum(len(p.members[x]) for x in chain) <= _LNS_ATOMS:
                    if sorted(chain) not in out:
                        out.append(sorted(chain))
        return out

    def _lns(self) -> None:
        """Exact re-splits of neighbourhoods: balance first (the worst parts), then cost.

        Balance: while some part is beyond the tolerance, take the worst first and try its
        neighbourhoods, small first, until one lowers its worst deviation; then again. Cost:
        every part, costliest first, re-split with its ring at the least cost, keeping every
        part within the tolerance (or the worst deviation reached). Bounded by a number of
        solves.
        """
        tried: set[tuple[object, ...]] = set()
        tol = self.tolerance * (1.0 + 1e-9)
        for phase in ("excess", "balance", "cost"):
            if phase == "balance" and self._worst() <= max(tol, self.goal_ * (1.0 + 1e-9)):
                continue
            budget = _LNS_STEPS_PER_PART[phase] * len(self.parts_.demand)
            steps = 0
            while steps < budget:
                cap = None if phase == "balance" else max(tol, self._worst())
                dev = np.abs(self._devs())
                p = self.parts_
                if phase != "cost":
                    goal = max(tol, self.goal_ * (1.0 + 1e-9))
                    seeds = [a for a in np.argsort(-dev, kind="stable").tolist()
                             if dev[a] > goal and not self.frozen_[a]]  # fmt: skip
                else:
                    terms = [self._term(p.demand[a], p.area[a], p.perim[a])
                             for a in range(len(dev))]  # fmt: skip
                    seeds = sorted((a for a in range(len(dev)) if not self.frozen_[a]),
                                   key=lambda a: (-terms[a], a))  # fmt: skip
                touch = self._part_neighbours()
                improved = False
                for a in seeds:
                    for cluster in self._clusters(a, touch, paths=phase != "cost"):
                        key = (phase, *((b, self.version_[b]) for b in cluster))
                        if key in tried:
                            continue
                        tried.add(key)
                        steps += 1
                        got = self._solve_group(cluster, limit=_LNS_SETS, cap=cap)
                        improved = got == "better"
                        if improved or steps >= budget:
                            break
                    if improved or steps >= budget:
                        break
                if not improved:
                    break

    def _restricted(self, light: list[int]) -> None:
        """Aim the whole unit at the floor.

        The linear relaxation over every candidate area within the band, then set partitioning
        over the areas of least reduced cost (price and branch). A relaxation with no solution
        proves the band out of reach: it widens.
        """
        nodes = np.array(sorted(set().union(*(self.parts_.members[a] for a in light))))
        band = self.goal_
        for _ in range(_RESTRICTED_ROUNDS):
            if band >= self._worst():
                return
            sets = self._sets(nodes, band, _WHOLE_SETS)
            if sets is None:
                return
            cols, which, ident, dev, cost = self._columns(sets, nodes, light, full=False)
            n_sets = len(sets)  # the first n_sets columns are the sets themselves, as new areas
            least = cost[:n_sets].copy()
            np.minimum.at(least, which, cost)
            relaxed = relax(cols[:, :n_sets], least, len(light))
            if relaxed is None:  # not even fractionally: no plan within the band
                self._raise_bound(band, "set partitioning")
                band *= 1.25
                continue
            best_sets = np.zeros(n_sets, dtype=bool)
            best_sets[np.argsort(relaxed[2], kind="stable")[:_RESTRICTED_SETS]] = True
            keep = np.nonzero(best_sets[which])[0]
            got = best_cover(
                cols[:, keep], cost[keep], len(light),
                ident=ident[keep] if self.with_current_ else None,
                gap=0.1, node_limit=_LNS_NODES, time_limit=4 * _LNS_SECONDS,
            )  # fmt: skip
            if got.found:
                chosen = keep[got.chosen]
                self._adopt(light, sets, which[chosen], ident[chosen])
            return

    def _prove(self, light: list[int]) -> None:
        """Ask whether any plan beats the worst deviation reached: a proof makes it the bound."""
        nodes = np.array(sorted(set().union(*(self.parts_.members[a] for a in light))))
        for _ in range(_PROOF_ROUNDS):
            worst = self._worst()
            target = worst * (1.0 - 1e-6)
            sets = self._sets(nodes, target, _WHOLE_SETS)
            if sets is None:
                return
            cols, which, ident, dev, cost = self._columns(sets, nodes, light, full=False)
            got = best_cover(cols, cost, len(light), ident=ident if self.with_current_ else None)
            if got.status == "infeasible":
                self._raise_bound(worst, "set partitioning")
                self.optimal_ = True
                return
            if not got.found:
                return
            self._adopt(light, sets, which[got.chosen], ident[got.chosen])


def _subtree_sums(
    order: np.ndarray, pred: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weight and size of every node's subtree, from a depth-first order and predecessors."""
    sums = w.astype(float).tolist()
    sizes = [1] * len(w)
    par = pred.tolist()
    for v in order[::-1].tolist():
        u = par[v]
        if u >= 0:
            sums[u] += sums[v]
            sizes[u] += sizes[v]
    return np.asarray(sums), np.asarray(sizes, dtype=np.int64)
