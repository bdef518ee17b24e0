"""Load bench of ``beatplan serve`` on loopback: throughput and p50/p99 at 1, 8 and 32 clients.

Starts the real server (``--workers 2`` by default) on a free loopback port with the
Leicestershire year (``../shared/data``; ``--sample`` for the synthetic county), then drives it
with asyncio clients over keep-alive HTTP/1.1 connections. Every phase is bounded in requests and
in seconds, and only 127.0.0.1 is ever contacted. Printed per endpoint and client count:
requests, errors, requests/s, p50 and p99 latency, and the throughput as a multiple of
police.uk's published limit of 15 requests/s; then the in-process reference (the same points
located by :class:`beatplan.Locator` in this process) and the cold-start times.

Run: ``.venv/bin/python bench/bench_service.py [--sample] [--workers N] [--quick]``. The machine
is shared: the load average (``uptime``) is printed beside the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from harness.server import (  # noqa: E402
    ServedPlan,
    add_token,
    leicestershire_plan,
    sample_plan,
)

POLICE_UK_RPS = 15.0
HEADER = (
    "| endpoint                   | cli | reqs   | err | req/s    | p50 ms   | p99 ms   | "
    "vs police.uk |\n|---|---:|---:|---:|---:|---:|---:|---:|"
)
CLIENTS = (1, 8, 32)


# ------------------------------------------------------------------------------ client
class Conn:
    """One keep-alive HTTP/1.1 connection (asyncio streams; reopened when the server closes)."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.auth = f"Authorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def request(self, method: str, path: str, body: bytes = b"",
                      ctype: str = "application/json") -> tuple[int, int]:  # fmt: skip
        """Send one request; return (status, body length)."""
        head = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").encode() + self.auth
        if body:
            head += f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n".encode()
        msg = head + b"\r\n" + body
        for attempt in (0, 1):
            if self.writer is None:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(msg)
                raw = await self.reader.readuntil(b"\r\n\r\n")
                break
            except (ConnectionError, asyncio.IncompleteReadError):
                self.writer = None
                if attempt:
                    raise
        lines = raw.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        close = False
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            k = k.strip().lower()
            if k == b"content-length":
                length = int(v)
            elif k == b"connection" and v.strip().lower() == b"close":
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.writer = None
        return status, length

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def _drive(port: int, token: str, clients: int, count: int, seconds: float,
                 make: Callable[[int], tuple[str, str, bytes, str]]) -> dict:  # fmt: skip
    """``clients`` closed-loop clients; stop after ``count`` requests or ``seconds``."""
    lat: list[float] = []
    errors = 0
    kinds: dict[str, int] = {}
    issued = 0
    deadline = time.perf_counter() + seconds

    async def one(conn: Conn) -> None:
        nonlocal errors, issued
        while issued < count and time.perf_counter() < deadline:
            i = issued
            issued += 1
            method, path, body, ctype = make(i)
            t = time.perf_counter()
            try:
                status, _ = await conn.request(method, path, body, ctype)
            except (ConnectionError, asyncio.IncompleteReadError, ValueError) as exc:
                errors += 1
                kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
                continue
            lat.append(time.perf_counter() - t)
            if status != 200:
                errors += 1
                kinds[str(status)] = kinds.get(str(status), 0) + 1

    conns = [Conn(port, token) for _ in range(clients)]
    t0 = time.perf_counter()
    await asyncio.gather(*(one(c) for c in conns))
    wall = time.perf_counter() - t0
    for c in conns:
        c.close()
    a = np.sort(np.array(lat)) * 1000
    return {
        "clients": clients,
        "requests": len(lat),
        "errors": errors,
        "rps": len(lat) / wall if wall else float("nan"),
        "p50": float(np.percentile(a, 50)) if len(a) else float("nan"),
        "p99": float(np.percentile(a, 99)) if len(a) else float("nan"),
        "kinds": kinds,
    }


