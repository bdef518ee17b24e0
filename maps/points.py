"""Incident points for display: counted per location, aggregated to a grid above a budget.

police.uk snaps every incident to an anonymous map point, so one month of a force (10k incidents)
has about 4k distinct locations, and a year (110k) about 18k. Each distinct location becomes one
marker that knows its count, its location text, its top crime types and its months. When there are
more distinct locations than ``max_points`` the points are binned to the smallest square grid
(25 m, 50 m, 100 m ...) that fits the budget, and each cell becomes one marker. Everything is
computed with numpy on whole arrays.

The markers are drawn by :class:`IncidentLayer` from compact arrays and string tables (each string
escaped once in Python); popups are put together in the browser only when opened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.elements import JSCSSMixin
from folium.plugins import HeatMap, MarkerCluster
from pyproj import CRS

from beatplan.geo.crs import working_crs
from beatplan.geo.errors import CRSError, GeometryError
from beatplan.maps.layers import DECIMALS, JsLayer, escape, js_json, pane_js
from beatplan.maps.style import HEAT_GRADIENT, POINT

__all__ = ["HeatLayer", "IncidentLayer", "PointSummary", "summarise_points"]

_GRID_START_M = 25.0


@dataclass
class PointSummary:
    """Incidents counted per marker (a distinct location, or a grid cell above the budget)."""

    #: ``(n, 2)`` lat, lon of each marker, rounded to ~1 m.
    latlon: np.ndarray
    #: Incidents per marker.
    count: np.ndarray
    #: Index into ``places`` of each marker's location text, -1 when none.
    place: np.ndarray
    #: Escaped location texts.
    places: list[str]
    #: ``(n, top)`` indices into ``types`` of the marker's commonest crime types (-1 pad) ...
    top_type: np.ndarray
    #: ... and their counts.
    top_count: np.ndarray
    #: Number of distinct crime types at the marker.
    n_types: np.ndarray
    #: Escaped crime type names.
    types: list[str]
    #: Index into ``months`` of the first and last month at the marker (-1 when unknown).
    month_first: np.ndarray
    month_last: np.ndarray
    #: Month labels such as ``"Oct 2022"``.
    months: list[str]
    #: Distinct locations in each marker (1 unless aggregated).
    n_locations: np.ndarray
    #: Grid cell size in metres when aggregated, else None.
    cell_m: float | None = None
    #: Incidents summarised (== count.sum()).
    n_incidents: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.count)


def _group_first(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (unique keys' inverse index, index of each group's first row)."""
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    return inv.ravel(), first


def summarise_points(
    points: gpd.GeoDataFrame,
    *,
    max_points: int = 20_000,
    top: int = 3,
) -> PointSummary:
    """Count incidents per distinct location, or per grid cell when there are too many locations.

    Parameters
    ----------
    points : GeoDataFrame
        Incident points with a CRS; ``category``, ``month`` and ``location`` columns are used when
        present.
    max_points : int
        The most markers to draw; above it the points are binned to a square grid (25 m, doubled
        until the cells fit).
    top : int
        How many crime types each marker lists.

    Returns
    -------
    PointSummary
    """
    if max_points < 1:
        raise ValueError(f"max_points={max_points!r} must be at least 1")
    if points.crs is None:
        raise CRSError("incident points have no CRS; set it with .set_crs(...) first")
    n = len(points)
    geom = np.asarray(points.geometry.values, dtype=object)
    if n and not bool(np.all(shapely.get_type_id(geom) == 0)):
        raise GeometryError("incident geometry must be points only (no empty or multi-part)")
    crs = CRS.from_user_input(points.crs)
    metric = points.geometry if crs.is_projected else points.geometry.to_crs(working_crs(points))
    xy = shapely.get_coordinates(np.asarray(metric.values, dtype=object)).reshape(-1, 2)
    loc_inv, loc_first = (
        _group_first(xy[:, 0] + 1j * xy[:, 1]) if n else (np.zeros(0, int), np.zeros(0, int))
    )
    inv, first, cell_m = _markers(xy, loc_inv, loc_first, max_points)
    m = len(first)
    count = np.bincount(inv, minlength=m)
    pos, n_locations = _positions(xy, inv, first, loc_inv, len(loc_first), count, cell_m)
    cat_names, top_type, top_count, n_types = _top_types(points, inv, m, top)
    mf, ml, months = _months(points, inv, m)
    place, places = _places(points, first, m, cell_m)
    pts = gpd.GeoSeries(shapely.points(pos), crs=metric.crs).to_crs(4326)
    ll = shapely.get_coordinates(np.asarray(pts.values, dtype=object)).reshape(-1, 2)
    return PointSummary(
        latlon=np.round(ll[:, ::-1], DECIMALS),
        count=count,
        place=place,
        places=places,
        top_type=top_type,
        top_count=top_count,
        n_types=n_types,
        types=escape(pd.Series(cat_names, dtype="string")).tolist(),
        month_first=mf,
        month_last=ml,
        months=months,
        n_locations=n_locations,
        cell_m=cell_m,
        n_incidents=int(count.sum()),
        info={"distinct_locations": int(len(loc_first)), "markers": int(m)},
    )


