"""``/api/hotspots`` and ``/api/demand``: the packages' results for an area and a period.

``GET /api/hotspots?area=&since=&coverage=`` runs :func:`beatplan.hotspots.find_hotspots` on
the incidents of the area (every option not given keeps that function's default) and answers
the ranked hotspot polygons as GeoJSON with their attributes. ``GET /api/demand?level=&since=``
answers incidents (and harm-weighted demand with ``weights=harm``) per area of a level, from
:func:`beatplan.boundaries.demand.level_demand`. Results are cached per data version.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from fastapi import APIRouter, Request
from starlette.responses import Response

from beatplan.options import parse_months, parse_types
from beatplan.service.deps import SnapshotDep, ViewDep, app_state, json_response, resolve_area
from beatplan.service.params import choice, query
from beatplan.service.problems import Problem, bad_param
from beatplan.service.scope import ScopeView
from beatplan.service.snapshot import WARD, Area, Snapshot

__all__ = ["router"]

router = APIRouter(tags=["analysis"])

_HOTSPOT_PARAMS = ("area", "since", "months", "coverage", "method", "types")
_DEMAND_PARAMS = ("level", "since", "months", "weights", "area")


def _coverage(params: dict[str, str]) -> float | None:
    text = params.get("coverage")
    if text is None:
        return None
    try:
        return float(text)
    except ValueError as exc:
        raise bad_param("coverage", f"coverage: expected a number, found {text!r}") from exc


def _area_series(snap: Snapshot, area: Area | None) -> gpd.GeoSeries | None:
    if area is None:
        return None
    return gpd.GeoSeries([snap.area_geometry(area)], crs=snap.crs)


def _jsonable(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype.kind == "M" or isinstance(out[c].dtype, pd.PeriodDtype):
            out[c] = out[c].astype("string")
    return out


def _hotspots_geojson(snap: Snapshot, area: Area | None, params: dict[str, str]) -> bytes:
    from beatplan.hotspots.find import find_hotspots
    from beatplan.maps.layers import display_geometry, feature_collection

    options: dict[str, Any] = {}
    if "method" in params:
        options["method"] = params["method"]
    if "since" in params:
        options["since"] = params["since"]
    if "months" in params:
        options["months"] = parse_months(params["months"])
    if "types" in params:
        options["types"] = parse_types(params["types"])
    coverage = _coverage(params)
    if coverage is not None:
        options["coverage"] = coverage
    hs = find_hotspots(
        snap.points, area=_area_series(snap, area), boundaries=snap.boundaries(), **options
    )
    table = hs.areas
    geoms = display_geometry(table, tolerance=1.0, coverage=False)
    props = _jsonable(pd.DataFrame(table.drop(columns=table.geometry.name)))
    fc = feature_collection(geoms, props)
    meta = {
        "method": hs.method,
        "area": None if area is None else {"level": area.level, "id": area.id, "name": area.name},
        "hotspots": len(hs),
        "incidents": int(hs.params.get("incidents", 0)),
        "version": snap.version,
    }
    return (fc[:-1] + ',"meta":' + json.dumps(meta, default=str) + "}").encode()


@router.get("/api/hotspots", summary="Ranked hotspot polygons for an area and period")
async def hotspots(
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
) -> Response:
    """Hotspots of the area (default: every area, for an unscoped token), GeoJSON."""
    st = app_state(request)
    params = query(request.scope["query_string"], _HOTSPOT_PARAMS,
                   limit=st.settings.limits.param_chars)  # fmt: skip
    area = resolve_area(snap, view, params.get("area"))
    key = ("hotspots", None if area is None else area.key,
           *(params.get(k) for k in _HOTSPOT_PARAMS[1:]))  # fmt: skip
    body, _ = await snap.cache.compute(
        key, lambda: _hotspots_geojson(snap, area, params), limiter=st.limiter()
    )
    return json_response(body, snap, media_type="application/geo+json")


def _demand_json(
    snap: Snapshot, level: str, params: dict[str, str], view: ScopeView, area: Area | None
) -> bytes:
    from beatplan.boundaries.demand import area_demand, level_demand
    from beatplan.hotspots.select import select_incidents

    points = snap.points
    if "since" in params or "months" in params:
        keep, _, _ = select_incidents(
            points, since=params.get("since"), months=parse_months(params.get("months"))
        )
        points = points[keep]
    weights = "harm" if params.get("weights", "").lower() == "harm" else None
    wards = snap.wards
    inside = np.ones(len(wards), dtype=bool)
    if area is not None:
        inside &= np.isin(wards["id"].astype(str), snap.area_wards[(area.level, area.id)])
    if not view.everything:
        inside &= wards["id"].astype(str).isin(view.wards).to_numpy()
    if level == WARD:
        table = area_demand(points, wards[inside], weights=weights, level=WARD)
    else:
        plan_levels = [lv for lv in snap.layers if lv in wards.columns]
        table = level_demand(wards[inside], points, levels=plan_levels, weights=weights)
    rows = table[table["level"] == level]
    if not view.everything:
        rows = rows[[view.sees(snap.areas[level][str(i)]) for i in rows["id"]]]
        if rows.empty:
            raise Problem(403, f"no {level} lies wholly inside the areas this token may see")
    names = [snap.areas[level][str(i)].name for i in rows["id"]]
    rows = rows.assign(name=pd.array(names, dtype="string"))
    body = {
        "level": level,
        "weights": weights or "none",
        "compared_with": "all areas" if view.everything and area is None else "the areas shown",
        "version": snap.version,
        "areas": json.loads(_jsonable(rows).to_json(orient="records")),
    }
    return json.dumps(body).encode()


@router.get("/api/demand", summary="Incidents (optionally harm-weighted) per area of a level")
async def demand(
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
) -> Response:
    """Incidents and demand per area of ``level``, each against the mean of those shown."""
    st = app_state(request)
    params = query(request.scope["query_string"], _DEMAND_PARAMS,
                   limit=st.settings.limits.param_chars)  # fmt: skip
    levels = [lv for lv in snap.levels if lv != "force"]
    level = choice(params, "level", levels, default=levels[1] if len(levels) > 1 else WARD)
    assert level is not None
    choice(params, "weights", ("none", "harm"))
    area = None
    if "area" in params:
        area = resolve_area(snap, view, params["area"])
    elif not view.everything and not view.areas.get(level):
        raise Problem(403, f"no {level} lies wholly inside the areas this token may see")
    key = ("demand", level, area and area.key, params.get("since"), params.get("months"),
           params.get("weights"), view.names)  # fmt: skip
    body, _ = await snap.cache.compute(
        key, lambda: _demand_json(snap, level, params, view, area), limiter=st.limiter()
    )
    return json_response(body, snap)
