"""beatplan.maps.offline and beatplan.maps.assets: one HTML file with every asset inlined, saved
safely."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import stat
import sys
import tarfile
from pathlib import Path

import folium
import pytest
from folium.plugins import Fullscreen, HeatMap, MarkerCluster
from harness.maps import urls_outside_assets

import beatplan.maps.assets as assets
from beatplan.geo.errors import BeatplanError, OutputExistsError
from beatplan.maps.offline import ExternalResourceError, external_resources, save, to_html


def _full_map(tiles: str | None = None) -> folium.Map:
    m = folium.Map(location=[52.63, -1.13], zoom_start=12, tiles=tiles, maxZoom=19)
    MarkerCluster().add_to(m)
    HeatMap([[52.63, -1.13, 1.0]]).add_to(m)
    Fullscreen().add_to(m)
    folium.LayerControl().add_to(m)
    return m


_INLINED = re.compile(r"<(script|style)>/\* [\w.-]+ \(inlined\) \*/.*?</\1>", re.S)


def test_offline_html_loads_nothing_from_the_network(need_assets: None) -> None:
    html = to_html(_full_map(), offline=True)
    assert external_resources(html) == []
    # outside the inlined library code there is no URL at all (no basemap was asked for)
    assert urls_outside_assets(html) == []
    rest = _INLINED.sub("", html)
    for bundle in ("leaflet", "markercluster", "heat", "fullscreen"):
        assert f"/* {bundle} (inlined) */" in html
    # what folium's header pulls in but no beatplan map uses is gone
    for unused in ("jquery", "bootstrap", "awesome-markers", "fontawesome", "glyphicons"):
        assert unused not in rest.lower()
    assert "L.markerClusterGroup" in html and "L.heatLayer" in html


def test_offline_css_images_are_data_uris(need_assets: None) -> None:
    html = to_html(_full_map(), offline=True)
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", html)
    assert urls, "leaflet.css refers to images; they must be inlined"
    assert all(u.startswith(("data:", "#")) for u in urls), urls


def test_basemap_tiles_are_the_only_url_left(need_assets: None) -> None:
    html = to_html(_full_map(tiles="OpenStreetMap"), offline=True)
    assert external_resources(html) == []
    rest = _INLINED.sub("", html)
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", rest))
    assert urls, "the tile layer's URL template should be present"
    assert all("tile.openstreetmap.org" in u or "openstreetmap.org/copyright" in u for u in urls)


def test_online_html_keeps_only_the_assets_used() -> None:
    html = to_html(_full_map(), offline=False)
    ext = external_resources(html)
    assert any("leaflet" in u for u in ext)
    assert not any(x in u for u in ext for x in ("jquery", "bootstrap", "awesome", "fontawesome"))


def test_map_is_not_modified_by_rendering(need_assets: None) -> None:
    m = _full_map()
    before = m.default_js[:]
    to_html(m, offline=True)
    assert m.default_js == before
    assert "jquery" in dict(m.default_js)


def test_awesome_icons_are_refused() -> None:
    m = folium.Map(tiles=None)
    folium.Marker([52.6, -1.1], icon=folium.Icon(icon="info-sign")).add_to(m)
    with pytest.raises(ExternalResourceError, match="Bootstrap and Font Awesome"):
        to_html(m, offline=True)


def test_missing_assets_error_says_how_to_fetch(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(assets, "asset_dirs", lambda: [tmp_path])
    assets._bundle_text.cache_clear()
    try:
        with pytest.raises(assets.AssetsNotFoundError) as err:
            to_html(_full_map(), offline=True)
        msg = str(err.value)
        assert "beatplan map fetch-assets" in msg
        assert "leaflet@1.9.4" in msg and str(tmp_path) in msg
        assert isinstance(err.value, FileNotFoundError) and isinstance(err.value, BeatplanError)
        assert not assets.assets_available()
    finally:
        monkeypatch.undo()
        assets._bundle_text.cache_clear()


@pytest.mark.parametrize(
    ("snippet", "url"),
    [
        ('<script src="https://x.org/a.js"></script>', "https://x.org/a.js"),
        ("<link rel='stylesheet' href='//cdn.x/a.css'>", "//cdn.x/a.css"),
        ('<img src="http://x/y.png">', "http://x/y.png"),
        ("<style>@import url(https://x/f.css);</style>", "https://x/f.css"),
        ("<style>.a{background:url('https://x/i.png')}</style>", "https://x/i.png"),
    ],
)
def test_external_resources_finds_each_kind(snippet: str, url: str) -> None:
    assert url in external_resources(f"<html><head>{snippet}</head></html>")


def test_external_resources_ignores_data_uris() -> None:
    html = '<img src="data:image/png;base64,AAAA"><style>.a{background:url(data:x)}</style>'
    assert external_resources(html) == []


def test_save_refuses_to_overwrite_and_leaves_no_temp_file(tmp_path: Path) -> None:
    out = tmp_path / "m.html"
    save(folium.Map(tiles=None), out, offline=False)
    first = out.read_text()
    assert first.startswith("<!DOCTYPE html>")
    with pytest.raises(OutputExistsError, match="overwrite"):
        save(folium.Map(tiles=None), out, offline=False)
    assert out.read_text() == first
    save(folium.Map(tiles=None, location=[1, 2]), out, offline=False, overwrite=True)
    assert out.read_text() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.html"]


def test_save_into_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save(folium.Map(tiles=None), tmp_path / "nope" / "m.html", offline=False)


def test_save_failure_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "m.html"

    def boom(*a: object, **k: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save(folium.Map(tiles=None), out, offline=False)
    assert list(tmp_path.iterdir()) == []


def test_inline_css_urls(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"\x89PNG")
    css = ".a{background:url(img/a.png)} .b{behavior:url(#default#VML)}"
    out = assets._inline_css_urls(css, tmp_path, "leaflet")
    assert "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode() in out
    assert "url(#default#VML)" in out
    with pytest.raises(assets.AssetsNotFoundError, match="external resource"):
        assets._inline_css_urls(".a{background:url(https://x/y.png)}", tmp_path, "leaflet")
    with pytest.raises(assets.AssetsNotFoundError, match="fetch-assets"):
        assets._inline_css_urls(".a{background:url(img/missing.png)}", tmp_path, "leaflet")


# ---- fetch_assets from a registry laid out in a folder (file://) and a stand-in npm ----------
# (no network: the registry is a local folder, the npm client a script serving the same files)


def _tarball(package: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for member in assets._members_for(package) + ["src/unused.js"]:
            data = f"/* {package} {member} */".encode()
            info = tarfile.TarInfo(f"package/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A registry in a folder (``NAME/-/NAME-VERSION.tgz``), with the pins set to its tarballs."""
    store = tmp_path / "registry"
    pinned = {}
    for key, pkg in assets.NPM_PACKAGES.items():
        data = _tarball(key)
        path = store / pkg.name / "-" / f"{pkg.name}-{pkg.version}.tgz"
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
        pinned[key] = assets.NpmPackage(pkg.name, pkg.version, integrity)
    monkeypatch.setattr(assets, "NPM_PACKAGES", pinned)
    return store.as_uri()