def run(port: int, token: str, clients: int, count: int, seconds: float,
        make: Callable[[int], tuple[str, str, bytes, str]]) -> dict:  # fmt: skip
    try:
        import uvloop

        return uvloop.run(_drive(port, token, clients, count, seconds, make))
    except ImportError:
        return asyncio.run(_drive(port, token, clients, count, seconds, make))


# ------------------------------------------------------------------------------- setup
def _points(plan: Path, n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random lon/lat points inside the plan's wards (and their x/y)."""
    import geopandas as gpd

    import beatplan as bp

    wards = bp.read_plan(plan).wards
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = wards.total_bounds
    x = rng.uniform(x0, x1, n * 3)
    y = rng.uniform(y0, y1, n * 3)
    inside = bp.Locator(wards).locate_many(x, y)["area"].notna().to_numpy()
    x, y = x[inside][:n], y[inside][:n]
    ll = gpd.GeoSeries(gpd.points_from_xy(x, y), crs=wards.crs).to_crs(4326)
    return ll.x.to_numpy(), ll.y.to_numpy(), np.column_stack([x, y])


def _areas(port: int, token: str) -> list[str]:
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/areas",
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=60) as r:
        index = json.load(r)
    return [f"{lv}:{a['id']}" for lv in ("beat", "sector", "npa") for a in index["areas"][lv]]


def _months(port: int, token: str) -> list[str]:
    import urllib.request

    req = urllib.request.Request(f"http://127.0.0.1:{port}/version",
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=60) as r:
        return list(json.load(r)["data"]["months"])


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "uptime unavailable"


class _Rows(list):
    """The results, each printed as soon as it is measured."""

    def append(self, item: tuple[str, dict]) -> None:
        super().append(item)
        print(_row(*item), flush=True)


