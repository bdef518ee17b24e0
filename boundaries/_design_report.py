"""The tables and the Markdown report of a design (internal to :mod:`.design`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries._changes import change_table
from beatplan.boundaries._net import Link
from beatplan.boundaries.outputs import md_table

__all__ = ["DesignTables", "design_markdown", "design_tables"]


@dataclass(frozen=True)
class DesignTables:
    """Everything a design reports, besides its layers' geometry."""

    layers: dict[str, gpd.GeoDataFrame]
    report: pd.DataFrame
    bound: pd.DataFrame
    apportionment: pd.DataFrame
    links: pd.DataFrame
    crosswalk: pd.DataFrame
    area_crosswalk: pd.DataFrame
    changes: pd.DataFrame
    review: pd.DataFrame
    exceptions: dict[str, frozenset[str]]
    warnings: list[str]
    moved: np.ndarray | None


def design_tables(
    new: gpd.GeoDataFrame,
    levels: Sequence[str],
    layers: dict[str, gpd.GeoDataFrame],
    results: Mapping[str, Any],
    ids: Mapping[str, np.ndarray],
    counts: np.ndarray | None,
    dem: np.ndarray,
    fixed: Sequence[tuple[str, np.ndarray]],
    fixed_names: Mapping[str, Mapping[str, str]],
    cur: gpd.GeoDataFrame | None,
    links: list[Link],
    tolerance: float,
    names: Mapping[str, Mapping[str, str]],
    ward_id: str,
) -> DesignTables:
    """Build the report, bound, apportionment, crosswalks, changes and review of a design."""
    wid = new[ward_id].astype(str).to_numpy(dtype=object)
    area = np.asarray(shapely.area(np.asarray(new.geometry.values, dtype=object)), dtype=float)
    common = [x for x in levels if cur is not None and x in cur.columns]
    old = {x: cur[x].astype("string").to_numpy() for x in common} if cur is not None else {}
    moved_by = {x: old[x].astype(str) != new[x].astype(str).to_numpy(dtype=object) for x in common}
    moved = np.logical_or.reduce(list(moved_by.values())) if moved_by else None
    report = _report(new, levels, layers, results, ids, dem, moved_by, tolerance)
    out_layers = _layers(layers, levels, report, counts, dem)
    labels = _group_labels(report, names)
    report["group"] = report["group"].map(labels).astype("string")
    link_frame = pd.DataFrame(
        {
            "ward": pd.array([wid[x.a] for x in links], dtype="string"),
            "to": pd.array([wid[x.b] for x in links], dtype="string"),
            "distance_m": [round(x.distance, 1) for x in links],
        }
    )
    exceptions = {
        x: frozenset(
            str(new[x].iloc[lk.a]) for lk in links if new[x].iloc[lk.a] == new[x].iloc[lk.b]
        )
        for x in levels
    }
    bound = _bound(results, levels, wid, labels)
    share = _apportionment(results, levels, ids, fixed_names, dem)
    crosswalk = pd.DataFrame({"ward": pd.array(wid, dtype="string")})
    if "name" in new.columns and ward_id != "name":
        crosswalk["name"] = new["name"].astype("string").to_numpy()
    for x in levels:
        if x in common:
            crosswalk[f"{x}_old"] = old[x]
        crosswalk[x] = new[x].astype("string").to_numpy()
    if moved_by:
        crosswalk["changed"] = pd.array(
            [";".join(x for x in common if moved_by[x][t]) for t in range(len(wid))], dtype="string"
        )
    if counts is not None:
        crosswalk["incidents"] = counts
    crosswalk["demand"] = dem
    changes, area_xw = _changes(new, levels, common, cur, names, wid, area, counts, dem)
    review, warnings = _review(new, levels, report, link_frame, wid, ward_id)
    return DesignTables(
        out_layers, report, bound, share, link_frame, crosswalk, area_xw, changes, review,
        exceptions, warnings, moved,
    )  # fmt: skip


