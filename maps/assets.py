"""The JavaScript and CSS an offline map inlines: which, where they are kept, how to fetch them.

Nothing of Leaflet or its plugins is committed to the repository. The pinned npm packages
(:data:`NPM_PACKAGES`) are fetched once (``beatplan map fetch-assets``, or ``python -m
beatplan.maps.fetch_assets``): downloaded from the npm registry over HTTPS (no npm client
needed; ``npm pack`` is the fallback) into a git-ignored cache folder; the tarballs are checked
against the pinned sha512 integrity before a file is extracted. A wheel built from a checkout
that holds them ships them (package data), so ``pip install`` of that wheel makes offline maps
with no fetch at all. The patched ``leaflet.heat`` comes from
folium's own wheel (folium ships ``templates/leaflet_heat.min.js``, with the weights fix of
Leaflet.heat PR 78), so it needs no fetch.

The cache folder is the first of: ``$BEATPLAN_MAP_ASSETS``; ``maps/_assets`` beside this module;
``$XDG_CACHE_HOME/beatplan/map-assets`` (``~/.cache/...``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from beatplan.geo.errors import AssetsNotFoundError, check_option

__all__ = [
    "ASSET_ENV",
    "BUNDLES",
    "DEFAULT_REGISTRY",
    "FETCH_COMMAND",
    "NPM_PACKAGES",
    "AssetsNotFoundError",
    "Asset",
    "NpmPackage",
    "asset_dirs",
    "assets_available",
    "bundle",
    "default_fetch_dir",
    "fetch_assets",
]

log = logging.getLogger("beatplan")

#: Environment variable naming the asset cache folder.
ASSET_ENV = "BEATPLAN_MAP_ASSETS"
#: The command that fetches the assets (quoted in every "not found" message).
FETCH_COMMAND = "beatplan map fetch-assets"


@dataclass(frozen=True)
class NpmPackage:
    """One pinned npm package: name, exact version and the tarball's sha512 integrity."""

    name: str
    version: str
    integrity: str

    @property
    def spec(self) -> str:
        """``name@version`` as ``npm pack`` takes it."""
        return f"{self.name}@{self.version}"

    @property
    def folder(self) -> str:
        """The package's folder name in the cache."""
        return f"{self.name}-{self.version}"


@dataclass(frozen=True)
class Asset:
    """One file an offline map inlines.

    ``source`` is ``"npm"`` (``package`` names an :data:`NPM_PACKAGES` key, ``path`` is the member
    inside the tarball's ``package/`` folder) or ``"folium"`` (``path`` is relative to folium's
    installed package folder).
    """

    kind: str  # "js" or "css"
    source: str
    package: str
    path: str


#: Versions pinned here; Leaflet 1.9.4 is the fix release of the 1.9.3 folium 0.20 links to;
#: markercluster 1.5.3 and fullscreen 3.0.2 are the latest releases of the lines folium's
#: templates call (``L.markerClusterGroup``, ``L.control.fullscreen``).
NPM_PACKAGES: dict[str, NpmPackage] = {
    "leaflet": NpmPackage(
        "leaflet",
        "1.9.4",
        "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb+FA74PA==",
    ),
    "leaflet.markercluster": NpmPackage(
        "leaflet.markercluster",
        "1.5.3",
        "sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==",
    ),
    "leaflet.fullscreen": NpmPackage(
        "leaflet.fullscreen",
        "3.0.2",
        "sha512-m27waFVmwdrLGXjZw2L8b7w/W28EY+u7IGzK2x8K99XaPuzKbjI+/H1j0OMawLcRPZyDRh+39XpyLsvDwHUEoA==",
    ),
}

#: Bundle name -> files, in load order. A bundle is what one folium element needs.
BUNDLES: dict[str, tuple[Asset, ...]] = {
    "leaflet": (
        Asset("js", "npm", "leaflet", "dist/leaflet.js"),
        Asset("css", "npm", "leaflet", "dist/leaflet.css"),
    ),
    "markercluster": (
        Asset("js", "npm", "leaflet.markercluster", "dist/leaflet.markercluster.js"),
        Asset("css", "npm", "leaflet.markercluster", "dist/MarkerCluster.css"),
        Asset("css", "npm", "leaflet.markercluster", "dist/MarkerCluster.Default.css"),
    ),
    "heat": (Asset("js", "folium", "folium", "templates/leaflet_heat.min.js"),),
    "fullscreen": (
        Asset("js", "npm", "leaflet.fullscreen", "Control.FullScreen.js"),
        Asset("css", "npm", "leaflet.fullscreen", "Control.FullScreen.css"),
    ),
}

