"""Write a boundary plan (a realignment or a reorganisation) as the files a planner hands on.

:func:`write_plan` writes into one folder:

``boundaries.gpkg``
    Layers ``wards`` (one row per ward: ``id``, ``name``, its area at each level —
    ``beat``, ``sector``, ``npa`` — the areas' names as ``<level>_name``, the wards' other
    columns, ``incidents``/``demand`` when known), one layer per level (``beats``,
    ``sectors``, ``npas``: each area the exact union of its wards) and ``force``.
``boundaries_<layer>.geojson`` / ``boundaries_<layer>.shp``
    The same layers, when asked for (``formats=("gpkg", "geojson", "shp")``).
``crosswalk.csv``
    One row per ward: where it was and where it is now, at each level.
``crosswalk_areas.csv``
    One row per (level, old area, new area) sharing ground: wards, m², shares, incidents.
``changes.csv`` and ``changes.md``
    The change report: per area, old vs new area, demand old vs new and the deviation from
    the level's mean, wards gained and lost, share retained; the marginal wards for review;
    the check results. The Markdown version is for reading.
``review.csv``
    The wards a human should look at (marginal best fits of a realignment).
``checks.csv``
    Every problem the checks found (empty with a header when none).
``plan.json``
    What the folder holds (levels, CRS, exceptions, counts, the summary), so that
    :func:`beatplan.boundaries.reorganise` can start from the folder (``--current DIR``), and
    each file's size and SHA-256 with a ``plan_id`` made of them.

The folder appears whole or not at all: it is written beside ``out_dir`` and swapped into
place (:func:`beatplan.geo.write.atomic_output`), locked while written; :func:`read_plan`
refuses a folder that is not whole (a file missing or different from what ``plan.json``
records). The content is deterministic: rows are sorted by level and id, numbers rounded to
fixed places, no timestamps (the GeoPackage's are pinned) — the same inputs give the same
bytes. CSV text cells are quoted, those a spreadsheet would run as a formula defused with a
leading ``'``; names in ``changes.md`` are escaped.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS

from beatplan.boundaries.plan import BoundaryPlan, area_names
from beatplan.boundaries.report import CheckReport
from beatplan.geo.errors import (
    IncompleteOutputError,
    InputFormatError,
    OutputExistsError,
    check_option,
)
from beatplan.geo.layers import read_boundaries
from beatplan.geo.write import atomic_output, check_output_free, output_paths, write_layers

__all__ = [
    "PLAN_FORMATS",
    "GPKG_NAME",
    "check_plan_free",
    "is_plan_file",
    "is_plan_path",
    "layer_name",
    "md_table",
    "read_plan",
    "write_plan",
]

log = logging.getLogger("beatplan")

#: Output formats of :func:`write_plan` and the suffix of each.
PLAN_FORMATS: dict[str, str] = {
    "gpkg": ".gpkg",
    "geojson": ".geojson",
    "shp": ".shp",
    "kml": ".kml",
}
_FORMAT_ALIASES = {"shapefile": "shp", "geopackage": "gpkg", "json": "geojson"}
#: File name of the GeoPackage (and the stem of the other vector files).
GPKG_NAME = "boundaries.gpkg"
_STEM = "boundaries"
#: The text files of a plan, by key.
_TEXT_KEYS = {
    "crosswalk": "crosswalk.csv",
    "crosswalk_areas": "crosswalk_areas.csv",
    "changes_csv": "changes.csv",
    "changes_md": "changes.md",
    "review": "review.csv",
    "checks": "checks.csv",
    "plan": "plan.json",
}
#: Summary keys that change from run to run (timings) and are left out of plan.json.
_VOLATILE = frozenset({"seconds", "timings", "elapsed"})
#: plan.json's version: 2 adds ``plan_id`` and ``manifest`` (each file's size and SHA-256).
_PLAN_VERSION = 2
_ROUND = {"m2": 1, "share": 6, "retained": 6, "demand": 3, "pct": 2}


def layer_name(level: str) -> str:
    """Return the layer name of a level (``"beat"`` -> ``"beats"``, ``"npa"`` -> ``"npas"``)."""
    if level in ("wards", "force") or level.endswith("s"):
        return level
    return f"{level}s"


# ------------------------------------------------------------------------------ tables
def _wards_layer(plan: BoundaryPlan) -> gpd.GeoDataFrame:
    w = plan.wards
    geom = w.geometry.name
    out = gpd.GeoDataFrame(
        {"id": w[plan.ward_id].astype("string").to_numpy()},
        geometry=gpd.array.GeometryArray(np.asarray(w.geometry.values), crs=w.crs),
    )
    out["name"] = (
        w["name"].astype("string").to_numpy()
        if "name" in w.columns and plan.ward_id != "name"
        else pd.array([None] * len(w), dtype="string")
    )
    for lv in plan.levels:
        out[lv] = w[lv].astype("string").to_numpy()
    for lv in plan.levels:
        m = plan.names.get(lv, {})
        out[f"{lv}_name"] = pd.array([m.get(str(a)) for a in w[lv]], dtype="string")
    skip = {plan.ward_id, "name", geom, *plan.levels, "incidents", "demand", "area_m2"}
    skip |= {f"{lv}_name" for lv in plan.levels}
    for c in w.columns:
        if c not in skip and c not in out.columns:
            out[c] = w[c].to_numpy()
    if plan.ward_counts is not None:
        out["incidents"] = plan.ward_counts[0]
        out["demand"] = plan.ward_counts[1]
    out["area_m2"] = np.round(w.geometry.area.to_numpy(), _ROUND["m2"])
    geom = out.geometry.name
    return out[[c for c in out.columns if c != geom] + [geom]]


def _layers_to_write(plan: BoundaryPlan) -> dict[str, gpd.GeoDataFrame]:
    layers: dict[str, gpd.GeoDataFrame] = {"wards": _wards_layer(plan)}
    for lv in plan.levels:
        layer = plan.layers[lv].copy()
        if "name" not in layer.columns:
            layer.insert(1, "name", pd.array([None] * len(layer), dtype="string"))
        layer = layer.sort_values("id", kind="stable").reset_index(drop=True)
        layers[layer_name(lv)] = _rounded(layer)
    if "force" in plan.layers:
        layers["force"] = _rounded(plan.layers["force"].copy())
    return layers


def _rounded(frame: pd.DataFrame) -> Any:
    """Round float columns to fixed places by what they hold (stable text output)."""
    out = frame.copy()
    for c in out.columns:
        if c == getattr(out, "_geometry_column_name", None):
            continue
        s = out[c]
        if not pd.api.types.is_float_dtype(s.dtype):
            continue
        name = str(c)
        if name.endswith("m2"):
            places = _ROUND["m2"]
        elif "share" in name or name == "retained":
            places = _ROUND["share"]
        elif "pct" in name:
            places = _ROUND["pct"]
        else:
            places = _ROUND["demand"]
        out[c] = s.round(places)
    return out


# ------------------------------------------------------------------------------ markdown
#: Characters Markdown (CommonMark, GitHub) acts on anywhere in a line: each gets a backslash,
#: so a name shows as written and never makes a link, an image, emphasis, code or HTML.
_MD_ACTIVE = re.compile(r"([\\`*_{}\[\]<>()#+!|~&$])")
#: Line breaks of any kind (a name holding one would end a table row or list item).
_MD_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")


def _md_escape(value: Any) -> str:
    """Return ``value`` as Markdown text that shows exactly as written, on one line."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return _MD_ACTIVE.sub(r"\\\1", _MD_BREAKS.sub(" ", str(value)))