def _report(
    new: gpd.GeoDataFrame,
    levels: Sequence[str],
    layers: Mapping[str, gpd.GeoDataFrame],
    results: Mapping[str, Any],
    ids: Mapping[str, np.ndarray],
    dem: np.ndarray,
    moved_by: Mapping[str, np.ndarray],
    tolerance: float,
) -> pd.DataFrame:
    """One row per area: demand against its group's mean, size, shape, moves."""
    frames = []
    for k, x in enumerate(levels):
        res = results[x]
        rows = res.areas.copy()
        rows["id"] = ids[x][rows["area"].to_numpy()]
        layer = layers[x].set_index(layers[x]["id"].astype(str))
        lay = layer.reindex(rows["id"].astype(str))
        geoms = np.asarray(lay.geometry.values, dtype=object)
        per = np.asarray(shapely.length(geoms), dtype=float)
        a = np.asarray(shapely.area(geoms), dtype=float)
        up = levels[k + 1] if k + 1 < len(levels) else None
        none = [None] * len(rows)
        frame = pd.DataFrame(
            {
                "level": x,
                "id": pd.array(rows["id"].astype(str), dtype="string"),
                "name": pd.array(
                    lay["name"].to_numpy() if "name" in lay.columns else none, dtype="string"
                ),  # fmt: skip
                "parent": pd.array(lay[up].to_numpy() if up else none, dtype="string"),
                "group": rows["group"].to_numpy(),
                "n_wards": lay["n_wards"].to_numpy(dtype=np.int64),
                "km2": a / 1e6,
                "demand": rows["demand"].to_numpy(dtype=float),
                "mean": rows["mean"].to_numpy(dtype=float),
            }
        )
        mean = frame["mean"].where(frame["mean"] > 0)
        frame["deviation_pct"] = 100.0 * (frame["demand"] / mean - 1.0)
        frame["stands_alone"] = rows["stands_alone"].to_numpy(dtype=bool)
        frame["within_tolerance"] = frame["stands_alone"] | (
            frame["deviation_pct"].abs() <= 100.0 * tolerance + 1e-9
        )
        frame["polsby_popper"] = np.where(per > 0, 4.0 * np.pi * a / np.maximum(per, 1e-9) ** 2, 0)
        if x in moved_by:
            ward_area = new[x].astype(str).to_numpy()
            m = moved_by[x]
            got = pd.Series(m.astype(int)).groupby(ward_area).sum()
            got_d = pd.Series(np.where(m, dem, 0.0)).groupby(ward_area).sum()
            frame["wards_moved"] = (
                got.reindex(frame["id"].astype(str)).fillna(0).to_numpy(dtype=np.int64)
            )
            frame["demand_moved"] = got_d.reindex(frame["id"].astype(str)).fillna(0).to_numpy()
        else:
            frame["wards_moved"] = pd.array([None] * len(frame), dtype="Int64")
            frame["demand_moved"] = np.nan
        frames.append(frame.sort_values("id", kind="stable"))
    return pd.concat(frames, ignore_index=True)


