"""The planner's map: every level of the police hierarchy, demand per beat, wards to review."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.boundaries.demand import level_demand
from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, FORCE
from beatplan.boundaries.plan import BoundaryPlan
from beatplan.geo.errors import ColumnNotFoundError, ValidationError
from beatplan.maps._base import (
    LEVEL_TITLES,
    Boundaries,
    add_controls,
    as_points,
    boundary_layers,
    html_rows,
    new_map,
)
from beatplan.maps._period import select_period
from beatplan.maps.layers import (
    GeoJsonLayer,
    area_labels,
    display_geometry,
    escape,
    feature_collection,
)
from beatplan.maps.style import (
    LEVEL_STYLES,
    REVIEW,
    SEQUENTIAL,
    Legend,
    TitleBox,
    class_breaks,
    class_colours,
    classify,
)

__all__ = ["planning_map"]

log = logging.getLogger("beatplan")

_LEVEL_ORDER = ("ward", "beat", "sector", "npa", "lpa")
#: Fill opacity of the demand choropleth (its legend swatches use the same).
_FILL = 0.75
_LABEL_CLASS = {"npa": "bp-npa", "lpa": "bp-npa", "sector": "bp-sector", "beat": "bp-beat"}


def _title(level: str) -> str:
    return LEVEL_TITLES.get(level, level.capitalize())


def _word(level: str) -> str:
    """Return the level as a word inside a sentence ("NPA", "beat")."""
    return _title(level) if level in ("npa", "lpa") else _title(level).lower()


def _plural(level: str) -> str:
    t = _title(level)
    return t + "s" if not t.endswith("s") else t


def _demand_table(
    demand: Any,
    wards: gpd.GeoDataFrame | None,
    layers: dict[str, gpd.GeoDataFrame],
    level: str,
) -> tuple[pd.Series | None, str | None]:
    """Incidents (or demand) per area of ``level``, and a label of where they come from."""
    if demand is None:
        lay = layers[level]
        for col in ("demand", "incidents"):
            if col in lay.columns and lay[col].notna().any():
                return pd.Series(lay[col].to_numpy(dtype=float), index=lay["id"]), None
        return None, None
    if isinstance(demand, pd.Series):
        return demand.astype(float), None
    if isinstance(demand, pd.DataFrame) and not isinstance(demand, gpd.GeoDataFrame):
        if "id" not in demand.columns:
            raise ColumnNotFoundError(
                "demand: a table of demand needs an 'id' column (the area id) and a "
                "'demand' or 'incidents' column"
            )
        sub = demand[demand["level"] == level] if "level" in demand.columns else demand
        col = "demand" if "demand" in sub.columns else "incidents"
        if col not in sub.columns:
            raise ColumnNotFoundError("demand: no 'demand' or 'incidents' column")
        return pd.Series(sub[col].to_numpy(dtype=float), index=sub["id"].astype(str)), None
    points = as_points(demand, what="demand")
    period = select_period(points, None).label
    if wards is not None and level in wards.columns:
        lv = [c for c in DEFAULT_LEVELS if c in wards.columns]
        table = level_demand(wards, points, levels=lv)
        sub = table[table["level"] == level]
        return pd.Series(sub["incidents"].to_numpy(dtype=float), index=sub["id"]), period
    from beatplan.boundaries.demand import area_demand

    table = area_demand(points, layers[level])
    return pd.Series(table["incidents"].to_numpy(dtype=float), index=table["id"]), period


def _area_tips(layer: gpd.GeoDataFrame, level: str, names: dict[str, dict[str, str]]) -> pd.Series:
    rows: list[tuple[str, Any]] = [("Name", layer["name"])]
    for higher in _LEVEL_ORDER[_LEVEL_ORDER.index(level) + 1 :] if level in _LEVEL_ORDER else ():
        if higher in layer.columns:
            ids = layer[higher].astype("string")
            nm = ids.map(names.get(higher, {})).astype("string")
            rows.append((_title(higher), ids.where(nm.isna(), ids + " " + nm)))
    if "n_wards" in layer.columns:
        rows.append(("Wards", layer["n_wards"]))
    if "area_m2" in layer.columns:
        rows.append(("Area", (layer["area_m2"] / 1e6).round(2).astype(str) + " km²"))
    head = "<b>" + escape(_title(level) + " ").iloc[0] + escape(layer["id"]) + "</b>"
    return head + html_rows(rows, layer.index)


def planning_map(
    result: Boundaries,
    *,
    demand: Any = None,
    choropleth: str | None = None,
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    tolerance: float = 5.0,
) -> folium.Map:
    """Draw the planner's map: NPAs, sectors, beats and wards as layers, demand, wards to review.

    Parameters
    ----------
    result : BoundaryPlan, GeoDataFrame or mapping
        A :class:`beatplan.boundaries.BoundaryPlan` (what :func:`beatplan.boundaries.realign`,
        :func:`beatplan.boundaries.reorganise` or :func:`beatplan.boundaries.read_plan` return: its
        layers, ward table and wards for review are drawn), a ward table with level columns
        (``beat``, ``sector``, ``npa``), or ``{level: layer}``.
    demand : incidents, Series or DataFrame, optional
        Incident points (``beatplan.geo.Incidents`` or GeoDataFrame; counted per area), a Series of
        demand by area id, or a table with ``id`` (and ``level``) and ``demand``/``incidents``.
        Default: the layers' own ``demand``/``incidents`` columns, if any.
    choropleth : str, optional
        The level coloured by demand; default the smallest level above the wards (beats).
    title : str, optional
        Printed at the top.
    tiles : str or None
        Basemap name (see :data:`beatplan.maps._base.TILES`) or None for none.
    tolerance : float
        Display simplification in metres (shared edges stay shared).

    Returns
    -------
    folium.Map

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame({"id": ["a", "b"], "beat": ["B1", "B2"], "npa": ["N", "N"]},
    ...                      geometry=[box(450000, 300000, 451000, 301000),
    ...                                box(451000, 300000, 452000, 301000)], crs=27700)
    >>> type(planning_map(w, tiles=None)).__name__
    'Map'
    """
    wards, raw_layers, review = _unpack(result)
    layers, wards = _layers_in_one_crs(wards, raw_layers)
    levels = sorted(layers, key=_rank)
    level = choropleth or next((lv for lv in levels if lv != "ward"), levels[0])
    if level not in layers:
        raise ValidationError(
            "choropleth", [f"choropleth={level!r} is not a level here; levels: {levels}"]
        )
    names = _area_names(layers)
    crs = CRS.from_user_input(next(iter(layers.values())).crs)
    whole = shapely.union_all(np.asarray(layers[levels[-1]].geometry.values, dtype=object))
    m = new_map(whole.bounds, crs, tiles=tiles)
    values, period = _demand_table(demand, wards, layers, level)
    band = _design_tolerance(result, layers[level])
    items = _add_demand(m, layers[level], level, values, names, tolerance, show=band is None)
    if band is not None:  # a design: colour by each area's deviation from its group's mean
        items = _add_deviation(m, layers[level], level, names, tolerance, band) + items
    items += _add_levels(m, layers, levels, names, tolerance)
    n_review, review_items = _add_review(m, review, wards, levels, tolerance)
    items += review_items
    counts = " \u00b7 ".join(
        f"{len(layers[lv])} {_plural(lv) if lv in ('npa', 'lpa') else _plural(lv).lower()}"
        for lv in reversed(levels)
    )
    sub = [counts]
    if values is not None:
        sub.append(
            f"{'incidents' if period else 'demand'} per {_word(level)}"
            + (f": {period}" if period else "")
        )
    TitleBox(title or "Police areas", "\n".join(sub)).add_to(m)
    heading = "Demand" if band is None else "Balance and demand"
    Legend(f"{heading} per {_word(level)}" if values is not None or band else "", items).add_to(m)
    add_controls(m)
    log.info("planning map: %s; %d wards to review", counts, n_review)
    return m


def _rank(level: str) -> int:
    """Order levels small to large (unknown ones last)."""
    return _LEVEL_ORDER.index(level) if level in _LEVEL_ORDER else 9


def _unpack(
    result: Boundaries,
) -> tuple[gpd.GeoDataFrame | None, gpd.GeoDataFrame | dict[str, gpd.GeoDataFrame], pd.DataFrame]:
    """Return (ward table or None, layers, wards to review) from any input."""
    if isinstance(result, BoundaryPlan):
        return result.wards, dict(result.layers), result.review
    if isinstance(result, gpd.GeoDataFrame):
        has_levels = any(c in result.columns for c in DEFAULT_LEVELS)
        return (result if has_levels else None), result, pd.DataFrame()
    if isinstance(result, Mapping):
        return None, dict(result), pd.DataFrame()
    raise ValidationError(
        "planning_map",
        [
            "expected a boundary plan (a Realignment or Reorganisation), a ward table, or a "
            f"mapping of level to layer; found {type(result).__name__}"
        ],
    )


def _layers_in_one_crs(
    wards: gpd.GeoDataFrame | None, raw: gpd.GeoDataFrame | dict[str, gpd.GeoDataFrame]
) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame | None]:
    """Every level as ``{level: layer}`` (the wards too) in one CRS, and the ward table in it."""
    first = raw if isinstance(raw, gpd.GeoDataFrame) else next(iter(raw.values()))
    crs_src = wards.crs if wards is not None else first.crs
    crs = CRS.from_user_input(crs_src) if crs_src is not None else None
    layers = boundary_layers(raw, crs, what="result")
    layers.pop(FORCE, None)
    if wards is not None and "ward" not in layers and "id" in wards.columns:
        layers = {**boundary_layers({"ward": wards}, crs, what="wards"), **layers}
    if not layers:
        raise ValidationError("planning_map", ["the result holds no area layer to draw"])
    crs = CRS.from_user_input(next(iter(layers.values())).crs)
    if wards is not None and not CRS.from_user_input(wards.crs).equals(crs):
        wards = wards.to_crs(crs)
    return layers, wards


def _area_names(layers: Mapping[str, gpd.GeoDataFrame]) -> dict[str, dict[str, str]]:
    """Return ``{level: {id: name}}`` for the named areas."""
    names = {
        lv: dict(zip(lay["id"].astype(str), lay["name"].astype("string"), strict=True))
        for lv, lay in layers.items()
    }
    return {lv: {k: v for k, v in d.items() if pd.notna(v)} for lv, d in names.items()}


def _add_demand(
    m: folium.Map,
    lay: gpd.GeoDataFrame,
    level: str,
    values: pd.Series | None,
    names: dict[str, dict[str, str]],
    tolerance: float,
    *,
    show: bool = True,
) -> list[tuple[Any, ...]]:
    """Colour one level's areas by demand (with each area's deviation from the mean)."""
    if values is None:
        return []
    v = lay["id"].astype(str).map(values.rename(index=str)).astype(float)
    breaks = class_breaks(v, k=min(len(SEQUENTIAL), max(1, int(np.isfinite(v).sum()) // 2)))
    cls = classify(v, breaks)
    k = len(breaks) - 1
    colours = class_colours(k)
    mean = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
    dev = (v - mean) / mean * 100 if mean else v * np.nan
    if "deviation_pct" in lay.columns and lay["deviation_pct"].notna().any():
        dev = lay["deviation_pct"].astype(float)  # a design's: from its group's mean
    tip = _area_tips(lay, level, names) + html_rows(
        [
            ("Demand", v.round(1).astype(str)),
            ("vs mean", dev.round(0).map(lambda d: f"{d:+.0f} %", na_action="ignore")),
        ],
        lay.index,
    )
    styles = [
        {"color": "#555555", "weight": 0.5, "fillColor": c, "fillOpacity": _FILL}
        for c in [*colours, "#d9d9d9"]
    ]
    props = pd.DataFrame({"tip": tip, "s": np.where(cls < 0, k, cls)})
    fc = feature_collection(display_geometry(lay, tolerance=tolerance), props)
    name = f"Demand per {_word(level)}"
    grp = folium.FeatureGroup(name=escape(name).iloc[0], show=show).add_to(m)
    GeoJsonLayer(name, fc, styles=styles, highlight={"weight": 2.5}).add_to(grp)
    items: list[tuple[Any, ...]] = [
        ("box", c, f"{breaks[i]:,.0f} \u2013 {breaks[i + 1]:,.0f}", _FILL)
        for i, c in enumerate(colours)
    ]
    if (cls < 0).any():
        items.append(("box", "#d9d9d9", "no data", _FILL))
    return items


#: Deviation classes of a design's areas: (colour, label); the bounds are 1x and 2x the
#: design's tolerance either side of the group's mean (a diverging blue-red scheme).
_DEVIATION = (
    ("#2166ac", "below \u2212{2t} %"),
    ("#92c5de", "\u2212{2t} to \u2212{t} %"),
    ("#e7f4e4", "within \u00b1{t} %"),
    ("#f4a582", "+{t} to +{2t} %"),
    ("#b2182b", "above +{2t} %"),
)
_ALONE = ("#bdbdbd", "a heavy ward alone")


def _design_tolerance(result: Any, layer: gpd.GeoDataFrame) -> float | None:
    """Return the design's tolerance in % when ``layer`` holds a design's deviations, else None."""
    if "deviation_pct" not in layer.columns or not layer["deviation_pct"].notna().any():
        return None
    summary = getattr(result, "summary", None)
    tol = summary.get("tolerance") if isinstance(summary, Mapping) else None
    return 100.0 * float(tol) if tol is not None else None


def _add_deviation(
    m: folium.Map,
    lay: gpd.GeoDataFrame,
    level: str,
    names: dict[str, dict[str, str]],
    tolerance: float,
    band: float,
) -> list[tuple[Any, ...]]:
    """Colour a design's areas by their deviation from their group's mean (the balance).

    Parameters
    ----------
    m : folium.Map
        The map drawn on.
    lay : GeoDataFrame
        The level's layer, with ``deviation_pct`` (and ``stands_alone``) from the design.
    level : str
        Its level.
    names : dict
        ``{level: {id: name}}`` for the tooltips.
    tolerance : float
        Display simplification in metres.
    band : float
        The design's tolerance in %.

    Returns
    -------
    list of tuple
        The legend rows.
    """
    dev = lay["deviation_pct"].astype(float)
    alone = lay.get("stands_alone", pd.Series(False, index=lay.index)).fillna(False).astype(bool)
    edges = np.array([-2 * band, -band, band, 2 * band]) + np.array([0, 0, 1e-9, 1e-9])
    cls = np.where(alone.to_numpy(), len(_DEVIATION), np.digitize(dev.to_numpy(), edges))
    fmt = {"t": f"{band:g}", "2t": f"{2 * band:g}"}
    tip = _area_tips(lay, level, names) + html_rows(
        [
            ("Demand", lay["demand"].round(1).astype(str) if "demand" in lay else dev * np.nan),
            ("vs group mean", dev.map(lambda d: f"{d:+.1f} %", na_action="ignore")),
        ],
        lay.index,
    )
    colours = [c for c, _ in _DEVIATION] + [_ALONE[0]]
    styles = [
        {"color": "#555555", "weight": 0.5, "fillColor": c, "fillOpacity": _FILL} for c in colours
    ]
    props = pd.DataFrame({"tip": tip, "s": cls})
    fc = feature_collection(display_geometry(lay, tolerance=tolerance), props)
    name = f"Deviation per {_word(level)}"
    grp = folium.FeatureGroup(name=escape(name).iloc[0]).add_to(m)
    GeoJsonLayer(name, fc, styles=styles, highlight={"weight": 2.5}).add_to(grp)
    used = set(cls.tolist())
    items: list[tuple[Any, ...]] = [
        ("box", c, "vs group mean: " + label.format(**fmt), _FILL)
        for i, (c, label) in enumerate(_DEVIATION)
        if i in used or i == 2
    ]
    if alone.any():
        items.append(("box", _ALONE[0], _ALONE[1], _FILL))
    return items


def _add_levels(
    m: folium.Map,
    layers: Mapping[str, gpd.GeoDataFrame],
    levels: list[str],
    names: dict[str, dict[str, str]],
    tolerance: float,
) -> list[tuple[Any, ...]]:
    """Draw every level as lines, largest last (on top), each with its labels."""
    items: list[tuple[Any, ...]] = []
    for lv in levels:
        lay = layers[lv]
        style = dict(LEVEL_STYLES.get(lv, LEVEL_STYLES["beat"]))
        fc = feature_collection(
            display_geometry(lay, tolerance=tolerance),
            pd.DataFrame({"tip": _area_tips(lay, lv, names)}),
        )
        name = _plural(lv)
        grp = folium.FeatureGroup(name=escape(name).iloc[0], show=lv != "ward")
        grp.add_to(m)
        GeoJsonLayer(name, fc, styles=[style], highlight={"weight": style["weight"] + 2}).add_to(
            grp
        )
        if lv != "ward" or len(lay) <= 300:
            text = lay["name"].astype("string").fillna(lay["id"].astype("string"))
            area_labels(
                f"{name} labels",
                lay.geometry,
                text,
                css_class=_LABEL_CLASS.get(lv, "bp-ward"),
                px_per_char=8.0 if lv in ("npa", "lpa") else 6.5,
            ).add_to(grp)
        items.append(("line", style["color"], name))
    return items


def _add_review(
    m: folium.Map,
    review: pd.DataFrame,
    wards: gpd.GeoDataFrame | None,
    levels: list[str],
    tolerance: float,
) -> tuple[int, list[tuple[Any, ...]]]:
    """Outline the wards flagged for review, each with why, its best share and runner-up."""
    if wards is None or not len(review):
        return 0, []
    ward_col = "ward" if "ward" in review.columns else "id"
    wid = wards["id"].astype(str) if "id" in wards.columns else wards.index.astype(str)
    sel = wid.isin(review[ward_col].astype(str)).to_numpy()
    wsel = wards[sel].reset_index(drop=True)
    info = review.set_index(review[ward_col].astype(str)).reindex(wid[sel].to_numpy())
    info.index = wsel.index
    rows: list[tuple[str, Any]] = [("Why", info.get("reason"))]
    if "share" in info.columns:
        share = (info["share"] * 100).round(0).astype("Int64").astype("string") + " %"
        rows.append(("Best share", share))
    if "runner_up" in info.columns:
        ru = info["runner_up"].astype("string")
        if "runner_up_share" in info.columns:
            ru = (
                ru
                + " ("
                + (info["runner_up_share"] * 100).round(0).astype("Int64").astype("string")
                + " %)"
            )
        rows.append(("Runner-up", ru))
    for lv in levels:
        if lv in wsel.columns:
            rows.append((_title(lv), wsel[lv]))
    label = wsel["id"].astype("string")
    if "name" in wsel.columns:
        label = label + " " + wsel["name"].astype("string").fillna("")
    tip = "<b>Review ward " + escape(label) + "</b>" + html_rows(rows, wsel.index)
    fc = feature_collection(
        display_geometry(wsel, tolerance=tolerance, coverage=False),
        pd.DataFrame({"tip": tip}),
    )
    grp = folium.FeatureGroup(name="Wards to review").add_to(m)
    GeoJsonLayer("Wards to review", fc, styles=[REVIEW], highlight={"weight": 5}).add_to(grp)
    n = len(wsel)
    return n, [("box", REVIEW["color"], f"Ward to review ({n})", REVIEW["fillOpacity"])]
