"""The change map: old and new police areas, with the wards that moved and where they went."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries import moved_wards
from beatplan.boundaries.hierarchy import FORCE
from beatplan.boundaries.plan import BoundaryPlan
from beatplan.geo.errors import ValidationError
from beatplan.maps._base import (
    LEVEL_TITLES,
    Boundaries,
    add_controls,
    boundary_layers,
    html_rows,
    new_map,
    rows_level,
    to_metric,
)
from beatplan.maps.layers import (
    GeoJsonLayer,
    area_labels,
    display_geometry,
    escape,
    feature_collection,
)
from beatplan.maps.style import CHANGE, Legend, TitleBox

__all__ = ["change_map"]

log = logging.getLogger("beatplan")

_ORDER = ("beat", "sector", "npa", "lpa")


@dataclass(frozen=True)
class _Side:
    """One side of the comparison: its layers by level and its ward table (if it has one)."""

    layers: dict[str, gpd.GeoDataFrame]
    wards: gpd.GeoDataFrame | None


@dataclass(frozen=True)
class _Moved:
    """What changed area at the level compared: wards (matched by id) or pieces of ground."""

    how: str  # "wards" or "pieces"
    geo: gpd.GeoDataFrame
    info: pd.DataFrame
    renamed: int = 0  # wards that kept their area under a new id (renamed, merged into it)


def change_map(
    before: Boundaries | None,
    after: Boundaries,
    *,
    level: str | None = None,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    tolerance: float = 5.0,
) -> folium.Map:
    """Draw old and new areas and highlight the wards that moved, with a from → to tooltip.

    Parameters
    ----------
    before : BoundaryPlan, ward table, layers or None
        The old areas: a plan, a ward table with level columns, one layer (beats), or
        ``{level: layer}``. May be None when ``after`` is a plan that knows the ward table it
        started from (a ``Reorganisation``: its ``current`` table is then the "before").
    after : BoundaryPlan, ward table or layers
        The new areas. When both sides are ward tables sharing ward ids (a reorganisation),
        the wards whose area changed are shown, with from → to at every level. Otherwise (a
        realignment onto reviewed wards, or plain layers) the pieces of ground whose area
        changed are shown, exactly, each with from → to, its size and the new ward it lies in.
    level : str, optional
        The level compared (default: the smallest one both sides have).
    title : str, optional
        Printed at the top.
    tiles : str or None
        Basemap name or None.
    tolerance : float
        Display simplification in metres.

    Returns
    -------
    folium.Map
    """
    if before is None:
        if not isinstance(after, BoundaryPlan) or after.current is None:
            raise ValidationError(
                "change_map", ["before=None needs a Reorganisation result as after="]
            )
        before = after.current
    new, crs = _after(after)
    old = _side(before, crs, "before")
    level = _level_compared(level, old.layers, new.layers)
    old_layer, new_layer = old.layers[level], new.layers[level]
    _check_same_place(old_layer, new_layer, level)
    names_old, names_new = _names(old_layer), _names(new_layer)
    levels = [lv for lv in _ORDER if lv in new.layers]
    lineage = _lineage(after, old.wards, level)
    moved = _moved(old, new, old_layer, new_layer, level, levels, crs, lineage)
    whole = shapely.union_all(
        np.concatenate(
            [np.asarray(old_layer.geometry.values), np.asarray(new_layer.geometry.values)]
        )
    )
    m = new_map(whole.bounds, crs, tiles=tiles)
    title_lv = LEVEL_TITLES.get(level, level.capitalize())
    items = _add_moved(m, moved, level, levels, names_old, names_new, title_lv, tolerance)
    for key, lay, nm in (("before", old_layer, names_old), ("after", new_layer, names_new)):
        items.append(_add_side(m, key, lay, nm, title_lv, tolerance))
    sub = _subtitle(moved, old_layer, new_layer, title_lv)
    TitleBox(title or f"Boundary changes: {title_lv.lower()}s", sub).add_to(m)
    Legend("", items).add_to(m)
    add_controls(m)
    log.info("change map: %s", sub)
    return m


# --------------------------------------------------------------------------- the two sides
#: Least share of the smaller side's ground the two sides must share to be compared.
MIN_SHARED = 0.5


def _check_same_place(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, level: str) -> None:
    """Refuse two sides that cover different places (a change map of them would show none)."""
    a = shapely.union_all(np.asarray(old.geometry.values, dtype=object))
    b = shapely.union_all(np.asarray(new.geometry.values, dtype=object))
    smaller = min(a.area, b.area)
    shared = a.intersection(b).area / smaller if smaller > 0 else 0.0
    if shared < MIN_SHARED:
        raise ValidationError(
            "change_map",
            [f"before and after cover different places: their {level}s share {shared:.1%} of "
             f"the smaller side's ground (at least {MIN_SHARED:.0%} is needed to compare them); "
             "check that both are plans of the same force (and their CRS)"],
        )  # fmt: skip


def _ward_table(obj: Boundaries) -> gpd.GeoDataFrame | None:
    """Return the ward table of a plan or a GeoDataFrame with level columns, else None."""
    if isinstance(obj, BoundaryPlan):
        return obj.wards
    if isinstance(obj, gpd.GeoDataFrame) and rows_level(obj) == "ward":
        return obj
    return None


def _side(obj: Boundaries, crs: CRS | None, what: str) -> _Side:
    """Return one side's layers (in ``crs``) and ward table."""
    layers = boundary_layers(obj, crs, what=what)
    layers.pop(FORCE, None)
    return _Side(layers, _ward_table(obj))


