"""The briefing map a sergeant opens before a briefing.

The area, its beats, ranked hotspots and the incidents of the last weeks, as one HTML file that
works offline and prints on A4.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template
from pyproj import CRS

from beatplan.boundaries.plan import BoundaryPlan
from beatplan.geo.errors import InputTypeError
from beatplan.geo.progress import stages
from beatplan.hotspots.result import Hotspots, locate_in
from beatplan.maps._base import (
    LEVEL_TITLES,
    Boundaries,
    add_controls,
    area_geometry,
    as_points,
    boundary_layers,
    html_rows,
    new_map,
    to_metric,
)
from beatplan.maps._period import Period, select_period
from beatplan.maps.layers import (
    GeoJsonLayer,
    area_labels,
    display_geometry,
    escape,
    feature_collection,
    js_json,
)
from beatplan.maps.points import HeatLayer, IncidentLayer, PointSummary, summarise_points
from beatplan.maps.style import (
    AREA_OUTLINE,
    BEAT_LINE,
    HEAT_GRADIENT,
    HOTSPOT,
    HOTSPOT_LINE,
    POINT,
    Legend,
    TitleBox,
)

__all__ = ["briefing_map"]

log = logging.getLogger("beatplan")

#: Fill opacity of the hotspot polygons (and of their legend swatches).
_FILL = 0.4

#: Layer names (what the layer control shows and the browser tests look for).
LAYER_NAMES = {
    "outline": "Area outline",
    "beats": "Beats",
    "heat": "Heat",
    "hotspots": "Hotspots (ranked)",
    "incidents": "Incidents",
}


class HotspotTable(MacroElement):
    """The ranked hotspots of the area briefed as a table on the map: rank, where, incidents.

    Parameters
    ----------
    hot : GeoDataFrame
        The hotspots shown, with ``rank`` (and ``incidents`` when known).
    places : DataFrame
        The names of the beats and wards each lies in (columns by level).
    shown : ndarray
        Incidents of the period shown in each.
    period : str
        The period shown.
    limit : int
        At most this many rows.
    analysis : str, optional
        The period the hotspots were found from.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var box = L.control({position: 'bottomleft'});
          box.onAdd = function() {
            var div = L.DomUtil.create('div', 'bp-legend bp-hotspot-table');
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
          };
          box.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        hot: gpd.GeoDataFrame,
        places: pd.DataFrame,
        shown: np.ndarray,
        period: str,
        limit: int = 10,
        analysis: str | None = None,
    ) -> None:
        super().__init__()
        self._name = "HotspotTable"
        found = "incidents" if analysis is None else f"incidents {analysis}"
        head = ["#", *places.columns, escape(found).iloc[0], escape(period).iloc[0]]
        rows = []
        for i in range(min(len(hot), limit)):
            cells = [str(int(hot["rank"].iloc[i]))]
            cells += [escape(pd.Series([places[c].iloc[i]]).fillna("")).iloc[0]
                      for c in places.columns]  # fmt: skip
            inc = hot["incidents"].iloc[i] if "incidents" in hot.columns else ""
            cells += [str(inc), str(int(shown[i]))]
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        more = len(hot) - limit
        foot = f'<div class="bp-sub">and {more} more (click a hotspot)</div>' if more > 0 else ""
        style = (
            "<style>.bp-hotspot-table table{border-collapse:collapse;font-size:11px}"
            ".bp-hotspot-table td,.bp-hotspot-table th{padding:1px 5px;text-align:left;"
            "vertical-align:top;max-width:220px}.bp-hotspot-table th{border-bottom:1px solid #999}"
            "</style>"
        )
        html = (
            style + "<h4>Hotspots, ranked</h4><table><tr>"
            + "".join(f"<th>{h}</th>" for h in head) + "</tr>" + "".join(rows) + "</table>" + foot
        )  # fmt: skip
        self.n_rows = len(rows)
        self.html_js = js_json(html)


def _hotspot_table(hotspots: Any, crs: CRS) -> gpd.GeoDataFrame | None:
    if hotspots is None:
        return None
    table = getattr(hotspots, "areas", hotspots)
    if not isinstance(table, gpd.GeoDataFrame):
        raise InputTypeError(
            "hotspots: expected a beatplan.hotspots.Hotspots result or a GeoDataFrame of hotspot "
            f"polygons, found {type(hotspots).__name__}"
        )
    if len(table) == 0:
        return table
    return to_metric(table, crs, what="hotspots").reset_index(drop=True)


