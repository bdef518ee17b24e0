"""The change report of a reorganisation: per area old vs new, and the area crosswalk (internal)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from beatplan.boundaries.demand import deviation_pct

__all__ = ["area_crosswalk", "change_table", "moved_wards"]


def area_crosswalk(
    level: str,
    old: pd.Series | np.ndarray,
    new: pd.Series | np.ndarray,
    ward: pd.Series | np.ndarray,
    area: pd.Series | np.ndarray,
    incidents: pd.Series | np.ndarray | None,
    old_names: Mapping[str, str],
    new_names: Mapping[str, str],
) -> pd.DataFrame:
    """One row per (old area, new area) sharing ground, from rows of (old, new, ward, m²).

    Columns ``level``, ``old_id``, ``old_name``, ``new_id``, ``new_name``, ``n_wards``,
    ``area_m2``, ``incidents`` (when given), ``share_of_old`` and ``share_of_new`` (by m²).
    A ward split between old areas (a realignment's pieces) gives one row per piece.
    """
    df = pd.DataFrame(
        {
            "old_id": np.asarray(old, dtype=object),
            "new_id": np.asarray(new, dtype=object),
            "ward": np.asarray(ward, dtype=object),
            "area_m2": np.asarray(area, dtype=float),
        }
    )
    if incidents is not None:
        df["incidents"] = np.asarray(incidents, dtype=np.int64)
    g = df.groupby(["old_id", "new_id"], sort=True)
    x = pd.DataFrame({"n_wards": g["ward"].nunique(), "area_m2": g["area_m2"].sum()})
    if incidents is not None:
        x["incidents"] = g["incidents"].sum().astype(np.int64)
    x = x.reset_index()
    x["share_of_old"] = x["area_m2"] / x["old_id"].map(df.groupby("old_id")["area_m2"].sum())
    x["share_of_new"] = x["area_m2"] / x["new_id"].map(df.groupby("new_id")["area_m2"].sum())
    x.insert(0, "level", level)
    x.insert(2, "old_name", [old_names.get(i) for i in x["old_id"]])
    x.insert(4, "new_name", [new_names.get(i) for i in x["new_id"]])
    return x


def _identity(col: np.ndarray, origin: Mapping[str, str | None]) -> np.ndarray:
    """For each ward, the old id its new area carries on (None for a new area)."""
    return np.array([origin.get(v) for v in col], dtype=object)


def _successors(
    old: np.ndarray, new: np.ndarray, area: np.ndarray, survivors: Mapping[str, str]
) -> dict[str, str]:
    """Map each old area to the new area it lives on in.

    That is its own identity (kept or renamed), else the new area that took most of its
    wards (then most of its area, then the smaller id).
    """
    df = pd.DataFrame({"o": old, "n": new, "a": area})
    g = df.groupby(["o", "n"], sort=True).agg(k=("a", "size"), a=("a", "sum")).reset_index()
    g = g.sort_values(["o", "k", "a", "n"], ascending=[True, False, False, True], kind="stable")
    best = dict(zip(g.drop_duplicates("o")["o"], g.drop_duplicates("o")["n"], strict=True))
    best.update(survivors)
    return best


def moved_wards(
    old: np.ndarray | pd.Series,
    new: np.ndarray | pd.Series,
    area: np.ndarray,
    survivors: Mapping[str, str] | None = None,
) -> np.ndarray:
    """Say which wards changed area at one level: their new area is not their old one's successor.

    An old area lives on in the new area that carries its identity (``survivors``: old id ->
    new id, from the changes applied), else in the new area that took most of its wards (then
    most of its area, then the smaller id). A ward whose area was only renamed, or merged into
    the area its own lives on in, did not move.

    Parameters
    ----------
    old, new : array-like
        Each ward's area id before and after.
    area : numpy.ndarray
        Each ward's area (m²), to break ties.
    survivors : mapping, optional
        Old area id -> the new id it continues as. Default: each old id still in use continues
        as itself.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> old, new = np.array(["N1", "N1", "N2"]), np.array(["NORTH", "NORTH", "NORTH"])
    >>> moved_wards(old, new, np.ones(3), {"N1": "NORTH"}).tolist()  # N2 merged into N1
    [False, False, False]
    >>> moved_wards(np.array(["B1", "B1", "B2"]), np.array(["B1", "B2", "B2"]), np.ones(3)).tolist()
    [False, True, False]
    """
    o = np.asarray(old, dtype=object)
    n = np.asarray(new, dtype=object)
    if survivors is None:
        survivors = {str(a): str(a) for a in set(o) & set(n)}
    succ = _successors(o, n, np.asarray(area, dtype=float), survivors)
    return np.array([succ[a] != b for a, b in zip(o, n, strict=True)], dtype=bool)


def _join_by(df: pd.DataFrame, mask: np.ndarray, key: str) -> pd.Series:
    """Join the sorted ward ids of the rows in ``mask`` with ``;``, per value of ``key``."""
    sub = df.loc[mask, [key, "w"]]
    return sub.groupby(key, sort=True)["w"].agg(lambda s: ";".join(sorted(map(str, s))))


def _flows(df: pd.DataFrame, by: str, other: str) -> pd.Series:
    """Per value of ``by``: ``"X (n); Y (m)"`` for the ``other`` values its wards have."""
    c = df.groupby([by, other], sort=True).size().rename("k").reset_index()
    c = c.sort_values([by, "k", other], ascending=[True, False, True], kind="stable")
    c["t"] = c[other].astype(str) + " (" + c["k"].astype(str) + ")"
    return c.groupby(by, sort=True)["t"].agg("; ".join)


def change_table(
    levels: Sequence[str],
    old: Mapping[str, np.ndarray],
    new: Mapping[str, np.ndarray],
    origin: Mapping[str, Mapping[str, str | None]],
    old_names: Mapping[str, Mapping[str, str]],
    new_names: Mapping[str, Mapping[str, str]],
    wid: np.ndarray,
    area: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Compare old and new at every level: the change report, the area crosswalk, wards moved."""
    frames, xw = [], []
    moved: dict[str, np.ndarray] = {}
    for lv in levels:
        df, survivors, moved[lv] = _ward_frame(old[lv], new[lv], origin[lv], wid, area, counts)
        new_areas = _new_areas(df, origin[lv], counts is not None)
        old_areas = _old_areas(df, survivors, counts is not None)
        frames.append(
            _level_rows(lv, new_areas, old_areas, survivors, old_names[lv], new_names[lv], counts)
        )
        inc = df["inc"] if counts is not None else None
        xw.append(
            area_crosswalk(
                lv, df["old"], df["new"], df["w"], df["a"], inc, old_names[lv], new_names[lv]
            )
        )
    changes = _ordered(pd.concat(frames, ignore_index=True), levels, counts is not None)
    return changes, pd.concat(xw, ignore_index=True), moved


def _ward_frame(
    old: np.ndarray,
    new: np.ndarray,
    origin: Mapping[str, str | None],
    wid: np.ndarray,
    area: np.ndarray,
    counts: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[pd.DataFrame, dict[str, str], np.ndarray]:
    """One level's wards, old and new area; the surviving old areas; the wards that moved.

    A ward moved when its new area is not its old area's successor; it is ``kept`` when its
    new area carries its old area's identity.
    """
    o = np.asarray(old, dtype=object)
    n = np.asarray(new, dtype=object)
    live = set(n)
    survivors = {str(v): str(k) for k, v in origin.items() if v is not None and k in live}
    moved = moved_wards(o, n, area, survivors)
    ident = _identity(n, origin)
    kept = np.array([a == b for a, b in zip(ident, o, strict=True)], dtype=bool)
    df = pd.DataFrame({"old": o, "new": n, "w": wid, "a": area, "kept": kept})
    df["ident"] = ident
    if counts is not None:
        df["inc"], df["dem"] = counts
    return df, survivors, moved


def _new_areas(
    df: pd.DataFrame, origin: Mapping[str, str | None], with_demand: bool
) -> pd.DataFrame:
    """Return one row per new area: wards, area, wards gained and where they came from."""
    kept = df["kept"].to_numpy()
    g = df.groupby("new", sort=True)
    nf = pd.DataFrame({"n_wards": g.size(), "area_new_m2": g["a"].sum()})
    has_ident = df["ident"].notna().to_numpy()
    nf["n_gained"] = df[has_ident & ~kept].groupby("new").size().reindex(nf.index, fill_value=0)
    nf["wards_gained"] = _join_by(df, has_ident & ~kept, "new").reindex(nf.index)
    nf["from"] = _flows(df, "new", "old").reindex(nf.index)
    if with_demand:
        nf["incidents_new"] = g["inc"].sum()
        nf["demand_new"] = g["dem"].sum()
    nf.index.name = "id"
    nf = nf.reset_index()
    nf["old_id"] = [origin.get(i) for i in nf["id"]]
    nf.loc[nf["old_id"].isna(), "n_gained"] = np.nan
    return nf


def _old_areas(df: pd.DataFrame, survivors: Mapping[str, str], with_demand: bool) -> pd.DataFrame:
    """Return one row per old area: wards, area, wards lost, area retained, where wards went."""
    kept = df["kept"].to_numpy()
    go = df.groupby("old", sort=True)
    of = pd.DataFrame({"n_wards_old": go.size(), "area_old_m2": go["a"].sum()})
    lost = np.array([survivors.get(a) is not None for a in df["old"]]) & ~kept
    of["n_lost"] = df[lost].groupby("old").size().reindex(of.index, fill_value=0)
    of["wards_lost"] = _join_by(df, lost, "old").reindex(of.index)
    of["retained_m2"] = df[kept].groupby("old")["a"].sum().reindex(of.index, fill_value=0.0)
    of["to"] = _flows(df, "old", "new").reindex(of.index)
    if with_demand:
        of["incidents_old"] = go["inc"].sum()
        of["demand_old"] = go["dem"].sum()
        of["deviation_pct_old"] = deviation_pct(of["demand_old"])
    of.index.name = "old_id"
    return of.reset_index()


def _level_rows(
    lv: str,
    nf: pd.DataFrame,
    of: pd.DataFrame,
    survivors: Mapping[str, str],
    old_names: Mapping[str, str],
    new_names: Mapping[str, str],
    counts: tuple[np.ndarray, np.ndarray] | None,
) -> pd.DataFrame:
    """Return one level's rows: each new area beside the old one it continues, then the removed."""
    gone = ~of["old_id"].isin(list(survivors)).to_numpy()
    of.loc[gone, "n_lost"] = np.nan
    of.loc[gone, "retained_m2"] = np.nan
    merged = nf.merge(of[~gone], on="old_id", how="left")
    removed = of[gone].copy()
    removed["id"] = None
    out = pd.concat([merged, removed], ignore_index=True)
    out.insert(0, "level", lv)
    out["name"] = [new_names.get(i) if isinstance(i, str) else None for i in out["id"]]
    out["old_name"] = [old_names.get(i) if isinstance(i, str) else None for i in out["old_id"]]
    out["retained"] = out["retained_m2"] / out["area_old_m2"]
    if counts is not None:
        has_id = out["id"].notna().to_numpy()
        out["deviation_pct"] = np.nan
        out.loc[has_id, "deviation_pct"] = deviation_pct(out.loc[has_id, "demand_new"])
    out["status"] = [_status(r) for r in out.itertuples()]
    return out


_COLUMNS = [
    "level",
    "id",
    "name",
    "status",
    "old_id",
    "old_name",
    "from",
    "to",
    "n_wards_old",
    "n_wards",
    "n_gained",
    "n_lost",
    "wards_gained",
    "wards_lost",
    "area_old_m2",
    "area_new_m2",
    "retained",
]
_DEMAND_COLUMNS = [
    "incidents_old",
    "incidents_new",
    "demand_old",
    "demand_new",
    "deviation_pct_old",
    "deviation_pct",
]


def _ordered(changes: pd.DataFrame, levels: Sequence[str], with_demand: bool) -> pd.DataFrame:
    """Sort the rows by level and id, keep the report's columns, and give them their types."""
    changes["_k"] = changes["level"].map({lv: i for i, lv in enumerate(levels)})
    changes["_id"] = changes["id"].fillna(changes["old_id"]).astype(str)
    changes = changes.sort_values(["_k", "_id", "status"], kind="stable")
    cols = _COLUMNS + (_DEMAND_COLUMNS if with_demand else [])
    changes = changes[cols].reset_index(drop=True)
    for c in ("n_wards_old", "n_wards", "n_gained", "n_lost"):
        changes[c] = changes[c].astype("Int64")
    if with_demand:
        for c in ("incidents_old", "incidents_new"):
            changes[c] = changes[c].astype("Int64")
    for c in ("id", "name", "status", "old_id", "old_name", "from", "to"):
        changes[c] = changes[c].astype("string")
    for c in ("wards_gained", "wards_lost"):
        changes[c] = changes[c].astype("string").fillna("")
    return changes


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _status(r: Any) -> str:
    if pd.isna(r.id):
        return "removed"
    if pd.isna(r.old_id):
        return "new"
    if (r.n_gained or 0) or (r.n_lost or 0):
        return "changed"
    if r.id != r.old_id or _text(r.name) != _text(r.old_name):
        return "renamed"
    return "unchanged"
