"""What every map shares: the frame (basemap, controls, zoom to the area) and input handling."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.plugins import Fullscreen
from pyproj import CRS

from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, FORCE, build_layers
from beatplan.boundaries.plan import BoundaryPlan
from beatplan.geo.crs import WGS84, working_crs
from beatplan.geo.errors import (
    ColumnNotFoundError,
    CRSError,
    EmptyInputError,
    GeometryError,
    ValidationError,
    check_option,
)
from beatplan.maps.layers import add_registry, escape
from beatplan.maps.style import PrintFit, add_page_css

__all__ = [
    "LEVEL_TITLES",
    "TILES",
    "Boundaries",
    "add_controls",
    "area_geometry",
    "as_points",
    "boundary_layers",
    "html_rows",
    "layers_from_wards",
    "levels_of",
    "new_map",
    "rows_level",
    "to_metric",
]

log = logging.getLogger("beatplan")

#: How a level is written in titles and legends.
LEVEL_TITLES = {"ward": "Ward", "beat": "Beat", "sector": "Sector", "npa": "NPA", "lpa": "LPA"}

#: Basemaps by name (xyzservices names that folium knows); "none" for no basemap.
TILES: dict[str, str | None] = {
    "OpenStreetMap": "OpenStreetMap",
    "CartoDB positron": "CartoDB positron",
    "CartoDB voyager": "CartoDB voyager",
    "none": None,
}


def _tiles(tiles: str | None) -> str | None:
    if tiles is None:
        return None
    return TILES[check_option("tiles", tiles, TILES)]


def to_metric(gdf: gpd.GeoDataFrame, crs: CRS | None, *, what: str) -> gpd.GeoDataFrame:
    """Return ``gdf`` in ``crs`` (or in its own CRS when projected, else the working CRS)."""
    if gdf.crs is None:
        raise CRSError(f"{what}: the layer has no CRS; set it with .set_crs(...) first")
    own = CRS.from_user_input(gdf.crs)
    target = crs if crs is not None else (own if own.is_projected else working_crs(gdf))
    return gdf if own.equals(target) else gdf.to_crs(target)


def as_points(incidents: Any, *, what: str = "incidents") -> gpd.GeoDataFrame:
    """Return the incident points (an ``Incidents`` or a point GeoDataFrame) in metres."""
    points = getattr(incidents, "points", incidents)
    if not isinstance(points, gpd.GeoDataFrame):
        raise ValidationError(
            what,
            [
                f"expected a beatplan.geo.Incidents result or a GeoDataFrame of points, found "
                f"{type(incidents).__name__}; read files with beatplan.geo.read_incidents(...)"
            ],
        )
    pts = to_metric(points, None, what=what)
    geom = np.asarray(pts.geometry.values, dtype=object)
    bad = shapely.is_missing(geom) | shapely.is_empty(geom)
    bad |= ~bad & (shapely.get_type_id(geom) != 0)
    if bad.any():
        raise GeometryError(
            f"{what}: {int(bad.sum()):,} rows are not single points (index "
            f"{', '.join(map(str, pts.index[bad][:5]))}); drop them first"
        )
    return pts


#: What the maps take as police areas: a plan, one layer or a ward table, or ``{level: layer}``.
Boundaries: TypeAlias = BoundaryPlan | gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame]


def boundary_layers(
    boundaries: Boundaries | None, crs: CRS | None, *, what: str = "boundaries"
) -> dict[str, gpd.GeoDataFrame]:
    """Normalise boundaries to ``{level: layer}``, small to large, each with ``id`` and ``name``.

    Accepted: None; a :class:`beatplan.boundaries.BoundaryPlan` (what
    :func:`beatplan.boundaries.realign`, :func:`beatplan.boundaries.reorganise` and
    :func:`beatplan.boundaries.read_plan` return: its layers, which carry the areas' names); one
    GeoDataFrame of areas (taken as beats); a ward table with level columns (``beat``,
    ``sector``, ``npa``; built with :func:`beatplan.boundaries.hierarchy.build_layers`); or a
    mapping of level name to layer (as ``build_layers`` returns).
    """
    if boundaries is None:
        return {}
    if isinstance(boundaries, BoundaryPlan):
        boundaries = boundaries.layers
    if isinstance(boundaries, gpd.GeoDataFrame):
        levels = [c for c in DEFAULT_LEVELS if c in boundaries.columns]
        rows = rows_level(boundaries)
        if rows == "ward":
            layers: dict[str, gpd.GeoDataFrame] = layers_from_wards(boundaries, levels)
        elif rows is not None:  # areas with their parents as columns: a beats file
            layers = {rows: boundaries, **layers_from_wards(boundaries, levels)}
        else:
            layers = {"beat": boundaries}
    elif isinstance(boundaries, Mapping):
        layers = {str(k): v for k, v in boundaries.items()}
    else:
        raise ValidationError(
            what,
            [
                "expected a GeoDataFrame (areas or a ward table) or a mapping of level name to "
                f"GeoDataFrame, found {type(boundaries).__name__}"
            ],
        )
    out: dict[str, gpd.GeoDataFrame] = {}
    for level, layer in layers.items():
        if not isinstance(layer, gpd.GeoDataFrame):
            raise ValidationError(
                what, [f"level {level!r} is a {type(layer).__name__}, not a GeoDataFrame"]
            )
        if len(layer) == 0:
            continue
        lay = to_metric(layer, crs, what=f"{what}[{level!r}]")
        if "id" not in lay.columns:
            raise ColumnNotFoundError(
                f"{what}[{level!r}]: no 'id' column (columns: {', '.join(map(str, lay.columns))});"
                " read the layer with beatplan.read_boundaries(..., id_col=...) or rename the"
                " column"
            )
        cols = {"id": lay["id"].astype("string")}
        cols["name"] = (
            lay["name"].astype("string")
            if "name" in lay.columns
            else pd.Series(pd.NA, index=lay.index, dtype="string")
        )
        out[level] = gpd.GeoDataFrame(
            {**cols, **{c: lay[c] for c in lay.columns if c not in ("id", "name", "geometry")}},
            geometry=np.asarray(lay.geometry.values, dtype=object),
            crs=lay.crs,
        ).reset_index(drop=True)
    return out


#: ONS ward codes (GSS): England E05, Wales W05, Scotland S13, Northern Ireland N08.
_WARD_CODE = r"^(?:E05|W05|S13|N08)\d{6}$"


def rows_level(frame: pd.DataFrame) -> str | None:
    """Say what a frame's rows are, from its level columns (``beat``, ``sector``, ``npa``).

    Returns ``"ward"`` for a ward table (a column for the smallest level, a ``ward`` column, or
    ONS ward codes as ids); else the level just below its smallest level column (a beats file
    carries ``sector`` and ``npa``: its rows are beats); None with no level column or no ``id``.

    Examples
    --------
    >>> import pandas as pd
    >>> rows_level(pd.DataFrame({"id": ["B01"], "sector": ["S1"], "npa": ["N1"]}))
    'beat'
    >>> rows_level(pd.DataFrame({"id": ["E05000001"], "sector": ["S1"]}))
    'ward'
    """
    levels = [c for c in DEFAULT_LEVELS if c in frame.columns]
    if not levels or "id" not in frame.columns:
        return None
    first = DEFAULT_LEVELS.index(levels[0])
    ids = frame["id"].dropna().astype(str)
    wardlike = len(ids) > 0 and bool(ids.str.match(_WARD_CODE).mean() > 0.5)
    if first == 0 or "ward" in frame.columns or wardlike:
        return "ward"
    return DEFAULT_LEVELS[first - 1]


def levels_of(boundaries: Boundaries) -> list[str]:
    """Return the levels boundaries hold, small to large, without reading their geometry.

    Examples
    --------
    >>> import pandas as pd
    >>> levels_of(pd.DataFrame({"id": ["B01"], "sector": ["S1"], "npa": ["N1"]}))
    ['beat', 'sector', 'npa']
    """
    if isinstance(boundaries, BoundaryPlan):
        return list(boundaries.levels)
    if isinstance(boundaries, Mapping):
        return [str(k) for k in boundaries if k != FORCE]
    rows = rows_level(boundaries)
    cols = [c for c in DEFAULT_LEVELS if c in boundaries.columns]
    if rows is None:
        return ["beat"]
    return cols if rows == "ward" else [rows, *cols]


def layers_from_wards(
    wards: gpd.GeoDataFrame, levels: Sequence[str] | None = None
) -> dict[str, gpd.GeoDataFrame]:
    """Build ``{level: layer}`` from a ward table (names from ``<level>_name`` columns)."""
    lv = list(levels) if levels else [c for c in DEFAULT_LEVELS if c in wards.columns]
    names = {x: f"{x}_name" for x in lv if f"{x}_name" in wards.columns}
    return dict(build_layers(wards, levels=lv, names=names or None))


def _no_such_area(area: str, layers: Mapping[str, gpd.GeoDataFrame]) -> str:
    """Say that ``area`` is no id or name at any level: the nearest ones, and what there is."""
    if not layers:
        return f"area={area!r}: no boundaries were given to look it up in"
    labels: dict[str, str] = {}  # an id or name, lower case -> "id name (level)"
    shown: list[str] = []
    for lv, ly in layers.items():
        if lv == FORCE:
            continue
        rows = [
            (str(i), None if pd.isna(n) else str(n))
            for i, n in zip(ly["id"].astype("string"), ly["name"].astype("string"), strict=True)
            if not pd.isna(i)
        ]
        for i, n in rows:
            tag = f"{i} {n} ({lv})" if n else f"{i} ({lv})"
            labels.setdefault(i.lower(), tag)
            if n:
                labels.setdefault(n.lower(), tag)
        some = ", ".join(f"{i} {n}" if n else i for i, n in rows[:3])
        shown.append(f"{len(rows)} {lv} area(s), e.g. {some}")
    near = difflib.get_close_matches(area.strip().lower(), list(labels), n=5, cutoff=0.6)
    hint = list(dict.fromkeys(labels[k] for k in near))
    return (
        f"area={area!r} is no id or name of any area in the boundaries"
        + (f"; did you mean {', '.join(hint)}?" if hint else "")
        + f" (ids and names are searched at every level, ignoring case: {'; '.join(shown)})"
    )


def area_geometry(
    area: Any, layers: Mapping[str, gpd.GeoDataFrame], crs: CRS
) -> tuple[shapely.Geometry | None, str | None]:
    """Resolve ``area`` to one polygon in ``crs`` and a name for the title.

    ``area`` is None, an id or name of an area in ``layers`` (any level; ids first, then names,
    ignoring case), a shapely polygon in ``crs``, or a GeoSeries/GeoDataFrame (any CRS; unioned).
    """
    if area is None:
        return None, None
    if isinstance(area, str):
        key = area.strip().lower()
        for by in ("id", "name"):
            for level, layer in layers.items():
                hit = layer[by].astype("string").str.strip().str.lower() == key
                hit = hit.fillna(False).to_numpy(dtype=bool)
                if hit.any():
                    row = layer[hit].iloc[0]
                    geom = shapely.union_all(layer.geometry.values[hit])
                    if pd.notna(row["name"]):
                        return geom, str(row["name"])
                    return geom, f"{LEVEL_TITLES.get(level, level.capitalize())} {row['id']}"
        raise ValidationError("area", [_no_such_area(area, layers)])
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if len(area) == 0:
            raise EmptyInputError("area: the area layer is empty")
        a = to_metric(gpd.GeoDataFrame(geometry=area.geometry), crs, what="area")
        geom = shapely.union_all(np.asarray(a.geometry.values, dtype=object))
        name = None
        if isinstance(area, gpd.GeoDataFrame) and len(area) == 1 and "name" in area.columns:
            name = str(area["name"].iloc[0]) if pd.notna(area["name"].iloc[0]) else None
    elif isinstance(area, shapely.Geometry):
        geom, name = area, None
        b = geom.bounds
        if max(abs(b[0]), abs(b[2])) <= 180 and max(abs(b[1]), abs(b[3])) <= 90:
            raise CRSError(
                f"area: the polygon's coordinates look like lon/lat degrees but the map works in "
                f"{crs.to_string()}; pass a GeoSeries with its CRS instead"
            )
    else:
        raise ValidationError(
            "area",
            [
                "expected an area id or name, a polygon or a GeoDataFrame, found "
                f"{type(area).__name__}"
            ],
        )
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError("area: expected a non-empty (Multi)Polygon")
    return geom, name


def new_map(
    bounds_metric: tuple[float, float, float, float], crs: CRS, *, tiles: str | None
) -> folium.Map:
    """Return a folium map zoomed to ``bounds_metric`` with beatplan's header and scale bar."""
    tile = _tiles(tiles)
    m = folium.Map(
        tiles=tile,
        control_scale=True,
        prefer_canvas=False,  # SVG redraws synchronously, so the map prints as shown
        zoom_snap=0.25,
        maxZoom=19,
        minZoom=5,
    )
    add_registry(m)
    add_page_css(m)
    minx, miny, maxx, maxy = bounds_metric
    if all(np.isfinite(bounds_metric)) and maxx >= minx:
        box = gpd.GeoSeries([shapely.box(minx, miny, maxx, maxy)], crs=crs).to_crs(WGS84)
        w, s, e, n = box.total_bounds
        fit = [[float(s), float(w)], [float(n), float(e)]]
        # room at the top for the title box, which sits over the map
        m.fit_bounds(fit, padding_top_left=(12, 64), padding_bottom_right=(12, 12))
        PrintFit(fit).add_to(m)
    return m


def add_controls(m: folium.Map) -> None:
    """Add the layer control (expanded, so it prints) and the fullscreen button."""
    Fullscreen(position="topleft", title="Full screen", title_cancel="Exit full screen").add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)


def html_rows(rows: list[tuple[str, Any]], index: pd.Index) -> pd.Series:
    """Return, per row of ``index``, an HTML table of (label, value) pairs; values are escaped.

    A value that is missing or empty leaves its row out. ``value`` may be a Series aligned to
    ``index`` or a scalar.
    """
    out = pd.Series("<table>", index=index, dtype=object)
    for label, value in rows:
        v = value if isinstance(value, pd.Series) else pd.Series(value, index=index)
        text = escape(v.reindex(index))
        cell = "<tr><th>" + escape(label).iloc[0] + "</th><td>" + text + "</td></tr>"
        out = out + cell.where(text != "", "")
    return out + "</table>"
