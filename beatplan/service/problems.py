"""Errors as RFC 7807 problem details (``application/problem+json``).

A :class:`Problem` raised anywhere in a request becomes one JSON object: ``type``, ``title``,
``status``, ``detail`` (one line: for bad input the same message the command line prints) and,
for a bad parameter, ``param``. A :class:`~beatplan.geo.errors.BeatplanError` raised by the
packages is a 400 with its message. Anything else is a 500 whose detail says nothing of the
request (its traceback goes to the log without the exception's text).
"""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from beatplan.service.store import error_line

__all__ = ["PROBLEM_JSON", "Problem", "bad_param", "problem_body", "problem_response"]

log = logging.getLogger("beatplan.service")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Content too large",
    414: "URI too long",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    413: "too-large",
    414: "too-large",
    415: "unsupported-media-type",
    422: "unprocessable",
    429: "rate-limited",
    500: "internal",
    503: "unavailable",
}


class Problem(Exception):
    """An HTTP error answered as problem details.

    Parameters
    ----------
    status : int
    detail : str
        One line for the client.
    param : str, optional
        The query parameter or field at fault.
    kind : str, optional
        The last part of ``type`` (``urn:beatplan:problem:<kind>``); default by status.
    headers : dict, optional
        Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        param: str | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.param = param
        self.kind = kind or ("bad-parameter" if param else _TYPES.get(status, "error"))
        self.headers = headers or {}
        self.extra = extra or {}


def bad_param(param: str, detail: str) -> Problem:
    """Return a 400 for one query parameter or body field."""
    return Problem(400, detail, param=param)


def problem_body(
    status: int, detail: str, *, kind: str | None = None, param: str | None = None, **extra: Any
) -> bytes:
    """Return the JSON bytes of a problem."""
    body: dict[str, Any] = {
        "type": f"urn:beatplan:problem:{kind or _TYPES.get(status, 'error')}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if param is not None:
        body["param"] = param
    body.update(extra)
    return json.dumps(body).encode()


def problem_response(exc: Problem) -> Response:
    """Return the response for a :class:`Problem`."""
    body = problem_body(exc.status, exc.detail, kind=exc.kind, param=exc.param, **exc.extra)
    return Response(body, status_code=exc.status, media_type=PROBLEM_JSON, headers=exc.headers)


async def on_problem(request: Request, exc: Exception) -> Response:
    """Exception handler for :class:`Problem`."""
    assert isinstance(exc, Problem)
    return problem_response(exc)


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Answer the framework's own errors (no such route, wrong method) as problem details."""
    status = int(getattr(exc, "status_code", 500))
    detail = {404: "no such resource", 405: "method not allowed here"}.get(
        status, _TITLES.get(status, "error")
    )
    headers = dict(getattr(exc, "headers", None) or {})
    return problem_response(Problem(status, detail, headers=headers))


async def on_validation_error(request: Request, exc: Exception) -> Response:
    """Answer a path parameter FastAPI could not take (routes read their own queries)."""
    return problem_response(Problem(400, "a part of the path is not valid", kind="bad-parameter"))


async def on_beatplan_error(request: Request, exc: Exception) -> Response:
    """Bad input caught by the packages: 400 with the command line's message."""
    return problem_response(Problem(400, error_line(exc), kind="bad-input"))


def log_failure(where: str, exc: BaseException) -> None:
    """Log an unexpected error: its type and traceback, never its text (it may quote input)."""
    frames = "".join(traceback.format_tb(exc.__traceback__))
    log.error("500 on %s: %s (message withheld)\n%s", where, type(exc).__name__, frames.rstrip())


async def on_unexpected(request: Request, exc: Exception) -> Response:
    """Anything else: 500, with nothing of the request in the answer or the log."""
    route = request.scope.get("route")
    log_failure(getattr(route, "path", "-"), exc)
    return problem_response(Problem(500, "the server failed to answer; see its log"))