def _row(name: str, r: dict) -> str:
    return (f"| {name:<26} | {r['clients']:>3} | {r['requests']:>6} | {r['errors']:>3} | "
            f"{r['rps']:>8.1f} | {r['p50']:>8.1f} | {r['p99']:>8.1f} | "
            f"{r['rps'] / POLICE_UK_RPS:>7.1f}x |"
            + (f" errors: {r['kinds']}" if r["kinds"] else ""))  # fmt: skip


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sample", action="store_true", help="the synthetic county, not Leicestershire"
    )
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="fewer requests per phase")
    args = ap.parse_args(argv)
    scale = 0.25 if args.quick else 1.0
    work = Path(tempfile.mkdtemp(prefix="beatplan-bench-service-"))
    data = REPO.parent / "shared" / "data"
    t0 = time.perf_counter()
    if args.sample or not data.is_dir():
        plan, crime = sample_plan(work, seed=1)
        label = "sample county (seed 1)"
    else:
        plan, crime = leicestershire_plan(data, work / "plan")
        label = "Leicestershire, 2021-11 .. 2022-10 (113,663 rows)"
    print(f"data: {label}; plan written in {time.perf_counter() - t0:.1f} s")
    tokens = work / "tokens.json"
    token = add_token(tokens, "bench", "--rate", "1000000", "--burst", "1000000")
    cache = work / "cache"
    log = work / "server.log"
    print(f"load before: {_uptime()}")

    # cold starts: empty cache (read the sources, write the cache), then from the cache
    starts = []
    for what in ("cold (empty cache)", "warm (cache)"):
        # the default server: its access log on (to a file), as a deployment would run it
        srv = ServedPlan(plan, [crime], tokens, cache, log, workers=args.workers)
        srv.start(timeout=300)
        starts.append((what, srv.started_s))
        if what.startswith("cold"):
            srv.stop()
    port = srv.port
    try:
        lng, lat, xy = _points(plan, 10_000, seed=5)
        singles = [f"/api/locate?lat={a:.6f}&lng={b:.6f}" for a, b in zip(lat, lng, strict=True)]
        batch = json.dumps(
            {"points": [{"lat": float(a), "lng": float(b)} for a, b in zip(lat, lng, strict=True)]}
        ).encode()
        areas = _areas(port, token)
        periods = ["28D", "3M", "6M", "12M", *_months(port, token)]
        combos = [(a, p) for p in periods for a in areas]
        print(HEADER, flush=True)
        rows = _Rows()

        def get(path: str) -> Callable[[int], tuple[str, str, bytes, str]]:
            return lambda i: ("GET", path, b"", "")

        def cycle(paths: list[str]) -> Callable[[int], tuple[str, str, bytes, str]]:
            return lambda i: ("GET", paths[i % len(paths)], b"", "")

        def post(body: bytes) -> Callable[[int], tuple[str, str, bytes, str]]:
            return lambda i: ("POST", "/api/locate", body, "application/json")

        def n(k: int) -> int:
            return max(4, int(k * scale))

        fresh = {r: iter(combos) for r in ("/api/hotspots", "/maps/briefing")}

        def cold(route: str, k: int) -> list[str]:
            """``k`` requests, each for an area and period not asked of ``route`` before."""
            picked = [next(fresh[route]) for _ in range(k)]
            return [f"{route}?area={quote(a)}&since={p}" for a, p in picked]

        hot_path = f"/api/hotspots?area={quote(areas[-1])}&since=3M"
        map_path = f"/maps/briefing?area={quote(areas[-1])}&since=28D"
        for c in CLIENTS:
            rows.append(("single locate", run(port, token, c, n(20_000), 15, cycle(singles))))
        for c in CLIENTS:
            rows.append(("batch locate (10k points)",
                         run(port, token, c, n(max(10, 4 * c)), 60, post(batch))))  # fmt: skip
        run(port, token, 1, 1, 60, get(hot_path))  # computed once, then cached
        for c in CLIENTS:
            rows.append(("hotspots (cached)", run(port, token, c, n(4000), 15, get(hot_path))))
        for c in CLIENTS:
            paths = cold("/api/hotspots", n(min(24 if c == 1 else 3 * c, 96)))
            rows.append(("hotspots (cold)", run(port, token, c, len(paths), 90, cycle(paths))))
        run(port, token, 1, 1, 120, get(map_path))
        for c in CLIENTS:
            rows.append(("briefing map (cached)", run(port, token, c, n(2000), 15,
                                                      get(map_path))))  # fmt: skip
        for c in CLIENTS:
            paths = cold("/maps/briefing", n(min(8 if c == 1 else 2 * c, 32)))
            rows.append(("briefing map (cold)", run(port, token, c, len(paths), 120,
                                                    cycle(paths))))  # fmt: skip
    finally:
        srv.stop()
    load = _uptime()

    # in-process reference: the same points located by the library, one call per point
    import beatplan as bp

    loc = bp.Locator(bp.read_plan(plan).wards, level="ward")
    t = time.perf_counter()
    for a, b in zip(lng[:5000], lat[:5000], strict=True):
        loc.locate(a, b, crs=4326)
    per_point = (time.perf_counter() - t) / 5000
    t = time.perf_counter()
    loc.locate_many(lng, lat, crs=4326)
    bulk = time.perf_counter() - t

    print(f"\nbeatplan serve --workers {args.workers}: {label}")
    print(
        "| endpoint                   | cli | reqs   | err | req/s    | p50 ms   | p99 ms   | "
        "vs police.uk |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows:
        print(_row(name, r))
    best = max(r["rps"] for name, r in rows if name == "single locate")
    print(
        f"\nreference, in this process: Locator.locate {per_point * 1e6:.0f} us per point "
        f"({1 / per_point:,.0f} points/s on one core); locate_many of 10,000 points "
        f"{bulk * 1000:.0f} ms"
    )
    print(
        f"single locate over HTTP at best {best:,.0f} req/s = {best / POLICE_UK_RPS:,.0f}x "
        f"police.uk's {POLICE_UK_RPS:g} req/s limit"
    )
    for what, s in starts:
        print(f"start, {what}: {s:.1f} s to the first /health answer (process start included)")
    print(f"load after: {load}")
    print(f"(work folder {work}; server log {log}; cores: {os.cpu_count()})")


if __name__ == "__main__":
    main()