def _after(after: Boundaries) -> tuple[_Side, CRS]:
    """Return the "after" side, and the CRS of the map (its layers')."""
    crs_src: CRS | None = None
    if isinstance(after, BoundaryPlan):
        crs_src = after.crs if after.crs is not None else after.wards.crs
    elif isinstance(after, gpd.GeoDataFrame):
        crs_src = after.crs
    new = _side(after, CRS.from_user_input(crs_src) if crs_src is not None else None, "after")
    if not new.layers:
        raise ValidationError("change_map", ["after= holds no area layer"])
    return new, CRS.from_user_input(next(iter(new.layers.values())).crs)


def _level_compared(
    level: str | None,
    old_layers: Mapping[str, gpd.GeoDataFrame],
    new_layers: Mapping[str, gpd.GeoDataFrame],
) -> str:
    """Check the level given is on both sides; by default take the smallest both have."""
    common = [lv for lv in _ORDER if lv in old_layers and lv in new_layers]
    common += [lv for lv in new_layers if lv in old_layers and lv not in common and lv != "ward"]
    if level is None:
        if not common:
            raise ValidationError(
                "change_map",
                [
                    f"before and after share no level (before: {sorted(old_layers)}, after: "
                    f"{sorted(new_layers)}); name one with level=..."
                ],
            )
        level = common[0]
    if level not in old_layers or level not in new_layers:
        raise ValidationError(
            "level", [f"level={level!r} is not in both: before {sorted(old_layers)}, after "
                      f"{sorted(new_layers)}"]
        )  # fmt: skip
    return level


def _names(layer: gpd.GeoDataFrame) -> dict[str, str]:
    return {
        k: v for k, v in zip(layer["id"].astype(str), layer["name"], strict=True) if pd.notna(v)
    }


def _label(ids: pd.Series, names: dict[str, str]) -> pd.Series:
    ids = ids.astype("string")
    nm = ids.map(names).astype("string")
    return ids.where(nm.isna(), ids + " " + nm)


# ------------------------------------------------------------------------- what moved
def _moved(
    old: _Side,
    new: _Side,
    old_layer: gpd.GeoDataFrame,
    new_layer: gpd.GeoDataFrame,
    level: str,
    levels: list[str],
    crs: CRS,
    lineage: pd.Series | None = None,
) -> _Moved:
    """Find the wards whose area changed (tables sharing ids), else the ground that did."""
    found = None
    if new.wards is not None and old.wards is not None and level in old.wards.columns:
        found = _moved_by_table(
            to_metric(old.wards, crs, what="before"), to_metric(new.wards, crs, what="after"),
            level, levels, lineage,
        )  # fmt: skip
    how = "wards" if found is not None else "pieces"
    if found is None:
        wards = to_metric(new.wards, crs, what="after") if new.wards is not None else None
        found = _moved_by_overlay(old_layer, new_layer, wards)
    geo, info = found
    renamed = int(info.attrs.get("renamed", 0))
    return _Moved(how, to_metric(geo, crs, what="moved"), info, renamed)


