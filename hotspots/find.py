"""Find crime hotspots: filter the incidents, run one method, rank and describe the result.

Four methods, all computed in metres of a projected CRS:

``"gistar"``
    Incidents are binned to a grid; Getis-Ord Gi* over a distance band (analytic z,
    optionally conditional randomisation) with Benjamini–Hochberg false-discovery-rate
    control; connected significant hot cells are merged into one polygon per hotspot.
``"kde"``
    A quartic kernel density surface on the grid; the cells at least ``threshold`` times the
    mean cell density (or the densest ``top`` share of the area) are merged.

For both grid methods a hot cell must by default also stand out from its own surroundings
(``background``): a significant excess over the mean of a ring a few bands wide, so that a
busy town is not one sprawling hotspot but its peaks.
``"dbscan"``, ``"hdbscan"``
    Density clusters of the distinct locations, each weighted by its number of incidents
    (police.uk snaps many incidents to one map point); a cluster's polygon is a buffered
    hull containing its members. By default (``background``) only the locations whose
    ``eps`` neighbourhood passes the same local-background test are clustered, so a town
    is its peaks, not one cluster.

Every data-driven default is recorded in ``Hotspots.params["how"]`` with the rule and what it
found.
"""

from __future__ import annotations

import difflib
import logging
import math
import re
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from scipy import stats
from scipy.spatial import cKDTree

from beatplan.geo.crs import working_crs
from beatplan.geo.errors import (
    CRSError,
    EmptyInputError,
    GeometryError,
    OptionError,
    ValidationError,
    check_option,
)
from beatplan.hotspots.gistar import above_background, bh_reject, gi_star
from beatplan.hotspots.grid import (
    MAX_CELLS,
    Grid,
    default_cell,
    distinct_locations,
    extent,
    neighbour_scale,
    study_mask,
)
from beatplan.hotspots.kde import KERNELS, default_bandwidth, hot_cells, kde_surface
from beatplan.hotspots.result import RANK_BY, Hotspots, Surface, assemble, cell_polygons

__all__ = [
    "METHODS",
    "find_hotspots",
    "poisson_count",
    "prepare_incidents",
    "select_incidents",
]

log = logging.getLogger("beatplan")

METHODS = ("gistar", "kde", "dbscan", "hdbscan")
#: Distances below this many metres are taken to be degrees given by mistake.
_DEGREE_LIKE = 1.0
_PERIOD = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$", re.IGNORECASE)
_DAYS_PER_MONTH = 30.4375


# --------------------------------------------------------------------------- input


def prepare_incidents(incidents: Any, *, what: str = "incidents") -> gpd.GeoDataFrame:
    """Return the incident points as a GeoDataFrame in a projected CRS, checked.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or geopandas.GeoDataFrame
        A :func:`beatplan.geo.read_incidents` result, or any GeoDataFrame of points with a CRS. A
        geographic CRS is reprojected to the working CRS (:func:`beatplan.geo.crs.working_crs`).
    what : str
        Name used in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The caller's frame (or a reprojected copy), never modified.

    Raises
    ------
    CRSError
        No CRS.
    GeometryError
        Geometries that are missing, empty, not points, or with NaN coordinates; the message
        gives how many and the first index labels.
    EmptyInputError
        No incidents at all.
    """
    points = getattr(incidents, "points", incidents)
    if not isinstance(points, gpd.GeoDataFrame):
        raise ValidationError(
            what,
            [f"expected a beatplan.geo.Incidents result or a GeoDataFrame of points, found "
             f"{type(incidents).__name__}; read files with beatplan.geo.read_incidents(...)"],
        )  # fmt: skip
    if len(points) == 0:
        raise EmptyInputError(f"{what}: no incidents given (the table is empty)")
    if points.crs is None:
        raise CRSError(
            f"{what}: the points have no CRS; set it with .set_crs(...) (e.g. 'EPSG:4326' for "
            "lon/lat) or read them with beatplan.geo.read_incidents"
        )
    return _prepare(points, what)[0]


def _prepare(points: gpd.GeoDataFrame, what: str) -> tuple[gpd.GeoDataFrame, NDArray[np.float64]]:
    """Check the points (see :func:`prepare_incidents`) and return them with their x, y."""
    geom = np.asarray(points.geometry.values)
    xy = _xy(geom)  # NaN for anything but a non-empty point
    bad = ~(np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1]))
    missing = np.zeros(len(geom), dtype=bool)
    wrong = np.zeros(len(geom), dtype=bool)
    empty = np.zeros(len(geom), dtype=bool)
    if bad.any():  # classify only the unusable rows
        type_id = shapely.get_type_id(geom[bad])
        missing[bad] = type_id < 0
        wrong[bad] = type_id > 0
        empty[bad] = (type_id == 0) & shapely.is_empty(geom[bad])
    nan = bad & ~missing & ~wrong & ~empty
    problems = []
    for flag, text in (
        (missing, "have no geometry"),
        (empty, "have an empty geometry"),
        (nan, "have NaN or infinite coordinates"),
        (wrong, "are not Points"),
    ):
        if flag.any():
            labels = ", ".join(map(str, points.index[flag][:5]))
            more = ", ..." if flag.sum() > 5 else ""
            problems.append(f"{int(flag.sum()):,} incidents {text} (index {labels}{more})")
    if problems:
        raise GeometryError(
            f"{what}: " + "; ".join(problems) + "; drop them first (beatplan.read_incidents keeps "
            "such rows out, in its rejected table)"
        )
    crs = CRS.from_user_input(points.crs)
    if not crs.is_projected:
        target = working_crs(points)
        log.info("%s: reprojected from %s to %s", what, crs.to_string(), target.to_string())
        points = points.to_crs(target)
        xy = _coordinates(points)
    return points, xy


def _coordinates(points: gpd.GeoDataFrame) -> NDArray[np.float64]:
    """Return the x, y of point geometries as an (n, 2) array."""
    return _xy(np.asarray(points.geometry.values))


#: From this many points the x and the y are read in two threads (shapely releases the GIL).
_THREADED_XY = 200_000