def _md_table(frame: pd.DataFrame, columns: Mapping[str, str]) -> list[str]:
    cols = [c for c in columns if c in frame.columns]
    if not len(frame):
        return ["(none)", ""]
    lines = [
        "| " + " | ".join(columns[c] for c in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    for row in frame[cols].itertuples(index=False):
        lines.append("| " + " | ".join(_md_escape(v) for v in row) + " |")
    return lines + [""]


#: A Markdown table of some columns of a frame (shared with the design report).
md_table = _md_table


def _fmt_num(v: Any, places: int = 0) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{float(v):,.{places}f}"


def _fmt_pct(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return f"{float(v):+,.1f}%"


def _names_shown(sub: pd.DataFrame) -> list[str]:
    """Return each row's name, or its old name for a removed area."""
    names = sub["name"] if "name" in sub.columns else pd.Series([None] * len(sub))
    old = sub["old_name"] if "old_name" in sub.columns else pd.Series([None] * len(sub))
    return [
        "" if pd.isna(n) and pd.isna(o) else str(o if pd.isna(n) else n)
        for n, o in zip(names, old, strict=True)
    ]


def _flow_lines(sub: pd.DataFrame) -> list[str]:
    """List the wards each area gained and lost, and where new and removed areas came from."""
    lines = []
    for r in sub.to_dict("records"):
        has_id = isinstance(r.get("id"), str)
        label = r["id"] if has_id else f"({r.get('old_id')})"
        bits = []
        status = r.get("status")
        if status == "new" and isinstance(r.get("from"), str):
            bits.append(f"new, its wards from {r['from']}")
        elif status == "removed" and isinstance(r.get("to"), str):
            bits.append(f"removed, its wards to {r['to']}")
        if isinstance(r.get("wards_gained"), str) and r["wards_gained"]:
            bits.append(f"gained {r['wards_gained']}")
        if isinstance(r.get("wards_lost"), str) and r["wards_lost"]:
            bits.append(f"lost {r['wards_lost']}")
        if bits:
            lines.append(f"- {_md_escape(label)}: " + "; ".join(_md_escape(b) for b in bits))
    if not lines:
        return []
    return ["Where the wards went:", "", *lines, ""]


def _title(level: str) -> str:
    """Return the heading of a level's section (``"npa"`` -> ``"NPAs"``)."""
    if level.lower() in ("npa", "lpa", "bcu"):
        return f"{level.upper()}s"
    return layer_name(level).capitalize()


def _id_labels(sub: pd.DataFrame) -> list[str]:
    """Return each row's area id, or ``(old id)`` for a removed area."""
    ids = sub["id"].astype("string")
    old = sub["old_id"].astype("string") if "old_id" in sub.columns else ids
    return [
        str(i) if not pd.isna(i) else f"({o if not pd.isna(o) else '?'})"
        for i, o in zip(ids, old, strict=True)
    ]


def _markdown(plan: BoundaryPlan, files: Sequence[str]) -> str:
    lines = [f"# {_md_escape(plan.title)}", ""]
    lines += ["## Summary", ""]
    lines += [f"    {ln}" for ln in plan.describe().splitlines()] + [""]
    lines.append(
        f"Levels (small to large): ward ⊂ {' ⊂ '.join(map(_md_escape, plan.levels))} ⊂ force."
    )
    lines.append("")
    lines += _md_steps(plan.steps)
    for lv in plan.levels:
        lines += _md_level(lv, plan.changes[plan.changes["level"] == lv].copy())
    lines += _md_review(plan)
    lines += _md_checks(plan.checks, _declared(plan))
    if plan.warnings:
        lines += ["## Notes", ""]
        lines += [f"- {_md_escape(w)}" for w in plan.warnings] + [""]
    lines += ["## Files", ""]
    lines += [f"- `{f}`" for f in files] + [""]
    if plan.summary.get("spec_source"):
        lines += [f"Spec: {_md_escape(plan.summary['spec_source'])}", ""]
    return "\n".join(lines)


def _md_steps(steps: pd.DataFrame | None) -> list[str]:
    """List the changes applied (nothing for a plan that applied no spec)."""
    if steps is None or not len(steps):
        return []
    columns = {"step": "step", "op": "op", "level": "level", "area": "area"}
    columns |= {"n_wards": "wards", "detail": "what"}
    return ["## Changes applied", "", *_md_table(steps, columns)]


def _md_level(lv: str, sub: pd.DataFrame) -> list[str]:
    """One level's section: a row per area, old against new, then where the wards went."""
    with_old = "n_wards_old" in sub.columns
    view = pd.DataFrame(
        {
            "id": _id_labels(sub),
            "name": _names_shown(sub),
            "status": sub["status"],
            "wards": (
                [_arrow(a, b) for a, b in zip(sub["n_wards_old"], sub["n_wards"], strict=True)]
                if with_old
                else [_fmt_num(b) for b in sub["n_wards"]]
            ),
            "gained": sub.get("n_gained"),
            "lost": sub.get("n_lost"),
            "km2": [
                f"{_fmt_num(a / 1e6 if pd.notna(a) else None, 2)} → "
                f"{_fmt_num(b / 1e6 if pd.notna(b) else None, 2)}"
                for a, b in zip(sub["area_old_m2"], sub["area_new_m2"], strict=True)
            ],
            "retained": ["-" if pd.isna(v) else f"{100 * float(v):.1f}%" for v in sub["retained"]],
        }
    )
    cols = {
        "id": "id",
        "name": "name",
        "status": "status",
        "wards": "wards old → new" if with_old else "wards",
        "gained": "gained",
        "lost": "lost",
        "km2": "km² old → new",
        "retained": "retained",
    }
    if "demand_new" in sub.columns:
        view["incidents"] = [
            _arrow(a, b) for a, b in zip(sub["incidents_old"], sub["incidents_new"], strict=True)
        ]
        view["dev"] = [
            f"{_fmt_pct(a)} → {_fmt_pct(b)}"
            for a, b in zip(sub["deviation_pct_old"], sub["deviation_pct"], strict=True)
        ]
        cols["incidents"] = "incidents old → new"
        cols["dev"] = "vs level mean old → new"
    return [f"## {_title(lv)}", "", *_md_table(view, cols), *_flow_lines(sub)]


def _arrow(a: Any, b: Any) -> str:
    return f"{_fmt_num(a)} → {_fmt_num(b)}"


def _md_review(plan: BoundaryPlan) -> list[str]:
    """List the wards for review (a reorganisation has none)."""
    lines = ["## Marginal wards for review", ""]
    if not len(plan.review):
        note = " A reorganisation moves only the wards the spec names."
        return [*lines, "None." + (note if plan.kind == "reorganise" else ""), ""]
    shown = ("ward", "name", plan.levels[0], "share", "runner_up", "runner_up_share", "reason")
    cols = {c: c for c in shown if c in plan.review.columns}
    return lines + _md_table(_rounded(plan.review), cols)


def _md_checks(checks: CheckReport, exceptions: Mapping[str, Sequence[str]]) -> list[str]:
    """Say which checks ran, what they found, and the declared exceptions."""
    lines = ["## Checks", ""]
    lines.append(
        f"Checks run: {', '.join(checks.checks)}. "
        + (
            "All passed."
            if not checks.problems
            else f"{len(checks.errors)} error(s), {len(checks.warnings)} warning(s)."
        )
    )
    lines.append("")
    for p in checks.problems:
        lines.append(
            f"- **{p.severity}** {p.check} ({_md_escape(p.level)}): {_md_escape(p.message)}"
        )
    if checks.problems:
        lines.append("")
    if exceptions:
        lines += ["Declared exceptions (allowed to be non-contiguous):", ""]
        for lv, ids in exceptions.items():
            lines.append(f"- {_md_escape(lv)}: {_md_escape(', '.join(ids))}")
        lines.append("")
    return lines


def _declared(plan: BoundaryPlan) -> dict[str, list[str]]:
    """Return the plan's exceptions as written: sorted ids, levels with none left out."""
    return {k: sorted(v) for k, v in plan.exceptions.items() if v}


# ------------------------------------------------------------------------------ writing
def _jsonable(v: Any) -> Any:
    if isinstance(v, Mapping):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple | set | frozenset):
        items = sorted(v, key=str) if isinstance(v, set | frozenset) else v
        return [_jsonable(x) for x in items]
    if isinstance(v, np.generic):
        return _jsonable(v.item())
    if isinstance(v, float):
        return None if not math.isfinite(v) else round(v, 6)
    if v is pd.NA or v is None:
        return None
    if isinstance(v, int | str | bool):
        return v
    return str(v)


#: What a spreadsheet reads as a formula at the start of a cell (OWASP "CSV injection"); a
#: leading quote is added to such text, and to text that starts with a quote, so that reading
#: back takes exactly one quote off.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _csv_text(frame: pd.DataFrame) -> str:
    """Return ``frame`` as CSV text: numbers rounded, text that a spreadsheet runs defused."""
    out = _rounded(frame)
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.StringDtype):
            out[c] = _defused(out[c])
    # every text cell in quotes (OWASP's advice too): a name holding a CR or a line break
    # stays one cell, where a bare CR would end the row for most readers
    return str(out.to_csv(index=False, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC))


def _defused(col: pd.Series) -> pd.Series:
    """Put ``'`` before text starting with ``= + - @``, a tab, a CR or ``'`` (not numbers)."""
    text = col.astype("string")
    risky = text.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
    if not risky.any():
        return col
    out = col.astype(object).copy()
    out[risky] = "'" + text[risky].astype(str)
    return out


def _undefused(col: pd.Series) -> pd.Series:
    """Undo :func:`_defused` on text read back: take one leading ``'`` off."""
    text = col.astype("string")
    quoted = text.str.startswith("'").fillna(False)
    return text.where(~quoted, text.str.slice(1)) if quoted.any() else col


def write_plan(
    out_dir: str | os.PathLike[str],
    plan: BoundaryPlan,
    *,
    formats: Sequence[str] = ("gpkg",),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a boundary plan as boundary files, crosswalks and a report: whole, or not at all.

    Parameters
    ----------
    out_dir : str or path-like
        The folder to write (created if missing). An existing folder may be empty or hold a
        plan; it is replaced whole.
    plan : BoundaryPlan
        What :func:`beatplan.boundaries.realign` or :func:`beatplan.boundaries.reorganise`
        returned, or :func:`read_plan` read.
    formats : sequence of str, default ("gpkg",)
        Vector formats: ``"gpkg"`` (always written: :func:`beatplan.boundaries.reorganise` reads it
        back), ``"geojson"``, ``"shp"`` (``"shapefile"``) and ``"kml"``; one file per layer for
        GeoJSON and Shapefile (``boundaries_npas.geojson`` ...).
    overwrite : bool, default False
        Replace an existing plan; without it an existing plan is an error and nothing is
        written.

    Returns
    -------
    dict of str to pathlib.Path
        ``"gpkg"``, ``"geojson:<layer>"``, ``"shp:<layer>"``, ``"kml"``, ``"crosswalk"``,
        ``"crosswalk_areas"``, ``"changes_csv"``, ``"changes_md"``, ``"review"``,
        ``"checks"`` and ``"plan"`` -> the file written.

    Raises
    ------
    InputFormatError
        ``plan`` is not a :class:`BoundaryPlan`.
    OptionError
        An unknown format (the valid ones are listed).
    OutputExistsError
        A plan is there and ``overwrite`` is False; ``out_dir`` is a file, or a folder holding
        files that are not part of a plan.
    OutputLockedError
        Another process is writing ``out_dir`` now.
    OutputWriteError
        The folder could not be written (no space, no permission ...).

    Notes
    -----
    The folder is written beside ``out_dir`` under a hidden name and swapped into place
    (:func:`beatplan.geo.write.atomic_output`), so a reader sees the old plan or the new one,
    never a mix, even when the writer is killed. ``plan.json`` records every file's size and
    SHA-256 and a ``plan_id`` made of them; :func:`read_plan` checks them.

    Examples
    --------
    >>> r = reorganise(wards, "spec.yaml")  # doctest: +SKIP
    >>> files = write_plan("plan-2020", r, formats=["gpkg", "geojson"])  # doctest: +SKIP
    >>> files["gpkg"].name  # doctest: +SKIP
    'boundaries.gpkg'
    """
    if not isinstance(plan, BoundaryPlan):
        raise InputFormatError(
            "write_plan: expected the result of beatplan.realign, beatplan.reorganise or "
            f"read_plan (a BoundaryPlan), got {type(plan).__name__}"
        )
    fmts = _formats(formats)
    out = Path(out_dir)
    check_plan_free(out, overwrite=overwrite)  # before any work
    layers = _layers_to_write(plan)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(out, overwrite=overwrite, folder=True, owned=is_plan_file) as stage:
        vector = {f: stage / f"{_STEM}{PLAN_FORMATS[f]}" for f in fmts}
        staged = _targets(stage, vector, list(layers))
        extra = plan.extra_files()  # a design's design.csv and design.md
        staged.update({name.replace(".", "_"): stage / name for name in extra})
        for path in vector.values():
            write_layers(path, layers)
        files = sorted(str(p.relative_to(stage)) for p in staged.values())
        tables = {
            "crosswalk": plan.crosswalk,
            "crosswalk_areas": plan.area_crosswalk,
            "changes_csv": plan.changes,
            "review": plan.review,
            "checks": plan.checks.to_frame(),
        }
        for k, frame in tables.items():
            _put(staged[k], _csv_text(frame))
        _put(staged["changes_md"], _markdown(plan, files))
        for name, text in extra.items():
            _put(staged[name.replace(".", "_")], text)
        about = _manifest(plan, layers, files, _checksums(stage))
        _put(staged["plan"], json.dumps(_jsonable(about), indent=2, ensure_ascii=False) + "\n")
    log.info("wrote the plan (%d files) to %s", len(staged), out)
    return {k: out / p.relative_to(stage) for k, p in staged.items()}


def check_plan_free(out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> None:
    """Fail early when a plan folder cannot be written: it holds a plan, or is not a plan's.

    Parameters
    ----------
    out_dir : str or path-like
        The folder :func:`write_plan` will write.
    overwrite : bool, default False
        Replacing a plan is allowed.

    Raises
    ------
    OutputExistsError
        The folder holds a plan and ``overwrite`` is False; it is a file; or it holds files
        that are not part of a plan (the folder is replaced whole, so they would be lost).
    """
    out = Path(out_dir)
    found = [n for n in (GPKG_NAME, "plan.json", "changes.md") if (out / n).exists()]
    if found and not overwrite and out.is_dir():
        raise OutputExistsError(
            f"{out}: already holds a plan ({', '.join(found)}); pass --overwrite (overwrite=True) "
            "to replace it, or choose another folder"
        )
    check_output_free(out, overwrite=overwrite, folder=True, owned=is_plan_file)


def _put(path: Path, text: str) -> None:
    """Write ``text`` as UTF-8 with its own line ends (inside the staging folder)."""
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(text)


#: The names a plan folder may hold: what write_plan writes (every format), and what GDAL and
#: GIS tools leave beside those files (SQLite journals, Shapefile indexes).
_PLAN_FILE = re.compile(
    r"^(?:boundaries(?:_[\w.\-]+)?\.(?:gpkg(?:-wal|-shm|-journal)?|geojson|kml|shp|shx|dbf|"
    r"prj|cpg|qix|sbn|sbx|shp\.xml)|crosswalk\.csv|crosswalk_areas\.csv|changes\.csv|"
    r"changes\.md|review\.csv|checks\.csv|plan\.json|design\.csv|design\.md|\.DS_Store|"
    r"Thumbs\.db|desktop\.ini)$"
)


def is_plan_path(path: str | os.PathLike[str]) -> bool:
    """Say whether ``path`` names a whole plan: its folder, or its GeoPackage.

    A folder is a plan's when it holds ``boundaries.gpkg`` or ``plan.json``; a GeoPackage when
    ``plan.json`` sits beside it or it holds ``wards`` and ``force`` layers (what
    :func:`write_plan` writes). A ward file whose one layer is called ``wards`` is not a plan.

    Examples
    --------
    >>> is_plan_path("no/such/folder")
    False
    """
    p = Path(path)
    if p.is_dir():
        return (p / GPKG_NAME).is_file() or (p / "plan.json").is_file()
    if p.suffix.lower() != ".gpkg" or not p.is_file():
        return False
    if (p.parent / "plan.json").is_file():
        return True
    try:
        names = {str(n) for n in pyogrio.list_layers(p)[:, 0]}
    except Exception:  # noqa: BLE001 - the reader reports an unreadable file properly
        return False
    return {"wards", "force"} <= names


def is_plan_file(name: str) -> bool:
    """Say whether a file name belongs in a plan folder (what :func:`write_plan` replaces).

    Examples
    --------
    >>> is_plan_file("boundaries_npas.geojson"), is_plan_file("notes.docx")
    (True, False)
    """
    return bool(_PLAN_FILE.match(name))


def _checksums(folder: Path) -> dict[str, dict[str, Any]]:
    """Size and SHA-256 of every file in ``folder`` (names relative to it, sorted)."""
    out: dict[str, dict[str, Any]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            out[p.relative_to(folder).as_posix()] = {
                "bytes": p.stat().st_size,
                "sha256": _sha256(p),
            }
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _plan_id(checksums: Mapping[str, Mapping[str, Any]]) -> str:
    """Return an id made of the files' checksums: the same files, the same id."""
    text = "".join(f"{k} {v['sha256']}\n" for k, v in sorted(checksums.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _formats(formats: Sequence[str]) -> list[str]:
    """Check the formats asked for; the GeoPackage always comes first."""
    if isinstance(formats, str):
        formats = [formats]
    fmts = ["gpkg"]
    for f in formats:
        key = _FORMAT_ALIASES.get(str(f).lower(), str(f).lower())
        check_option("formats", key, PLAN_FORMATS)
        if key not in fmts:
            fmts.append(key)
    return fmts


def _targets(out: Path, vector: Mapping[str, Path], layers: list[str]) -> dict[str, Path]:
    """Every file the plan writes, by key (``"gpkg"``, ``"geojson:npas"``, ``"crosswalk"`` ...)."""
    targets: dict[str, Path] = {}
    for f, path in vector.items():
        paths = output_paths(path, layers)
        for name, p in paths.items():
            key = f if len(set(paths.values())) == 1 else f"{f}:{name}"
            targets[key] = p
    for k, name in _TEXT_KEYS.items():
        targets[k] = out / name
    return targets


def _manifest(
    plan: BoundaryPlan,
    layers: Mapping[str, gpd.GeoDataFrame],
    files: list[str],
    checksums: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """Return what ``plan.json`` says: kind, levels, CRS, layers, checks, summary, files."""
    return {
        "format": "beatplan-plan",
        "version": _PLAN_VERSION,
        "plan_id": _plan_id(checksums),
        "kind": plan.kind,
        "title": plan.title,
        "levels": list(plan.levels),
        "ward_id": "id",
        "crs": _crs_text(plan.wards.crs),
        "layers": {name: int(len(layer)) for name, layer in layers.items()},
        "exceptions": _declared(plan),
        "checks": {
            "ok": plan.checks.ok,
            "run": list(plan.checks.checks),
            "errors": len(plan.checks.errors),
            "warnings": len(plan.checks.warnings),
        },
        "summary": {k: v for k, v in plan.summary.items() if k not in _VOLATILE},
        "files": files,
        "manifest": dict(checksums),
    }


def _crs_text(crs: Any) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


# ------------------------------------------------------------------------------ reading
def read_plan(path: str | os.PathLike[str]) -> BoundaryPlan:
    """Read a plan written by :func:`write_plan` (its folder or its ``boundaries.gpkg``).

    Parameters
    ----------
    path : str or path-like
        The folder, or the GeoPackage in it (any GeoPackage with a ``wards`` layer whose
        level columns match its other layers' names, e.g. ``beat`` for ``beats``).

    Returns
    -------
    BoundaryPlan
        The plan as written: the ``wards`` layer (``id``, ``name``, the level columns,
        ``<level>_name``, the other columns, in the file's CRS) as :attr:`~BoundaryPlan.wards`,
        the level and ``force`` layers, the crosswalks, change report, wards for review and
        checks from the CSV files (empty when the folder has none), and ``plan.json``'s
        kind, title, exceptions and summary.

    Raises
    ------
    InputFormatError
        No such folder or file, no ``wards`` layer, or no level can be found.
    IncompleteOutputError
        The folder is not a whole plan: no ``plan.json`` (an interrupted write), a file it
        lists is missing, or a file differs from what it records (a mix of two writes, or a
        file changed since). The message names the file and what differs.

    Notes
    -----
    A GeoPackage given alone, with no ``plan.json`` beside it, is read on its own (its CSV
    neighbours, which nothing vouches for, are not read).
    """
    gpkg, folder = _plan_paths(path)
    manifest = _read_manifest(folder / "plan.json")
    _check_whole(Path(path), folder, manifest)
    names = _gpkg_layers(gpkg)
    wards = read_boundaries(gpkg, layer="wards", id_col="id", name_col="name", to_crs=None)
    levels = _plan_levels(gpkg, names, manifest, wards)
    layers = {
        lv: _read_layer(gpkg, layer_name(lv), levels)
        for lv in (*levels, "force")
        if layer_name(lv) in names
    }
    declared = manifest.get("exceptions") or {}
    checks = manifest.get("checks") or {}
    text = {"ward", "name", "level", "id", *levels, *(f"{lv}_old" for lv in levels)}
    tables = folder if manifest else None  # CSVs are read only when plan.json vouches for them
    return BoundaryPlan(
        wards=wards,
        levels=levels,
        layers=layers,
        crosswalk=_read_csv(tables, "crosswalk.csv", text),
        area_crosswalk=_read_csv(tables, "crosswalk_areas.csv", text),
        changes=_read_csv(tables, "changes.csv", text),
        review=_read_csv(tables, "review.csv", text),
        checks=_read_checks(tables, checks.get("run") or []),
        summary=dict(manifest.get("summary") or {}),
        kind=str(manifest.get("kind") or "plan"),
        title=str(manifest.get("title") or f"Boundary plan read from {gpkg}"),
        ward_id="id",
        names=area_names(layers, levels),
        exceptions={str(k): frozenset(map(str, v)) for k, v in declared.items()},
        crs=CRS.from_user_input(wards.crs) if wards.crs is not None else None,
    )


def _check_whole(given: Path, folder: Path, manifest: Mapping[str, Any]) -> None:
    """Refuse a plan folder that is not whole: no plan.json, or files it does not vouch for."""
    again = "write the plan again (beatplan realign/reorganise --out ... --overwrite)"
    if not manifest:
        if given.is_dir():
            raise IncompleteOutputError(
                f"{folder}: holds {GPKG_NAME} but no plan.json, so it is not a whole plan "
                f"(an interrupted write, or files copied in by hand); {again}, or give the "
                f"GeoPackage itself ({folder / GPKG_NAME}) to read its layers alone"
            )
        return
    recorded = manifest.get("manifest")
    if recorded is None:  # written before plan.json recorded its files: nothing to check
        log.info("%s: plan.json lists no checksums (an older plan); not checked", folder)
        return
    if not isinstance(recorded, Mapping):
        raise IncompleteOutputError(f"{folder / 'plan.json'}: its manifest is not a mapping")
    for name, want in sorted(recorded.items()):
        f = folder / name
        if not f.is_file():
            raise IncompleteOutputError(
                f"{folder}: {name} is missing, though plan.json lists it (plan "
                f"{manifest.get('plan_id')}): the folder is not a whole plan; {again}"
            )
        size = f.stat().st_size
        if size != want.get("bytes") or _sha256(f) != want.get("sha256"):
            what = (
                f"{size:,} bytes where plan.json records {want.get('bytes'):,}"
                if size != want.get("bytes") and isinstance(want.get("bytes"), int)
                else "its content differs from the SHA-256 plan.json records"
            )
            raise IncompleteOutputError(
                f"{folder}: {name} does not belong to this plan ({what}; plan "
                f"{manifest.get('plan_id')}): the folder mixes two writes or the file was "
                f"changed since; {again}"
            )


def _plan_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return the GeoPackage and the folder of a plan given as either."""
    p = Path(path)
    gpkg, folder = (p / GPKG_NAME, p) if p.is_dir() else (p, p.parent)
    if not gpkg.is_file() and (folder / "plan.json").is_file():
        raise IncompleteOutputError(
            f"{folder}: has plan.json but no {GPKG_NAME}: the folder is not a whole plan; "
            "write the plan again (beatplan realign/reorganise --out ... --overwrite)"
        )
    if not gpkg.is_file():
        raise InputFormatError(
            f"{path}: no {GPKG_NAME} found; give a folder written by write_plan "
            "(beatplan realign/reorganise --out) or its GeoPackage"
        )
    return gpkg, folder


def _gpkg_layers(gpkg: Path) -> list[str]:
    """Return the layer names of a plan's GeoPackage, which must hold ``wards``."""
    try:
        names = [str(n) for n in pyogrio.list_layers(gpkg)[:, 0]]
    except Exception as exc:  # noqa: BLE001 - GDAL's errors vary
        raise InputFormatError(f"{gpkg}: cannot be read as a GeoPackage ({exc})") from exc
    if "wards" not in names:
        raise InputFormatError(
            f"{gpkg}: has no 'wards' layer (layers: {', '.join(names)}); it was not written by "
            "write_plan"
        )
    return names


def _read_layer(gpkg: Path, layer: str, levels: Sequence[str]) -> gpd.GeoDataFrame:
    """Read a level (or the force) layer of a plan: ids, names and the levels above as text."""
    frame = pyogrio.read_dataframe(gpkg, layer=layer)
    for c in ("id", "name", *levels):
        if c in frame.columns:
            frame[c] = frame[c].astype("string")
    return frame


def _read_manifest(path: Path) -> dict[str, Any]:
    """Read ``plan.json`` (an empty dict when the folder has none)."""
    if not path.is_file():
        return {}
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputFormatError(f"{path}: not valid JSON ({exc})") from exc
    return manifest


def _plan_levels(
    gpkg: Path, names: Sequence[str], manifest: Mapping[str, Any], wards: pd.DataFrame
) -> tuple[str, ...]:
    """Return the levels: ``plan.json``'s, else those of the layers the wards name."""
    if isinstance(manifest.get("levels"), list) and manifest["levels"]:
        levels = tuple(str(x) for x in manifest["levels"])
    else:
        levels = tuple(
            lv
            for n in names
            if n not in ("wards", "force")
            for lv in (n[:-1] if n.endswith("s") else n,)
            if lv in wards.columns
        )
    missing = [lv for lv in levels if lv not in wards.columns]
    if not levels or missing:
        raise InputFormatError(
            f"{gpkg}: cannot tell the levels of the wards layer (levels {list(levels)}, columns "
            f"{', '.join(map(str, wards.columns))}); write it with write_plan"
        )
    return levels


#: Text columns of the plan's CSV files (besides the levels): read as text, never as numbers.
_TEXT_COLUMNS = frozenset(
    {
        "old_id",
        "old_name",
        "new_id",
        "new_name",
        "status",
        "from",
        "to",
        "wards_gained",
        "wards_lost",
        "runner_up",
        "basis",
        "reason",
        "changed",
        "renamed",
        "area",
    }
)


def _read_csv(folder: Path | None, name: str, text: set[str]) -> pd.DataFrame:
    """Read a table :func:`write_plan` wrote: ids and names as text, flags as bool."""
    path = None if folder is None else folder / name
    if path is None or not path.is_file():
        return pd.DataFrame()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    for c in frame.columns:
        col = _undefused(frame[c])
        if c in text or c in _TEXT_COLUMNS:
            frame[c] = col.astype("string")
        elif len(col.dropna()) and col.dropna().isin(["True", "False"]).all():
            frame[c] = col == "True"
        else:
            try:
                number = pd.to_numeric(col)
            except ValueError:
                frame[c] = col.astype("string")
                continue
            whole = not col.dropna().str.contains(r"[.eE]", regex=True).any()
            frame[c] = number.astype("Int64") if whole and number.isna().any() else number
    return frame


def _read_checks(folder: Path | None, run: Sequence[str]) -> CheckReport:
    """Read the checks a plan ran (``plan.json``) and what they found (``checks.csv``)."""
    report = CheckReport(checks=[str(c) for c in run])
    path = None if folder is None else folder / "checks.csv"
    if path is None or not path.is_file():
        return report
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = frame.apply(_undefused)
    for r in frame.itertuples(index=False):
        ids = [i for i in str(r.ids).split(";") if i]
        report.add(str(r.check), str(r.level), ids, str(r.message), severity=str(r.severity))
    return report
