"""One self-contained HTML file from a folium map: every JS and CSS asset inlined, saved safely.

folium puts ``<script src=...>`` and ``<link href=...>`` tags for Leaflet, jQuery, Bootstrap, Font
Awesome and each plugin into a map's header. :func:`to_html` renders the map and, with
``offline=True``, replaces each tag of an asset the map uses by the pinned file's text
(:mod:`beatplan.maps.assets`) and drops the ones beatplan's maps never use (jQuery, Bootstrap,
glyphicons, Font Awesome, awesome-markers), then checks that no external script, stylesheet, image
or ``@import`` remains. The only network use such a file can make is the optional basemap tiles.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import folium

from beatplan.geo.errors import (
    ExternalResourceError,
    InputTypeError,
    OutputExistsError,
)
from beatplan.geo.write import write_text
from beatplan.maps.assets import bundle

__all__ = ["ExternalResourceError", "external_resources", "save", "to_html"]

log = logging.getLogger("beatplan")

#: folium's asset names -> beatplan's bundle (see beatplan.maps.assets.BUNDLES).
_FOLIUM_NAMES: dict[str, str] = {
    "leaflet": "leaflet",
    "leaflet_css": "leaflet",
    "markerclusterjs": "markercluster",
    "markerclustercss": "markercluster",
    "markerclusterdefaultcss": "markercluster",
    "leaflet-heat.js": "heat",
    "Control.Fullscreen.js": "fullscreen",
    "Control.FullScreen.css": "fullscreen",
}
#: Pulled in by folium's Map header but used by none of beatplan's layers.
_UNUSED: frozenset[str] = frozenset(
    {
        "jquery",
        "bootstrap",
        "awesome_markers",
        "bootstrap_css",
        "glyphicons_css",
        "awesome_markers_font_css",
        "awesome_markers_css",
        "awesome_rotate_css",
    }
)


def _walk(element: object) -> Iterator[object]:
    yield element
    for child in getattr(element, "_children", {}).values():
        yield from _walk(child)


def _asset_links(root: object) -> list[tuple[str, str, str]]:
    """Return (kind, name, url) of every asset link the elements under ``root`` ask for."""
    seen: dict[tuple[str, str], str] = {}
    for el in _walk(root):
        for kind in ("js", "css"):
            for name, url in getattr(el, f"default_{kind}", ()) or ():
                seen.setdefault((kind, name), url)
    return [(k, n, u) for (k, n), u in seen.items()]


def _uses_awesome_icons(root: object) -> bool:
    return any(type(el).__name__ in {"Icon", "BeautifyIcon"} for el in _walk(root))


def _safe_inline(text: str, tag: str) -> str:
    """Make ``text`` safe to sit between ``<tag>`` and ``</tag>``."""
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)


_TAG_PATTERNS = {
    "js": '<script src="{url}"></script>',
    "css": '<link rel="stylesheet" href="{url}"/>',
}


def to_html(m: folium.Map, *, offline: bool = True) -> str:
    """Render ``m`` to one HTML document.

    Parameters
    ----------
    m : folium.Map
        The map (not modified).
    offline : bool
        Inline every JavaScript and CSS asset (needs the fetched assets, see
        :mod:`beatplan.maps.assets`); otherwise keep folium's CDN links for the assets the map uses.

    Returns
    -------
    str
        The HTML document. In both modes the assets no beatplan layer needs (jQuery, Bootstrap,
        Font Awesome, awesome-markers) are left out.

    Raises
    ------
    AssetsNotFoundError
        ``offline=True`` and the assets have not been fetched.
    ExternalResourceError
        ``offline=True`` and something would still be loaded from the network.
    """
    root = m.get_root()
    links = _asset_links(root)
    unknown = [n for _, n, _ in links if n not in _FOLIUM_NAMES and n not in _UNUSED]
    if offline and unknown:
        raise ExternalResourceError(
            f"the map uses folium elements whose assets ({', '.join(sorted(unknown))}) beatplan "
            "cannot inline; remove those elements or save with offline=False"
        )
    if _uses_awesome_icons(root):
        raise ExternalResourceError(
            "the map uses folium Icon/BeautifyIcon markers, which need Bootstrap and Font Awesome "
            "from the network; use circle markers or DivIcons instead"
        )
    html = root.render()
    done: set[tuple[str, str]] = set()
    for kind, name, url in links:
        tag = _TAG_PATTERNS[kind].format(url=url)
        if name in _UNUSED:
            html = html.replace(tag, "")
            continue
        if not offline:
            continue
        bundle_name = _FOLIUM_NAMES[name]
        if (kind, bundle_name) in done:
            html = html.replace(tag, "")
            continue
        if tag not in html:
            raise ExternalResourceError(
                f"cannot find folium's {kind} link for {name!r} ({url}) in the rendered map; "
                "this folium version renders asset links differently"
            )
        done.add((kind, bundle_name))
        tag_name = "script" if kind == "js" else "style"
        body = "\n".join(_safe_inline(t, tag_name) for t in bundle(bundle_name, kind))
        inline = f"<{tag_name}>/* {bundle_name} (inlined) */\n{body}\n</{tag_name}>"
        # str.replace with a function-free literal: backslashes in the asset stay as they are
        head, sep, tail = html.partition(tag)
        html = head + inline + tail.replace(tag, "")
    if offline:
        ext = external_resources(html)
        if ext:
            raise ExternalResourceError(
                "the offline map would still load from the network: " + ", ".join(ext[:5])
            )
    return html


_EXTERNAL_RES = [
    re.compile(r"<script\b[^>]*\bsrc\s*=\s*['\"]?([^'\" >]+)", re.I),
    re.compile(r"<link\b[^>]*\bhref\s*=\s*['\"]?([^'\" >]+)", re.I),
    re.compile(
        r"<(?:img|iframe|embed|source|audio|video)\b[^>]*\bsrc\s*=\s*['\"]?([^'\" >]+)", re.I
    ),
    re.compile(r"@import\s+(?:url\()?\s*['\"]?([^'\"\) ;]+)", re.I),
    re.compile(r"url\(\s*['\"]?((?:https?:)?//[^'\"\)]+)", re.I),
]


def external_resources(html: str) -> list[str]:
    """List the URLs of scripts, stylesheets, images and CSS imports ``html`` would fetch.

    Tile URL templates inside the map's JavaScript are not listed (they are the optional basemap),
    nor are ``data:`` URIs. Used to check an offline map.

    Parameters
    ----------
    html : str
        An HTML document.

    Returns
    -------
    list of str
    """
    found: list[str] = []
    for rx in _EXTERNAL_RES:
        for url in rx.findall(html):
            if url.startswith(("data:", "#")):
                continue
            found.append(url)
    return found


def save(
    m: folium.Map,
    path: str | os.PathLike[str],
    *,
    offline: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write ``m`` to ``path`` as one HTML file (a temporary file renamed into place).

    Parameters
    ----------
    m : folium.Map
        The map.
    path : path
        The output file, usually ``*.html``.
    offline : bool
        Inline every asset so the file opens with no network (default).
    overwrite : bool
        Replace an existing file; without it an existing ``path`` is an error.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    OutputExistsError
        ``path`` exists and ``overwrite`` is False.
    AssetsNotFoundError
        ``offline`` and the assets have not been fetched (the message gives the command).

    Examples
    --------
    >>> import folium, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "m.html"
    >>> save(folium.Map(tiles=None), out, offline=False).name
    'm.html'
    """
    out = Path(path)
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"{out}: the file exists; pass overwrite=True (--overwrite) to replace it"
        )
    if not out.parent.is_dir():
        raise FileNotFoundError(f"{out}: the folder {out.parent} does not exist; create it first")
    if not isinstance(m, folium.Map):  # callers without type checking
        raise InputTypeError(f"save: expected a folium.Map, got {type(m).__name__}")
    html = to_html(m, offline=offline)
    write_text(out, html, overwrite=overwrite, newline=None)
    log.info(
        "map written: %s (%.1f kB%s)",
        out,
        len(html.encode()) / 1024,
        ", offline" if offline else "",
    )
    return out
