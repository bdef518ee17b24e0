"""Input validation: check a ward or police-area layer in one pass, repair what is safe.

:func:`validate_wards` and :func:`validate_areas` report every problem at once (one
:class:`beatplan.geo.errors.ValidationError`) and repair invalid geometry and sliver overlaps,
saying so; :func:`dissolve_duplicates` merges an area published as several features.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries._adjacency import (
    Adjacency,
    certify_coverage,
    polygon_adjacency,
    union_of,
)
from beatplan.boundaries._common import as_ids, duplicate_ids, layer_ids, listing, raise_problems
from beatplan.boundaries.coverage import find_gaps, find_overlaps
from beatplan.geo.errors import GeometryError, ValidationError
from beatplan.geo.layers import dissolve_parts

__all__ = [
    "dissolve_duplicates",
    "validate_areas",
    "validate_wards",
]

log = logging.getLogger("beatplan")


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep the polygonal part of each geometry (for ``make_valid`` output)."""
    parts, idx = shapely.get_parts(geoms, return_index=True)
    t = shapely.get_type_id(parts)
    keep = (t == 3) | (t == 6)
    sub, sidx = shapely.get_parts(parts[keep], return_index=True)
    owner = idx[keep][sidx]
    out = np.empty(len(geoms), dtype=object)
    out[:] = shapely.MultiPolygon()
    if len(sub):
        present, dense = np.unique(owner, return_inverse=True)
        out[present] = shapely.multipolygons(sub, indices=dense)
    single = shapely.get_num_geometries(out) == 1
    out[single] = shapely.get_geometry(out[single], 0)
    return out


def _check_geometries(
    frame: gpd.GeoDataFrame,
    ids: pd.Series,
    what: str,
    problems: list[str],
    messages: list[str],
    *,
    repair: bool,
) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values, dtype=object).copy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if bad.any():
        problems.append(
            f"{int(bad.sum())} feature(s) have a null or empty geometry: {listing(ids[bad])}; "
            "drop them or give them a polygon"
        )
    kinds = pd.Series(shapely.get_type_id(geoms)).map(
        {3: "Polygon", 6: "MultiPolygon", 7: "GeometryCollection"}
    )
    notpoly = ~bad & ~kinds.isin(["Polygon", "MultiPolygon"]).to_numpy()
    if notpoly.any():
        types = sorted({g.geom_type for g in geoms[notpoly]})
        problems.append(
            f"{int(notpoly.sum())} feature(s) are not polygons "
            f"({listing(types)}): {listing(ids[notpoly])}; "
            "a boundary layer holds Polygon or MultiPolygon features only"
        )
    ok = ~bad & ~notpoly
    invalid = ok & ~shapely.is_valid(geoms)
    if invalid.any():
        if repair:
            fixed = _polygonal(shapely.make_valid(geoms[invalid]))
            lost = shapely.is_empty(fixed)
            geoms[invalid] = fixed
            messages.append(
                f"{what}: {int(invalid.sum())} invalid geometr"
                f"{'y' if invalid.sum() == 1 else 'ies'} repaired with shapely.make_valid: "
                f"{listing(ids[invalid])}"
            )
            if lost.any():
                problems.append(
                    "make_valid left no polygon for "
                    f"{listing(ids[np.nonzero(invalid)[0][lost]])}; fix these features by hand"
                )
        else:
            problems.append(
                f"{int(invalid.sum())} invalid geometr{'y' if invalid.sum() == 1 else 'ies'}: "
                f"{listing(ids[invalid])}; repair with shapely.make_valid"
            )
    return geoms


