r"""Building blocks shared by the maps: display geometry, escaping, compact GeoJSON, layers.

Everything here works on whole columns (shapely 2 array functions, pandas string methods): no
Python loop per point or vertex. The rules every map follows:

- geometry is simplified for display in metres (a coverage with :func:`shapely.coverage_simplify`,
  so shared edges stay shared), then reprojected to EPSG:4326 — this module is the only place that
  does so — and rounded to 5 decimals (about 1 m);
- every value that comes from data is HTML-escaped (:func:`escape`) before it is put in a tooltip,
  popup, label or legend; JSON put into a ``<script>`` has ``<`` written as ``\u003c`` so no value
  can close the script;
- each layer registers itself in ``window.beatplan.layers`` under its display name, which the
  browser tests read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template
from pyproj import CRS

from beatplan.geo.crs import WGS84, working_crs
from beatplan.geo.errors import CRSError, GeometryError

__all__ = [
    "DECIMALS",
    "GeoJsonLayer",
    "JsLayer",
    "LabelLayer",
    "PANES",
    "add_registry",
    "area_labels",
    "display_geometry",
    "escape",
    "feature_collection",
    "js_json",
    "label_min_zoom",
    "pane_js",
    "to_lonlat",
]

log = logging.getLogger("beatplan")

#: Decimal places kept in lon/lat: 1e-5 degree is 1.1 m of latitude (0.7 m of longitude at 52 N).
DECIMALS = 5

#: beatplan's map panes (z-index), none of which takes mouse events: ``bp-heat`` lies under
#: Leaflet's overlay pane (400), so the heat never veils the boundaries and hotspots; the
#: ``bp-top-*`` panes lie above the marker pane (600, where marker clusters are drawn) and below
#: the tooltip pane (650): what must stay visible over clustered incidents, while the clusters and
#: shapes under them stay clickable.
PANES: dict[str, int] = {"bp-heat": 350, "bp-top-lines": 610, "bp-top-labels": 620}

_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;"))


def escape(values: Any) -> pd.Series:
    """HTML-escape every value (``& < > " '``), missing values becoming ``""``.

    Parameters
    ----------
    values : array-like or scalar
        Values from data: names, crime types, location text.

    Returns
    -------
    pandas.Series
        Strings safe to place inside HTML text or a quoted attribute.

    Examples
    --------
    >>> escape(["<b>Fosse</b>", None]).tolist()
    ['&lt;b&gt;Fosse&lt;/b&gt;', '']
    """
    if np.isscalar(values) or values is None:
        values = [values]
    s = pd.Series(values, dtype="object").astype("string").fillna("")
    if isinstance(values, pd.Series):
        s.index = values.index
    for a, b in _ESCAPES:
        s = s.str.replace(a, b, regex=False)
    return s.astype(object)


def js_json(obj: Any) -> str:
    """Serialise ``obj`` as JSON that is safe inside an HTML ``<script>`` element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return _script_safe(text)


def _script_safe(text: str) -> str:
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    if gdf.crs is None:
        raise CRSError(
            "a layer to draw has no CRS; set it with .set_crs(...) (e.g. 'EPSG:27700') first"
        )
    crs = CRS.from_user_input(gdf.crs)
    return crs if crs.is_projected else working_crs(gdf)


def display_geometry(
    geoms: gpd.GeoSeries | gpd.GeoDataFrame,
    *,
    tolerance: float = 5.0,
    coverage: bool | None = None,
    decimals: int = DECIMALS,
) -> np.ndarray:
    """Return geometry ready to draw: simplified in metres, in lon/lat, rounded to ``decimals``.

    Parameters
    ----------
    geoms : GeoSeries or GeoDataFrame
        Polygons, lines or points in any CRS (a geographic one is first projected to the working
        CRS so the tolerance is in metres).
    tolerance : float
        Simplification tolerance in metres (0 keeps every vertex). For a coverage it is Visvalingam–
        Whyatt's (the square root of the triangle areas removed); else Douglas–Peucker's.
    coverage : bool, optional
        Treat the polygons as a coverage and keep shared edges identical
        (:func:`shapely.coverage_simplify`). ``None`` decides: polygons forming a valid coverage are
        simplified as one, others one by one (topology preserved within each).
    decimals : int
        Decimal places of the lon/lat coordinates.

    Returns
    -------
    numpy.ndarray of shapely geometries
        In EPSG:4326, aligned to the input (empty geometries stay empty).
    """
    series = geoms.geometry if isinstance(geoms, gpd.GeoDataFrame) else geoms
    if len(series) == 0:
        return np.array([], dtype=object)
    crs = _metric_crs(series)
    metric = series if CRS.from_user_input(series.crs).equals(crs) else series.to_crs(crs)
    arr = np.asarray(metric.values, dtype=object)
    if tolerance > 0:
        kinds = shapely.get_type_id(arr)
        polygonal = bool(np.all(np.isin(kinds, (3, 6)))) and not bool(np.any(shapely.is_empty(arr)))
        if coverage is None:
            coverage = polygonal and len(arr) > 1 and bool(shapely.coverage_is_valid(arr))
        if coverage:
            if not polygonal:
                raise GeometryError(
                    "coverage simplification needs non-empty polygons only; found other "
                    "geometry types or empty geometries"
                )
            arr = shapely.coverage_simplify(arr, tolerance)
        else:
            arr = shapely.simplify(arr, tolerance, preserve_topology=True)
    lonlat = gpd.GeoSeries(arr, crs=crs).to_crs(WGS84).values
    out = shapely.transform(np.asarray(lonlat, dtype=object), lambda c: np.round(c, decimals))
    return np.asarray(out, dtype=object)


def to_lonlat(points: gpd.GeoSeries | gpd.GeoDataFrame, *, decimals: int = DECIMALS) -> np.ndarray:
    """Return an ``(n, 2)`` array of point coordinates as lat, lon (Leaflet's order), rounded."""
    series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if series.crs is None:
        raise CRSError("points to draw have no CRS; set it with .set_crs(...) first")
    ll = series.to_crs(WGS84) if not CRS.from_user_input(series.crs).equals(WGS84) else series
    xy = shapely.get_coordinates(np.asarray(ll.values, dtype=object))
    if len(xy) != len(series):
        raise GeometryError(
            f"expected one point per row, got {len(xy)} coordinates for {len(series)} rows "
            "(empty or multi-part geometries)"
        )
    return np.round(xy[:, ::-1], decimals)


def label_min_zoom(size_m: Any, lat: Any, text_px: Any) -> np.ndarray:
    """Return the web-map zoom from which a label of ``text_px`` pixels fits its area.

    Parameters
    ----------
    size_m : array-like
        The labelled area's size in metres (e.g. the square root of its area).
    lat : array-like
        Latitude (degrees) of the label.
    text_px : array-like
        The label's width in pixels.

    Returns
    -------
    numpy.ndarray
        Zoom levels (fractional); at and above them the area is at least ``text_px`` wide.
    """
    size = np.maximum(np.asarray(size_m, dtype=float), 1.0)
    mpp0 = 156_543.034 * np.cos(np.radians(np.asarray(lat, dtype=float)))  # metres/pixel, z 0
    return np.log2(mpp0 * np.asarray(text_px, dtype=float) / size)


def feature_collection(geoms: np.ndarray, props: pd.DataFrame) -> str:
    """Return a GeoJSON FeatureCollection (script-safe text) of ``geoms`` with ``props``.

    Parameters
    ----------
    geoms : array of shapely geometries
        In lon/lat; empty ones are left out with their row.
    props : DataFrame
        One row per geometry: the properties (already escaped where they are shown as HTML).

    Returns
    -------
    str
    """
    if len(geoms) != len(props):
        raise ValueError(f"{len(geoms)} geometries but {len(props)} property rows")
    keep = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    g = shapely.to_geojson(geoms[keep])
    p = props.reset_index(drop=True)[keep]
    # one JSON object per line; split at "\n" only: str.splitlines would also split inside a
    # name holding U+2028, U+0085 (a cp1252 "…" read as Latin-1) or another line separator
    text = p.to_json(orient="records", lines=True, force_ascii=False) if len(p) else ""
    prop_lines = text.rstrip("\n").split("\n") if text else []
    feats = ",".join(
        f'{{"type":"Feature","geometry":{gj},"properties":{pj}}}'
        for gj, pj in zip(g.tolist(), prop_lines, strict=True)
    )
    return _script_safe(f'{{"type":"FeatureCollection","features":[{feats}]}}')


class JsLayer(MacroElement):
    """A folium element whose script is built in Python at render time.

    Subclasses implement :meth:`script` returning JavaScript that adds a layer to ``parent`` (the
    JavaScript variable of the enclosing map or feature group).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.rendered_js }}
        {% endmacro %}
        """
    )

    def __init__(self, name: str) -> None:
        super().__init__()
        self._name = "BeatplanLayer"
        self.display_name = name
        self.rendered_js = ""
        self.map_name = ""

    def script(self, parent: str) -> str:  # pragma: no cover - abstract
        """Return the JavaScript that builds the layer and adds it to ``parent``."""
        raise NotImplementedError

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Build the script for the current parent, then render."""
        if self._parent is None:
            raise ValueError(f"layer {self.display_name!r} must be added to a map before rendering")
        top: Any = self._parent
        while getattr(top, "_parent", None) is not None and not isinstance(top, folium.Map):
            top = top._parent
        self.map_name = top.get_name()
        self.rendered_js = self.script(self._parent.get_name())
        super().render(**kwargs)


class GeoJsonLayer(JsLayer):
    """Polygons or lines with per-feature styles, an HTML tooltip and popup (pre-escaped).

    Parameters
    ----------
    name : str
        The layer's name in ``window.beatplan.layers``.
    data : str
        A FeatureCollection from :func:`feature_collection`. Properties used: ``s`` (index into
        ``styles``), ``tip`` and ``pop`` (HTML strings, already escaped), optional.
    styles : sequence of dict
        Leaflet path options; a feature whose ``s`` is missing or out of range takes
        ``styles[0]``.
    highlight : dict, optional
        Path options applied on hover.
    interactive : bool
        Whether the shapes take the mouse (tooltips and popups need it).
    tooltip_options : dict, optional
        Leaflet tooltip options (default: sticky).
    pane : str, optional
        A key of :data:`PANES` to draw the shapes above the markers (then not interactive).
    """

    def __init__(
        self,
        name: str,
        data: str,
        *,
        styles: Sequence[Mapping[str, Any]],
        highlight: Mapping[str, Any] | None = None,
        interactive: bool = True,
        tooltip_options: Mapping[str, Any] | None = None,
        pane: str | None = None,
    ) -> None:
        super().__init__(name)
        self.data = data
        self.styles = [dict(s) for s in styles]
        self.highlight = dict(highlight or {})
        self.pane = _check_pane(pane)
        self.interactive = interactive and pane is None
        self.tooltip_options = {"sticky": True, **(tooltip_options or {})}

    def script(self, parent: str) -> str:
        """Return the layer's JavaScript."""
        pane = _pane_option(self.pane, self.map_name)
        return f"""(function() {{
  var styles = {js_json(self.styles)}, hl = {js_json(self.highlight)};
  var lyr = L.geoJson({self.data}, {{
    interactive: {js_json(self.interactive)},{pane}
    style: function(f) {{ return styles[f.properties.s] || styles[0]; }},
    onEachFeature: function(f, l) {{
      if (f.properties.tip) l.bindTooltip(f.properties.tip, {js_json(self.tooltip_options)});
      if (f.properties.pop) l.bindPopup(f.properties.pop, {{maxWidth: 360}});
      if (Object.keys(hl).length) {{
        l.on('mouseover', function() {{ l.setStyle(hl); }});
        l.on('mouseout', function() {{ lyr.resetStyle(l); }});
      }}
    }}
  }});
  lyr.addTo({parent});
  window.beatplan.register({js_json(self.display_name)}, lyr, 'geojson');
}})();"""