#: Files the CSS refers to (``url(...)``), inlined as data URIs; extracted with the rest.
_CSS_RESOURCES: dict[str, tuple[str, ...]] = {
    "leaflet": (
        "dist/images/layers.png",
        "dist/images/layers-2x.png",
        "dist/images/marker-icon.png",
        "dist/images/marker-icon-2x.png",
        "dist/images/marker-shadow.png",
    ),
    "leaflet.fullscreen": ("icon-fullscreen.svg",),
    "leaflet.markercluster": (),
}
_LICENCES = ("LICENSE", "MIT-LICENCE.txt", "package.json")

_MIME = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}


def default_fetch_dir() -> Path:
    """Return the folder :func:`fetch_assets` writes to when no ``dest`` is given.

    ``$BEATPLAN_MAP_ASSETS`` if set, else ``maps/_assets`` beside this module when writable, else
    the user cache folder.
    """
    env = os.environ.get(ASSET_ENV)
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    if os.access(here, os.W_OK):
        return here / "_assets"
    return _user_cache()


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "beatplan" / "map-assets"


def asset_dirs() -> list[Path]:
    """Return the folders searched for fetched assets, in order."""
    dirs = []
    env = os.environ.get(ASSET_ENV)
    if env:
        dirs.append(Path(env))
    dirs.append(Path(__file__).resolve().parent / "_assets")
    dirs.append(_user_cache())
    return dirs


def _folium_dir() -> Path:
    import folium

    return Path(folium.__file__).resolve().parent


def _find(package: str, path: str) -> Path | None:
    if package == "folium":
        p = _folium_dir() / path
        return p if p.is_file() else None
    folder = NPM_PACKAGES[package].folder
    for d in asset_dirs():
        p = d / folder / path
        if p.is_file():
            return p
    return None


def _missing_error(missing: Sequence[tuple[str, str]]) -> AssetsNotFoundError:
    items = ", ".join(
        f"{NPM_PACKAGES[p].spec}:{path}" if p in NPM_PACKAGES else f"{p}:{path}"
        for p, path in missing
    )
    where = ", ".join(str(d) for d in asset_dirs())
    return AssetsNotFoundError(
        f"offline map assets not found: {items} (searched {where}); fetch the pinned Leaflet "
        f"assets once with `{FETCH_COMMAND}` (set ${ASSET_ENV} to choose the folder), "
        "or save the map with offline=False (--online) to load them from a CDN"
    )


def assets_available(bundles: Sequence[str] | None = None) -> bool:
    """Return True when every file of ``bundles`` (default: all) is present."""
    names = list(BUNDLES) if bundles is None else list(bundles)
    return all(_find(a.package, a.path) is not None for n in names for a in BUNDLES[n])


def _read(asset: Asset) -> str:
    p = _find(asset.package, asset.path)
    if p is None:
        raise _missing_error([(asset.package, asset.path)])
    return p.read_text(encoding="utf-8")


_URL_RE = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


def _inline_css_urls(css: str, base: Path, package: str) -> str:
    """Replace relative ``url(...)`` references in ``css`` by data URIs of the files beside it."""

    def repl(m: re.Match[str]) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            return m.group(0)
        if re.match(r"^[a-z][a-z0-9+.-]*:", ref, re.I) or ref.startswith("//"):
            raise AssetsNotFoundError(
                f"{package}: its CSS refers to the external resource {ref!r}, which an offline map "
                "cannot load; this asset version is not supported"
            )
        target = (base / ref).resolve()
        if not target.is_file():
            raise _missing_error([(package, ref)])
        mime = _MIME.get(target.suffix.lower(), "application/octet-stream")
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{data}")'

    return _URL_RE.sub(repl, css)