def _xy(geom: NDArray[np.object_]) -> NDArray[np.float64]:
    """Return the x, y of an array of points, column-major (each coordinate contiguous).

    Column-major so that the per-column passes downstream (finite checks, extents, cell
    indices) read memory in order. Reading the coordinates out of a million shapely points
    is the largest cost left in :func:`find_hotspots`' grid methods, so for many points the
    two columns are read at once, in two threads.
    """
    try:
        return _read_xy(geom)
    except shapely.errors.GEOSException:  # GEOS refuses the x of an empty point: NaN it
        cleaned = geom.copy()
        cleaned[shapely.is_empty(geom)] = None
        return _read_xy(cleaned)


def _read_xy(geom: NDArray[np.object_]) -> NDArray[np.float64]:
    xy = np.empty((len(geom), 2), order="F")
    if len(geom) < _THREADED_XY:
        shapely.get_x(geom, out=xy[:, 0])
        shapely.get_y(geom, out=xy[:, 1])
        return xy
    failed: list[BaseException] = []

    def read_x() -> None:
        try:
            shapely.get_x(geom, out=xy[:, 0])
        except BaseException as exc:  # re-raised in the caller's thread
            failed.append(exc)

    worker = threading.Thread(target=read_x, name="beatplan-get-x")
    worker.start()
    try:
        shapely.get_y(geom, out=xy[:, 1])
    finally:
        worker.join()
    if failed:
        raise failed[0]
    return xy


def _metres(name: str, value: float | None, crs: CRS) -> float | None:
    """Check a distance given in metres; refuse degree-sized or non-positive values."""
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, [f"{name}={value!r} is not a number of metres"]) from exc
    if not (math.isfinite(v) and v > 0):
        raise ValidationError(name, [f"{name}={value!r} must be a positive number of metres"])
    if v < _DEGREE_LIKE:
        epsg = crs.to_epsg()
        raise CRSError(
            f"{name}={value!r} looks like degrees, but distances are in metres of the "
            f"projected CRS {'EPSG:' + str(epsg) if epsg else crs.name}; give it in metres "
            f"(e.g. {name}=100)"
        )
    return v


# --------------------------------------------------------------------------- filters


def _times(points: gpd.GeoDataFrame) -> tuple[pd.Series, bool]:
    """Each incident's date (timestamp, else month) and whether the data are monthly only."""
    ts = (
        pd.to_datetime(points["timestamp"], errors="coerce")
        if "timestamp" in points.columns
        else pd.Series(pd.NaT, index=points.index)
    )
    mo = (
        pd.to_datetime(points["month"], errors="coerce")
        if "month" in points.columns
        else pd.Series(pd.NaT, index=points.index)
    )
    when = ts.where(ts.notna(), mo)
    return when, bool(ts.isna().all())


def _month_start(value: Any, name: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            name, [f"{name}={value!r} is not a month or date (give e.g. '2022-05')"]
        ) from exc
    return pd.Timestamp(ts.year, ts.month, 1)


def select_incidents(
    points: gpd.GeoDataFrame,
    *,
    since: str | pd.Timestamp | None = None,
    months: Any = None,
    types: str | Sequence[str] | None = None,
    area: Any = None,
    xy: NDArray[np.float64] | None = None,
) -> tuple[NDArray[np.bool_], dict[str, Any], list[str]]:
    """Apply the date, crime-type and area filters; say what each one kept.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Incidents in a projected CRS (see :func:`prepare_incidents`).
    since : str or date, optional
        ``"28D"``, ``"6W"``, ``"3M"``, ``"1Y"``: the period up to the latest date in the data;
        or a date: incidents on or after it. police.uk data are monthly (no timestamps), so
        there a period is turned into whole months, ``round(days / 30.44)`` and at least
        one: ``"28D"`` and ``"31D"`` select the latest month, ``"90D"`` the latest three.
    months : str or (str, str), optional
        One month (``"2022-05"``) or an inclusive range (``("2022-01", "2022-03")``).
    types : str or list of str, optional
        Crime types to keep (the ``category`` column), matched exactly or ignoring case.
    area : shapely geometry, GeoSeries or GeoDataFrame, optional
        Keep incidents inside it (edge included). A GeoSeries/GeoDataFrame is reprojected
        and unioned; a bare geometry must be in the points' CRS.
    xy : ndarray, shape (n, 2), optional
        The points' coordinates, when already at hand.

    Returns
    -------
    keep : ndarray of bool
    params : dict
        The filters as applied (e.g. the months ``since`` resolved to).
    notes : list of str
        How each filter was applied, for ``params["how"]``.

    Raises
    ------
    EmptyInputError
        A filter left no incidents (the message names it and what the data hold).
    OptionError
        A crime type not in the data (the message lists the types present).
    """
    keep = np.ones(len(points), dtype=bool)
    applied: dict[str, Any] = {}
    notes: list[str] = []
    n0 = len(points)

    def narrow(
        sel: NDArray[np.bool_], what: str, fix: str, key: str, value: Any, note: str
    ) -> None:
        """Keep the incidents ``sel`` also selects, or say that the filter ``what`` empties."""
        if not (keep & sel).any():
            raise EmptyInputError(
                f"{what} selects none of the {int(keep.sum()):,} incidents left (of {n0:,}); {fix}"
            )
        keep[:] &= sel
        applied[key] = value
        notes.append(note)

    if since is not None or months is not None:
        when, monthly = _times(points)
        if when.isna().all():
            raise ValidationError(
                "incidents",
                ["since=/months= need dates, but the incidents have no 'month' or "
                 "'timestamp' values"],
            )  # fmt: skip
        known = when.notna().to_numpy()
        span = f"the data cover {when.min():%Y-%m} .. {when.max():%Y-%m}"
        if months is not None:
            if isinstance(months, str | pd.Timestamp):
                lo = hi = _month_start(months, "months")
            else:
                seq = list(months)
                if len(seq) != 2:
                    raise ValidationError(
                        "months", [f"months={months!r}: give one month or a (first, last) pair"]
                    )
                lo, hi = _month_start(seq[0], "months"), _month_start(seq[1], "months")
                if hi < lo:
                    raise ValidationError(
                        "months", [f"months={months!r}: the last month is before the first"]
                    )
            mstart = when.dt.to_period("M").dt.to_timestamp()
            sel = known & (mstart >= lo).to_numpy() & (mstart <= hi).to_numpy()
            text = f"{lo:%Y-%m}" if lo == hi else f"{lo:%Y-%m} .. {hi:%Y-%m}"
            narrow(sel, f"months={text}", span, "months", text, f"months: {text}")
        if since is not None:
            sel, text = _since(since, when, monthly)
            narrow(
                sel, f"since={since!r} ({text})", span, "since", text, f"since={since!r}: {text}"
            )
    if types is not None:
        wanted = [types] if isinstance(types, str) else list(types)
        if "category" not in points.columns or points["category"].isna().all():
            raise ValidationError(
                "incidents",
                ["types= needs crime types, but the incidents have no 'category' values; "
                 "read them with category='<column>'"],
            )  # fmt: skip
        cats = points["category"].astype("string")
        present = sorted(cats.dropna().unique().tolist())
        lower = {c.lower(): c for c in present}
        chosen, unknown = [], []
        for t in wanted:
            if t in present:
                chosen.append(t)
            elif str(t).lower() in lower:
                chosen.append(lower[str(t).lower()])
            else:
                unknown.append(t)
        if unknown:
            hints = []
            for t in unknown:
                close = difflib.get_close_matches(str(t), present, n=1, cutoff=0.5)
                hints.append(f"{t!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            raise OptionError(
                f"types: {', '.join(hints)} not among the crime types in the data; they are: "
                + "; ".join(present)
            )
        sel = cats.isin(chosen).fillna(False).to_numpy(dtype=bool)
        narrow(sel, f"types={chosen!r}", "choose other types or a wider window", "types", chosen,
               f"types: {', '.join(chosen)}")  # fmt: skip
    if area is not None:
        geom = _area_geometry(area, CRS.from_user_input(points.crs))
        if xy is None:
            xy = _coordinates(points)
        shapely.prepare(geom)
        box = shapely.box(*extent(xy))
        if shapely.contains(geom, box):  # every point inside: no need to test each
            sel = np.ones(len(xy), dtype=bool)
        else:
            sel = shapely.intersects_xy(geom, xy[:, 0], xy[:, 1])
        narrow(sel, "area=", "check that the area covers the incidents and shares their CRS",
               "area_km2", round(float(geom.area) / 1e6, 3),
               f"area: a polygon of {geom.area / 1e6:.3g} km²")  # fmt: skip
    return keep, applied, notes