#: A registry address that cannot be reached (a folder that does not exist).
UNREACHABLE = "file:///nonexistent-beatplan-registry"


@pytest.fixture
def fake_npm(tmp_path: Path, registry: str) -> Path:
    store = registry.removeprefix("file://")
    script = tmp_path / "npm"
    script.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        "dest = args[args.index('--pack-destination') + 1]\n"
        "for spec in [a for a in args if '@' in a]:\n"
        "    name, ver = spec.rsplit('@', 1)\n"
        f"    shutil.copy({store!r} + f'/{{name}}/-/{{name}}-{{ver}}.tgz', dest)\n"
        "print('[]')\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def _assert_extracted(dest: Path) -> None:
    for key, pkg in assets.NPM_PACKAGES.items():
        folder = dest / pkg.folder
        got = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
        assert got == sorted(assets._members_for(key) + ["integrity.json"])


def test_fetch_assets_downloads_without_npm(registry: str, tmp_path: Path) -> None:
    dest = tmp_path / "cache"
    out = assets.fetch_assets(dest, registry=registry, npm=str(tmp_path / "no-such-npm"))
    assert out == dest
    _assert_extracted(dest)
    # a second call finds everything present and fetches nothing
    assert assets.fetch_assets(dest, registry=UNREACHABLE, npm="no-such-npm") == dest


def test_fetch_assets_falls_back_to_npm(fake_npm: Path, tmp_path: Path) -> None:
    dest = tmp_path / "cache"
    assert assets.fetch_assets(dest, registry=UNREACHABLE, npm=str(fake_npm)) == dest
    _assert_extracted(dest)


def test_fetch_assets_refuses_a_tarball_with_the_wrong_checksum(
    registry: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkgs = dict(assets.NPM_PACKAGES)
    leaf = pkgs["leaflet"]
    pkgs["leaflet"] = assets.NpmPackage(leaf.name, leaf.version, "sha512-AAAA")
    monkeypatch.setattr(assets, "NPM_PACKAGES", pkgs)
    dest = tmp_path / "cache"
    with pytest.raises(assets.AssetsNotFoundError, match="differs from the pinned"):
        assets.fetch_assets(dest, registry=registry)
    assert not (dest / leaf.folder).exists()


def test_fetch_assets_with_no_registry_and_no_npm_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(assets.AssetsNotFoundError) as err:
        assets.fetch_assets(tmp_path / "cache", registry=UNREACHABLE, npm="no-such-npm")
    msg = str(err.value)
    assert "nonexistent-beatplan-registry" in msg and "HTTPS_PROXY" in msg
    assert assets.FETCH_COMMAND in msg
    assert not (tmp_path / "cache").exists()


def test_fetch_assets_cli_reports_failure_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from beatplan.maps.fetch_assets import main

    args = ["--dest", str(tmp_path / "c"), "--registry", UNREACHABLE, "--npm", "no-such-npm"]
    assert main(args) == 2
    assert "error:" in capsys.readouterr().err


def test_pinned_versions_are_exact() -> None:
    for pkg in assets.NPM_PACKAGES.values():
        assert re.fullmatch(r"\d+\.\d+\.\d+", pkg.version), pkg
        assert pkg.integrity.startswith("sha512-")
