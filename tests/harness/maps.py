"""Helpers for the map tests and the benchmark: skip reasons and the standard page probe."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from beatplan.maps.assets import FETCH_COMMAND, assets_available
from harness.chromium import find_chromium

__all__ = [
    "PROBE",
    "urls_outside_assets",
    "assets_missing_reason",
    "chicago_district",
    "chromium_missing_reason",
    "in_ci",
    "leicester_city_west",
    "leicestershire_npas",
]


_INLINED = re.compile(r"<(script|style)>/\* [\w.-]+ \(inlined\) \*/.*?</\1>", re.S)


def urls_outside_assets(html: str) -> list[str]:
    """Return every ``http(s)://`` or ``//`` URL in ``html`` outside the inlined library code.

    An offline map with no basemap must have none: not as a link, a script, a stylesheet, an
    image, nor in its own JavaScript.
    """
    rest = _INLINED.sub("", html)
    return re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<>)]*", rest, flags=re.I)


def assets_missing_reason() -> str | None:
    """Return why offline maps cannot be built here, or None when the assets are present."""
    if assets_available():
        return None
    return f"offline map assets not fetched: run `{FETCH_COMMAND}`"


def chromium_missing_reason() -> str | None:
    """Return why browser tests cannot run here, or None when Chromium is installed."""
    if find_chromium():
        return None
    return "Chromium not installed (apt-get install -y chromium, or set $BEATPLAN_CHROMIUM)"


def in_ci() -> bool:
    """Return True under CI, where a missing prerequisite is a failure, not a skip."""
    return bool(os.environ.get("CI"))


def require(*reasons: str | None) -> None:
    """Skip the test for the first reason given (fail under CI, which must not skip silently)."""
    import pytest

    for reason in reasons:
        if reason:
            if in_ci():
                pytest.fail(reason)
            pytest.skip(reason)


#: What the page holds: every registered layer with its kind, feature count and whether it is on
#: the map as opened; the layer control's entries and which are ticked; the title; and whether
#: any injected code ran (``window.__xss``, read after a pause so an ``onerror`` can fire). It
#: then ticks every layer that is off and opens the first popup of every layer, returning its
#: text and HTML, to check escaping in the browser.
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
  }
  // the view as opened is recorded above; now tick every layer that is off, as a user would,
  // and open each layer's first popup
  out.control = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))
                     .map(l => l.textContent.trim());
  out.ticked = Array.from(document.querySelectorAll('.leaflet-control-layers-overlays input'))
                    .map(i => i.checked);
  document.querySelectorAll('.leaflet-control-layers-overlays input')
          .forEach(i => { if (!i.checked) i.click(); });
  for (const [name, lyr] of Object.entries(bp.layers)) {
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
  out.panes = {};  // z-index of every map pane, and what each holds
  for (const [k, p] of Object.entries(map ? map._panes : {})) {
    out.panes[k] = {z: Number(getComputedStyle(p).zIndex) || 0,
                    ranks: p.querySelectorAll('.bp-rank').length,
                    paths: p.querySelectorAll('path').length,
                    canvases: p.querySelectorAll('canvas').length,
                    strokes: [...new Set(Array.from(p.querySelectorAll('path'))
                                             .map(x => x.getAttribute('stroke')))]};
  }
  await new Promise(r => setTimeout(r, 200));  // let any injected onerror handler fire
  out.xss = window.__xss || 0;
  out.images = Array.from(document.images).map(i => i.src.slice(0, 40));
  out.resources = performance.getEntriesByType('resource').map(e => e.name);
  return out;
})()
"""


# ---- the real-data maps the tests and the benchmark build (../shared/data) -------------------