def _group_labels(report: pd.DataFrame, names: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """Return a readable name per group: the parent area and the fixed region it lies in."""
    out: dict[str, str] = {}
    for g, sub in report.groupby("group", sort=False):
        parent = sub["parent"].iloc[0]
        region = str(g).split("|", 1)[1] if "|" in str(g) else ""
        bits = []
        if isinstance(parent, str) and parent:
            bits.append(parent)
        if region:
            bits.append(f"region {region}")
        out[str(g)] = " / ".join(bits) if bits else "the force"
    return out


def _layers(
    layers: Mapping[str, gpd.GeoDataFrame],
    levels: Sequence[str],
    report: pd.DataFrame,
    counts: np.ndarray | None,
    dem: np.ndarray,
) -> dict[str, gpd.GeoDataFrame]:
    """Return the layers with each area's demand, its group's mean, deviation and Polsby–Popper."""
    out = dict(layers)
    for x in levels:
        layer = layers[x].copy()
        r = report[report["level"] == x].set_index("id")
        key = layer["id"].astype(str)
        for col in ("demand", "mean", "deviation_pct", "polsby_popper"):
            layer[col] = r[col].reindex(key).to_numpy(dtype=float)
        layer["stands_alone"] = r["stands_alone"].reindex(key).to_numpy(dtype=bool)
        geom = layer.geometry.name
        out[x] = layer[[c for c in layer.columns if c != geom] + [geom]]
    if "force" in out:
        f = out["force"].copy()
        if counts is not None:
            f["incidents"] = np.array([int(counts.sum())], dtype=np.int64)
        f["demand"] = [float(dem.sum())]
        out["force"] = f[[c for c in f.columns if c != f.geometry.name] + [f.geometry.name]]
    return out


def _bound(
    results: Mapping[str, Any], levels: Sequence[str], wid: np.ndarray, labels: Mapping[str, str]
) -> pd.DataFrame:
    rows = [b for x in levels for b in results[x].bounds]
    cols = ["level", "group", "ward", "kind", "demand", "mean", "bound_pct", "reached"]
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    f = pd.DataFrame(rows)
    f["ward"] = [
        "" if nw else str(wid[a]) if w else f"region of {wid[a]}"
        for a, w, nw in zip(f["atom"], f["ward_atom"], f["no_ward"], strict=True)
    ]
    f["group"] = f["group"].map(labels)
    return f[cols].sort_values(["level", "bound_pct"], ascending=[True, False], kind="stable")


def _apportionment(
    results: Mapping[str, Any],
    levels: Sequence[str],
    ids: Mapping[str, np.ndarray],
    fixed_names: Mapping[str, Mapping[str, str]],
    dem: np.ndarray,
) -> pd.DataFrame:
    rows = []
    total = float(dem.sum())
    for k, x in enumerate(levels):
        n_level = len(ids[x])
        level_mean = total / n_level if n_level else np.nan
        up = levels[k + 1] if k + 1 < len(levels) else None
        for _lv, parent, s in results[x].shares:
            pid = (
                "force"
                if parent == "force" or up is None
                else str(ids[up][int(parent.split(":")[1])])
            )
            per = s.demand / s.count if s.count else np.nan
            rows.append(
                {
                    "level": x,
                    "parent": pid,
                    "within": s.within,
                    "region": s.region,
                    "region_name": fixed_names.get(s.within, {}).get(s.region, s.region),
                    "demand": s.demand,
                    "quota": s.quota,
                    "count": s.count,
                    "mean_per_area": per,
                    "vs_level_mean_pct": 100.0 * (per / level_mean - 1.0),
                }  # fmt: skip
            )
    cols = ["level", "parent", "within", "region", "region_name", "demand", "quota", "count",
            "mean_per_area", "vs_level_mean_pct"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _changes(
    new: gpd.GeoDataFrame,
    levels: Sequence[str],
    common: Sequence[str],
    cur: gpd.GeoDataFrame | None,
    names: Mapping[str, Mapping[str, str]],
    wid: np.ndarray,
    area: np.ndarray,
    counts: np.ndarray | None,
    dem: np.ndarray,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the change report against the current plan (every area ``new`` without one)."""
    inc = counts if counts is not None else np.zeros(len(wid), dtype=np.int64)
    cnt = (inc, dem)
    old_cols: dict[str, np.ndarray] = {}
    origin: dict[str, dict[str, str | None]] = {}
    old_names: dict[str, dict[str, str]] = {}
    for x in levels:
        col = new[x].astype(str).to_numpy(dtype=object)
        if x in common and cur is not None:
            old_cols[x] = cur[x].astype(str).to_numpy(dtype=object)
            old_ids = set(old_cols[x].tolist())
            origin[x] = {a: (a if a in old_ids else None) for a in set(col.tolist())}
            nm = f"{x}_name"
            old_names[x] = (
                dict(zip(cur[x].astype(str), cur[nm].astype(str), strict=True))
                if nm in cur.columns else {}
            )  # fmt: skip
        else:  # no current area at this level: one placeholder old area, every area new
            old_cols[x] = np.full(len(col), "(none)", dtype=object)
            origin[x] = {a: None for a in set(col.tolist())}
            old_names[x] = {}
    new_cols = {x: new[x].astype(str).to_numpy(dtype=object) for x in levels}
    changes, area_xw, _ = change_table(
        levels, old_cols, new_cols, origin, old_names, {x: dict(names.get(x, {})) for x in levels},
        wid, area, cnt,
    )  # fmt: skip
    placeholder = changes["old_id"].astype(str).eq("(none)") & changes["id"].isna()
    changes = changes[~placeholder.to_numpy()].reset_index(drop=True)
    area_xw = area_xw[area_xw["old_id"].astype(str) != "(none)"].reset_index(drop=True)
    return changes, area_xw


def _review(
    new: gpd.GeoDataFrame,
    levels: Sequence[str],
    report: pd.DataFrame,
    links: pd.DataFrame,
    wid: np.ndarray,
    ward_id: str,
) -> tuple[pd.DataFrame, list[str]]:
    """Wards a human should look at: heavy wards standing alone, wards linked across a gap."""
    rows = []
    warnings = []
    pos = {str(w): t for t, w in enumerate(wid)}
    name = new["name"].astype("string") if "name" in new.columns else None
    for r in report[report["stands_alone"]].itertuples(index=False):
        members = new.index[new[r.level].astype(str) == str(r.id)]
        w = str(wid[members[0]])
        rows.append((w, r.level, str(r.id),
                     f"heavy ward: stands alone as {r.level} {r.id}, {r.deviation_pct:+.1f}% from "
                     "its group's mean (the lower bound the ward lines impose)"))  # fmt: skip
    for lk in links.itertuples(index=False):
        x = levels[0]
        rows.append((str(lk.ward), x, str(new[x].iloc[int(pos[str(lk.ward)])]),
                     f"island: shares no boundary with the rest; linked to ward {lk.to} "
                     f"({lk.distance_m:,.0f} m away)"))  # fmt: skip
        warnings.append(
            f"ward {lk.ward} shares no boundary with the rest of its piece of the wards; linked "
            f"to the nearest ward {lk.to} ({lk.distance_m:,.0f} m away) so it joins an area"
        )
    frame = pd.DataFrame(rows, columns=["ward", "level", "area", "reason"])
    frame.insert(1, "name", pd.Series(
        [name.iloc[int(pos[w])] if name is not None else None for w in frame["ward"]],
        dtype="string"))  # fmt: skip
    for c in ("ward", "level", "area", "reason"):
        frame[c] = frame[c].astype("string")
    return frame, warnings


# ------------------------------------------------------------------------------ markdown
def design_markdown(plan: Any) -> str:
    """Return the design report: summary, areas per level, the lower bound, the apportionment."""
    s = plan.summary
    lines = [f"# {plan.title}", "", "## Summary", ""]
    lines += [f"    {ln}" for ln in plan.describe().splitlines()] + [""]
    lines += [
        f"Balance: every area within ±{100 * plan.tolerance:g}% of its group's mean demand "
        "(its group: the areas designed together, same parent and fixed region), except a "
        "single ward heavier than that, which stands alone. Demand: "
        f"{s['demand_source']}. Settings: keep={s['keep']:g}, compact={s['compact']:g}, "
        f"seed={s['seed']}, islands={s['islands']}.",
        "",
    ]
    rep = plan.report
    cols = {
        "id": "id", "name": "name", "parent": "in", "n_wards": "wards", "km2": "km²",
        "demand": "demand", "mean": "group mean", "deviation_pct": "deviation %",
        "polsby_popper": "Polsby–Popper", "wards_moved": "wards moved",
    }  # fmt: skip
    for x in plan.levels:
        sub = rep[rep["level"] == x].copy()
        sub["km2"] = sub["km2"].round(2)
        sub["demand"] = sub["demand"].round(1)
        sub["mean"] = sub["mean"].round(1)
        sub["deviation_pct"] = [
            f"{v:+.1f}" + (" (alone)" if a else "" if ok else " (!)")
            for v, a, ok in zip(sub["deviation_pct"], sub["stands_alone"], sub["within_tolerance"],
                                strict=True)
        ]  # fmt: skip
        sub["polsby_popper"] = sub["polsby_popper"].round(3)
        shown = {k: v for k, v in cols.items() if k != "wards_moved" or sub[k].notna().any()}
        lines += [f"## {x.capitalize()}s", "", *md_table(sub, shown)]
    lines += ["## The lower bound the ward lines impose", ""]
    lines += [
        "Per group, what keeps some area from the mean whatever the plan: a heavy ward "
        "standing alone, a light ward whose lightest neighbour is too heavy to join, every "
        "ward an area of its own, a ward whose best connected area is that far off (every "
        "connected area enumerated), or set partitioning's proof that no plan does better. "
        "'reached': the design's worst area in the group is at the bound (optimal).",
        "",
    ]
    b = plan.bound.copy()
    if len(b):
        b["bound_pct"] = b["bound_pct"].round(2)
        b["demand"] = b["demand"].round(1)
        b["mean"] = b["mean"].round(1)
    shown = {"level": "level", "group": "group", "ward": "ward", "kind": "kind"}
    shown |= {"demand": "demand", "mean": "group mean", "bound_pct": "bound %",
              "reached": "reached"}  # fmt: skip
    lines += md_table(b, shown)
    lines += ["## Apportionment", ""]
    lines += [
        "How each parent's count of areas was shared among the fixed lines' regions: in "
        "proportion to demand, by largest remainder, at least one each and never more than the "
        "region has wards (or as given).",
        "",
    ]
    a = plan.apportionment.copy()
    if len(a):
        for c in ("demand", "quota", "mean_per_area", "vs_level_mean_pct"):
            a[c] = a[c].round(2)
    lines += md_table(a, {"level": "level", "parent": "parent", "within": "within",
                          "region_name": "region", "demand": "demand", "quota": "quota",
                          "count": "areas", "mean_per_area": "mean per area",
                          "vs_level_mean_pct": "vs level mean %"})  # fmt: skip
    if len(plan.links):
        lines += ["## Islands", "", "Linked to the nearest ward (the island policy):", ""]
        lines += md_table(plan.links, {"ward": "ward", "to": "linked to", "distance_m": "m"})
    if plan.warnings:
        lines += ["## Notes", ""] + [f"- {w}" for w in plan.warnings] + [""]
    return "\n".join(lines)