@lru_cache(maxsize=16)
def _bundle_text(name: str, kind: str) -> tuple[str, ...]:
    check_option("bundle", name, BUNDLES)
    out = []
    missing = [(a.package, a.path) for a in BUNDLES[name] if _find(a.package, a.path) is None]
    if missing:
        raise _missing_error(missing)
    for a in BUNDLES[name]:
        if a.kind != kind:
            continue
        text = _read(a)
        if kind == "css":
            p = _find(a.package, a.path)
            assert p is not None  # checked above
            text = _inline_css_urls(text, p.parent, a.package)
        out.append(text)
    return tuple(out)


def bundle(name: str, kind: str) -> list[str]:
    """Return the JavaScript or CSS sources of bundle ``name``, one string per file, in order.

    CSS comes with every ``url(...)`` it refers to inlined as a data URI.

    Parameters
    ----------
    name : str
        A key of :data:`BUNDLES`.
    kind : str
        ``"js"`` or ``"css"``.

    Returns
    -------
    list of str

    Raises
    ------
    AssetsNotFoundError
        When a file has not been fetched; the message gives the command that fetches it.
    """
    return list(_bundle_text(name, check_option("kind", kind, ("js", "css"))))


def _sha512_integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def _members_for(package: str) -> list[str]:
    files = {a.path for b in BUNDLES.values() for a in b if a.package == package}
    files.update(_CSS_RESOURCES.get(package, ()))
    files.update(_LICENCES)
    return sorted(files)


def _extract(tgz: bytes, package: str, dest: Path) -> list[Path]:
    """Extract the members maps need from ``tgz`` into ``dest`` (no other path is written)."""
    written = []
    wanted = set(_members_for(package))
    with tarfile.open(fileobj=io.BytesIO(tgz), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
            if rel not in wanted:
                continue
            f = tar.extractfile(member)
            if f is None:
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read())
            written.append(target)
            wanted.discard(rel)
    needed = wanted - set(_LICENCES)
    if needed:
        raise AssetsNotFoundError(
            f"{NPM_PACKAGES[package].spec}: the tarball lacks {', '.join(sorted(needed))}; "
            "the pinned version may have been republished differently"
        )
    return written


#: Where the tarballs are downloaded from: ``$npm_config_registry`` (npm's own setting) or this.
DEFAULT_REGISTRY = "https://registry.npmjs.org"


