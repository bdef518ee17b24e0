"""The briefing-map recipe shared by ``beatplan map briefing`` and ``beatplan serve``.

Hotspots are found on the period the map shows (and only inside the area briefed), then the map
is drawn: so the command line and the service make the same map from the same data.
"""

from __future__ import annotations

from typing import Any

__all__ = ["briefing", "period_options"]


def period_options(window: str | None) -> dict[str, str]:
    """Return the :func:`~beatplan.hotspots.find_hotspots` option a map period stands for.

    ``"2022-10"`` is one month (``months=``); ``"28D"``, ``"3M"`` ... are back from the end of
    the data (``since=``); None is every incident.

    Examples
    --------
    >>> period_options("2022-10"), period_options("3M"), period_options(None)
    ({'months': '2022-10'}, {'since': '3M'}, {})
    """
    if window is None:
        return {}
    key = "months" if len(window) == 7 and window[4] == "-" else "since"
    return {key: window}


def briefing(
    incidents: Any,
    boundaries: Any,
    *,
    area: Any = None,
    since: str | None = "28D",
    method: str = "gistar",
    title: str | None = None,
    tiles: str | None = None,
) -> tuple[Any, Any]:
    """Find the period's hotspots in the area and draw the briefing map.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or GeoDataFrame
    boundaries : BoundaryPlan, GeoDataFrame, mapping or None
        As :func:`beatplan.maps.briefing_map` takes them.
    area : str or GeoDataFrame, optional
        An id or name (any level), or the area's polygon with a ``name``.
    since : str or None
        ``"28D"``, ``"3M"``, ``"2022-10"``, ``"all"`` or None (all).
    method : str
        A hotspot method, or ``"none"`` for no hotspots.
    title, tiles
        As :func:`beatplan.maps.briefing_map` takes them.

    Returns
    -------
    (folium.Map, Hotspots or None)
    """
    from beatplan.hotspots.find import find_hotspots
    from beatplan.maps import briefing_map
    from beatplan.maps._base import area_geometry, boundary_layers

    window = None if since is None or since.strip().lower() == "all" else since
    crs = incidents.crs
    hs = None
    if method != "none":
        kwargs: dict[str, Any] = {"method": method, **period_options(window)}
        if area is not None and boundaries is not None:
            layers = boundary_layers(boundaries, crs)
            kwargs["area"], _ = area_geometry(area, layers, crs)
        hs = find_hotspots(incidents, **kwargs)
    m = briefing_map(incidents, hs, boundaries, area=area, since=window, title=title, tiles=tiles)
    return m, hs
