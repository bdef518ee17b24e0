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

import networkx as nx
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import depth_first_order, minimum_spanning_tree

from beatplan.boundaries._net import Net

__all__ = ["Partitioner", "heavy_atoms"]

#: Weight of demand beyond the tolerance against every other term of the cost.
_BEYOND = 1000.0
_EPS = 1e-9


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
        self._finish()
        return self

    def _finish(self) -> None:
        """Set the results: labels, idents, cost and how far beyond the tolerance."""
        self.labels_ = self.lab_.copy()
        self.ident_ = np.asarray(self.parts_.ident, dtype=np.int64)
        self.cost_ = self.cost()
        dev = np.abs(self._devs())
        frozen = np.asarray(self.frozen_)
        self.beyond_ = float(np.maximum(0.0, dev[~frozen] - self.tolerance).sum())

    # ------------------------------------------------------------------ cost
    def _term(self, demand: float, area: float, perim: float) -> float:
        """Return the cost of one part: demand beyond the tolerance, deviation, compactness."""
        dev = demand / self.scale_ - 1.0
        tol = self.tolerance
        beyond = max(0.0, abs(dev) - tol) / tol
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
        rounds = self.rounds if self.rounds is not None else max(40, 4 * self.k)
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
