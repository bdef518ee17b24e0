"""The briefing-map recipe shared by ``beatplan map briefing`` and ``beatplan serve``.

Hotspots are found force-wide from a period back from the end of the data (``hotspots_from``,
3 months by default), with the default method unless one is named; the map clips them to the
area briefed, ranks them there and shows the incidents of the period asked for. So the command
line and the service make the same map from the same data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Briefing", "briefing", "period_options"]

#: The period hotspots are found from, back from the end of the data.
HOTSPOTS_FROM = "3M"


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


@dataclass(frozen=True)
class Briefing:
    """A briefing map and what it was drawn from.

    Attributes
    ----------
    map : folium.Map
    hotspots : Hotspots or None
        The force-wide hotspots (None for ``method="none"``).
    backtest : pandas.DataFrame or None
        The backtest of the hotspots' method on the same data, when one was run and could be.
    notes : list of str
        What was found, for a command to print.
    """

    map: Any
    hotspots: Any = None
    backtest: Any = None
    notes: tuple[str, ...] = ()


def briefing(
    incidents: Any,
    boundaries: Any,
    *,
    area: Any = None,
    since: str | None = "28D",
    method: str | None = None,
    hotspots_from: str = HOTSPOTS_FROM,
    coverage: float | None = None,
    top: int | None = None,
    run_backtest: bool = False,
    title: str | None = None,
    tiles: str | None = None,
    progress: bool | None = False,
) -> Briefing:
    """Find the force's hotspots and draw the briefing map of ``area``.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or GeoDataFrame
    boundaries : BoundaryPlan, GeoDataFrame, mapping or None
        As :func:`beatplan.maps.briefing_map` takes them; also the hotspots' study area (a
        plan's force, or the union of the polygons), else one is derived from the incidents.
    area : str or GeoDataFrame, optional
        An id or name (any level), or the area's polygon with a ``name``.
    since : str or None
        The incidents shown: ``"28D"``, ``"3M"``, ``"2022-10"``, ``"all"`` or None (all).
    method : str or None
        A hotspot method (None: the default method), or ``"none"`` for no hotspots.
    hotspots_from : str
        The period the hotspots are found from, back from the end of the data.
    coverage : float, optional
        Hotspots covering at most this share of the study area (default: the method's own).
    top : int, optional
        Show the ``top`` first hotspots of the area.
    run_backtest : bool
        Backtest the method on the same data so the title says what share of the next
        month's crime such hotspots held (needs a month more than ``hotspots_from``).
    title, tiles
        As :func:`beatplan.maps.briefing_map` takes them.
    progress : bool or None
        The backtest's progress bar (off by default).

    Returns
    -------
    Briefing
    """
    from beatplan.geo.errors import EmptyInputError
    from beatplan.hotspots import DEFAULT_METHOD, backtest, backtest_summary, find_hotspots
    from beatplan.hotspots.select import incident_dates, select_incidents
    from beatplan.maps import briefing_map

    window = None if since is None or since.strip().lower() == "all" else since
    hs, table, notes = None, None, []
    if method != "none":
        hs = find_hotspots(incidents, method=method or DEFAULT_METHOD, since=hotspots_from,
                           study_area=boundaries, coverage=coverage)  # fmt: skip
        notes.append(
            f"{len(hs)} hotspots ({hs.method}, {hs.params.get('since', hotspots_from)}), "
            f"covering {hs.coverage:.2%} of the study area"
        )
        notes += [f"note: {m}" for m in hs.messages]
    if hs is not None and run_backtest:
        points = getattr(incidents, "points", incidents)
        keep, _, _ = select_incidents(points, since=hotspots_from)
        when, _ = incident_dates(points[keep])
        months = max(1, int(when.dt.to_period("M").nunique()))
        try:
            table = backtest(incidents, hs.method, train_months=months, study_area=boundaries,
                             coverage=coverage, progress=progress)  # fmt: skip
        except EmptyInputError as exc:
            notes.append(f"no backtest: {exc}")
        else:
            notes += [f"backtest: {v}" for v in backtest_summary(table)["verdict"]]
    m = briefing_map(
        incidents, hs, boundaries, area=area, since=window, title=title, tiles=tiles, top=top,
        backtest=table,
    )  # fmt: skip
    return Briefing(m, hs, table, tuple(notes))