def _markers(
    xy: np.ndarray, loc_inv: np.ndarray, loc_first: np.ndarray, max_points: int
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """Group the points into markers: one per location, or per grid cell when too many.

    The cell starts at 25 m and doubles until the cells fit in ``max_points``; returns each
    point's marker, each marker's first point and the cell size (None: one per location).
    """
    if len(loc_first) <= max_points:
        return loc_inv, loc_first, None
    cell = _GRID_START_M
    while True:
        ij = np.floor(xy / cell).astype(np.int64)
        inv, first = _group_first(ij[:, 0] * 4_000_003 + ij[:, 1])
        if len(first) <= max_points:
            return inv, first, cell
        cell *= 2


def _positions(
    xy: np.ndarray,
    inv: np.ndarray,
    first: np.ndarray,
    loc_inv: np.ndarray,
    n_loc: int,
    count: np.ndarray,
    cell_m: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Place each marker (in metres) and count the distinct locations it stands for."""
    m = len(first)
    if cell_m is None:
        pos = xy[first] if m else np.zeros((0, 2))
        return pos, np.ones(m, dtype=np.int64)
    # the count-weighted centre of the cell's incidents, so the marker sits on the data
    pos = np.column_stack(
        [np.bincount(inv, xy[:, 0], m) / count, np.bincount(inv, xy[:, 1], m) / count]
    )
    pair = np.unique(inv.astype(np.int64) * (n_loc + 1) + loc_inv)
    return pos, np.bincount(pair // (n_loc + 1), minlength=m)


def _top_types(
    points: gpd.GeoDataFrame, inv: np.ndarray, m: int, top: int
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Count each marker's crime types; keep the commonest ``top`` (type code and count)."""
    cat = (
        points["category"] if "category" in points.columns else pd.Series(pd.NA, index=points.index)
    )
    cat_codes, cat_names = pd.factorize(cat.astype("string").fillna("Unknown type"), sort=True)
    n_cat = max(len(cat_names), 1)
    pair_key = inv.astype(np.int64) * n_cat + cat_codes
    pk, pc = np.unique(pair_key, return_counts=True)
    pm, pt = pk // n_cat, pk % n_cat
    order = np.lexsort((pt, -pc, pm))
    pm, pt, pc = pm[order], pt[order], pc[order]
    starts = np.searchsorted(pm, np.arange(m))
    rank = np.arange(len(pm)) - starts[pm] if len(pm) else np.zeros(0, int)
    keep = rank < top
    top_type = np.full((m, top), -1, dtype=np.int64)
    top_count = np.zeros((m, top), dtype=np.int64)
    top_type[pm[keep], rank[keep]] = pt[keep]
    top_count[pm[keep], rank[keep]] = pc[keep]
    return cat_names, top_type, top_count, np.bincount(pm, minlength=m)


def _months(
    points: gpd.GeoDataFrame, inv: np.ndarray, m: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return each marker's first and last month (codes into the month labels, -1 none)."""
    if "month" not in points.columns or not len(points):
        none = np.full(m, -1, dtype=np.int64)
        return none, none, []
    month = pd.to_datetime(points["month"]).dt.to_period("M")
    codes, uniq = pd.factorize(month, sort=True)
    grp = pd.Series(np.where(codes < 0, np.nan, codes)).groupby(inv)
    mf = grp.min().reindex(range(m)).fillna(-1).to_numpy(dtype=np.int64)
    ml = grp.max().reindex(range(m)).fillna(-1).to_numpy(dtype=np.int64)
    return mf, ml, [p.strftime("%b %Y") for p in uniq]  # one per distinct month, not per point


def _places(
    points: gpd.GeoDataFrame, first: np.ndarray, m: int, cell_m: float | None
) -> tuple[np.ndarray, list[str]]:
    """Return each marker's location text (distinct locations only; a cell shows none)."""
    if cell_m is not None or "location" not in points.columns or not len(points):
        return np.full(m, -1, dtype=np.int64), []
    loc_text = points["location"].astype("string").to_numpy()[first]
    p_codes, p_names = pd.factorize(pd.Series(loc_text, dtype="string"), sort=False)
    return p_codes.astype(np.int64), escape(pd.Series(p_names, dtype="string")).tolist()


def _fmt(a: np.ndarray) -> str:
    return js_json(np.asarray(a).tolist())


class IncidentLayer(JSCSSMixin, JsLayer):
    """Incident markers (one per :class:`PointSummary` row), clustered above ``cluster_above``.

    Each marker is a circle sized by its count; hovering shows the count and location, clicking
    opens a popup with the count, location text, months and commonest crime types. Cluster icons
    show the number of incidents (not of markers) inside.
    """

    default_js = MarkerCluster.default_js
    default_css = MarkerCluster.default_css

    def __init__(self, name: str, summary: PointSummary, *, cluster_above: int = 500) -> None:
        super().__init__(name)
        self.summary = summary
        self.cluster = len(summary) > cluster_above
        if not self.cluster:  # no marker-cluster assets for a plain layer
            self.default_js = []
            self.default_css = []

    def script(self, parent: str) -> str:
        """Return the layer's JavaScript."""
        s = self.summary
        lat = s.latlon[:, 0] if len(s) else np.zeros(0)
        lon = s.latlon[:, 1] if len(s) else np.zeros(0)
        cell = "null" if s.cell_m is None else js_json(s.cell_m)
        return f"""(function() {{
  var D = {{lat: {_fmt(lat)}, lon: {_fmt(lon)}, n: {_fmt(s.count)}, place: {_fmt(s.place)},
    tt: {_fmt(s.top_type)}, tc: {_fmt(s.top_count)}, nt: {_fmt(s.n_types)},
    m0: {_fmt(s.month_first)}, m1: {_fmt(s.month_last)}, nl: {_fmt(s.n_locations)},
    places: {js_json(s.places)}, types: {js_json(s.types)}, months: {js_json(s.months)},
    cell: {cell}}};
  var style = {js_json(POINT)};
  function head(i) {{
    var h = '<b>' + D.n[i] + (D.n[i] === 1 ? ' incident' : ' incidents') + '</b>';
    if (D.place[i] >= 0) h += '<br>' + D.places[D.place[i]];
    else if (D.cell !== null) h += ' at ' + D.nl[i] + ' location' + (D.nl[i] === 1 ? '' : 's') +
        ' in this ' + D.cell + '&nbsp;m square';
    return h;
  }}
  function popup(i) {{
    var h = head(i);
    if (D.m0[i] >= 0) h += '<br>' + D.months[D.m0[i]] +
        (D.m1[i] !== D.m0[i] ? ' &ndash; ' + D.months[D.m1[i]] : '');
    h += '<table>';
    for (var j = 0; j < D.tt[i].length; j++) {{
      if (D.tt[i][j] < 0) break;
      h += '<tr><td>' + D.types[D.tt[i][j]] + '</td><td>' + D.tc[i][j] + '</td></tr>';
    }}
    h += '</table>';
    var more = D.nt[i] - D.tt[i].filter(function(t) {{ return t >= 0; }}).length;
    if (more > 0) h += '+ ' + more + ' more type' + (more === 1 ? '' : 's');
    return h;
  }}
  var markers = new Array(D.n.length);
  for (var i = 0; i < D.n.length; i++) {{
    var mk = L.circleMarker([D.lat[i], D.lon[i]], Object.assign({{}}, style,
        {{radius: Math.min(3 + 1.6 * Math.sqrt(D.n[i]), 14), n: D.n[i], idx: i}}));
    mk.bindTooltip(function(l) {{ return head(l.options.idx); }});
    mk.bindPopup(function(l) {{ return popup(l.options.idx); }}, {{maxWidth: 320}});
    markers[i] = mk;
  }}
  var lyr;
  if ({js_json(self.cluster)}) {{
    lyr = L.markerClusterGroup({{chunkedLoading: true, showCoverageOnHover: false,
      maxClusterRadius: 45, disableClusteringAtZoom: 17, spiderfyOnMaxZoom: false,
      iconCreateFunction: function(c) {{
        var tot = 0; c.getAllChildMarkers().forEach(function(m) {{ tot += m.options.n; }});
        var size = tot < 50 ? 'small' : (tot < 500 ? 'medium' : 'large');
        return L.divIcon({{html: '<div><span>' + tot + '</span></div>',
          className: 'marker-cluster marker-cluster-' + size, iconSize: L.point(40, 40)}});
      }}}});
    lyr.addLayers(markers);
  }} else {{
    lyr = L.featureGroup(markers);
  }}
  lyr.addTo({parent});
  window.beatplan.register({js_json(self.display_name)}, lyr,
                           {js_json("cluster" if self.cluster else "points")});
}})();"""


class HeatLayer(JSCSSMixin, JsLayer):
    """A heat layer of incident counts per marker (Leaflet.heat, with folium's weights fix).

    It is drawn in the ``bp-heat`` pane, under the boundaries and hotspots.
    """

    default_js = HeatMap.default_js
    default_css = HeatMap.default_css

    def __init__(
        self, name: str, summary: PointSummary, *, radius: int = 16, blur: int = 20
    ) -> None:
        super().__init__(name)
        self.summary = summary
        self.options = {
            "radius": radius,
            "blur": blur,
            "minOpacity": 0.25,
            "maxZoom": 16,
            "max": float(np.quantile(summary.count, 0.98)) if len(summary) else 1.0,
            "gradient": {str(k): v for k, v in HEAT_GRADIENT.items()},
        }

    def script(self, parent: str) -> str:
        """Return the layer's JavaScript."""
        s = self.summary
        data = np.column_stack([s.latlon, s.count]) if len(s) else np.zeros((0, 3))
        rows = js_json(data.tolist())
        return f"""(function() {{
  var opts = {js_json(self.options)};
  opts.pane = {pane_js("bp-heat", self.map_name)};
  var lyr = L.heatLayer({rows}, opts);
  lyr.addTo({parent});
  window.beatplan.register({js_json(self.display_name)}, lyr, 'heat');
}})();"""