def _lineage(after: Boundaries, old_wards: gpd.GeoDataFrame | None, level: str) -> pd.Series | None:
    """Per ward, whether it changed area at ``level``, as the plan ``after`` records it.

    A reorganisation's crosswalk knows which old area each new one continues (renames, merges),
    so its ``changed`` column is used when ``before`` is the plan it started from (its
    ``<level>_old`` column matches); else None (the map works it out from the two tables).
    """
    if not isinstance(after, BoundaryPlan) or old_wards is None:
        return None
    cw = after.crosswalk
    if not {"ward", "changed", f"{level}_old"} <= set(cw.columns) or level not in old_wards:
        return None
    cw = cw.set_index(cw["ward"].astype(str))
    before = old_wards.set_index(old_wards["id"].astype(str))[level].astype("string")
    common = cw.index.intersection(before.index)
    if len(common) != len(cw) or not (cw.loc[common, f"{level}_old"].astype("string")
                                      == before.loc[common]).all():  # fmt: skip
        return None
    flags = cw["changed"].astype("string").fillna("")
    return flags.str.contains(rf"(?:^|;){re.escape(level)}(?:;|$)", regex=True)


def _moved_by_table(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    level: str,
    levels: list[str],
    lineage: pd.Series | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame] | None:
    """Wards whose area at ``level`` changed between two ward tables (matched by id).

    A ward changed area when its new area is not the one its old area lives on in
    (:func:`beatplan.boundaries.moved_wards`; the plan's own record, ``lineage``, when given):
    a renamed area, or one merged into the area it lives on in, moved no ward. The same rule
    makes a reorganisation's summary and crosswalk, so the counts agree. None when the tables
    share no ward id (a ward review: compare by overlap instead).
    """
    o = old.set_index(old["id"].astype(str))
    n = new.set_index(new["id"].astype(str))
    common = n.index.intersection(o.index)
    if len(common) == 0:
        return None
    frm = o.loc[common, level].astype("string")
    to = n.loc[common, level].astype("string")
    if lineage is not None:
        moved = lineage.reindex(common).fillna(True).to_numpy(dtype=bool)
    else:
        area = shapely.area(np.asarray(n.loc[common].geometry.values, dtype=object))
        moved = moved_wards(frm.fillna("").to_numpy(), to.fillna("").to_numpy(), area)
        moved |= (frm.isna() | to.isna()).to_numpy(dtype=bool)
    renamed = int(((frm != to).fillna(True).to_numpy(dtype=bool) & ~moved).sum())
    ids = common[moved]
    info = pd.DataFrame({"from": frm[moved].to_numpy(), "to": to[moved].to_numpy()}, index=ids)
    for lv in levels:
        if lv != level and lv in o.columns and lv in n.columns:
            a = o.loc[ids, lv].astype("string")
            b = n.loc[ids, lv].astype("string")
            info[lv] = (a + " \u2192 " + b).where(a != b, a)
    geo = gpd.GeoDataFrame(n.loc[ids].reset_index(drop=True), geometry=n.loc[ids].geometry.values)
    geo = geo.set_crs(new.crs, allow_override=True)
    info = info.reset_index(drop=True)
    info.attrs["renamed"] = renamed
    return geo, info


