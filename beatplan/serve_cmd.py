"""``beatplan serve PLAN``: serve locate, areas, hotspots, demand and briefing maps over HTTP.

The data (the plan and the incidents) is read once at start, or taken from the cache when it
has not changed, and then served from memory; ``kill -HUP`` (or ``POST /api/admin/reload``
with an admin token) reads it again beside the current data and swaps when it is whole.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

import click

from beatplan.options import handle_errors

__all__ = ["command"]

log = logging.getLogger("beatplan")

_TILES = ("none", "OpenStreetMap", "CartoDB positron", "CartoDB voyager")


def _log_config(access_log: bool) -> dict[str, Any]:
    """Return the logging of the server and its workers: beatplan's lines, no uvicorn access log."""
    level = logging.getLevelName(logging.getLogger("beatplan").getEffectiveLevel())
    handler = {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {"stderr": handler},
        "loggers": {
            "beatplan": {"handlers": ["stderr"], "level": level, "propagate": False},
            "beatplan.access": {
                "handlers": ["stderr"],
                "level": "INFO" if access_log else "WARNING",
                "propagate": False,
            },
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_tokens_file(path: Path) -> None:
    from beatplan.service.tokens import TokenFile

    tokens = TokenFile(path)  # refuses a missing or damaged file
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("%s is readable by others (mode %o); chmod 600 it", path, mode)
    if not len(tokens):
        log.warning("%s holds no live token: every request but / and /health is refused", path)


def _check_port(host: str, port: int) -> None:
    """Refuse, before loading anything, a host and port the server could not listen on."""
    import socket

    from beatplan.geo.errors import OptionError

    if port == 0:
        return  # any free port
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, addr = infos[0]
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            sock.bind(addr)
    except OSError as exc:
        raise OptionError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port "
            "(or --host)"
        ) from exc


def _uvicorn_config(app: Any, settings: Any, **extra: Any) -> Any:
    import uvicorn

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        access_log=False,  # our own log never holds the query text or the token
        log_config=_log_config(settings.access_log),
        server_header=False,
        proxy_headers=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=16 * 1024,
        **extra,
    )


def _serve_workers(settings: Any) -> None:
    """Run ``settings.workers`` processes on one socket; SIGHUP reloads in the parent."""
    from uvicorn.supervisors.multiprocess import Multiprocess

    from beatplan.service.settings import ENV_SETTINGS
    from beatplan.service.store import error_line, refresh
    from beatplan.service.versions import VersionCache

    os.environ[ENV_SETTINGS] = settings.to_env()  # the workers' settings (and signing key)
    config = _uvicorn_config(
        "beatplan.service.app:app_from_env", settings, factory=True, workers=settings.workers
    )

    class Supervisor(Multiprocess):
        """uvicorn's worker supervisor, but SIGHUP reloads the data instead of the workers."""

        def handle_hup(self) -> None:
            def run() -> None:
                cache = VersionCache(settings.cache_dir)
                current = cache.current()
                try:
                    snap = refresh(settings, cache, current)  # the workers follow the pointer
                    log.info("SIGHUP: version %s", current if snap is None else snap.version)
                except Exception as exc:  # noqa: BLE001 - refresh logged it; the data stays
                    log.error("SIGHUP reload failed: %s", error_line(exc))

            threading.Thread(target=run, name="beatplan-reload", daemon=True).start()

    sock = config.bind_socket()
    Supervisor(config, sockets=[sock]).run()


@click.command("serve")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option(
    "--incidents", "-i", multiple=True, metavar="FILES",
    help="Incident files, folders or globs (repeatable), e.g. a folder of police.uk CSVs.",
)  # fmt: skip
@click.option(
    "--tokens", type=click.Path(dir_okay=False, path_type=Path), required=True,
    help="The tokens file (beatplan token add NAME --tokens FILE).",
)  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (each holds the data; they share the cache).")  # fmt: skip
@click.option(
    "--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Cache folder of whole data versions (default: ~/.cache/beatplan/serve/<hash>).",
)  # fmt: skip
@click.option(
    "--tiles", type=click.Choice(_TILES, case_sensitive=False), default="none",
    show_default=True, help="Basemap of the briefing maps ('none': no network at all).",
)  # fmt: skip
@click.option(
    "--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
    help="Also accept this Host header (repeatable; '*' for any).",
)  # fmt: skip
@click.option("--no-access-log", is_flag=True, help="No log line per request.")
@handle_errors
def command(
    plan: Path,
    incidents: tuple[str, ...],
    tokens: Path,
    host: str,
    port: int,
    workers: int,
    cache: Path | None,
    tiles: str,
    allowed_hosts: tuple[str, ...],
    no_access_log: bool,
) -> None:
    """Serve locate, areas, hotspots, demand and briefing maps over HTTP (loopback by default)."""
    import uvicorn

    from beatplan.service.app import create_app
    from beatplan.service.settings import Settings
    from beatplan.service.store import DataStore

    t0 = time.perf_counter()
    match = {t.lower(): t for t in _TILES}[tiles.lower()]
    settings = Settings(
        plan=plan, incidents=incidents, tokens=tokens, cache=cache, host=host, port=port,
        workers=workers, tiles=None if match == "none" else match,
        allowed_hosts=allowed_hosts, access_log=not no_access_log,
    )  # fmt: skip
    _check_tokens_file(settings.tokens)
    _check_port(host, port)
    if not _loopback(host):
        log.warning("listening on %s, beyond loopback: put TLS in front of it", host)
    if workers > 1:  # the workers load the version the cache points to
        from beatplan.service.store import prepare
        from beatplan.service.versions import VersionCache

        versions = VersionCache(settings.cache_dir)
        prepare(settings, versions, load=False)
        click.echo(f"data version {versions.current()} ready in {time.perf_counter() - t0:.1f} s "
                   f"(cache {settings.cache_dir})", err=True)  # fmt: skip
        click.echo(f"serving on http://{host}:{port}/ ({workers} workers)", err=True)
        _serve_workers(settings)
        return
    store = DataStore.start(settings)
    snap = store.current
    click.echo(
        f"data version {snap.version}: {sum(len(a) for a in snap.areas.values()):,} areas, "
        f"{len(snap.points):,} incidents, ready in {time.perf_counter() - t0:.1f} s "
        f"(cache {settings.cache_dir})",
        err=True,
    )
    click.echo(f"serving on http://{host}:{port}/ (1 worker)", err=True)
    server = uvicorn.Server(_uvicorn_config(create_app(settings, store), settings))
    server.run()
