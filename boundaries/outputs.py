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
    :func:`beatplan.boundaries.reorganise` can start from the folder (``--current DIR``).

Nothing is written unless every output is free (or ``overwrite=True``); each file is
written to a temporary name and renamed into place. The content is deterministic: rows are
sorted by level and id, numbers rounded to fixed places, no timestamps — the same inputs give
the same files.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from beatplan.boundaries._changes import area_crosswalk
from beatplan.boundaries.demand import deviation_pct
from beatplan.boundaries.report import CheckReport
from beatplan.geo.errors import InputFormatError, OutputExistsError, check_option
from beatplan.geo.layers import read_boundaries
from beatplan.geo.write import output_paths, write_layers, write_text

__all__ = [
    "PLAN_FORMATS",
    "GPKG_NAME",
    "PlanFiles",
    "layer_name",
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
_TEXT_FILES = (
    "crosswalk.csv",
    "crosswalk_areas.csv",
    "changes.csv",
    "changes.md",
    "review.csv",
    "checks.csv",
    "plan.json",
)
#: Summary keys that change from run to run (timings) and are left out of plan.json.
_VOLATILE = frozenset({"seconds", "timings", "elapsed"})
_ROUND = {"m2": 1, "share": 6, "retained": 6, "demand": 3, "pct": 2}


def layer_name(level: str) -> str:
    """Return the layer name of a level (``"beat"`` -> ``"beats"``, ``"npa"`` -> ``"npas"``)."""
    if level in ("wards", "force") or level.endswith("s"):
        return level
    return f"{level}s"


# ------------------------------------------------------------------------------ adapter
@dataclass
class _Plan:
    """What :func:`write_plan` needs, from either kind of result."""

    kind: str
    title: str
    levels: tuple[str, ...]
    ward_id: str
    wards: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame]
    names: dict[str, dict[str, str]]
    changes: pd.DataFrame
    crosswalk: pd.DataFrame
    area_crosswalk: pd.DataFrame
    review: pd.DataFrame
    checks: CheckReport
    summary: dict[str, Any]
    describe: str
    steps: pd.DataFrame | None = None
    exceptions: dict[str, list[str]] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    ward_counts: tuple[np.ndarray, np.ndarray] | None = None


def _layer_names(layers: Mapping[str, gpd.GeoDataFrame], levels: Sequence[str]) -> dict:
    out: dict[str, dict[str, str]] = {}
    for lv in levels:
        layer = layers.get(lv)
        if layer is not None and "name" in layer.columns:
            pairs = layer[["id", "name"]].dropna()
            out[lv] = {str(a): str(b) for a, b in zip(pairs["id"], pairs["name"], strict=True)}
        else:
            out[lv] = {}
    return out


def _from_realignment(r: Any) -> _Plan:
    levels = tuple(r.levels)
    wards = r.wards
    ward_id = str(wards.columns[0])
    names = _layer_names(r.areas, levels)
    changes = r.changes.copy()
    if "name" not in changes.columns:
        changes.insert(
            2,
            "name",
            pd.array(
                [
                    names.get(lv, {}).get(str(i))
                    for lv, i in zip(changes["level"], changes["id"], strict=True)
                ],
                dtype="string",
            ),
        )  # fmt: skip
    for col, src in (("deviation_pct_old", "demand_old"), ("deviation_pct", "demand_new")):
        if src in changes.columns and col not in changes.columns:
            changes[col] = changes.groupby("level")[src].transform(deviation_pct)
    assignment = r.assignment
    review = assignment[assignment["review"].astype(bool)].copy()
    pieces = r.pieces
    area_xw = _pieces_crosswalk(pieces, wards, ward_id, levels, names)
    counts = None
    if "incidents" in assignment.columns and "demand" in assignment.columns:
        counts = (
            assignment["incidents"].to_numpy(dtype=np.int64),
            assignment["demand"].to_numpy(dtype=float),
        )
    s = r.summary
    return _Plan(
        kind="realign",
        title=f"Realignment of {levels[0]} areas to {s.get('wards', len(wards))} wards by {r.by}",
        levels=levels,
        ward_id=ward_id,
        wards=wards,
        layers=r.areas,
        names=names,
        changes=changes,
        crosswalk=assignment,
        area_crosswalk=area_xw,
        review=review,
        checks=r.checks,
        summary=s,
        describe=r.describe(),
        exceptions={},
        warnings=tuple(r.warnings),
        ward_counts=counts,
    )


