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

Shared boundaries are measured on the coverage itself: in a valid coverage two neighbours
share identical segments, so the segments of every ring are hashed and matched with numpy
and pandas (:func:`shared_boundaries`) — no pairwise geometry overlay.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from boundaries.hierarchy import (
    DEFAULT_LEVELS,
    _as_ids,
    _duplicate_ids,
    _listing,
    _mix,
    _raise_problems,
    _strings,
    _weights,
    group_union,
)
from boundaries.hierarchy import build_layers as _build_layers
from boundaries.hierarchy import ward_table as _ward_table
from geo.errors import (
    ColumnNotFoundError,
    EmptyInputError,
    GeometryError,
    ValidationError,
    check_option,
)

__all__ = [
    "CheckReport",
    "ContiguityFix",
    "Exceptions",
    "Problem",
    "check_assignment",
    "check_contiguity",
    "check_coverage",
    "check_layer_nesting",
    "check_layers",
    "check_nesting",
    "check_unions",
    "dissolve_duplicates",
    "find_gaps",
    "find_overlaps",
    "fix_contiguity",
    "normalise_exceptions",
    "shared_boundaries",
    "validate_areas",
    "validate_wards",
]

log = logging.getLogger("beatplan")

#: Area ids allowed to be non-contiguous: ids for every level, or ``{level: ids}``.
Exceptions = Iterable[str] | Mapping[str, Iterable[str]]
_SEVERITIES = ("error", "warning")
_POLYGONAL = ("Polygon", "MultiPolygon")


# --------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class Problem:
    """One problem found by a check.

    Attributes
    ----------
    check : str
        Which check: ``"assignment"``, ``"nesting"``, ``"union"``, ``"coverage"``,
        ``"overlap"``, ``"gap"``, ``"contiguity"`` or ``"input"``.
    level : str
        The level (``"ward"``, ``"beat"`` ...) or layer concerned.
    ids : tuple of str
        The ids of the wards or areas involved.
    message : str
        What is wrong and how to fix it.
    severity : {"error", "warning"}
        Errors break an invariant; warnings are for a human to look at.
    """

    check: str
    level: str
    ids: tuple[str, ...]
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return f"[{self.severity}] {self.check} ({self.level}): {self.message}"


