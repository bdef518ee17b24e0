"""Contiguity: find areas left in pieces, and give detached parts to a neighbour.

Two wards are connected when they share a stretch of boundary (a corner is not enough).
:func:`check_contiguity` reports every area whose wards fall into several pieces, unless
declared an exception; :func:`fix_contiguity` gives each detached piece, whole, to the
neighbouring area it shares the longest boundary with, keeping the hierarchy nested.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from beatplan.boundaries._adjacency import Adjacency, polygon_adjacency
from beatplan.boundaries._common import as_ids, listing, strings, ward_weights
from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, ward_table
from beatplan.boundaries.report import CheckReport
from beatplan.geo.errors import check_option

__all__ = [
    "ContiguityFix",
    "Exceptions",
    "check_contiguity",
    "fix_contiguity",
    "normalise_exceptions",
]

log = logging.getLogger("beatplan")


#: Area ids allowed to be non-contiguous: ids for every level, or ``{level: ids}``.
Exceptions = Iterable[str] | Mapping[str, Iterable[str]]


def normalise_exceptions(
    exceptions: Exceptions | None, levels: Sequence[str]
) -> dict[str, frozenset[str]]:
    """Turn ``exceptions`` into ``{level: frozenset of ids}``.

    Parameters
    ----------
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous, at every level; or ``{level: ids}``.
    levels : sequence of str
        The levels.

    Returns
    -------
    dict of str to frozenset of str
    """
    levels = list(levels)
    if exceptions is None:
        return {lv: frozenset() for lv in levels}
    if isinstance(exceptions, Mapping):
        for k in exceptions:
            check_option("exceptions level", str(k), levels)
        return {lv: frozenset(str(i) for i in exceptions.get(lv, ())) for lv in levels}
    if isinstance(exceptions, str):
        exceptions = [exceptions]
    ids = frozenset(str(i) for i in exceptions)
    return {lv: ids for lv in levels}


def _components(n: int, adj: Adjacency, codes: np.ndarray) -> np.ndarray:
    same = codes[adj.i] == codes[adj.j]
    graph = coo_matrix((np.ones(int(same.sum())), (adj.i[same], adj.j[same])), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _pieces_table(
    labels: np.ndarray, codes: np.ndarray, weight: np.ndarray, area: np.ndarray
) -> pd.DataFrame:
    """Per connected component: its area code, weight, area and ward count; main part marked."""
    ncomp = int(labels.max()) + 1 if len(labels) else 0
    code = np.zeros(ncomp, dtype=np.int64)
    code[labels] = codes
    w = np.bincount(labels, weights=weight, minlength=ncomp)
    a = np.bincount(labels, weights=area, minlength=ncomp)
    order = np.lexsort((np.arange(ncomp), -a, -w, code))
    main = np.zeros(ncomp, dtype=bool)
    first = np.ones(ncomp, dtype=bool)
    first[1:] = code[order][1:] != code[order][:-1]
    main[order[first]] = True
    parts = np.bincount(code, minlength=int(code.max()) + 1 if ncomp else 0)[code]
    return pd.DataFrame(
        {
            "code": code,
            "w": w,
            "a": a,
            "n": np.bincount(labels, minlength=ncomp),
            "main": main,
            "parts": parts,
        }
    )


def check_contiguity(
    wards: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    exceptions: Exceptions | None = (),
    adjacency: Adjacency | None = None,
) -> CheckReport:
    """Every area is contiguous: its wards are connected through shared boundaries.

    Two wards are connected when they share a stretch of boundary (touching at a corner is
    not enough); a ward in several parts (an island) counts as one piece. Areas named in
    ``exceptions`` may be in pieces.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table whose wards form a coverage.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous (see :func:`normalise_exceptions`).
    adjacency : optional
        Precomputed adjacency of the wards (internal).

    Returns
    -------
    CheckReport
        One error per non-contiguous area, naming the detached wards.
    """
    rep = CheckReport()
    rep.ran("contiguity")
    levels = list(levels)
    exc = normalise_exceptions(exceptions, levels)
    g = np.asarray(wards.geometry.values, dtype=object)
    adj = adjacency if adjacency is not None else polygon_adjacency(g)
    area = adj.areas(g)
    wid = as_ids(wards[ward_id]).to_numpy(dtype=object)
    for level in levels:
        codes, uniq_ = pd.factorize(as_ids(wards[level]))
        uniq = np.asarray(uniq_, dtype=object)
        labels = _components(len(g), adj, codes)
        comp = _pieces_table(labels, codes, area, area)
        split = comp[(comp["parts"] > 1) & ~comp["main"]]
        if not len(split):
            continue
        det = pd.Series(labels).isin(split.index).to_numpy()
        by_area = pd.DataFrame({"code": codes[det], "ward": wid[det]}).groupby("code")["ward"]
        for code, grp in by_area:
            aid = str(uniq[int(code)])  # type: ignore[arg-type]
            sev = "warning" if aid in exc[level] else "error"
            n_parts = int(comp.loc[comp["code"] == code, "parts"].iloc[0])
            msg = (
                f"{level} {aid} is in {n_parts} pieces; ward(s) detached from its main part: "
                f"{listing(sorted(grp))}"
            )
            msg += (
                " (declared an exception)"
                if sev == "warning"
                else "; fix with beatplan.boundaries.fix_contiguity or declare it an exception"
            )
            rep.add("contiguity", level, [aid, *sorted(grp)], msg, severity=sev)
    return rep


@dataclass(frozen=True)
class ContiguityFix:
    """What :func:`fix_contiguity` returns.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The ward table with detached parts given to a neighbour.
    moves : pandas.DataFrame
        One row per detached part moved: ``level``, ``from``, ``to``, ``n_wards``, ``wards``
        (``;``-joined ids), ``area_m2`` and ``shared_m`` (boundary shared with ``to``).
    report : CheckReport
        What could not be fixed (a part touching no other area, a part that would split a
        smaller area declared an exception), and the areas still in pieces.
    """

    wards: gpd.GeoDataFrame
    moves: pd.DataFrame = field(repr=False)
    report: CheckReport = field(repr=False)

    @property
    def moved_wards(self) -> set[str]:
        """Ids of every ward moved."""
        return {w for s in self.moves["wards"] for w in str(s).split(";") if w}


_MOVE_COLUMNS = ["level", "from", "to", "n_wards", "wards", "area_m2", "shared_m"]


def fix_contiguity(
    wards: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    exceptions: Exceptions | None = (),
    weight: str | Sequence[float] | np.ndarray | pd.Series | None = None,
    adjacency: Adjacency | None = None,
    max_rounds: int | None = None,
) -> ContiguityFix:
    """Give every detached part of an area to the neighbour it shares most boundary with.

    Level by level, small to large: an area whose wards fall into several connected pieces
    keeps its main piece (largest ``weight``, default area) and each other piece goes, whole,
    to the neighbouring area it shares the longest boundary with (ties: the smaller id),
    taking that area's higher levels so nesting holds. A piece joins only a neighbour's main
    piece (so two detached pieces never swap places); one touching only other detached
    pieces waits for a later round. Areas in ``exceptions`` are left in pieces. A piece
    touching no other area, or one whose move would split a smaller area (possible only when
    that smaller area is an exception), is reported instead.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A nested ward table whose wards form a coverage.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous.
    weight : str or array-like, optional
        What decides an area's main piece: a column or one number per ward; default area.
    adjacency : optional
        Precomputed ward adjacency (internal).
    max_rounds : int, optional
        Most rounds of moves per level; default the number of wards (every round settles at
        least one piece, so the fix always finishes).

    Returns
    -------
    ContiguityFix

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c"], "beat": ["B1", "B2", "B1"]},
    ...     geometry=[box(0, 0, 2, 1), box(2, 0, 3, 1), box(3, 0, 4, 1)],
    ... )
    >>> fix = fix_contiguity(w, levels=["beat"])
    >>> fix.wards["beat"].tolist(), fix.moves["wards"].tolist()
    (['B1', 'B2', 'B2'], ['c'])
    """
    levels = list(levels)
    table = ward_table(wards, ward_id=ward_id, levels=levels)
    g = np.asarray(table.geometry.values, dtype=object)
    adj = adjacency if adjacency is not None else polygon_adjacency(g)
    fixer = _Fixer(table, levels, normalise_exceptions(exceptions, levels), adj, g, ward_id, weight)
    for k, level in enumerate(levels):
        for _round in range(max_rounds if max_rounds is not None else max(fixer.n, 1)):
            if not fixer.round(k, level):
                break
    rep = CheckReport()
    rep.ran("contiguity")
    for (level, aid), (msg, members) in fixer.stuck.items():
        rep.add("contiguity", level, [aid, *members], msg)
    rest = check_contiguity(
        table, levels=levels, ward_id=ward_id, exceptions=exceptions, adjacency=adj
    )
    for p in rest.problems:
        if p.severity == "error" and (p.level, p.ids[0]) not in fixer.stuck:
            rep.problems.append(p)
    mdf = (
        pd.DataFrame(fixer.moves, columns=_MOVE_COLUMNS)
        if fixer.moves
        else pd.DataFrame({c: pd.Series(dtype=object) for c in _MOVE_COLUMNS})
    )
    return ContiguityFix(wards=table, moves=mdf, report=rep)


class _Fixer:
    """One run of :func:`fix_contiguity`: the ward table it edits, the moves and what is stuck."""

    def __init__(
        self,
        table: gpd.GeoDataFrame,
        levels: list[str],
        exc: Mapping[str, frozenset[str]],
        adj: Adjacency,
        geoms: np.ndarray,
        ward_id: str,
        weight: str | Sequence[float] | np.ndarray | pd.Series | None,
    ) -> None:
        self.table, self.levels, self.exc, self.adj = table, levels, exc, adj
        self.n = len(geoms)
        self.area = adj.areas(geoms)
        self.w = ward_weights(table, weight)
        self.wid = table[ward_id].to_numpy(dtype=object)
        self.moves: list[dict[str, Any]] = []
        self.stuck: dict[tuple[str, str], tuple[str, list[str]]] = {}
        self.both_i = np.concatenate([adj.i, adj.j])
        self.both_j = np.concatenate([adj.j, adj.i])
        self.both_len = np.concatenate([adj.length, adj.length])

    def round(self, k: int, level: str) -> bool:
        """Move this round's detached pieces of ``level``; False when nothing is left to move."""
        codes, uniq_ = pd.factorize(self.table[level].to_numpy(dtype=object))
        uniq = np.asarray(uniq_, dtype=object)
        labels = _components(self.n, self.adj, codes)
        comp = _pieces_table(labels, codes, self.w, self.area)
        exc_codes = {c for c, u in enumerate(uniq) if u in self.exc[level]}
        det = comp[(comp["parts"] > 1) & ~comp["main"] & ~comp["code"].isin(exc_codes)]
        if not len(det):
            return False
        det_area = {
            int(c): str(uniq[int(code)]) for c, code in zip(det.index, det["code"], strict=True)
        }
        best = self._targets(level, labels, codes, uniq, comp, exc_codes, det, det_area)
        if k > 0:
            best = self._refuse_splits(k, level, labels, det, det_area, best)
        if not len(best):
            return False
        self._move(k, level, labels, codes, best, det_area)
        return True

    def _targets(
        self,
        level: str,
        labels: np.ndarray,
        codes: np.ndarray,
        uniq: np.ndarray,
        comp: pd.DataFrame,
        exc_codes: set[int],
        det: pd.DataFrame,
        det_area: Mapping[int, str],
    ) -> pd.DataFrame:
        """Find where each detached piece goes: the neighbour sharing most boundary with it."""
        e = pd.DataFrame(
            {
                "comp": labels[self.both_i],
                "to": codes[self.both_j],
                "frm": codes[self.both_i],
                "len": self.both_len,
            }
        )
        e = e[e["comp"].isin(det.index) & (e["to"] != e["frm"])]
        touches_other = set(e["comp"].unique())
        # join only the main piece of a neighbour: two detached pieces never swap, and
        # a piece touching only other detached pieces waits for a later round
        settled = comp["main"].to_numpy() | comp["code"].isin(exc_codes).to_numpy()
        e = e[settled[labels[self.both_j[e.index.to_numpy()]]]]
        cand = e.groupby(["comp", "to"])["len"].sum().reset_index()
        cand["to_id"] = uniq[cand["to"].to_numpy()]
        cand = cand.sort_values(["comp", "len", "to_id"], ascending=[True, False, True])
        for cmp in det.index.difference(pd.Index(sorted(touches_other))):
            members = sorted(self.wid[labels == cmp])
            self.stuck[(level, det_area[int(cmp)])] = (
                f"{level} {det_area[int(cmp)]}: detached ward(s) {listing(members)} "
                "touch no other area; declare the area an exception or reassign them by hand",
                members,
            )
        return cand.drop_duplicates("comp").set_index("comp")

    def _refuse_splits(
        self,
        k: int,
        level: str,
        labels: np.ndarray,
        det: pd.DataFrame,
        det_area: Mapping[int, str],
        best: pd.DataFrame,
    ) -> pd.DataFrame:
        """Keep back the pieces whose move would split an area of the level below."""
        in_det = pd.Series(labels).isin(det.index).to_numpy()
        child = self.table[self.levels[k - 1]].to_numpy(dtype=object)
        tot = pd.Series(child).value_counts()
        inc = pd.DataFrame({"comp": labels[in_det], "child": child[in_det]})
        cnt = inc.groupby(["comp", "child"]).size().reset_index(name="n")
        cnt["tot"] = cnt["child"].map(tot).to_numpy()
        splitting = cnt[cnt["n"] < cnt["tot"]]
        for cmp_, grp in splitting.groupby("comp"):
            cmp = int(cmp_)  # type: ignore[arg-type]
            if cmp in best.index:
                self.stuck[(level, det_area[cmp])] = (
                    f"{level} {det_area[cmp]}: moving its detached part "
                    f"would split {self.levels[k - 1]} {listing(sorted(grp['child']))}; "
                    "fix by hand",
                    sorted(self.wid[labels == cmp]),
                )
                best = best.drop(index=cmp)
        return best

    def _move(
        self,
        k: int,
        level: str,
        labels: np.ndarray,
        codes: np.ndarray,
        best: pd.DataFrame,
        det_area: Mapping[int, str],
    ) -> None:
        """Give each piece, whole, to its target with the target's higher levels; record it."""
        rep_ward = pd.Series(np.arange(self.n)).groupby(codes).first().to_numpy()
        target_code = pd.Series(best["to"]).reindex(np.arange(labels.max() + 1)).to_numpy()
        tc = target_code[labels]
        mv = ~np.isnan(tc)
        src_ward = rep_ward[tc[mv].astype(np.int64)]
        for higher in self.levels[k:]:
            col = self.table[higher].to_numpy(dtype=object).copy()
            col[mv] = col[src_ward]
            self.table[higher] = strings(col)
        for cmp, to_id, length in zip(best.index, best["to_id"], best["len"], strict=True):
            moved = np.nonzero(labels == cmp)[0]
            self.moves.append(
                {
                    "level": level,
                    "from": det_area[int(cmp)],
                    "to": str(to_id),
                    "n_wards": len(moved),
                    "wards": ";".join(sorted(self.wid[moved])),
                    "area_m2": float(self.area[moved].sum()),
                    "shared_m": float(length),
                }
            )
        log.info("fix_contiguity: %d detached %s piece(s) moved to a neighbour", len(best), level)