def validate_wards(
    wards: gpd.GeoDataFrame,
    *,
    ward_id: str = "id",
    what: str = "wards",
    overlap_tolerance: float = 0.01,
    gap_width: float = 0.0,
    repair: bool = True,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Check a ward layer in one pass; repair what is safe to repair and say so.

    Policy for overlapping wards: a ward layer is a partition, so an overlap larger than
    ``overlap_tolerance`` of the smaller ward (two vintages mixed, a duplicated feature) is
    an error listing the pairs; smaller overlaps and unmatched shared edges (digitising
    slivers, generalisation) are repaired with :func:`shapely.coverage_clean` (each sliver
    goes to the neighbour with the longest shared border) and reported. Gaps (areas enclosed
    by wards but in none) are reported, not filled: a hole may be real.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        Ward polygons, in a projected CRS (metres).
    ward_id : str, default "id"
        The ward code column.
    what : str, default "wards"
        Name of the layer in messages.
    overlap_tolerance : float, default 0.01
        Largest overlap repaired, as a share of the smaller ward's area.
    gap_width : float, default 0
        Also detect (and, when repairing, close) gaps narrower than this many metres.
    repair : bool, default True
        Repair invalid geometries and sliver overlaps; ``False`` makes them errors.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the ward id as strings and repaired geometry.
    list of str
        One message per problem repaired or reported (also logged as warnings).

    Raises
    ------
    EmptyInputError
        No ward.
    ColumnNotFoundError
        No ``ward_id`` column.
    DuplicateIdError
        Ward codes repeated (and nothing else wrong).
    ValidationError
        Every problem found at once: null ids, duplicate ids, null/empty or non-polygon
        geometry, overlaps above the tolerance.
    """
    out, messages, _, _ = prepare_wards(
        wards,
        ward_id=ward_id,
        what=what,
        overlap_tolerance=overlap_tolerance,
        gap_width=gap_width,
        repair=repair,
    )
    return out, messages


def prepare_wards(
    wards: gpd.GeoDataFrame,
    *,
    ward_id: str,
    what: str,
    overlap_tolerance: float,
    gap_width: float,
    repair: bool,
) -> tuple[gpd.GeoDataFrame, list[str], shapely.Geometry, Adjacency]:
    """Do what :func:`validate_wards` does; also return the wards' union and adjacency.

    For :func:`beatplan.boundaries.realign`, whose later stages reuse both (package-internal).
    """
    ids = layer_ids(wards, ward_id, what)
    problems: list[str] = []
    messages: list[str] = []
    if ids.isna().any():
        problems.append(f"{int(ids.isna().sum())} ward(s) have no code in column {ward_id!r}")
    geoms = _check_geometries(wards, ids, what, problems, messages, repair=repair)
    raise_problems(what, problems, duplicate_ids(ids, what, ward_id))

    certified, adj, union = certify_coverage(geoms) if gap_width == 0 else (False, None, None)
    if not certified and not shapely.coverage_is_valid(geoms, gap_width=gap_width):
        adj = union = None
        geoms = _clean_coverage(geoms, ids, what, overlap_tolerance, gap_width, repair, messages)
    if union is None:
        union = union_of(geoms)
    if adj is None:
        adj = polygon_adjacency(geoms, matched=True)
    _note_gaps(geoms, union, ids, what, messages)
    for m in messages:
        log.warning(m)
    out = wards.copy()
    out[ward_id] = ids
    out = out.set_geometry(gpd.array.GeometryArray(geoms, crs=wards.crs))
    return out, messages, union, adj


def _clean_coverage(
    geoms: np.ndarray,
    ids: pd.Series,
    what: str,
    overlap_tolerance: float,
    gap_width: float,
    repair: bool,
    messages: list[str],
) -> np.ndarray:
    """Refuse overlaps above the tolerance; clean slivers and unmatched edges (and say so)."""
    ov = find_overlaps(geoms)
    area = shapely.area(geoms)
    rel = ov["area"].to_numpy() / np.maximum(
        np.minimum(area[ov["i"].to_numpy()], area[ov["j"].to_numpy()]), 1e-12
    )
    big = rel > overlap_tolerance
    if big.any():
        pairs = [
            f"{ids.iloc[i]} and {ids.iloc[j]} ({a:,.0f} m², {100 * r:.1f}% of the smaller)"
            for i, j, a, r in zip(
                ov["i"][big], ov["j"][big], ov["area"][big], rel[big], strict=True
            )
        ]
        raise ValidationError(
            what,
            [
                f"{int(big.sum())} pair(s) of wards overlap by more than "
                f"{100 * overlap_tolerance:g}% of the smaller ward: {listing(pairs)}; a ward "
                "layer must be a partition: check that two vintages were not mixed and that no "
                "feature is duplicated, then fix the layer (or raise overlap_tolerance to "
                "have the overlaps cut away)"
            ],
        )
    edges = shapely.coverage_invalid_edges(geoms, gap_width=gap_width)
    involved = ~shapely.is_empty(edges) & ~shapely.is_missing(edges)
    if not repair:
        raise ValidationError(
            what,
            [
                f"{int(involved.sum())} ward(s) overlap slightly or do not share identical "
                f"edges with their neighbours: {listing(ids[involved])}; repair with "
                "shapely.coverage_clean or call with repair=True"
            ],
        )
    cleaned = np.asarray(shapely.coverage_clean(geoms, gap_width=gap_width), dtype=object)
    empty = shapely.is_empty(cleaned)
    if empty.any() or not shapely.coverage_is_valid(cleaned):
        raise GeometryError(
            f"{what}: the wards could not be made into a clean coverage "
            f"({listing(ids[empty])} vanished); fix the layer in a GIS"
        )
    msg = (
        f"{what}: {int(involved.sum())} ward(s) had sliver overlaps or unmatched shared edges "
        f"({len(ov)} overlapping pair(s), {ov['area'].sum():,.1f} m² in all): "
        f"{listing(ids[involved])}; repaired with shapely.coverage_clean"
    )
    messages.append(msg)
    return cleaned


def _note_gaps(
    geoms: np.ndarray, union: shapely.Geometry, ids: pd.Series, what: str, messages: list[str]
) -> None:
    """Say where wards enclose ground that is in none of them (a gap; not filled: may be real)."""
    gaps = find_gaps(geoms, union=union)
    if len(gaps):
        parts = [
            f"{a:,.0f} m² between {listing(ids.iloc[n].tolist())}"
            for a, n in zip(gaps["area"], gaps["neighbours"], strict=True)
        ]
        messages.append(
            f"{what}: {len(gaps)} gap(s) between wards (enclosed, in no ward; "
            f"{gaps['area'].sum():,.0f} m² in all): {listing(parts)}; incidents there belong to "
            "no ward: check the layer is complete"
        )


def dissolve_duplicates(
    frame: gpd.GeoDataFrame, id_col: str = "id", *, what: str = "areas"
) -> tuple[gpd.GeoDataFrame, str | None]:
    """Merge the features that share an id into one (multi)polygon.

    An area published as several features (Chicago's beat 3100 is three polygons) becomes
    one feature; the first feature's attributes are kept.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        The layer.
    id_col : str, default "id"
        The id column.
    what : str, default "areas"
        Name of the layer in the message.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with one row per id, in order of first appearance; ids as strings.
    str or None
        What was merged, or None when every id was already unique.
    """
    out = frame.copy()
    out[id_col] = as_ids(frame[id_col])
    merged, counts, differ = dissolve_parts(out, id_col=id_col)
    if not counts:
        return merged, None
    msg = (
        f"{what}: {len(counts)} id(s) appear in several features and were merged into one area "
        "each: " + listing(f"{k!r} ×{v}" for k, v in counts.items())
    )
    if differ:
        msg += f" (their {listing(differ)} differ; the first feature's were kept)"
    log.warning(msg)
    return merged, msg


def validate_areas(
    areas: gpd.GeoDataFrame,
    *,
    area_id: str = "id",
    what: str = "areas",
    repair: bool = True,
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Check an old police-area layer (the areas realigned from) in one pass.

    Features sharing an id are merged into one area; invalid geometries are repaired;
    overlaps between areas are reported (an overlap is counted in both areas' shares).

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Area polygons, in a projected CRS.
    area_id : str, default "id"
        The area id column.
    what : str, default "areas"
        Name of the layer in messages.
    repair : bool, default True
        Repair invalid geometries; ``False`` makes them errors.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy, one row per area id, ids as strings.
    list of str
        One message per problem repaired or reported.

    Raises
    ------
    EmptyInputError
        No area.
    ColumnNotFoundError
        No ``area_id`` column.
    ValidationError
        Every problem at once: null ids, null/empty or non-polygon geometry.
    """
    ids = layer_ids(areas, area_id, what)
    problems: list[str] = []
    messages: list[str] = []
    if ids.isna().any():
        problems.append(f"{int(ids.isna().sum())} area(s) have no id in column {area_id!r}")
    geoms = _check_geometries(areas, ids, what, problems, messages, repair=repair)
    if problems:
        raise ValidationError(what, problems)
    out = areas.copy()
    out[area_id] = ids
    out = out.set_geometry(gpd.array.GeometryArray(geoms, crs=areas.crs))
    out, msg = dissolve_duplicates(out, area_id, what=what)
    if msg:
        messages.append(msg)
    g = np.asarray(out.geometry.values, dtype=object)
    if not certify_coverage(g)[0] and not shapely.coverage_is_valid(g):
        ov = find_overlaps(g, min_area=1.0)
        if len(ov):
            oid = out[area_id].to_numpy(dtype=object)
            pairs = [
                f"{oid[i]}/{oid[j]} {a:,.0f} m²"
                for i, j, a in zip(ov["i"], ov["j"], ov["area"], strict=True)
            ]
            messages.append(
                f"{what}: {len(ov)} pair(s) of areas overlap ({ov['area'].sum():,.0f} m² in all): "
                f"{listing(pairs)}; a ward there counts toward both"
            )
            log.warning(messages[-1])
    return out, messages