def _since(since: Any, when: pd.Series, monthly: bool) -> tuple[NDArray[np.bool_], str]:
    latest = when.max()
    known = when.notna().to_numpy()
    m = _PERIOD.match(since) if isinstance(since, str) else None
    if m is None:
        try:
            start = pd.Timestamp(since)
        except (ValueError, TypeError) as exc:
            raise ValidationError(
                "since",
                [f"since={since!r} is neither a period ('28D', '6W', '3M', '1Y') nor a date"],
            ) from exc
        return known & (when >= start).to_numpy(), f"on or after {start:%Y-%m-%d}"
    n, unit = int(m.group(1)), m.group(2).lower()
    if n < 1:
        raise ValidationError("since", [f"since={since!r} must be at least one day"])
    if monthly:
        days = {"d": n, "w": 7 * n}.get(unit)
        count = (
            max(1, round(days / _DAYS_PER_MONTH)) if days is not None
            else n if unit == "m" else 12 * n
        )  # fmt: skip
        last = pd.Timestamp(latest.year, latest.month, 1)
        first = last - pd.DateOffset(months=count - 1)
        mstart = when.dt.to_period("M").dt.to_timestamp()
        sel = known & (mstart >= first).to_numpy()
        label = f"{first:%Y-%m}" if count == 1 else f"{first:%Y-%m} .. {last:%Y-%m}"
        return sel, f"the latest {count} month{'s' if count > 1 else ''} ({label}; monthly data)"
    delta: pd.Timedelta | pd.DateOffset = (
        pd.Timedelta(days=n) if unit == "d" else pd.Timedelta(weeks=n) if unit == "w"
        else pd.DateOffset(months=n) if unit == "m" else pd.DateOffset(years=n)
    )  # fmt: skip
    start = latest - delta
    return known & (when > start).to_numpy(), f"after {start:%Y-%m-%d %H:%M} (latest {latest})"


def _area_geometry(area: Any, crs: CRS) -> shapely.Geometry:
    if isinstance(area, gpd.GeoDataFrame | gpd.GeoSeries):
        if len(area) == 0:
            raise EmptyInputError("area: the area layer is empty")
        if area.crs is None:
            raise CRSError("area: the area layer has no CRS; set it with .set_crs(...)")
        if not CRS.from_user_input(area.crs).equals(crs):
            area = area.to_crs(crs)
        geom = shapely.union_all(area.geometry.values)
    elif isinstance(area, shapely.Geometry):
        geom = area
        b = geom.bounds
        lonlat = max(abs(b[0]), abs(b[2])) <= 180 and max(abs(b[1]), abs(b[3])) <= 90
        if crs.is_projected and lonlat:
            raise CRSError(
                "area: the polygon's coordinates look like lon/lat degrees but the incidents "
                f"are in {crs.to_string()}; pass a GeoSeries with its CRS, or reproject it"
            )
    else:
        raise ValidationError(
            "area", [f"expected a polygon, GeoSeries or GeoDataFrame, found {type(area).__name__}"]
        )
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            f"area: expected a (Multi)Polygon, found "
            f"{'nothing' if geom is None or geom.is_empty else geom.geom_type}"
        )
    return geom


# --------------------------------------------------------------------------- weights


def _weights(
    points: gpd.GeoDataFrame, weights: Any, halflife: str | None
) -> tuple[NDArray[np.float64] | None, list[str]]:
    notes: list[str] = []
    w: NDArray[np.float64] | None = None
    if weights is not None:
        if isinstance(weights, str):
            if weights not in points.columns:
                from beatplan.geo.errors import ColumnNotFoundError

                raise ColumnNotFoundError(
                    f"weights={weights!r}: no such column in the incidents; they have "
                    + ", ".join(map(str, points.columns))
                )
            w = pd.to_numeric(points[weights], errors="coerce").to_numpy(dtype=float)
            notes.append(f"weights: column {weights!r}")
        else:
            w = np.asarray(weights, dtype=float)
            if w.shape != (len(points),):
                raise ValidationError(
                    "weights",
                    [f"expected {len(points)} weights, one per incident, found {w.shape}"],
                )
            notes.append("weights: given per incident")
        bad = ~np.isfinite(w) | (w < 0)
        if bad.any():
            raise ValidationError(
                "weights",
                [f"{int(bad.sum()):,} weights are missing, negative or not numbers "
                 f"(index {', '.join(map(str, points.index[bad][:5]))})"],
            )  # fmt: skip
    if halflife is not None:
        m = _PERIOD.match(halflife) if isinstance(halflife, str) else None
        if m is None or int(m.group(1)) < 1:
            raise ValidationError(
                "halflife", [f"halflife={halflife!r}: give a period such as '30D', '2M'"]
            )
        n, unit = int(m.group(1)), m.group(2).lower()
        days = n * {"d": 1.0, "w": 7.0, "m": _DAYS_PER_MONTH, "y": 365.25}[unit]
        when, _ = _times(points)
        if when.isna().all():
            raise ValidationError("halflife", ["halflife= needs dates; the incidents have none"])
        age = (when.max() - when).dt.total_seconds().to_numpy() / 86400.0
        decay = np.where(np.isnan(age), 0.0, 0.5 ** (np.nan_to_num(age) / days))
        w = decay if w is None else w * decay
        notes.append(f"halflife: {halflife} ({days:g} days) before the latest date")
    return w, notes


