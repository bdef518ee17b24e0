"""Open an HTML file in headless Chromium with no network; report errors, requests, a probe.

Used by the browser tests and the benchmark. It drives Chromium through the DevTools protocol
over ``--remote-debugging-pipe`` (JSON messages on file descriptors 3 and 4), so it needs no
Python package beyond the standard library and no websocket. The network is cut twice: every
host name resolves to nothing (``--host-resolver-rules``) and every request goes to a dead proxy;
each request the page makes is recorded, so a test can show that an offline map made none.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beatplan.geo.errors import BeatplanError

__all__ = ["CHROMIUM_FLAGS", "BrowserError", "PageResult", "find_chromium", "open_page"]

#: Flags every run uses (the issue's list plus --disable-quic).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    # no network: no name resolves, and anything else goes to a closed local port
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


class BrowserError(BeatplanError, RuntimeError):
    """Chromium could not be started or did not answer."""


def find_chromium() -> str | None:
    """Return the path of a Chromium executable, or None.

    ``$BEATPLAN_CHROMIUM`` wins; then ``chromium``, ``chromium-browser``, ``google-chrome`` on PATH.
    """
    env = os.environ.get("BEATPLAN_CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        p = shutil.which(name)
        if p:
            return p
    return None


@dataclass
class PageResult:
    """What one page load produced."""

    #: JavaScript exceptions, console errors and browser log errors, one line each.
    errors: list[str] = field(default_factory=list)
    #: URLs of every request the page made (the document itself included).
    requests: list[str] = field(default_factory=list)
    #: The probe's return value (JSON-decoded), or None.
    value: Any = None
    #: Seconds from navigation to the load event, to the first frames drawn after it (plus
    #: ``settle_ms``), and to the probe's answer.
    load_s: float = float("nan")
    drawn_s: float = float("nan")
    probe_s: float = float("nan")
    screenshot: Path | None = None
    pdf: Path | None = None

    @property
    def external_requests(self) -> list[str]:
        """Requests to anything but ``file:``, ``data:``, ``blob:`` and ``about:`` URLs."""
        return [u for u in self.requests if not u.startswith(("file:", "data:", "blob:", "about:"))]


class _Pipe:
    """The DevTools protocol over Chromium's debugging pipe."""

    def __init__(self, proc: subprocess.Popen[bytes], write_fd: int, read_fd: int) -> None:
        self.proc = proc
        self.write_fd = write_fd
        self.read_fd = read_fd
        self.buf = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.sel = selectors.DefaultSelector()
        self.sel.register(read_fd, selectors.EVENT_READ)

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> int:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self.write_fd, data)
            data = data[n:]
        return self.next_id

    def _read_one(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            if not self.sel.select(timeout=left):
                continue
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium closed the debugging pipe (exit {self.proc.poll()})")
            self.buf += chunk
        raw, self.buf = self.buf.split(b"\0", 1)
        msg: dict[str, Any] = json.loads(raw)
        return msg

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        mid = self.send(method, params, session)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_one(deadline)
            if msg.get("id") == mid:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message', msg['error'])}")
                result: dict[str, Any] = msg.get("result", {})
                return result
            if "method" in msg:
                self.events.append(msg)

    def wait_event(self, method: str, timeout: float) -> dict[str, Any]:
        for i, ev in enumerate(self.events):
            if ev["method"] == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read_one(deadline)
            if msg.get("method") == method:
                return msg
            if "method" in msg:
                self.events.append(msg)


def _collect(events: list[dict[str, Any]], result: PageResult) -> None:
    for ev in events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            exc = d.get("exception", {})
            text = str(exc.get("description") or exc.get("value") or d.get("text", "exception"))
            where = f" at {d.get('url', '')}:{d.get('lineNumber', '?')}"
            result.errors.append(f"exception: {text.splitlines()[0] if text else ''}{where}")
        elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])
            )
            result.errors.append(f"console.{p.get('type')}: {args}")
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            result.errors.append(
                f"log ({e.get('source')}): {e.get('text')} {e.get('url', '')}".strip()
            )
        elif m == "Network.requestWillBeSent":
            result.requests.append(p.get("request", {}).get("url", ""))


