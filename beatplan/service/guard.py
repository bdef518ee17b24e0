"""The gate every request passes: limits, host check, Bearer auth, rate limit, headers, log.

:class:`Guard` is plain ASGI middleware (no per-request objects beyond what it needs), in this
order:

1. the request target (path and query) at most ``target_bytes`` (414), a ``Host`` the server
   answers to (400: DNS rebinding), a body no larger than the route allows (413, checked on
   ``Content-Length`` and again while reading);
2. deny by default: every path but ``/``, ``/health`` and the signed map links needs
   ``Authorization: Bearer <token>``, checked by :class:`~beatplan.service.tokens.TokenFile`
   (401 with ``WWW-Authenticate``); failed attempts are rate limited per client address;
3. a token bucket per token (its ``rate`` and ``burst``, shared among the workers): 429 with
   ``Retry-After``;
4. security headers on every answer (``nosniff``, ``no-referrer``, ``no-store``, frame and
   cross-origin policies, and a ``Content-Security-Policy`` of ``default-src 'none'`` unless
   the route sets its own);
5. one log line per request: method, route template (never the path as sent, nor the query),
   status, milliseconds and the token's name.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from beatplan.service.problems import PROBLEM_JSON, log_failure, problem_body
from beatplan.service.settings import Settings
from beatplan.service.tokens import Principal, TokenFile

__all__ = ["PUBLIC_PATHS", "BodyTooLarge", "Guard", "TokenBucket"]

access = logging.getLogger("beatplan.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Paths answered without a token: the sign-in page (no data) and the health check.
PUBLIC_PATHS = frozenset({"/", "/health"})
#: Paths starting so are answered without a Bearer token: they carry a signed, expiring link.
PUBLIC_PREFIX = "/maps/briefing/view/"

_SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"geolocation=(), camera=(), microphone=(), interest-cohort=()"),
]
_DEFAULTS = {
    b"cache-control": b"no-store",
    b"x-frame-options": b"DENY",
    b"content-security-policy": b"default-src 'none'; frame-ancestors 'none'",
}
_AUTH_FAILS_PER_S = 2.0
_AUTH_FAILS_BURST = 10


class TokenBucket:
    """Requests allowed per key: ``rate`` per second, ``burst`` at once."""

    __slots__ = ("_state",)

    def __init__(self) -> None:
        self._state: dict[str, list[float]] = {}

    def peek(self, key: str, rate: float, burst: float, now: float) -> float:
        """Return the seconds before ``key`` may make a request (0: now), taking nothing."""
        st = self._state.get(key)
        if st is None:
            return 0.0
        tokens = min(burst, st[0] + (now - st[1]) * rate)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / rate

    def take(self, key: str, rate: float, burst: float, now: float) -> float:
        """Take one request; return 0 when allowed, else the seconds to wait."""
        st = self._state.get(key)
        if st is None:
            if len(self._state) > 10_000:  # forget idle keys rather than grow without end
                self._state.clear()
            st = self._state[key] = [burst, now]
        tokens = min(burst, st[0] + (now - st[1]) * rate)
        st[1] = now
        if tokens >= 1.0:
            st[0] = tokens - 1.0
            return 0.0
        st[0] = tokens
        return (1.0 - tokens) / rate


class Guard:
    """ASGI middleware guarding the app (see the module notes).

    Parameters
    ----------
    app : ASGI app
    settings : Settings
    tokens : TokenFile
    """

    def __init__(self, app: ASGIApp, settings: Settings, tokens: TokenFile) -> None:
        self.app = app
        self.settings = settings
        self.tokens = tokens
        self.limits = settings.limits
        self.hosts = {h.lower().encode() for h in settings.hosts}
        self.any_host = "*" in settings.allowed_hosts
        self.buckets = TokenBucket()
        self.fails = TokenBucket()
        self.share = 1.0 / max(1, settings.workers)  # each worker's part of a token's rate
        self.log = settings.access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one request, pass it on, secure and log its answer."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status_box = [0]
        who = "-"

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers.extend(_SECURITY)
                headers.extend((k, v) for k, v in _DEFAULTS.items() if k not in present)
                version = scope.get("state", {}).get("data_version")
                if version is not None and b"x-data-version" not in present:
                    headers.append((b"x-data-version", version.encode()))
                message["headers"] = headers
            await send(message)

        try:
            problem = self._check_request(scope)
            if problem is None:
                principal, problem = self._authenticate(scope)
                if principal is not None:
                    who = principal.name
                    scope.setdefault("state", {})["principal"] = principal
            if problem is not None:
                await self._refuse(send_secured, *problem)
            else:
                await self.app(scope, self._limited_receive(scope, receive), send_secured)
        except BodyTooLarge:
            if status_box[0] == 0:
                await self._refuse(send_secured, 413, "the request body is too large")
        except Exception as exc:  # noqa: BLE001 - answer 500 and log without the request's text
            if status_box[0] == 0:  # else the app's own handler answered and logged it
                route = scope.get("route")
                log_failure(getattr(route, "path", "-"), exc)
                await self._refuse(send_secured, 500, "the server failed to answer; see its log")
        finally:
            if self.log:
                route = scope.get("route")
                access.info(
                    "%s %s %d %.1fms %s",
                    scope["method"],
                    getattr(route, "path", "-"),
                    status_box[0],
                    (time.perf_counter() - t0) * 1000,
                    who,
                )

    # -- checks ----------------------------------------------------------------------------
    def _check_request(self, scope: Scope) -> tuple[Any, ...] | None:
        """Target length, Host and declared body size; a refusal or None."""
        if (
            len(scope.get("raw_path") or b"") + len(scope["query_string"])
            > self.limits.target_bytes
        ):
            return (414, f"the request target is longer than {self.limits.target_bytes} bytes")
        host = b""
        length = None
        for k, v in scope["headers"]:
            if k == b"host":
                host = v
            elif k == b"content-length":
                length = v
        if not self.any_host:
            name = host.rsplit(b":", 1)[0] if not host.endswith(b"]") else host
            if name.lower() not in self.hosts:
                return (400, "unknown Host; start the server with --allowed-host NAME to accept it")
        if length is not None:
            try:
                n = int(length)
            except ValueError:
                return (400, "bad Content-Length")
            if n > self._body_limit(scope):
                return (413, f"the request body is larger than {self._body_limit(scope):,} bytes")
        return None

    def _body_limit(self, scope: Scope) -> int:
        if scope["path"] == "/api/locate":
            return self.limits.batch_bytes
        return self.limits.body_bytes

    def _authenticate(self, scope: Scope) -> tuple[Principal | None, tuple[Any, ...] | None]:
        path = scope["path"]
        if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIX):
            return None, None
        now = time.monotonic()
        token = None
        for k, v in scope["headers"]:
            if k == b"authorization":
                scheme, _, rest = v.partition(b" ")
                if scheme.lower() == b"bearer" and rest.strip():
                    token = rest.strip().decode("latin-1")
                break
        challenge = {"www-authenticate": 'Bearer realm="beatplan"'}
        if token is None:
            return None, (401, "this needs a token: send Authorization: Bearer <token>", challenge)
        client = str((scope.get("client") or ("-",))[0])
        # a wrong secret for a live key id costs a scrypt: such failures are limited per address
        costly = len(token) <= 128 and self.tokens.costly(token)
        if costly and self.fails.peek(client, _AUTH_FAILS_PER_S, _AUTH_FAILS_BURST, now) > 0:
            return None, _too_many(
                self.fails.peek(client, _AUTH_FAILS_PER_S, _AUTH_FAILS_BURST, now),
                "too many failed sign-ins from this address",
            )
        principal = self.tokens.verify(token) if len(token) <= 128 else None
        if principal is None:
            if costly:
                self.fails.take(client, _AUTH_FAILS_PER_S, _AUTH_FAILS_BURST, now)
            challenge = {"www-authenticate": 'Bearer realm="beatplan", error="invalid_token"'}
            return None, (401, "the token is not valid (unknown, revoked or mistyped)", challenge)
        wait = self.buckets.take(
            principal.key_id, principal.rate * self.share,
            max(1.0, principal.burst * self.share), now,
        )  # fmt: skip
        if wait > 0:
            return principal, _too_many(wait, f"rate limit of {principal.rate:g} requests/s")
        return principal, None

    def _limited_receive(self, scope: Scope, receive: Receive) -> Receive:
        limit = self._body_limit(scope)
        seen = [0]

        async def limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                seen[0] += len(message.get("body", b""))
                if seen[0] > limit:
                    raise BodyTooLarge
            return message

        return limited

    @staticmethod
    async def _refuse(
        send: Send, status: int, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        body = problem_body(status, detail)
        raw = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """The body grew past the limit while being read (answered 413)."""


def _too_many(wait: float, why: str) -> tuple[int, str, dict[str, str]]:
    seconds = max(1, math.ceil(wait))
    return (429, f"{why}; retry in {seconds} s", {"retry-after": str(seconds)})
