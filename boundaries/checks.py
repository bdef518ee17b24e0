"""Checks run on every boundary result, input validation, and the contiguity fix.

A police hierarchy is right when

* every ward is in exactly one area at each level (:func:`check_assignment`);
* every area nests in exactly one area of each higher level (:func:`check_nesting`);
* each level's union equals the union of the wards, and each area is the union of its
  wards (:func:`check_unions`);
* each level is a coverage: no overlap, edges matching, no narrow gap
  (:func:`check_coverage`, on :func:`shapely.coverage_is_valid`);
* every area is contiguous unless the planner declared it an exception
  (:func:`check_contiguity`).

:func:`check_layers` runs them all and returns one :class:`CheckReport` listing every problem
with the ids involved. :func:`fix_contiguity` gives the detached parts of an area to the
neighbour they share most boundary with. :func:`validate_wards` and :func:`validate_areas`
check input layers in one pass and repair what can safely be repaired (and say so).

The report lives in :mod:`beatplan.boundaries.report`, the coverage geometry (shared boundaries, the
coverage certificate, gaps, overlaps) in :mod:`beatplan.boundaries.coverage`, input validation in
:mod:`beatplan.boundaries.validate` and contiguity in :mod:`beatplan.boundaries.contiguity`: import
each name from its own module (or from :mod:`beatplan.boundaries`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.boundaries._adjacency import Adjacency, polygon_adjacency, union_of
from beatplan.boundaries._common import as_ids, layer_ids, listing, strings
from beatplan.boundaries.contiguity import Exceptions, check_contiguity
from beatplan.boundaries.coverage import check_coverage, find_gaps
from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, build_layers
from beatplan.boundaries.report import CheckReport
from beatplan.boundaries.validate import dissolve_duplicates
from beatplan.geo.errors import ColumnNotFoundError, CRSMismatchError

__all__ = [
    "check_assignment",
    "check_layer_nesting",
    "check_layers",
    "check_nesting",
    "check_unions",
]


def check_assignment(
    wards: pd.DataFrame, *, levels: Sequence[str] = DEFAULT_LEVELS, ward_id: str = "id"
) -> CheckReport:
    """Every ward is in exactly one area at each level: ids unique, no level left empty.

    Parameters
    ----------
    wards : pandas.DataFrame
        A ward table.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.

    Returns
    -------
    CheckReport
    """
    rep = CheckReport()
    rep.ran("assignment")
    missing = [c for c in (ward_id, *levels) if c not in wards.columns]
    if missing:
        rep.add("assignment", "ward", missing, f"the ward table has no column {listing(missing)}")
        return rep
    ids = as_ids(wards[ward_id])
    if ids.isna().any():
        rep.add("assignment", "ward", [], f"{int(ids.isna().sum())} ward(s) have no id")
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(dup):
        rep.add(
            "assignment",
            "ward",
            sorted(set(dup)),
            f"{dup.nunique()} ward id(s) appear more than once, so those wards are in several "
            f"areas: {listing(sorted(set(dup)))}",
        )
    for level in levels:
        null = as_ids(wards[level]).isna().to_numpy()
        if null.any():
            rep.add(
                "assignment",
                level,
                ids[null],
                f"{int(null.sum())} ward(s) are in no {level}: {listing(ids[null])}",
            )
    return rep


def check_nesting(
    wards: pd.DataFrame, *, levels: Sequence[str] = DEFAULT_LEVELS, ward_id: str = "id"
) -> CheckReport:
    """Every area lies in exactly one area of each higher level.

    Parameters
    ----------
    wards : pandas.DataFrame
        A ward table.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.

    Returns
    -------
    CheckReport
        One error per (level, higher level) pair with the ids of the straddling areas.
    """
    rep = CheckReport()
    rep.ran("nesting")
    levels = list(levels)
    for k, child in enumerate(levels):
        for parent in levels[k + 1 :]:
            n = wards.groupby(child, sort=True)[parent].nunique(dropna=True)
            bad = n[n > 1]
            if len(bad):
                pairs = wards[[child, parent]].dropna().drop_duplicates()
                inside = pairs.groupby(child)[parent].agg(lambda s: ", ".join(sorted(map(str, s))))
                detail = [f"{c} in {inside[c]}" for c in bad.index]
                rep.add(
                    "nesting",
                    child,
                    bad.index,
                    f"{len(bad)} {child} area(s) lie in several {parent} areas: "
                    f"{listing(detail)}; resolve with beatplan.boundaries.nest()",
                )
    return rep


def _tolerance(tolerance: float, total: float) -> float:
    return tolerance + 1e-9 * abs(total)


def check_unions(
    wards: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    tolerance: float = 1.0,
    ward_union: shapely.Geometry | None = None,
    layer_unions: Mapping[str, shapely.Geometry] | None = None,
    ward_area: np.ndarray | None = None,
) -> CheckReport:
    """Each level's union equals the union of the wards; each area is the union of its wards.

    Per level: the area of the symmetric difference between the union of the level's
    polygons and the union of the wards. Per area: the set of areas matches the set of
    level values in the ward table, each area's polygon has the summed area of its wards,
    and holds an interior point of each of its wards.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table.
    layers : mapping of str to geopandas.GeoDataFrame
        Layers with an ``id`` column, keyed by level; a ``force`` layer is checked too.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    tolerance : float, default 1.0
        Largest difference in m² (plus 1e-9 of the total area) taken as equal.
    ward_union : shapely geometry, optional
        The union of the wards, if already computed.
    layer_unions : mapping of str to shapely geometry, optional
        The union of each layer, if already computed.
    ward_area : numpy.ndarray, optional
        The area of each ward, if already measured.

    Returns
    -------
    CheckReport
    """
    rep = CheckReport()
    rep.ran("union")
    wg = np.asarray(wards.geometry.values, dtype=object)
    if ward_union is None:
        ward_union = union_of(wg)
    total = float(shapely.area(ward_union))
    tol = _tolerance(tolerance, total)
    if ward_area is None or len(ward_area) != len(wg):
        ward_area = shapely.area(wg)
    points = shapely.point_on_surface(wg)
    for level, layer in layers.items():
        lg = np.asarray(layer.geometry.values, dtype=object)
        lu = layer_unions[level] if layer_unions and level in layer_unions else union_of(lg)
        diff = float(shapely.area(shapely.symmetric_difference(ward_union, lu)))
        if diff > tol:
            rep.add(
                "union",
                level,
                [],
                f"the union of the {level} layer differs from the union of the wards by "
                f"{diff:,.1f} m² (of {total:,.0f} m²)",
            )
        if level not in levels:
            continue
        lid = as_ids(layer["id"]).to_numpy(dtype=object)
        vals = as_ids(wards[level]).to_numpy(dtype=object)
        extra = sorted(set(lid) - set(vals))
        absent = sorted(set(vals) - set(lid) - {pd.NA})
        if extra:
            rep.add("union", level, extra, f"{level} area(s) with no ward: {listing(extra)}")
        if absent:
            rep.add(
                "union",
                level,
                absent,
                f"{level} area(s) missing from the layer: {listing(absent)}",
            )
        pos = pd.Series(np.arange(len(lid)), index=lid)
        if not pos.index.is_unique:
            rep.add("union", level, sorted(set(lid[pos.index.duplicated()])), f"{level} ids repeat")
            continue
        at = pos.reindex(vals).to_numpy()
        ok = ~np.isnan(at)
        idx = at[ok].astype(np.int64)
        summed = np.bincount(idx, weights=ward_area[ok], minlength=len(lid))
        la = shapely.area(lg)
        off = np.abs(summed - la) > np.maximum(tolerance, 1e-9 * la)
        off &= np.bincount(idx, minlength=len(lid)) > 0
        if off.any():
            rep.add(
                "union",
                level,
                lid[off],
                f"{int(off.sum())} {level} polygon(s) do not have the area of their wards: "
                f"{listing(lid[off])}",
            )
        was_prepared = shapely.is_prepared(lg)
        shapely.prepare(lg)
        inside = shapely.covers(lg[idx], points[ok])
        shapely.destroy_prepared(lg[~was_prepared])
        if not inside.all():
            wid = as_ids(wards[ward_id]).to_numpy(dtype=object)[ok][~inside]
            rep.add(
                "union",
                level,
                wid,
                f"{len(wid)} ward(s) lie outside the polygon of their {level}: {listing(wid)}",
            )
    return rep


def check_layers(
    wards: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame] | None = None,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    exceptions: Exceptions | None = (),
    tolerance: float = 1.0,
    gap_width: float = 0.0,
    adjacency: Adjacency | None = None,
    ward_union: shapely.Geometry | None = None,
    wards_valid: bool = False,
) -> CheckReport:
    """Run every check on a ward table and its layers.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table.
    layers : mapping, optional
        The layers built from it (:func:`beatplan.boundaries.build_layers`); built here when
        omitted.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous.
    tolerance : float, default 1.0
        Area differences (m²) taken as equal.
    gap_width : float, default 0
        Also flag gaps narrower than this (metres) inside each level.
    adjacency, ward_union : optional
        Precomputed ward adjacency and union (internal).
    wards_valid : bool, default False
        The wards were already checked to form a coverage (by :func:`validate_wards`):
        skip that check.

    Returns
    -------
    CheckReport
        Checks ``assignment``, ``nesting``, ``coverage``, ``gap`` (holes in the wards'
        union larger than ``tolerance``, as warnings: a hole may be real), ``union`` and
        ``contiguity``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c"], "beat": ["B1", "B2", "B1"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    ... )
    >>> rep = check_layers(w, levels=["beat"])
    >>> rep.ok, sorted(rep.ids("contiguity"))
    (False, ['B1', 'c'])
    """
    levels = list(levels)
    rep = check_assignment(wards, levels=levels, ward_id=ward_id)
    if not rep.ok:
        return rep
    rep.extend(check_nesting(wards, levels=levels, ward_id=ward_id))
    g = np.asarray(wards.geometry.values, dtype=object)
    if wards_valid:
        rep.ran("coverage")
    else:
        rep.extend(
            check_coverage(
                wards, id_col=ward_id, level="ward", gap_width=gap_width, tolerance=tolerance
            )
        )
    ward_ok = not rep.ids("coverage", "ward") and not rep.ids("overlap", "ward")
    if layers is None:
        if not ward_ok:
            rep.add("union", "ward", [], "layers not built: the wards do not form a coverage")
            return rep
        layers = build_layers(wards, levels=levels, ward_id=ward_id)
    if ward_union is None:
        ward_union = union_of(g)
    gaps = find_gaps(g, min_area=tolerance, union=ward_union)
    wid = as_ids(wards[ward_id]).to_numpy(dtype=object)
    for area, neigh in zip(gaps["area"], gaps["neighbours"], strict=True):
        rep.add(
            "gap",
            "ward",
            wid[neigh],
            f"a gap of {area:,.0f} m² lies between wards {listing(wid[neigh])} and in none of "
            "them (or any area): check the ward layer is complete",
            severity="warning",
        )
    rep.ran("gap")
    unions = {
        lv: union_of(np.asarray(ly.geometry.values, dtype=object)) for lv, ly in layers.items()
    }
    for level, layer in layers.items():
        rep.extend(
            check_coverage(
                layer, level=level, gap_width=gap_width, tolerance=tolerance, union=unions[level]
            )
        )
    rep.extend(
        check_unions(
            wards,
            layers,
            levels=levels,
            ward_id=ward_id,
            tolerance=tolerance,
            ward_union=ward_union,
            layer_unions=unions,
            ward_area=adjacency.areas(g) if adjacency is not None else None,
        )
    )
    adj = adjacency if adjacency is not None else polygon_adjacency(g, matched=ward_ok)
    rep.extend(
        check_contiguity(
            wards, levels=levels, ward_id=ward_id, exceptions=exceptions, adjacency=adj
        )
    )
    return rep


def check_layer_nesting(
    child: gpd.GeoDataFrame,
    parent: gpd.GeoDataFrame,
    *,
    child_id: str = "id",
    parent_id: str = "id",
    recorded: str | None = None,
    tolerance: float = 0.001,
    child_level: str = "child",
    parent_level: str = "parent",
) -> CheckReport:
    """Check that every polygon of one layer lies in one polygon of another (beats in districts).

    Features sharing an id are merged first (an area published in several parts). Each
    child's best parent is the one covering the largest share of it; the child nests when
    that share is at least ``1 - tolerance``. When ``recorded`` names a column of ``child``
    holding its parent's id, it must agree with the geometry.

    Parameters
    ----------
    child, parent : geopandas.GeoDataFrame
        The two layers, in the same projected CRS.
    child_id, parent_id : str
        Their id columns.
    recorded : str, optional
        Column of ``child`` naming its parent.
    tolerance : float, default 0.001
        Share of a child allowed outside its parent (boundary generalisation).
    child_level, parent_level : str
        Names used in the report.

    Returns
    -------
    CheckReport
        With ``tables["nesting"]``: one row per child: ``child``, ``parent``, ``share``,
        ``recorded`` (when given) and ``nested``.

    Raises
    ------
    CRSMismatchError
        The layers are in different CRSs.
    """
    if child.crs != parent.crs:
        raise CRSMismatchError(
            f"{child_level} layer is in {child.crs} and {parent_level} layer in {parent.crs}; "
            f"reproject one with .to_crs(...) so both share a projected CRS"
        )
    if recorded is not None and recorded not in child.columns:
        raise ColumnNotFoundError(
            f"{child_level}: no column {recorded!r} naming the {parent_level}"
        )
    rep = CheckReport()
    rep.ran("nesting")
    layer_ids(child, child_id, child_level)
    layer_ids(parent, parent_id, parent_level)
    c, msg_c = dissolve_duplicates(child, child_id, what=child_level)
    p, msg_p = dissolve_duplicates(parent, parent_id, what=parent_level)
    for m in (msg_c, msg_p):
        if m:
            rep.add("input", child_level if m is msg_c else parent_level, [], m, severity="warning")
    table = _parents(c, p, child_id, parent_id, tolerance)
    if recorded is not None:
        table["recorded"] = as_ids(c[recorded]).to_numpy()
        table["agrees"] = (table["recorded"] == table["parent"]).fillna(False).astype(bool)
    rep.tables["nesting"] = table
    _report_nesting(rep, table, child_level, parent_level, recorded is not None)
    return rep


def _parents(
    c: gpd.GeoDataFrame, p: gpd.GeoDataFrame, child_id: str, parent_id: str, tolerance: float
) -> pd.DataFrame:
    """Return, per child area, the parent holding most of it, the share, and whether it nests."""
    cg = np.asarray(c.geometry.values, dtype=object)
    pg = np.asarray(p.geometry.values, dtype=object)
    ci, pi, share = _overlap_shares(cg, pg)
    df = pd.DataFrame({"c": ci, "p": pi, "share": share}).sort_values(
        ["c", "share"], ascending=[True, False], kind="stable"
    )
    best = df.drop_duplicates("c").set_index("c")
    cid = c[child_id].to_numpy(dtype=object)
    pid = p[parent_id].to_numpy(dtype=object)
    bp = best["p"].reindex(np.arange(len(c)))
    table = pd.DataFrame(
        {
            "child": cid,
            "parent": strings(np.where(bp.notna(), pid[bp.fillna(0).astype(int).to_numpy()], None)),
            "share": best["share"].reindex(np.arange(len(c))).fillna(0.0).to_numpy(),
        }
    )
    table["nested"] = table["share"] >= 1 - tolerance
    return table


def _report_nesting(
    rep: CheckReport, table: pd.DataFrame, child_level: str, parent_level: str, recorded: bool
) -> None:
    """Report the children in no parent, those straddling parents, and those disagreeing."""
    none = table["parent"].isna()
    if none.any():
        rep.add(
            "nesting",
            child_level,
            table["child"][none],
            f"{int(none.sum())} {child_level}(s) lie in no {parent_level}: "
            f"{listing(table['child'][none])}",
        )
    out = ~table["nested"] & ~none
    if out.any():
        sub = table[out]
        detail = [
            f"{c} ({100 * float(s):.1f}% in {p})"
            for c, s, p in zip(sub["child"], sub["share"], sub["parent"], strict=True)
        ]
        rep.add(
            "nesting",
            child_level,
            table["child"][out],
            f"{int(out.sum())} {child_level}(s) straddle several {parent_level}s: "
            f"{listing(detail)}",
        )
    if recorded:
        dis = ~table["agrees"] & ~none
        if dis.any():
            sub = table[dis]
            detail = [
                f"{c} records {r} but lies in {p}"
                for c, r, p in zip(sub["child"], sub["recorded"], sub["parent"], strict=True)
            ]
            rep.add(
                "nesting",
                child_level,
                table["child"][dis],
                f"{int(dis.sum())} {child_level}(s) disagree with their recorded "
                f"{parent_level}: {listing(detail)}",
            )


def _overlap_shares(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of ``a`` and ``b`` polygons that overlap, with the share of ``a[i]`` in ``b[j]``."""
    tree = shapely.STRtree(b)
    ai, bi = tree.query(a, predicate="intersects")
    was = shapely.is_prepared(b)
    shapely.prepare(b)
    covered = shapely.covers(b[bi], a[ai])
    shapely.destroy_prepared(b[~was])
    area_a = shapely.area(a)
    inter = np.empty(len(ai))
    inter[covered] = area_a[ai[covered]]
    rest = ~covered
    inter[rest] = shapely.area(shapely.intersection(a[ai[rest]], b[bi[rest]]))
    keep = inter > 0
    return ai[keep], bi[keep], inter[keep] / np.maximum(area_a[ai[keep]], 1e-300)
