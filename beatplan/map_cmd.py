"""``beatplan map``: write a briefing, planning or change map as one HTML file."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from beatplan.options import handle_errors, out_option, overwrite_option

if TYPE_CHECKING:
    import geopandas as gpd

    from beatplan.boundaries.plan import BoundaryPlan

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


def _read_areas(path: Path) -> BoundaryPlan | gpd.GeoDataFrame:
    """Read a plan folder or GeoPackage (read_plan), else a boundary layer file."""
    from beatplan.boundaries.outputs import read_plan
    from beatplan.geo import read_boundaries
    from beatplan.geo.errors import InputFormatError

    try:
        return read_plan(path)
    except InputFormatError:
        return read_boundaries(path)


@click.group("map")
def command() -> None:
    """Write a map as one HTML file: briefing, planning or changes."""


@command.command("briefing")
@click.argument("incidents", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--boundaries", "-b", type=click.Path(path_type=Path), default=None,
    help="Beats (a boundary file) or a plan written by `beatplan realign/reorganise`.",
)  # fmt: skip
@click.option("--area", default=None, help="Id or name of the area briefed (any level).")
@click.option(
    "--since", default="28D", show_default=True,
    help="Period shown: 28D, 3M, 2022-10, or 'all'.",
)  # fmt: skip
@click.option(
    "--method",
    type=click.Choice(["gistar", "kde", "dbscan", "hdbscan", "none"]),
    default="gistar",
    show_default=True,
    help="How hotspots are found (on the period shown); 'none' for no hotspots.",
)
@_map_options
@handle_errors
def briefing(
    incidents: tuple[Path, ...],
    boundaries: Path | None,
    area: str | None,
    since: str,
    method: str,
    output: MapOutput,
) -> None:
    """Briefing map: area outline, beats, ranked hotspots, heat and incidents."""
    from beatplan._briefing import briefing as make_briefing
    from beatplan.geo import read_incidents

    inc = read_incidents(list(incidents))
    areas = _read_areas(boundaries) if boundaries is not None else None
    m, hs = make_briefing(
        inc, areas, area=area, since=since, method=method, title=output.title, tiles=output.tiles
    )
    if hs is not None:
        click.echo(f"{len(hs)} hotspots ({method})")
    output.save(m)


@command.command("planning")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option(
    "--incidents", "-i", multiple=True, type=click.Path(path_type=Path),
    help="Incident files counted per area for the demand choropleth (repeatable).",
)  # fmt: skip
@click.option("--level", default=None, help="Level coloured by demand (default: beats).")
@_map_options
@handle_errors
def planning(
    plan: Path,
    incidents: tuple[Path, ...],
    level: str | None,
    output: MapOutput,
) -> None:
    """Planning map: NPAs, sectors, beats and wards; demand per beat; wards to review."""
    from beatplan.geo import read_incidents
    from beatplan.maps import planning_map

    result = _read_areas(plan)
    demand = read_incidents(list(incidents)) if incidents else None
    m = planning_map(
        result, demand=demand, choropleth=level, title=output.title, tiles=output.tiles
    )
    output.save(m)


@command.command("changes")
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--level", default=None, help="Level compared (default: the smallest shared).")
@_map_options
@handle_errors
def changes(
    before: Path,
    after: Path,
    level: str | None,
    output: MapOutput,
) -> None:
    """Change map: old and new areas, moved wards with from -> to."""
    from beatplan.maps import change_map

    old, new = _read_areas(before), _read_areas(after)
    output.save(change_map(old, new, level=level, title=output.title, tiles=output.tiles))


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
