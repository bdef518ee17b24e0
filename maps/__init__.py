"""beatplan's maps: Folium briefing, planning and change maps saved as one offline HTML file.

``maps`` is the only package that reprojects to EPSG:4326, just before drawing. Every value from
data is HTML-escaped; an offline map inlines Leaflet and its plugins (fetched once with
``python -m maps.fetch_assets``) and needs no network except the optional basemap tiles.
"""

from maps.assets import AssetsNotFoundError, fetch_assets
from maps.briefing import briefing_map
from maps.changes import change_map
from maps.offline import save, to_html
from maps.planning import planning_map

__all__ = [
    "AssetsNotFoundError",
    "briefing_map",
    "change_map",
    "fetch_assets",
    "planning_map",
    "save",
    "to_html",
]
