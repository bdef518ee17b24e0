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
>>> from beatplan.geo.sample import make_sample
>>> county = make_sample(seed=7)
>>> len(county.npas), county.months[0]
(6, '2025-11')
"""

from __future__ import annotations

import logging
import os
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from beatplan.geo._sample_crime import (
    CRIME_TYPES,
    FORCE_NAME,
    POLICE_UK_COLUMNS,
    build_crime,
    csv_name,
)
from beatplan.geo._sample_geography import COUNTY_NAME, build_geography, build_layers
from beatplan.geo.crs import BNG
from beatplan.geo.errors import OptionError, OutputExistsError
from beatplan.geo.write import atomic_output, write_layers

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
        return csv_name(month)

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
    month_names, cal_month = _months(start, months)
    no_location_share = _check_share(no_location_share)
    rng = np.random.default_rng(seed)
    geo = build_geography(rng, n_wards, 7)
    n_beats = max(6, round(n_wards * 0.24))
    n_sectors = max(6, round(n_beats / 3.3))
    lay = build_layers(geo, n_beats, n_sectors)
    inc, truth, hot = build_crime(
        rng, geo, lay, month_names, cal_month, incidents, no_location_share
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
    _log_county(county)
    return county


def _months(start: Any, months: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Return the months' names from ``start`` (``"YYYY-MM"``, checked) and calendar months."""
    if not isinstance(start, str) or not re.fullmatch(r"(19|20)\d\d-(0[1-9]|1[0-2])", start):
        raise OptionError(f"start={start!r} is not a month; give it as 'YYYY-MM', e.g. '2025-11'")
    periods = pd.period_range(start, periods=months, freq="M")
    month_names = tuple(str(p) for p in periods.strftime("%Y-%m"))
    return month_names, np.asarray(periods.month, dtype=np.int64)


def _check_share(no_location_share: Any) -> float:
    if (
        isinstance(no_location_share, bool)
        or not isinstance(no_location_share, float | int)
        or not (0 <= no_location_share <= 0.2)
    ):
        raise OptionError(
            f"no_location_share={no_location_share!r} is out of range; give a number from 0 to 0.2"
        )
    return float(no_location_share)


def _log_county(county: SampleCounty) -> None:
    log.info(
        "sample county (seed %d): %d districts, %d new and %d old wards, %d beats, %d sectors, "
        "%d NPAs, %d incidents over %d months, %d planted hotspots",
        county.seed,
        len(county.districts),
        len(county.wards_new),
        len(county.wards_old),
        len(county.beats),
        len(county.sectors),
        len(county.npas),
        len(county.incidents),
        len(county.months),
        len(county.hotspots_truth),
    )


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

    The folder is written beside ``out_dir`` and swapped into place whole
    (:func:`beatplan.geo.write.atomic_output`): a reader sees the old folder or the new one. An
    existing folder may be empty or hold a sample; anything else in it is refused (it would be
    lost). The GeoPackage's timestamps are pinned (:func:`beatplan.geo.write.write_layers`), so
    the same seed gives byte-identical files.

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
        An output exists and ``overwrite`` is False, or the folder holds other files.
    OutputLockedError
        Another process is writing ``out_dir`` now.
    OutputWriteError
        The folder could not be written (no space, no permission ...).
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
        f"beatplan.make_sample(seed={c.seed}); the same seed gives byte-identical files.\n"
        "Coordinates are British National Grid (EPSG:27700) except the CSVs' longitude and\n"
        "latitude (WGS 84).\n\n"
        f"{body}\n\n"
        "The police areas were drawn on the OLD wards; realigning them to the new wards is\n"
        "the planner's job that beatplan does.\n"
    )


#: What a sample folder holds (an existing one is replaced whole, so nothing else may be in it).
_SAMPLE_NAMES = frozenset(
    {"boundaries.gpkg", "wards_new.geojson", "beats_old.geojson", "hotspots_truth.geojson",
     "README.txt", "crime"}
)  # fmt: skip


def _write(county: SampleCounty, out: Path, *, overwrite: bool) -> dict[str, Path]:
    """Write the folder beside ``out`` and swap it into place: whole, or not at all."""
    targets = _targets(out, county.months)
    _check_existing(out, county.months, overwrite)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(
        out, overwrite=overwrite, folder=True, owned=_SAMPLE_NAMES.__contains__
    ) as stage:
        (stage / "crime").mkdir()
        staged = {k: stage / p.relative_to(out) for k, p in targets.items()}
        write_layers(staged["boundaries"], county.layers(), driver="GPKG")
        for key, layer in (
            ("wards_new", county.wards_new),
            ("beats_old", county.beats),
            ("hotspots_truth", county.hotspots_truth),
        ):
            write_layers(staged[key], {key: layer}, driver="GeoJSON")
        for name, frame in county.monthly().items():
            frame.to_csv(
                staged[f"crime/{name[:7]}"], index=False, float_format="%.6f", lineterminator="\r\n"
            )
        staged["readme"].write_text(_readme(county), encoding="utf-8", newline="\n")
    log.info("sample county written to %s (%d files)", out, len(targets))
    return {**targets, "crime": out / "crime"}
