"""``/api/locate``: which ward, beat, sector, NPA and force a point is in.

``GET /api/locate?lat=&lng=`` (or ``x=&y=&crs=``) answers one point: the ward holding it
(:class:`beatplan.geo.Locator`, a point on a boundary is inside, ties to the smallest id) and
the areas of every level that ward belongs to, each with id and name; 404 when the point is in
no ward. ``POST /api/locate`` answers a batch (JSON or CSV, at most ``batch_points`` points), one
answer per point in order.

The single-point route is the hot path: no pydantic, a precomputed JSON answer per ward.
"""

from __future__ import annotations

import csv
import io
import json
import math
from types import SimpleNamespace
from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response

from beatplan.geo.errors import BeatplanError
from beatplan.service.deps import AppState, app_state, principal, take_snapshot
from beatplan.service.params import crs_code, number, query
from beatplan.service.problems import Problem, bad_param, problem_body
from beatplan.service.scope import scope_of
from beatplan.service.snapshot import WARD, Snapshot
from beatplan.service.store import error_line

__all__ = ["router"]

router = APIRouter(tags=["locate"])

_GET_PARAMS = ("lat", "lng", "x", "y", "crs", "tolerance")
_POST_PARAMS = ("crs", "tolerance")
_MAX_TOLERANCE = 1000.0
_JSON = "application/json"


def _point(params: dict[str, str]) -> tuple[float, float, int | None]:
    """x, y and the CRS (None: the plan's) from ``lat``/``lng`` or ``x``/``y``/``crs``."""
    lonlat = "lat" in params or "lng" in params
    if lonlat and ("x" in params or "y" in params or "crs" in params):
        raise bad_param("lat", "give lat and lng, or x and y (with crs), not both")
    if lonlat:
        lat = number(params, "lat", lo=-90, hi=90)
        lng = number(params, "lng", lo=-180, hi=180)
        if lat is None or lng is None:
            raise bad_param("lat" if lat is None else "lng", "give both lat and lng")
        return lng, lat, 4326
    x, y = number(params, "x"), number(params, "y")
    if x is None or y is None:
        raise bad_param("x" if x is None else "y",
                        "give lat and lng, or x and y (with crs, default the plan's)")  # fmt: skip
    return x, y, crs_code(params)


def _tolerance(params: dict[str, str]) -> float | None:
    return number(params, "tolerance", lo=0, hi=_MAX_TOLERANCE)


def answer_point(st: AppState, scope: Any) -> bytes:
    """Return the JSON answer for one point (the query in ``scope``), or raise a Problem."""
    snap = take_snapshot(scope, st)
    who = scope["state"]["principal"]
    params = query(scope["query_string"], _GET_PARAMS, limit=st.settings.limits.param_chars)
    x, y, crs = _point(params)
    ward = snap.locator.locate(x, y, crs=crs, tolerance=_tolerance(params))
    view = scope_of(who, snap)
    if not view.everything and (ward is None or not view.sees_ward(str(ward))):
        raise Problem(403, f"the point is {view.outside}")
    if ward is None:
        raise Problem(404, "the point is in no ward of the plan", kind="outside")
    return snap.answer_json[str(ward)]


@router.get("/api/locate", summary="Locate one point")
async def locate_one(request: Request) -> Response:
    """Answer the ward, beat, sector, NPA and force holding one point (404 when in no ward).

    (Requests reach :func:`locate_fast` first; this route documents the endpoint and answers
    when the app runs without it.)
    """
    principal(request)
    body = answer_point(app_state(request), request.scope)
    return Response(body, media_type=_JSON)


_ROUTE = SimpleNamespace(path="/api/locate")  # what the access log names


