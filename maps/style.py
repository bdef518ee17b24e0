"""Colours, line styles, the title box, the legend and the print stylesheet shared by the maps.

Colours are ColorBrewer schemes (colour-blind safe where a scheme is sequential). Every text a
control shows is escaped here; colours are checked to be ``#rrggbb`` before they reach HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
from branca.element import Element, MacroElement
from folium.template import Template

from beatplan.maps.layers import escape, js_json

__all__ = [
    "AREA_OUTLINE",
    "PrintFit",
    "BEAT_LINE",
    "CHANGE",
    "HEAT_GRADIENT",
    "HOTSPOT",
    "HOTSPOT_LINE",
    "LEVEL_STYLES",
    "POINT",
    "REVIEW",
    "SEQUENTIAL",
    "Legend",
    "TitleBox",
    "add_page_css",
    "check_colour",
    "class_breaks",
    "class_colours",
    "classify",
    "colour_for",
]

#: ColorBrewer YlOrRd, 7 classes (light -> dark): demand choropleths.
SEQUENTIAL = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026")
#: ColorBrewer Reds, 5 classes (dark first): hotspot ranks, the top one darkest.
HOTSPOT = ("#a50f15", "#de2d26", "#fb6a4a", "#fc9272", "#fcbba1")
#: The outline every hotspot gets above the incident clusters (ColorBrewer Reds' darkest).
HOTSPOT_LINE = "#67000d"

#: The heat layer's colour ramp (Leaflet.heat's own default, set explicitly so the legend matches).
HEAT_GRADIENT: dict[float, str] = {
    0.4: "#0000ff",
    0.6: "#00ffff",
    0.7: "#00ff00",
    0.8: "#ffff00",
    1.0: "#ff0000",
}

AREA_OUTLINE: dict[str, Any] = {
    "color": "#111111",
    "weight": 3.5,
    "fill": False,
    "interactive": False,
}
BEAT_LINE: dict[str, Any] = {
    "color": "#3b3b3b",
    "weight": 1.6,
    "dashArray": "6 4",
    "fill": True,
    "fillOpacity": 0.0,
}
POINT: dict[str, Any] = {
    "color": "#08306b",
    "fillColor": "#2171b5",
    "weight": 1,
    "fillOpacity": 0.8,
}
#: Planning map levels, largest first: line colour and weight.
LEVEL_STYLES: dict[str, dict[str, Any]] = {
    "npa": {"color": "#000000", "weight": 4.0, "fill": False},
    "sector": {"color": "#6a3d9a", "weight": 2.6, "fill": False},
    "beat": {"color": "#1f78b4", "weight": 1.6, "fill": False},
    "ward": {"color": "#777777", "weight": 0.8, "dashArray": "3 3", "fill": False},
}
REVIEW: dict[str, Any] = {
    "color": "#d400d4",
    "weight": 4,
    "fillColor": "#d400d4",
    "fillOpacity": 0.08,
    "dashArray": "7 4",
}
CHANGE: dict[str, dict[str, Any]] = {
    "before": {"color": "#e66101", "weight": 3.0, "dashArray": "8 5", "fill": False},
    "after": {"color": "#5e3c99", "weight": 2.2, "fill": False},
    "moved": {"color": "#d7191c", "weight": 1.5, "fillColor": "#fdae61", "fillOpacity": 0.55},
    "kept": {"color": "#999999", "weight": 0.6, "fillColor": "#ffffff", "fillOpacity": 0.0},
}

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def check_colour(colour: str) -> str:
    """Return ``colour`` if it is ``#rrggbb``, else raise ``ValueError``."""
    if not isinstance(colour, str) or not _HEX.match(colour):
        raise ValueError(f"colour {colour!r} is not of the form '#rrggbb'")
    return colour


