"""``beatplan realign``: realign old beats (sectors, NPAs) to new wards and write the plan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from beatplan.options import (
    BoundarySource,
    boundary_option,
    crs_option,
    handle_errors,
    notes_once,
    out_option,
    overwrite_option,
    read_layer,
)

__all__ = [
    "FORMAT_CHOICES",
    "command",
    "format_option",
    "incidents_option",
    "say_written",
    "write_plan_files",
]

#: Vector formats the plan can be written in besides the GeoPackage.
FORMAT_CHOICES = ("gpkg", "geojson", "shp", "kml")

format_option = click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMAT_CHOICES, case_sensitive=False),
    help="Also write the layers as GeoJSON, Shapefile or KML (repeatable); "
    "boundaries.gpkg is always written.",
)
_PATH = click.Path(path_type=Path)


def incidents_option(help: str) -> Any:  # noqa: A002 - click's own name
    """Return the repeatable ``--incidents FILE`` option (police.uk CSVs, folders ...)."""
    return click.option("--incidents", multiple=True, type=_PATH, help=help)


def write_plan_files(
    out: Path, result: Any, formats: tuple[str, ...], overwrite: bool
) -> dict[str, Path]:
    """Write the plan (the GeoPackage and ``formats``) and return the files written."""
    from beatplan.boundaries.outputs import write_plan

    return write_plan(out, result, formats=("gpkg", *formats), overwrite=overwrite)


def say_written(out: Path, files: dict[str, Path]) -> None:
    """Print where the plan went."""
    click.echo(f"wrote {len(files)} files to {out} (report: {files['changes_md'].name})")


@click.command("realign")
@boundary_option(
    "--wards", required=True, help="The new wards (any vector file, or a plan's wards)."
)
@boundary_option("--beats", required=True, help="The old beats (or a plan: its smallest level).")
@boundary_option("--sectors", default=None, help="The old sectors.")
@boundary_option("--npas", default=None, help="The old NPAs.")
@incidents_option("Incident files or folders (police.uk CSVs ...), repeatable: demand per area.")
@click.option(
    "--by",
    type=click.Choice(["area", "demand"]),
    default="area",
    show_default=True,
    help="Give each ward to the old area holding most of its area, or of its incidents.",
)
@click.option(
    "--review-below",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Flag wards whose best share is below this.",
)
@click.option(
    "--min-coverage",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Refuse old areas covering less than this share of the wards' area.",
)
@click.option(
    "--allow-coarse",
    is_flag=True,
    help="Realign even when the wards are larger than the old areas (most would get none).",
)
@format_option
@out_option(help="Folder for the plan (boundaries.gpkg, crosswalks, change report).")
@crs_option
@overwrite_option
@handle_errors
def command(
    wards: BoundarySource,
    beats: BoundarySource,
    sectors: BoundarySource | None,
    npas: BoundarySource | None,
    incidents: tuple[Path, ...],
    by: str,
    review_below: float,
    min_coverage: float,
    allow_coarse: bool,
    formats: tuple[str, ...],
    out: Path,
    crs: str | None,
    overwrite: bool,
) -> None:
    """Realign beats (and sectors, NPAs) to new wards; write nested boundaries and a report.

    Each boundary input is FILE[:LAYER][:id=COL][:name=COL][:dissolve], or a plan folder.
    """
    from beatplan.boundaries.pipeline import check_plan_free, realign_files

    check_plan_free(out, overwrite=overwrite)
    with notes_once() as printed:
        result, inc = realign_files(
            read_layer(wards, role="wards", crs=crs),
            read_layer(beats, role="finest", crs=crs),
            sectors=None if sectors is None else read_layer(sectors, role="sector", crs=crs),
            npas=None if npas is None else read_layer(npas, role="npa", crs=crs),
            incidents=list(incidents) or None,
            by=by,
            review_below=review_below,
            min_coverage=min_coverage,
            allow_coarse=allow_coarse,
            crs=crs,
        )
        files = write_plan_files(out, result, formats, overwrite)
        _say(result, inc, files)
        printed.update(result.warnings)
    say_written(out, files)


def _say(result: Any, inc: Any, files: dict[str, Path]) -> None:
    """Print the realignment's summary, then each of its notes once."""
    s = result.summary
    if inc is not None:
        click.echo(
            f"incidents: {inc.rows_read:,} rows read, {len(inc.points):,} located, "
            f"{len(inc.rejected):,} rejected"
        )
    click.echo(
        f"{s['wards']} wards -> {s['areas_new']} {result.levels[0]}s "
        f"(of {s['areas_old']}) by {result.by}; levels: {', '.join(result.levels)}"
    )
    click.echo(f"wards moved: {s['wards_moved']}")
    click.echo(
        f"marginal wards: {s['wards_marginal']} (best share below {s['review_below']:g}); "
        f"flagged for review: {s['wards_review']}"
    )
    if s.get("demand_total") is not None:
        click.echo(
            f"demand shifted: {s['demand_shifted']:,.0f} of {s['demand_total']:,.0f} "
            f"({s['demand_shifted_pct']:.1f}%)"
        )
    else:
        click.echo(
            f"area shifted: {s['area_shifted_m2'] / 1e6:,.2f} of {s['area_m2'] / 1e6:,.2f} km² "
            "(no incidents given)"
        )
    checks = result.checks
    click.echo(
        "checks: "
        + (
            f"passed ({', '.join(checks.checks)})"
            if checks.ok
            else f"{len(checks.errors)} error(s) - see {files['changes_md']}"
        )
    )
    for w in result.warnings:
        click.echo(f"warning: {w}")
