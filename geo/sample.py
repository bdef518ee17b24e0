"""A seeded synthetic county: two ward vintages, police areas on the old wards, a year of crime.

:func:`make_sample` builds a :class:`SampleCounty` in memory; :func:`write_sample` writes it as the
files a planner would receive (a GeoPackage of boundaries, handy GeoJSON copies, one police.uk
street-level CSV per month and the planted hotspots). The demo and the tests of every package use
it, so it is deterministic: the same seed gives byte-identical files, another seed another county.

Everything is in British National Grid (EPSG:27700), placed in the English Midlands (about
x 440-500 km, y 280-330 km). Nothing in it is real: the names are made up and the county is
"Sampleshire".

How it is built
---------------
1. An irregular outline (a noisy, star-shaped blob about 50 km across) and settlements: one city,
   a market town per district, a few more towns and villages. Their Gaussian kernels plus a rural
   floor make the population and crime density surfaces.
2. *Atoms*: a Voronoi tessellation of about 40 density-weighted points per ward, noded once with
   the outline and polygonized. Every area below is a union of atoms, so all layers share their
   edges exactly: each level is a gap- and overlap-free coverage and nests exactly in the one above.
3. Districts: an additively weighted (Apollonius) Voronoi of the city and the district towns in a
   smoothly warped plane, so edges wiggle; stray fragments join their best-connected neighbour.
4. New wards: seeds drawn by population in each district, relaxed by a few weighted Lloyd steps,
   labelled by nearest seed in another warped plane; old wards: the same seeds jittered, some
   dropped (merged wards) and some doubled (split wards), in a third warp. Old and new wards so
   overlap many-to-many, as ward vintages do after a boundary review.
5. Police areas on the old wards: NPAs follow districts (the city split in two, two pairs of small
   rural districts merged); sectors and beats cut each NPA into contiguous groups of wards by
   graph Voronoi regions on the ward adjacency graph (every part connected by construction).
6. Crime: background incidents drawn from the crime density surface with an urban/rural mix of
   the 14 police.uk crime types and a mild summer peak; 12-20 planted hotspots (persistent,
   emerging or summer-only, each with its own crime mix); all located incidents snapped to a fixed
   set of anonymous map points laid along synthetic streets ("On or near Church Lane"); about
   2.5 % of rows have no location; anti-social behaviour rows have no Crime ID and no outcome.

Examples
--------
>>> from geo.sample import make_sample
>>> county = make_sample(seed=7)
>>> len(county.npas), county.months[0]
(6, '2025-11')
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import Voronoi, cKDTree

from geo.crs import BNG, WGS84, transformer
from geo.errors import OptionError, OutputExistsError
from geo.write import write_layers

__all__ = [
    "COUNTY_NAME",
    "CRIME_TYPES",
    "DEFAULT_SEED",
    "FORCE_NAME",
    "POLICE_UK_COLUMNS",
    "SampleCounty",
    "make_sample",
    "write_sample",
]

log = logging.getLogger("beatplan")

DEFAULT_SEED = 20261122
COUNTY_NAME = "Sampleshire"
FORCE_NAME = "Sampleshire Police"

#: The header of a police.uk street-level crime CSV, in order.
POLICE_UK_COLUMNS = (
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
)

#: The 14 police.uk crime types (alphabetical, as police.uk lists them).
CRIME_TYPES = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
)
_T = {name: i for i, name in enumerate(CRIME_TYPES)}
_ASB = _T["Anti-social behaviour"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# --------------------------------------------------------------------------------------------
# vocabulary
# --------------------------------------------------------------------------------------------


def _words(text: str, sep: str | None = None) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split(sep) if w.strip())


_PREFIXES = _words(
    """Ash Ald Bar Bil Brad Bram Brook Burn Cal Chel Clay Cot Cran Dun Elm Fen Fox Glen Hal Har
    Hat Hol Ket Kings Lang Lea Long Mar Mel Mill Nor Oak Pen Ram Red Ros Sax Shep Stan Stow Sut
    Thorn Wal Well Whit Wil Wood Wor"""
)
_SUFFIXES = _words(
    "by bury borough field ford ham ley stone thorpe ton well wick worth cote den hurst stead "
    "ington"
)
_QUARTERS = _words(
    """Abbey|Castle|Market|Riverside|Parkside|Westgate|Northgate|Eastfield|Southfields|Priory|
    Cathedral|Canal|Station|Racecourse|Meadows|Hillcrest|Fairfield|Greenhill|Brookside|Highcross|
    Victoria|Albert Park|Freemen's|Orchard|St Mary's|St John's|Friar's|Beaumont|Fosse|Kingsway|
    Queensway|Millfield|Ravenhurst|Woodgate|Belmont|Westwood|Oakfield|Hollybank|Thornhill|
    Newfields""",
    "|",
)
_STREET_FIRST = _words(
    """Church Mill Station Victoria Queen's King's Park Oak Elm Meadow High Chapel School Manor
    Orchard Willow Beech Ash Hawthorn Cedar Albert George Main London Market Bridge Green Spring
    Windsor York Grange Chestnut Holly Laurel Rose Vicarage Rectory Abbey Castle Forest Hill Brook
    Cross Union Nelson Stanley Warwick Derby Gladstone Shakespeare Milton Tennyson Kingfisher
    Swallow Heron Lark Poplar Sycamore Linden Rowan Maple Larch Juniper Bramble Foxglove Primrose
    Clover Heather Lavender Thistle"""
)
_STREET_TYPE = _words(
    """Road Street Lane Close Avenue Drive Way Crescent Gardens Walk Court Place Grove Rise Terrace
    View Mews"""
)
# Location names police.uk uses for non-street map points.
_LANDMARKS = _words(
    """Parking Area|Supermarket|Petrol Station|Shopping Area|Sports/recreation Area|Nightclub|
    Pedestrian Subway|Further/higher Educational Building|Hospital|Police Station|
    Theatre/concert Hall|Bus/coach Station|Conference/exhibition Centre""",
    "|",
)
_COMPASS = _words("East|North East|North|North West|West|South West|South|South East", "|")
_COMPASS_CODE = _words("E NE N NW W SW S SE")
_EXTRA_QUALIFIERS = _words(
    """Park Fields Abbey Castle Meadows Green Hill Vale Brook Heath Grange Common Moor Bridge Rise
    Gate Cross Wharf Mill Lodge Court Manor Chase Dale Spinney Wood Croft Leys Ings Holme"""
)

# Crime-type shares of a typical English force (police.uk, 2022-24), ASB included.
_TYPE_BASE = {
    "Anti-social behaviour": 0.155,
    "Bicycle theft": 0.012,
    "Burglary": 0.042,
    "Criminal damage and arson": 0.085,
    "Drugs": 0.028,
    "Other crime": 0.022,
    "Other theft": 0.075,
    "Possession of weapons": 0.009,
    "Public order": 0.095,
    "Robbery": 0.008,
    "Shoplifting": 0.06,
    "Theft from the person": 0.009,
    "Vehicle crime": 0.06,
    "Violence and sexual offences": 0.34,
}
# Multipliers at the urban extreme and at the rural extreme (interpolated in log space).
_TYPE_URBAN = {
    "Shoplifting": 1.7,
    "Theft from the person": 2.2,
    "Robbery": 2.0,
    "Drugs": 1.5,
    "Public order": 1.15,
    "Bicycle theft": 1.4,
    "Possession of weapons": 1.4,
}
_TYPE_RURAL = {
    "Burglary": 1.4,
    "Vehicle crime": 1.4,
    "Other theft": 1.35,
    "Criminal damage and arson": 1.1,
    "Shoplifting": 0.35,
    "Theft from the person": 0.3,
    "Robbery": 0.35,
    "Drugs": 0.6,
    "Bicycle theft": 0.6,
    "Possession of weapons": 0.6,
}
_PROFILES: dict[str, dict[str, float]] = {
    "night-time economy": {
        "Violence and sexual offences": 0.45,
        "Public order": 0.2,
        "Theft from the person": 0.08,
        "Drugs": 0.08,
        "Criminal damage and arson": 0.05,
        "Robbery": 0.04,
        "Possession of weapons": 0.03,
        "Anti-social behaviour": 0.05,
        "Other theft": 0.02,
    },
    "retail": {
        "Shoplifting": 0.5,
        "Theft from the person": 0.08,
        "Public order": 0.1,
        "Violence and sexual offences": 0.12,
        "Anti-social behaviour": 0.08,
        "Other theft": 0.06,
        "Bicycle theft": 0.03,
        "Robbery": 0.03,
    },
    "anti-social behaviour": {
        "Anti-social behaviour": 0.55,
        "Criminal damage and arson": 0.15,
        "Public order": 0.1,
        "Violence and sexual offences": 0.1,
        "Drugs": 0.05,
        "Other theft": 0.05,
    },
    "burglary": {
        "Burglary": 0.45,
        "Vehicle crime": 0.25,
        "Criminal damage and arson": 0.1,
        "Other theft": 0.1,
        "Bicycle theft": 0.05,
        "Violence and sexual offences": 0.05,
    },
    "drugs": {
        "Drugs": 0.4,
        "Possession of weapons": 0.1,
        "Violence and sexual offences": 0.2,
        "Public order": 0.1,
        "Anti-social behaviour": 0.1,
        "Robbery": 0.05,
        "Other crime": 0.05,
    },
}
_PROFILE_LANDMARK = {
    "night-time economy": "Nightclub",
    "retail": "Shopping Area",
    "anti-social behaviour": "Sports/recreation Area",
    "burglary": None,
    "drugs": "Bus/coach Station",
}
_OUTCOMES = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Local resolution",
    "Awaiting court outcome",
    "Status update unavailable",
    "Action to be taken by another organisation",
    "Court result unavailable",
    "Formal action is not in the public interest",
    "Further action is not in the public interest",
    "Further investigation is not in the public interest",
    "Offender given a caution",
    "Offender given a drugs possession warning",
)
_OUTCOME_GENERAL = np.array(
    [0.38, 0.36, 0.09, 0.05, 0.035, 0.02, 0.014, 0.014, 0.013, 0.008, 0.008, 0.006, 0.0]
)
# Drugs and weapons possession: a suspect is known by construction.
_OUTCOME_SUSPECT = np.array(
    [0.03, 0.12, 0.1, 0.3, 0.15, 0.02, 0.01, 0.05, 0.05, 0.02, 0.0, 0.08, 0.07]
)
_UNDER_INVESTIGATION = 2


# --------------------------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleCounty:
    """The synthetic county :func:`make_sample` returns (all geometry in EPSG:27700).

    Attributes
    ----------
    seed : int
        The seed it was made from.
    months : tuple of str
        The months covered, ``"YYYY-MM"``, oldest first.
    outline : shapely.Polygon
        The county; exactly the union of the wards of either vintage.
    districts : GeoDataFrame
        ``id`` (``E079…``), ``name``, ``population``, ``geometry``.
    wards_new : GeoDataFrame
        The current wards: ``id`` (``E059…``), ``name``, ``district``, ``population``,
        ``geometry``; nested in ``districts``.
    wards_old : GeoDataFrame
        The previous vintage, the police hierarchy table of the data contracts: ``id``
        (``E058…``), ``name``, ``district``, ``population``, ``beat``, ``sector``, ``npa``,
        ``geometry``.
    beats, sectors, npas : GeoDataFrame
        The police areas, each an exact union of old wards: beats ``id`` (``B01`` …), ``name``,
        ``sector``, ``npa``; sectors ``id`` (``S01`` …), ``name``, ``npa``; NPAs ``id``
        (``NPA-N`` …), ``name``.
    incidents : DataFrame
        Every incident row in police.uk street-CSV form (the 12 columns of
        :data:`POLICE_UK_COLUMNS`, in file order: month by month, each month as its file holds
        it). Blank cells are ``<NA>``; ``Longitude``/``Latitude`` are floats rounded to 6 decimals.
    incident_truth : DataFrame
        Aligned with ``incidents``: ``file`` (the monthly CSV's name), ``row`` (1-based data row in
        that file), ``hotspot`` (planted hotspot id or ``<NA>`` for background), ``x``, ``y``
        (the snapped point in EPSG:27700; NaN without a location).
    hotspots_truth : GeoDataFrame
        The planted hotspots: ``id``, ``kind`` (``persistent``, ``emerging``, ``seasonal``),
        ``profile`` (its crime mix), ``x``, ``y``, ``radius_m`` (86 % of its incidents fall
        within it before snapping), ``incidents`` (located rows it produced), ``months_active``,
        ``first_month``, ``last_month``, ``main_type``, ``geometry`` (its centre).
    """

    seed: int
    months: tuple[str, ...]
    outline: shapely.Polygon
    districts: gpd.GeoDataFrame
    wards_new: gpd.GeoDataFrame
    wards_old: gpd.GeoDataFrame
    beats: gpd.GeoDataFrame
    sectors: gpd.GeoDataFrame
    npas: gpd.GeoDataFrame
    incidents: pd.DataFrame
    incident_truth: pd.DataFrame
    hotspots_truth: gpd.GeoDataFrame

    @staticmethod
    def csv_name(month: str) -> str:
        """Return the police.uk-style file name of ``month`` (``"2025-11-sample-street.csv"``)."""
        return f"{month}-sample-street.csv"

    def monthly(self) -> dict[str, pd.DataFrame]:
        """Return each month's rows (police.uk columns, RangeIndex) keyed by their file name."""
        files = self.incident_truth["file"].to_numpy()
        out = {}
        for month in self.months:
            name = self.csv_name(month)
            out[name] = self.incidents.loc[files == name].reset_index(drop=True)
        return out

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the boundary layers by their GeoPackage layer name, outline included."""
        outline = gpd.GeoDataFrame(
            {"id": ["county"], "name": [COUNTY_NAME]}, geometry=[self.outline], crs=BNG
        )
        return {
            "wards_old": self.wards_old,
            "wards_new": self.wards_new,
            "districts": self.districts,
            "beats": self.beats,
            "sectors": self.sectors,
            "npas": self.npas,
            "outline": outline,
        }

    def write(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> dict[str, Path]:
        """Write the county's files into ``out_dir``; see :func:`write_sample`."""
        return _write(self, Path(out_dir), overwrite=overwrite)


