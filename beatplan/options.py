"""Options and error handling shared by every command.

Boundary inputs
---------------
Every command that reads boundaries takes them the same way (:data:`BOUNDARY`)::

    FILE[:LAYER][:id=COLUMN][:name=COLUMN]

``FILE`` is any vector file or folder :func:`beatplan.geo.read_boundaries` reads, a plan folder
written by ``beatplan realign/reorganise`` or its ``boundaries.gpkg``. ``:LAYER`` (or
``:layer=LAYER``) picks a layer of a file holding several (``plan/boundaries.gpkg:beats``);
``:id=COLUMN`` and ``:name=COLUMN`` name the id and name columns when they cannot be found by
themselves (``--beats beats.shp:id=BEAT_NO:name=BEAT_NAME``). A path that exists as given is
taken whole, so a file name holding ``:`` still works.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from beatplan.geo.errors import BeatplanError

if TYPE_CHECKING:
    import geopandas as gpd

    from beatplan.boundaries.plan import BoundaryPlan

__all__ = [
    "BOUNDARY",
    "BoundarySource",
    "DEFAULT_HOTSPOT_METHOD",
    "ExitCode",
    "HOTSPOT_METHODS",
    "boundary_argument",
    "boundary_option",
    "crs_option",
    "handle_errors",
    "is_plan",
    "notes_once",
    "out_option",
    "overwrite_option",
    "parse_boundary",
    "parse_months",
    "parse_share",
    "parse_shares",
    "parse_types",
    "pick_area",
    "plan_layers",
    "read_areas",
    "read_layer",
    "share_of",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The hotspot methods and the library's default (``beatplan.hotspots.registry``; a test keeps
#: them equal), named here so that ``--help`` and the service do not load the analysis packages.
HOTSPOT_METHODS = ("spots", "gistar", "kde", "dbscan", "hdbscan")
DEFAULT_HOTSPOT_METHOD = "spots"


class ExitCode:
    """Exit codes: 0 success, 1 unexpected failure, 2 bad input or usage."""

    OK = 0
    FAILURE = 1
    BAD_INPUT = 2


overwrite_option = click.option(
    "--overwrite", is_flag=True, help="Replace outputs that already exist."
)
crs_option = click.option(
    "--crs",
    default=None,
    metavar="CRS",
    help="CRS of inputs that lack one or declare a wrong one (e.g. EPSG:4326).",
)


def out_option(
    default: str | None = None, help: str = "Output path.", *, required: bool | None = None
) -> Callable[[F], F]:
    """Return an ``--out`` option; it is required when it has no default unless told otherwise."""
    # click 8.3+ takes an explicit ``default=None`` as a value that satisfies ``required``
    extra: dict[str, Any] = {} if default is None else {"default": default}
    return click.option(
        "--out",
        "-o",
        type=click.Path(path_type=Path),
        required=default is None if required is None else required,
        help=help,
        **extra,
    )


# ------------------------------------------------------------------------- boundary inputs
#: How a boundary input is written, for help texts and messages.
BOUNDARY_SYNTAX = "FILE[:LAYER][:id=COL][:name=COL][:dissolve][:dissolve]"
_KEYS = ("layer", "id", "name", "dissolve")
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class BoundarySource:
    """A boundary input as given on the command line: a path, and optionally its layer and columns.

    Attributes
    ----------
    path : pathlib.Path
        The file, folder or glob.
    layer : str or None
        The layer to read (``:LAYER``).
    id_col, name_col : str or None
        The id and name columns (``:id=COL``, ``:name=COL``).
    dissolve : bool
        Merge the features sharing an id into one area (``:dissolve``; an area drawn as
        several features, such as Chicago's beat 3100).
    text : str
        The input as written.
    """

    path: Path
    layer: str | None = None
    id_col: str | None = None
    name_col: str | None = None
    dissolve: bool = False
    text: str = ""

    def __str__(self) -> str:
        return self.text or str(self.path)

    @property
    def plain(self) -> bool:
        """Whether only a path was given (no layer, no columns)."""
        return (
            self.layer is None and self.id_col is None and self.name_col is None
            and not self.dissolve
        )  # fmt: skip


def parse_boundary(text: str | os.PathLike[str]) -> BoundarySource:
    """Split ``FILE[:LAYER][:id=COL][:name=COL][:dissolve][:dissolve]`` into its parts.

    Parameters
    ----------
    text : str or path-like
        The input. A path that exists as written is taken whole.

    Returns
    -------
    BoundarySource

    Raises
    ------
    OptionError
        An unknown ``key=`` part, a key given twice, or two layers.

    Examples
    --------
    >>> s = parse_boundary("beats.shp:id=BEAT_NO:name=BEAT_NAME")
    >>> str(s.path), s.layer, s.id_col, s.name_col
    ('beats.shp', None, 'BEAT_NO', 'BEAT_NAME')
    >>> parse_boundary("plan/boundaries.gpkg:beats").layer
    'beats'
    >>> parse_boundary("beats.shp:id=beat_num:dissolve").dissolve
    True
    """
    from beatplan.geo.errors import OptionError

    raw = os.fspath(text)
    if os.path.exists(raw) or ":" not in raw:
        return BoundarySource(Path(raw), text=raw)
    parts = raw.split(":")
    cut = _path_end(parts)
    path, rest = ":".join(parts[:cut]), parts[cut:]
    found: dict[str, str] = {}
    for item in rest:
        key, eq, value = item.partition("=")
        if not eq:
            key, value = ("dissolve", "yes") if item == "dissolve" else ("layer", item)
        if key not in _KEYS or not value:
            raise OptionError(
                f"{raw}: cannot read {item!r}; write a boundary input as {BOUNDARY_SYNTAX}, "
                "e.g. beats.shp:id=BEAT_NO or plan/boundaries.gpkg:beats"
            )
        if key in found:
            raise OptionError(f"{raw}: {key} is given twice")
        found[key] = value
    return BoundarySource(
        Path(path), found.get("layer"), found.get("id"), found.get("name"),
        dissolve="dissolve" in found, text=raw,
    )  # fmt: skip


def _path_end(parts: list[str]) -> int:
    """Return how many ``:``-parts make the path: the longest that exists, else up to a key."""
    for k in range(len(parts) - 1, 0, -1):
        head = ":".join(parts[:k])
        if os.path.exists(head) or _GLOB.search(head):
            return k
    for k in range(1, len(parts)):
        if "=" in parts[k] or (k == len(parts) - 1):
            return k
    return len(parts)  # pragma: no cover - the loop returns for any two or more parts


class _BoundaryType(click.ParamType):
    name = "boundary"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, BoundarySource):
            return value
        try:
            return parse_boundary(value)
        except BeatplanError as exc:
            self.fail(str(exc), param, ctx)


#: The click type of every boundary input: gives a :class:`BoundarySource`.
BOUNDARY = _BoundaryType()


def boundary_option(*decls: str, help: str, **kwargs: Any) -> Callable[[F], F]:  # noqa: A002
    """Return a boundary input option (``FILE[:LAYER][:id=COL][:name=COL][:dissolve]``)."""
    kwargs.setdefault("metavar", "FILE[:LAYER]")  # (the command's help gives the whole syntax)
    return click.option(*decls, type=BOUNDARY, help=help, **kwargs)


def boundary_argument(name: str, **kwargs: Any) -> Callable[[F], F]:
    """Return a boundary input argument (``FILE[:LAYER][:id=COL][:name=COL][:dissolve]``)."""
    kwargs.setdefault("metavar", name.upper())
    return click.argument(name, type=BOUNDARY, **kwargs)


def is_plan(src: BoundarySource) -> bool:
    """Say whether ``src`` names a whole plan: its folder, or its GeoPackage.

    A GeoPackage is a plan's when ``plan.json`` sits beside it or it holds ``wards`` and
    ``force`` layers (what :func:`beatplan.boundaries.write_plan` writes).
    """
    from beatplan.boundaries.outputs import is_plan_path

    return src.plain and is_plan_path(src.path)


def read_areas(src: BoundarySource, *, crs: str | None = None) -> BoundaryPlan | gpd.GeoDataFrame:
    """Read a boundary input: a plan (folder or GeoPackage) as a plan, else one layer.

    Raises
    ------
    IncompleteOutputError
        A plan folder that is not whole (never read as loose files instead).
    """
    if is_plan(src):
        from beatplan.boundaries.outputs import read_plan

        return read_plan(src.path)
    return _read(src, crs)


def read_layer(src: BoundarySource, *, role: str, crs: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer of a boundary input; a plan gives its layer for ``role``.

    ``role`` is ``"wards"``, a level (``"beat"``, ``"sector"``, ``"npa"`` ...: the plan's layer of
    that level, its parents as columns; ``"finest"`` for its smallest level) or ``"force"``.
    """
    if not is_plan(src):
        return _read(src, crs)
    from beatplan.boundaries.outputs import layer_name, read_plan
    from beatplan.geo.errors import OptionError

    plan = read_plan(src.path)
    if role == "wards":
        return plan.wards
    level = plan.levels[0] if role == "finest" else role
    if level not in plan.layers:
        raise OptionError(
            f"{src}: the plan has no {layer_name(level)} layer (levels "
            f"{', '.join(plan.levels)}); name a layer as {src.path}:LAYER"
        )
    return plan.layers[level]


def plan_layers(areas: Any) -> Any:
    """Return a plan's layers by level, small to large (``{"beat": ...}``); else ``areas``."""
    from beatplan.boundaries.plan import BoundaryPlan

    if not isinstance(areas, BoundaryPlan):
        return areas
    return {lv: areas.layers[lv] for lv in areas.levels if lv in areas.layers}


def pick_area(areas: BoundaryPlan | gpd.GeoDataFrame, key: str, crs: Any) -> Any:
    """Return the polygon of the area whose id or name is ``key`` (any level), in ``crs``.

    Raises
    ------
    ValidationError
        No area has that id or name (the nearest ones are suggested).
    """
    from beatplan.maps._base import area_geometry, boundary_layers

    geom, _ = area_geometry(key, boundary_layers(areas, crs), crs)
    return geom


def _read(src: BoundarySource, crs: str | None) -> gpd.GeoDataFrame:
    """Read one layer; a layer of a plan (``plan:beats``) with the plan's own id and name."""
    from beatplan.boundaries.outputs import GPKG_NAME
    from beatplan.geo import read_boundaries

    path, id_col, name_col = src.path, src.id_col, src.name_col
    if src.layer is not None and is_plan(BoundarySource(path)):
        import pyogrio

        path = path / GPKG_NAME if path.is_dir() else path
        try:
            fields = set(pyogrio.read_info(path, layer=src.layer)["fields"])
        except Exception:  # noqa: BLE001 - read_boundaries reports a missing layer properly
            fields = set()
        # the plan's own id and name (its force layer has an id but no name)
        id_col = id_col or ("id" if "id" in fields or not fields else None)
        name_col = name_col or ("name" if "name" in fields or not fields else None)
    return read_boundaries(
        path, layer=src.layer, id_col=id_col, name_col=name_col, crs=crs, dissolve=src.dissolve
    )


# ------------------------------------------------------------------------- errors and notes
def parse_months(text: str | None) -> str | tuple[str, str] | None:
    """Read a months option: one month, or an inclusive range ``A..B`` (or ``A:B``).

    Shared by the command line (``--months``) and the service (``months=``).

    Examples
    --------
    >>> parse_months("2022-01..2022-03"), parse_months(" 2022-05 "), parse_months(None)
    (('2022-01', '2022-03'), '2022-05', None)
    """
    if text is None:
        return None
    for sep in ("..", ":"):
        if sep in text:
            lo, hi = text.split(sep, 1)
            return (lo.strip(), hi.strip())
    return text.strip()


def parse_types(values: str | tuple[str, ...]) -> list[str] | None:
    """Read crime types: repeated values and/or values separated by ``;`` (None for none).

    Examples
    --------
    >>> parse_types(("Burglary; Robbery", "Drugs")), parse_types("")
    (['Burglary', 'Robbery', 'Drugs'], None)
    """
    items = (values,) if isinstance(values, str) else values
    out = [t.strip() for v in items for t in v.split(";") if t.strip()]
    return out or None


def handle_errors(func: F) -> F:
    """Turn beatplan and system errors into one line on stderr and exit code 2.

    A traceback is shown only with ``-v``. An :class:`OSError` (a file that cannot be read or
    written) is said as ``path: reason``.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BeatplanError, OSError) as exc:
            ctx = click.get_current_context(silent=True)
            if ctx is not None and ctx.find_root().params.get("verbose", 0):
                raise
            click.echo(f"error: {_one_line(exc)}", err=True)
            sys.exit(ExitCode.BAD_INPUT)

    return wrapper  # type: ignore[return-value]


def _one_line(exc: BaseException) -> str:
    """Return the message of an error; a system error as ``path: reason``."""
    if isinstance(exc, OSError) and not isinstance(exc, BeatplanError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return f"{os.fsdecode(where)}: {exc.strerror}" if where else exc.strerror
    msg = str(exc)
    return msg.replace("\n", "\n  ") if "\n" in msg else msg


class _Hold(logging.Filter):
    """Hold back warning records (to be let through later, unless the command prints them)."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING:
            self.held.append(record)
            return False
        return True


@contextlib.contextmanager
def notes_once() -> Iterator[set[str]]:
    """Say each warning once: hold logged warnings back, then log those the command did not print.

    Library functions log their notes as warnings and also return them (a result's
    ``warnings``), which a command prints with its summary. Within the block warnings are held;
    the command adds the notes it printed to the set yielded, and at the end of the block the
    held warnings not among them are logged as usual (all of them after an error).
    """
    hold = _Hold()
    handlers = logging.getLogger().handlers
    for h in handlers:
        h.addFilter(hold)
    printed: set[str] = set()
    try:
        yield printed
    finally:
        for h in handlers:
            h.removeFilter(hold)
        for record in hold.held:
            if record.getMessage() not in printed:
                logging.getLogger(record.name).handle(record)


def share_of(text: str) -> float:
    """Read a share of the area, ``0.005`` or ``0.5%``; refuse a bare number above 0.2.

    Shared by the command line (``--coverage``) and the service (``coverage=``).

    Raises
    ------
    OptionError
        Not a number, a bare number above 0.2 (a likely percent), or not in (0, 1].

    Examples
    --------
    >>> share_of("0.005"), share_of(" 0.5% ")
    (0.005, 0.005)
    """
    from beatplan.geo.errors import OptionError
    from beatplan.hotspots.study_area import read_share

    t = text.strip()
    try:
        value = read_share(t)
    except ValueError as exc:
        raise OptionError(f"{text!r}: give a share (0.005) or a percent (0.5%)") from exc
    if not t.endswith("%") and value > 0.2:
        raise OptionError(
            f"{text!r} would cover {value:.0%} of the area: give a share (0.005) or a percent "
            f"with % ({t}%)"
        )
    if not (0 < value <= 1):  # NaN too
        raise OptionError(f"{text!r}: a share above 0 and at most 1")
    return value


def parse_share(text: str, what: str = "--coverage") -> float:
    """Parse a share of the area for an option (see :func:`share_of`)."""
    try:
        return share_of(text)
    except BeatplanError as exc:
        raise click.BadParameter(str(exc), param_hint=what) from exc


def parse_shares(text: str | None, what: str = "--coverage") -> list[float] | None:
    """Parse comma-separated shares (see :func:`parse_share`); None stays None."""
    if text is None:
        return None
    shares = [parse_share(c, what) for c in text.split(",") if c.strip()]
    if not shares:
        raise click.BadParameter("no coverage given", param_hint=what)
    return shares