# --------------------------------------------------------------------------- main


def find_hotspots(
    incidents: Any,
    *,
    method: str = "gistar",
    since: str | pd.Timestamp | None = None,
    months: Any = None,
    types: str | Sequence[str] | None = None,
    area: Any = None,
    boundaries: gpd.GeoDataFrame | Mapping[str, gpd.GeoDataFrame] | None = None,
    id_col: str = "id",
    cell: float | None = None,
    band: float | None = None,
    alpha: float = 0.05,
    fdr: bool = True,
    background: float | None = 4.0,
    permutations: int = 0,
    seed: int | np.random.Generator | None = None,
    bandwidth: float | str | None = None,
    kernel: str = "quartic",
    threshold: float = 3.0,
    top: float | None = None,
    eps: float | None = None,
    min_samples: float | None = None,
    min_cluster_size: int | None = None,
    buffer: float | None = None,
    weights: str | NDArray[np.float64] | None = None,
    halflife: str | None = None,
    min_incidents: int | None = None,
    rank_by: str = "excess",
    connectivity: int = 8,
    max_cells: int = MAX_CELLS,
) -> Hotspots:
    """Find hotspots in geocoded incidents.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or geopandas.GeoDataFrame
        Point incidents with a CRS; ``month``, ``timestamp`` and ``category`` columns are
        used when present. Lon/lat input is reprojected to the working CRS.
    method : {"gistar", "kde", "dbscan", "hdbscan"}
        See the module notes.
    since, months, types, area
        Filters; see :func:`select_incidents`.
    boundaries : GeoDataFrame or mapping, optional
        Areas to name for each hotspot (a ward table with ``beat``/``sector``/``npa``
        columns, a layer, or ``{"beat": beats, "npa": npas}``); see
        :func:`beatplan.hotspots.result.locate_in`.
    id_col : str
        Id column of ``boundaries``.
    cell : float, optional
        Grid cell side in metres (gistar, kde). Default: the mean nearest-neighbour distance
        between distinct incident locations, rounded to a nice number.
    band : float, optional
        Gi* distance band in metres. Default: the median distance from each distinct location
        to its 8th nearest, and at least one cell diagonal (so a cell's 8 neighbours count).
    alpha, fdr, permutations, seed
        Gi* (and ``background``) significance level, Benjamini–Hochberg control,
        conditional randomisation draws (0: analytic) and their seed. With FDR over many
        cells use many draws: the smallest pseudo p-value is 2 / (permutations + 1).
    background : float or None
        Gi* and KDE: a hot cell must also stand out from its own surroundings. Its
        neighbourhood (the cells within ``band``, or ``bandwidth`` for KDE) must hold
        significantly more incidents than a Poisson count at the mean of the ring out to
        ``background`` times that radius: one-sided at ``alpha``, with Benjamini–Hochberg
        over the region when ``fdr`` (see :func:`beatplan.hotspots.gistar.above_background`). Gi*
        and the KDE threshold compare every cell with the whole region's mean, so a town is
        one hot run of cells; this keeps the town's peaks and cuts the ordinary streets
        between them. Default 4; ``None`` for the method alone.

        DBSCAN and HDBSCAN: the same test picks the locations clustered: those whose
        cell's ``eps`` disc exceeds the mean of the ring out to ``background * eps``.
        DBSCAN's min_samples and the Poisson rules below compare with the whole region's
        mean, so without it a dense town is one cluster (53 km² for DBSCAN, 62 km² for
        HDBSCAN on Leicestershire, October 2022; 1.9 and 0.9 km² with it). HDBSCAN's
        clusters are also split where their members are more than ``eps`` apart.
    bandwidth : float or {"nn", "silverman"}, optional
        Kernel radius in metres or a rule (default ``"nn"``, see :mod:`beatplan.hotspots.kde`).
    kernel : {"quartic", "gaussian"}
    threshold, top
        KDE hot cells: density at least ``threshold`` x the mean cell of the study region, or
        the densest ``top`` share (0-1) of its area.
    eps, min_samples
        DBSCAN radius (metres; default as ``band``) and core weight (incidents within
        ``eps``, itself included). Default ``min_samples``: the smallest count that fewer
        than 0.1 % of ``eps``-discs would reach if the incidents were spread at random over
        the study region (Poisson), and at least 5; with ``background`` it applies to the
        locations that pass the background test.
    min_cluster_size : int, optional
        HDBSCAN's smallest cluster (incidents); default as DBSCAN's ``min_samples``.
    buffer : float, optional
        Metres added around a density cluster's hull; default half the default cell size.
    weights : str or array, optional
        A column (or array) of per-incident weights, e.g. harm weights; Gi*, KDE and the
        clusters run on weighted counts, while ``incidents`` still counts incidents.
    halflife : str, optional
        Weight incidents by recency: ``0.5 ** (age / halflife)``, e.g. ``"30D"``.
    min_incidents : int, optional
        A hotspot holds at least this many incidents. Default: the smallest count that fewer
        than 0.1 % of the method's neighbourhoods (a disc of radius ``band``,
        ``bandwidth`` or ``eps``) would reach if the incidents were spread at random over
        the study region (Poisson), and at least 5.
    rank_by : {"excess", "incidents", "density", "score"}
        Ranking of the hotspots. ``"excess"`` (default): incidents beyond what the hotspot's
        area would hold at the study region's mean density — a large sparse area ranks
        below a small busy one; ``"score"``: the method's peak z, density or cluster density.
    connectivity : {4, 8}
        Grid methods: hot cells touching by an edge (4) or also a corner (8) are one hotspot.
    max_cells : int
        Refuse grids larger than this.

    Returns
    -------
    Hotspots

    Raises
    ------
    beatplan.geo.errors.BeatplanError
        Bad input, each with a message saying what was expected and how to fix it: no CRS,
        NaN or missing locations, an empty selection, one incident, all incidents at one
        place, a distance that looks like degrees, an unknown method or crime type.

    Examples
    --------
    A small synthetic county (its incidents' true x/y in EPSG:27700):

    >>> import geopandas as gpd
    >>> from beatplan.geo import make_sample
    >>> county = make_sample(seed=1, n_wards=60, incidents=5000)
    >>> t = county.incident_truth.dropna(subset=["x"])
    >>> pts = gpd.GeoDataFrame({"category": county.incidents.loc[t.index, "Crime type"]},
    ...                        geometry=gpd.points_from_xy(t.x, t.y), crs=27700)
    >>> hs = find_hotspots(pts, method="gistar")
    >>> int(hs.areas["hotspot"].iloc[0]), len(hs.labels) == len(pts)
    (1, True)
    """
    check_option("method", method, METHODS)
    check_option("rank_by", rank_by, RANK_BY)
    check_option("kernel", kernel, KERNELS)
    original = getattr(incidents, "points", incidents)
    if not isinstance(original, gpd.GeoDataFrame):
        prepare_incidents(incidents)  # raises the message for a wrong type
    if len(original) == 0:
        raise EmptyInputError("incidents: no incidents given (the table is empty)")
    if original.crs is None:
        prepare_incidents(original)  # raises the no-CRS message
    points, xy_all = _prepare(original, "incidents")
    crs = CRS.from_user_input(points.crs)
    how: dict[str, str] = {}
    cell = _metres("cell", cell, crs)
    band = _metres("band", band, crs)
    eps = _metres("eps", eps, crs)
    buffer_m = _metres("buffer", buffer, crs)
    if isinstance(bandwidth, str):
        bw_rule: str | None = bandwidth
        bw: float | None = None
    else:
        bw_rule, bw = None, _metres("bandwidth", bandwidth, crs)
    if min_incidents is not None and min_incidents < 1:
        raise ValidationError("min_incidents", [f"min_incidents={min_incidents!r} must be >= 1"])

    keep, applied, notes = select_incidents(
        points, since=since, months=months, types=types, area=area, xy=xy_all
    )
    everything = bool(keep.all())
    sel = points if everything else points[keep]
    how["filters"] = "; ".join(notes) if notes else "none: every incident"
    n = len(sel)
    if n < 2:
        raise EmptyInputError(
            f"the selection holds 1 incident (of {len(points):,}); hotspots need at least 2 — "
            "widen the date window, types or area"
        )
    xy = xy_all if everything else xy_all[keep]
    ext = extent(xy)
    lo, hi = np.array(ext[:2]), np.array(ext[2:])
    if (lo == hi).all():
        raise EmptyInputError(
            f"all {n:,} selected incidents lie at one location ({lo[0]:.1f}, {lo[1]:.1f}); a "
            "hotspot stands out from its surroundings, so at least 2 distinct locations are "
            "needed (widen the selection)"
        )
    w, wnotes = _weights(sel, None if weights is None else _align(weights, original, keep),
                         halflife)  # fmt: skip
    if wnotes:
        how["weights"] = "; ".join(wnotes)
    area_geom = None if area is None else _area_geometry(area, crs)

    params: dict[str, Any] = {"method": method, "crs": crs.to_string(), **applied}
    params["incidents"] = n
    how["incidents"] = f"{n:,} of {len(points):,} incidents after the filters"

    clusters = method in ("dbscan", "hdbscan")
    needs_scale = (
        (method == "gistar" and band is None)
        or (method == "kde" and bw is None and (bw_rule or "nn") == "nn")
        or (clusters and eps is None)
    )
    needs_cell = cell is None or (clusters and buffer_m is None)
    unique = inverse = ucount = None
    tree = None
    if needs_scale or needs_cell or clusters:
        unique, inverse, ucount = distinct_locations(xy)
        params["locations"] = int(len(unique))
        if needs_scale or needs_cell:
            tree = cKDTree(unique)
    cell_default, cell_reason = 0.0, ""
    if needs_cell:
        assert unique is not None
        cell_default, cell_reason = default_cell(
            unique, max_cells=max_cells, distinct=True, tree=tree,
            bounds=(*lo, *hi) if area_geom is None else _union_bounds(area_geom.bounds, lo, hi),
        )  # fmt: skip
    if cell is None:
        cell = cell_default
        how["cell"] = cell_reason
    else:
        how["cell"] = "given"
    scale, scale_reason = 0.0, ""
    if needs_scale:
        assert unique is not None
        scale, scale_reason = neighbour_scale(unique, 8, distinct=True, tree=tree)

    messages: list[str] = []
    surface: Surface | None = None
    if background is not None and not (math.isfinite(float(background)) and float(background) > 1):
        raise ValidationError(
            "background",
            [f"background={background!r}: give the ring's radius in bands (bandwidths "
             "for kde, eps for dbscan/hdbscan), more than 1 (default 4), or None for the "
             "method alone"],
        )  # fmt: skip
    if method in ("gistar", "kde"):
        if method == "gistar":
            if band is None:
                band = max(scale, math.sqrt(2) * cell * (1 + 1e-6))
                how["band"] = scale_reason + (
                    f", raised to one cell diagonal ({band:.0f} m)" if band > scale else ""
                )
            else:
                how["band"] = "given"
            spec: dict[str, Any] = dict(band=band, alpha=alpha, fdr=fdr, background=background,
                                        permutations=permutations, seed=seed)  # fmt: skip
        else:
            if bw is None:
                rule = bw_rule or "nn"
                source = unique if rule == "nn" and unique is not None else xy
                bw, how["bandwidth"] = default_bandwidth(source, rule=rule, cell=cell)
            else:
                how["bandwidth"] = "given"
            spec = dict(bandwidth=bw, kernel=kernel, threshold=threshold, top=top,
                        background=background, alpha=alpha, fdr=fdr)  # fmt: skip
        raw, polygons, scores, surface = _grid_method(
            method, xy, w, cell=cell, area=area_geom, spec=spec, params=params, how=how,
            min_incidents=min_incidents, connectivity=connectivity, max_cells=max_cells,
        )  # fmt: skip
    else:
        if eps is None:
            eps = scale
            how["eps"] = scale_reason
        else:
            how["eps"] = "given"
        if buffer_m is None:
            buffer_m = cell_default / 2
            how["buffer"] = f"half the default cell ({cell_default:g} m)"
        else:
            how["buffer"] = "given"
        assert unique is not None and inverse is not None and ucount is not None
        raw, polygons, scores = _cluster_method(
            method, xy, w, unique=unique, inverse=inverse, ucount=ucount, eps=eps,
            min_samples=min_samples, min_cluster_size=min_cluster_size, buffer=buffer_m,
            cell=cell, area=area_geom, params=params, how=how, min_incidents=min_incidents,
            max_cells=max_cells, background=background, alpha=alpha, fdr=fdr,
        )  # fmt: skip
    params.update(rank_by=rank_by, connectivity=connectivity)
    if weights is not None:
        params["weights"] = weights if isinstance(weights, str) else "array"
    if halflife is not None:
        params["halflife"] = halflife
    for key in applied:
        how.setdefault(key, "given")
    source_crs = CRS.from_user_input(original.crs)
    how.setdefault(
        "crs",
        "the incidents' CRS"
        if source_crs.equals(crs)
        else f"the working CRS (the incidents are in {source_crs.to_string()})",
    )
    how.setdefault("locations", "distinct incident locations in the selection (counted)")
    for key in params:
        how.setdefault(key, "given" if key in ("method",) else "default")
    params["how"] = how
    result = assemble(
        sel, raw, polygons, scores=scores, input_index=original.index, keep=keep, params=params,
        min_incidents=params["min_incidents"], rank_by=rank_by, boundaries=boundaries,
        id_col=id_col,
        surface=surface, messages=messages,
    )  # fmt: skip
    log.info("%s: %d hotspots from %d incidents", method, len(result), n)
    return result


