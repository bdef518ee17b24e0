"""``beatplan info FILE...``: what a boundary or incident file holds."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import click
import pyogrio

from beatplan.geo.errors import BeatplanError
from beatplan.options import (
    BOUNDARY,
    BoundarySource,
    ExitCode,
    crs_option,
    handle_errors,
    is_plan,
    read_layer,
)

__all__ = ["command", "file_kind"]

_TABLE_SUFFIXES = (".csv", ".tsv", ".tab", ".parquet", ".csv.gz", ".tsv.gz", ".tab.gz", ".txt")


def file_kind(path: Path) -> str:
    """Return ``"incidents"`` for a table or point layer, ``"boundaries"`` for polygons.

    A folder is judged by its first file.
    """
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file())
        if not files:
            return "boundaries"
        path = files[0]
    name = path.name.lower()
    if name.endswith(_TABLE_SUFFIXES):
        return "incidents"
    try:
        sample = pyogrio.read_dataframe(path, max_features=20)
    except Exception:  # noqa: BLE001 - let the real reader report the problem
        return "boundaries"
    types = set(sample.geometry.geom_type.dropna())
    return "incidents" if types and types <= {"Point", "MultiPoint"} else "boundaries"


def file_format(path: Path) -> str:
    """Name the format of ``path`` (a GDAL driver, a table type, or a folder of files)."""
    if path.is_dir():
        files = [p for p in path.iterdir() if p.is_file()]
        suffixes = ", ".join(sorted({p.suffix.lower() for p in files}))
        return f"folder of {len(files)} files ({suffixes})"
    name = path.name.lower()
    if name.endswith(_TABLE_SUFFIXES):
        return "Parquet table" if name.endswith(".parquet") else "delimited text table"
    try:
        with warnings.catch_warnings():  # "more than one layer": the layer does not matter here
            warnings.simplefilter("ignore")
            return str(pyogrio.read_info(path)["driver"])
    except Exception:  # noqa: BLE001 - the reader reports unreadable files properly
        return "unknown"


def _describe_boundaries(src: BoundarySource, crs: str | None) -> list[str]:
    gdf = read_layer(src, role="wards", crs=crs)
    rep = gdf.attrs.get("beatplan", {})
    lines = [
        "kind: boundaries (polygons)",
        f"features: {len(gdf)}",
        f"CRS as read: {rep.get('crs_source')}; working CRS: {gdf.crs}",
        f"id column: {rep.get('id_col')}; name column: {rep.get('name_col')}",
        f"columns: {', '.join(c for c in gdf.columns if c != 'geometry')}",
        f"area: {gdf.area.sum() / 1e6:,.2f} km²",
    ]
    repaired = rep.get("repaired") or []
    if repaired:
        lines.append(f"repaired invalid geometries: {', '.join(map(str, repaired))}")
    lines += [f"warning: {w}" for w in rep.get("warnings") or []]
    return lines


def _describe_plan(src: BoundarySource, crs: str | None) -> list[str]:
    from beatplan.boundaries.outputs import read_plan

    plan = read_plan(src.path)  # refuses a folder that is not whole
    lines = [
        f"kind: plan ({plan.kind}): {plan.title}",
        f"levels: {', '.join(plan.levels)}; wards: {len(plan.wards)}",
        *(f"{lv}: {len(plan.layers[lv])} areas" for lv in plan.levels if lv in plan.layers),
        f"CRS: {plan.wards.crs}",
        f"plan id: {plan.summary.get('plan_id') or _plan_id(src.path) or '-'} (every file checked)",
        f"checks: {'passed' if plan.checks.ok else f'{len(plan.checks.errors)} error(s)'}",
    ]
    return lines


def _plan_id(path: Path) -> str | None:
    import json

    folder = path if path.is_dir() else path.parent
    try:
        return str(json.loads((folder / "plan.json").read_text(encoding="utf-8"))["plan_id"])
    except (OSError, ValueError, KeyError):
        return None


def _describe_incidents(src: BoundarySource, crs: str | None) -> list[str]:
    from beatplan.geo import read_incidents

    inc = read_incidents(src.path, crs=crs)
    return ["kind: incidents (points)", *inc.summary().splitlines()]


@click.command("info")
@click.argument("files", nargs=-1, required=True, type=BOUNDARY, metavar="FILE...")
@crs_option
@handle_errors
def command(files: tuple[BoundarySource, ...], crs: str | None) -> None:
    """Describe boundary or incident FILES: format, CRS, counts, columns and problems found.

    A boundary file may be given as FILE[:LAYER][:id=COL][:name=COL][:dissolve], or a plan folder.
    Exits with code 2 when any file has problems (after describing every one).
    """
    bad = 0
    for src in files:
        path = src.path
        if not path.exists() and not any(ch in str(path) for ch in "*?["):
            raise FileNotFoundError(f"{path}: no such file or folder")
        click.echo(f"== {src}")
        plan = is_plan(src)
        kind = "plan" if plan else file_kind(path) if src.plain else "boundaries"
        click.echo(f"  format: {file_format(path)}")
        try:
            describe = {
                "plan": _describe_plan,
                "boundaries": _describe_boundaries,
                "incidents": _describe_incidents,
            }[kind]
            lines = describe(src, crs)
        except BeatplanError as exc:
            logging.getLogger("beatplan").debug("info failed", exc_info=True)
            bad += 1
            problems = ["  " + ln for ln in str(exc).splitlines()]
            lines = [f"kind: {kind}", "problems found:", *problems]
        for line in lines:
            click.echo(f"  {line}")
    if bad:
        click.echo(
            f"error: problems found in {bad} of {len(files)} input(s) (described above)", err=True
        )
        sys.exit(ExitCode.BAD_INPUT)
