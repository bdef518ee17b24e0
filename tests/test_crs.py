"""Tests for beatplan.geo.crs: the working-CRS policy, CRS plausibility checks, cached
transformers."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pytest
from pyproj import CRS, Transformer
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info
from shapely import Point, box

from beatplan.geo.crs import (
    BNG,
    check_crs_fits,
    lonlat_bounds,
    to_working,
    transformer,
    working_crs,
)
from beatplan.geo.crs import _utm_zone as utm_zone
from beatplan.geo.errors import CRSError


def lonlat(*points: tuple[float, float]) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(p) for p in points], crs=4326)


@pytest.mark.parametrize(
    ("points", "epsg"),
    [
        ([(-1.13, 52.63)], 27700),  # Leicester
        ([(-1.6, 54.97), (-5.05, 50.1)], 27700),  # Newcastle and Cornwall together
        ([(-87.63, 41.88)], 32616),  # Chicago
        ([(-118.25, 34.05)], 32611),  # Los Angeles
        ([(-5.93, 54.6)], 32630),  # Belfast: inside the GB box but not National Grid country
        ([(151.2, -33.87)], 32756),  # Sydney: southern hemisphere
    ],
)
def test_working_crs_policy(points: list[tuple[float, float]], epsg: int) -> None:
    assert working_crs(lonlat(*points)).to_epsg() == epsg


def test_working_crs_joint_extent_and_logging(caplog: pytest.LogCaptureFixture) -> None:
    leicester = lonlat((-1.13, 52.63)).to_crs(27700)
    paris = lonlat((2.35, 48.86))
    with caplog.at_level(logging.INFO, logger="beatplan"):
        assert working_crs(leicester).to_epsg() == 27700
        # together: outside GB, so the UTM zone of the joint box's centre (lon 0.61)
        assert working_crs(leicester, paris).to_epsg() == 32631
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "inside Great Britain" in text and "UTM" in text


def test_working_crs_named_and_defaults() -> None:
    assert working_crs(lonlat((-87.6, 41.8)), crs="EPSG:3435").to_epsg() == 3435
    with pytest.raises(CRSError, match="must be projected"):
        working_crs(crs=4326)
    with pytest.raises(CRSError, match="not a coordinate reference system"):
        working_crs(crs="EPSG:nonsense")
    assert working_crs().equals(BNG)  # nothing to judge by
    assert working_crs(gpd.GeoSeries([], crs=4326)).equals(BNG)
    with pytest.raises(CRSError, match=r"no CRS.*set_crs"):
        working_crs(gpd.GeoSeries([Point(0, 0)]))


def test_utm_zone_agrees_with_the_pyproj_database() -> None:
    """The cached zone table gives pyproj's own first answer, zone edges and corners included."""
    rng = np.random.default_rng(0)  # each reference query costs ~0.1 s: a few dozen points
    lons = np.concatenate([rng.uniform(-180, 180, 16), [-180.0, -84.0, -6.0, 0.0, 6.0, 180.0]])
    lats = np.concatenate([rng.uniform(-80, 84, 16), [0.0, 30.0, 54.5, 72.0, 56.0, -45.0]])
    special = [(3.0, 56.0), (6.0, 60.0), (9.0, 72.0), (21.0, 75.0), (33.0, 80.0), (0.0, 0.0)]
    for lon, lat in [*zip(lons.tolist(), lats.tolist(), strict=True), *special]:
        infos = query_utm_crs_info(
            datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat)
        )
        assert utm_zone(lon, lat) == (int(infos[0].code) if infos else None), (lon, lat)


def test_transformer_is_cached_and_correct() -> None:
    t = transformer(4326, 27700)
    assert transformer("EPSG:4326", CRS.from_epsg(27700)) is t  # same CRS, any spelling
    assert transformer(27700, 4326) is not t
    x, y = np.array([-1.13, -5.05]), np.array([52.63, 50.1])
    fresh = Transformer.from_crs(4326, 27700, always_xy=True)
    assert np.array_equal(np.array(t.transform(x, y)), np.array(fresh.transform(x, y)))
    with pytest.raises(CRSError, match="src="):
        transformer("nonsense", 27700)


def test_lonlat_bounds() -> None:
    b = (450_000.0, 300_000.0, 451_000.0, 301_000.0)
    west, south, east, north = lonlat_bounds(b, BNG)
    lon, lat = Transformer.from_crs(BNG, 4326, always_xy=True).transform(
        [b[0], b[0], b[2], b[2]], [b[1], b[3], b[1], b[3]]
    )
    # the box holds the four corners, and hardly more (edges are densified, not padded)
    assert west <= min(lon) and east >= max(lon) and south <= min(lat) and north >= max(lat)
    assert np.allclose(
        [west, south, east, north], [min(lon), min(lat), max(lon), max(lat)], atol=1e-4
    )
    assert lonlat_bounds((-1.0, 52.0, -0.5, 52.5), CRS.from_epsg(4326)) == (-1.0, 52.0, -0.5, 52.5)


@pytest.mark.parametrize(
    ("bounds", "epsg", "match"),
    [
        ((-1.2, 52.6, -1.1, 52.7), 27700, "look like lon/lat degrees"),
        ((450_000, 300_000, 451_000, 301_000), 4326, "which are not degrees"),
        ((-87.9, 41.6, -87.5, 42.0), 4236, "outside that CRS's area of use"),  # Hu Tzu Shan
        ((52.6, -1.2, 52.7, -1.1), 4326, "latitude and longitude in the wrong order"),
    ],
)
def test_check_crs_fits_finds_impossible_crs(
    bounds: tuple[float, float, float, float], epsg: int, match: str
) -> None:
    problem = check_crs_fits(bounds, CRS.from_epsg(epsg), what="wards.shp")
    assert problem is not None and problem.startswith("wards.shp:") and match in problem


@pytest.mark.parametrize(
    ("bounds", "epsg"),
    [
        ((450_000, 300_000, 451_000, 301_000), 27700),
        ((-87.9, 41.6, -87.5, 42.0), 4326),
        ((-1.2, 52.6, -1.1, 52.7), 4326),  # Leicester, the right way round
        ((-8.0, 50.0, 1.5, 55.0), 4326),  # in GB either way round: not called swapped
        ((float("nan"),) * 4, 27700),  # no extent: nothing to judge
    ],
)
def test_check_crs_fits_accepts_plausible_crs(
    bounds: tuple[float, float, float, float], epsg: int
) -> None:
    assert check_crs_fits(bounds, CRS.from_epsg(epsg)) is None


def test_to_working() -> None:
    layer = gpd.GeoDataFrame({"id": ["a"]}, geometry=[box(-1.2, 52.6, -1.1, 52.7)], crs=4326)
    out = to_working(layer, BNG)
    assert out.crs.equals(BNG) and layer.crs.to_epsg() == 4326  # a copy; the input kept
    assert to_working(out, BNG) is out
    with pytest.raises(CRSError, match="no CRS"):
        to_working(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), BNG)