def _align(weights: Any, original: gpd.GeoDataFrame, keep: NDArray[np.bool_]) -> Any:
    """Subset an array of weights (one per input incident) to the selection."""
    if isinstance(weights, str):
        return weights
    arr = np.asarray(weights, dtype=float)
    if arr.shape != (len(original),):
        raise ValidationError(
            "weights", [f"expected {len(original)} weights, one per incident, found {arr.shape}"]
        )
    return arr[keep]


def _union_bounds(
    b: tuple[float, float, float, float], lo: NDArray[np.float64], hi: NDArray[np.float64]
) -> tuple[float, float, float, float]:
    lo = np.minimum(b[:2], lo)
    hi = np.maximum(b[2:], hi)
    return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))


def _grid_method(
    method: str,
    xy: NDArray[np.float64],
    w: NDArray[np.float64] | None,
    *,
    cell: float,
    area: shapely.Geometry | None,
    spec: dict[str, Any],
    params: dict[str, Any],
    how: dict[str, str],
    min_incidents: int | None,
    connectivity: int,
    max_cells: int,
) -> tuple[NDArray[np.int64], dict[int, Any], dict[int, float], Surface]:
    """Gi* or KDE on the grid: hot cells, their components, polygons and scores."""
    reach = float(spec["band"] if method == "gistar" else spec["bandwidth"])
    ext = extent(xy)
    lo, hi = np.array(ext[:2]), np.array(ext[2:])
    bounds = ext if area is None else _union_bounds(area.bounds, lo, hi)
    grid = Grid.covering(bounds, cell, pad=0 if area is not None else reach, max_cells=max_cells)
    flat = grid.locate(xy)
    counts = np.bincount(flat, minlength=grid.size).astype(float).reshape(grid.shape)
    values: NDArray[np.float64] = counts
    if w is not None:
        values = np.bincount(flat, weights=w, minlength=grid.size).astype(float)
        values = values.reshape(grid.shape)
    mask = study_mask(grid, area=area, occupied=counts > 0, reach=reach)
    how["region_km2"] = how["study_region"] = f"{int(mask.sum()):,} cells of {cell:g} m " + (
        "with their centre in the area"
        if area is not None
        else f"within {reach:.0f} m of an incident (no area given)"
    )
    if method == "gistar":
        seed = spec["seed"]
        gi = gi_star(
            values, cell=cell, band=reach, mask=mask, alpha=spec["alpha"], fdr=spec["fdr"],
            permutations=spec["permutations"], seed=seed,
        )  # fmt: skip
        hot, score_grid, name = gi.hot, gi.z, "z"
        hot = _background(hot, values, w, cell=cell, reach=reach, mask=mask, spec=spec, how=how,
                          what="Gi*")  # fmt: skip
        params.update(
            background=spec["background"], cell=cell, band=reach, alpha=spec["alpha"],
            fdr=spec["fdr"],
            permutations=spec["permutations"],
            seed=seed if isinstance(seed, int | None) else "Generator",
        )  # fmt: skip
        how["alpha"] = "default 0.05" if spec["alpha"] == 0.05 else "given"
        how["fdr"] = "Benjamini–Hochberg over the study region's cells" if spec["fdr"] else "off"
        how["permutations"] = (
            f"{spec['permutations']} conditional randomisations, seed {seed!r}"
            if spec["permutations"]
            else "none: analytic normal p-values"
        )
    else:
        density = kde_surface(values, cell=cell, bandwidth=reach, kernel=spec["kernel"])
        hot, value, reason = hot_cells(density, mask, threshold=spec["threshold"], top=spec["top"])
        hot = _background(hot, values, w, cell=cell, reach=reach, mask=mask, spec=spec, how=how,
                          what="KDE")  # fmt: skip
        score_grid, name = density, "density"
        params.update(
            cell=cell, bandwidth=reach, kernel=spec["kernel"], threshold=spec["threshold"],
            top=spec["top"], density_threshold=value, background=spec["background"],
            alpha=spec["alpha"], fdr=spec["fdr"],
        )  # fmt: skip
        how["threshold"] = reason
    region_area = float(mask.sum()) * grid.cell_area
    params["region_km2"] = round(region_area / 1e6, 6)
    min_incidents = _min_incidents(min_incidents, len(xy), reach, region_area, params, how)
    components, comp_polys = cell_polygons(
        grid, hot, connectivity=connectivity, counts=counts, min_incidents=min_incidents
    )
    flat_comp = components.ravel()
    ids = np.fromiter(comp_polys, dtype=np.int64, count=len(comp_polys))
    # component -> raw group (component - 1) when it has a polygon, else -1; per cell first,
    # then one gather per incident
    relabel = np.full(int(flat_comp.max()) + 1 if flat_comp.size else 1, -1, dtype=np.int64)
    relabel[ids] = ids - 1
    cell_raw = relabel[flat_comp]
    raw = cell_raw[flat]
    scores: dict[int, float] = {}
    if comp_polys:
        cells = np.flatnonzero(cell_raw >= 0)
        best = np.full(int(ids.max()) + 1, -np.inf)
        np.maximum.at(best, flat_comp[cells], score_grid.ravel()[cells])
        scores = {int(k) - 1: float(best[k]) for k in ids}
    polygons = {k - 1: v for k, v in comp_polys.items()}
    surface = Surface(
        grid=grid, mask=mask, counts=counts, values=values, score=score_grid, hot=hot, name=name
    )
    return raw, polygons, scores, surface


