"""The graph a design works on: atoms (wards, or groups of wards), who touches whom, and how much.

Internal to :mod:`beatplan.boundaries.design`. A :class:`Net` holds, by position, each atom's
area and perimeter and every pair of neighbours with the length of boundary they share, so the
perimeter of any union of atoms is a sum: ``sum(perimeter) - 2 * sum(shared inside)``. That
makes Polsby–Popper of a candidate area an O(1) update when one ward moves, with no geometry.

Two atoms are neighbours when they share boundary of positive length (a corner is not enough,
:func:`beatplan.boundaries._adjacency.polygon_adjacency`). Atoms that share none with the rest
(islands, a ward cut off by the sea or the edge of the data) are *linked* to the nearest atom
of another piece by :func:`link_pieces`; a link has length 0 (it adds no shared boundary) and
is reported, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

__all__ = ["Link", "Net", "link_pieces"]


@dataclass(frozen=True)
class Link:
    """Two atoms joined across a gap because their pieces share no boundary."""

    a: int
    b: int
    distance: float


@dataclass(frozen=True)
class Net:
    """Atoms and their shared boundaries, by position (edges ``i < j``, unique).

    Attributes
    ----------
    i, j, length : numpy.ndarray
        Each pair of neighbours and the boundary they share (0 for a :class:`Link`).
    area, perimeter : numpy.ndarray
        Per atom.
    """

    i: np.ndarray
    j: np.ndarray
    length: np.ndarray
    area: np.ndarray
    perimeter: np.ndarray
    _lists: list[tuple[list[int], list[float]]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def n(self) -> int:
        """The number of atoms."""
        return len(self.area)

    def neighbours(self) -> list[tuple[list[int], list[float]]]:
        """Each atom's neighbours and the boundary shared with each, as Python lists."""
        if not self._lists and self.n:
            order = np.argsort(np.r_[self.i, self.j], kind="stable")
            src = np.r_[self.i, self.j][order]
            dst = np.r_[self.j, self.i][order].tolist()
            ln = np.r_[self.length, self.length][order].tolist()
            cuts = np.searchsorted(src, np.arange(self.n + 1)).tolist()
            self._lists.extend(
                (dst[cuts[a] : cuts[a + 1]], ln[cuts[a] : cuts[a + 1]]) for a in range(self.n)
            )
        return self._lists

    def graph(self) -> nx.Graph:
        """Return the atoms as a networkx graph (nodes 0 .. n-1)."""
        g = nx.Graph()
        g.add_nodes_from(range(self.n))
        g.add_edges_from(zip(self.i.tolist(), self.j.tolist(), strict=True))
        return g

    def components(self) -> np.ndarray:
        """Label the connected pieces of the graph."""
        m = coo_matrix((np.ones(len(self.i)), (self.i, self.j)), shape=(self.n, self.n))
        return np.asarray(connected_components(m, directed=False)[1], dtype=np.int64)

    def sub(self, nodes: np.ndarray) -> Net:
        """Return the graph of some atoms (positions in ``nodes`` become 0 .. len-1)."""
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[nodes] = np.arange(len(nodes))
        keep = (pos[self.i] >= 0) & (pos[self.j] >= 0)
        return Net(
            pos[self.i[keep]],
            pos[self.j[keep]],
            self.length[keep],
            self.area[nodes],
            self.perimeter[nodes],
        )

    def contract(self, groups: np.ndarray) -> Net:
        """Return the graph of groups of atoms (``groups`` numbers each atom's group 0 .. g-1)."""
        ng = int(groups.max()) + 1 if len(groups) else 0
        gi, gj = groups[self.i], groups[self.j]
        inside = gi == gj
        perim = np.bincount(groups, weights=self.perimeter, minlength=ng).astype(float)
        perim = perim - 2.0 * np.bincount(gi[inside], weights=self.length[inside], minlength=ng)
        a, b = np.minimum(gi[~inside], gj[~inside]), np.maximum(gi[~inside], gj[~inside])
        key = a * ng + b
        uk, inv = np.unique(key, return_inverse=True)
        total = np.bincount(inv, weights=self.length[~inside], minlength=len(uk))
        return Net(
            uk // ng,
            uk % ng,
            total,
            np.bincount(groups, weights=self.area, minlength=ng),
            perim,
        )

    def with_links(self, links: list[Link]) -> Net:
        """Return this graph with links added (length 0)."""
        if not links:
            return self
        a = np.array([min(x.a, x.b) for x in links], dtype=np.int64)
        b = np.array([max(x.a, x.b) for x in links], dtype=np.int64)
        return Net(
            np.r_[self.i, a], np.r_[self.j, b], np.r_[self.length, np.zeros(len(a))],
            self.area, self.perimeter,
        )  # fmt: skip


def link_pieces(net: Net, geoms: np.ndarray) -> list[Link]:
    """Join the pieces of a graph, each smaller piece to the nearest atom outside it.

    Pieces are joined smallest first, each to its nearest atom (by distance between
    polygons) in any other piece, until one piece is left; ties go to the lower position.

    Parameters
    ----------
    net : Net
        The graph.
    geoms : numpy.ndarray of shapely geometries
        One polygon per atom.

    Returns
    -------
    list of Link
    """
    labels = net.components()
    links: list[Link] = []
    while True:
        sizes = np.bincount(labels)
        live = np.nonzero(sizes)[0]
        if len(live) <= 1:
            return links
        piece = int(live[np.lexsort((live, sizes[live]))[0]])
        members = np.nonzero(labels == piece)[0]
        others = np.nonzero(labels != piece)[0]
        idx, dist = shapely.STRtree(geoms[others]).query_nearest(
            geoms[members], return_distance=True
        )
        best = int(np.lexsort((others[idx[1]], members[idx[0]], dist))[0])
        a, b = int(members[idx[0][best]]), int(others[idx[1][best]])
        links.append(Link(a, b, float(dist[best])))
        labels[labels == labels[b]] = piece
