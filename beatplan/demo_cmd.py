"""``beatplan demo``: run the whole pipeline on the synthetic sample county."""

from __future__ import annotations

from pathlib import Path

import click

from beatplan.options import handle_errors, overwrite_option
from beatplan.sample_cmd import DEFAULT_SEED

__all__ = ["command"]


@click.command("demo")
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=Path("beatplan-demo"),
    show_default=True,
    help="Folder for the demo's results.",
)
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@overwrite_option
@handle_errors
def command(out: Path, seed: int, overwrite: bool) -> None:
    """Write the sample county and describe what it holds."""
    from geo import read_boundaries, read_incidents
    from geo.sample import write_sample

    click.echo(f"writing the sample county (seed {seed}) to {out}/sample ...")
    written = write_sample(out / "sample", seed=seed, overwrite=overwrite)
    wards = read_boundaries(written["wards_new"])
    incidents = read_incidents(written["crime"])
    click.echo(
        f"  new wards: {len(wards)}; incidents read: {incidents.rows_read:,} "
        f"({len(incidents.points):,} located, {len(incidents.rejected):,} rejected)"
    )
    click.echo(f"done: results are in {out.resolve()}")
