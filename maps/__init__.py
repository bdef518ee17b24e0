"""beatplan's maps: Folium briefing, planning and change maps saved as one offline HTML file.

``maps`` is the only package that reprojects to EPSG:4326, just before drawing. Every value from
data is HTML-escaped; an offline map inlines Leaflet and its plugins (fetched once with
``python -m beatplan.maps.fetch_assets``) and needs no network except the optional basemap tiles.
"""

from beatplan.maps.assets import AssetsNotFoundError, fetch_assets
from beatplan.maps.briefing import briefing_map
from beatplan.maps.changes import change_map
from beatplan.maps.offline import save, to_html
from beatplan.maps.planning import planning_map

__all__ = [
    "AssetsNotFoundError",
    "briefing_map",
    "change_map",
    "fetch_assets",
    "planning_map",
    "save",
    "to_html",
]
