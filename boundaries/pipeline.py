"""Read boundary files, realign them to new wards and write the plan: the planner's runs end to end.

:func:`realign_files` reads the new wards and the old police areas (and incidents) from files and
realigns them; :func:`realign_sample` does the same for the synthetic sample county (in memory or as
written by :func:`beatplan.geo.sample.write_sample`) and writes the plan. The command line
(``beatplan realign``, ``beatplan demo``) calls these.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd

from beatplan.boundaries.demand import Weights
from beatplan.boundaries.outputs import GPKG_NAME, check_plan_free, write_plan
from beatplan.boundaries.realign import REALIGN_BY, Realignment, realign
from beatplan.geo._sources import Sources
from beatplan.geo.errors import InputFormatError, OptionError, check_option
from beatplan.geo.incidents import Incidents, read_incidents
from beatplan.geo.layers import read_boundaries

__all__ = ["PARENT_LEVELS", "check_plan_free", "realign_files", "realign_sample"]

log = logging.getLogger("beatplan")

#: Parent-level columns looked for on a beats layer given alone (small to large).
PARENT_LEVELS: tuple[str, ...] = ("sector", "npa")


def _points(incidents: Any) -> tuple[gpd.GeoDataFrame | None, Incidents | None]:
    if incidents is None:
        return None, None
    if isinstance(incidents, Incidents):
        return incidents.points, incidents
    if isinstance(incidents, gpd.GeoDataFrame):
        return incidents, None
    inc = read_incidents(incidents)
    return inc.points, inc


def realign_files(
    wards: Sources | gpd.GeoDataFrame,
    beats: Sources | gpd.GeoDataFrame,
    *,
    sectors: Sources | gpd.GeoDataFrame | None = None,
    npas: Sources | gpd.GeoDataFrame | None = None,
    incidents: Sources | Incidents | gpd.GeoDataFrame | None = None,
    by: str = "area",
    weights: Weights = None,
    review_below: float = 0.8,
    min_coverage: float = 0.5,
    allow_coarse: bool = False,
    crs: Any = None,
    exceptions: Any = (),
) -> tuple[Realignment, Incidents | None]:
    """Read the new wards, the old beats (sectors, NPAs) and incidents, and realign.

    Parameters
    ----------
    wards : path or GeoDataFrame
        The new wards (any vector file :func:`beatplan.geo.read_boundaries` reads; ONS codes found).
    beats : path or GeoDataFrame
        The old beats. Given alone, its ``sector`` and ``npa`` columns (when present) are its
        higher levels; with ``sectors``/``npas`` each level is realigned from its own layer
        and nested by majority (:func:`beatplan.boundaries.nest`).
    sectors, npas : path or GeoDataFrame, optional
        The old sectors and NPAs.
    incidents : path(s), beatplan.geo.Incidents or GeoDataFrame, optional
        Incident points: the demand for ``by="demand"`` and the figures of the report.
    by : {"area", "demand"}, default "area"
        How each ward's best area is chosen (see :func:`beatplan.boundaries.realign`).
    weights : None, str or mapping
        What a point counts for (:func:`beatplan.boundaries.demand.incident_weights`).
    review_below : float, default 0.8
        Flag wards whose best share is below this.
    min_coverage : float, default 0.5
        Refuse old areas covering less than this share of the wards' area.
    allow_coarse : bool, default False
        Realign even when the wards are larger than the areas (most areas would get none).
    crs : optional
        CRS of files that lack one (and the working CRS when projected).
    exceptions : optional
        Area ids allowed to be non-contiguous.

    Returns
    -------
    Realignment
        The result.
    beatplan.geo.Incidents or None
        The incidents read (their ``rejected`` rows say what could not be placed).

    Raises
    ------
    OptionError
        ``by`` is not ``"area"`` or ``"demand"``, or ``by="demand"`` without incidents.
    """
    check_option("by", by, REALIGN_BY)
    if by == "demand" and incidents is None:
        raise OptionError(
            "by='demand' weighs each ward's overlaps by the incidents in them, but no incidents "
            "were given: pass --incidents FILE (incidents=...) or use --by area"
        )

    def read(src: Any) -> gpd.GeoDataFrame:
        if isinstance(src, gpd.GeoDataFrame):
            return src
        return read_boundaries(src, crs=crs)

    w = read(wards)
    b = read(beats)
    points, inc = _points(incidents)
    work_crs = crs if crs is not None and _projected(crs) else None
    if sectors is None and npas is None:
        levels = ("beat", *(c for c in PARENT_LEVELS if c in b.columns))
        areas: Any = b
    else:
        areas = {"beat": b}
        if sectors is not None:
            areas["sector"] = read(sectors)
        if npas is not None:
            areas["npa"] = read(npas)
        levels = tuple(areas)
    result = realign(
        w,
        areas,
        levels=levels,
        by=by,
        demand=points,
        weights=weights,
        review_below=review_below,
        min_coverage=min_coverage,
        allow_coarse=allow_coarse,
        crs=work_crs,
        exceptions=exceptions,
    )
    return result, inc


def _projected(crs: Any) -> bool:
    from beatplan.geo.crs import parse_crs

    return bool(parse_crs(crs).is_projected)


def _sample_inputs(
    sample: Any,
) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame]:
    """Return the new wards, the old levels and the incident points of the sample county."""
    if isinstance(sample, str | os.PathLike):
        folder = Path(sample)
        gpkg = folder / GPKG_NAME
        if not gpkg.is_file():
            raise InputFormatError(
                f"{folder}: no {GPKG_NAME}; give the folder written by beatplan.write_sample "
                "(beatplan sample DIR)"
            )
        wards = read_boundaries(gpkg, layer="wards_new")
        levels = {
            lv: read_boundaries(gpkg, layer=layer)
            for lv, layer in (("beat", "beats"), ("sector", "sectors"), ("npa", "npas"))
        }
        points = read_incidents(folder / "crime").points
        return wards, levels, points
    needed = ("wards_new", "beats", "sectors", "npas", "incidents", "incident_truth")
    if not all(hasattr(sample, a) for a in needed):
        raise InputFormatError(
            "sample: expected a beatplan.SampleCounty or the folder write_sample wrote, got "
            f"{type(sample).__name__}"
        )
    truth = sample.incident_truth
    located = truth["x"].notna().to_numpy()
    points = gpd.GeoDataFrame(
        {"category": sample.incidents["Crime type"].to_numpy()[located]},
        geometry=gpd.points_from_xy(truth["x"][located], truth["y"][located]),
        crs=sample.wards_new.crs,
    )
    levels = {"beat": sample.beats, "sector": sample.sectors, "npa": sample.npas}
    return sample.wards_new, levels, points


def realign_sample(
    sample: Any,
    out_dir: str | os.PathLike[str],
    *,
    by: str = "demand",
    formats: Sequence[str] = ("gpkg",),
    overwrite: bool = False,
) -> tuple[Realignment, dict[str, Path]]:
    """Realign the sample county's old beats, sectors and NPAs to its new wards; write the plan.

    Parameters
    ----------
    sample : beatplan.geo.sample.SampleCounty or path
        The county (:func:`beatplan.geo.sample.make_sample`) or the folder
        :func:`beatplan.geo.sample.write_sample` wrote (its ``boundaries.gpkg`` and ``crime/``).
    out_dir : str or path-like
        Folder for the plan (:func:`beatplan.boundaries.write_plan`).
    by : {"area", "demand"}, default "demand"
        How each ward's best area is chosen.
    formats : sequence of str, default ("gpkg",)
        Vector formats to write.
    overwrite : bool, default False
        Replace an existing plan.

    Returns
    -------
    Realignment
        The result.
    dict of str to pathlib.Path
        The files written.

    Examples
    --------
    >>> from beatplan.geo.sample import make_sample
    >>> result, files = realign_sample(make_sample(), "demo/plan")  # doctest: +SKIP
    >>> result.checks.ok, files["gpkg"].name  # doctest: +SKIP
    (True, 'boundaries.gpkg')
    """
    check_option("by", by, REALIGN_BY)
    check_plan_free(out_dir, overwrite=overwrite)
    wards, levels, points = _sample_inputs(sample)
    result = realign(
        wards,
        levels,
        levels=tuple(levels),
        by=by,
        demand=points,
    )
    files = write_plan(out_dir, result, formats=formats, overwrite=overwrite)
    return result, files
