"""``beatplan sample OUT``: write the synthetic sample county."""

from __future__ import annotations

from pathlib import Path

import click

from beatplan.options import handle_errors, overwrite_option

__all__ = ["DEFAULT_SEED", "command"]

DEFAULT_SEED = 20261122


@click.command("sample")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--seed", type=int, default=DEFAULT_SEED, show_default=True, help="Random seed.")
@overwrite_option
@handle_errors
def command(out: Path, seed: int, overwrite: bool) -> None:
    """Write the seeded synthetic sample county (wards, police areas, a year of crime) to OUT."""
    from beatplan.geo.sample import write_sample

    written = write_sample(out, seed=seed, overwrite=overwrite)
    for name, path in written.items():
        click.echo(f"{name:>20}: {path}")