# --------------------------------------------------------------------------------------------
# small geometric helpers
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Warp:
    """A smooth displacement (a sum of plane waves) with gradient below 1: a homeomorphism."""

    directions: FloatArray  # (k, 2) unit vectors
    wavenumbers: FloatArray  # (k,)
    amplitudes: FloatArray  # (k,)
    phases: FloatArray  # (2, k)

    @classmethod
    def random(cls, rng: np.random.Generator, amplitude: float, wavelength: float) -> _Warp:
        k = 4
        ang = rng.uniform(0, 2 * np.pi, k)
        wn = 2 * np.pi / (wavelength * rng.uniform(0.7, 1.4, k))
        amp = np.minimum(amplitude / k * rng.uniform(0.6, 1.4, k), 0.8 / (k * wn))
        return cls(np.c_[np.cos(ang), np.sin(ang)], wn, amp, rng.uniform(0, 2 * np.pi, (2, k)))

    def __call__(self, xy: FloatArray) -> FloatArray:
        proj = (xy @ self.directions.T) * self.wavenumbers
        dx = (self.amplitudes * np.sin(proj + self.phases[0])).sum(axis=1)
        dy = (self.amplitudes * np.sin(proj + self.phases[1])).sum(axis=1)
        return xy + np.c_[dx, dy]


def _sqdist(a: FloatArray, b: FloatArray) -> FloatArray:
    return (a[:, 0, None] - b[None, :, 0]) ** 2 + (a[:, 1, None] - b[None, :, 1]) ** 2


def _uniform_in(rng: np.random.Generator, poly: shapely.Geometry, n: int) -> FloatArray:
    """``n`` points uniform in ``poly`` by rejection from its bounding box."""
    minx, miny, maxx, maxy = poly.bounds
    ratio = poly.area / ((maxx - minx) * (maxy - miny))
    out: list[FloatArray] = [np.empty((0, 2))]
    have = 0
    while have < n:
        m = int((n - have) / ratio * 1.2) + 16
        xy = np.c_[rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)]
        xy = xy[shapely.contains_xy(poly, xy[:, 0], xy[:, 1])]
        out.append(xy)
        have += len(xy)
    return np.concatenate(out)[:n]


def _spread(
    candidates: FloatArray,
    n: int,
    min_dist: float,
    existing: FloatArray | None = None,
) -> FloatArray:
    """Take up to ``n`` candidates, greedily, ``min_dist`` apart and from ``existing``."""
    taken = np.empty((0, 2)) if existing is None else np.asarray(existing, dtype=float)
    start = len(taken)
    for p in candidates:  # a few hundred candidates at most
        if len(taken) - start >= n:
            break
        if len(taken) == 0 or np.min(np.hypot(*(taken - p).T)) >= min_dist:
            taken = np.vstack([taken, p])
    return taken[start:]


def _compass_index(dx: FloatArray, dy: FloatArray) -> IntArray:
    ang = np.arctan2(dy, dx)
    return np.asarray(np.round(ang / (np.pi / 4)).astype(np.int64) % 8)


