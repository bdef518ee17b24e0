"""``beatplan reorganise``: apply a planner's spec to the current plan and write the new one."""

from __future__ import annotations

from pathlib import Path

import click

from beatplan.options import (
    BoundarySource,
    boundary_option,
    crs_option,
    handle_errors,
    is_plan,
    notes_once,
    out_option,
    overwrite_option,
    read_layer,
)
from beatplan.realign_cmd import format_option, incidents_option, say_written, write_plan_files

__all__ = ["command"]

_PATH = click.Path(path_type=Path)


@click.command("reorganise")
@boundary_option(
    "--current",
    required=True,
    help="The current plan: a folder written by `beatplan realign/reorganise` (or its "
    "GeoPackage), or a ward table file (FILE[:LAYER][:id=COL][:name=COL][:dissolve]: one row "
    "per ward with beat/sector/npa columns).",
)
@click.option("--spec", required=True, type=_PATH, help="The changes: a .yaml or .toml file.")
@incidents_option("Incident files or folders, repeatable: demand per area before and after.")
@format_option
@out_option(help="Folder for the new plan.")
@crs_option
@overwrite_option
@handle_errors
def command(
    current: BoundarySource,
    spec: Path,
    incidents: tuple[Path, ...],
    formats: tuple[str, ...],
    out: Path,
    crs: str | None,
    overwrite: bool,
) -> None:
    """Merge, create, move, split or rename areas as a spec says; rebuild and check every layer."""
    from beatplan.boundaries.pipeline import check_plan_free
    from beatplan.boundaries.reorganise import reorganise
    from beatplan.geo.incidents import read_incidents

    check_plan_free(out, overwrite=overwrite)
    inc = read_incidents(list(incidents), crs=crs) if incidents else None
    plain = is_plan(current) or (current.plain and crs is None)  # reorganise reads it itself
    table = current.path if plain else read_layer(current, role="wards", crs=crs)
    with notes_once() as printed:
        result = reorganise(table, spec, incidents=inc)
        files = write_plan_files(out, result, formats, overwrite)
        click.echo(result.describe())
        printed.update(result.warnings)
    say_written(out, files)
