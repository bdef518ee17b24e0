"""``beatplan demo``: run the whole pipeline on the synthetic sample county.

Writes the county, realigns its old beats, sectors and NPAs to its new wards, finds the last
28 days' hotspots and draws the three maps (offline, no basemap), then says where it all is.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from beatplan.geo.errors import OutputExistsError
from beatplan.options import handle_errors, overwrite_option
from beatplan.sample_cmd import DEFAULT_SEED

__all__ = ["command"]

#: What the demo writes inside its folder.
PARTS = ("sample", "plan", "hotspots.gpkg", "briefing.html", "planning.html", "changes.html")


def _clear(out: Path, overwrite: bool) -> None:
    """Refuse (or, with ``overwrite``, remove) the demo's previous results before any work."""
    present = [out / p for p in PARTS if (out / p).exists()]
    if present and not overwrite:
        raise OutputExistsError(
            f"{out}: holds an earlier demo ({', '.join(p.name for p in present)}); "
            "pass --overwrite to replace it, or choose another --out"
        )
    for p in present:
        shutil.rmtree(p) if p.is_dir() else p.unlink()


def _indent(text: str) -> str:
    return "  " + text.replace("\n", "\n  ")


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
    """Run the pipeline on the sample county: realign, hotspots and three offline maps."""
    from beatplan.boundaries.pipeline import realign_sample
    from beatplan.geo import read_boundaries, read_incidents, write_layers
    from beatplan.geo.sample import write_sample
    from beatplan.hotspots import find_hotspots
    from beatplan.maps import briefing_map, change_map, planning_map, save

    _clear(out, overwrite)
    click.echo(f"1. the sample county (seed {seed}) -> {out / 'sample'}")
    written = write_sample(out / "sample", seed=seed)
    incidents = read_incidents(written["crime"])
    click.echo(
        f"  {incidents.rows_read:,} incidents read: {len(incidents.points):,} located, "
        f"{len(incidents.rejected):,} rejected (no location)"
    )

    click.echo(f"2. realign the old beats, sectors and NPAs to the new wards -> {out / 'plan'}")
    result, files = realign_sample(out / "sample", out / "plan")
    click.echo(_indent(result.describe()))
    click.echo(f"  plan: {files['gpkg']}; report: {files['changes_md']}")

    click.echo(f"3. hotspots of the last 28 days (Gi*) -> {out / 'hotspots.gpkg'}")
    hot = find_hotspots(incidents, method="gistar", since="28D", boundaries=result.wards)
    write_layers(out / "hotspots.gpkg", {"hotspots": hot.areas})
    top = hot.areas.head(10)
    for row in top.itertuples():
        click.echo(
            f"  #{row.hotspot:<3} {row.incidents:>5} incidents  {row.area_m2 / 1e4:7.1f} ha  "
            f"beat {str(getattr(row, 'beat', '')):<12.12}  {str(row.top_types):.60}"
        )

    click.echo("4. maps (offline, one HTML file each, no basemap)")
    old_wards = read_boundaries(written["boundaries"], layer="wards_old")
    maps = {
        "briefing.html": briefing_map(incidents, hot, result, since="28D", tiles=None),
        "planning.html": planning_map(result, demand=incidents, tiles=None),
        "changes.html": change_map(old_wards, result, tiles=None),
    }
    for name, m in maps.items():
        path = save(m, out / name)
        click.echo(f"  {path} ({path.stat().st_size / 1e6:.2f} MB)")
    click.echo(f"done: results are in {out.resolve()}")
