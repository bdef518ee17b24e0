"""The police hierarchy as a ward table, and the layers built from it.

The canonical form of a police hierarchy is a *ward table*: a GeoDataFrame with one row per
ward, the ward id, one column per level (small to large, e.g. ``beat``, ``sector``, ``npa``)
naming the area the ward belongs to, and the ward polygon. Every level's layer is the exact
union of its wards (:func:`shapely.coverage_union`, one vectorised call per group size), so
the layers form a coverage whose shared edges are the wards' own.

* :func:`ward_table` checks and normalises a ward table (or builds one from a lookup);
* :func:`build_layers` makes one polygon layer per level, plus the ``force`` layer;
* :func:`nest` makes every area lie in exactly one area of each higher level, resolving
  conflicts by the majority (by ward area or demand) and reporting them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException

from beatplan.boundaries._common import (
    as_ids,
    duplicate_ids,
    listing,
    raise_problems,
    strings,
    ward_weights,
)
from beatplan.geo.errors import (
    ColumnNotFoundError,
    EmptyInputError,
    GeometryError,
    ValidationError,
)

__all__ = [
    "DEFAULT_LEVELS",
    "FORCE",
    "Nesting",
    "build_layers",
    "group_union",
    "nest",
    "ward_table",
]

log = logging.getLogger("beatplan")

#: The usual police levels above the ward, small to large.
DEFAULT_LEVELS: tuple[str, ...] = ("beat", "sector", "npa")
#: Name (and id) of the layer that is the union of every ward.
FORCE = "force"
MAX_LISTED = 10


def group_union(
    geoms: np.ndarray, codes: np.ndarray, n_groups: int, *, coverage: bool = True
) -> np.ndarray:
    """Union the geometries of each group, vectorised.

    Groups are padded into 2-D arrays (one per power-of-two group size, so padding at most
    doubles the work) and reduced with one ``coverage_union_all`` (or ``union_all``) call
    along ``axis=1`` each: no Python loop per group.

    Parameters
    ----------
    geoms : numpy.ndarray of shapely geometries
        The pieces.
    codes : numpy.ndarray of int
        Group number of each piece, in ``0 .. n_groups - 1``.
    n_groups : int
        Number of groups.
    coverage : bool, default True
        The pieces form a coverage (no overlaps, matching edges): use the fast
        :func:`shapely.coverage_union_all`. Otherwise :func:`shapely.union_all`.

    Returns
    -------
    numpy.ndarray
        One geometry per group (an empty GeometryCollection for a group with no piece).

    Raises
    ------
    GeometryError
        ``coverage=True`` and the pieces do not form a coverage.
    """
    codes = np.asarray(codes, dtype=np.int64)
    out = np.empty(n_groups, dtype=object)
    out[:] = shapely.GeometryCollection()
    if len(codes) == 0:
        return out
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    width = 1 << np.ceil(np.log2(np.maximum(counts, 1))).astype(np.int64)
    union = shapely.coverage_union_all if coverage else shapely.union_all
    for w in np.unique(width[counts > 0]):
        groups = np.nonzero((width == w) & (counts > 0))[0]
        c = counts[groups]
        rows = np.repeat(np.arange(len(groups)), c)
        cols = np.arange(c.sum()) - np.repeat(np.cumsum(c) - c, c)
        pad = np.full((len(groups), int(w)), None, dtype=object)
        pad[rows, cols] = geoms[order[np.repeat(starts[groups], c) + cols]]
        try:
            out[groups] = union(pad, axis=1)
        except GEOSException as exc:
            raise GeometryError(
                "the wards do not form a coverage (they overlap or their shared edges do not "
                f"match: {exc}); check and repair them first with "
                "beatplan.boundaries.validate_wards(wards, repair=True)"
            ) from exc
    return out


def ward_table(
    wards: gpd.GeoDataFrame,
    *,
    ward_id: str = "id",
    levels: Sequence[str] = DEFAULT_LEVELS,
    lookup: pd.DataFrame | Mapping[str, Mapping[Any, Any]] | None = None,
    what: str = "wards",
) -> gpd.GeoDataFrame:
    """Check a ward table and return a clean copy of it.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        One row per ward: the ward id, one column per level (unless given in ``lookup``) and
        the ward polygon.
    ward_id : str, default "id"
        The column holding each ward's unique id.
    levels : sequence of str, default ("beat", "sector", "npa")
        The level columns, small to large.
    lookup : DataFrame or mapping, optional
        Where the levels come from when ``wards`` lacks them: a table with a ``ward_id``
        column and one column per level, or a mapping ``{level: {ward id: area id}}``. Its
        values replace any level column ``wards`` already has.
    what : str, default "wards"
        Name of the input in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with the ward id and the level columns as strings, the ward id first, then the
        levels, then the other columns and ``geometry``; the index of ``wards``.

    Raises
    ------
    EmptyInputError
        No ward.
    ColumnNotFoundError
        The ward id column or a level column is missing.
    DuplicateIdError
        A ward id appears more than once.
    ValidationError
        Every other problem at once: null ids, wards with no area at some level, null or
        empty geometry.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)])
    >>> ward_table(w, levels=["beat"], lookup={"beat": {"a": "B1", "b": "B1"}})["beat"].tolist()
    ['B1', 'B1']
    """
    levels = list(levels)
    if not isinstance(wards, gpd.GeoDataFrame):
        raise GeometryError(f"{what}: expected a GeoDataFrame of ward polygons, got {type(wards)}")
    if len(wards) == 0:
        raise EmptyInputError(f"{what}: the layer has no features; expected one row per ward")
    if len(set(levels)) != len(levels) or ward_id in levels:
        raise ValidationError(
            what, [f"levels {levels} repeat a name or include the ward id column {ward_id!r}"]
        )
    if ward_id not in wards.columns:
        raise ColumnNotFoundError(
            f"{what}: no ward id column {ward_id!r}; the columns are "
            f"{listing(wards.columns)}; pass ward_id= naming the column of ward codes"
        )
    out = wards.copy()
    out[ward_id] = as_ids(out[ward_id])
    if lookup is not None:
        if isinstance(lookup, pd.DataFrame):
            if ward_id not in lookup.columns:
                raise ColumnNotFoundError(
                    f"lookup: no ward id column {ward_id!r}; its columns are "
                    f"{listing(lookup.columns)}"
                )
            lk = lookup.assign(**{ward_id: as_ids(lookup[ward_id])}).drop_duplicates(ward_id)
            lk = lk.set_index(ward_id)
            for level in levels:
                if level in lk.columns:
                    out[level] = out[ward_id].map(lk[level])
        else:
            for level, mapping in lookup.items():
                m = {str(k): v for k, v in mapping.items()}
                out[level] = out[ward_id].map(m)
    missing = [c for c in levels if c not in out.columns]
    if missing:
        raise ColumnNotFoundError(
            f"{what}: no column for level{'s' if len(missing) > 1 else ''} "
            f"{listing(repr(m) for m in missing)}; the columns are {listing(out.columns)}; "
            "give one column per "
            "level (small to large) or a lookup= from ward id to area"
        )
    problems: list[str] = []
    ids = out[ward_id]
    if ids.isna().any():
        problems.append(f"{int(ids.isna().sum())} ward(s) have no id in column {ward_id!r}")
    for level in levels:
        out[level] = as_ids(out[level])
        null = out[level].isna()
        if null.any():
            problems.append(
                f"{int(null.sum())} ward(s) belong to no {level} (every ward must be in exactly "
                f"one area at each level): {listing(ids[null])}"
            )
    geom = out.geometry.values
    bad = shapely.is_missing(geom) | shapely.is_empty(geom)
    if bad.any():
        problems.append(
            f"{int(bad.sum())} ward(s) have a null or empty geometry: {listing(ids[bad])}"
        )
    raise_problems(what, problems, duplicate_ids(ids, what, ward_id))
    others = [c for c in out.columns if c not in (ward_id, *levels, out.geometry.name)]
    return out[[ward_id, *levels, *others, out.geometry.name]]


def _nests(child: pd.Series, parent: pd.Series) -> bool:
    return bool((pd.DataFrame({"c": child, "p": parent}).groupby("c")["p"].nunique() <= 1).all())


def _names_for(
    names: Mapping[str, str | Mapping[Any, Any]] | None,
    level: str,
    wards: pd.DataFrame,
    ids: pd.Index,
) -> pd.Series | None:
    if not names or level not in names:
        return None
    spec = names[level]
    if isinstance(spec, str):
        if spec not in wards.columns:
            raise ColumnNotFoundError(
                f"names[{level!r}]={spec!r} is not a column of the ward table; its columns are "
                f"{listing(wards.columns)}"
            )
        first = wards.groupby(level, sort=False)[spec].first()
        return pd.Series(first.reindex(ids).to_numpy(), dtype="string")
    m = {str(k): v for k, v in spec.items()}
    return pd.Series([m.get(i) for i in ids], dtype="string")


def build_layers(
    wards: gpd.GeoDataFrame,
    *,
    levels: Sequence[str] = DEFAULT_LEVELS,
    ward_id: str = "id",
    names: Mapping[str, str | Mapping[Any, Any]] | None = None,
    force: str | None = FORCE,
) -> dict[str, gpd.GeoDataFrame]:
    """Build one polygon layer per level, each area the exact union of its wards.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table (see :func:`ward_table`) whose wards form a coverage.
    levels : sequence of str, default ("beat", "sector", "npa")
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    names : mapping, optional
        For some levels, where each area's name comes from: a column of the ward table
        (``{"npa": "npa_name"}``) or a mapping from area id to name.
    force : str or None, default "force"
        Name and id of the layer holding the union of every ward; ``None`` for none.

    Returns
    -------
    dict of str to geopandas.GeoDataFrame
        One layer per level (and ``force``), in order, each with columns ``id``, ``name``
        (when named), the ids of the higher levels it nests in, ``n_wards``, ``area_m2`` and
        ``geometry``; sorted by id; RangeIndex; the wards' CRS. A level that does not nest in
        a higher level gets <NA> in that column for its split areas (see :func:`nest`).

    Raises
    ------
    GeometryError
        The wards do not form a coverage.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c"], "beat": ["B1", "B1", "B2"], "npa": ["N", "N", "N"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    ... )
    >>> layers = build_layers(w, levels=["beat", "npa"])
    >>> list(layers), layers["beat"]["area_m2"].tolist()
    (['beat', 'npa', 'force'], [2.0, 1.0])
    """
    levels = list(levels)
    table = ward_table(wards, ward_id=ward_id, levels=levels)
    geoms = table.geometry.values
    crs = table.crs
    layers: dict[str, gpd.GeoDataFrame] = {}
    prev: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (codes, ids, geoms)
    for k, level in enumerate(levels):
        codes, uniques = pd.factorize(table[level], sort=True)
        ids = pd.Index(uniques, dtype="string")
        if prev is not None and _nests(table[levels[k - 1]], table[level]):
            # union the level below: fewer, larger pieces whose edges still match
            pcodes, _pids, pgeoms = prev
            child_parent = np.zeros(len(pgeoms), dtype=np.int64)
            child_parent[pcodes] = codes
            poly = group_union(pgeoms, child_parent, len(ids))
        else:
            poly = group_union(geoms, codes, len(ids))
        cols: dict[str, Any] = {"id": strings(ids)}
        nm = _names_for(names, level, table, ids)
        if nm is not None:
            cols["name"] = nm.array
        for higher in levels[k + 1 :]:
            pairs = table[[level, higher]].drop_duplicates()
            split = pairs[level].duplicated(keep=False)
            pairs = pairs[~split]
            cols[higher] = strings(
                pd.Series(pairs[higher].to_numpy(), index=pairs[level].to_numpy()).reindex(ids)
            )
        cols["n_wards"] = np.bincount(codes, minlength=len(ids)).astype(np.int64)
        cols["area_m2"] = shapely.area(poly)
        layers[level] = gpd.GeoDataFrame(cols, geometry=poly, crs=crs)
        prev = (codes, np.asarray(ids), poly)
    if force is not None:
        top = prev[2] if prev is not None else geoms
        whole = shapely.coverage_union_all(top) if len(top) else shapely.GeometryCollection()
        layers[force] = gpd.GeoDataFrame(
            {
                "id": strings([force]),
                "n_wards": np.array([len(table)], dtype=np.int64),
                "area_m2": [shapely.area(whole)],
            },
            geometry=[whole],
            crs=crs,
        )
    return layers


@dataclass(frozen=True)
class Nesting:
    """What :func:`nest` returns.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The ward table with every level nested in the next.
    conflicts : pandas.DataFrame
        One row per area that straddled several areas of the next level: ``level``, ``id``,
        ``parent_level``, ``parent`` (kept), ``share`` (of the area's weight in it),
        ``others`` (the other parents with their shares), ``n_moved`` and ``wards_moved``
        (ids of the wards whose higher-level areas changed).
    """

    wards: gpd.GeoDataFrame
    conflicts: pd.DataFrame = field(repr=False)

    @property
    def ok(self) -> bool:
        """True when the input already nested (no conflict)."""
        return len(self.conflicts) == 0


_CONFLICT_COLUMNS = [
    "level",
    "id",
    "parent_level",
    "parent",
    "share",
    "others",
    "n_moved",
    "wards_moved",
]


def _follow(
    table: gpd.GeoDataFrame, higher: Sequence[str], child: np.ndarray, moved: np.ndarray, w: Any
) -> None:
    """Give moved wards the higher levels of their area's wards that stayed (by weight).

    So a move at one level never leaves a higher level straddling by accident: the area
    goes whole, with the NPA (say) of the sector it joined.
    """
    if not moved.any():
        return
    stay = ~moved
    for lv in higher:
        vals = table[lv].to_numpy(dtype=object).copy()
        h = pd.DataFrame({"c": child[stay], "h": vals[stay], "w": np.asarray(w)[stay]})
        pick = (
            h.groupby(["c", "h"], sort=True)["w"]
            .sum()
            .reset_index()
            .sort_values(["c", "w", "h"], ascending=[True, False, True], kind="stable")
            .drop_duplicates("c")
            .set_index("c")["h"]
        )
        vals[moved] = pd.Series(child[moved]).map(pick).to_numpy()
        table[lv] = strings(vals)


def nest(
    wards: gpd.GeoDataFrame,
    levels: Sequence[str] = DEFAULT_LEVELS,
    *,
    ward_id: str = "id",
    weight: str | Sequence[float] | np.ndarray | pd.Series | None = None,
) -> Nesting:
    """Make every area lie in exactly one area of each higher level.

    Working up from the smallest level, each area whose wards are split between several
    areas of the next level is given wholly to the one holding the majority of its wards'
    weight (ward area by default, or demand); ties go to the larger ward area, then to the
    smaller id. Every such conflict is reported. The smallest level is never changed.

    Parameters
    ----------
    wards : geopandas.GeoDataFrame
        A ward table.
    levels : sequence of str, default ("beat", "sector", "npa")
        Level columns, small to large.
    ward_id : str, default "id"
        The ward id column.
    weight : str or array-like, optional
        A column of the ward table, or one number per ward (e.g. incidents); default the
        ward area.

    Returns
    -------
    Nesting
        The nested ward table (a copy) and the conflicts.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import box
    >>> w = gpd.GeoDataFrame(
    ...     {"id": ["a", "b", "c"], "beat": ["B1", "B1", "B1"], "npa": ["N1", "N1", "N2"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)],
    ... )
    >>> r = nest(w, ["beat", "npa"])
    >>> r.wards["npa"].tolist(), r.conflicts["wards_moved"].tolist()
    (['N1', 'N1', 'N1'], ['c'])
    """
    levels = list(levels)
    table = ward_table(wards, ward_id=ward_id, levels=levels)
    w = ward_weights(table, weight)
    area = np.asarray(shapely.area(table.geometry.values), dtype=float)
    rows: list[pd.DataFrame] = []
    for child, parent in zip(levels[:-1], levels[1:], strict=True):
        df = pd.DataFrame(
            {"c": table[child].to_numpy(), "p": table[parent].to_numpy(), "w": w, "a": area}
        )
        g = df.groupby(["c", "p"], sort=True)[["w", "a"]].sum().reset_index()
        n_par = g.groupby("c")["p"].transform("size")
        if not (n_par > 1).any():
            continue
        g = g.sort_values(["c", "w", "a", "p"], ascending=[True, False, False, True])
        best = g.drop_duplicates("c").set_index("c")["p"]
        new_parent = df["c"].map(best)
        moved = new_parent.to_numpy() != df["p"].to_numpy()
        # record the conflicts, then move the wards (and their higher levels) below
        multi = g[g.groupby("c")["p"].transform("size") > 1].copy()
        tot = multi.groupby("c")["w"].transform("sum")
        tot_a = multi.groupby("c")["a"].transform("sum")
        multi["share"] = np.where(tot > 0, multi["w"] / tot.where(tot > 0, 1), multi["a"] / tot_a)
        moved_ids = (
            pd.DataFrame({"c": df["c"][moved], "ward": table[ward_id].to_numpy()[moved]})
            .groupby("c")["ward"]
            .agg(lambda s: ";".join(sorted(s)))
        )
        for cid, grp in multi.groupby("c", sort=True):
            keep = grp.iloc[0]
            others = "; ".join(f"{r.p} ({r.share:.3f})" for r in grp.iloc[1:].itertuples())
            wm = moved_ids.get(cid, "")
            rows.append(
                pd.DataFrame(
                    {
                        "level": [child],
                        "id": [cid],
                        "parent_level": [parent],
                        "parent": [keep["p"]],
                        "share": [float(keep["share"])],
                        "others": [others],
                        "n_moved": [len(wm.split(";")) if wm else 0],
                        "wards_moved": [wm],
                    }
                )
            )
        table[parent] = strings(new_parent.to_numpy())
        _follow(table, levels[levels.index(parent) + 1 :], df["c"].to_numpy(), moved, w)
        log.info(
            "nest: %d %s area(s) straddled several %s areas; %d ward(s) moved to the majority",
            multi["c"].nunique(),
            child,
            parent,
            int(moved.sum()),
        )
    conflicts = (
        pd.concat(rows, ignore_index=True)
        if rows
        else pd.DataFrame({c: pd.Series(dtype=object) for c in _CONFLICT_COLUMNS})
    )
    return Nesting(wards=table, conflicts=conflicts)
