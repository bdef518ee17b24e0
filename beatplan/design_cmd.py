"""``beatplan design``: design balanced, contiguous, nested beats (sectors, NPAs) from wards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from beatplan.options import (
    BoundarySource,
    boundary_option,
    crs_option,
    handle_errors,
    out_option,
    overwrite_option,
    read_layer,
)
from beatplan.realign_cmd import format_option, incidents_option, say_written, write_plan_files

__all__ = ["command"]

_PATH = click.Path(path_type=Path)


def _within(value: str | None, crs: str | None) -> Any:
    """``FILE[:COLUMN]`` -> polygons (their id column set to COLUMN), or a ward column name."""
    if value is None:
        return None
    from beatplan.geo.layers import read_boundaries

    path, _, column = value.partition(":") if not Path(value).exists() else (value, "", "")
    if not Path(path).exists():
        return value  # a column of the wards
    if column:
        import pyogrio

        from beatplan.geo.errors import OptionError

        try:
            have: list[str] | None = [str(c) for c in pyogrio.read_info(path)["fields"]]
        except Exception:  # noqa: BLE001 - a folder or unreadable file: the reader reports it
            have = None
        if have is not None and column not in have:
            raise OptionError(
                f"--within {value}: {column!r} is not a column of {path} (its columns: "
                f"{', '.join(have) or 'none'}); give --within FILE:COLUMN naming one"
            )
    return read_boundaries(path, id_col=column or None, crs=crs)


@click.command("design")
@boundary_option("--wards", required=True, help="The wards (any vector file, or a plan's wards).")
@click.option("--beats", required=True, type=click.IntRange(1), help="How many beats.")
@click.option("--sectors", type=click.IntRange(1), default=None, help="How many sectors.")
@click.option("--npas", type=click.IntRange(1), default=None, help="How many NPAs.")
@incidents_option("Incident files or folders (police.uk CSVs ...), repeatable: demand per ward.")
@click.option(
    "--demand",
    default=None,
    metavar="COLUMN|wards",
    help="Demand from a numeric ward column, or 'wards' for one per ward (the default "
    "without --incidents).",
)
@click.option("--harm", is_flag=True, help="Weigh incidents by harm (the illustrative table).")
@click.option(
    "--within",
    default=None,
    metavar="FILE[:COLUMN]|COLUMN",
    help="Fixed lines no area may cross: polygons (COLUMN names them) or a ward column.",
)
@click.option(
    "--current", type=_PATH, default=None, help="Today's plan (a plan folder or ward table)."
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.05,
    show_default=True,
    help="Every area within this share of its group's mean demand.",
)
@click.option(
    "--keep",
    type=click.FloatRange(0),
    default=1.0,
    show_default=True,
    help="With --current: the cost of moving one area's worth of demand (higher: fewer moves).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed (same seed, same plan).")
@click.option(
    "--best-effort",
    is_flag=True,
    help="When the tolerance cannot be met, write the best design found (flagged) anyway.",
)
@format_option
@out_option(help="Folder for the plan (boundaries.gpkg, design.csv, design.md ...).")
@crs_option
@overwrite_option
@handle_errors
def command(
    wards: BoundarySource,
    beats: int,
    sectors: int | None,
    npas: int | None,
    incidents: tuple[Path, ...],
    demand: str | None,
    harm: bool,
    within: str | None,
    current: Path | None,
    tolerance: float,
    keep: float,
    seed: int,
    best_effort: bool,
    formats: tuple[str, ...],
    out: Path,
    crs: str | None,
    overwrite: bool,
) -> None:
    """Design balanced, contiguous, nested beats (sectors, NPAs) from wards; write the plan.

    --wards is FILE[:LAYER][:id=COL][:name=COL][:dissolve], or a plan folder (its wards).
    """
    from beatplan.boundaries.design import design
    from beatplan.boundaries.pipeline import check_plan_free
    from beatplan.geo.errors import InfeasibleDesignError, OptionError
    from beatplan.geo.incidents import read_incidents

    if incidents and demand is not None:
        raise OptionError("give either --incidents or --demand, not both")
    if harm and not incidents:
        raise OptionError("--harm weighs incidents: give --incidents too")
    check_plan_free(out, overwrite=overwrite)
    table = read_layer(wards, role="wards", crs=crs)
    source: Any = read_incidents(list(incidents)) if incidents else (demand or "wards")
    try:
        result = design(
            table, beats=beats, sectors=sectors, npas=npas, demand=source,
            weights="harm" if harm else None, within=_within(within, crs), current=current,
            tolerance=tolerance, keep=keep, seed=seed,
        )  # fmt: skip
    except InfeasibleDesignError as exc:
        if not best_effort or exc.best is None:
            raise
        result = exc.best
        click.echo(f"warning: {exc}", err=True)
    files = write_plan_files(out, result, formats, overwrite)
    click.echo(result.describe())
    say_written(out, files)
    click.echo(f"design report: {files['design_md'].name}, {files['design_csv'].name}")