def _ranked(
    hs: gpd.GeoDataFrame | None,
    area: shapely.Geometry | None,
    *,
    analysed: np.ndarray | None = None,
    fewest: int = 1,
    top: int | None = None,
    coverage: float | None = None,
    study_m2: float | None = None,
) -> gpd.GeoDataFrame:
    """Return the hotspots in ``area``, clipped to it, ranked 1, 2, 3 ... within it.

    A hotspot counts when at least 0.1 % of it lies inside (not one that only touches the
    edge) and, with ``analysed`` (the coordinates of the incidents the hotspots were found
    from), when its part inside holds at least ``fewest`` of them; ``incidents`` is then
    that part's count and the hotspots are ranked by it (``force_rank`` keeps the rank
    among all the hotspots). ``coverage`` keeps them, in rank order, while they cover at
    most that share of ``study_m2`` (the hotspots' study area, else the area briefed);
    ``top`` keeps the first ``top``.
    """
    if hs is None or len(hs) == 0:
        return gpd.GeoDataFrame(
            {"rank": pd.Series([], dtype=int), "force_rank": pd.Series([], dtype=int)},
            geometry=[], crs=None,
        )  # fmt: skip
    hg = np.asarray(hs.geometry.values, dtype=object)
    out = hs[_within(hg, area, share=0.001)].copy()
    if "hotspot" in out.columns:
        out["force_rank"] = pd.to_numeric(out["hotspot"], errors="coerce").fillna(0).astype(int)
    else:
        out["force_rank"] = np.arange(1, len(out) + 1)
    out = out.sort_values("force_rank", kind="stable")
    if area is not None and len(out):
        out = out.set_geometry(shapely.intersection(out.geometry.values, area))
        if analysed is not None:
            inside = _counts_in(np.asarray(out.geometry.values, dtype=object), analysed)
            out["incidents"] = inside
            out = out[inside >= fewest].sort_values(
                ["incidents", "force_rank"], ascending=[False, True], kind="stable"
            )
    if coverage is not None and len(out):
        base = study_m2 or (area.area if area is not None else shapely.union_all(hg).area)
        fits = np.cumsum(shapely.area(out.geometry.values)) <= coverage * base * (1 + 1e-9)
        out = out[fits]
    if top is not None:
        out = out.iloc[: max(int(top), 0)]
    out["rank"] = np.arange(1, len(out) + 1)
    return out


def _within(geoms: np.ndarray, area: shapely.Geometry | None, share: float = 0.01) -> np.ndarray:
    """Which polygons lie (at least ``share`` of their area) inside ``area``."""
    if area is None:
        return np.ones(len(geoms), dtype=bool)
    shapely.prepare(area)
    hit = shapely.intersects(area, geoms)
    if not hit.any():
        return hit
    part = np.zeros(len(geoms))
    part[hit] = shapely.area(shapely.intersection(geoms[hit], area))
    return hit & (part >= share * np.maximum(shapely.area(geoms), 1e-9))