#: Leicester City West, a neighbourhood policing area made for the tests from WD19 wards.
CITY_WEST_WD19 = {
    "E05010460": "Beaumont Leys",
    "E05010458": "Abbey",
    "E05010466": "Fosse",
    "E05010477": "Western",
    "E05010462": "Braunstone Park & Rowley Fields",
    "E05010476": "Westcotes",
}
#: Leicestershire's nine NPAs after March 2020, over the WD13 wards: districts, and the city
#: split in four by ward (our own split; no published NPA boundary file exists).
NPA_BY_LAD = {
    "E06000017": "Melton and Rutland",
    "E07000133": "Melton and Rutland",
    "E07000131": "Harborough, Oadby and Wigston",
    "E07000135": "Harborough, Oadby and Wigston",
    "E07000129": "Hinckley, Bosworth and Blaby",
    "E07000132": "Hinckley, Bosworth and Blaby",
    "E07000130": "Charnwood",
    "E07000134": "North West Leicestershire",
}
CITY_NPA_WD13 = {
    "City West": ["Beaumont Leys", "Abbey", "Fosse", "New Parks", "Western Park",
                  "Braunstone Park and Rowley Fields", "Westcotes"],
    "City Central": ["Castle", "Latimer", "Belgrave", "Spinney Hills"],
    "City East": ["Rushey Mead", "Humberstone and Hamilton", "Thurncourt", "Charnwood",
                  "Coleman", "Evington"],
    "City South": ["Aylestone", "Eyres Monsell", "Freemen", "Knighton", "Stoneygate"],
}  # fmt: skip


def leicester_city_west(root: Any) -> tuple[Any, Any, dict[str, Any]]:
    """Return (October 2022 incidents, force-wide Gi* hotspots, layers) for City West."""
    import geopandas as gpd

    from beatplan.geo import read_boundaries, read_incidents
    from beatplan.hotspots.find import find_hotspots

    root = Path(root)
    inc = read_incidents(root / "leicestershire_street_crime" / "2022-10-leicestershire-street.csv")
    wards = read_boundaries(
        sorted(
            (root / "leicestershire_boundaries" / "wd19_leicester_city_wards").glob("*.geojsonl")
        )
    )
    npa = wards.assign(npa=np.where(wards["id"].isin(list(CITY_WEST_WD19)), "CW", "CX"))
    npa_layer = npa.dissolve("npa", as_index=False)[["npa", "geometry"]]
    npa_layer = gpd.GeoDataFrame(
        {"id": npa_layer["npa"],
         "name": npa_layer["npa"].map({"CW": "City West", "CX": "Rest of city"})},
        geometry=npa_layer.geometry.values, crs=wards.crs,
    )  # fmt: skip
    hs = find_hotspots(inc, method="gistar", since="28D")  # force-wide, as an analyst runs it
    return inc, hs, {"beat": wards, "npa": npa_layer}


def leicestershire_npas(root: Any) -> tuple[Any, Any]:
    """Return (the 171 WD13 wards with an ``npa`` column, the year's incidents)."""
    import pandas as pd

    from beatplan.geo import read_boundaries, read_incidents

    root = Path(root)
    folder = root / "leicestershire_boundaries" / "wd13_wards_by_lad"
    parts = []
    for f in sorted(folder.glob("*.json")):
        w = read_boundaries(f)
        lad = f.stem
        if lad == "E06000016":
            by_name = {n: k for k, names in CITY_NPA_WD13.items() for n in names}
            w["npa"] = w["name"].map(by_name)
        else:
            w["npa"] = NPA_BY_LAD[lad]
        parts.append(w[["id", "name", "npa", "geometry"]])
    wards = pd.concat(parts, ignore_index=True)
    inc = read_incidents(root / "leicestershire_street_crime")
    return wards, inc


def chicago_district(root: Any) -> tuple[Any, Any, dict[str, Any]]:
    """Return (two weeks of Nov 2023 incidents, Gi* hotspots of district 11, layers)."""
    import geopandas as gpd

    from beatplan.geo import read_incidents
    from beatplan.hotspots.find import find_hotspots

    root = Path(root) / "chicago"
    inc = read_incidents(root / "crimes_2023-11-06_to_2023-11-19.parquet")
    beats = gpd.read_file(root / "police_beats_current.shp").set_crs(4326, allow_override=True)
    beats = beats.dissolve("beat_num", as_index=False)
    beats = gpd.GeoDataFrame(
        {"id": beats["beat_num"], "name": "Beat " + beats["beat_num"],
         "district": beats["district"]},
        geometry=beats.geometry.values, crs=4326,
    ).to_crs(inc.crs)  # fmt: skip
    dist = gpd.read_file(root / "police_districts.geojson").dissolve("DIST_NUM", as_index=False)
    dist = gpd.GeoDataFrame(
        {"id": dist["DIST_NUM"], "name": "District " + dist["DIST_NUM"]},
        geometry=dist.geometry.values, crs=4326,
    ).to_crs(inc.crs)  # fmt: skip
    area = dist.loc[dist["id"] == "11", "geometry"].iloc[0]
    hs = find_hotspots(inc, method="gistar", area=area)
    return inc, hs, {"beat": beats, "district": dist}