async def locate_fast(st: AppState, scope: Any, send: Any) -> None:
    """Answer ``GET /api/locate`` in plain ASGI: the hot path, without FastAPI's routing.

    The same :func:`answer_point` as the route; its errors as the same problem details.
    """
    scope["route"] = _ROUTE
    try:
        body = answer_point(st, scope)
        status, ctype = 200, b"application/json"
    except Problem as exc:
        status, ctype = exc.status, b"application/problem+json"
        body = problem_body(exc.status, exc.detail, kind=exc.kind, param=exc.param, **exc.extra)
    except BeatplanError as exc:
        status, ctype = 400, b"application/problem+json"
        body = problem_body(400, error_line(exc), kind="bad-input")
    headers = [(b"content-type", ctype), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ------------------------------------------------------------------------------- batches
def _batch_json(
    body: bytes, crs_param: int | None
) -> tuple[np.ndarray, np.ndarray, Any, list[Any]]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Problem(400, f"the body is not valid JSON ({exc})", kind="bad-body") from exc
    if not isinstance(data, dict) or not isinstance(data.get("points"), list):
        raise Problem(400, 'expected {"points": [{"lat": .., "lng": ..}, ...]} or '
                      '{"crs": "EPSG:27700", "points": [{"x": .., "y": ..}, ...]}',
                      kind="bad-body")  # fmt: skip
    extra = sorted(set(data) - {"points", "crs"})
    if extra:
        raise Problem(400, f"unknown member(s) {', '.join(map(repr, extra))}; give points "
                      "and, for x/y, crs", kind="bad-body")  # fmt: skip
    points = data["points"]
    crs = crs_param
    if "crs" in data:
        crs = crs_code({"crs": str(data["crs"])})
    if points and isinstance(points[0], dict) and "lat" in points[0]:
        keys, crs = ("lng", "lat"), 4326
        if "crs" in data or crs_param is not None:
            raise bad_param("crs", "crs is for x/y points; lat/lng are always WGS84")
    else:
        keys = ("x", "y")
    ids: list[Any] = []
    xs = np.empty(len(points))
    ys = np.empty(len(points))
    for i, p in enumerate(points):  # parsing the request: one pass over the given objects
        if not isinstance(p, dict) or not set(p) <= {*keys, "id"}:
            stray = sorted(set(p) - {*keys, "id"}) if isinstance(p, dict) else []
            where = (
                "; crs goes once beside points, not in each point" if stray == ["crs"]
                else f"; unknown member(s) {', '.join(map(repr, stray))}" if stray else ""
            )  # fmt: skip
            raise Problem(400, f"points[{i}]: expected an object with {keys[1]!r} and "
                          f"{keys[0]!r} (and optionally 'id'), found {str(p)[:60]!r}{where}",
                          kind="bad-body")  # fmt: skip
        xs[i] = _coordinate(p, keys[0], i)
        ys[i] = _coordinate(p, keys[1], i)
        ident = p.get("id")
        if ident is not None and (
            isinstance(ident, bool) or not isinstance(ident, str | int) or len(str(ident)) > 64
        ):
            raise Problem(400, f"points[{i}].id: expected a string or integer of at most 64 "
                          "characters", kind="bad-body")  # fmt: skip
        ids.append(ident)
    if keys[0] == "lng":
        _check_lonlat(xs, ys)
    return xs, ys, crs, ids


def _coordinate(p: dict[str, Any], key: str, i: int) -> float:
    v = p.get(key)
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise Problem(400, f"points[{i}].{key}: expected a number, found {str(v)[:30]!r}",
                      kind="bad-body")  # fmt: skip
    return float(v)


def _check_lonlat(xs: np.ndarray, ys: np.ndarray) -> None:
    bad = np.flatnonzero((np.abs(ys) > 90) | (np.abs(xs) > 180))
    if bad.size:
        raise Problem(400, f"points[{int(bad[0])}]: lat must be within -90..90 and lng within "
                      f"-180..180 ({bad.size} point(s) are not)", kind="bad-body")  # fmt: skip


def _batch_csv(body: bytes, crs_param: int | None) -> tuple[np.ndarray, np.ndarray, Any, list[Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(400, "the CSV body is not UTF-8", kind="bad-body") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise Problem(400, "the CSV body is empty; give a header (lat,lng or x,y)", kind="bad-body")
    header = [h.strip().lower() for h in rows[0]]
    crs: int | None
    if "lat" in header and "lng" in header:
        keys, crs = ("lng", "lat"), 4326
        if crs_param is not None:
            raise bad_param("crs", "crs is for x/y points; lat/lng are always WGS84")
    elif "x" in header and "y" in header:
        keys, crs = ("x", "y"), crs_param
    else:
        raise Problem(400, f"the CSV header {rows[0]!r:.80} has neither lat,lng nor x,y columns",
                      kind="bad-body")  # fmt: skip
    unknown = sorted(set(header) - {*keys, "id"})
    if unknown:
        raise Problem(400, f"unknown CSV column(s) {', '.join(unknown)}; give {keys[1]},"
                      f"{keys[0]} and optionally id", kind="bad-body")  # fmt: skip
    data = [r for r in rows[1:] if r]
    ix, iy = header.index(keys[0]), header.index(keys[1])
    iid = header.index("id") if "id" in header else None
    try:
        xs = np.array([float(r[ix]) for r in data], dtype=float)
        ys = np.array([float(r[iy]) for r in data], dtype=float)
    except (ValueError, IndexError) as exc:
        raise Problem(400, f"the CSV has a row without two numbers ({exc})",
                      kind="bad-body") from exc  # fmt: skip
    bad = np.flatnonzero(~(np.isfinite(xs) & np.isfinite(ys)))
    if bad.size:
        raise Problem(400, f"CSV row {int(bad[0]) + 2}: coordinates must be finite numbers",
                      kind="bad-body")  # fmt: skip
    if keys[0] == "lng":
        _check_lonlat(xs, ys)
    ids = [r[iid] if iid is not None and iid < len(r) else None for r in data]
    return xs, ys, crs, ids


@router.post("/api/locate", summary="Locate a batch of points")
async def locate_batch(request: Request) -> Response:
    """One answer per point, in order: JSON ``{"points": [...]}`` or CSV with a header."""
    st = app_state(request)
    snap = take_snapshot(request.scope, st)
    who = principal(request)
    limits = st.settings.limits
    params = query(request.scope["query_string"], _POST_PARAMS, limit=limits.param_chars)
    crs_param = crs_code(params)
    tolerance = _tolerance(params)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if ctype == "application/json":
        xs, ys, crs, ids = _batch_json(body, crs_param)
    elif ctype == "text/csv":
        xs, ys, crs, ids = _batch_csv(body, crs_param)
    else:
        raise Problem(415, "send the points as application/json or text/csv")
    if len(xs) > limits.batch_points:
        raise Problem(413, f"{len(xs):,} points: at most {limits.batch_points:,} per request")
    wards = _locate(snap, xs, ys, crs, tolerance)
    view = scope_of(who, snap)
    allowed = [w is not None and view.sees_ward(w) for w in wards]
    if "text/csv" in request.headers.get("accept", ""):
        return _csv_answer(snap, wards, allowed, ids, view.everything)
    return _json_answer(snap, wards, allowed, ids, view.everything)


def _locate(snap: Snapshot, xs: np.ndarray, ys: np.ndarray, crs: int | None,
            tolerance: float | None) -> list[str | None]:  # fmt: skip
    if len(xs) == 0:
        return []
    col = snap.locator.locate_many(xs, ys, crs=crs, tolerance=tolerance)[WARD]
    return [None if v is None else str(v) for v in col.astype(object).where(col.notna(), None)]


_FORBIDDEN = b'{"status":403,"detail":"outside the areas this token may see"}'


def _json_answer(snap: Snapshot, wards: list[str | None], allowed: list[bool], ids: list[Any],
                 everything: bool) -> Response:  # fmt: skip
    parts = []
    with_ids = any(i is not None for i in ids)
    for w, ok, i in zip(wards, allowed, ids, strict=True):
        if ok:
            part = snap.answer_json[w]  # type: ignore[index]
        elif everything and w is None:
            part = b'{"status":404,"detail":"in no ward"}' if with_ids else b"null"
        else:
            part = _FORBIDDEN
        if with_ids:
            part = b'{"id":' + json.dumps(i).encode() + b"," + part[1:]
        parts.append(part)
    located = sum(allowed)
    head = f'{{"count":{len(wards)},"located":{located},"version":"{snap.version}","answers":['
    body = head.encode() + b",".join(parts) + b"]}"
    return Response(body, media_type=_JSON, headers={"x-data-version": snap.version})


def _csv_answer(snap: Snapshot, wards: list[str | None], allowed: list[bool], ids: list[Any],
                everything: bool) -> Response:  # fmt: skip
    lines = ["id," + snap.csv_header + ",status"]
    for w, ok, i in zip(wards, allowed, ids, strict=True):
        ident = "" if i is None else _csv_cell(str(i))
        if ok:
            lines.append(f"{ident},{snap.answer_csv[w]},200")  # type: ignore[index]
        else:
            status = 404 if everything and w is None else 403
            lines.append(f"{ident},{snap.csv_blank},{status}")
    return Response("\n".join(lines) + "\n", media_type="text/csv",
                    headers={"x-data-version": snap.version})  # fmt: skip


def _csv_cell(text: str) -> str:
    """One CSV cell echoing a client's id, defused against spreadsheet formulas."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()