def _allocate(
    weights: NDArray[Any], total: int, minimum: int, maximum: NDArray[Any] | None = None
) -> IntArray:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder), bounded."""
    n = len(weights)
    cap = np.full(n, total, dtype=np.int64) if maximum is None else np.asarray(maximum, np.int64)
    low = np.minimum(np.full(n, minimum, dtype=np.int64), cap)
    out = low.copy()
    for _ in range(n + 1):
        rem = total - int(out.sum())
        free = out < cap
        if rem <= 0 or not free.any():
            break
        w = np.where(free, np.asarray(weights, float), 0.0)
        quota = rem * w / w.sum()
        add = np.minimum(np.floor(quota).astype(np.int64), cap - out)
        left = rem - int(add.sum())
        if left > 0:
            frac = np.where(free & (out + add < cap), quota - np.floor(quota), -1.0)
            order = np.argsort(-frac, kind="stable")[:left]
            add[order[frac[order] >= 0]] += 1
        out += add
    return out


# --------------------------------------------------------------------------------------------
# outline, settlements, density
# --------------------------------------------------------------------------------------------
def _outline(rng: np.random.Generator) -> shapely.Polygon:
    """Draw the county: a star-shaped blob, an ellipse with random lobes and a wiggly (1/f) edge."""
    cx = 470_000 + rng.uniform(-4000, 4000)
    cy = 305_000 + rng.uniform(-3000, 3000)
    t = np.linspace(0, 2 * np.pi, 1440, endpoint=False)
    a, b, rot = rng.uniform(22_000, 26_000), rng.uniform(17_500, 20_500), rng.uniform(-0.4, 0.4)
    tt = t - rot
    r = a * b / np.sqrt((b * np.cos(tt)) ** 2 + (a * np.sin(tt)) ** 2)
    j = np.arange(2, 241)
    amp = 0.25 * j**-1.35 * rng.uniform(0.3, 1.7, j.size)
    phase = rng.uniform(0, 2 * np.pi, j.size)
    noise = (amp[:, None] * np.cos(j[:, None] * t + phase[:, None])).sum(axis=0)
    r = r * np.exp(np.clip(noise, -0.7, 0.7))
    poly = shapely.Polygon(np.round(np.c_[cx + r * np.cos(t), cy + r * np.sin(t)]))
    if not poly.is_valid:  # star-shaped with r > 0: cannot happen; guard the invariant anyway
        raise RuntimeError("internal error: the generated county outline is not a valid polygon")
    return poly


@dataclass(frozen=True)
class _Places:
    """Settlements (city, towns, villages) and their Gaussian population kernels."""

    xy: FloatArray
    sigma: FloatArray
    weight: FloatArray  # share of the county's population
    kind: NDArray[np.str_]
    name: NDArray[np.str_]
    floor_share: float
    area: float

    def density(self, xy: FloatArray, *, floor_share: float | None = None) -> FloatArray:
        """Return the population share per m² at ``xy`` (crime: pass another rural floor)."""
        floor = self.floor_share if floor_share is None else floor_share
        w = self.weight * ((1 - floor) / self.weight.sum())
        d2 = _sqdist(xy, self.xy)
        k = w / (2 * np.pi * self.sigma**2) * np.exp(-d2 / (2 * self.sigma**2))
        return np.asarray(floor / self.area + k.sum(axis=1))

    def sample(
        self,
        rng: np.random.Generator,
        n: int,
        poly: shapely.Geometry,
        *,
        floor_share: float,
        spread: float = 1.0,
    ) -> FloatArray:
        """Draw ``n`` points from the kernel mixture (plus a uniform floor) inside ``poly``.

        Only kernels centred inside ``poly`` are used; ``spread`` widens every kernel.
        """
        use = shapely.contains_xy(poly, self.xy[:, 0], self.xy[:, 1])
        w = np.where(use, self.weight, 0.0)
        p = np.r_[floor_share, (1 - floor_share) * w / w.sum()]
        comp = rng.choice(p.size, size=n, p=p)
        out = np.empty((n, 2))
        floor = comp == 0
        out[floor] = _uniform_in(rng, poly, int(floor.sum()))
        todo = np.flatnonzero(~floor)
        for _ in range(50):  # rejection; kernels are centred inside, so few rounds
            if not todo.size:
                break
            c = comp[todo] - 1
            out[todo] = (
                self.xy[c] + rng.normal(size=(todo.size, 2)) * (self.sigma[c] * spread)[:, None]
            )
            todo = todo[~shapely.contains_xy(poly, out[todo, 0], out[todo, 1])]
        out[todo] = self.xy[comp[todo] - 1]  # vanishingly rare: the kernel's centre
        return out


def _place_names(rng: np.random.Generator, n: int) -> NDArray[np.str_]:
    combos = np.array([p + s for p in _PREFIXES for s in _SUFFIXES if p + s not in _QUARTERS])
    return np.asarray(rng.choice(combos, size=n, replace=False))


def _settlements(
    rng: np.random.Generator, outline: shapely.Polygon, n_districts: int
) -> tuple[_Places, FloatArray]:
    """Place the city, a town per rural district (returned as district seats too), villages."""
    centre = np.array(outline.centroid.coords[0])
    city = centre + rng.uniform(-2500, 2500, 2)
    n_rural = n_districts - 1
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n_rural) / n_rural
    angles = angles + rng.uniform(-0.4, 0.4, n_rural) * np.pi / n_rural
    inner = outline.buffer(-3000)
    seats = []
    for ang in angles:  # one ray per district
        ray = shapely.LineString([city, city + 200_000 * np.array([np.cos(ang), np.sin(ang)])])
        hit = ray.intersection(outline.boundary)
        reach = min(np.hypot(*(np.asarray(shapely.get_coordinates(hit)) - city).T))
        p = city + rng.uniform(0.42, 0.68) * reach * np.array([np.cos(ang), np.sin(ang)])
        if not inner.contains(shapely.Point(p)):
            p = np.array(shapely.get_coordinates(shapely.shortest_line(inner, shapely.Point(p)))[0])
        seats.append(p)
    seats_xy = np.array(seats)
    more_towns = _spread(_uniform_in(rng, inner, 400), 2, 9000, np.vstack([city, seats_xy]))
    towns = np.vstack([seats_xy, more_towns])
    villages = _spread(
        _uniform_in(rng, outline.buffer(-600), 1500), 36, 2600, np.vstack([city, towns])
    )
    xy = np.vstack([city, towns, villages])
    n_t, n_v = len(towns), len(villages)
    kind = np.array(["city"] + ["town"] * n_t + ["village"] * n_v)
    sigma = np.r_[rng.uniform(2200, 2600), rng.uniform(600, 1000, n_t), rng.uniform(120, 260, n_v)]
    tw = rng.uniform(0.6, 1.4, n_t)
    vw = rng.uniform(0.6, 1.4, n_v)
    weight = np.r_[0.42, 0.30 * tw / tw.sum(), 0.10 * vw / vw.sum()]
    names = _place_names(rng, len(xy))
    places = _Places(xy, sigma, weight, kind, names, floor_share=0.18, area=outline.area)
    return places, np.vstack([city, seats_xy])


# --------------------------------------------------------------------------------------------
# atoms: the one tessellation everything is built from
# --------------------------------------------------------------------------------------------
def _atoms(rng: np.random.Generator, outline: shapely.Polygon, places: _Places, n: int) -> Any:
    """Tessellate ``outline`` into about ``n`` cells, finer where people live.

    The Voronoi edges of density-weighted points are noded once with the outline's boundary and
    polygonized, so neighbouring cells share identical edges (an exact coverage).
    """
    xy = places.sample(rng, n, outline, floor_share=0.4, spread=1.6)
    minx, miny, maxx, maxy = outline.bounds
    ang = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    far = np.c_[(minx + maxx) / 2 + 1e5 * np.cos(ang), (miny + maxy) / 2 + 1e5 * np.sin(ang)]
    vor = Voronoi(np.r_[xy, far])
    rv = np.asarray(vor.ridge_vertices)
    seg = vor.vertices[rv[(rv >= 0).all(axis=1)]]
    edges = shapely.multilinestrings(shapely.linestrings(seg))
    noded = shapely.union_all([edges, outline.boundary])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    faces = faces[shapely.contains_xy(outline, rep[:, 0], rep[:, 1])]
    # a stable order (polygonize's order is deterministic, but sorting makes it obvious)
    c = shapely.get_coordinates(shapely.point_on_surface(faces))
    order = np.lexsort((c[:, 0], c[:, 1]))
    return faces[order]


def _adjacency(polys: Any) -> sparse.csr_matrix:
    """Shared boundary length between polygons of an exact coverage (symmetric CSR)."""
    rings, owner = shapely.get_rings(polys, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    who = owner[ring_of[:-1][same]]
    swap = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    lo = np.where(swap[:, None], b, a)
    hi = np.where(swap[:, None], a, b)
    _, inv = np.unique(np.c_[lo, hi], axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    length = np.hypot(*(hi - lo).T)
    order = np.argsort(inv, kind="stable")
    inv_s, who_s, len_s = inv[order], who[order], length[order]
    pair = np.flatnonzero(inv_s[1:] == inv_s[:-1])
    i, j, w = who_s[pair], who_s[pair + 1], len_s[pair]
    keep = i != j
    n = len(polys)
    m = sparse.coo_matrix(
        (np.r_[w[keep], w[keep]], (np.r_[i[keep], j[keep]], np.r_[j[keep], i[keep]])), shape=(n, n)
    )
    return m.tocsr()


def _make_contiguous(
    labels: IntArray, parent: IntArray, adj: sparse.csr_matrix, area: FloatArray
) -> IntArray:
    """Make every label one edge-connected piece.

    Each detached piece of a label (all but its largest) goes to the neighbouring label it shares
    most boundary with, within the same parent; repeated until every label is one piece.
    """
    labels = labels.copy()
    coo = adj.tocoo()
    i, j, w = coo.row, coo.col, coo.data
    n = labels.size
    for _ in range(30):
        same = labels[i] == labels[j]
        g = sparse.coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
        ncomp, comp = connected_components(g, directed=False)
        comp_area = np.bincount(comp, weights=area, minlength=ncomp)
        comp_label = np.empty(ncomp, dtype=np.int64)
        comp_label[comp] = labels
        order = np.lexsort((-comp_area, comp_label))
        first = np.r_[True, comp_label[order][1:] != comp_label[order][:-1]]
        main = np.zeros(ncomp, bool)
        main[order[first]] = True
        stray = ~main[comp]
        if not stray.any():
            return labels
        e = stray[i] & (labels[j] != labels[i]) & (parent[i] == parent[j])
        if not e.any():
            break
        frame = pd.DataFrame({"c": comp[i[e]], "to": labels[j[e]], "w": w[e]})
        best = frame.groupby(["c", "to"], sort=True)["w"].sum().reset_index()
        best = best.sort_values(["c", "w"], ascending=[True, False], kind="stable")
        best = best.drop_duplicates("c")
        target = np.full(ncomp, -1, dtype=np.int64)
        target[best["c"].to_numpy()] = best["to"].to_numpy()
        move = stray & (target[comp] >= 0)
        labels[move] = target[comp[move]]
    log.warning("sample: %d atom(s) left in detached pieces", int(stray.sum()))
    return labels


def _compact(labels: IntArray) -> IntArray:
    """Renumber labels 0..k-1 in order of first appearance of their smallest atom index."""
    _, first, inv = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first, kind="stable"), kind="stable")
    return np.asarray(rank[inv.reshape(-1)], dtype=np.int64)


def _label_graph(labels: IntArray, adj: sparse.csr_matrix, k: int) -> sparse.csr_matrix:
    """Shared boundary length between labels (symmetric CSR, k x k)."""
    coo = adj.tocoo()
    a, b = labels[coo.row], labels[coo.col]
    diff = a != b
    return sparse.coo_matrix((coo.data[diff], (a[diff], b[diff])), shape=(k, k)).tocsr()


# --------------------------------------------------------------------------------------------
# partitioning a set of wards into contiguous parts
# --------------------------------------------------------------------------------------------
def _partition(nodes: IntArray, k: int, graph: sparse.csr_matrix, xy: FloatArray) -> IntArray:
    """Split ``nodes`` (a connected set in ``graph``) into ``k`` connected parts.

    Graph Voronoi regions by hop distance (ties broken by length), seeded by farthest-point
    sampling and re-centred three times on each part's medoid. Each part is connected because
    every node's shortest-path predecessor belongs to the same source.
    """
    m = len(nodes)
    if k <= 1 or m <= 1:
        return np.zeros(m, dtype=np.int64)
    sub = graph[nodes][:, nodes].tocoo()
    step = np.hypot(*(xy[nodes][sub.row] - xy[nodes][sub.col]).T)
    g = sparse.coo_matrix((1.0 + step * 1e-6, (sub.row, sub.col)), shape=(m, m)).tocsr()
    d_all = dijkstra(g, directed=False)
    if not np.isfinite(d_all).all():
        raise RuntimeError("internal error: a region to partition is not connected")
    centre = xy[nodes].mean(axis=0)
    seeds = [int(np.argmax(np.hypot(*(xy[nodes] - centre).T)))]
    while len(seeds) < k:
        seeds.append(int(np.argmax(d_all[seeds].min(axis=0))))
    lab = np.zeros(m, dtype=np.int64)
    for _ in range(4):
        _, _, src = dijkstra(
            g, directed=False, indices=seeds, min_only=True, return_predecessors=True
        )
        pos = {s: n for n, s in enumerate(seeds)}
        lab = np.array([pos[int(s)] for s in src], dtype=np.int64)
        new = []
        for part in range(k):
            members = np.flatnonzero(lab == part)
            inner = d_all[np.ix_(members, members)].sum(axis=1)
            new.append(int(members[np.argmin(inner)]))
        if new == seeds:
            break
        seeds = new
    return lab


# --------------------------------------------------------------------------------------------
# names
# --------------------------------------------------------------------------------------------
def _qualified_names(
    xy: FloatArray,
    place_xy: FloatArray,
    place_name: NDArray[np.str_],
    place_pull: FloatArray,
    place_scale: FloatArray,
) -> NDArray[np.object_]:
    """Name each point after its place, with distinct qualifiers when a place names several.

    The qualifiers ("Central", a compass point, then "Park", "Fields" …) go by best assignment.
    """
    score = np.sqrt(_sqdist(xy, place_xy)) - place_pull
    base = np.argmin(score, axis=1)
    names = np.empty(len(xy), dtype=object)
    labels = ("Central", *_COMPASS, *_EXTRA_QUALIFIERS)
    for b in np.unique(base):  # one small assignment per place
        members = np.flatnonzero(base == b)
        if members.size == 1:
            names[members[0]] = str(place_name[b])
            continue
        d = xy[members] - place_xy[b]
        dist = np.hypot(d[:, 0], d[:, 1])
        ang = np.arctan2(d[:, 1], d[:, 0])
        comp_ang = np.arange(8) * np.pi / 4
        diff = np.abs((ang[:, None] - comp_ang[None, :] + np.pi) % (2 * np.pi) - np.pi)
        n_extra = max(0, members.size - 9)
        if n_extra > len(_EXTRA_QUALIFIERS):
            raise RuntimeError("internal error: too many areas share one place name")
        cost = np.hstack(
            [
                (2 * dist / place_scale[b])[:, None],
                0.5 + diff / np.pi,
                3 + 0.01 * np.arange(len(_EXTRA_QUALIFIERS))[None, :].repeat(members.size, 0),
            ]
        )
        r, c = linear_sum_assignment(cost)
        for row, col in zip(r, c, strict=True):
            names[members[row]] = f"{place_name[b]} {labels[col]}"
    return names


# --------------------------------------------------------------------------------------------
# boundaries
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Geography:
    outline: shapely.Polygon
    places: _Places
    quarters_xy: FloatArray
    quarters_name: NDArray[np.str_]
    atoms: Any
    atom_xy: FloatArray
    atom_area: FloatArray
    atom_pop: IntArray
    district: IntArray  # per atom
    ward_new: IntArray  # per atom
    ward_old: IntArray  # per atom
    adj: sparse.csr_matrix


def _boundaries(rng: np.random.Generator, n_wards: int, n_districts: int) -> _Geography:
    """Draw the outline, settlements and atoms; label atoms with district and both ward sets."""
    outline = _outline(rng)
    places, seats = _settlements(rng, outline, n_districts)
    city = places.xy[0]
    n_q = 26
    q_xy = _spread(city + rng.normal(size=(600, 2)) * places.sigma[0] * 1.1, n_q, 900.0)
    q_name = np.asarray(rng.choice(np.array(_QUARTERS), size=len(q_xy), replace=False))

    atoms = _atoms(rng, outline, places, 40 * n_wards)
    atom_xy = shapely.get_coordinates(shapely.centroid(atoms))
    atom_area = shapely.area(atoms)
    dens = places.density(atom_xy)
    raw = dens * atom_area
    total_pop = 720_000
    quota = raw / raw.sum() * total_pop
    atom_pop = np.floor(quota).astype(np.int64)
    short = total_pop - int(atom_pop.sum())
    atom_pop[np.argsort(-(quota - atom_pop), kind="stable")[:short]] += 1
    adj = _adjacency(atoms)
    n_atoms = len(atoms)
    zeros = np.zeros(n_atoms, dtype=np.int64)

    # districts: Apollonius diagram of the city and the district towns in a warped plane
    w_d = _Warp.random(rng, 3000.0, 18_000.0)
    r_city = 2.6 * places.sigma[0]
    bonus = np.r_[
        0.0,
        np.full(len(seats) - 1, max(0.0, np.median(np.hypot(*(seats[1:] - city).T)) - 2 * r_city)),
    ]
    d = np.sqrt(_sqdist(w_d(atom_xy), w_d(seats))) - bonus
    district = _make_contiguous(np.argmin(d, axis=1).astype(np.int64), zeros, adj, atom_area)
    district = _compact(district)
    n_d = int(district.max()) + 1

    # new wards: seeds by population per district, a few weighted Lloyd steps
    pop_d = np.bincount(district, weights=atom_pop, minlength=n_d)
    per_d = _allocate(pop_d**0.85, n_wards, 6, np.bincount(district, minlength=n_d) // 8)
    seed_xy_l, seed_d_l = [], []
    for k in range(n_d):  # one draw per district
        idx = np.flatnonzero(district == k)
        chosen = rng.choice(idx, size=int(per_d[k]), replace=False, p=raw[idx] / raw[idx].sum())
        seed_xy_l.append(atom_xy[chosen])
        seed_d_l.append(np.full(int(per_d[k]), k))
    seeds = np.vstack(seed_xy_l)
    seed_d = np.concatenate(seed_d_l).astype(np.int64)
    foreign = district[:, None] != seed_d[None, :]
    for _ in range(4):
        d2 = _sqdist(atom_xy, seeds)
        d2[foreign] = np.inf
        lab = np.argmin(d2, axis=1)
        wsum = np.bincount(lab, weights=raw, minlength=len(seeds))
        cx = np.bincount(lab, weights=raw * atom_xy[:, 0], minlength=len(seeds))
        cy = np.bincount(lab, weights=raw * atom_xy[:, 1], minlength=len(seeds))
        ok = wsum > 0
        seeds[ok] = np.c_[cx[ok] / wsum[ok], cy[ok] / wsum[ok]]

    def label(seed_xy: FloatArray, seed_dist: IntArray, warp: _Warp) -> IntArray:
        d2 = _sqdist(warp(atom_xy), warp(seed_xy))
        d2[district[:, None] != seed_dist[None, :]] = np.inf
        lab = np.argmin(d2, axis=1).astype(np.int64)
        return _compact(_make_contiguous(lab, district, adj, atom_area))

    ward_new = label(seeds, seed_d, _Warp.random(rng, 350.0, 5000.0))

    # old wards: jittered seeds, some merged (dropped), some split (doubled)
    nn = cKDTree(seeds).query(seeds, k=2)[0][:, 1]
    old = seeds + rng.normal(size=seeds.shape) * 0.22 * nn[:, None]
    n_drop = int(rng.integers(8, 15))
    n_add = n_drop + int(rng.integers(-6, 7))
    counts = np.bincount(seed_d, minlength=n_d)
    droppable = np.flatnonzero(counts[seed_d] > 6)
    drop = rng.choice(droppable, size=min(n_drop, droppable.size), replace=False)
    keep = np.setdiff1d(np.arange(len(seeds)), drop)
    split = rng.choice(keep, size=n_add, replace=False)
    ang = rng.uniform(0, 2 * np.pi, n_add)
    offs = np.c_[np.cos(ang), np.sin(ang)] * nn[split, None]
    old_twin = old[split] + 0.4 * offs
    old[split] -= 0.2 * offs
    old_xy = np.vstack([old[keep], old_twin])
    old_d = np.r_[seed_d[keep], seed_d[split]]
    ward_old = label(old_xy, old_d, _Warp.random(rng, 350.0, 5000.0))
    return _Geography(
        outline,
        places,
        q_xy,
        q_name,
        atoms,
        atom_xy,
        atom_area,
        atom_pop,
        district,
        ward_new,
        ward_old,
        adj,
    )


def _unions(polys: Any, labels: IntArray, k: int) -> Any:
    """Coverage union of ``polys`` per label 0..k-1 (one union per area)."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    return np.array(
        [shapely.coverage_union_all(polys[order[bounds[g] : bounds[g + 1]]]) for g in range(k)],
        dtype=object,
    )