def _rgba(colour: str, alpha: float) -> str:
    h = check_colour(colour)
    r, g, b = (int(h[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{min(max(alpha, 0.0), 1.0):.2f})"


def class_breaks(values: Any, k: int = len(SEQUENTIAL)) -> np.ndarray:
    """Return up to ``k + 1`` increasing class breaks of ``values`` (quantiles, duplicates merged).

    Parameters
    ----------
    values : array-like of float
        The values to classify (NaN ignored).
    k : int
        Number of classes wanted.

    Returns
    -------
    numpy.ndarray
        Breaks from the minimum to the maximum.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.array([0.0, 0.0])
    b = np.unique(np.quantile(v, np.linspace(0, 1, k + 1)))
    return b if b.size > 1 else np.array([b[0], b[0]])


def class_colours(k: int, palette: Sequence[str] = SEQUENTIAL) -> list[str]:
    """Return ``k`` colours spread over ``palette`` (light to dark)."""
    return list(palette) if k >= len(palette) else _spread(palette, max(k, 1))


def classify(values: Any, breaks: np.ndarray) -> np.ndarray:
    """Return each value's class 0..k-1 for ``breaks`` of k classes (-1 for NaN)."""
    v = np.asarray(values, dtype=float)
    n = max(len(breaks) - 1, 1)
    idx = np.clip(np.searchsorted(breaks[1:-1], v, side="right"), 0, n - 1)
    return np.where(np.isfinite(v), idx, -1)


def colour_for(values: Any, breaks: np.ndarray, palette: Sequence[str] = SEQUENTIAL) -> np.ndarray:
    """Return the palette colour of each value's class (NaN -> light grey)."""
    idx = classify(values, breaks)
    pal = np.asarray(class_colours(max(len(breaks) - 1, 1), palette) + ["#d9d9d9"], dtype=object)
    return pal[idx]


def _spread(palette: Sequence[str], n: int) -> list[str]:
    pick = np.round(np.linspace(0, len(palette) - 1, n)).astype(int)
    return [palette[i] for i in pick]


_PAGE_CSS = """<style>
.bp-title { position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 800;
  background: rgba(255,255,255,0.92); padding: 6px 14px; border-radius: 4px; text-align: center;
  box-shadow: 0 1px 5px rgba(0,0,0,0.4); pointer-events: none; font: 13px/1.3 Arial, sans-serif;
  max-width: 60%; }
.bp-title h1 { font-size: 17px; margin: 0 0 2px 0; }
.bp-title .bp-sub { font-size: 12px; color: #333; }
.bp-legend { background: rgba(255,255,255,0.92); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.4); font: 12px/1.35 Arial, sans-serif; max-width: 260px; }
.bp-legend h4 { margin: 0 0 4px 0; font-size: 12px; }
.bp-legend i { display: inline-block; width: 16px; height: 11px; margin-right: 6px;
  vertical-align: middle; border: 1px solid #555; }
.bp-legend i.bp-line { height: 0; border: 0; border-top: 3px solid; margin-bottom: 3px; }
.bp-legend i.bp-dot { width: 10px; height: 10px; border-radius: 50%; }
.bp-legend i.bp-ramp { width: 40px; }
.bp-label { background: none; border: none; }
.bp-label span { display: inline-block; transform: translate(-50%, -50%); white-space: nowrap;
  font: bold 11px Arial, sans-serif; color: #111;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff; }
.bp-label.bp-npa span { font-size: 14px; }
.bp-label.bp-sector span { font-size: 12px; color: #4a1f7a; }
.bp-label.bp-beat span { font-size: 10px; color: #0b4f80; font-weight: normal; }
.bp-label.bp-brief-beat span { font-size: 12px; color: #222; }
.bp-label.bp-ward span { font-size: 9px; color: #555; font-weight: normal; }
.bp-label.bp-rank span { font-size: 12px; color: #fff; background: #a50f15; border-radius: 9px;
  padding: 0 5px; text-shadow: none; }
.leaflet-tooltip, .leaflet-popup-content { font: 12px/1.35 Arial, sans-serif; }
.leaflet-popup-content table td { padding: 0 6px 0 0; vertical-align: top; }
@page { size: A4 landscape; margin: 7mm; }
@media print {
  html, body { width: 283mm; height: 196mm; margin: 0; }
  .folium-map { width: 283mm !important; height: 196mm !important; }
  .leaflet-control-zoom, .leaflet-control-fullscreen, .leaflet-control-layers { display: none; }
  .bp-title, .bp-legend { box-shadow: none; border: 1px solid #444; }
  .bp-title h1 { font-size: 16pt; }
  .bp-title .bp-sub { font-size: 10pt; }
  .bp-legend { font-size: 9pt; }
}
</style>"""


def add_page_css(m: Any) -> None:
    """Put beatplan's stylesheet (controls, labels, A4 print layout) in the map's header."""
    m.get_root().header.add_child(Element(_PAGE_CSS), name="beatplan_css")


class TitleBox(MacroElement):
    r"""A title and a subtitle (e.g. the data period) printed over the top centre of the map.

    Parameters
    ----------
    title : str
        Raw text (escaped here).
    subtitle : str
        Raw text (escaped here); lines separated by ``\n``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }};
          var div = L.DomUtil.create('div', 'bp-title', map.getContainer());
          div.innerHTML = {{ this.html_js }};
          L.DomEvent.disableClickPropagation(div);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__()
        self._name = "TitleBox"
        t = escape(title).iloc[0]
        subs = [escape(s).iloc[0] for s in str(subtitle).split("\n") if s]
        html = f"<h1>{t}</h1>" + "".join(f'<div class="bp-sub">{s}</div>' for s in subs)
        self.title = title
        self.html_js = js_json(html)


class Legend(MacroElement):
    """A legend control: a heading and rows of (swatch kind, colour, text).

    Parameters
    ----------
    heading : str
        Raw text (escaped).
    items : sequence of (str, str, str) or (str, str, str, float)
        ``(kind, colour, label[, opacity])`` with kind ``"box"``, ``"line"``, ``"dot"`` or
        ``"ramp"``, colour ``#rrggbb`` (for a ramp, a sequence of them, low to high), the raw
        label (escaped), and for a box the fill opacity the map draws it with (default 1), so
        that the swatch shows the colour as seen on the map.
    position : str
        A Leaflet control corner.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var legend = L.control({position: {{ this.position_js }}});
          legend.onAdd = function() {
            var div = L.DomUtil.create('div', 'bp-legend');
            div.innerHTML = {{ this.html_js }};
            return div;
          };
          legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        heading: str,
        items: Sequence[tuple[Any, ...]],
        *,
        position: str = "bottomright",
    ) -> None:
        super().__init__()
        self._name = "Legend"
        rows = [f"<h4>{escape(heading).iloc[0]}</h4>"] if heading else []
        for kind, colour, label, *alpha in items:
            cls = {"box": "", "line": "bp-line", "dot": "bp-dot", "ramp": "bp-ramp"}[kind]
            if kind == "ramp":
                stops = ",".join(check_colour(c) for c in colour)
                style = f"background:linear-gradient(to right,{stops})"
            elif kind == "line":
                style = f"border-color:{check_colour(colour)}"
            elif alpha:
                style = f"background:{_rgba(colour, float(alpha[0]))};border-color:{colour}"
            else:
                style = f"background:{check_colour(colour)}"
            rows.append(f'<div><i class="{cls}" style="{style}"></i>{escape(label).iloc[0]}</div>')
        self.items = list(items)
        self.html_js = js_json("".join(rows))
        self.position_js = js_json(position)


class PrintFit(MacroElement):
    """Refit the map to its area when printed (A4 landscape), and restore the view after.

    Parameters
    ----------
    bounds : list
        ``[[south, west], [north, east]]`` in degrees.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
          var map = {{ this._parent.get_name() }}, bounds = {{ this.bounds_js }}, saved = null;
          function fit() {
            if (!saved) saved = [map.getCenter(), map.getZoom()];
            map.invalidateSize({pan: false, animate: false});
            map.fitBounds(bounds, {animate: false, paddingTopLeft: [8, 64],
                                   paddingBottomRight: [8, 8]});
          }
          function restore() {
            map.invalidateSize({pan: false, animate: false});
            if (saved) map.setView(saved[0], saved[1], {animate: false});
            saved = null;
          }
          // the print stylesheet applies when the media query changes (after 'beforeprint')
          var mq = window.matchMedia('print');
          var onChange = function(e) { if (e.matches) fit(); else restore(); };
          if (mq.addEventListener) mq.addEventListener('change', onChange);
          else if (mq.addListener) mq.addListener(onChange);
          window.addEventListener('beforeprint', fit);
          window.addEventListener('afterprint', restore);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "PrintFit"
        self.bounds_js = js_json(bounds)