def _pieces_crosswalk(
    pieces: pd.DataFrame,
    wards: pd.DataFrame,
    ward_id: str,
    levels: Sequence[str],
    names: Mapping[str, Mapping[str, str]],
) -> pd.DataFrame:
    """Old area -> new area, from the overlap pieces of a realignment."""
    frames = []
    for lv in levels:
        p = pieces[pieces["level"] == lv] if "level" in pieces.columns else pieces
        if not len(p):
            continue
        new = pd.Series(wards[lv].to_numpy(), index=wards[ward_id].astype(str).to_numpy())
        df = pd.DataFrame(
            {
                "old_id": p["area"].astype("string").fillna("(none)").to_numpy(),
                "new_id": new.reindex(p["ward"].astype(str).to_numpy()).to_numpy(),
                "ward": p["ward"].to_numpy(),
                "area_m2": p["area_m2"].to_numpy(dtype=float),
            }
        )
        inc = None
        if "incidents" in p.columns:
            inc = pd.to_numeric(p["incidents"], errors="coerce").fillna(0).to_numpy()
        m = names.get(lv, {})
        x = area_crosswalk(lv, df["old_id"], df["new_id"], df["ward"], df["area_m2"], inc, m, m)
        frames.append(x)
    if not frames:
        return pd.DataFrame(columns=["level", "old_id", "old_name", "new_id", "new_name"])
    return pd.concat(frames, ignore_index=True)


def _from_reorganisation(r: Any) -> _Plan:
    counts = None
    if "incidents" in r.crosswalk.columns:
        counts = (
            r.crosswalk["incidents"].to_numpy(dtype=np.int64),
            r.crosswalk["demand"].to_numpy(dtype=float),
        )
    s = r.summary
    title = s.get("spec_name") or (
        "Reorganisation" if s.get("steps") else "Boundary plan (no change applied)"
    )
    return _Plan(
        kind="reorganise",
        title=str(title),
        levels=tuple(r.levels),
        ward_id=r.ward_id,
        wards=r.wards,
        layers=r.layers,
        names=r.names,
        changes=r.changes,
        crosswalk=r.crosswalk,
        area_crosswalk=r.area_crosswalk,
        review=r.review,
        checks=r.checks,
        summary=s,
        describe=r.describe(),
        steps=r.steps,
        exceptions={k: sorted(v) for k, v in r.exceptions.items() if v},
        warnings=tuple(r.warnings),
        ward_counts=counts,
    )


def _adapt(result: Any) -> _Plan:
    if hasattr(result, "assignment") and hasattr(result, "areas"):
        return _from_realignment(result)
    if hasattr(result, "crosswalk") and hasattr(result, "layers"):
        return _from_reorganisation(result)
    raise InputFormatError(
        "write_plan: expected the result of beatplan.realign or beatplan.reorganise, got "
        f"{type(result).__name__}"
    )


# ------------------------------------------------------------------------------ tables
def _wards_layer(plan: _Plan) -> gpd.GeoDataFrame:
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