class LabelLayer(JsLayer):
    """Text labels at points (non-interactive DivIcons); the text is escaped here.

    Parameters
    ----------
    name : str
        The layer's name in ``window.beatplan.layers``.
    latlon : ndarray
        ``(n, 2)`` lat, lon.
    text : sequence of str
        Raw label text (escaped by this class).
    css_class : str
        Extra CSS class of the labels.
    min_zoom : array-like of float, optional
        Per label, the zoom from which it shows (see :func:`label_min_zoom`), so that labels
        do not pile up when zoomed out; default: always shown.
    pane : str, optional
        A key of :data:`PANES` to draw the labels above the markers (clusters).
    """

    def __init__(
        self,
        name: str,
        latlon: np.ndarray,
        text: Any,
        *,
        css_class: str = "",
        min_zoom: Any = None,
        pane: str | None = None,
    ) -> None:
        super().__init__(name)
        self.pane = _check_pane(pane)
        self.latlon = np.asarray(latlon, dtype=float).reshape(-1, 2)
        self.text = escape(text).tolist()
        if len(self.text) != len(self.latlon):
            raise ValueError(f"{len(self.latlon)} label positions but {len(self.text)} texts")
        self.css_class = css_class
        mz = np.zeros(len(self.text)) if min_zoom is None else np.asarray(min_zoom, dtype=float)
        self.min_zoom = np.round(np.nan_to_num(mz, nan=0.0), 2)

    def script(self, parent: str) -> str:
        """Return the layer's JavaScript."""
        cls = " ".join(["bp-label", *escape(self.css_class).tolist()]).strip()
        pane = _pane_option(self.pane, self.map_name)
        return f"""(function() {{
  var pos = {js_json(self.latlon.tolist())}, txt = {js_json(self.text)};
  var mz = {js_json(self.min_zoom.tolist())};
  var grp = L.featureGroup(), marks = [], opts = {{interactive: false, keyboard: false,{pane}}};
  for (var i = 0; i < pos.length; i++) {{
    marks.push(L.marker(pos[i], Object.assign({{}}, opts, {{
      icon: L.divIcon({{className: {js_json(cls)}, html: '<span>' + txt[i] + '</span>',
                        iconSize: null}})}})).addTo(grp));
  }}
  grp.addTo({parent});
  var map = {self.map_name};
  function show() {{
    var z = map.getZoom();
    for (var i = 0; i < marks.length; i++) marks[i].setOpacity(z >= mz[i] ? 1 : 0);
  }}
  map.on('zoomend', show);
  grp.on('add', show);
  map.whenReady(show);
  window.beatplan.register({js_json(self.display_name)}, grp, 'labels');
}})();"""


