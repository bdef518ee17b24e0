"""``/api/areas``: the plan's areas as GeoJSON, with their parents and children.

``GET /api/areas`` lists the levels and the areas (ids and names) the token sees;
``GET /api/areas/{level}`` is a FeatureCollection of that level's areas and
``GET /api/areas/{level}/{id}`` one Feature. Coordinates are WGS84 lon/lat (RFC 7946),
``simplify=`` metres simplifies the lines (shared edges kept identical). Every feature has
``level``, ``id``, ``name``, ``parents`` (each level above: id and name), ``children`` (the ids
of the level below) and ``n_wards``.
"""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, Request
from starlette.responses import Response

from beatplan.service.deps import SnapshotDep, ViewDep, app_state, json_response
from beatplan.service.params import number, query
from beatplan.service.problems import Problem
from beatplan.service.snapshot import WARD, Snapshot

__all__ = ["router"]

router = APIRouter(tags=["areas"])

_GEOJSON = "application/geo+json"
_MAX_SIMPLIFY = 1000.0


def _level(snap: Snapshot, level: str) -> str:
    if level not in snap.levels:
        raise Problem(404, f"no level {level[:30]!r}; the levels are {', '.join(snap.levels)}")
    return level


def _features(snap: Snapshot, level: str, simplify: float) -> dict[str, bytes]:
    """Every area of a level as one GeoJSON Feature (bytes), by id."""
    from beatplan.maps.layers import display_geometry

    layer = snap.wards if level == WARD else snap.layers[level]
    ids = [str(v) for v in layer["id"].tolist()]
    geoms = display_geometry(
        gpd.GeoSeries(layer.geometry.values, crs=layer.crs), tolerance=simplify
    )
    text = shapely.to_geojson(np.asarray(geoms, dtype=object))
    out: dict[str, bytes] = {}
    for aid, g in zip(ids, text.tolist(), strict=True):
        area = snap.areas[level][aid]
        props = {
            "level": level,
            "id": aid,
            "name": area.name,
            "parents": {
                lv: {"id": pid, "name": snap.areas[lv][pid].name}
                for lv, pid in snap.parents[(level, aid)].items()
            },
            "children": snap.children[(level, aid)],
            "n_wards": len(snap.area_wards[(level, aid)]),
        }
        out[aid] = (
            f'{{"type":"Feature","id":{json.dumps(aid)},"geometry":{g},'
            f'"properties":{json.dumps(props)}}}'
        ).encode()
    return out


async def _cached_features(
    request: Request, snap: Snapshot, level: str, simplify: float
) -> dict[str, bytes]:
    feats: dict[str, bytes]
    feats, _ = await snap.cache.compute(
        ("areas", level, simplify), lambda: _features(snap, level, simplify),
        limiter=app_state(request).limiter(),
    )  # fmt: skip
    return feats


def _simplify(request: Request) -> float:
    st = app_state(request)
    params = query(
        request.scope["query_string"], ("simplify",), limit=st.settings.limits.param_chars
    )
    return number(params, "simplify", lo=0, hi=_MAX_SIMPLIFY) or 0.0


@router.get("/api/areas", summary="The levels and the areas this token sees")
async def area_index(
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
) -> Response:
    """Levels, and per level the ids and names of the areas the token sees."""
    query(request.scope["query_string"], ())
    areas: dict[str, list[dict[str, Any]]] = {}
    for lv in snap.levels:
        areas[lv] = [{"id": a.id, "name": a.name} for a in snap.areas[lv].values() if view.sees(a)]
    body = {
        "version": snap.version,
        "levels": list(snap.levels),
        "areas": areas,
        "scoped": not view.everything,
    }
    return json_response(json.dumps(body).encode(), snap)


@router.get("/api/areas/{level}", summary="One level's areas as GeoJSON")
async def level_areas(
    level: str,
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
) -> Response:
    """Answer a FeatureCollection of the level's areas the token sees (WGS84)."""
    simplify = _simplify(request)
    _level(snap, level)
    feats = await _cached_features(request, snap, level, simplify)
    shown = [f for aid, f in feats.items() if view.sees(snap.areas[level][aid])]
    if not shown and not view.everything:
        raise Problem(403, f"no {level} lies wholly inside the areas this token may see")
    body = b'{"type":"FeatureCollection","features":[' + b",".join(shown) + b"]}"
    return json_response(body, snap, media_type=_GEOJSON)


@router.get("/api/areas/{level}/{area_id}", summary="One area as GeoJSON")
async def one_area(
    level: str,
    area_id: str,
    request: Request,
    snap: SnapshotDep,
    view: ViewDep,
) -> Response:
    """One area as a Feature, with its parents and children (WGS84)."""
    simplify = _simplify(request)
    _level(snap, level)
    area = snap.areas[level].get(area_id)
    if area is None or not view.sees(area):
        if not view.everything:
            raise Problem(403, f"{level} {area_id[:40]!r}: {view.outside}")
        raise Problem(404, f"no {level} {area_id[:40]!r} in the plan")
    feats = await _cached_features(request, snap, level, simplify)
    return json_response(feats[area_id], snap, media_type=_GEOJSON)