def _counts_in(polys: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Incidents inside each polygon (edges included)."""
    if len(polys) == 0 or len(xy) == 0:
        return np.zeros(len(polys), dtype=np.int64)
    tree = shapely.STRtree(shapely.points(xy))
    pairs = tree.query(polys, predicate="intersects")
    return np.bincount(pairs[0], minlength=len(polys))


def _month_text(first: pd.Series, last: pd.Series) -> pd.Series:
    def fmt(s: pd.Series) -> pd.Series:
        d = pd.to_datetime(s.astype("string") + "-01", errors="coerce", format="%Y-%m-%d")
        return d.dt.strftime("%b %Y").astype("string")

    a, b = fmt(first), fmt(last)
    return a.where(a == b, a + " \u2013 " + b).fillna("")


def _hotspot_popups(
    hs: gpd.GeoDataFrame, shown: np.ndarray, period: str, places: pd.DataFrame
) -> pd.DataFrame:
    idx = hs.index
    rank = hs["rank"]
    col = hs.get
    rows: list[tuple[str, Any]] = [(level, places[level]) for level in places.columns]
    rows += [
        ("Incidents (analysis)", col("incidents")),
        (
            "Share of all",
            (col("share") * 100).round(1).astype(str) + " %" if "share" in hs else None,
        ),
        (f"Incidents ({period})", pd.Series(shown, index=idx)),
        ("Area", (shapely.area(hs.geometry.values) / 1e4).round(2).astype(str) + " ha"),
        ("Top crime types", col("top_types")),
        (
            "Months",
            _month_text(hs["first_month"], hs["last_month"])
            if {"first_month", "last_month"} <= set(hs.columns)
            else None,
        ),
        ("Peak hours", col("peak_hours")),
        ("Force-wide rank", hs["force_rank"] if (hs["force_rank"] != rank).any() else None),
        ("Method", col("method")),
    ]
    rows = [(k, v) for k, v in rows if v is not None]
    head = "<b>Hotspot " + rank.astype(str) + "</b>"
    pop = head + html_rows(rows, idx)
    n = pd.Series(shown, index=idx).astype(str)
    where = places.iloc[:, 0].fillna("") if len(places.columns) else pd.Series("", index=idx)
    tip = (
        head
        + " &middot; "
        + escape(where)
        + " &middot; "
        + n
        + f" incidents ({escape(period).iloc[0]})"
    )
    return pd.DataFrame({"tip": tip, "pop": pop})


def _ward_layer(boundaries: Boundaries | None) -> gpd.GeoDataFrame | None:
    """Return the wards behind ``boundaries`` (a plan's, or a ward table itself), or None."""
    if isinstance(boundaries, BoundaryPlan):
        wards = boundaries.wards.rename(columns={boundaries.ward_id: "id"})
        return wards if "name" in wards.columns else None
    if isinstance(boundaries, gpd.GeoDataFrame) and "id" in boundaries.columns:
        levels = ("beat", "sector", "npa", "lpa")
        if any(c in boundaries.columns for c in levels) and "name" in boundaries.columns:
            return boundaries
    return None


def _places(
    hot: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    wards: gpd.GeoDataFrame | None,
) -> pd.DataFrame:
    """Name the beats (the smallest level) and wards each hotspot lies in, largest share first."""
    out = pd.DataFrame(index=hot.index)
    if not len(hot):
        return out
    named: dict[str, gpd.GeoDataFrame] = {}
    if layers:
        level = next(iter(layers))
        named[LEVEL_TITLES.get(level, level.capitalize())] = layers[level]
    if wards is not None and not any(w is wards for w in named.values()):
        named["Ward"] = wards
    geoms = gpd.GeoSeries(hot.geometry.values, index=hot.index, crs=hot.crs)
    found = locate_in(geoms, {k: v[["id", "name", "geometry"]] for k, v in named.items()})
    for title in named:
        out[title] = found[f"{title}_name"] if f"{title}_name" in found else found[title]
    return out


#: The stages of :func:`briefing_map` (its progress bar), and how many incidents show one.
_STAGES = ("boundaries", "incidents", "beats", "hotspots", "markers")
PROGRESS_POINTS = 200_000


def briefing_map(
    incidents: Any,
    hotspots: Any = None,
    boundaries: Boundaries | None = None,
    *,
    area: Any = None,
    since: Any = "28D",
    title: str | None = None,
    tiles: str | None = "OpenStreetMap",
    max_points: int = 20_000,
    cluster_above: int = 500,
    show_incidents: bool | None = None,
    tolerance: float = 5.0,
    top: int | None = None,
    coverage: float | None = None,
    backtest: pd.DataFrame | None = None,
    progress: bool | None = None,
) -> folium.Map:
    """Draw a sergeant's briefing map: area outline, beats, ranked hotspots, heat and incidents.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or GeoDataFrame
        Incident points (any CRS); ``category``, ``month``, ``timestamp`` and ``location``
        columns are shown when present.
    hotspots : beatplan.hotspots.Hotspots or GeoDataFrame, optional
        Ranked hotspot polygons (``Hotspots.areas``: ``hotspot`` rank, ``incidents``, ``share``,
        ``top_types``, ``first_month``/``last_month``, ``peak_hours`` ... are shown when present).
        Those in the area briefed are clipped to it and numbered 1, 2, 3 ... within it (the
        force-wide rank in their popup), each named by the beats and wards it lies in, and
        listed in a table on the map.
    boundaries : BoundaryPlan, GeoDataFrame or mapping, optional
        A :class:`beatplan.boundaries.BoundaryPlan` (what :func:`beatplan.boundaries.realign`,
        :func:`beatplan.boundaries.reorganise` or :func:`beatplan.boundaries.read_plan` return: its
        named layers), beats (one layer), a ward table with ``beat``/``sector``/``npa`` columns, or
        ``{level: layer}`` as :func:`beatplan.boundaries.hierarchy.build_layers` returns. The
        smallest level is drawn as beat lines.
    area : str, polygon or GeoDataFrame, optional
        The area briefed: an id or name from ``boundaries`` (any level), a polygon in the
        boundaries' CRS, or a layer. Incidents, hotspots and beats are limited to it and the map
        opens zoomed to it. None: everything.
    since : str, tuple or None
        The period shown, back from the end of the data: ``"28D"`` (default; the last month of
        police.uk data), ``"3M"``, ``"2022-10"``, ``("2022-08", "2022-10")``, or None for all.
    title : str, optional
        Printed at the top; default "Crime briefing: <area>".
    tiles : str or None
        Basemap: one of :data:`beatplan.maps._base.TILES` (``"OpenStreetMap"`` default) or None /
        ``"none"`` for no basemap (then the map needs no network at all).
    max_points : int
        Most incident markers; above it they are aggregated to a grid.
    cluster_above : int
        Markers are clustered when there are more than this many.
    show_incidents : bool, optional
        Whether the incidents layer is ticked when the map opens. Default: only when its markers
        are not clustered, so that at a force-wide view cluster bubbles do not cover the
        hotspots (the heat layer shows where incidents are; the layer is one tick away).
    tolerance : float
        Display simplification of boundaries, in metres.
    top : int, optional
        Show the ``top`` first-ranked hotspots of the area briefed.
    coverage : float, optional
        Show the hotspots, in rank order, while they cover at most this share of the
        hotspots' study area (of the area briefed for plain polygons).
    backtest : pandas.DataFrame, optional
        A map-mode :func:`beatplan.hotspots.backtest` of the hotspots' method on the same
        data: the title then says what share of the next month's crime such hotspots held.
        The title always says what share of the study area the hotspots cover.
    progress : bool or None, default None
        Show a progress bar of the stages on standard error: ``None`` does for
        :data:`PROGRESS_POINTS` incidents or more when standard error is a terminal (not under
        ``-q``); ``False`` never.

    Returns
    -------
    folium.Map
        Save it with :func:`beatplan.maps.save` (offline by default).

    Examples
    --------
    >>> import geopandas as gpd, shapely
    >>> pts = gpd.GeoDataFrame({"category": ["Burglary"]}, geometry=[shapely.Point(458000, 304000)],
    ...                        crs=27700)
    >>> m = briefing_map(pts, since=None, tiles=None)
    >>> type(m).__name__
    'Map'
    """
    points = as_points(incidents)
    shown_bar = (
        progress if progress is not None else (None if len(points) >= PROGRESS_POINTS else False)
    )
    with stages(_STAGES, desc="briefing map", enabled=shown_bar) as done:
        crs = CRS.from_user_input(points.crs)
        layers = boundary_layers(boundaries, crs)
        area_geom, area_name = area_geometry(area, layers, crs)
        hs = _hotspot_table(hotspots, crs)
        done()
        shown = _shown(points, since, area_geom, max_points)
        done()
        beats, beat_level = _beats(layers, area_geom)
        outline = _outline(layers, area_geom)
        m = new_map(_extent(outline, shown.xy, points), crs, tiles=tiles)
        items: list[tuple[Any, ...]] = []
        if outline is not None:
            _add_outline(m, outline, crs, tolerance)
            items.append(("line", AREA_OUTLINE["color"], "Area outline"))
        if beats is not None and len(beats):
            title_lv = LEVEL_TITLES.get(beat_level, beat_level.capitalize())
            _add_beats(m, beats, title_lv, shown, tolerance)
            items.append(("line", BEAT_LINE["color"], f"{title_lv} boundaries"))
        done()
        if len(shown.summary):
            grp = folium.FeatureGroup(name=LAYER_NAMES["heat"]).add_to(m)
            HeatLayer(LAYER_NAMES["heat"], shown.summary).add_to(grp)
        hot = _ranked(hs, area_geom, top=top, coverage=coverage, **_analysed(hotspots, crs))
        places = _places(hot, layers, _ward_layer(boundaries))
        items += _add_hotspots(m, hot, shown, places)
        done()
        items += _add_incidents(m, shown, cluster_above, show_incidents)
        done()
    heading = title or f"Crime briefing: {area_name or 'all areas'}"
    cover = _coverage_line(hotspots, hot, area_geom, area_name, backtest)
    TitleBox(heading, _subtitle(shown, len(hot)) + ("\n" + cover if cover else "")).add_to(m)
    Legend("Legend", items).add_to(m)
    add_controls(m)
    log.info(
        "briefing map: %d incidents (%d markers), %d hotspots, %s",
        shown.summary.n_incidents,
        len(shown.summary),
        len(hot),
        shown.period.label,
    )
    return m


@dataclass(frozen=True)
class _Shown:
    """The incidents the map shows: the period, their points and coordinates, and markers."""

    period: Period
    points: gpd.GeoDataFrame
    xy: np.ndarray
    summary: PointSummary


def _shown(
    points: gpd.GeoDataFrame, since: Any, area: shapely.Geometry | None, max_points: int
) -> _Shown:
    """Select the incidents of the period (inside the area) and summarise them as markers."""
    period = select_period(points, since)
    keep = period.mask.copy()
    xy = shapely.get_coordinates(np.asarray(points.geometry.values, dtype=object))
    if area is not None:
        shapely.prepare(area)
        keep &= shapely.intersects_xy(area, xy[:, 0], xy[:, 1])
    shown = points[keep]
    return _Shown(period, shown, xy[keep], summarise_points(shown, max_points=max_points))


def _beats(
    layers: Mapping[str, gpd.GeoDataFrame], area: shapely.Geometry | None
) -> tuple[gpd.GeoDataFrame | None, str]:
    """Return the smallest level's areas (inside the area) and the level's name."""
    beat_level = next(iter(layers), "beat")
    beats = layers.get(beat_level)
    if beats is not None:
        beats = beats[_within(np.asarray(beats.geometry.values, dtype=object), area)]
    return beats, beat_level


def _outline(
    layers: Mapping[str, gpd.GeoDataFrame], area: shapely.Geometry | None
) -> shapely.Geometry | None:
    """Return the area briefed, else the union of the largest level, else None."""
    if area is not None:
        return area
    if layers:
        top = list(layers.values())[-1]
        return shapely.union_all(np.asarray(top.geometry.values, dtype=object))
    return None


def _extent(
    outline: shapely.Geometry | None, xy_shown: np.ndarray, points: gpd.GeoDataFrame
) -> tuple[float, float, float, float]:
    """Return the map's extent: the outline, else the incidents shown, else all incidents."""
    if outline is not None:
        return tuple(outline.bounds)
    if len(xy_shown):
        return (*xy_shown.min(axis=0), *xy_shown.max(axis=0))
    return tuple(points.total_bounds)


def _add_outline(m: folium.Map, outline: shapely.Geometry, crs: CRS, tolerance: float) -> None:
    """Draw the outline of the area (taking no clicks)."""
    g = display_geometry(gpd.GeoSeries([outline], crs=crs), tolerance=tolerance)
    fc = feature_collection(g, pd.DataFrame({"n": [1]}))
    grp = folium.FeatureGroup(name=LAYER_NAMES["outline"]).add_to(m)
    GeoJsonLayer(LAYER_NAMES["outline"], fc, styles=[AREA_OUTLINE], interactive=False).add_to(grp)


def _add_beats(
    m: folium.Map, beats: gpd.GeoDataFrame, title_lv: str, shown: _Shown, tolerance: float
) -> None:
    """Draw the beats with their names and the incidents of the period in each."""
    n_in = _counts_in(np.asarray(beats.geometry.values, dtype=object), shown.xy)
    label = beats["id"].astype("string")
    named = beats["name"].notna() & (beats["name"] != beats["id"])
    label = label.where(~named, label + " " + beats["name"].astype("string"))
    tip = (
        "<b>"
        + escape(title_lv + " ").iloc[0]
        + escape(label)
        + "</b><br>"
        + pd.Series(n_in, index=beats.index).astype(str)
        + " incidents ("
        + escape(shown.period.label).iloc[0]
        + ")"
    )
    fc = feature_collection(
        display_geometry(beats, tolerance=tolerance), pd.DataFrame({"tip": tip})
    )
    grp = folium.FeatureGroup(name=LAYER_NAMES["beats"]).add_to(m)
    GeoJsonLayer(LAYER_NAMES["beats"], fc, styles=[BEAT_LINE], highlight={"weight": 3.5}).add_to(
        grp
    )
    text = beats["name"].astype("string").fillna(beats["id"].astype("string"))
    area_labels(
        LAYER_NAMES["beats"] + " labels",
        beats.geometry,
        text,
        css_class="bp-brief-beat",
        px_per_char=7.0,
    ).add_to(grp)


def _add_hotspots(
    m: folium.Map, hot: gpd.GeoDataFrame, shown: _Shown, places: pd.DataFrame
) -> list[tuple[Any, ...]]:
    """Draw the ranked hotspots, their outlines and numbers above the incident clusters."""
    n_hot = len(hot)
    if not n_hot:
        return []
    rank_class = np.clip(hot["rank"].to_numpy() - 1, 0, len(HOTSPOT) - 1)
    shown_in = _counts_in(np.asarray(hot.geometry.values, dtype=object), shown.xy)
    props = _hotspot_popups(hot, shown_in, shown.period.label, places)
    analysis = hot["params"].iloc[0] if "params" in hot.columns else None
    HotspotTable(hot, places, shown_in, shown.period.label, analysis=_months_of(analysis)).add_to(m)
    props["s"] = rank_class
    geoms = display_geometry(hot, tolerance=_outline_tolerance(analysis), coverage=False)
    fc = feature_collection(geoms, props)
    grp = folium.FeatureGroup(name=LAYER_NAMES["hotspots"]).add_to(m)
    fills = [{"color": c, "weight": 2.5, "fillColor": c, "fillOpacity": _FILL} for c in HOTSPOT]
    GeoJsonLayer(
        LAYER_NAMES["hotspots"], fc, styles=fills, highlight={"weight": 4, "fillOpacity": 0.5}
    ).add_to(grp)
    # the outlines and rank numbers again above the incident clusters, taking no clicks, so
    # that clusters never hide a hotspot and stay clickable
    # (one dark outline for every rank: the pale fills of the lower ranks vanish on their own)
    line = {"color": HOTSPOT_LINE, "weight": 2.0, "fill": False}
    outlines = feature_collection(geoms, props[["s"]])  # lines only: no tooltips again
    GeoJsonLayer(
        LAYER_NAMES["hotspots"] + " outlines", outlines, styles=[line], pane="bp-top-lines"
    ).add_to(grp)
    area_labels(
        LAYER_NAMES["hotspots"] + " labels",
        hot.geometry,
        hot["rank"].astype(str),
        css_class="bp-rank",
        px_per_char=0.0,
        pad_px=30.0,
        # every hotspot is numbered when there are few, else the top ten always are
        always=(hot["rank"].to_numpy() <= 10) | (n_hot <= 20),
        pane="bp-top-labels",
    ).add_to(grp)
    last = len(HOTSPOT) - 1
    items: list[tuple[Any, ...]] = []
    for i in np.unique(rank_class):
        text = f"Hotspot rank {i + 1}" if i < last else f"Hotspot rank {last + 1} or later"
        items.append(("box", HOTSPOT[i], text, _FILL))
    return items


def _add_incidents(
    m: folium.Map, shown: _Shown, cluster_above: int, show_incidents: bool | None
) -> list[tuple[Any, ...]]:
    """Add the incident markers (clustered when many); return the heat and incident legend."""
    layer = IncidentLayer(LAYER_NAMES["incidents"], shown.summary, cluster_above=cluster_above)
    show = not layer.cluster if show_incidents is None else bool(show_incidents)
    grp = folium.FeatureGroup(name=LAYER_NAMES["incidents"], show=show).add_to(m)
    layer.add_to(grp)
    if not len(shown.summary):
        return []
    what = "Incidents (click for details)" if show else "Incidents: tick the layer to show them"
    if layer.cluster:
        what += "; a number groups nearby ones"
    return [
        ("ramp", list(HEAT_GRADIENT.values()), "Heat: incidents, few \u2192 many"),
        ("dot", POINT["fillColor"], what),
    ]


def _params_record(params: Any) -> dict[str, Any]:
    """Return a hotspot table's ``params`` JSON as a dict ({} when absent or unreadable)."""
    try:
        record = json.loads(params) if isinstance(params, str) else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def _outline_tolerance(params: Any) -> float:
    """Metres to simplify hotspot outlines by: three quarters of their cell, 1 to 10 m.

    Outlines drawn from fine cells are staircases; at 3/4 of a cell the steps become the
    diagonals they stand for (half the vertices, the same hotspot), while coarse cells
    (Gi*'s 100 m) are never cut by more than 10 m.
    """
    try:
        cell = float(_params_record(params).get("cell", 0.0))
    except (ValueError, TypeError):
        cell = 0.0
    return float(min(max(1.0, 0.75 * cell), 10.0)) if math.isfinite(cell) else 1.0


def _months_of(params: Any) -> str | None:
    """Return the months a hotspot table's ``params`` JSON says it was found from, or None."""
    record = _params_record(params)
    text = record.get("since") or record.get("months")
    if not isinstance(text, str):
        return None
    return text.split("(")[-1].split(";")[0].strip(" )") if "(" in text else text


def _analysed(hotspots: Any, crs: CRS) -> dict[str, Any]:
    """Return what a Hotspots result tells the ranking: its incidents, minimum, study area."""
    if not isinstance(hotspots, Hotspots):
        return {}
    pts = to_metric(hotspots.points, crs, what="hotspots")
    sa = hotspots.study_area
    return {
        "analysed": shapely.get_coordinates(np.asarray(pts.geometry.values, dtype=object)),
        "fewest": int(hotspots.params.get("min_incidents", 1)),
        "study_m2": None if sa is None else float(sa.area_m2),
    }


def _coverage_line(
    hotspots: Any,
    hot: gpd.GeoDataFrame,
    area: shapely.Geometry | None,
    area_name: str | None,
    backtest: pd.DataFrame | None,
) -> str:
    """Say what share of the study area the hotspots cover, and what a backtest found."""
    if not isinstance(hotspots, Hotspots) or hotspots.study_area is None:
        return ""
    parts = [f"hotspots cover {hotspots.coverage:.2%} of the study area"]
    if area is not None and len(hot):
        share = float(shapely.area(shapely.union_all(hot.geometry.values))) / area.area
        parts[0] += f" ({share:.1%} of {area_name or 'the area briefed'})"
    held = _backtested(backtest, hotspots.method)
    if held:
        parts.append(held)
    return "; ".join(parts)


def _backtested(backtest: pd.DataFrame | None, method: str) -> str:
    """Say what share of the next month's crime the method's hotspots held in a backtest."""
    if backtest is None or "naive_pai" not in backtest.columns:
        return ""
    rows = backtest[(backtest["method"] == method) & (backtest["asked"] == "default")]
    if rows.empty:
        rows = backtest[backtest["method"] == method]
    if rows.empty:
        return ""
    folds = rows["test_start"].nunique()
    return (
        f"backtest: such hotspots held {rows['hit_rate'].mean():.0%} of the next month's crime "
        f"(mean of {folds} month{'s' if folds != 1 else ''}; the busiest 100 m cells of the "
        f"same area {rows['naive_hit_rate'].mean():.0%})"
    )


def _subtitle(shown: _Shown, n_hot: int) -> str:
    """Say the period, how many incidents and hotspots, and how the markers are grouped."""
    n_inc = shown.summary.n_incidents
    sub = [
        f"{shown.period.label} \u00b7 {n_inc:,} incident{'s' if n_inc != 1 else ''} \u00b7 "
        f"{n_hot} hotspot{'s' if n_hot != 1 else ''}"
    ]
    if shown.summary.cell_m is not None:
        sub.append(f"incidents grouped in {shown.summary.cell_m:g} m squares")
    return "\n".join(sub)