def open_page(
    path: str | os.PathLike[str],
    *,
    probe: str | None = None,
    screenshot: str | os.PathLike[str] | None = None,
    pdf: str | os.PathLike[str] | None = None,
    size: tuple[int, int] = (1280, 900),
    media: str | None = None,
    settle_ms: int = 300,
    timeout: float = 60.0,
    chromium: str | None = None,
    shot_after_probe: bool = False,
) -> PageResult:
    """Open ``path`` from disk in headless Chromium with no network and report what happened.

    Parameters
    ----------
    path : path or str
        An HTML file, or an ``http://`` URL of a server on loopback (the only network there).
    probe : str, optional
        A JavaScript expression evaluated after the load event, two animation frames,
        ``settle_ms`` and the screenshot; it may return a Promise. Its JSON value is
        ``PageResult.value``.
    screenshot : path, optional
        Where to save a PNG of the viewport as first drawn (before the probe runs).
    pdf : path, optional
        Where to save the page printed on A4 landscape.
    size : (int, int)
        Viewport width and height in CSS pixels.
    media : str, optional
        CSS media type to emulate, e.g. ``"print"`` to see the page as its print stylesheet
        lays it out (the screenshot then shows the printed page).
    settle_ms : int
        Extra wait before probing, for animations and chunked loading.
    timeout : float
        Seconds allowed for the whole run.
    chromium : str, optional
        The executable; default :func:`find_chromium`.
    shot_after_probe : bool
        Take the screenshot after the probe instead (a probe that signs in and opens a map).

    Returns
    -------
    PageResult
    """
    exe = chromium or find_chromium()
    if exe is None:
        raise BrowserError(
            "Chromium not found: install Debian's `chromium` package (apt-get install -y "
            "chromium) or set $BEATPLAN_CHROMIUM to a Chromium executable"
        )
    text = os.fspath(path)
    url = text if text.startswith(("http://", "https://")) else Path(path).resolve().as_uri()
    profile = tempfile.mkdtemp(prefix="beatplan-chromium-")
    # the pipes are duplicated to fds >= 10 so the child's dup2 onto 3 and 4 cannot clobber them
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    child_in = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
    child_out = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)

    def _setup_fds() -> None:  # runs in the child before exec
        os.dup2(child_in, 3)
        os.dup2(child_out, 4)

    flags = list(CHROMIUM_FLAGS)
    if url.startswith(("http://", "https://")):  # only this server on loopback is reachable
        origin = url.split("/")[2]
        host = origin.rsplit(":", 1)[0]
        flags = [f for f in flags if not f.startswith(("--proxy-bypass-list", "--host-res"))]
        flags += [
            f"--proxy-bypass-list={origin}",
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {host}",
        ]
    cmd = [
        exe,
        *flags,
        f"--user-data-dir={profile}",
        "--remote-debugging-pipe",
        f"--window-size={size[0]},{size[1]}",
        "about:blank",
    ]
    result = PageResult()
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=_setup_fds,  # noqa: PLW1509 - single-threaded callers; needed for fds 3/4
        pass_fds=(3, 4),
    )
    for fd in (to_child_r, from_child_w, child_in, child_out):
        os.close(fd)
    pipe = _Pipe(proc, to_child_w, from_child_r)
    deadline = time.monotonic() + timeout
    try:
        targets = pipe.call("Target.getTargets", timeout=timeout)["targetInfos"]
        page = next((t for t in targets if t.get("type") == "page"), None)
        if page is None:
            tid = pipe.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        else:
            tid = page["targetId"]
        sid = pipe.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            pipe.call(f"{domain}.enable", session=sid)
        pipe.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": False},
            session=sid,
        )
        if media is not None:
            pipe.call("Emulation.setEmulatedMedia", {"media": media}, session=sid)
        pipe.events.clear()
        t0 = time.monotonic()
        nav = pipe.call("Page.navigate", {"url": url}, session=sid)
        if nav.get("errorText"):
            raise BrowserError(f"{url}: {nav['errorText']}")
        pipe.wait_event("Page.loadEventFired", max(1.0, deadline - time.monotonic()))
        result.load_s = time.monotonic() - t0
        settle = (
            "(async () => { await new Promise(r => requestAnimationFrame(() => "
            "requestAnimationFrame(r))); "
            f"await new Promise(r => setTimeout(r, {int(settle_ms)})); return 1; }})()"
        )
        pipe.call(
            "Runtime.evaluate",
            {"expression": settle, "awaitPromise": True, "returnByValue": True},
            session=sid,
            timeout=max(1.0, deadline - time.monotonic()),
        )
        result.drawn_s = time.monotonic() - t0
        if screenshot is not None and not shot_after_probe:  # as first drawn, before the probe
            shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=sid)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            result.screenshot = Path(screenshot)
        if probe is not None:
            expr = f"(async () => JSON.stringify(await ({probe})))()"
            ev = pipe.call(
                "Runtime.evaluate",
                {"expression": expr, "awaitPromise": True, "returnByValue": True},
                session=sid,
                timeout=max(1.0, deadline - time.monotonic()),
            )
            result.probe_s = time.monotonic() - t0
            if "exceptionDetails" in ev:
                d = ev["exceptionDetails"]
                exc = d.get("exception", {})
                desc = str(exc.get("description") or exc.get("value") or d.get("text", ""))
                result.errors.append(f"probe failed: {desc.splitlines()[0] if desc else d}")
            else:
                raw = ev.get("result", {}).get("value")
                result.value = json.loads(raw) if isinstance(raw, str) else raw
        if screenshot is not None and shot_after_probe:
            shot = pipe.call("Page.captureScreenshot", {"format": "png"}, session=sid)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
            result.screenshot = Path(screenshot)
        if pdf is not None:
            printed = pipe.call(
                "Page.printToPDF",
                {
                    "landscape": True,
                    "paperWidth": 11.69,
                    "paperHeight": 8.27,
                    "printBackground": True,
                    "marginTop": 0.3,
                    "marginBottom": 0.3,
                    "marginLeft": 0.3,
                    "marginRight": 0.3,
                },
                session=sid,
            )
            Path(pdf).write_bytes(base64.b64decode(printed["data"]))
            result.pdf = Path(pdf)
        _collect(pipe.events, result)
        try:
            pipe.send("Browser.close")
        except OSError:
            pass
    finally:
        for fd in (to_child_w, from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)
    return result