def _check_pane(pane: str | None) -> str | None:
    if pane is not None and pane not in PANES:
        raise ValueError(f"pane={pane!r} is not one of beatplan's panes: {', '.join(PANES)}")
    return pane


def pane_js(pane: str, map_name: str) -> str:
    """Return a JavaScript expression that creates ``pane`` on the map (once) and names it."""
    return f"window.beatplan.pane({map_name}, {js_json(_check_pane(pane))}, {PANES[pane]})"


def _pane_option(pane: str | None, map_name: str) -> str:
    """Return `` pane: ...,`` for a Leaflet options object, creating the pane on first use."""
    if pane is None:
        return ""
    return f" pane: {pane_js(pane, map_name)},"


def area_labels(
    name: str,
    geoms: gpd.GeoSeries,
    text: Any,
    *,
    css_class: str,
    px_per_char: float = 6.5,
    pad_px: float = 8.0,
    always: Any = None,
    pane: str | None = None,
) -> LabelLayer:
    """Label each polygon at a point inside it, shown from the zoom at which the label fits.

    Parameters
    ----------
    name : str
        The label layer's name in ``window.beatplan.layers``.
    geoms : GeoSeries
        The labelled polygons, in a projected CRS (their size decides the zoom).
    text : sequence of str
        Raw label text, one per polygon (escaped by :class:`LabelLayer`).
    css_class : str
        The labels' CSS class (``bp-npa``, ``bp-sector``, ``bp-beat`` ...).
    px_per_char, pad_px : float
        A label's width in pixels is ``px_per_char`` per character plus ``pad_px``.
    always : array-like of bool, optional
        Labels shown at every zoom.
    pane : str, optional
        A key of :data:`PANES` (labels above the markers).

    Returns
    -------
    LabelLayer
    """
    arr = np.asarray(geoms.values, dtype=object)
    pos = to_lonlat(gpd.GeoSeries(shapely.point_on_surface(arr), crs=geoms.crs))
    txt = pd.Series(list(text), dtype="string").fillna("")
    width = txt.str.len().to_numpy(dtype=float) * px_per_char + pad_px
    mz = label_min_zoom(np.sqrt(shapely.area(arr)), pos[:, 0], width)
    if always is not None:
        mz[np.asarray(always, dtype=bool)] = 0.0
    return LabelLayer(name, pos, txt, css_class=css_class, min_zoom=mz, pane=pane)


_REGISTRY_JS = """<script>
window.beatplan = window.beatplan || {
  layers: {}, kinds: {},
  register: function(name, layer, kind) { this.layers[name] = layer; this.kinds[name] = kind; },
  pane: function(map, name, z) {
    if (!map.getPane(name)) {
      var p = map.createPane(name);
      p.style.zIndex = z;
      p.style.pointerEvents = 'none';
    }
    return name;
  }
};
</script>"""


def add_registry(m: Any) -> None:
    """Put the ``window.beatplan`` layer registry in the map's header (idempotent)."""
    m.get_root().header.add_child(Element(_REGISTRY_JS), name="beatplan_registry")
