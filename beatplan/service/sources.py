"""Reading the served data from its source files: the plan and the incidents.

The plan is a folder written by ``realign``, ``reorganise`` or ``design`` (or its GeoPackage),
read with :func:`beatplan.boundaries.read_plan`; or a boundary file of wards with level columns
(``beat``, ``sector``, ``npa``), whose layers are built with
:func:`beatplan.boundaries.hierarchy.build_layers`. The incidents are read with
:func:`beatplan.geo.read_incidents`.

The data version is a hash of the source files' names and contents, so every worker and every
restart gives the same data the same version. The files' sizes and times are compared before
and after reading: a file that changed meanwhile makes the read fail rather than mix old and new.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beatplan.geo.errors import InputFormatError
from beatplan.service.settings import Settings
from beatplan.service.snapshot import Snapshot, frames_from_plan

__all__ = ["SourceFiles", "read_sources", "source_files"]

log = logging.getLogger("beatplan")

#: Bumped when what a version holds changes: old cached versions are then rebuilt.
FORMAT_VERSION = "1"


@dataclass(frozen=True)
class SourceFiles:
    """The files the data comes from, and their sizes and times when listed."""

    plan: tuple[Path, ...]
    incidents: tuple[Path, ...]
    stamp: tuple[tuple[str, int, int], ...]

    def version(self) -> str:
        """Return a hash of the files' names and contents (16 hex digits)."""
        h = hashlib.sha256(f"beatplan-serve {FORMAT_VERSION}\n".encode())
        for group, files in (("plan", self.plan), ("incidents", self.incidents)):
            for f in files:
                h.update(f"{group}\0{f.name}\0".encode())
                with f.open("rb") as fh:
                    h.update(hashlib.file_digest(fh, "sha256").digest())
        return h.hexdigest()[:16]


def _plan_files(plan: Path) -> list[Path]:
    if plan.is_dir():
        files = sorted(p for p in plan.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise InputFormatError(f"{plan}: the plan folder is empty")
        return files
    if not plan.is_file():
        raise InputFormatError(f"{plan}: no such plan folder or boundary file")
    # a Shapefile's parts (and any other sidecar) share the stem
    parts = sorted(p for p in plan.parent.glob(plan.stem + ".*") if p.is_file())
    return parts or [plan]


def source_files(settings: Settings) -> SourceFiles:
    """List the source files now (a folder of incidents may have gained a month)."""
    from beatplan.geo._incident_tables import FOLDER_SUFFIXES
    from beatplan.geo._sources import expand_sources

    plan = _plan_files(settings.plan)
    incidents = (
        expand_sources(list(settings.incidents), suffixes=FOLDER_SUFFIXES)
        if settings.incidents
        else []
    )
    stamp = []
    for f in (*plan, *incidents):
        st = f.stat()
        stamp.append((str(f), st.st_size, st.st_mtime_ns))
    return SourceFiles(tuple(plan), tuple(incidents), tuple(stamp))


def _read_plan(path: Path) -> tuple[Any, Any, tuple[str, ...], str]:
    """Return wards, layers, levels and title of a plan folder or a ward boundary file."""
    from beatplan.options import is_plan, parse_boundary

    if path.is_dir() or is_plan(parse_boundary(path)):
        from beatplan.boundaries.outputs import read_plan

        plan = read_plan(path)
        return plan.wards, plan.layers, tuple(plan.levels), plan.title
    from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, build_layers
    from beatplan.geo import read_boundaries

    wards = read_boundaries(path)
    levels = tuple(c for c in DEFAULT_LEVELS if c in wards.columns)
    if not levels:
        raise InputFormatError(
            f"{path}: neither a plan folder nor a ward file with level columns "
            f"({', '.join(DEFAULT_LEVELS)}); give a folder written by realign/reorganise"
        )
    names = {lv: f"{lv}_name" for lv in levels if f"{lv}_name" in wards.columns}
    layers = build_layers(wards, levels=levels, names=names or None)
    return wards, layers, levels, f"Boundaries read from {path.name}"


def read_sources(settings: Settings, files: SourceFiles | None = None) -> Snapshot:
    """Read the plan and the incidents into a new snapshot.

    ``files`` is what :func:`source_files` listed just before (listed again when not given).

    Raises
    ------
    beatplan.geo.errors.BeatplanError
        A file is missing, unreadable or not what it should be (the message says which), or a
        file changed while it was being read.
    """
    from beatplan.geo import read_incidents

    files = source_files(settings) if files is None else files
    version = files.version()
    wards, layers, levels, title = _read_plan(settings.plan)
    wards, layers = frames_from_plan(wards, layers, levels)
    if files.incidents:
        inc = read_incidents(list(files.incidents))
        points = inc.points
        counts = {"rows_read": inc.rows_read, "rejected": len(inc.rejected)}
    else:
        import geopandas as gpd

        points = gpd.GeoDataFrame({"month": []}, geometry=[], crs=wards.crs)
        counts = {"rows_read": 0, "rejected": 0}
    after = source_files(settings)
    if after.stamp != files.stamp:
        changed = sorted({a[0] for a in set(after.stamp) ^ set(files.stamp)})
        raise InputFormatError(
            "the data files changed while they were being read ("
            + ", ".join(Path(c).name for c in changed[:5])
            + "); reload again once they are written"
        )
    sources = {
        "plan": str(settings.plan),
        "plan_files": [f.name for f in files.plan],
        "incident_files": [f.name for f in files.incidents],
        **counts,
    }
    return Snapshot(version, title, wards, layers, points, sources)