def _layers_to_write(plan: _Plan) -> dict[str, gpd.GeoDataFrame]:
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
def _md_escape(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    text = str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


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


def _markdown(plan: _Plan, files: Sequence[str]) -> str:
    s = plan.summary
    lines = [f"# {plan.title}", ""]
    lines += ["## Summary", ""]
    lines += [f"    {ln}" for ln in plan.describe.splitlines()] + [""]
    lines.append(f"Levels (small to large): ward ⊂ {' ⊂ '.join(plan.levels)} ⊂ force.")
    lines.append("")
    if plan.steps is not None and len(plan.steps):
        lines += ["## Changes applied", ""]
        lines += _md_table(
            plan.steps,
            {
                "step": "step",
                "op": "op",
                "level": "level",
                "area": "area",
                "n_wards": "wards",
                "detail": "what",
            },
        )
    ch = plan.changes
    has_demand = "demand_new" in ch.columns
    for lv in plan.levels:
        sub = ch[ch["level"] == lv].copy()
        lines += [f"## {_title(lv)}", ""]
        view = pd.DataFrame(
            {
                "id": _id_labels(sub),
                "name": _names_shown(sub),
                "status": sub["status"],
                "wards": (
                    [
                        f"{_fmt_num(a)} → {_fmt_num(b)}"
                        for a, b in zip(sub["n_wards_old"], sub["n_wards"], strict=True)
                    ]
                    if "n_wards_old" in sub.columns
                    else [_fmt_num(b) for b in sub["n_wards"]]
                ),
                "gained": sub.get("n_gained"),
                "lost": sub.get("n_lost"),
                "km2": [
                    f"{_fmt_num(a / 1e6 if pd.notna(a) else None, 2)} → "
                    f"{_fmt_num(b / 1e6 if pd.notna(b) else None, 2)}"
                    for a, b in zip(sub["area_old_m2"], sub["area_new_m2"], strict=True)
                ],
                "retained": [
                    "-" if pd.isna(v) else f"{100 * float(v):.1f}%" for v in sub["retained"]
                ],
            }
        )
        cols = {
            "id": "id",
            "name": "name",
            "status": "status",
            "wards": "wards old → new" if "n_wards_old" in sub.columns else "wards",
            "gained": "gained",
            "lost": "lost",
            "km2": "km² old → new",
            "retained": "retained",
        }
        if has_demand:
            view["incidents"] = [
                f"{_fmt_num(a)} → {_fmt_num(b)}"
                for a, b in zip(sub["incidents_old"], sub["incidents_new"], strict=True)
            ]
            view["dev"] = [
                f"{_fmt_pct(a)} → {_fmt_pct(b)}"
                for a, b in zip(sub["deviation_pct_old"], sub["deviation_pct"], strict=True)
            ]
            cols["incidents"] = "incidents old → new"
            cols["dev"] = "vs level mean old → new"
        lines += _md_table(view, cols)
        lines += _flow_lines(sub)
    lines += ["## Marginal wards for review", ""]
    if len(plan.review):
        cols = {
            c: c
            for c in (
                "ward",
                "name",
                plan.levels[0],
                "share",
                "runner_up",
                "runner_up_share",
                "reason",
            )
            if c in plan.review.columns
        }
        rv = _rounded(plan.review)
        lines += _md_table(rv, cols)
    else:
        lines += [
            "None."
            + (
                " A reorganisation moves only the wards the spec names."
                if plan.kind == "reorganise"
                else ""
            ),
            "",
        ]
    lines += ["## Checks", ""]
    lines.append(
        f"Checks run: {', '.join(plan.checks.checks)}. "
        + (
            "All passed."
            if not plan.checks.problems
            else f"{len(plan.checks.errors)} error(s), {len(plan.checks.warnings)} warning(s)."
        )
    )
    lines.append("")
    for p in plan.checks.problems:
        lines.append(f"- **{p.severity}** {p.check} ({p.level}): {_md_escape(p.message)}")
    if plan.checks.problems:
        lines.append("")
    if plan.exceptions:
        lines += ["Declared exceptions (allowed to be non-contiguous):", ""]
        for lv, ids in plan.exceptions.items():
            lines.append(f"- {lv}: {', '.join(ids)}")
        lines.append("")
    if plan.warnings:
        lines += ["## Notes", ""]
        lines += [f"- {_md_escape(w)}" for w in plan.warnings] + [""]
    lines += ["## Files", ""]
    lines += [f"- `{f}`" for f in files] + [""]
    if s.get("spec_source"):
        lines += [f"Spec: `{s['spec_source']}`", ""]
    return "\n".join(lines)


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


def _csv_text(frame: pd.DataFrame) -> str:
    return _rounded(frame).to_csv(index=False, lineterminator="\n")


def _write_text(path: Path, text: str) -> None:
    write_text(path, text, overwrite=True)


def write_plan(
    out_dir: str | os.PathLike[str],
    result: Any,
    *,
    formats: Sequence[str] = ("gpkg",),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write a realignment or reorganisation as boundary files, crosswalks and a report.

    Parameters
    ----------
    out_dir : str or path-like
        The folder to write into (created if missing).
    result : Realignment or Reorganisation
        What :func:`beatplan.boundaries.realign` or :func:`beatplan.boundaries.reorganise` returned.
    formats : sequence of str, default ("gpkg",)
        Vector formats: ``"gpkg"`` (always written: :func:`beatplan.boundaries.reorganise` reads it
        back), ``"geojson"``, ``"shp"`` (``"shapefile"``) and ``"kml"``; one file per layer for
        GeoJSON and Shapefile (``boundaries_npas.geojson`` ...).
    overwrite : bool, default False
        Replace existing outputs; without it any existing output is an error and nothing is
        written.

    Returns
    -------
    dict of str to pathlib.Path
        ``"gpkg"``, ``"geojson:<layer>"``, ``"shp:<layer>"``, ``"kml"``, ``"crosswalk"``,
        ``"crosswalk_areas"``, ``"changes_csv"``, ``"changes_md"``, ``"review"``,
        ``"checks"`` and ``"plan"`` -> the file written.

    Raises
    ------
    OptionError
        An unknown format (the valid ones are listed).
    OutputExistsError
        An output exists and ``overwrite`` is False (each one is named).

    Examples
    --------
    >>> r = reorganise(wards, "spec.yaml")  # doctest: +SKIP
    >>> files = write_plan("plan-2020", r, formats=["gpkg", "geojson"])  # doctest: +SKIP
    >>> files["gpkg"].name  # doctest: +SKIP
    'boundaries.gpkg'
    """
    plan = _adapt(result)
    if isinstance(formats, str):
        formats = [formats]
    fmts = ["gpkg"]
    for f in formats:
        key = _FORMAT_ALIASES.get(str(f).lower(), str(f).lower())
        check_option("formats", key, PLAN_FORMATS)
        if key not in fmts:
            fmts.append(key)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OutputExistsError(f"{out}: exists and is not a folder; give a folder for the plan")
    layers = _layers_to_write(plan)
    targets: dict[str, Path] = {}
    vector: dict[str, Path] = {}
    for f in fmts:
        path = out / f"{_STEM}{PLAN_FORMATS[f]}"
        vector[f] = path
        paths = output_paths(path, list(layers))
        for name, p in paths.items():
            key = f if len(set(paths.values())) == 1 else f"{f}:{name}"
            targets[key] = p
    text_keys = {
        "crosswalk": "crosswalk.csv",
        "crosswalk_areas": "crosswalk_areas.csv",
        "changes_csv": "changes.csv",
        "changes_md": "changes.md",
        "review": "review.csv",
        "checks": "checks.csv",
        "plan": "plan.json",
    }
    for k, name in text_keys.items():
        targets[k] = out / name
    existing = sorted({str(p) for p in targets.values() if p.exists()})
    if "shp" in fmts:
        existing += sorted(
            str(p.with_suffix(s))
            for k, p in targets.items()
            if k.startswith("shp")
            for s in (".dbf", ".shx", ".prj")
            if p.with_suffix(s).exists() and not p.exists()
        )
    if existing and not overwrite:
        raise OutputExistsError(
            f"{out}: {len(existing)} output(s) already exist ({', '.join(existing[:5])}"
            f"{' ...' if len(existing) > 5 else ''}); pass overwrite=True (--overwrite on the "
            "command line) to replace them, or choose another folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    for f in fmts:
        write_layers(vector[f], layers, overwrite=overwrite)
    files = sorted(str(p.relative_to(out)) for p in targets.values())
    plan_tables = {
        "crosswalk": plan.crosswalk,
        "crosswalk_areas": plan.area_crosswalk,
        "changes_csv": plan.changes,
        "review": plan.review,
        "checks": plan.checks.to_frame(),
    }
    for k, frame in plan_tables.items():
        _write_text(targets[k], _csv_text(frame))
    _write_text(targets["changes_md"], _markdown(plan, files))
    manifest = {
        "format": "beatplan-plan",
        "version": 1,
        "kind": plan.kind,
        "title": plan.title,
        "levels": list(plan.levels),
        "ward_id": "id",
        "crs": _crs_text(plan.wards.crs),
        "layers": {name: int(len(layer)) for name, layer in layers.items()},
        "exceptions": plan.exceptions,
        "checks": {
            "ok": plan.checks.ok,
            "run": list(plan.checks.checks),
            "errors": len(plan.checks.errors),
            "warnings": len(plan.checks.warnings),
        },
        "summary": {k: v for k, v in plan.summary.items() if k not in _VOLATILE},
        "files": files,
    }
    _write_text(
        targets["plan"],
        json.dumps(_jsonable(manifest), indent=2, ensure_ascii=False, sort_keys=False) + "\n",
    )
    log.info("wrote the plan (%d files) to %s", len(targets), out)
    return targets


def _crs_text(crs: Any) -> str | None:
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


# ------------------------------------------------------------------------------ reading
@dataclass(frozen=True)
class PlanFiles:
    """A plan read back from disk by :func:`read_plan`.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The ``wards`` layer: ``id``, ``name``, the level columns, ``<level>_name``, the other
        columns, ``geometry`` (in the file's CRS).
    levels : tuple of str
        The levels, small to large.
    exceptions : dict of str to frozenset of str
        Areas declared non-contiguous.
    source : str
        The GeoPackage read.
    manifest : dict
        ``plan.json`` (empty when the folder has none).
    """

    wards: gpd.GeoDataFrame
    levels: tuple[str, ...]
    exceptions: dict[str, frozenset[str]]
    source: str
    manifest: dict[str, Any] = field(default_factory=dict, repr=False)


def read_plan(path: str | os.PathLike[str]) -> PlanFiles:
    """Read a plan written by :func:`write_plan` (its folder or its ``boundaries.gpkg``).

    Parameters
    ----------
    path : str or path-like
        The folder, or the GeoPackage in it (any GeoPackage with a ``wards`` layer whose
        level columns match its other layers' names, e.g. ``beat`` for ``beats``).

    Returns
    -------
    PlanFiles

    Raises
    ------
    InputFormatError
        No such folder or file, no ``wards`` layer, or no level can be found.
    """
    p = Path(path)
    if p.is_dir():
        gpkg = p / GPKG_NAME
        folder = p
    else:
        gpkg = p
        folder = p.parent
    if not gpkg.is_file():
        raise InputFormatError(
            f"{path}: no {GPKG_NAME} found; give a folder written by write_plan "
            "(beatplan realign/reorganise --out) or its GeoPackage"
        )
    try:
        names = [str(n) for n in pyogrio.list_layers(gpkg)[:, 0]]
    except Exception as exc:  # noqa: BLE001 - GDAL's errors vary
        raise InputFormatError(f"{gpkg}: cannot be read as a GeoPackage ({exc})") from exc
    if "wards" not in names:
        raise InputFormatError(
            f"{gpkg}: has no 'wards' layer (layers: {', '.join(names)}); it was not written by "
            "write_plan"
        )
    manifest: dict[str, Any] = {}
    mpath = folder / "plan.json"
    if mpath.is_file():
        try:
            manifest = json.loads(mpath.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{mpath}: not valid JSON ({exc})") from exc
    wards = read_boundaries(gpkg, layer="wards", id_col="id", name_col="name", to_crs=None)
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
    declared = manifest.get("exceptions") or {}
    exceptions = {str(k): frozenset(map(str, v)) for k, v in declared.items()}
    return PlanFiles(
        wards=wards, levels=levels, exceptions=exceptions, source=str(gpkg), manifest=manifest
    )