def _police(geo: _Geography, n_beats: int, n_sectors: int) -> dict[str, Any]:
    """Beats, sectors and NPAs as labels of the old wards."""
    n_old = int(geo.ward_old.max()) + 1
    n_d = int(geo.district.max()) + 1
    old_pop = np.bincount(geo.ward_old, weights=geo.atom_pop, minlength=n_old)
    old_dist = np.zeros(n_old, dtype=np.int64)
    old_dist[geo.ward_old] = geo.district
    wxy = (
        np.c_[
            np.bincount(geo.ward_old, weights=geo.atom_xy[:, 0] * geo.atom_area, minlength=n_old),
            np.bincount(geo.ward_old, weights=geo.atom_xy[:, 1] * geo.atom_area, minlength=n_old),
        ]
        / np.bincount(geo.ward_old, weights=geo.atom_area, minlength=n_old)[:, None]
    )
    wgraph = _label_graph(geo.ward_old, geo.adj, n_old)
    dgraph = _label_graph(geo.district, geo.adj, n_d)
    city_d = int(geo.district[np.argmin(_sqdist(geo.places.xy[:1], geo.atom_xy)[0])])
    pop_d = np.bincount(old_dist, weights=old_pop, minlength=n_d)

    # NPAs: the city split in two; two pairs of adjacent small rural districts merged
    rural = [k for k in range(n_d) if k != city_d]
    dg = dgraph.tocoo()
    pairs = sorted(
        {
            (min(a, b), max(a, b))
            for a, b in zip(dg.row, dg.col, strict=True)
            if a != city_d and b != city_d and a != b
        },
        key=lambda ab: (pop_d[ab[0]] + pop_d[ab[1]], ab),
    )
    group = {k: k for k in rural}
    merged: set[int] = set()
    for a, b in pairs:
        if len(merged) >= 4:
            break
        if a in merged or b in merged:
            continue
        group[b] = a
        merged |= {a, b}
    npa = np.full(n_old, -1, dtype=np.int64)
    city_wards = np.flatnonzero(old_dist == city_d)
    halves = _partition(city_wards, 2, wgraph, wxy)
    npa[city_wards] = halves
    rural_groups = sorted(set(group.values()))
    for n, g in enumerate(rural_groups):
        in_group = [k for k in rural if group[k] == g]
        npa[np.isin(old_dist, in_group)] = 2 + n
    n_npa = 2 + len(rural_groups)

    # sectors per NPA by population, then beats per sector by population
    npa_pop = np.bincount(npa, weights=old_pop, minlength=n_npa)
    npa_size = np.bincount(npa, minlength=n_npa)
    sec_per = _allocate(npa_pop, n_sectors, 1, np.maximum(npa_size // 3, 1))
    sector = np.full(n_old, -1, dtype=np.int64)
    nxt = 0
    for p in range(n_npa):
        members = np.flatnonzero(npa == p)
        sector[members] = nxt + _partition(members, int(sec_per[p]), wgraph, wxy)
        nxt += int(sec_per[p])
    n_sec = nxt
    sec_pop = np.bincount(sector, weights=old_pop, minlength=n_sec)
    sec_size = np.bincount(sector, minlength=n_sec)
    beat_per = _allocate(sec_pop, n_beats, 2, sec_size)
    beat = np.full(n_old, -1, dtype=np.int64)
    nxt = 0
    for s in range(n_sec):
        members = np.flatnonzero(sector == s)
        beat[members] = nxt + _partition(members, int(beat_per[s]), wgraph, wxy)
        nxt += int(beat_per[s])
    return {
        "npa": npa,
        "sector": sector,
        "beat": beat,
        "npa_city": np.r_[True, True, np.zeros(len(rural_groups), bool)],
    }


def _layers(geo: _Geography, n_beats: int, n_sectors: int) -> dict[str, Any]:
    """Build the GeoDataFrames (ids, names, geometry) from the atom labels."""
    places = geo.places
    n_new = int(geo.ward_new.max()) + 1
    n_old = int(geo.ward_old.max()) + 1
    n_d = int(geo.district.max()) + 1
    pol = _police(geo, n_beats, n_sectors)

    # name places: settlements and city quarters
    all_xy = np.vstack([places.xy, geo.quarters_xy])
    all_name = np.r_[places.name, geo.quarters_name]
    pull = np.r_[
        np.where(places.kind == "town", 1.5 * places.sigma, 0.0), np.zeros(len(geo.quarters_xy))
    ]
    pull[0] = 0.0
    scale = np.r_[places.sigma + 300, np.full(len(geo.quarters_xy), 700.0)]

    # --- districts
    d_geom = _unions(geo.atoms, geo.district, n_d)
    d_pop = np.bincount(geo.district, weights=geo.atom_pop, minlength=n_d).astype(np.int64)
    # place -> district by the atom containing the place centre
    tree = shapely.STRtree(geo.atoms)
    hit_p, hit_a = tree.query(shapely.points(places.xy), predicate="intersects")
    _, first = np.unique(hit_p, return_index=True)
    place_d = np.full(len(places.xy), -1, dtype=np.int64)
    place_d[hit_p[first]] = geo.district[hit_a[first]]
    d_names = []
    for k in range(n_d):
        inside = np.flatnonzero(place_d == k)
        if inside.size:
            d_names.append(str(places.name[inside[np.argmax(places.weight[inside])]]))
        else:
            c = np.asarray(shapely.get_coordinates(shapely.point_on_surface(d_geom[k])))[0]
            centre = np.asarray(geo.outline.centroid.coords[0])
            ci = int(_compass_index(np.array([c[0] - centre[0]]), np.array([c[1] - centre[1]]))[0])
            d_names.append(f"{_COMPASS[ci]} {COUNTY_NAME}")
    d_order = np.argsort(np.array(d_names), kind="stable")
    d_rank = np.empty(n_d, dtype=np.int64)
    d_rank[d_order] = np.arange(n_d)
    d_id = np.array([f"E079{r + 1:05d}" for r in d_rank])
    districts = (
        gpd.GeoDataFrame(
            {"id": d_id, "name": d_names, "population": d_pop, "geometry": d_geom}, crs=BNG
        )
        .iloc[d_order]
        .reset_index(drop=True)
    )

    def ward_frame(lab: IntArray, k: int, prefix: str) -> tuple[gpd.GeoDataFrame, IntArray]:
        geom = _unions(geo.atoms, lab, k)
        rep = shapely.get_coordinates(shapely.point_on_surface(geom))
        names = _qualified_names(rep, all_xy, all_name, pull, scale)
        dist = np.zeros(k, dtype=np.int64)
        dist[lab] = geo.district
        pop = np.bincount(lab, weights=geo.atom_pop, minlength=k).astype(np.int64)
        order = np.lexsort((names.astype(str), d_rank[dist]))
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        frame = gpd.GeoDataFrame(
            {
                "id": [f"{prefix}{r + 1:05d}" for r in rank],
                "name": names.astype(str),
                "district": d_id[dist],
                "population": pop,
                "geometry": geom,
            },
            crs=BNG,
        )
        return frame, rank

    wards_new, new_rank = ward_frame(geo.ward_new, n_new, "E059")
    wards_new = wards_new.iloc[np.argsort(new_rank)].reset_index(drop=True)
    wards_old, old_rank = ward_frame(geo.ward_old, n_old, "E058")

    # --- police areas from the old ward polygons
    old_geom = wards_old.geometry.to_numpy()
    centre = np.asarray(geo.outline.centroid.coords[0])
    city_xy = places.xy[0]
    npa, sector, beat = pol["npa"], pol["sector"], pol["beat"]
    n_npa, n_sec, n_beat = int(npa.max()) + 1, int(sector.max()) + 1, int(beat.max()) + 1
    npa_geom = _unions(old_geom, npa, n_npa)
    npa_rep = shapely.get_coordinates(shapely.point_on_surface(npa_geom))
    is_city = pol["npa_city"]
    npa_names = np.empty(n_npa, dtype=object)
    npa_ids = np.empty(n_npa, dtype=object)
    for mask, origin, prefix, code in (
        (is_city, city_xy, f"{places.name[0]} ", "C"),
        (~is_city, centre, "", ""),
    ):
        idx = np.flatnonzero(mask)
        d = npa_rep[idx] - origin
        ang = np.arctan2(d[:, 1], d[:, 0])
        diff = np.abs(
            (ang[:, None] - np.arange(8)[None, :] * np.pi / 4 + np.pi) % (2 * np.pi) - np.pi
        )
        r, c = linear_sum_assignment(diff)
        for row, col in zip(r, c, strict=True):
            npa_names[idx[row]] = prefix + _COMPASS[col]
            npa_ids[idx[row]] = f"NPA-{code}{_COMPASS_CODE[col]}"
    npa_order = np.argsort(npa_ids.astype(str), kind="stable")
    npas = (
        gpd.GeoDataFrame(
            {"id": npa_ids.astype(str), "name": npa_names.astype(str), "geometry": npa_geom},
            crs=BNG,
        )
        .iloc[npa_order]
        .reset_index(drop=True)
    )

    sec_of_beat = np.zeros(n_beat, dtype=np.int64)
    sec_of_beat[beat] = sector
    npa_of_sec = np.zeros(n_sec, dtype=np.int64)
    npa_of_sec[sector] = npa
    sec_geom = _unions(old_geom, sector, n_sec)
    sec_rep = shapely.get_coordinates(shapely.point_on_surface(sec_geom))
    s_pull = np.where(places.kind == "town", 2 * places.sigma, 0.0)
    sec_names = _qualified_names(sec_rep, places.xy, places.name, s_pull, places.sigma + 300)
    npa_rank = np.empty(n_npa, dtype=np.int64)
    npa_rank[npa_order] = np.arange(n_npa)
    s_order = np.lexsort((sec_names.astype(str), npa_rank[npa_of_sec]))
    s_rank = np.empty(n_sec, dtype=np.int64)
    s_rank[s_order] = np.arange(n_sec)
    s_id = np.array([f"S{r + 1:02d}" for r in s_rank])
    sectors = (
        gpd.GeoDataFrame(
            {
                "id": s_id,
                "name": sec_names.astype(str),
                "npa": npa_ids[npa_of_sec].astype(str),
                "geometry": sec_geom,
            },
            crs=BNG,
        )
        .iloc[s_order]
        .reset_index(drop=True)
    )

    beat_geom = _unions(old_geom, beat, n_beat)
    beat_rep = shapely.get_coordinates(shapely.point_on_surface(beat_geom))
    beat_names = _qualified_names(beat_rep, all_xy, all_name, pull, scale)
    b_order = np.lexsort((beat_names.astype(str), s_rank[sec_of_beat]))
    b_rank = np.empty(n_beat, dtype=np.int64)
    b_rank[b_order] = np.arange(n_beat)
    b_id = np.array([f"B{r + 1:02d}" for r in b_rank])
    beats = (
        gpd.GeoDataFrame(
            {
                "id": b_id,
                "name": beat_names.astype(str),
                "sector": s_id[sec_of_beat],
                "npa": npa_ids[npa_of_sec[sec_of_beat]].astype(str),
                "geometry": beat_geom,
            },
            crs=BNG,
        )
        .iloc[b_order]
        .reset_index(drop=True)
    )

    wards_old = wards_old.assign(
        beat=b_id[beat], sector=s_id[sector], npa=npa_ids[npa].astype(str)
    )[["id", "name", "district", "population", "beat", "sector", "npa", "geometry"]]
    wards_old = wards_old.iloc[np.argsort(old_rank)].reset_index(drop=True)
    outline = shapely.coverage_union_all(districts.geometry.to_numpy())
    return {
        "outline": outline,
        "districts": districts,
        "wards_new": wards_new,
        "wards_old": wards_old,
        "beats": beats,
        "sectors": sectors,
        "npas": npas,
        "new_rank": new_rank,
    }


# --------------------------------------------------------------------------------------------
# crime
# --------------------------------------------------------------------------------------------
def _type_matrix(urban: FloatArray) -> FloatArray:
    base = np.array([_TYPE_BASE[t] for t in CRIME_TYPES])
    mu = np.log([_TYPE_URBAN.get(t, 1.0) for t in CRIME_TYPES])
    mr = np.log([_TYPE_RURAL.get(t, 1.0) for t in CRIME_TYPES])
    p = base * np.exp(urban[:, None] * mu + (1 - urban[:, None]) * mr)
    return np.asarray(p / p.sum(axis=1, keepdims=True))


def _draw_types(rng: np.random.Generator, p: FloatArray) -> IntArray:
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p))[:, None] * cum[:, -1:]
    return np.asarray((u >= cum).sum(axis=1), dtype=np.int64)