def _background(
    hot: NDArray[np.bool_],
    values: NDArray[np.float64],
    w: NDArray[np.float64] | None,
    *,
    cell: float,
    reach: float,
    mask: NDArray[np.bool_],
    spec: dict[str, Any],
    how: dict[str, str],
    what: str,
) -> NDArray[np.bool_]:
    """Keep the hot cells whose neighbourhood also stands out from its ring (see find_hotspots)."""
    ring = spec["background"]
    if ring is None:
        how["background"] = f"off: {what} alone"
        return hot
    # weighted counts: sum(w) / sum(w²) makes a compound-Poisson sum roughly Poisson
    scale = 1.0 if w is None else float(w.sum() / max(float((w * w).sum()), 1e-300))
    p_local = above_background(
        values, cell=cell, band=reach, ring=float(ring) * reach, mask=mask, scale=scale, at=hot
    )  # tested on the hot cells only
    if spec["fdr"]:  # over the region: the cells not tested count as p = 1 (stricter)
        local_ok = bh_reject(p_local, spec["alpha"], m=int(mask.sum()))
    else:
        local_ok = np.nan_to_num(p_local, nan=1.0) <= spec["alpha"]
    kept = hot & local_ok
    how["background"] = (
        f"hot cells whose {reach:.0f} m neighbourhood also exceeds the mean of the ring out to "
        f"{float(ring) * reach:.0f} m (Poisson, one-sided, at alpha"
        f"{' with Benjamini–Hochberg' if spec['fdr'] else ''}): {int(kept.sum()):,} of "
        f"{int(hot.sum()):,} {what} hot cells"
    )
    return np.asarray(kept)


