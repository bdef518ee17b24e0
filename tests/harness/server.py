"""Run the real ``beatplan serve`` in a subprocess on a free loopback port (tests and bench).

:class:`ServedPlan` starts the server (its own process group, so ``kill -9`` reaches every
worker), waits for ``/health``, and keeps its log in a file. :func:`sample_plan` and
:func:`leicestershire_plan` write the plan folders the tests and the benchmark serve.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ServedPlan",
    "add_token",
    "bearer",
    "link",
    "free_port",
    "leicestershire_plan",
    "sample_plan",
]

LEVELS = ["beat", "sector", "npa"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of a token."""
    return {"Authorization": f"Bearer {token}"}


def link(target: Path, path: Path) -> Path:
    """Point the symlink ``path`` at ``target`` atomically (a reload then reads the new)."""
    tmp = path.with_name(path.name + ".new")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, path)
    return path


def add_token(tokens: Path, name: str, *args: str) -> str:
    """Add a token through the real command line and return it."""
    res = subprocess.run(
        [sys.executable, "-m", "beatplan", "token", "add", name, "--tokens", str(tokens), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return res.stdout.strip()


@dataclass
class ServedPlan:
    """One ``beatplan serve`` process.

    Parameters
    ----------
    plan : path
        The plan folder (or a symlink to one, to swap it for a reload).
    incidents : sequence of path
        Incident files or folders.
    tokens, cache, log : path
        The tokens file, the cache folder and where the server's output goes.
    workers : int
    extra : sequence of str
        More ``beatplan serve`` options.
    """

    plan: Path
    incidents: Sequence[Path]
    tokens: Path
    cache: Path
    log: Path
    workers: int = 1
    extra: Sequence[str] = ()
    port: int = 0
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    started_s: float = float("nan")

    @property
    def base(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        cmd = [sys.executable, "-m", "beatplan", "serve", str(self.plan)]
        for inc in self.incidents:
            cmd += ["-i", str(inc)]
        cmd += ["--tokens", str(self.tokens), "--cache", str(self.cache), "--port",
                str(self.port), "--workers", str(self.workers), *self.extra]  # fmt: skip
        return cmd

    def start(self, timeout: float = 120.0) -> ServedPlan:
        """Start it and wait until ``/health`` answers (every worker of a group may lag)."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("this server is running; stop it first")
        if not self.port:
            self.port = free_port()
        t0 = time.perf_counter()
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.log_text()}")
            try:
                with urllib.request.urlopen(self.base + "/health", timeout=2) as r:
                    if r.status == 200:
                        self.started_s = time.perf_counter() - t0
                        return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not answer /health in {timeout} s:\n{self.log_text()}")

    def log_text(self) -> str:
        """Everything the server wrote."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def signal(self, sig: int) -> None:
        """Send a signal to the server's main process."""
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def kill9(self) -> None:
        """``kill -9`` the server and all its workers at once."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL after 15 s)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def __enter__(self) -> ServedPlan:
        return self if self.proc is not None and self.proc.poll() is None else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


# ------------------------------------------------------------------------------- plans
def sample_plan(out: Path, *, seed: int = 1) -> tuple[Path, Path]:
    """Write the sample county of ``seed`` and its realigned plan; return (plan, crime folder)."""
    import beatplan as bp

    bp.write_sample(out / "sample", seed=seed)
    county = bp.make_sample(seed=seed)
    plan = bp.realign(county.wards_new, county.beats, levels=LEVELS)
    bp.write_plan(out / "plan", plan)
    return out / "plan", out / "sample" / "crime"


def leicestershire_plan(data: Path, out: Path) -> tuple[Path, Path]:
    """A force-wide plan for Leicestershire from the real wards; return (plan, crime folder).

    The old police areas are built from the 171 December-2013 wards: beats of about four
    neighbouring wards within each district (k-means on the ward centres), sectors are the
    nine districts and NPAs pair them; Leicester City's wards are then the post-2015 ones
    (21), so :func:`beatplan.realign` realigns the city's beats to its new wards.
    """
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans

    import beatplan as bp
    from beatplan.boundaries.hierarchy import build_layers

    base = data / "leicestershire_boundaries"
    parts = []
    for f in sorted((base / "wd13_wards_by_lad").glob("*.json")):
        w = bp.read_boundaries(f)
        w["lad"] = f.stem
        parts.append(w)
    old = pd.concat(parts, ignore_index=True)
    old = gpd.GeoDataFrame(old, geometry="geometry", crs=parts[0].crs)
    beats = np.empty(len(old), dtype=object)
    for lad, rows in old.groupby("lad"):
        xy = np.column_stack([rows.geometry.centroid.x, rows.geometry.centroid.y])
        k = max(1, round(len(rows) / 4))
        labels = KMeans(n_clusters=k, n_init=4, random_state=0).fit_predict(xy)
        beats[rows.index] = [f"{lad[-3:]}-B{lab + 1:02d}" for lab in labels]
    npa_of = {"E06000016": "City", "E06000017": "Melton and Rutland",
              "E07000133": "Melton and Rutland", "E07000129": "Blaby and Hinckley",
              "E07000132": "Blaby and Hinckley", "E07000130": "Charnwood",
              "E07000131": "Harborough and Oadby", "E07000135": "Harborough and Oadby",
              "E07000134": "North West Leicestershire"}  # fmt: skip
    old["beat"] = beats
    old["sector"] = old["lad"]
    old["npa"] = old["lad"].map(npa_of)
    layers = build_layers(old, levels=LEVELS)
    city_new = bp.read_boundaries(base / "wd19_leicester_city_wards")
    county = old[old["lad"] != "E06000016"][["id", "name", "geometry"]]
    new = pd.concat([county.to_crs(city_new.crs), city_new[["id", "name", "geometry"]]])
    new = gpd.GeoDataFrame(new.reset_index(drop=True), geometry="geometry", crs=city_new.crs)
    plan = bp.realign(new, layers, levels=LEVELS)
    bp.write_plan(out, plan)
    return out, data / "leicestershire_street_crime"
