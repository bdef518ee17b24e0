"""``beatplan demo``: run the whole pipeline on the synthetic sample county.

Writes the county, realigns its old beats, sectors and NPAs to its new wards, finds the last
3 months' hotspots (the default method) and draws the three maps (offline, no basemap; the
briefing shows the last 28 days), then says where it all is.
Everything is written into a scratch folder beside ``--out`` and moved into place at the end,
so a failed run leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click

from beatplan.geo.errors import AssetsNotFoundError, OutputExistsError
from beatplan.options import handle_errors, overwrite_option
from beatplan.sample_cmd import DEFAULT_SEED

__all__ = ["command"]

log = logging.getLogger("beatplan")

#: What the demo writes inside its folder.
PARTS = ("sample", "plan", "hotspots.gpkg", "briefing.html", "planning.html", "changes.html")


def _check_out(out: Path, overwrite: bool) -> None:
    """Refuse a folder that is not empty unless ``overwrite``, before any work.

    With ``overwrite`` only the demo's own parts are replaced; other files are left alone.
    """
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out}: exists and is not a folder; choose another --out")
    if overwrite or not out.exists():
        return
    held = sorted(p.name for p in out.iterdir())
    if not held:
        return
    ours = [name for name in held if name in PARTS]
    what = (
        f"holds files the demo writes ({', '.join(ours)})"
        if ours
        else f"is not empty ({', '.join(held[:5])}{' ...' if len(held) > 5 else ''})"
    )
    raise OutputExistsError(
        f"{out}: {what}; pass --overwrite to write the demo there (only its own parts are "
        "replaced), or choose another --out"
    )


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """Yield a scratch folder beside ``out``; on success move its parts into ``out``.

    A failed run leaves ``out`` as it was (the scratch folder is removed). On success each part
    replaces its older self with one rename; other files in ``out`` are left alone.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    try:
        yield scratch
        out.mkdir(exist_ok=True)
        old = scratch / ".replaced"
        old.mkdir()
        for part in PARTS:
            if (out / part).exists():
                (out / part).rename(old / part)
            (scratch / part).rename(out / part)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _indent(text: str) -> str:
    return "  " + text.replace("\n", "\n  ")


def _map_assets(offline: bool | None) -> bool:
    """Whether the maps inline Leaflet: fetched if missing; without ``--offline``, a CDN instead."""
    from beatplan.maps.assets import FETCH_COMMAND, assets_available, fetch_assets

    if offline is False:
        return False
    if assets_available():
        return True
    try:
        fetch_assets(timeout=15, npm=None)  # no npm fallback: it retries for minutes offline
        return True
    except AssetsNotFoundError as exc:
        if offline:
            raise
        log.debug("map assets: %s", exc)
        click.echo(
            "note: the offline map assets could not be fetched (no network to the npm registry?), "
            f"so the maps load Leaflet from a CDN; run `{FETCH_COMMAND}` once, then the demo "
            "again, for maps that open with no network",
            err=True,
        )
        return False


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
@click.option(
    "--offline/--online",
    default=None,
    help="Inline Leaflet in the maps (fetched once if missing), or load it from a CDN. "
    "Default: offline when the assets are present or can be fetched, else online, with a note.",
)
@overwrite_option
@handle_errors
def command(out: Path, seed: int, offline: bool | None, overwrite: bool) -> None:
    """Run the pipeline on the sample county: realign, hotspots and three offline maps."""
    _check_out(out, overwrite)
    inline = _map_assets(offline)
    with _staged(out) as work:
        _run(work, out, seed, offline=inline)
    click.echo(f"done: results are in {out.resolve()}")


def _run(work: Path, out: Path, seed: int, *, offline: bool) -> None:
    """Write the demo into ``work``; the messages name where the parts will be, under ``out``."""
    import pandas as pd

    from beatplan.boundaries.pipeline import realign_sample
    from beatplan.geo import read_boundaries, read_incidents, write_layers
    from beatplan.geo.sample import write_sample
    from beatplan.hotspots import find_hotspots
    from beatplan.maps import briefing_map, change_map, planning_map, save

    click.echo(f"1. the sample county (seed {seed}) -> {out / 'sample'}")
    written = write_sample(work / "sample", seed=seed)
    incidents = read_incidents(written["crime"])
    click.echo(
        f"  {incidents.rows_read:,} incidents read: {len(incidents.points):,} located, "
        f"{len(incidents.rejected):,} rejected (no location)"
    )

    click.echo(f"2. realign the old beats, sectors and NPAs to the new wards -> {out / 'plan'}")
    result, _ = realign_sample(work / "sample", work / "plan")
    click.echo(_indent(result.describe()))
    click.echo(f"  plan: {out / 'plan' / 'boundaries.gpkg'}; report: {out / 'plan' / 'changes.md'}")

    click.echo(f"3. hotspots of the last 3 months (the default method) -> {out / 'hotspots.gpkg'}")
    hot = find_hotspots(incidents, since="3M", study_area=result, boundaries=result.wards)
    write_layers(work / "hotspots.gpkg", {"hotspots": hot.areas})
    click.echo(f"  {len(hot)} hotspots covering {hot.coverage:.2%} of the county")
    top = hot.areas.head(10)
    beats = (
        top["beat_name"] if "beat_name" in top else top.get("beat", pd.Series("", index=top.index))
    )
    for row, beat in zip(top.itertuples(), beats.fillna(""), strict=True):
        click.echo(
            f"  #{row.hotspot:<3} {row.incidents:>5} incidents  {row.area_m2 / 1e4:7.2f} ha  "
            f"{beat:<24.24}  {str(row.top_types):.60}"
        )

    how = "offline" if offline else "online: Leaflet from a CDN"
    click.echo(f"4. maps ({how}; one HTML file each, no basemap)")
    old_wards = read_boundaries(written["boundaries"], layer="wards_old")
    maps = {
        "briefing.html": briefing_map(incidents, hot, result, since="28D", tiles=None),
        "planning.html": planning_map(result, demand=incidents, tiles=None),
        "changes.html": change_map(old_wards, result, tiles=None),
    }
    for name, m in maps.items():
        path = save(m, work / name, offline=offline)
        click.echo(f"  {out / name} ({path.stat().st_size / 1e6:.2f} MB)")
