"""Apply a spec's steps to a ward table's level columns, collecting every problem (internal).

:class:`Editor` keeps one array of area ids per level and applies ``create``, ``merge``,
``move``, ``split`` and ``rename`` in order; a ward given to an area takes that area's higher
levels, and :meth:`Editor.nest_down` splits lower areas a change leaves straddling two higher
ones. Problems are collected with their key path in the spec, never raised here:
:func:`beatplan.boundaries.reorganise` reports them all at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from beatplan.boundaries._common import did_you_mean, listing
from beatplan.boundaries.coverage import shared_boundaries
from beatplan.boundaries.spec import Ref, Step

__all__ = ["Editor", "WardGraph", "hint", "problem_order"]


class WardGraph:
    """Ward adjacency (shared boundary, not a corner) as position pairs."""

    def __init__(self, table: gpd.GeoDataFrame, ward_id: str) -> None:
        sb = shared_boundaries(table, ward_id=ward_id)
        pos = pd.Series(np.arange(len(table)), index=table[ward_id].to_numpy(dtype=object))
        self.n = len(table)
        self.i = pos.reindex(sb["ward_a"].to_numpy()).to_numpy(dtype=np.int64)
        self.j = pos.reindex(sb["ward_b"].to_numpy()).to_numpy(dtype=np.int64)

    def labels(self, keep: np.ndarray) -> np.ndarray:
        """Label the connected components of the graph keeping only edges with ``keep``."""
        i, j = self.i[keep], self.j[keep]
        g = coo_matrix((np.ones(len(i)), (i, j)), shape=(self.n, self.n)).tocsr()
        return np.asarray(connected_components(g, directed=False)[1], dtype=np.int64)

    def groups(self, members: np.ndarray) -> list[np.ndarray]:
        """Return the connected groups of a set of wards (positions), largest first."""
        if len(members) == 0:
            return []
        inside = np.zeros(self.n, dtype=bool)
        inside[members] = True
        lab = self.labels(inside[self.i] & inside[self.j])[members]
        out = [members[lab == v] for v in np.unique(lab)]
        return sorted(out, key=lambda a: (-len(a), int(a.min())))

    def pieces(self, col: np.ndarray) -> dict[str, int]:
        """Count the connected pieces of every area of one level."""
        lab = self.labels(col[self.i] == col[self.j])
        s = pd.DataFrame({"a": col, "c": lab}).groupby("a")["c"].nunique()
        return {str(k): int(v) for k, v in s.items()}


class Editor:
    """Applies the steps to per-level id arrays, collecting every problem."""

    def __init__(
        self,
        table: gpd.GeoDataFrame,
        levels: tuple[str, ...],
        ward_id: str,
        names: dict[str, dict[str, str]],
        graph: WardGraph,
        district_column: str | None,
    ) -> None:
        self.table = table
        self.levels = levels
        self.ids = table[ward_id].to_numpy(dtype=object)
        self.pos = {w: i for i, w in enumerate(self.ids)}
        self.area = np.asarray(shapely.area(table.geometry.values), dtype=float)
        self.col = {lv: table[lv].to_numpy(dtype=object).copy() for lv in levels}
        self.names = {lv: dict(names.get(lv, {})) for lv in levels}
        self.origin: dict[str, dict[str, str | None]] = {
            lv: {str(a): str(a) for a in pd.unique(self.col[lv])} for lv in levels
        }
        self.seen = {lv: set(self.origin[lv]) for lv in levels}
        self.phantom: dict[str, set[str]] = {lv: set() for lv in levels}
        self.touched: dict[str, dict[str, list[str]]] = {lv: {} for lv in levels}
        self.allow: dict[str, set[str]] = {lv: set() for lv in levels}
        self.flagged: dict[str, set[str]] = {lv: set() for lv in levels}
        self.mentions: dict[str, dict[str, str]] = {lv: {} for lv in levels}
        self.graph = graph
        self.district_column = district_column
        self.problems: list[str] = []
        self.log: list[dict[str, Any]] = []
        self.warnings: list[str] = []

    # ---- helpers
    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def live(self, lv: str) -> set[str]:
        return set(pd.unique(self.col[lv]))

    def level_index(self, step: Step) -> int | None:
        if step.level is None:
            return None
        v = step.level.value
        if v in self.levels:
            return self.levels.index(v)
        self.add(
            step.level.path,
            f"unknown level {v!r}; the ward table's levels are {', '.join(self.levels)}"
            + hint(v, self.levels),
        )
        return None

    def area_ref(self, lv: str, ref: Ref | None) -> str | None:
        if ref is None:
            return None
        v = ref.value
        live = self.live(lv)
        if v in live:
            return v
        if v in self.phantom[lv]:
            return None
        other = [x for x in self.levels if x != lv and v in self.live(x)]
        if other:
            msg = f"{v!r} is a {other[0]}, not a {lv}"
        elif v in self.seen[lv]:
            msg = f"{lv} {v!r} no longer exists at this point (an earlier change removed it)"
        else:
            msg = f"no {lv} {v!r} in the ward table" + hint(v, sorted(live))
            known = sorted(live)
            msg += f" ({len(known)} {lv} areas: {listing(known, 8)})"
        self.add(ref.path, msg)
        return None

    def wards(self, refs: Sequence[Ref], lv: str) -> np.ndarray:
        out = []
        here: set[str] = set()
        for r in refs:
            if r.value in here:  # repeated in the same list: reported with the spec's shape
                continue
            here.add(r.value)
            p = self.pos.get(r.value)
            if p is None:
                self.add(r.path, f"unknown ward code {r.value!r}" + hint(r.value, self.ids))
                continue
            prev = self.mentions[lv].get(r.value)
            if prev is not None and prev != r.path:
                self.add(
                    r.path,
                    f"ward {r.value} is given twice at level {lv} (also at {prev}); each ward "
                    "can be placed once",
                )
            else:
                self.mentions[lv][r.value] = r.path
            out.append(p)
        return np.unique(np.asarray(out, dtype=np.int64))

    def districts(self, refs: Sequence[Ref], path: str) -> np.ndarray:
        col = self.district_column or "district"
        t = self.table
        if col not in t.columns:
            self.add(
                path,
                f"the ward table has no district column {col!r} (its columns: "
                f"{listing(t.columns)}); add one, set district_column:, or list the wards",
            )
            return np.zeros(0, dtype=np.int64)
        codes = t[col].astype("string").fillna("").to_numpy(dtype=object)
        name_cols = [c for c in (f"{col}_name", "district_name") if c in t.columns]
        labels = {str(c) for c in codes if c}
        for nc in name_cols:
            labels |= {str(v) for v in t[nc].dropna()}
        out = []
        for r in refs:
            hit = codes == r.value
            for nc in name_cols:
                names = t[nc].astype("string").str.casefold().fillna("").to_numpy(dtype=object)
                hit |= names == r.value.casefold()
            if not hit.any():
                self.add(
                    r.path,
                    f"no ward lies in district {r.value!r} (column {col!r})"
                    + hint(r.value, sorted(labels))
                    + f"; the districts are {listing(sorted(labels), 12)}",
                )
            out.append(np.nonzero(hit)[0])
        return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    def new_id(self, lv: str, base: str | None = None) -> str:
        used = self.seen[lv] | self.live(lv) | self.phantom[lv]
        if base is not None:
            k = 2
            while f"{base}-{k}" in used:
                k += 1
            return f"{base}-{k}"
        pat = re.compile(r"^(.*?)(\d+)$")
        found = [m for m in (pat.match(str(x)) for x in sorted(self.seen[lv])) if m]
        if found:
            prefix = pd.Series([m.group(1) for m in found]).value_counts().index[0]
            nums = [m.group(2) for m in found if m.group(1) == prefix]
            width = max(len(x) for x in nums)
            k = max(int(x) for x in nums) + 1
            while f"{prefix}{k:0{width}d}" in used:
                k += 1
            return f"{prefix}{k:0{width}d}"
        k = 1
        while f"{lv.upper()}-NEW-{k}" in used:
            k += 1
        return f"{lv.upper()}-NEW-{k}"

    def parents(
        self, k: int, members: np.ndarray, within: Mapping[str, Ref] | None, path: str
    ) -> dict[str, str]:
        lv = self.levels[k]
        above = self.levels[k + 1 :]
        within = dict(within or {})
        for h, ref in within.items():
            if h not in above:
                self.add(
                    ref.path,
                    f"{h!r} is not a level above {lv}; the levels above are "
                    f"{', '.join(above) if above else 'none'}",
                )
        out: dict[str, str] = {}
        anchor: int | None = None
        anchor_level = ""
        for h in above:
            if h in within:
                aid = self.area_ref(h, within[h])
                if aid is None:
                    anchor = None
                    continue
                if anchor is not None and self.col[h][anchor] != aid:
                    self.add(
                        within[h].path,
                        f"{h} {aid} does not hold {anchor_level} {out[anchor_level]} given "
                        f"under within; it lies in {h} {self.col[h][anchor]}",
                    )
                out[h] = aid
                anchor = int(np.nonzero(self.col[h] == aid)[0][0])
                anchor_level = h
            elif anchor is not None:
                out[h] = str(self.col[h][anchor])
            elif len(members):
                vals = sorted(set(self.col[h][members]))
                if len(vals) == 1:
                    out[h] = vals[0]
                else:
                    self.add(
                        path,
                        f"its wards lie in {len(vals)} {h} areas ({listing(vals)}); say which "
                        f"{h} the {lv} belongs to with within: {{{h}: <id>}}",
                    )
        return out

    def assign(
        self, members: np.ndarray, k: int, aid: str, parents: Mapping[str, str], path: str
    ) -> None:
        lv = self.levels[k]
        self.col[lv][members] = aid
        for h, v in parents.items():
            changed = members[self.col[h][members] != v]
            for old in sorted(set(self.col[h][changed])):
                self.touch(h, str(old), path)
            if len(changed):
                self.touch(h, v, path)
            self.col[h][members] = v

    def touch(self, lv: str, aid: str, path: str) -> None:
        self.touched[lv].setdefault(aid, [])
        if path not in self.touched[lv][aid]:
            self.touched[lv][aid].append(path)

    def rename_key(self, lv: str, old: str, new: str) -> None:
        for d in (self.touched[lv],):
            if old in d:
                d[new] = d.pop(old)
        for s in (self.allow[lv], self.flagged[lv]):
            if old in s:
                s.discard(old)
                s.add(new)
        self.origin[lv][new] = self.origin[lv].pop(old, None)
        if old in self.names[lv]:
            self.names[lv].setdefault(new, self.names[lv].pop(old))

    def check_groups(self, members: np.ndarray, path: str, what: str) -> bool:
        groups = self.graph.groups(members)
        if len(groups) <= 1:
            return True
        detached = [", ".join(sorted(self.ids[g])) for g in groups[1:]]
        self.add(
            path,
            f"{what} would be in {len(groups)} pieces that share no boundary (cut off from the "
            f"rest: {'; '.join(detached[:5])}{' ...' if len(detached) > 5 else ''}); make it "
            "contiguous, or set allow_non_contiguous: true if it is meant to be in pieces",
        )
        return False

    def record(self, step: Step, lv: str, area: str, n: int, detail: str) -> None:
        note = step.args.get("note")
        self.log.append(
            {
                "step": step.path,
                "op": step.op,
                "level": lv,
                "area": area,
                "n_wards": int(n),
                "detail": detail + (f" ({note})" if note else ""),
            }
        )

    # ---- operations
    def create(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        parts = []
        if a.get("districts"):
            parts.append(self.districts(a["districts"], f"{step.path}.districts"))
        if a.get("wards"):
            parts.append(self.wards(a["wards"], lv))
        for h, refs in (a.get("areas") or {}).items():
            if h not in self.levels:
                self.add(
                    f"{step.path}.areas.{h}",
                    f"unknown level {h!r}; the levels are {', '.join(self.levels)}"
                    + hint(h, self.levels),
                )
                continue
            for r in refs:
                aid = self.area_ref(h, r)
                if aid is not None:
                    parts.append(np.nonzero(self.col[h] == aid)[0])
        members = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        ref = a.get("id")
        if ref is not None:
            aid = ref.value
            if aid in self.live(lv):
                self.add(
                    ref.path,
                    f"{lv} {aid} already exists; to give it more wards use op: move, to join "
                    "areas use op: merge",
                )
                self.phantom[lv].add(aid)
                return
        else:
            aid = self.new_id(lv)
        self.seen[lv].add(aid)
        if len(members) == 0:
            self.phantom[lv].add(aid)
            if not any(p.startswith((f"{step.path}.", f"{step.path}:")) for p in self.problems):
                self.add(step.path, "selects no ward")
            return
        parents = self.parents(k, members, a.get("within"), step.path)
        if a.get("allow_non_contiguous"):
            self.allow[lv].add(aid)
        elif not self.check_groups(members, step.path, f"the new {lv} {aid}"):
            self.flagged[lv].add(aid)
        for old in sorted(set(self.col[lv][members])):
            self.touch(lv, str(old), step.path)
        self.assign(members, k, aid, parents, step.path)
        self.origin[lv][aid] = None
        if a.get("name"):
            self.names[lv][aid] = a["name"]
        self.touch(lv, aid, step.path)
        self.record(step, lv, aid, len(members), step.describe())

    def merge(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        known = []
        for r in a.get("areas", ()):
            aid = self.area_ref(lv, r)
            if aid is not None and aid not in known:
                known.append(aid)
        ref = a.get("id")
        target = ref.value if ref is not None else (known[0] if known else None)
        if ref is not None and target in self.live(lv) and target not in known:
            self.add(
                ref.path,
                f"{lv} {target} already exists and is not one of the areas merged; choose a "
                "new id or one of the merged areas' ids",
            )
            return
        if target is None or len(known) < 2:
            if target is not None:
                self.phantom[lv].add(target)
            return
        members = np.nonzero(np.isin(self.col[lv], known))[0]
        parents = self.parents(k, members, a.get("within"), step.path)
        allow = bool(a.get("allow_non_contiguous")) or any(x in self.allow[lv] for x in known)
        if not allow:
            self._check_touching(lv, known, step)
        self.assign(members, k, target, parents, step.path)
        kept_names = [self.names[lv].get(x, x) for x in known]
        for x in known:
            if x != target:
                self.origin[lv].pop(x, None)
                self.names[lv].pop(x, None)
                for s in (self.allow[lv], self.flagged[lv]):
                    s.discard(x)
                self.touch(lv, x, step.path)
        if target not in known:
            self.origin[lv][target] = None
        self.seen[lv].add(target)
        if a.get("name"):
            self.names[lv][target] = a["name"]
        elif target not in known or target not in self.names[lv]:
            self.names[lv][target] = " & ".join(kept_names)
        if allow:
            self.allow[lv].add(target)
        self.touch(lv, target, step.path)
        self.record(step, lv, target, len(members), step.describe())

    def _check_touching(self, lv: str, known: list[str], step: Step) -> None:
        col = self.col[lv]
        code = {x: c for c, x in enumerate(known)}
        ci = np.array([code.get(v, -1) for v in col[self.graph.i]], dtype=np.int64)
        cj = np.array([code.get(v, -1) for v in col[self.graph.j]], dtype=np.int64)
        e = (ci >= 0) & (cj >= 0) & (ci != cj)
        g = coo_matrix((np.ones(int(e.sum())), (ci[e], cj[e])), shape=(len(known),) * 2)
        n, lab = connected_components(g.tocsr(), directed=False)
        if n > 1:
            groups = [[known[c] for c in range(len(known)) if lab[c] == v] for v in range(n)]
            self.add(
                f"{step.path}.areas",
                f"the {lv} areas {' | '.join(' + '.join(g) for g in groups)} do not touch (no "
                "shared boundary), so the merged area would be in pieces; merge areas that "
                "touch, or set allow_non_contiguous: true if it is meant to be in pieces",
            )
            self.flagged[lv].add(step.args["id"].value if step.args.get("id") else known[0])

    def move(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        to = self.area_ref(lv, a.get("to"))
        members = self.wards(a.get("wards", ()), lv)
        if to is None or len(members) == 0:
            return
        anchor = int(np.nonzero(self.col[lv] == to)[0][0])
        parents = {h: str(self.col[h][anchor]) for h in self.levels[k + 1 :]}
        already = members[self.col[lv][members] == to]
        if len(already):
            self.warnings.append(
                f"{step.path}: ward(s) {listing(self.ids[already])} are already in {lv} {to}"
            )
        sources = sorted(set(self.col[lv][members]) - {to})
        for s in sources:
            self.touch(lv, str(s), step.path)
            if a.get("allow_non_contiguous"):
                self.allow[lv].add(str(s))
        if a.get("allow_non_contiguous"):
            self.allow[lv].add(to)
        self.assign(members, k, to, parents, step.path)
        self.touch(lv, to, step.path)
        self.record(
            step,
            lv,
            to,
            len(members),
            step.describe() + (f" from {listing(sources)}" if sources else ""),
        )

    def split(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        area = self.area_ref(lv, a.get("area"))
        parts = a.get("into", ())
        if area is None:
            for p in parts:
                if p.get("id") is not None:
                    self.phantom[lv].add(p["id"].value)
            return
        members = np.nonzero(self.col[lv] == area)[0]
        in_area = np.zeros(len(self.ids), dtype=bool)
        in_area[members] = True
        taken = np.zeros(len(self.ids), dtype=bool)
        chosen: list[tuple[dict[str, Any], np.ndarray]] = []
        for p in parts:
            w = self.wards(p.get("wards", ()), lv)
            bad = w[~in_area[w]]
            for b in bad:
                self.add(
                    f"{p['path']}.wards",
                    f"ward {self.ids[b]} is in {lv} {self.col[lv][b]}, not in {area}; a split "
                    "divides only the area's own wards",
                )
            w = w[in_area[w]]
            taken[w] = True
            chosen.append((p, w))
        rest = members[~taken[members]]
        n_rest = sum(1 for p, _ in chosen if p.get("rest"))
        if n_rest == 0 and len(rest):
            self.add(
                f"{step.path}.into",
                f"{len(rest)} ward(s) of {lv} {area} are in no part: "
                f"{listing(sorted(self.ids[rest]))}; list them, or add a part with rest: true",
            )
        chosen = [(p, np.union1d(w, rest) if p.get("rest") else w) for p, w in chosen]
        keeps = [p for p, _ in chosen if p.get("id") is not None and p["id"].value == area]
        if len(keeps) > 1:
            self.add(f"{step.path}.into", f"several parts keep the id {area}; only one can")
        allow = bool(a.get("allow_non_contiguous"))
        base_name = self.names[lv].get(area, area)
        made = []
        for p, w in chosen:
            ref = p.get("id")
            if ref is not None:
                pid = ref.value
                if pid != area and pid in self.live(lv):
                    self.add(ref.path, f"{lv} {pid} already exists; give the part a new id")
                    continue
            else:
                pid = self.new_id(lv)
            self.seen[lv].add(pid)
            if len(w) == 0:
                self.add(p["path"], "the part holds no ward")
                self.phantom[lv].add(pid)
                continue
            if allow:
                self.allow[lv].add(pid)
            elif not self.check_groups(w, p["path"], f"part {pid} of {lv} {area}"):
                self.flagged[lv].add(pid)
            made.append((pid, p, w))
        if not any(pid == area for pid, _, _ in made):
            self.origin[lv].pop(area, None)
            self.names[lv].pop(area, None)
        for j, (pid, p, w) in enumerate(made):
            self.col[lv][w] = pid
            if pid != area:
                self.origin[lv][pid] = None
            self.names[lv][pid] = p.get("name") or f"{base_name} part {j + 1}"
            self.touch(lv, pid, step.path)
        self.touch(lv, area, step.path)
        self.record(
            step,
            lv,
            area,
            len(members),
            step.describe() + ": " + ", ".join(f"{pid} ({len(w)} wards)" for pid, _, w in made),
        )

    def rename(self, step: Step, k: int) -> None:
        lv, a = self.levels[k], step.args
        area = self.area_ref(lv, a.get("area"))
        ref = a.get("id")
        if area is None:
            if ref is not None:
                self.phantom[lv].add(ref.value)
            return
        new = area
        if ref is not None and ref.value != area:
            if ref.value in self.live(lv):
                self.add(ref.path, f"{lv} {ref.value} already exists; choose another id")
                return
            new = ref.value
            self.col[lv][self.col[lv] == area] = new
            self.rename_key(lv, area, new)
            self.seen[lv].add(new)
        if a.get("name"):
            self.names[lv][new] = a["name"]
        n = int((self.col[lv] == new).sum())
        self.record(step, lv, new, n, step.describe())

    # ---- after the steps
    def nest_down(self) -> None:
        """Split lower areas left straddling two higher areas, along the new line."""
        for k in range(len(self.levels) - 2, -1, -1):
            child, parent = self.levels[k], self.levels[k + 1]
            c, p = self.col[child], self.col[parent]
            df = pd.DataFrame({"c": c, "p": p, "a": self.area, "i": np.arange(len(c))})
            n_par = df.groupby("c")["p"].nunique()
            for cid in sorted(n_par.index[n_par > 1]):
                sub = df[df["c"] == cid]
                g = (
                    sub.groupby("p")
                    .agg(n=("i", "size"), a=("a", "sum"))
                    .reset_index()
                    .sort_values(["n", "a", "p"], ascending=[False, False, True])
                )
                name = self.names[child].get(cid)
                made = [f"{cid} ({int(g['n'].iloc[0])} wards, in {parent} {g['p'].iloc[0]})"]
                for row in g.iloc[1:].itertuples():
                    new = self.new_id(child, base=cid)
                    self.seen[child].add(new)
                    idx = sub["i"].to_numpy()[sub["p"].to_numpy() == row.p]
                    self.col[child][idx] = new
                    self.origin[child][new] = None
                    pname = self.names[parent].get(str(row.p), str(row.p))
                    self.names[child][new] = f"{name or cid} ({pname})"
                    if cid in self.allow[child]:
                        self.allow[child].add(new)
                    self.touch(child, new, "(nesting)")
                    made.append(f"{new} ({int(row.n)} wards, in {parent} {row.p})")
                self.touch(child, cid, "(nesting)")
                msg = (
                    f"{child} {cid} straddled {len(g)} {parent} areas after the changes and was "
                    f"split along the new line: {'; '.join(made)}"
                )
                self.warnings.append(msg)
                self.log.append(
                    {
                        "step": "(nesting)",
                        "op": "split",
                        "level": child,
                        "area": cid,
                        "n_wards": int(len(sub)),
                        "detail": msg,
                    }
                )

    def check_pieces(self, before: Mapping[str, Mapping[str, int]], exc: Mapping[str, Any]) -> None:
        """Report touched areas left in more pieces than they were, unless allowed."""
        for lv in self.levels:
            after = self.graph.pieces(self.col[lv])
            for aid, paths in sorted(self.touched[lv].items()):
                if aid not in after or aid in self.flagged[lv]:
                    continue
                if aid in self.allow[lv] or aid in exc.get(lv, ()):
                    continue
                o = self.origin[lv].get(aid)
                was = before[lv].get(o, 1) if o is not None else 1
                if after[aid] > max(was, 1):
                    members = np.nonzero(self.col[lv] == aid)[0]
                    groups = self.graph.groups(members)
                    cut = [", ".join(sorted(self.ids[g])) for g in groups[1:]]
                    steps = [p for p in paths if p != "(nesting)"] or ["(nesting)"]
                    up = self.levels[min(self.levels.index(lv) + 1, len(self.levels) - 1)]
                    why = f" (it was split to stay inside one {up})" if "(nesting)" in paths else ""
                    self.problems.append(
                        f"{', '.join(steps)}: after the changes {lv} {aid} is in "
                        f"{after[aid]} pieces{why} (cut off: {'; '.join(cut[:5])}); move those "
                        f"wards too, or declare it: exceptions: {{{lv}: [{aid}]}}"
                    )


def problem_order(problem: str) -> tuple[int, int]:
    """Sort problems as the spec reads: top keys, then each change in order, then exceptions."""
    m = re.match(r"changes\[(\d+)\]", problem)
    if m:
        return (1, int(m.group(1)))
    if problem.startswith("exceptions"):
        return (2, 0)
    if problem.startswith("("):
        return (3, 0)
    return (0, 0)


def hint(value: str, choices: Iterable[Any]) -> str:
    """Up to three close matches among many ids (a stricter cutoff than the spec's keys)."""
    return did_you_mean(value, choices, n=3, cutoff=0.75)
