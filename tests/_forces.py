"""Real police data for the hotspot tests: incidents and the force's study area, read once.

Each loader takes the shared data folder (the ``shared_data`` fixture) and returns
``(incidents, study_area)``: a :class:`beatplan.geo.Incidents` and the force's areas (wards or
beats) as a GeoDataFrame in the incidents' CRS.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import pandas as pd

from beatplan.geo import Incidents, read_incidents

__all__ = ["bng_points", "chicago", "leicestershire", "northumbria", "with_far_points"]


@functools.cache
def leicestershire(root: Path) -> tuple[Incidents, gpd.GeoDataFrame]:
    """The police.uk street crime of a year (2021-11 .. 2022-10) and the 171 WD13 wards."""
    inc = read_incidents(root / "leicestershire_street_crime")
    folder = root / "leicestershire_boundaries" / "wd13_wards_by_lad"
    wards = pd.concat([gpd.read_file(p) for p in sorted(folder.glob("*.json"))])
    return inc, gpd.GeoDataFrame(wards, crs=wards.crs).to_crs(inc.crs)


@functools.cache
def northumbria(root: Path) -> tuple[Incidents, gpd.GeoDataFrame]:
    """The 2022 anti-social behaviour of Northumbria (11 months) and its 177 WD22 wards."""
    inc = read_incidents(root / "northumbria" / "northumbria_asb.tab")
    wards = gpd.read_file(root / "northumbria" / "northumbria_wards.gpkg")
    return inc, wards.to_crs(inc.crs)


@functools.cache
def chicago(root: Path) -> tuple[Incidents, gpd.GeoDataFrame]:
    """Chicago's aggravated assaults 2010-19 and its 277 police beats (lon/lat, as published)."""
    inc = read_incidents(root / "chicago" / "chicago_aggravated_assaults.csv.gz")
    beats = gpd.read_file(root / "chicago" / "police_beats_current.shp")
    return inc, beats.set_crs(4326, allow_override=True).to_crs(inc.crs)


def with_far_points(points: gpd.GeoDataFrame, n: int = 200, seed: int = 0) -> gpd.GeoDataFrame:
    """Return ``points`` with ``n`` incidents added 100-300 km from their median centre.

    Like the stray points of police.uk files: one incident each, spread over the months of
    the data, scattered over the country around the force.
    """
    import numpy as np
    import shapely

    rng = np.random.default_rng(seed)
    xy = shapely.get_coordinates(points.geometry.values)
    cx, cy = np.median(xy, axis=0)
    angle = rng.uniform(0, 2 * np.pi, n)
    dist = rng.uniform(100_000, 300_000, n)
    far = gpd.GeoDataFrame(
        {"month": rng.choice(points["month"].dropna().unique(), n)},
        geometry=gpd.points_from_xy(cx + dist * np.cos(angle), cy + dist * np.sin(angle)),
        crs=points.crs,
    )
    if "category" in points.columns:
        far["category"] = points["category"].iloc[:n].to_numpy()
    return pd.concat([points, far], ignore_index=True)


def bng_points(xy: object, months: object = None) -> gpd.GeoDataFrame:
    """Return points at ``xy`` (British National Grid metres), with a ``month`` when given."""
    import numpy as np

    arr = np.asarray(xy, dtype=float)
    cols = {} if months is None else {"month": pd.to_datetime(months)}
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(arr[:, 0], arr[:, 1]), crs=27700)