def _strings(values: NDArray[Any], keep: NDArray[Any] | None = None) -> Any:
    """Return ``values`` as a pandas "string" array, ``<NA>`` where ``keep`` is False."""
    out = np.asarray(values, dtype=object).copy()
    if keep is not None:
        out[~keep] = None
    return pd.array(out, dtype="string")


def _hex_ids(rng: np.random.Generator, n: int) -> NDArray[np.str_]:
    raw = rng.bytes(32 * n).hex().encode("ascii")
    return np.frombuffer(raw, dtype="S64").astype(str)


def _street_names(rng: np.random.Generator, n: int) -> NDArray[np.object_]:
    first = rng.choice(np.array(_STREET_FIRST), n)
    kind = rng.choice(np.array(_STREET_TYPE), n)
    return np.char.add(np.char.add(first, " "), kind).astype(object)


@dataclass(frozen=True)
class _SnapPoints:
    xy: FloatArray
    location: NDArray[np.object_]


def _snap_points(
    rng: np.random.Generator,
    outline: shapely.Polygon,
    places: _Places,
    n_streets: int,
    hot_xy: FloatArray,
    hot_r: FloatArray,
    hot_landmark: Sequence[str | None],
) -> _SnapPoints:
    """Anonymous map points: a few along each synthetic street, landmarks, and hotspot venues."""
    centres = places.sample(rng, n_streets, outline, floor_share=0.3, spread=1.1)
    ang = rng.uniform(0, np.pi, n_streets)
    length = rng.uniform(60, 500, n_streets)
    landmark = rng.random(n_streets) < 0.06
    n_pts = np.where(landmark, 1, rng.integers(1, 6, n_streets))
    street = np.repeat(np.arange(n_streets), n_pts)
    pos = np.arange(len(street)) - np.repeat(np.cumsum(n_pts) - n_pts, n_pts)
    t = ((pos + 0.5) / n_pts[street] - 0.5) * length[street]
    xy = centres[street] + t[:, None] * np.c_[np.cos(ang), np.sin(ang)][street]
    names = _street_names(rng, n_streets)
    names[landmark] = rng.choice(np.array(_LANDMARKS), int(landmark.sum()))
    loc = names[street]
    # hotspot venues: the centre (a landmark when the profile has one) and a few nearby points
    k = np.clip(np.round(hot_r / 30).astype(np.int64), 3, 12)
    hid = np.repeat(np.arange(len(hot_xy)), k)
    hxy = hot_xy[hid] + rng.normal(size=(len(hid), 2)) * (hot_r[hid] / 2)[:, None]
    hloc = _street_names(rng, len(hid))
    c_loc = _street_names(rng, len(hot_xy))
    has_landmark = np.array([lm is not None for lm in hot_landmark], dtype=bool)
    c_loc[has_landmark] = [lm for lm in hot_landmark if lm is not None]
    all_xy = np.vstack([xy, hot_xy, hxy])
    all_loc = np.r_[loc, c_loc, hloc]
    inner = outline.buffer(-10)
    ok = shapely.contains_xy(inner, all_xy[:, 0], all_xy[:, 1])
    return _SnapPoints(
        all_xy[ok], np.char.add("On or near ", all_loc[ok].astype(str)).astype(object)
    )