def fetch_assets(
    dest: str | os.PathLike[str] | None = None,
    *,
    force: bool = False,
    npm: str | None = "npm",
    registry: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch the pinned npm packages and extract the files offline maps inline.

    Each tarball is downloaded over HTTPS straight from the npm registry, so no ``npm`` client
    is needed (``$HTTPS_PROXY`` is honoured); when that fails and the ``npm`` client is on the
    PATH, ``npm pack`` (which follows the npm configuration: mirrors, proxies) is tried. Each
    tarball's sha512 is checked against :data:`NPM_PACKAGES` before anything is extracted.
    Packages already present are skipped unless ``force``.

    Parameters
    ----------
    dest : path, optional
        The cache folder; default :func:`default_fetch_dir`.
    force : bool
        Fetch again even when the files are present.
    npm : str or None
        The npm executable tried when the direct download fails; None: no fallback.
    registry : str, optional
        The registry's address; default ``$npm_config_registry`` or :data:`DEFAULT_REGISTRY`.
    timeout : float
        Seconds allowed per download.

    Returns
    -------
    pathlib.Path
        The cache folder.

    Raises
    ------
    AssetsNotFoundError
        When neither the download nor npm gives a tarball, or a tarball's checksum differs from
        the pinned one.
    """
    out = Path(dest) if dest is not None else default_fetch_dir()
    todo = {
        key: pkg
        for key, pkg in NPM_PACKAGES.items()
        if force
        or not all(
            (out / pkg.folder / m).is_file() for m in _members_for(key) if m not in _LICENCES
        )
    }
    if not todo:
        log.info("map assets already present in %s", out)
        return out
    tarballs = _tarballs(list(todo.values()), registry=registry, npm=npm, timeout=timeout)
    out.mkdir(parents=True, exist_ok=True)
    for key, pkg in todo.items():
        _install(tarballs[pkg.spec], key, pkg, out)
    _bundle_text.cache_clear()
    return out


def _tarballs(
    todo: Sequence[NpmPackage], *, registry: str | None, npm: str | None, timeout: float
) -> dict[str, bytes]:
    """Return each package's tarball (by ``spec``): downloaded, else from ``npm pack``."""
    base = (registry or os.environ.get("npm_config_registry") or DEFAULT_REGISTRY).rstrip("/")
    got: dict[str, bytes] = {}
    failed: list[str] = []
    for pkg in todo:
        try:
            got[pkg.spec] = _download(f"{base}/{pkg.name}/-/{pkg.name}-{pkg.version}.tgz", timeout)
        except OSError as exc:  # URLError, timeouts, refused connections: the rest would fail too
            failed.append(f"{pkg.spec}: {getattr(exc, 'reason', exc)}")
            break
    rest = [p for p in todo if p.spec not in got]
    if not rest:
        return got
    exe = shutil.which(npm) if npm else None
    if exe is None:
        raise AssetsNotFoundError(
            f"cannot fetch the map assets from {base} ({'; '.join(failed)})"
            + (f" and the npm client ({npm!r}) is not on PATH to try instead" if npm else "")
            + "; check the network (or set $HTTPS_PROXY, "
            f"$npm_config_registry) and run `{FETCH_COMMAND}` again, or copy a fetched cache "
            f"folder to {default_fetch_dir()}"
        )
    log.info("direct download failed (%s); trying npm pack", "; ".join(failed))
    got.update(_npm_pack(rest, exe))
    return got


def _download(url: str, timeout: float) -> bytes:
    import urllib.request

    log.info("fetching %s", url)
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (https only)
        data: bytes = response.read()
    return data


def _npm_pack(todo: Sequence[NpmPackage], exe: str) -> dict[str, bytes]:
    """Return the tarballs of ``todo`` from ``npm pack`` (which follows the npm configuration)."""
    specs = " ".join(p.spec for p in todo)
    with tempfile.TemporaryDirectory(prefix="beatplan-npm-") as tmp:
        cmd = [exe, "pack", "--json", "--ignore-scripts", "--pack-destination", tmp]
        cmd += [p.spec for p in todo]
        log.info("fetching map assets: %s", " ".join(cmd[1:]))
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, check=False, timeout=300, cwd=tmp
            )
        except subprocess.TimeoutExpired as exc:
            raise AssetsNotFoundError(
                f"`npm pack {specs}` did not finish in 300 s; check the network or the npm "
                f"configuration and run `{FETCH_COMMAND}` again"
            ) from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            raise AssetsNotFoundError(
                f"`npm pack` failed (exit {proc.returncode}): {' | '.join(tail)}; check the "
                f"network or the npm configuration and run `{FETCH_COMMAND}` again"
            )
        got = {}
        for pkg in todo:
            tgz_path = Path(tmp) / f"{pkg.name}-{pkg.version}.tgz"
            if not tgz_path.is_file():
                raise AssetsNotFoundError(
                    f"`npm pack {pkg.spec}` wrote no {tgz_path.name}; run `{FETCH_COMMAND}` again"
                )
            got[pkg.spec] = tgz_path.read_bytes()
    return got


def _install(data: bytes, key: str, pkg: NpmPackage, out: Path) -> None:
    """Check one tarball's integrity, extract what maps need and move it into ``out``."""
    got = _sha512_integrity(data)
    if got != pkg.integrity:
        raise AssetsNotFoundError(
            f"{pkg.spec}: the tarball's integrity {got} differs from the pinned "
            f"{pkg.integrity}; refusing to use it (a changed or tampered package)"
        )
    target = out / pkg.folder
    staging = Path(tempfile.mkdtemp(prefix=f".{pkg.folder}-", dir=out))
    try:
        _extract(data, key, staging)
        (staging / "integrity.json").write_text(
            json.dumps({"spec": pkg.spec, "integrity": got}, indent=1) + "\n"
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    log.info("map assets: %s -> %s", pkg.spec, target)
