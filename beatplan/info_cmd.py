"""``beatplan info FILE...``: what a boundary or incident file holds."""

from __future__ import annotations

import logging
from pathlib import Path

import click
import pyogrio

from beatplan.geo.errors import BeatplanError
from beatplan.options import crs_option, handle_errors

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
        return str(pyogrio.read_info(path)["driver"])
    except Exception:  # noqa: BLE001 - the reader reports unreadable files properly
        return "unknown"


def _describe_boundaries(path: Path, crs: str | None) -> list[str]:
    from beatplan.geo import read_boundaries

    gdf = read_boundaries(path, crs=crs)
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


def _describe_incidents(path: Path, crs: str | None) -> list[str]:
    from beatplan.geo import read_incidents

    inc = read_incidents(path, crs=crs)
    return ["kind: incidents (points)", *inc.summary().splitlines()]


@click.command("info")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@crs_option
@handle_errors
def command(files: tuple[Path, ...], crs: str | None) -> None:
    """Describe boundary or incident FILES: format, CRS, counts, columns and problems found."""
    for path in files:
        if not path.exists() and not any(ch in str(path) for ch in "*?["):
            raise FileNotFoundError(f"{path}: no such file or folder")
        click.echo(f"== {path}")
        kind = file_kind(path)
        click.echo(f"  format: {file_format(path)}")
        try:
            describe = _describe_boundaries if kind == "boundaries" else _describe_incidents
            lines = describe(path, crs)
        except BeatplanError as exc:
            logging.getLogger("beatplan").debug("info failed", exc_info=True)
            problems = ["  " + ln for ln in str(exc).splitlines()]
            lines = [f"kind: {kind}", "problems found:", *problems]
        for line in lines:
            click.echo(f"  {line}")