def _crime(
    rng: np.random.Generator,
    geo: _Geography,
    lay: dict[str, Any],
    months: Sequence[str],
    cal_month: IntArray,
    target_rows: int,
    no_location_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """Plant hotspots, draw background crime, snap to map points and build the police.uk rows."""
    outline, places = geo.outline, geo.places
    n_m = len(months)
    crime_floor = 0.08
    season = 1 + 0.1 * np.cos(2 * np.pi * (cal_month - 7) / 12)
    season = season / season.mean()

    # hotspots: centres in built-up areas, well apart; tight ones where background is dense
    n_h = int(rng.integers(12, 21))
    cand = places.sample(rng, 600, outline.buffer(-1500), floor_share=0.0, spread=0.9)
    hot_xy = _spread(cand, n_h, 1600.0)
    if len(hot_xy) < 12:  # a crowded county: allow closer hotspots
        hot_xy = _spread(cand, n_h, 1100.0)
    n_h = len(hot_xy)
    hot_dens = places.density(hot_xy, floor_share=crime_floor)
    radii = np.sort(np.exp(rng.uniform(np.log(80), np.log(400), n_h)))
    noisy = np.log(hot_dens) + rng.normal(0, 0.3, n_h)
    hot_r = np.empty(n_h)
    hot_r[np.argsort(-noisy, kind="stable")] = radii
    kinds = np.r_[
        ["persistent"] * 2,
        ["emerging"] * 2,
        rng.choice(["persistent", "emerging", "seasonal"], n_h - 4, p=[0.5, 0.3, 0.2]),
    ]
    kinds = rng.permutation(kinds)
    profiles = rng.choice(np.array(list(_PROFILES)), n_h)
    active = np.zeros((n_h, n_m), bool)
    ramp = np.ones((n_h, n_m))
    summer = np.isin(cal_month, [5, 6, 7, 8, 9])
    for h in range(n_h):  # one row of the activity table per hotspot
        if kinds[h] == "seasonal" and summer.sum() >= 2:
            active[h] = summer
        elif kinds[h] == "emerging" and n_m >= 4:
            start = int(rng.integers(n_m // 2, n_m - 2))
            active[h, start:] = True
            ramp[h, start:] = 0.6 + 0.8 * np.arange(n_m - start) / max(n_m - 1 - start, 1)
        else:
            kinds[h] = "persistent"
            active[h] = True

    bg_month = 0.9 * target_rows / n_m
    # background in the disc, judged by the densest of its centre and a ring around it
    ring = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    around = (
        hot_xy[:, None, :] + (2 * hot_r + 400)[:, None, None] * np.c_[np.cos(ring), np.sin(ring)]
    )
    local = places.density(around.reshape(-1, 2), floor_share=crime_floor).reshape(n_h, 8)
    bg_disc = bg_month * np.maximum(hot_dens, local.max(axis=1)) * np.pi * hot_r**2
    shape = ramp * season[None, :] * active  # each hotspot's monthly profile
    # monthly rate: a base, at least 5-9 times the background in its disc, and at least 60-120
    # incidents over its active months (so short-lived hotspots are still visible)
    rate = np.maximum.reduce(
        [
            rng.uniform(6, 20, n_h),
            rng.uniform(5, 9, n_h) * bg_disc,
            rng.uniform(60, 120, n_h) / shape.sum(axis=1),
        ]
    )
    hot_counts = rng.poisson(rate[:, None] * shape)
    bg_month = max(target_rows - hot_counts.sum(), 0.5 * target_rows) / n_m
    bg_counts = rng.poisson(bg_month * season)

    # background points and types
    n_bg = int(bg_counts.sum())
    bg_xy = places.sample(rng, n_bg, outline, floor_share=crime_floor)
    bg_m = np.repeat(np.arange(n_m), bg_counts)
    d = places.density(bg_xy, floor_share=crime_floor)
    urban = np.clip(np.log10(d * places.area / crime_floor) / 2.5, 0, 1)
    bg_type = _draw_types(rng, _type_matrix(urban))

    # hotspot points and types
    hh, mm = np.nonzero(hot_counts)
    reps = hot_counts[hh, mm]
    h_id = np.repeat(hh, reps)
    h_m = np.repeat(mm, reps)
    h_xy = hot_xy[h_id] + rng.normal(size=(len(h_id), 2)) * (hot_r[h_id] / 2)[:, None]
    outside = ~shapely.contains_xy(outline, h_xy[:, 0], h_xy[:, 1])
    h_xy[outside] = hot_xy[h_id[outside]]
    prof = np.array([[_PROFILES[p].get(t, 0.0) + 0.002 for t in CRIME_TYPES] for p in profiles])
    h_type = _draw_types(rng, prof[h_id]) if len(h_id) else np.empty(0, dtype=np.int64)

    landmark = [_PROFILE_LANDMARK[str(p)] for p in profiles]
    snaps = _snap_points(rng, outline, places, 30 * len(geo.atom_xy) // 70, hot_xy, hot_r, landmark)

    xy = np.vstack([bg_xy, h_xy])
    month = np.r_[bg_m, h_m].astype(np.int64)
    ctype = np.r_[bg_type, h_type].astype(np.int64)
    hot = np.r_[np.full(n_bg, -1), h_id].astype(np.int64)
    n = len(xy)
    snap = cKDTree(snaps.xy).query(xy)[1]
    # rows with no location: background, not ASB
    eligible = (hot < 0) & (ctype != _ASB)
    p_none = min(1.0, no_location_share * n / max(int(eligible.sum()), 1))
    located = ~(eligible & (rng.random(n) < p_none))

    # LSOA of each snap point: its new ward
    tree = shapely.STRtree(geo.atoms)
    hit_p, hit_a = tree.query(shapely.points(snaps.xy), predicate="intersects")
    _, first = np.unique(hit_p, return_index=True)
    snap_ward = np.full(len(snaps.xy), -1, dtype=np.int64)
    snap_ward[hit_p[first]] = lay["new_rank"][geo.ward_new[hit_a[first]]]
    wn = lay["wards_new"]
    d_names = dict(zip(lay["districts"]["id"], lay["districts"]["name"], strict=True))
    ward_district = wn["district"].to_numpy()
    ordinal = wn.groupby("district").cumcount().to_numpy() + 1
    lsoa_code = np.array([f"E019{k + 1:05d}" for k in range(len(wn))])
    lsoa_name = np.array(
        [f"{d_names[dd]} {o:03d}A" for dd, o in zip(ward_district, ordinal, strict=True)]
    )
    lsoa_idx = np.where(located, snap_ward[snap], len(wn))

    # file order: month, located rows by LSOA then type, rows with no location last
    order = np.lexsort((rng.random(n), ctype, lsoa_idx, ~located, month))
    xy, month, ctype, hot, snap, located, lsoa_idx = (
        a[order] for a in (xy, month, ctype, hot, snap, located, lsoa_idx)
    )
    sxy = snaps.xy[snap]
    lon, lat = transformer(BNG, WGS84).transform(sxy[:, 0], sxy[:, 1])
    lon = np.where(located, np.round(lon, 6), np.nan)
    lat = np.where(located, np.round(lat, 6), np.nan)

    crime_id = pd.array(_hex_ids(rng, n), dtype="string")
    crime_id[ctype == _ASB] = pd.NA
    outcome = np.empty(n, dtype=object)
    suspect = np.isin(ctype, [_T["Drugs"], _T["Possession of weapons"]])
    for m in range(n_m):  # outcomes depend on the month's age
        age = n_m - 1 - m
        for table, rows in ((_OUTCOME_GENERAL, ~suspect), (_OUTCOME_SUSPECT, suspect)):
            idx = np.flatnonzero((month == m) & rows & (ctype != _ASB))
            p = table.copy()
            p[_UNDER_INVESTIGATION] += 0.35 * np.exp(-age / 1.5)
            outcome[idx] = np.array(_OUTCOMES)[rng.choice(p.size, idx.size, p=p / p.sum())]
    outcome_arr = pd.array(outcome, dtype="string")
    location = np.where(located, snaps.location[snap], "No Location")
    lsoa_at = np.minimum(lsoa_idx, len(wn) - 1)
    lsoa_c = _strings(lsoa_code[lsoa_at], located)
    lsoa_n = _strings(lsoa_name[lsoa_at], located)
    month_arr = np.array(months)[month]
    incidents = pd.DataFrame(
        {
            "Crime ID": crime_id,
            "Month": pd.array(month_arr, dtype="string"),
            "Reported by": pd.array(np.full(n, FORCE_NAME), dtype="string"),
            "Falls within": pd.array(np.full(n, FORCE_NAME), dtype="string"),
            "Longitude": lon,
            "Latitude": lat,
            "Location": pd.array(location.astype(str), dtype="string"),
            "LSOA code": lsoa_c,
            "LSOA name": lsoa_n,
            "Crime type": pd.array(np.array(CRIME_TYPES)[ctype], dtype="string"),
            "Last outcome category": outcome_arr,
            "Context": pd.array([pd.NA] * n, dtype="string"),
        }
    )
    starts = np.searchsorted(month, np.arange(n_m))
    row = np.arange(n) - starts[month] + 1
    hot_ids = np.array([f"H{h + 1:02d}" for h in range(n_h)])
    truth = pd.DataFrame(
        {
            "file": _strings(np.array([SampleCounty.csv_name(mo) for mo in months])[month]),
            "row": row.astype(np.int64),
            "hotspot": _strings(hot_ids[np.maximum(hot, 0)], hot >= 0),
            "x": np.where(located, sxy[:, 0], np.nan),
            "y": np.where(located, sxy[:, 1], np.nan),
        }
    )

    counts = np.bincount(hot[hot >= 0], minlength=n_h)
    main_type = np.array(
        [
            CRIME_TYPES[int(np.argmax(np.bincount(ctype[hot == h], minlength=14)))]
            for h in range(n_h)
        ]
    )
    act_idx = [np.flatnonzero(active[h]) for h in range(n_h)]
    hotspots = gpd.GeoDataFrame(
        {
            "id": hot_ids,
            "kind": kinds.astype(str),
            "profile": profiles.astype(str),
            "x": hot_xy[:, 0].round(1),
            "y": hot_xy[:, 1].round(1),
            "radius_m": hot_r.round(1),
            "incidents": counts.astype(np.int64),
            "months_active": active.sum(axis=1).astype(np.int64),
            "first_month": [months[a[0]] for a in act_idx],
            "last_month": [months[a[-1]] for a in act_idx],
            "main_type": main_type,
        },
        geometry=shapely.points(hot_xy.round(1)),
        crs=BNG,
    )
    return incidents, truth, hotspots


# --------------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------------
def _check_int(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OptionError(
            f"{name}={value!r} is not an integer; give a whole number from {low} to {high}"
        )
    if not low <= int(value) <= high:
        raise OptionError(
            f"{name}={value!r} is out of range; give a whole number from {low} to {high}"
        )
    return int(value)


def make_sample(
    *,
    seed: int = DEFAULT_SEED,
    months: int = 12,
    start: str = "2025-11",
    n_wards: int = 150,
    incidents: int = 50_000,
    no_location_share: float = 0.025,
) -> SampleCounty:
    """Build the synthetic sample county.

    Parameters
    ----------
    seed : int
        Seed of the :class:`numpy.random.Generator` every random choice is drawn from; the same
        seed gives the same county (and byte-identical files from :func:`write_sample`).
    months : int
        Number of monthly crime files, 1 to 36.
    start : str
        First month, ``"YYYY-MM"``.
    n_wards : int
        About how many new wards (60 to 400); the old vintage has a few more or fewer, and the
        police areas scale with it (about 36 beats and 11 sectors for 150 wards).
    incidents : int
        About how many incident rows in all (1,000 to 500,000).
    no_location_share : float
        Share of rows with no location (0 to 0.2).

    Returns
    -------
    SampleCounty

    Raises
    ------
    OptionError
        An argument out of range or of the wrong type.

    Examples
    --------
    >>> county = make_sample(seed=1)
    >>> county.wards_old.columns.tolist()
    ['id', 'name', 'district', 'population', 'beat', 'sector', 'npa', 'geometry']
    """
    seed = _check_int("seed", seed, 0, 2**63 - 1)
    months = _check_int("months", months, 1, 36)
    n_wards = _check_int("n_wards", n_wards, 60, 400)
    incidents = _check_int("incidents", incidents, 1000, 500_000)
    if not isinstance(start, str) or not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", start):
        raise OptionError(f"start={start!r} is not a month; give it as 'YYYY-MM', e.g. '2025-11'")
    if (
        isinstance(no_location_share, bool)
        or not isinstance(no_location_share, float | int)
        or not (0 <= no_location_share <= 0.2)
    ):
        raise OptionError(
            f"no_location_share={no_location_share!r} is out of range; give a number from 0 to 0.2"
        )
    rng = np.random.default_rng(seed)
    periods = pd.period_range(start, periods=months, freq="M")
    month_names = tuple(str(p) for p in periods.strftime("%Y-%m"))
    cal_month = np.asarray(periods.month, dtype=np.int64)
    geo = _boundaries(rng, n_wards, 7)
    n_beats = max(6, round(n_wards * 0.24))
    n_sectors = max(6, round(n_beats / 3.3))
    lay = _layers(geo, n_beats, n_sectors)
    inc, truth, hot = _crime(
        rng, geo, lay, month_names, cal_month, incidents, float(no_location_share)
    )
    county = SampleCounty(
        seed=seed,
        months=month_names,
        outline=lay["outline"],
        districts=lay["districts"],
        wards_new=lay["wards_new"],
        wards_old=lay["wards_old"],
        beats=lay["beats"],
        sectors=lay["sectors"],
        npas=lay["npas"],
        incidents=inc,
        incident_truth=truth,
        hotspots_truth=hot,
    )
    log.info(
        "sample county (seed %d): %d districts, %d new and %d old wards, %d beats, %d sectors, "
        "%d NPAs, %d incidents over %d months, %d planted hotspots",
        seed,
        len(county.districts),
        len(county.wards_new),
        len(county.wards_old),
        len(county.beats),
        len(county.sectors),
        len(county.npas),
        len(inc),
        months,
        len(hot),
    )
    return county


def write_sample(
    out_dir: str | os.PathLike[str], *, seed: int = DEFAULT_SEED, overwrite: bool = False
) -> dict[str, Path]:
    """Make the sample county and write its files into ``out_dir``.

    Files written (all in EPSG:27700 except the CSVs' WGS 84 longitude/latitude):

    - ``boundaries.gpkg``: layers ``wards_old``, ``wards_new``, ``districts``, ``beats``,
      ``sectors``, ``npas``, ``outline``;
    - ``wards_new.geojson`` and ``beats_old.geojson``: the same layers as single files;
    - ``crime/YYYY-MM-sample-street.csv``: one police.uk street-level CSV per month;
    - ``hotspots_truth.geojson``: the planted hotspot centres;
    - ``README.txt``: what each file is.

    Each file is written to a temporary folder and renamed into place. The GeoPackage's
    timestamps are pinned (GDAL's ``OGR_CURRENT_DATE``, set for the call and restored), so the same
    seed gives byte-identical files.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created if missing).
    seed : int
        Seed passed to :func:`make_sample`.
    overwrite : bool
        Replace existing outputs; without it an existing output is an error and nothing is written.

    Returns
    -------
    dict of str to pathlib.Path
        ``"boundaries"``, ``"wards_new"``, ``"beats_old"``, ``"hotspots_truth"``, ``"readme"``,
        ``"crime"`` (the folder) and ``"crime/YYYY-MM"`` for each monthly file.

    Raises
    ------
    OutputExistsError
        An output exists and ``overwrite`` is False.
    """
    out = Path(out_dir)
    _check_existing(out, None, overwrite)  # before the work of making the county
    return make_sample(seed=seed).write(out, overwrite=overwrite)


def _targets(out: Path, months: Sequence[str] | None) -> dict[str, Path]:
    t = {
        "boundaries": out / "boundaries.gpkg",
        "wards_new": out / "wards_new.geojson",
        "beats_old": out / "beats_old.geojson",
        "hotspots_truth": out / "hotspots_truth.geojson",
        "readme": out / "README.txt",
    }
    for m in months or ():
        t[f"crime/{m}"] = out / "crime" / SampleCounty.csv_name(m)
    return t


def _check_existing(out: Path, months: Sequence[str] | None, overwrite: bool) -> None:
    if overwrite:
        return
    found = [str(p) for p in _targets(out, months).values() if p.exists()]
    crime = out / "crime"
    if months is None and crime.is_dir():
        found += [str(p) for p in sorted(crime.glob("*-sample-street.csv"))]
    if found:
        raise OutputExistsError(
            f"{out}: {len(found)} output file(s) already exist ({', '.join(found[:3])}"
            f"{', …' if len(found) > 3 else ''}); pass overwrite=True (--overwrite) to replace "
            "them or choose another folder"
        )


def _readme(county: SampleCounty) -> str:
    c = county
    entries = [
        ("boundaries.gpkg", "GeoPackage with seven layers:"),
        (
            "  wards_old",
            f"{len(c.wards_old)} wards of the previous vintage (ids E058...). Each row also names "
            "its beat, sector and NPA: the police hierarchy table.",
        ),
        (
            "  wards_new",
            f"{len(c.wards_new)} wards of the current vintage (ids E059...), after a boundary "
            "review: they overlap the old wards many-to-many.",
        ),
        (
            "  districts",
            f"{len(c.districts)} council districts (ids E079...); both ward vintages nest in them.",
        ),
        ("  beats", f"{len(c.beats)} police beats (B01...), unions of old wards."),
        ("  sectors", f"{len(c.sectors)} sectors (S01...), unions of beats."),
        ("  npas", f"{len(c.npas)} neighbourhood policing areas (NPA-...), unions of sectors."),
        ("  outline", "the county."),
        ("wards_new.geojson", "the wards_new layer as a single file."),
        ("beats_old.geojson", "the beats layer (drawn on the old wards) as a single file."),
        (
            "crime/",
            f"{len(c.months)} police.uk street-level CSVs, {c.months[0]} to {c.months[-1]}, "
            f"{len(c.incidents)} rows in all. As on police.uk: points snapped to anonymous map "
            "points, some rows with no location, anti-social behaviour rows with no Crime ID or "
            "outcome. LSOA codes and names are synthetic (one per new ward).",
        ),
        (
            "hotspots_truth.geojson",
            f"the {len(c.hotspots_truth)} planted hotspots: centre, radius_m (86 % of its "
            "incidents fall within it before snapping), incidents, months active, kind "
            "(persistent, emerging, seasonal) and crime profile. The answer key for hotspot "
            "detection.",
        ),
        ("README.txt", "this file."),
    ]
    body = "\n".join(
        textwrap.fill(text, width=90, initial_indent=f"{name:<25}", subsequent_indent=" " * 25)
        for name, text in entries
    )
    title = f"{COUNTY_NAME}: a synthetic county for beatplan (seed {c.seed})"
    return (
        f"{title}\n{'=' * len(title)}\n\n"
        "Nothing here is real. Every name, boundary and incident was generated by\n"
        f"geo.sample.make_sample(seed={c.seed}); the same seed gives byte-identical files.\n"
        "Coordinates are British National Grid (EPSG:27700) except the CSVs' longitude and\n"
        "latitude (WGS 84).\n\n"
        f"{body}\n\n"
        "The police areas were drawn on the OLD wards; realigning them to the new wards is\n"
        "the planner's job that beatplan does.\n"
    )


def _write(county: SampleCounty, out: Path, *, overwrite: bool) -> dict[str, Path]:
    targets = _targets(out, county.months)
    _check_existing(out, county.months, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / "crime").mkdir(exist_ok=True)
    # GeoPackages record when each table changed; pin it (GDAL's OGR_CURRENT_DATE) so that the
    # same seed gives the same bytes, and restore the caller's setting afterwards.
    old_date = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00.000Z"})
    try:
        write_layers(targets["boundaries"], county.layers(), driver="GPKG", overwrite=overwrite)
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old_date})
    for key, layer in (
        ("wards_new", county.wards_new),
        ("beats_old", county.beats),
        ("hotspots_truth", county.hotspots_truth),
    ):
        write_layers(targets[key], {key: layer}, driver="GeoJSON", overwrite=overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=".sample-", dir=out))
    try:  # the CSVs and the README: staged in a temporary folder, then renamed into place
        staged: dict[str, Path] = {}
        for name, frame in county.monthly().items():
            path = tmp / name
            frame.to_csv(path, index=False, float_format="%.6f", lineterminator="\r\n")
            staged[f"crime/{name[:7]}"] = path
        readme = tmp / "README.txt"
        readme.write_text(_readme(county), encoding="utf-8", newline="\n")
        staged["readme"] = readme
        for key, path in staged.items():
            os.replace(path, targets[key])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("sample county written to %s (%d files)", out, len(targets))
    return {**targets, "crime": out / "crime"}
