"""Prepare incident points for the hotspot methods: checked, projected, their x and y read once.

:func:`prepare_incidents` accepts a :func:`beatplan.geo.read_incidents` result or any
GeoDataFrame of points with a CRS, refuses missing, empty, non-point or NaN geometries (naming
their index), and reprojects lon/lat to the working CRS (metres). :func:`coordinates` reads
the x and y of many points at once (in two threads from :data:`THREADED_XY` points).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS

from beatplan.geo.crs import working_crs
from beatplan.geo.errors import CRSError, EmptyInputError, GeometryError, ValidationError

__all__ = ["THREADED_XY", "checked_points", "coordinates", "incident_points", "prepare_incidents"]

log = logging.getLogger("beatplan")

#: From this many points the x and the y are read in two threads (shapely releases the GIL).
THREADED_XY = 200_000


def incident_points(incidents: Any, *, what: str = "incidents") -> gpd.GeoDataFrame:
    """Return the GeoDataFrame of points behind ``incidents``, refusing any other input.

    Parameters
    ----------
    incidents : beatplan.geo.Incidents or geopandas.GeoDataFrame
    what : str
        Name used in messages.

    Returns
    -------
    geopandas.GeoDataFrame
        The caller's frame itself (``Incidents.points``), not checked further.

    Raises
    ------
    ValidationError
        Not a GeoDataFrame.
    EmptyInputError
        No rows.
    CRSError
        No CRS.
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
    return points


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
    return checked_points(incident_points(incidents, what=what), what)[0]


def checked_points(
    points: gpd.GeoDataFrame, what: str
) -> tuple[gpd.GeoDataFrame, NDArray[np.float64]]:
    """Check the points (see :func:`prepare_incidents`) and return them with their x, y.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        Points with a CRS.
    what : str
        Name used in messages.

    Returns
    -------
    points : geopandas.GeoDataFrame
        ``points``, or a copy reprojected to the working CRS when they are lon/lat.
    xy : ndarray, shape (n, 2)
        Their coordinates (see :func:`coordinates`).
    """
    geom = np.asarray(points.geometry.values)
    xy = _xy(geom)  # NaN for anything but a non-empty point
    _refuse_unusable(points, geom, xy, what)
    crs = CRS.from_user_input(points.crs)
    if not crs.is_projected:
        target = working_crs(points)
        log.info("%s: reprojected from %s to %s", what, crs.to_string(), target.to_string())
        points = points.to_crs(target)
        xy = coordinates(points)
    return points, xy


def _refuse_unusable(
    points: gpd.GeoDataFrame, geom: NDArray[np.object_], xy: NDArray[np.float64], what: str
) -> None:
    """Raise a GeometryError counting (and indexing) every kind of unusable point."""
    bad = ~(np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1]))
    if not bad.any():
        return
    missing = np.zeros(len(geom), dtype=bool)
    wrong = np.zeros(len(geom), dtype=bool)
    empty = np.zeros(len(geom), dtype=bool)
    type_id = shapely.get_type_id(geom[bad])  # classify only the unusable rows
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
    raise GeometryError(
        f"{what}: " + "; ".join(problems) + "; drop them first (beatplan.read_incidents keeps "
        "such rows out, in its rejected table)"
    )


def coordinates(points: gpd.GeoDataFrame) -> NDArray[np.float64]:
    """Return the x, y of point geometries as an (n, 2) array, column-major.

    Column-major so that the per-column passes downstream (finite checks, extents, cell
    indices) read memory in order. Reading the coordinates out of a million shapely points
    is the largest cost left in :func:`beatplan.hotspots.find_hotspots`' grid methods, so
    from :data:`THREADED_XY` points the two columns are read at once, in two threads. An
    empty point (or a missing geometry) gives NaN.

    Parameters
    ----------
    points : geopandas.GeoDataFrame

    Returns
    -------
    ndarray, shape (n, 2)
    """
    return _xy(np.asarray(points.geometry.values))


def _xy(geom: NDArray[np.object_]) -> NDArray[np.float64]:
    """Return the x, y of an array of points (see :func:`coordinates`)."""
    try:
        return _read_xy(geom)
    except shapely.errors.GEOSException:  # GEOS refuses the x of an empty point: NaN it
        cleaned = geom.copy()
        cleaned[shapely.is_empty(geom)] = None
        return _read_xy(cleaned)


def _read_xy(geom: NDArray[np.object_]) -> NDArray[np.float64]:
    xy = np.empty((len(geom), 2), order="F")
    if len(geom) < THREADED_XY:
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
