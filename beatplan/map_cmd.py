"""``beatplan map``: write a briefing, planning or change map as one HTML file."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from beatplan.options import (
    HOTSPOT_METHODS,
    BoundarySource,
    boundary_argument,
    boundary_option,
    crs_option,
    handle_errors,
    out_option,
    overwrite_option,
    parse_share,
    read_areas,
)

__all__ = ["command"]

F = TypeVar("F", bound=Callable[..., Any])

_TILE_CHOICES = ("OpenStreetMap", "CartoDB positron", "CartoDB voyager", "none")


@dataclass(frozen=True)
class MapOutput:
    """What every map sub-command shares: where and how the map is written."""

    out: Path
    title: str | None
    offline: bool
    tiles: str | None
    overwrite: bool

    def save(self, m: Any) -> None:
        """Write ``m`` (one HTML file) and say where, how large and whether offline."""
        from beatplan.maps import save

        path = save(m, self.out, offline=self.offline, overwrite=self.overwrite)
        size = path.stat().st_size / 1e6
        click.echo(f"wrote {path} ({size:.2f} MB{', offline' if self.offline else ''})")


def _tiles(name: str) -> str | None:
    match = {c.lower(): c for c in _TILE_CHOICES}[name.lower()]
    return None if match == "none" else match


def _map_options(func: F) -> F:
    """Add the options every map sub-command shares; they reach it as one ``output``."""

    @functools.wraps(func)
    def wrapper(
        *args: Any,
        out: Path,
        title: str | None,
        offline: bool,
        tiles: str,
        overwrite: bool,
        **kwargs: Any,
    ) -> Any:
        output = MapOutput(out, title, offline, _tiles(tiles), overwrite)
        return func(*args, output=output, **kwargs)

    cmd: Any = overwrite_option(wrapper)
    cmd = click.option(
        "--tiles",
        type=click.Choice(_TILE_CHOICES, case_sensitive=False),
        default="OpenStreetMap",
        show_default=True,
        help="Basemap; 'none' for no basemap (then the file needs no network at all).",
    )(cmd)
    cmd = click.option(
        "--offline/--online",
        default=True,
        show_default=True,
        help="Inline Leaflet and its plugins (one self-contained file), or load them from a CDN.",
    )(cmd)
    cmd = click.option("--title", default=None, help="Title printed on the map.")(cmd)
    cmd = out_option(help="The HTML file to write.")(cmd)
    return cast(F, cmd)


@click.group("map")
def command() -> None:
    """Write a map as one HTML file: briefing, planning or changes."""


@command.command("briefing")
@click.argument("incidents", nargs=-1, required=True, type=click.Path(path_type=Path))
@boundary_option(
    "--boundaries", "-b", default=None,
    help="Beats (FILE[:LAYER][:id=COL][:name=COL][:dissolve]) or a plan written by `beatplan "
    "realign/reorganise`.",
)  # fmt: skip
@click.option("--area", default=None, help="Id or name of the area briefed (any level).")
@click.option(
    "--since", default="28D", show_default=True,
    help="Period shown: 28D, 3M, 2022-10, or 'all'.",
)  # fmt: skip
@click.option(
    "--method",
    type=click.Choice([*HOTSPOT_METHODS, "none"]),
    default=None,
    help="How hotspots are found (default: the default method of beatplan hotspots); 'none' "
    "for no hotspots.",
)
@click.option(
    "--hotspots-from",
    default="3M",
    show_default=True,
    metavar="PERIOD",
    help="The period the hotspots are found from, back from the end of the data (force-wide).",
)
@click.option(
    "--coverage",
    default=None,
    metavar="SHARE",
    help="Hotspots covering at most this share of the force area: 0.005 or 0.5%.",
)
@click.option("--top", type=int, default=None, help="Show the N first hotspots of the area.")
@click.option(
    "--backtest/--no-backtest",
    "run_backtest",
    default=True,
    show_default=True,
    help="Backtest the hotspots on the same data, for the share of next month's crime they "
    "held (in the title); needs a month more than --hotspots-from.",
)
@_map_options
@crs_option
@handle_errors
def briefing(
    incidents: tuple[Path, ...],
    boundaries: BoundarySource | None,
    area: str | None,
    since: str,
    method: str | None,
    hotspots_from: str,
    coverage: str | None,
    top: int | None,
    run_backtest: bool,
    crs: str | None,
    output: MapOutput,
) -> None:
    """Briefing map: area outline, beats, ranked hotspots, heat and incidents."""
    from beatplan._briefing import briefing as make_briefing
    from beatplan.geo import read_incidents

    inc = read_incidents(list(incidents), crs=crs)
    areas = read_areas(boundaries, crs=crs) if boundaries is not None else None
    made = make_briefing(
        inc, areas, area=area, since=since, method=method, hotspots_from=hotspots_from,
        coverage=None if coverage is None else parse_share(coverage), top=top,
        run_backtest=run_backtest, title=output.title, tiles=output.tiles,
    )  # fmt: skip
    for note in made.notes:
        click.echo(note)
    output.save(made.map)


@command.command("planning")
@boundary_argument("plan")
@click.option(
    "--incidents", "-i", multiple=True, type=click.Path(path_type=Path),
    help="Incident files counted per area for the demand choropleth (repeatable).",
)  # fmt: skip
@click.option("--level", default=None, help="Level coloured by demand (default: beats).")
@_map_options
@crs_option
@handle_errors
def planning(
    plan: BoundarySource,
    incidents: tuple[Path, ...],
    level: str | None,
    crs: str | None,
    output: MapOutput,
) -> None:
    """Planning map: NPAs, sectors, beats and wards; demand per beat; wards to review.

    PLAN is a plan (folder or GeoPackage) or a ward table
    (FILE[:LAYER][:id=COL][:name=COL][:dissolve]).
    """
    from beatplan.geo import read_incidents
    from beatplan.maps import planning_map

    result = read_areas(plan, crs=crs)
    demand = read_incidents(list(incidents), crs=crs) if incidents else None
    m = planning_map(
        result, demand=demand, choropleth=level, title=output.title, tiles=output.tiles
    )
    output.save(m)


@command.command("changes")
@boundary_argument("before")
@boundary_argument("after")
@click.option("--level", default=None, help="Level compared (default: the smallest shared).")
@_map_options
@crs_option
@handle_errors
def changes(
    before: BoundarySource,
    after: BoundarySource,
    level: str | None,
    crs: str | None,
    output: MapOutput,
) -> None:
    """Change map: old and new areas, moved wards with from -> to.

    BEFORE and AFTER are plans or boundary files (FILE[:LAYER][:id=COL][:name=COL][:dissolve]).
    """
    from beatplan.maps import change_map

    old, new = read_areas(before, crs=crs), read_areas(after, crs=crs)
    level = _compared(old, new, level)
    output.save(change_map(old, new, level=level, title=output.title, tiles=output.tiles))


def _compared(old: Any, new: Any, level: str | None) -> str | None:
    """Say which level the change map compares and how to choose another."""
    from beatplan.maps._base import levels_of

    before, after = levels_of(old), levels_of(new)
    common = [lv for lv in after if lv in before]
    if level is not None or not common:
        return level  # change_map checks it (and says what each side holds)
    others = "|".join(common[1:])
    click.echo(
        f"comparing {common[0]}s: the smallest level both sides have (before: "
        f"{', '.join(before)}; after: {', '.join(after)})"
        + (f"; --level {others} compares another" if others else "")
    )
    return common[0]


@command.command("fetch-assets")
@click.option("--dest", type=click.Path(path_type=Path), default=None, help="Cache folder.")
@click.option("--force", is_flag=True, help="Fetch again even if present.")
@click.option(
    "--registry",
    default=None,
    help="npm registry address (default: $npm_config_registry or https://registry.npmjs.org).",
)
@handle_errors
def fetch_assets_cmd(dest: Path | None, force: bool, registry: str | None) -> None:
    """Fetch the pinned Leaflet files offline maps inline (once; from the npm registry)."""
    from beatplan.maps import fetch_assets

    click.echo(f"map assets ready in {fetch_assets(dest, force=force, registry=registry)}")