def _cluster_method(
    method: str,
    xy: NDArray[np.float64],
    w: NDArray[np.float64] | None,
    *,
    unique: NDArray[np.float64],
    inverse: NDArray[np.int64],
    ucount: NDArray[np.int64],
    eps: float,
    min_samples: float | None,
    min_cluster_size: int | None,
    buffer: float,
    cell: float,
    area: shapely.Geometry | None,
    params: dict[str, Any],
    how: dict[str, str],
    min_incidents: int | None,
    max_cells: int,
    background: float | None,
    alpha: float,
    fdr: bool,
) -> tuple[NDArray[np.int64], dict[int, Any], dict[int, float]]:
    """DBSCAN or HDBSCAN on the distinct locations weighted by their incidents."""
    from beatplan.hotspots.dbscan import DensityClusters, dbscan, hdbscan
    from beatplan.hotspots.hulls import cluster_polygons

    ucw = (
        np.bincount(inverse, weights=w, minlength=len(unique))
        if w is not None
        else ucount.astype(float)
    )
    grid = Grid.covering(extent(xy), cell, pad=eps, max_cells=max_cells)
    region = study_mask(grid, area=area, occupied=grid.count(xy) > 0, reach=eps)
    region_area = float(region.sum()) * grid.cell_area
    params["region_km2"] = round(region_area / 1e6, 6)
    how["region_km2"] = f"the study region: {grid.cell:g} m cells " + (
        "with their centre in the area"
        if area is not None
        else f"within {eps:.0f} m of an incident"
    )
    mu = float(ucw.sum()) * math.pi * eps * eps / region_area
    poisson_ms = poisson_count(float(ucw.sum()), eps, region_area)
    if min_samples is None:
        min_samples = float(max(5, poisson_ms))
        how["min_samples"] = (
            f"smallest count reached by fewer than 0.1 % of {eps:.0f} m discs under complete "
            f"spatial randomness over the study region ({region_area / 1e6:.3g} km², mean "
            f"{mu:.3g} per disc): {poisson_ms}, at least 5"
        )
    else:
        how["min_samples"] = "given"
    if background is not None and grid.cell < eps / _TEST_CELLS_PER_EPS:
        # the background test needs the eps disc resolved by a few cells, not finer: on a
        # coarser grid (and its own study region) it costs far less on many points
        grid = Grid.covering(extent(xy), eps / _TEST_CELLS_PER_EPS, pad=eps, max_cells=max_cells)
        region = study_mask(grid, area=area, occupied=grid.count(unique) > 0, reach=eps)
    local = _local_peaks(
        unique, np.asarray(ucw, dtype=float), grid=grid, region=region, eps=eps,
        background=background, alpha=alpha, fdr=fdr, how=how,
        scale=1.0 if w is None else float(w.sum() / max(float((w * w).sum()), 1e-300)),
    )  # fmt: skip
    params.update(background=background, alpha=alpha, fdr=fdr)
    how["alpha"] = "default 0.05" if alpha == 0.05 else "given"
    how["fdr"] = ("Benjamini–Hochberg over the study region's cells" if fdr else "off") + (
        " (background test)" if background is not None else " (unused: no background test)"
    )
    if method == "dbscan":
        if local is None:
            clusters = dbscan(unique, eps=eps, min_samples=min_samples, weights=ucw)
        else:  # DBSCAN of the locations that stand out from their background
            lab = np.full(len(unique), -1, dtype=np.int64)
            if local.any():
                lab[local] = dbscan(
                    unique[local], eps=eps, min_samples=min_samples, weights=ucw[local]
                ).labels
            clusters = DensityClusters(labels=lab, core=lab >= 0)
        params.update(eps=eps, min_samples=min_samples, buffer=buffer)
    else:
        if w is not None:
            raise ValidationError(
                "hdbscan",
                ["HDBSCAN counts whole incidents per location; weights= and halflife= apply "
                 "to gistar, kde and dbscan only"],
            )  # fmt: skip
        if min_cluster_size is None:
            min_cluster_size = int(max(5, poisson_ms))
            how["min_cluster_size"] = "as DBSCAN's default min_samples: " + how["min_samples"]
        else:
            how["min_cluster_size"] = "given"
        ms = None if how["min_samples"] != "given" else int(min_samples)
        if local is None:
            clusters = hdbscan(
                unique, min_cluster_size=int(min_cluster_size), min_samples=ms, weights=ucw
            )
        else:  # the cluster tree of the locations that stand out from their background
            ulab_local = np.full(len(unique), -1, dtype=np.int64)
            if ucw[local].sum() >= min_cluster_size and local.sum() >= 2:
                sub = hdbscan(
                    unique[local], min_cluster_size=int(min_cluster_size), min_samples=ms,
                    weights=ucw[local],
                )  # fmt: skip
                # a hotspot is a patch: split each cluster where its members are further
                # than eps apart (eps-linked components, dbscan with every location core)
                patch = dbscan(unique[local], eps=eps, min_samples=1).labels
                key = np.where(sub.labels >= 0, sub.labels * (int(patch.max()) + 1) + patch, -1)
                kept = key >= 0
                ulab_local[np.flatnonzero(local)[kept]] = np.unique(key[kept], return_inverse=True)[
                    1
                ]
            clusters = DensityClusters(labels=ulab_local, core=ulab_local >= 0)
        params.update(min_cluster_size=int(min_cluster_size), min_samples=ms, buffer=buffer)
        how["min_samples"] = "given" if ms is not None else "HDBSCAN's default (min_cluster_size)"
    min_incidents = _min_incidents(min_incidents, len(xy), eps, region_area, params, how)
    ulab = np.asarray(clusters.labels, dtype=np.int64)
    raw = ulab[inverse]
    per = np.bincount(raw[raw >= 0], minlength=max(int(ulab.max()) + 1, 0))
    big = np.flatnonzero(per >= min_incidents)
    ulab = np.where(np.isin(ulab, big), ulab, -1)
    raw = ulab[inverse]
    polygons: dict[int, Any] = {}
    scores: dict[int, float] = {}
    if len(big):
        polys = cluster_polygons(unique, ulab, buffer=buffer)
        for key, geom in zip(polys.index, np.asarray(polys.values), strict=True):
            k = int(key)
            polygons[k] = geom
            a = float(shapely.area(geom))
            scores[k] = float(per[k] / a * 1e6) if a > 0 else math.inf
    return raw, polygons, scores