def _moved_by_overlay(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    wards: gpd.GeoDataFrame | None = None,
    min_m2: float = 500.0,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Pieces of ground whose area id changed, each with the new ward it lies most in.

    Used when the two sides share no ward ids (a realignment after a ward review): the ground
    that changed area is exact, where "the ward moved" would overstate a ward that only lost a
    sliver.
    """
    og = np.asarray(old.geometry.values, dtype=object)
    ng = np.asarray(new.geometry.values, dtype=object)
    j, i = shapely.STRtree(og).query(ng, predicate="intersects")
    changed = old["id"].astype(str).to_numpy()[i] != new["id"].astype(str).to_numpy()[j]
    i, j = i[changed], j[changed]
    pieces = shapely.intersection(og[i], ng[j])
    keep = shapely.area(pieces) >= min_m2
    i, j, pieces = i[keep], j[keep], pieces[keep]
    info = pd.DataFrame(
        {
            "from": old["id"].astype("string").to_numpy()[i],
            "to": new["id"].astype("string").to_numpy()[j],
            "area": pd.Series(shapely.area(pieces) / 1e4).round(1).astype(str) + " ha",
        }
    )
    if wards is not None and len(pieces):
        wg = np.asarray(wards.geometry.values, dtype=object)
        p, w = shapely.STRtree(wg).query(pieces, predicate="intersects")
        share = shapely.area(shapely.intersection(pieces[p], wg[w]))
        order = np.lexsort((-share, p))  # per piece, its largest overlap first
        first = order[np.r_[True, p[order][1:] != p[order][:-1]]]
        ward = pd.Series(pd.NA, index=info.index, dtype="string")
        label = wards["id"].astype("string")
        if "name" in wards.columns:
            label = label + " " + wards["name"].astype("string").fillna("")
        ward.iloc[p[first]] = label.to_numpy()[w[first]]
        info["ward"] = ward
    return gpd.GeoDataFrame(geometry=pieces, crs=new.crs), info


# ----------------------------------------------------------------------------- drawing
def _add_moved(
    m: folium.Map,
    moved: _Moved,
    level: str,
    levels: list[str],
    names_old: dict[str, str],
    names_new: dict[str, str],
    title_lv: str,
    tolerance: float,
) -> list[tuple[Any, ...]]:
    """Fill the moved wards (or pieces), under the lines, each with from → to."""
    geo, info = moved.geo, moved.info
    if not len(geo):
        return []
    change = _label(info["from"], names_old) + " \u2192 " + _label(info["to"], names_new)
    rows: list[tuple[str, Any]] = []
    if moved.how == "wards" and "id" in geo.columns:
        ward = geo["id"].astype("string")
        if "name" in geo.columns:
            ward = ward + " " + geo["name"].astype("string").fillna("")
        head = "<b>Ward " + escape(ward.reset_index(drop=True)) + "</b>"
        rows.append((title_lv, change))
    else:
        head = "<b>" + escape(title_lv + " ").iloc[0] + escape(change) + "</b>"
    if moved.how == "pieces":
        rows.append(("Area", info["area"]))
        if "ward" in info.columns:
            rows.append(("In ward", info["ward"]))
    for lv in levels:
        if lv != level and lv in info.columns:
            rows.append((LEVEL_TITLES.get(lv, lv), info[lv]))
    tip = head + html_rows(rows, info.index)
    fc = feature_collection(
        display_geometry(geo, tolerance=tolerance), pd.DataFrame({"tip": tip.to_numpy()})
    )
    name = "Moved wards" if moved.how == "wards" else f"Ground that changed {title_lv.lower()}"
    grp = folium.FeatureGroup(name=name).add_to(m)
    GeoJsonLayer(name, fc, styles=[CHANGE["moved"]], highlight={"weight": 3}).add_to(grp)
    style = CHANGE["moved"]
    return [("box", style["fillColor"], f"{name} ({len(geo)})", style["fillOpacity"])]


def _add_side(
    m: folium.Map,
    key: str,
    lay: gpd.GeoDataFrame,
    names: dict[str, str],
    title_lv: str,
    tolerance: float,
) -> tuple[Any, ...]:
    """Draw one side's areas as lines (the "after" side labelled); return its legend item."""
    style = CHANGE[key]
    lbl = f"{title_lv}s {'before' if key == 'before' else 'after'}"
    tip = "<b>" + escape(f"{title_lv} ({key}) ").iloc[0] + escape(_label(lay["id"], names)) + "</b>"
    if "n_wards" in lay.columns:
        tip = tip + html_rows([("Wards", lay["n_wards"])], lay.index)
    fc = feature_collection(display_geometry(lay, tolerance=tolerance), pd.DataFrame({"tip": tip}))
    grp = folium.FeatureGroup(name=escape(lbl).iloc[0]).add_to(m)
    GeoJsonLayer(lbl, fc, styles=[style], highlight={"weight": style["weight"] + 2}).add_to(grp)
    if key == "after":
        text = lay["name"].astype("string").fillna(lay["id"].astype("string"))
        area_labels(
            f"{lbl} labels", lay.geometry, text, css_class="bp-sector", px_per_char=7.0
        ).add_to(grp)
    return ("line", style["color"], lbl)


def _subtitle(moved: _Moved, old: gpd.GeoDataFrame, new: gpd.GeoDataFrame, title_lv: str) -> str:
    """Say how much moved, how many areas gained ground, and the count before and after."""
    info, n = moved.info, len(moved.geo)
    changed = int(info["to"].nunique()) if len(info) else 0
    if moved.how == "wards":
        sub = f"{n} ward{'s' if n != 1 else ''} moved"
        if moved.renamed:
            sub += (
                f" ({moved.renamed} more keep their {title_lv.lower()} under a new id: renamed, "
                "or merged into the area theirs lives on in)"
            )
    else:
        km2 = float(shapely.area(np.asarray(moved.geo.geometry.values, dtype=object)).sum()) / 1e6
        sub = f"{km2:,.1f} km\u00b2 changed {title_lv.lower()} ({n} piece{'s' if n != 1 else ''})"
    sub += f" \u00b7 {changed} {title_lv.lower()}{'s' if changed != 1 else ''} gained ground"
    sub += f" \u00b7 {len(old)} \u2192 {len(new)} {title_lv.lower()}s"
    return sub
