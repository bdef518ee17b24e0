"""Briefing map speed and size: build for one month of a force, open in Chromium until drawn.

    python bench/bench_maps.py [DATA_ROOT]

Data: Leicestershire's police.uk year (../shared/data). Reference, in the same run: folium's own
way of drawing the same month (a MarkerCluster of one folium.CircleMarker per incident with a
GeoJsonPopup-free popup, plus folium.GeoJson wards), written with folium's ``save``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import folium
import numpy as np
from folium.plugins import HeatMap, MarkerCluster

from beatplan.geo import read_boundaries, read_incidents
from beatplan.hotspots.find import find_hotspots
from beatplan.maps import briefing_map, save

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the browser harness
from harness.chromium import find_chromium, open_page  # noqa: E402
from harness.maps import PROBE  # noqa: E402

#: Tick every layer that opens switched off; return the milliseconds until two frames are drawn.
_TICK_ALL = """(async () => {
  const t = performance.now();
  document.querySelectorAll('.leaflet-control-layers-overlays input')
          .forEach(i => { if (!i.checked) i.click(); });
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return performance.now() - t;
})()"""


def _root() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    return Path(__file__).resolve().parents[2] / "shared" / "data"


def _timed(f, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
    t = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t


def _plain_folium(points, wards, path: Path) -> None:  # noqa: ANN001
    """The reference: what a plain folium script does with the same month."""
    ll = points.to_crs(4326)
    m = folium.Map(tiles=None, control_scale=True)
    folium.GeoJson(wards.to_crs(4326)[["name", "geometry"]], name="Wards").add_to(m)
    xy = np.column_stack([ll.geometry.y, ll.geometry.x])
    HeatMap(xy.tolist(), name="Heat").add_to(m)
    mc = MarkerCluster(name="Incidents").add_to(m)
    for (lat, lon), cat, loc in zip(xy, ll["category"], ll["location"], strict=True):
        folium.CircleMarker([lat, lon], radius=4, popup=f"{cat}<br>{loc}").add_to(mc)
    folium.LayerControl().add_to(m)
    m.save(str(path))


def main() -> None:
    root = _root()
    inc, t_read = _timed(read_incidents, root / "leicestershire_street_crime")
    wards = read_boundaries(root / "leicestershire_boundaries" / "wd13_wards_by_lad")
    print(f"read {len(inc.points):,} incidents and {len(wards)} wards in {t_read:.2f} s")
    out = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    chromium = find_chromium()
    rows = []
    for label, since in (("one month (Oct 2022)", "28D"), ("the year", None)):
        hs, t_hot = _timed(find_hotspots, inc, method="gistar", since=since)
        m, t_build = _timed(briefing_map, inc, hs, wards, since=since, tiles=None)
        path, t_save = _timed(save, m, out / f"briefing_{since}.html", overwrite=True)
        size = path.stat().st_size / 1e6
        line = (
            f"{label}: hotspots {t_hot:.2f} s, build {t_build:.2f} s, save (inline) {t_save:.2f} s,"
            f" {size:.2f} MB"
        )
        if chromium:
            res = open_page(path, probe=PROBE)
            assert not res.errors, res.errors
            line += f"; Chromium: load {res.load_s:.2f} s, drawn {res.drawn_s:.2f} s"
            # clustered incidents open switched off: time ticking them on, as a user would
            tick = open_page(path, probe=_TICK_ALL).value
            line += f", ticking the layers that open off {tick / 1000:.2f} s"
        print(line)
        rows.append((since, t_build + t_save, size))
    month = inc.points[inc.points["month"] == inc.points["month"].max()]
    _, t_ref = _timed(_plain_folium, month, wards, out / "plain_folium.html")
    ref_size = (out / "plain_folium.html").stat().st_size / 1e6
    line = (
        f"reference (plain folium, one month, {len(month):,} markers): build+save {t_ref:.2f} s, "
    )
    line += f"{ref_size:.2f} MB (online: Leaflet etc. from CDNs)"
    if chromium:
        res = open_page(out / "plain_folium.html", probe="1")
        line += f"; Chromium (no network): load {res.load_s:.2f} s, drawn {res.drawn_s:.2f} s, "
        line += f"{len(res.errors)} errors"
    print(line)
    t_month, size_month = rows[0][1], rows[0][2]
    print(
        f"ratio (plain folium / beatplan, one month): time {t_ref / t_month:.1f}x, "
        f"size {ref_size / size_month:.1f}x"
    )


if __name__ == "__main__":
    main()