@dataclass
class CheckReport:
    """The problems found by a set of checks.

    Attributes
    ----------
    problems : list of Problem
        Every problem, in the order found.
    checks : list of str
        The names of the checks that ran (so "no problem" means something).
    tables : dict of str to pandas.DataFrame
        Detail tables some checks add (e.g. ``"nesting"``: one row per child area).
    """

    problems: list[Problem] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        """True when no check found an error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Problem]:
        """The problems of severity ``"error"``."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems of severity ``"warning"``."""
        return [p for p in self.problems if p.severity == "warning"]

    def add(
        self,
        check: str,
        level: str,
        ids: Iterable[Any],
        message: str,
        severity: str = "error",
    ) -> None:
        """Record a problem."""
        check_option("severity", severity, _SEVERITIES)
        self.problems.append(Problem(check, level, tuple(str(i) for i in ids), message, severity))

    def ran(self, name: str) -> None:
        """Record that a check ran."""
        if name not in self.checks:
            self.checks.append(name)

    def extend(self, other: CheckReport) -> CheckReport:
        """Add another report's problems, checks and tables to this one; return self."""
        self.problems.extend(other.problems)
        for c in other.checks:
            self.ran(c)
        self.tables.update(other.tables)
        return self

    def ids(self, check: str | None = None, level: str | None = None) -> set[str]:
        """Return the ids named by the problems of one check and/or level."""
        return {
            i
            for p in self.problems
            if (check is None or p.check == check) and (level is None or p.level == level)
            for i in p.ids
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per problem: check, level, severity, n_ids, ids (``;``-joined), message."""
        return pd.DataFrame(
            {
                "check": [p.check for p in self.problems],
                "level": [p.level for p in self.problems],
                "severity": [p.severity for p in self.problems],
                "n_ids": [len(p.ids) for p in self.problems],
                "ids": [";".join(p.ids) for p in self.problems],
                "message": [p.message for p in self.problems],
            }
        )

    def raise_for_errors(self, source: str = "checks") -> None:
        """Raise :class:`geo.errors.ValidationError` listing every error, if there is one."""
        if self.errors:
            raise ValidationError(
                source, [f"{p.check} ({p.level}): {p.message}" for p in self.errors]
            )

    def __str__(self) -> str:
        if not self.problems:
            return f"all {len(self.checks)} checks passed ({', '.join(self.checks)})"
        head = f"{len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)


# ------------------------------------------------------------------------------ geometry
@dataclass(frozen=True)
class _Adjacency:
    """Shared boundary lengths between polygons, by position: pairs ``i < j``, unique."""

    i: np.ndarray
    j: np.ndarray
    length: np.ndarray


def _adjacency(geoms: np.ndarray, *, matched: bool | None = None) -> _Adjacency:
    """Shared boundary length of every pair of neighbouring polygons.

    In a valid coverage (``matched``; checked with :func:`shapely.coverage_is_valid` when
    None) neighbours share identical segments: each vertex is hashed from its coordinate
    bits, a segment's hash is the (order-free) sum of its ends', segments met twice are
    matched in one pass over ``pandas.factorize`` codes (no sort), checked coordinate by
    coordinate, and their lengths summed per pair. Otherwise the boundaries of the candidate
    pairs are intersected (slower, but right for edges that are not noded alike).
    """
    n = len(geoms)
    empty = _Adjacency(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
    if n < 2:
        return empty
    if matched is None:
        matched, adj, _ = _certify_coverage(geoms)
        if matched:
            return adj
    if not matched:
        tree = shapely.STRtree(geoms)
        i, j = tree.query(geoms, predicate="intersects")
        keep = i < j
        i, j = i[keep], j[keep]
        b = shapely.boundary(geoms)
        length = shapely.length(shapely.intersection(b[i], b[j]))
        pos = length > 0
        return _Adjacency(i[pos].astype(np.int64), j[pos].astype(np.int64), length[pos])
    parts, owner = shapely.get_parts(geoms, return_index=True)
    rings, pidx = shapely.get_rings(parts, return_index=True)
    xy, ridx = shapely.get_coordinates(rings, return_index=True)
    if len(xy) < 2:
        return empty
    xy += 0.0  # -0.0 -> 0.0 so equal coordinates have equal bits
    bits = xy.view(np.uint64)
    hv = _mix(bits[:, 0] ^ _mix(bits[:, 1]))
    start = np.nonzero(ridx[:-1] == ridx[1:])[0]
    codes, _ = pd.factorize(hv[start] + hv[start + 1])
    seen = np.maximum.accumulate(codes)
    dup = np.zeros(len(codes), dtype=bool)
    dup[1:] = codes[1:] <= seen[:-1]
    firsts = np.nonzero(~dup)[0]
    s2 = np.nonzero(dup)[0]
    a1, a2 = start[firsts[codes[s2]]], start[s2]
    own = owner[pidx[ridx]]
    p1, q1, p2, q2 = xy[a1], xy[a1 + 1], xy[a2], xy[a2 + 1]
    same = ((p1 == q2).all(axis=1) & (q1 == p2).all(axis=1)) | (
        (p1 == p2).all(axis=1) & (q1 == q2).all(axis=1)
    )
    keep = same & (own[a1] != own[a2])
    a1, a2 = a1[keep], a2[keep]
    d = xy[a1 + 1] - xy[a1]
    length = np.hypot(d[:, 0], d[:, 1])
    o1, o2 = own[a1].astype(np.int64), own[a2].astype(np.int64)
    key = np.minimum(o1, o2) * n + np.maximum(o1, o2)
    kc, uk = pd.factorize(key, sort=True)
    total = np.bincount(kc, weights=length, minlength=len(uk))
    return _Adjacency(uk // n, uk % n, total)


def _certify_coverage(
    geoms: np.ndarray,
    *,
    adjacency: _Adjacency | None = None,
    union: shapely.Geometry | None = None,
) -> tuple[bool, _Adjacency, shapely.Geometry | None]:
    """Certify cheaply that valid polygons form a coverage (True), or say it cannot (False).

    In a coverage the polygons' areas add up to the area of their union, and the segments not
    shared with a neighbour are exactly the union's boundary. So: match the ring segments
    (:func:`_adjacency`), union the polygons with :func:`shapely.coverage_union_all` (which
    refuses some wrongly noded input; its result must be a valid (multi)polygon), and compare
    areas and lengths. An overlap breaks the
    area identity; an edge not matched vertex for vertex leaves unshared segments inside the
    union and breaks the length identity. False means only "not certified": callers then ask
    :func:`shapely.coverage_is_valid`, which is slower and names the bad edges.

    Returns
    -------
    certified : bool
    adjacency : _Adjacency
        The matched-segment adjacency (right whenever ``certified``).
    union : shapely geometry or None
        The union, when it could be computed.
    """
    adj = adjacency if adjacency is not None else _adjacency(geoms, matched=True)
    if union is None:
        try:
            union = shapely.coverage_union_all(geoms) if len(geoms) > 1 else geoms[0]
        except shapely.errors.GEOSException:
            return False, adj, None
    # coverage_union_all may hand back a wrong answer (e.g. the input unchanged) for
    # overlapping input: overlapping parts make that invalid, so the union must be valid
    if shapely.get_type_id(union) not in (3, 6) or not shapely.is_valid(union):
        return False, adj, None
    area = float(shapely.area(geoms).sum())
    perimeter = float(shapely.length(geoms).sum())
    free = perimeter - 2.0 * float(adj.length.sum())
    ok = (
        abs(area - float(shapely.area(union))) <= 1e-9 * area + 1e-6
        and abs(free - float(shapely.length(shapely.boundary(union)))) <= 1e-9 * perimeter + 1e-6
    )
    return bool(ok), adj, union


def shared_boundaries(wards: gpd.GeoDataFrame, *, ward_id: str = "id") -> pd.DataFrame:
    """Shared boundary length between every pair of neighbouring wards.

    Measured on the coverage: neighbours in a valid coverage share identical segments, so
    ring segments are hashed and matched (vectorised numpy); wards that touch only at a
    point are not neighbours. Run :func:`validate_wards` first on layers that may not be a
    clean coverage.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        Ward polygons forming a coverage.
    ward_id : str, default "id"
        The ward id column.

    Returns
    -------
    pandas.DataFrame
        Columns ``ward_a``, ``ward_b`` (``ward_a`` before ``ward_b`` in the layer's order)
        and ``length_m``, one row per neighbouring pair.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> shared_boundaries(w).to_dict("records")
    [{'ward_a': 'a', 'ward_b': 'b', 'length_m': 1.0}]
    """
    if ward_id not in wards.columns:
        raise ColumnNotFoundError(f"wards: no ward id column {ward_id!r}")
    adj = _adjacency(wards.geometry.values)
    ids = _as_ids(wards[ward_id]).to_numpy(dtype=object)
    return pd.DataFrame({"ward_a": ids[adj.i], "ward_b": ids[adj.j], "length_m": adj.length})


def _union(geoms: np.ndarray) -> shapely.Geometry:
    """Union of a coverage (fast), or of any polygons when they do not form one."""
    g = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)]
    if len(g) == 0:
        return shapely.GeometryCollection()
    if len(g) == 1:
        return g[0]
    try:
        return shapely.coverage_union_all(g)
    except shapely.errors.GEOSException:
        return shapely.union_all(g)


def find_overlaps(geoms: Any, *, min_area: float = 0.0) -> pd.DataFrame:
    """Pairs of polygons whose interiors overlap, with the overlap area.

    Parameters
    ----------
    geoms : array-like of polygons
        The layer.
    min_area : float, default 0
        Report only overlaps larger than this (m²).

    Returns
    -------
    pandas.DataFrame
        Columns ``i``, ``j`` (positions, ``i < j``) and ``area``.
    """
    g = np.asarray(geoms, dtype=object)
    tree = shapely.STRtree(g)
    i, j = tree.query(g, predicate="intersects")
    m = i < j
    i, j = i[m], j[m]
    area = shapely.area(shapely.intersection(g[i], g[j]))
    keep = area > min_area
    return pd.DataFrame({"i": i[keep], "j": j[keep], "area": area[keep]})


def find_gaps(
    geoms: Any, *, min_area: float = 0.0, union: shapely.Geometry | None = None
) -> pd.DataFrame:
    """Gaps between polygons: holes of their union that no polygon fills.

    Parameters
    ----------
    geoms : array-like of polygons
        A coverage.
    min_area : float, default 0
        Report only gaps larger than this (m²).
    union : shapely geometry, optional
        The union of ``geoms``, if already computed.

    Returns
    -------
    pandas.DataFrame
        Columns ``geometry`` (the gap), ``area`` and ``neighbours`` (list of positions of
        the polygons around it), largest gap first.
    """
    g = np.asarray(geoms, dtype=object)
    cols: dict[str, list[Any]] = {"geometry": [], "area": [], "neighbours": []}
    if len(g) == 0:
        return pd.DataFrame(cols)
    if union is None:
        union = _union(g)
    parts = shapely.get_parts(union)
    rings, pidx = shapely.get_rings(parts, return_index=True)
    first = np.r_[True, pidx[1:] != pidx[:-1]]  # exterior ring of each part
    holes = shapely.polygons(rings[~first])
    area = shapely.area(holes)
    keep = area > min_area
    holes, area = holes[keep], area[keep]
    order = np.argsort(-area, kind="stable")
    holes, area = holes[order], area[order]
    tree = shapely.STRtree(g)
    hi, gi = tree.query(holes, predicate="intersects")
    edge = shapely.relate_pattern(holes[hi], g[gi], "****1****")  # share a stretch of edge
    hi, gi = hi[edge], gi[edge]
    neigh = [sorted(gi[hi == k].tolist()) for k in range(len(holes))]
    return pd.DataFrame({"geometry": holes, "area": area, "neighbours": neigh})


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
            f"{int(bad.sum())} feature(s) have a null or empty geometry: {_listing(ids[bad])}; "
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
            f"({_listing(types)}): {_listing(ids[notpoly])}; "
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
                f"{_listing(ids[invalid])}"
            )
            if lost.any():
                problems.append(
                    "make_valid left no polygon for "
                    f"{_listing(ids[np.nonzero(invalid)[0][lost]])}; fix these features by hand"
                )
        else:
            problems.append(
                f"{int(invalid.sum())} invalid geometr{'y' if invalid.sum() == 1 else 'ies'}: "
                f"{_listing(ids[invalid])}; repair with shapely.make_valid"
            )
    return geoms


def _start(frame: Any, id_col: str, what: str) -> pd.Series:
    if not isinstance(frame, gpd.GeoDataFrame):
        raise GeometryError(
            f"{what}: expected a GeoDataFrame of polygons, got {type(frame).__name__}"
        )
    if len(frame) == 0:
        raise EmptyInputError(
            f"{what}: the layer has no features; expected at least one polygon (check the file, "
            "the layer name and any filter)"
        )
    if id_col not in frame.columns:
        raise ColumnNotFoundError(
            f"{what}: no id column {id_col!r}; the columns are {_listing(frame.columns)}; "
            "pass the column holding each feature's code"
        )
    return _as_ids(frame[id_col])


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
    out, messages, _, _ = _validate_wards(
        wards,
        ward_id=ward_id,
        what=what,
        overlap_tolerance=overlap_tolerance,
        gap_width=gap_width,
        repair=repair,
    )
    return out, messages


def _validate_wards(
    wards: gpd.GeoDataFrame,
    *,
    ward_id: str,
    what: str,
    overlap_tolerance: float,
    gap_width: float,
    repair: bool,
) -> tuple[gpd.GeoDataFrame, list[str], shapely.Geometry, _Adjacency]:
    ids = _start(wards, ward_id, what)
    problems: list[str] = []
    messages: list[str] = []
    if ids.isna().any():
        problems.append(f"{int(ids.isna().sum())} ward(s) have no code in column {ward_id!r}")
    geoms = _check_geometries(wards, ids, what, problems, messages, repair=repair)
    _raise_problems(what, problems, _duplicate_ids(ids, what, ward_id))

    certified, adj, union = _certify_coverage(geoms) if gap_width == 0 else (False, None, None)
    if not certified and not shapely.coverage_is_valid(geoms, gap_width=gap_width):
        adj = union = None
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
                    f"{100 * overlap_tolerance:g}% of the smaller ward: {_listing(pairs)}; a ward "
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
                    f"edges with their neighbours: {_listing(ids[involved])}; repair with "
                    "shapely.coverage_clean or call with repair=True"
                ],
            )
        cleaned = np.asarray(shapely.coverage_clean(geoms, gap_width=gap_width), dtype=object)
        empty = shapely.is_empty(cleaned)
        if empty.any() or not shapely.coverage_is_valid(cleaned):
            raise GeometryError(
                f"{what}: the wards could not be made into a clean coverage "
                f"({_listing(ids[empty])} vanished); fix the layer in a GIS"
            )
        msg = (
            f"{what}: {int(involved.sum())} ward(s) had sliver overlaps or unmatched shared edges "
            f"({len(ov)} overlapping pair(s), {ov['area'].sum():,.1f} m² in all): "
            f"{_listing(ids[involved])}; repaired with shapely.coverage_clean"
        )
        messages.append(msg)
        geoms = cleaned
    if union is None:
        union = _union(geoms)
    if adj is None:
        adj = _adjacency(geoms, matched=True)
    gaps = find_gaps(geoms, union=union)
    if len(gaps):
        parts = [
            f"{a:,.0f} m² between {_listing(ids.iloc[n].tolist())}"
            for a, n in zip(gaps["area"], gaps["neighbours"], strict=True)
        ]
        messages.append(
            f"{what}: {len(gaps)} gap(s) between wards (enclosed, in no ward; "
            f"{gaps['area'].sum():,.0f} m² in all): {_listing(parts)}; incidents there belong to "
            "no ward: check the layer is complete"
        )
    for m in messages:
        log.warning(m)
    out = wards.copy()
    out[ward_id] = ids
    out = out.set_geometry(gpd.array.GeometryArray(geoms, crs=wards.crs))
    return out, messages, union, adj


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
    ids = _as_ids(frame[id_col])
    out = frame.copy()
    out[id_col] = ids
    dup = ids.duplicated(keep=False) & ids.notna()
    if not dup.any():
        return out, None
    codes, uniq = pd.factorize(ids)
    geoms = group_union(
        np.asarray(out.geometry.values, dtype=object), codes, len(uniq), coverage=False
    )
    first = ~ids.duplicated(keep="first")
    out = out[first.to_numpy()].copy()
    out = out.set_geometry(gpd.array.GeometryArray(geoms, crs=frame.crs))
    counts = ids[dup].value_counts()
    others = [c for c in frame.columns if c not in (id_col, frame.geometry.name)]
    differ = [
        c
        for c in others
        if (frame.loc[dup.to_numpy(), [c]].assign(_k=ids[dup]).groupby("_k")[c].nunique() > 1).any()
    ]
    msg = (
        f"{what}: {len(counts)} id(s) appear in several features and were merged into one area "
        "each: " + _listing(f"{k!r} ×{v}" for k, v in counts.items())
    )
    if differ:
        msg += f" (their {_listing(differ)} differ; the first feature's were kept)"
    log.warning(msg)
    return out.reset_index(drop=True), msg


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
    ids = _start(areas, area_id, what)
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
    if not _certify_coverage(g)[0] and not shapely.coverage_is_valid(g):
        ov = find_overlaps(g, min_area=1.0)
        if len(ov):
            oid = out[area_id].to_numpy(dtype=object)
            pairs = [
                f"{oid[i]}/{oid[j]} {a:,.0f} m²"
                for i, j, a in zip(ov["i"], ov["j"], ov["area"], strict=True)
            ]
            messages.append(
                f"{what}: {len(ov)} pair(s) of areas overlap ({ov['area'].sum():,.0f} m² in all): "
                f"{_listing(pairs)}; a ward there counts toward both"
            )
            log.warning(messages[-1])
    return out, messages


# --------------------------------------------------------------------------------- checks
def normalise_exceptions(
    exceptions: Exceptions | None, levels: Sequence[str]
) -> dict[str, frozenset[str]]:
    """Turn ``exceptions`` into ``{level: frozenset of ids}``.

    Parameters
    ----------
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous, at every level; or ``{level: ids}``.
    levels : sequence of str
        The levels.

    Returns
    -------
    dict of str to frozenset of str
    """
    levels = list(levels)
    if exceptions is None:
        return {lv: frozenset() for lv in levels}
    if isinstance(exceptions, Mapping):
        for k in exceptions:
            check_option("exceptions level", str(k), levels)
        return {lv: frozenset(str(i) for i in exceptions.get(lv, ())) for lv in levels}
    if isinstance(exceptions, str):
        exceptions = [exceptions]
    ids = frozenset(str(i) for i in exceptions)
    return {lv: ids for lv in levels}


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
        rep.add("assignment", "ward", missing, f"the ward table has no column {_listing(missing)}")
        return rep
    ids = _as_ids(wards[ward_id])
    if ids.isna().any():
        rep.add("assignment", "ward", [], f"{int(ids.isna().sum())} ward(s) have no id")
    dup = ids[ids.duplicated(keep=False) & ids.notna()]
    if len(dup):
        rep.add(
            "assignment",
            "ward",
            sorted(set(dup)),
            f"{dup.nunique()} ward id(s) appear more than once, so those wards are in several "
            f"areas: {_listing(sorted(set(dup)))}",
        )
    for level in levels:
        null = _as_ids(wards[level]).isna().to_numpy()
        if null.any():
            rep.add(
                "assignment",
                level,
                ids[null],
                f"{int(null.sum())} ward(s) are in no {level}: {_listing(ids[null])}",
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
                    f"{_listing(detail)}; resolve with boundaries.nest()",
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

    Returns
    -------
    CheckReport
    """
    rep = CheckReport()
    rep.ran("union")
    wg = np.asarray(wards.geometry.values, dtype=object)
    if ward_union is None:
        ward_union = _union(wg)
    total = float(shapely.area(ward_union))
    tol = _tolerance(tolerance, total)
    ward_area = shapely.area(wg)
    points = shapely.point_on_surface(wg)
    for level, layer in layers.items():
        lg = np.asarray(layer.geometry.values, dtype=object)
        lu = layer_unions[level] if layer_unions and level in layer_unions else _union(lg)
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
        lid = _as_ids(layer["id"]).to_numpy(dtype=object)
        vals = _as_ids(wards[level]).to_numpy(dtype=object)
        extra = sorted(set(lid) - set(vals))
        absent = sorted(set(vals) - set(lid) - {pd.NA})
        if extra:
            rep.add("union", level, extra, f"{level} area(s) with no ward: {_listing(extra)}")
        if absent:
            rep.add(
                "union",
                level,
                absent,
                f"{level} area(s) missing from the layer: {_listing(absent)}",
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
                f"{_listing(lid[off])}",
            )
        was_prepared = shapely.is_prepared(lg)
        shapely.prepare(lg)
        inside = shapely.covers(lg[idx], points[ok])
        shapely.destroy_prepared(lg[~was_prepared])
        if not inside.all():
            wid = _as_ids(wards[ward_id]).to_numpy(dtype=object)[ok][~inside]
            rep.add(
                "union",
                level,
                wid,
                f"{len(wid)} ward(s) lie outside the polygon of their {level}: {_listing(wid)}",
            )
    return rep


def check_coverage(
    layer: gpd.GeoDataFrame,
    *,
    id_col: str = "id",
    level: str = "layer",
    gap_width: float = 0.0,
    tolerance: float = 1.0,
    union: shapely.Geometry | None = None,
) -> CheckReport:
    """No overlap, matching edges and no gap narrower than ``gap_width`` in one layer.

    A fast certificate is tried first (see :func:`_certify_coverage`); when it cannot
    certify the layer, :func:`shapely.coverage_is_valid` decides and
    :func:`shapely.coverage_invalid_edges` names the polygons with bad edges, and the
    overlaps are measured.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        Polygons meant to form a coverage.
    id_col : str, default "id"
        The id column.
    level : str, default "layer"
        Name of the level in the report.
    gap_width : float, default 0
        Also flag gaps narrower than this (metres).
    tolerance : float, default 1.0
        Overlaps up to this many m² are reported as warnings, larger ones as errors.
    union : shapely geometry, optional
        The union of the layer, if already computed.

    Returns
    -------
    CheckReport
    """
    rep = CheckReport()
    rep.ran("coverage")
    g = np.asarray(layer.geometry.values, dtype=object)
    ids = _as_ids(layer[id_col]).to_numpy(dtype=object)
    invalid = ~shapely.is_valid(g)
    if invalid.any():
        rep.add("coverage", level, ids[invalid], f"invalid polygons: {_listing(ids[invalid])}")
        return rep
    if gap_width == 0 and _certify_coverage(g, union=union)[0]:
        return rep
    if shapely.coverage_is_valid(g, gap_width=gap_width):
        return rep
    edges = shapely.coverage_invalid_edges(g, gap_width=gap_width)
    bad = ~shapely.is_empty(edges) & ~shapely.is_missing(edges)
    ov = find_overlaps(g)
    big = ov["area"] > tolerance
    if big.any():
        pairs = [
            f"{ids[i]}/{ids[j]} {a:,.1f} m²"
            for i, j, a in zip(ov["i"][big], ov["j"][big], ov["area"][big], strict=True)
        ]
        rep.add(
            "overlap",
            level,
            sorted(set(ids[ov["i"][big]]) | set(ids[ov["j"][big]])),
            f"{int(big.sum())} pair(s) of {level} polygons overlap: {_listing(pairs)}",
        )
    rep.add(
        "coverage",
        level,
        ids[bad],
        f"{int(bad.sum())} {level} polygon(s) have edges that do not match their neighbours' "
        f"(overlap, sliver or gap narrower than {gap_width:g} m; "
        f"{float(shapely.length(edges[bad]).sum()):,.1f} m of edge): {_listing(ids[bad])}",
        severity="error" if big.any() or gap_width > 0 else "warning",
    )
    return rep


def _components(n: int, adj: _Adjacency, codes: np.ndarray) -> np.ndarray:
    same = codes[adj.i] == codes[adj.j]
    graph = coo_matrix((np.ones(int(same.sum())), (adj.i[same], adj.j[same])), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.int64)


def _pieces_table(
    labels: np.ndarray, codes: np.ndarray, weight: np.ndarray, area: np.ndarray
) -> pd.DataFrame:
    """Per connected component: its area code, weight, area and ward count; main part marked."""
    ncomp = int(labels.max()) + 1 if len(labels) else 0
    code = np.zeros(ncomp, dtype=np.int64)
    code[labels] = codes
    w = np.bincount(labels, weights=weight, minlength=ncomp)
    a = np.bincount(labels, weights=area, minlength=ncomp)
    order = np.lexsort((np.arange(ncomp), -a, -w, code))
    main = np.zeros(ncomp, dtype=bool)
    first = np.ones(ncomp, dtype=bool)
    first[1:] = code[order][1:] != code[order][:-1]
    main[order[first]] = True
    parts = np.bincount(code, minlength=int(code.max()) + 1 if ncomp else 0)[code]
    return pd.DataFrame(
        {
            "code": code,
            "w": w,
            "a": a,
            "n": np.bincount(labels, minlength=ncomp),
            "main": main,
            "parts": parts,
        }
    )


def check_contiguity(
    wards: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    exceptions: Exceptions | None = (),
    adjacency: _Adjacency | None = None,
) -> CheckReport:
    """Every area is contiguous: its wards are connected through shared boundaries.

    Two wards are connected when they share a stretch of boundary (touching at a corner is
    not enough); a ward in several parts (an island) counts as one piece. Areas named in
    ``exceptions`` may be in pieces.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table whose wards form a coverage.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous (see :func:`normalise_exceptions`).
    adjacency : optional
        Precomputed adjacency of the wards (internal).

    Returns
    -------
    CheckReport
        One error per non-contiguous area, naming the detached wards.
    """
    rep = CheckReport()
    rep.ran("contiguity")
    levels = list(levels)
    exc = normalise_exceptions(exceptions, levels)
    g = np.asarray(wards.geometry.values, dtype=object)
    adj = adjacency if adjacency is not None else _adjacency(g)
    area = shapely.area(g)
    wid = _as_ids(wards[ward_id]).to_numpy(dtype=object)
    for level in levels:
        codes, uniq_ = pd.factorize(_as_ids(wards[level]))
        uniq = np.asarray(uniq_, dtype=object)
        labels = _components(len(g), adj, codes)
        comp = _pieces_table(labels, codes, area, area)
        split = comp[(comp["parts"] > 1) & ~comp["main"]]
        if not len(split):
            continue
        det = pd.Series(labels).isin(split.index).to_numpy()
        by_area = pd.DataFrame({"code": codes[det], "ward": wid[det]}).groupby("code")["ward"]
        for code, grp in by_area:
            aid = str(uniq[int(code)])  # type: ignore[arg-type]
            sev = "warning" if aid in exc[level] else "error"
            n_parts = int(comp.loc[comp["code"] == code, "parts"].iloc[0])
            msg = (
                f"{level} {aid} is in {n_parts} pieces; ward(s) detached from its main part: "
                f"{_listing(sorted(grp))}"
            )
            msg += (
                " (declared an exception)"
                if sev == "warning"
                else "; fix with boundaries.fix_contiguity or declare it an exception"
            )
            rep.add("contiguity", level, [aid, *sorted(grp)], msg, severity=sev)
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
    adjacency: _Adjacency | None = None,
    ward_union: shapely.Geometry | None = None,
    wards_valid: bool = False,
) -> CheckReport:
    """Run every check on a ward table and its layers.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table.
    layers : mapping, optional
        The layers built from it (:func:`boundaries.build_layers`); built here when omitted.
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
        layers = _build_layers(wards, levels=levels, ward_id=ward_id)
    if ward_union is None:
        ward_union = _union(g)
    gaps = find_gaps(g, min_area=tolerance, union=ward_union)
    wid = _as_ids(wards[ward_id]).to_numpy(dtype=object)
    for area, neigh in zip(gaps["area"], gaps["neighbours"], strict=True):
        rep.add(
            "gap",
            "ward",
            wid[neigh],
            f"a gap of {area:,.0f} m² lies between wards {_listing(wid[neigh])} and in none of "
            "them (or any area): check the ward layer is complete",
            severity="warning",
        )
    rep.ran("gap")
    unions = {lv: _union(np.asarray(ly.geometry.values, dtype=object)) for lv, ly in layers.items()}
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
        )
    )
    adj = adjacency if adjacency is not None else _adjacency(g, matched=ward_ok)
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
    from geo.errors import CRSMismatchError

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
    _start(child, child_id, child_level)
    _start(parent, parent_id, parent_level)
    c, msg_c = dissolve_duplicates(child, child_id, what=child_level)
    p, msg_p = dissolve_duplicates(parent, parent_id, what=parent_level)
    for m in (msg_c, msg_p):
        if m:
            rep.add("input", child_level if m is msg_c else parent_level, [], m, severity="warning")
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
            "parent": _strings(
                np.where(bp.notna(), pid[bp.fillna(0).astype(int).to_numpy()], None)
            ),
            "share": best["share"].reindex(np.arange(len(c))).fillna(0.0).to_numpy(),
        }
    )
    table["nested"] = table["share"] >= 1 - tolerance
    if recorded is not None:
        table["recorded"] = _as_ids(c[recorded]).to_numpy()
        table["agrees"] = (table["recorded"] == table["parent"]).fillna(False).astype(bool)
    rep.tables["nesting"] = table
    none = table["parent"].isna()
    if none.any():
        rep.add(
            "nesting",
            child_level,
            table["child"][none],
            f"{int(none.sum())} {child_level}(s) lie in no {parent_level}: "
            f"{_listing(table['child'][none])}",
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
            f"{_listing(detail)}",
        )
    if recorded is not None:
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
                f"{parent_level}: {_listing(detail)}",
            )
    return rep


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


# ------------------------------------------------------------------------- contiguity fix
@dataclass(frozen=True)
class ContiguityFix:
    """What :func:`fix_contiguity` returns.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The ward table with detached parts given to a neighbour.
    moves : pandas.DataFrame
        One row per detached part moved: ``level``, ``from``, ``to``, ``n_wards``, ``wards``
        (``;``-joined ids), ``area_m2`` and ``shared_m`` (boundary shared with ``to``).
    report : CheckReport
        What could not be fixed (a part touching no other area, a part that would split a
        smaller area declared an exception), and the areas still in pieces.
    """

    wards: gpd.GeoDataFrame
    moves: pd.DataFrame = field(repr=False)
    report: CheckReport = field(repr=False)

    @property
    def moved_wards(self) -> set[str]:
        """Ids of every ward moved."""
        return {w for s in self.moves["wards"] for w in str(s).split(";") if w}


_MOVE_COLUMNS = ["level", "from", "to", "n_wards", "wards", "area_m2", "shared_m"]


def fix_contiguity(
    wards: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    exceptions: Exceptions | None = (),
    weight: str | Sequence[float] | np.ndarray | pd.Series | None = None,
    adjacency: _Adjacency | None = None,
    max_rounds: int | None = None,
) -> ContiguityFix:
    """Give every detached part of an area to the neighbour it shares most boundary with.

    Level by level, small to large: an area whose wards fall into several connected pieces
    keeps its main piece (largest ``weight``, default area) and each other piece goes, whole,
    to the neighbouring area it shares the longest boundary with (ties: the smaller id),
    taking that area's higher levels so nesting holds. A piece joins only a neighbour's main
    piece (so two detached pieces never swap places); one touching only other detached
    pieces waits for a later round. Areas in ``exceptions`` are left in pieces. A piece
    touching no other area, or one whose move would split a smaller area (possible only when
    that smaller area is an exception), is reported instead.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A nested ward table whose wards form a coverage.
    levels : sequence of str
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    exceptions : iterable of str or mapping, optional
        Area ids allowed to be non-contiguous.
    weight : str or array-like, optional
        What decides an area's main piece: a column or one number per ward; default area.
    adjacency : optional
        Precomputed ward adjacency (internal).
    max_rounds : int, optional
        Most rounds of moves per level; default the number of wards (every round settles at
        least one piece, so the fix always finishes).

    Returns
    -------
    ContiguityFix

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c"], "beat": ["B1", "B2", "B1"]},
    ...     geometry=[box(0, 0, 2, 1), box(2, 0, 3, 1), box(3, 0, 4, 1)],
    ... )
    >>> fix = fix_contiguity(w, levels=["beat"])
    >>> fix.wards["beat"].tolist(), fix.moves["wards"].tolist()
    (['B1', 'B2', 'B2'], ['c'])
    """
    levels = list(levels)
    table = _ward_table(wards, ward_id=ward_id, levels=levels)
    exc = normalise_exceptions(exceptions, levels)
    g = np.asarray(table.geometry.values, dtype=object)
    n = len(g)
    adj = adjacency if adjacency is not None else _adjacency(g)
    area = shapely.area(g)
    w = _weights(table, weight)
    wid = table[ward_id].to_numpy(dtype=object)
    rep = CheckReport()
    rep.ran("contiguity")
    moves: list[dict[str, Any]] = []
    both_i = np.concatenate([adj.i, adj.j])
    both_j = np.concatenate([adj.j, adj.i])
    both_len = np.concatenate([adj.length, adj.length])
    stuck: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for k, level in enumerate(levels):
        for _round in range(max_rounds if max_rounds is not None else max(n, 1)):
            vals = table[level].to_numpy(dtype=object)
            codes, uniq_ = pd.factorize(vals)
            uniq = np.asarray(uniq_, dtype=object)
            labels = _components(n, adj, codes)
            comp = _pieces_table(labels, codes, w, area)
            exc_codes = {c for c, u in enumerate(uniq) if u in exc[level]}
            det = comp[(comp["parts"] > 1) & ~comp["main"] & ~comp["code"].isin(exc_codes)]
            if not len(det):
                break
            e = pd.DataFrame(
                {
                    "comp": labels[both_i],
                    "to": codes[both_j],
                    "frm": codes[both_i],
                    "len": both_len,
                }
            )
            e = e[e["comp"].isin(det.index) & (e["to"] != e["frm"])]
            touches_other = set(e["comp"].unique())
            # join only the main piece of a neighbour: two detached pieces never swap, and
            # a piece touching only other detached pieces waits for a later round
            settled = comp["main"].to_numpy() | comp["code"].isin(exc_codes).to_numpy()
            e = e[settled[labels[both_j[e.index.to_numpy()]]]]
            cand = e.groupby(["comp", "to"])["len"].sum().reset_index()
            cand["to_id"] = uniq[cand["to"].to_numpy()]
            cand = cand.sort_values(["comp", "len", "to_id"], ascending=[True, False, True])
            best = cand.drop_duplicates("comp").set_index("comp")
            det_area = {
                int(c): str(uniq[int(code)]) for c, code in zip(det.index, det["code"], strict=True)
            }
            in_det = pd.Series(labels).isin(det.index).to_numpy()
            for cmp in det.index.difference(pd.Index(sorted(touches_other))):
                members = sorted(wid[labels == cmp])
                stuck[(level, det_area[int(cmp)])] = (
                    f"{level} {det_area[int(cmp)]}: detached ward(s) {_listing(members)} "
                    "touch no other area; declare the area an exception or reassign them by hand",
                    members,
                )
            if k > 0:
                child = table[levels[k - 1]].to_numpy(dtype=object)
                tot = pd.Series(child).value_counts()
                inc = pd.DataFrame({"comp": labels[in_det], "child": child[in_det]})
                cnt = inc.groupby(["comp", "child"]).size().reset_index(name="n")
                cnt["tot"] = cnt["child"].map(tot).to_numpy()
                splitting = cnt[cnt["n"] < cnt["tot"]]
                for cmp_, grp in splitting.groupby("comp"):
                    cmp = int(cmp_)  # type: ignore[arg-type]
                    if cmp in best.index:
                        stuck[(level, det_area[cmp])] = (
                            f"{level} {det_area[cmp]}: moving its detached part "
                            f"would split {levels[k - 1]} {_listing(sorted(grp['child']))}; "
                            "fix by hand",
                            sorted(wid[labels == cmp]),
                        )
                        best = best.drop(index=cmp)
            if not len(best):
                break
            rep_ward = pd.Series(np.arange(n)).groupby(codes).first().to_numpy()
            target_code = pd.Series(best["to"]).reindex(np.arange(labels.max() + 1)).to_numpy()
            tc = target_code[labels]
            mv = ~np.isnan(tc)
            src_ward = rep_ward[tc[mv].astype(np.int64)]
            for higher in levels[k:]:
                col = table[higher].to_numpy(dtype=object).copy()
                col[mv] = col[src_ward]
                table[higher] = _strings(col)
            for cmp, to_id, length in zip(best.index, best["to_id"], best["len"], strict=True):
                moved = np.nonzero(labels == cmp)[0]
                moves.append(
                    {
                        "level": level,
                        "from": det_area[int(cmp)],
                        "to": str(to_id),
                        "n_wards": len(moved),
                        "wards": ";".join(sorted(wid[moved])),
                        "area_m2": float(area[moved].sum()),
                        "shared_m": float(length),
                    }
                )
            log.info(
                "fix_contiguity: %d detached %s piece(s) moved to a neighbour", len(best), level
            )
    for (level, aid), (msg, members) in stuck.items():
        rep.add("contiguity", level, [aid, *members], msg)
    rest = check_contiguity(
        table, levels=levels, ward_id=ward_id, exceptions=exceptions, adjacency=adj
    )
    for p in rest.problems:
        if p.severity == "error" and (p.level, p.ids[0]) not in stuck:
            rep.problems.append(p)
    mdf = (
        pd.DataFrame(moves, columns=_MOVE_COLUMNS)
        if moves
        else pd.DataFrame({c: pd.Series(dtype=object) for c in _MOVE_COLUMNS})
    )
    return ContiguityFix(wards=table, moves=mdf, report=rep)