#: The background test of the density clusters runs on cells of at least eps / this.
_TEST_CELLS_PER_EPS = 4.0


def _local_peaks(
    unique: NDArray[np.float64],
    weight: NDArray[np.float64],
    *,
    grid: Grid,
    region: NDArray[np.bool_],
    eps: float,
    background: float | None,
    alpha: float,
    fdr: bool,
    scale: float,
    how: dict[str, str],
) -> NDArray[np.bool_] | None:
    """Locations whose ``eps`` neighbourhood stands out from its ring (None: no test).

    The grid methods' background test (:func:`beatplan.hotspots.gistar.above_background`) on the
    study grid, with ``eps`` as the band: a location qualifies when its cell's disc of
    radius ``eps`` holds significantly more incidents than a Poisson count at the mean of
    the ring out to ``background * eps`` (one-sided at ``alpha``, Benjamini–Hochberg over
    the study region's cells when ``fdr``). The grid's cells are the default cell, or
    ``eps / 4`` when that is larger.
    """
    if background is None:
        how["background"] = "off: every location clustered (the method alone)"
        return None
    values = grid.count(unique, weight)
    flat = grid.locate(unique)
    at = np.zeros(grid.size, dtype=bool)
    at[flat[flat >= 0]] = True
    ring = float(background) * eps
    p = above_background(
        values, cell=grid.cell, band=eps, ring=ring, mask=region, scale=scale,
        at=at.reshape(grid.shape),
    ).ravel()  # fmt: skip
    if fdr:  # over the region: cells not tested (no incident) count as p = 1
        ok = bh_reject(p, alpha, m=int(region.sum()))
    else:
        ok = np.nan_to_num(p, nan=1.0) <= alpha
    local = np.zeros(len(unique), dtype=bool)
    local[flat >= 0] = ok[flat[flat >= 0]]
    how["background"] = (
        f"clustered only the locations where the {eps:.0f} m neighbourhood of their "
        f"{grid.cell:g} m cell exceeds the mean of the ring out to {ring:.0f} m (Poisson, "
        f"one-sided, at alpha{' with Benjamini–Hochberg' if fdr else ''}), as for Gi*: "
        f"{int(local.sum()):,} of {len(unique):,} locations"
    )
    return local


def poisson_count(total: float, radius: float, region_area: float, p: float = 0.001) -> int:
    """Smallest count that fewer than ``p`` of discs of ``radius`` reach under randomness.

    With ``total`` incidents spread uniformly at random over ``region_area`` (m²), the count
    in a disc of radius ``radius`` is Poisson with mean ``total * pi * radius**2 /
    region_area``; the result is the smallest ``m`` with ``P(X >= m) < p``.

    Examples
    --------
    >>> poisson_count(1000, 100.0, 1e8)    # mean 0.31 per disc
    4
    """
    mu = float(total) * math.pi * radius * radius / max(region_area, 1e-9)
    return int(stats.poisson.isf(p, mu)) + 1


def _min_incidents(
    given: int | None,
    n: int,
    radius: float,
    region_area: float,
    params: dict[str, Any],
    how: dict[str, str],
) -> int:
    if given is not None:
        params["min_incidents"] = int(given)
        how["min_incidents"] = "given"
        return int(given)
    floor = poisson_count(n, radius, region_area)
    value = max(5, floor)
    params["min_incidents"] = value
    how["min_incidents"] = (
        f"smallest count reached by fewer than 0.1 % of {radius:.0f} m discs if the {n:,} "
        f"incidents were spread at random over the study region ({region_area / 1e6:.3g} km²): "
        f"{floor}, at least 5"
    )
    return value
