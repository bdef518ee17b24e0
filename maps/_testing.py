"""Helpers for the map tests and the benchmark: skip reasons and the standard page probe."""

from __future__ import annotations

import os

from maps._chromium import find_chromium
from maps.assets import FETCH_COMMAND, assets_available

__all__ = ["PROBE", "assets_missing_reason", "chromium_missing_reason", "in_ci"]


def assets_missing_reason() -> str | None:
    """Return why offline maps cannot be built here, or None when the assets are present."""
    if assets_available():
        return None
    return f"offline map assets not fetched: run `{FETCH_COMMAND}` (needs npm)"


def chromium_missing_reason() -> str | None:
    """Return why browser tests cannot run here, or None when Chromium is installed."""
    if find_chromium():
        return None
    return "Chromium not installed (apt-get install -y chromium, or set $BEATPLAN_CHROMIUM)"


def in_ci() -> bool:
    """Return True under CI, where a missing prerequisite is a failure, not a skip."""
    return bool(os.environ.get("CI"))


#: What the page holds: every registered layer with its kind, feature count and visibility; the
#: controls; the title; and whether any injected code ran (``window.__xss``). It also opens the
#: first popup of every layer and returns its text and HTML, to check escaping in the browser.
PROBE = r"""
(async () => {
  const bp = window.beatplan || {layers: {}, kinds: {}};
  const maps = Object.keys(window).filter(k => { try { return window[k] instanceof L.Map; }
                                                   catch (e) { return false; } })
                                  .map(k => window[k]);
  const map = maps[0];
  const out = {maps: maps.length, layers: {}, popups: {}, tooltips: {}};
  const count = (lyr, kind) => {
    if (kind === 'heat') return (lyr._latlngs || []).length;
    if (lyr.getLayers) return lyr.getLayers().length;
    return 1;
  };
  const firstLeaf = (lyr) => {
    if (lyr.getLayers) { const ls = lyr.getLayers(); return ls.length ? firstLeaf(ls[0]) : null; }
    return lyr;
  };
  for (const [name, lyr] of Object.entries(bp.layers)) {
    out.layers[name] = {kind: bp.kinds[name], count: count(lyr, bp.kinds[name]),
                        onMap: map ? map.hasLayer(lyr) : false};
    if (bp.kinds[name] === 'labels') {
      out.layers[name].visible = lyr.getLayers().filter(m => m.options.opacity !== 0).length;
    }
    const leaf = bp.kinds[name] === 'heat' ? null : firstLeaf(lyr);
    if (leaf && leaf.getPopup && leaf.getPopup()) {
      const p = leaf.getPopup();
      if (map && !map.hasLayer(leaf) && lyr.zoomToShowLayer) {  // inside a cluster: open it
        await Promise.race([new Promise(r => lyr.zoomToShowLayer(leaf, r)),
                            new Promise(r => setTimeout(r, 3000))]);
      }
      leaf.openPopup(leaf.getLatLng ? leaf.getLatLng() : leaf.getBounds().getCenter());
      const el = p.getElement ? p.getElement() : null;
      const c = el ? el.querySelector('.leaflet-popup-content') : null;
      out.popups[name] = c ? {text: c.textContent, html: c.innerHTML,
                              scripts: c.querySelectorAll('script').length,
                              imgs: c.querySelectorAll('img').length} : null;
      leaf.closePopup();
    }
    if (leaf && leaf.getTooltip && leaf.getTooltip()) {
      const t = leaf.getTooltip();
      const content = t._content;
      const html = typeof content === 'function' ? content(leaf) : content;
      const div = document.createElement('div'); div.innerHTML = String(html);
      out.tooltips[name] = {text: div.textContent, scripts: div.querySelectorAll('script').length,
                            imgs: div.querySelectorAll('img').length};
    }
  }
  out.control = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
                     .map(l => l.textContent.trim());
  out.scale = !!document.querySelector('.leaflet-control-scale');
  out.fullscreen = !!document.querySelector('.leaflet-control-zoom-fullscreen, .fullscreen-icon');
  out.legend = Array.from(document.querySelectorAll('.bp-legend')).map(l => l.textContent);
  const title = document.querySelector('.bp-title');
  out.title = title ? title.textContent : null;
  out.zoom = map ? map.getZoom() : null;
  const c = map ? map.getCenter() : null;
  out.center = c ? [c.lat, c.lng] : null;
  out.drawn = document.querySelectorAll('.leaflet-overlay-pane path, .leaflet-overlay-pane canvas')
                      .length;
  out.markers = document.querySelectorAll('.leaflet-marker-icon').length;
  out.xss = window.__xss || 0;
  out.images = Array.from(document.images).map(i => i.src.slice(0, 40));
  out.resources = performance.getEntriesByType('resource').map(e => e.name);
  return out;
})()
"""
