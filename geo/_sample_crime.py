"""The sample county's crime (step 6 of :mod:`beatplan.geo.sample`'s recipe).

Planted hotspots, background incidents with the 14 police.uk crime types, anonymous map points on
synthetic streets, and the rows of the monthly police.uk street-level CSVs. Private to
:mod:`beatplan.geo.sample`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from beatplan.geo._sample_geography import (
    FloatArray,
    Geography,
    IntArray,
    Places,
    spread_points,
    words,
)
from beatplan.geo.crs import BNG, WGS84, transformer

__all__ = [
    "CRIME_TYPES",
    "FORCE_NAME",
    "POLICE_UK_COLUMNS",
    "build_crime",
    "csv_name",
]

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
_STREET_FIRST = words(
    """Church Mill Station Victoria Queen's King's Park Oak Elm Meadow High Chapel School Manor
    Orchard Willow Beech Ash Hawthorn Cedar Albert George Main London Market Bridge Green Spring
    Windsor York Grange Chestnut Holly Laurel Rose Vicarage Rectory Abbey Castle Forest Hill Brook
    Cross Union Nelson Stanley Warwick Derby Gladstone Shakespeare Milton Tennyson Kingfisher
    Swallow Heron Lark Poplar Sycamore Linden Rowan Maple Larch Juniper Bramble Foxglove Primrose
    Clover Heather Lavender Thistle"""
)
_STREET_TYPE = words(
    """Road Street Lane Close Avenue Drive Way Crescent Gardens Walk Court Place Grove Rise Terrace
    View Mews"""
)
# Location names police.uk uses for non-street map points.
_LANDMARKS = words(
    """Parking Area|Supermarket|Petrol Station|Shopping Area|Sports/recreation Area|Nightclub|
    Pedestrian Subway|Further/higher Educational Building|Hospital|Police Station|
    Theatre/concert Hall|Bus/coach Station|Conference/exhibition Centre""",
    "|",
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
#: The rural floor of the crime density (a share of incidents spread evenly).
_CRIME_FLOOR = 0.08


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
    places: Places,
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


@dataclass(frozen=True)
class _Hotspots:
    """The planted hotspots: centre, radius, density there, kind, crime profile and activity."""

    xy: FloatArray
    r: FloatArray
    dens: FloatArray
    kinds: NDArray[Any]  # str
    profiles: NDArray[Any]  # str
    active: NDArray[np.bool_]  # (hotspot, month)
    ramp: FloatArray  # (hotspot, month): an emerging hotspot's growth

    def __len__(self) -> int:
        return len(self.xy)


@dataclass(frozen=True)
class _Draws:
    """The incidents drawn: place, month index, crime type and hotspot (-1: background)."""

    xy: FloatArray
    month: IntArray
    ctype: IntArray
    hot: IntArray


@dataclass(frozen=True)
class _Rows:
    """The incidents in file order, each snapped to a map point and given its LSOA."""

    month: IntArray
    ctype: IntArray
    hot: IntArray
    snap: IntArray  # index of the map point
    located: NDArray[np.bool_]  # False: a "No Location" row
    lsoa: IntArray  # index of the new ward standing for its LSOA (len(wards) when not located)


def build_crime(
    rng: np.random.Generator,
    geo: Geography,
    lay: dict[str, Any],
    months: Sequence[str],
    cal_month: IntArray,
    target_rows: int,
    no_location_share: float,
) -> tuple[pd.DataFrame, pd.DataFrame, gpd.GeoDataFrame]:
    """Plant hotspots, draw background crime, snap to map points and build the police.uk rows."""
    season = 1 + 0.1 * np.cos(2 * np.pi * (cal_month - 7) / 12)
    season = season / season.mean()
    hot = _plant_hotspots(rng, geo.places, geo.outline, cal_month)
    hot_counts, bg_counts = _monthly_counts(rng, hot, geo.places, season, target_rows)
    draws = _draw_incidents(rng, geo.places, geo.outline, hot, hot_counts, bg_counts)
    landmark = [_PROFILE_LANDMARK[str(p)] for p in hot.profiles]
    n_streets = 30 * len(geo.atom_xy) // 70
    snaps = _snap_points(rng, geo.outline, geo.places, n_streets, hot.xy, hot.r, landmark)
    rows = _file_rows(rng, draws, snaps, geo, lay, no_location_share)
    incidents = _police_uk_rows(rng, rows, snaps, lay, months)
    return (
        incidents,
        _incident_truth(rows, snaps, months, len(hot)),
        _hotspot_table(hot, rows, months),
    )


def _plant_hotspots(
    rng: np.random.Generator, places: Places, outline: shapely.Polygon, cal_month: IntArray
) -> _Hotspots:
    """Centres in built-up areas, well apart; tight ones where background is dense."""
    n_h = int(rng.integers(12, 21))
    cand = places.sample(rng, 600, outline.buffer(-1500), floor_share=0.0, spread=0.9)
    hot_xy = spread_points(cand, n_h, 1600.0)
    if len(hot_xy) < 12:  # a crowded county: allow closer hotspots
        hot_xy = spread_points(cand, n_h, 1100.0)
    n_h = len(hot_xy)
    hot_dens = places.density(hot_xy, floor_share=_CRIME_FLOOR)
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
    active, ramp = _activity(rng, kinds, cal_month)
    return _Hotspots(hot_xy, hot_r, hot_dens, kinds, profiles, active, ramp)


def _activity(
    rng: np.random.Generator, kinds: NDArray[Any], cal_month: IntArray
) -> tuple[NDArray[np.bool_], FloatArray]:
    """Return each hotspot's active months and growth; a kind the months cannot show: persistent.

    ``kinds`` is updated in place.
    """
    n_h, n_m = len(kinds), len(cal_month)
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
    return active, ramp


def _monthly_counts(
    rng: np.random.Generator,
    hot: _Hotspots,
    places: Places,
    season: FloatArray,
    target_rows: int,
) -> tuple[IntArray, IntArray]:
    """Return the incidents per hotspot and month, and the background incidents per month."""
    n_h, n_m = len(hot), len(season)
    bg_month = 0.9 * target_rows / n_m
    # background in the disc, judged by the densest of its centre and a ring around it
    ring = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    around = (
        hot.xy[:, None, :] + (2 * hot.r + 400)[:, None, None] * np.c_[np.cos(ring), np.sin(ring)]
    )
    local = places.density(around.reshape(-1, 2), floor_share=_CRIME_FLOOR).reshape(n_h, 8)
    bg_disc = bg_month * np.maximum(hot.dens, local.max(axis=1)) * np.pi * hot.r**2
    shape = hot.ramp * season[None, :] * hot.active  # each hotspot's monthly profile
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
    return hot_counts, bg_counts


def _draw_incidents(
    rng: np.random.Generator,
    places: Places,
    outline: shapely.Polygon,
    hot: _Hotspots,
    hot_counts: IntArray,
    bg_counts: IntArray,
) -> _Draws:
    """Draw the background incidents (types by urbanity), then the hotspots' (by profile)."""
    n_bg = int(bg_counts.sum())
    bg_xy = places.sample(rng, n_bg, outline, floor_share=_CRIME_FLOOR)
    bg_m = np.repeat(np.arange(len(bg_counts)), bg_counts)
    d = places.density(bg_xy, floor_share=_CRIME_FLOOR)
    urban = np.clip(np.log10(d * places.area / _CRIME_FLOOR) / 2.5, 0, 1)
    bg_type = _draw_types(rng, _type_matrix(urban))

    hh, mm = np.nonzero(hot_counts)
    reps = hot_counts[hh, mm]
    h_id = np.repeat(hh, reps)
    h_m = np.repeat(mm, reps)
    h_xy = hot.xy[h_id] + rng.normal(size=(len(h_id), 2)) * (hot.r[h_id] / 2)[:, None]
    outside = ~shapely.contains_xy(outline, h_xy[:, 0], h_xy[:, 1])
    h_xy[outside] = hot.xy[h_id[outside]]
    prof = np.array([[_PROFILES[p].get(t, 0.0) + 0.002 for t in CRIME_TYPES] for p in hot.profiles])
    h_type = _draw_types(rng, prof[h_id]) if len(h_id) else np.empty(0, dtype=np.int64)
    return _Draws(
        xy=np.vstack([bg_xy, h_xy]),
        month=np.r_[bg_m, h_m].astype(np.int64),
        ctype=np.r_[bg_type, h_type].astype(np.int64),
        hot=np.r_[np.full(n_bg, -1), h_id].astype(np.int64),
    )


def _file_rows(
    rng: np.random.Generator,
    draws: _Draws,
    snaps: _SnapPoints,
    geo: Geography,
    lay: dict[str, Any],
    no_location_share: float,
) -> _Rows:
    """Snap each incident to its nearest map point, drop some locations, put rows in file order.

    File order: month, located rows by LSOA then type, rows with no location last.
    """
    n = len(draws.xy)
    snap = cKDTree(snaps.xy).query(draws.xy)[1]
    # rows with no location: background, not ASB
    eligible = (draws.hot < 0) & (draws.ctype != _ASB)
    p_none = min(1.0, no_location_share * n / max(int(eligible.sum()), 1))
    located = ~(eligible & (rng.random(n) < p_none))
    n_wards = len(lay["wards_new"])
    lsoa = np.where(located, _snap_wards(snaps, geo, lay)[snap], n_wards)
    month, ctype = draws.month, draws.ctype
    order = np.lexsort((rng.random(n), ctype, lsoa, ~located, month))
    return _Rows(
        month[order], ctype[order], draws.hot[order], snap[order], located[order], lsoa[order]
    )


def _snap_wards(snaps: _SnapPoints, geo: Geography, lay: dict[str, Any]) -> IntArray:
    """Return the new ward (its row in ``lay["wards_new"]``) of each map point; -1 for none."""
    tree = shapely.STRtree(geo.atoms)
    hit_p, hit_a = tree.query(shapely.points(snaps.xy), predicate="intersects")
    _, first = np.unique(hit_p, return_index=True)
    snap_ward = np.full(len(snaps.xy), -1, dtype=np.int64)
    snap_ward[hit_p[first]] = lay["new_rank"][geo.ward_new[hit_a[first]]]
    return snap_ward


def _police_uk_rows(
    rng: np.random.Generator,
    rows: _Rows,
    snaps: _SnapPoints,
    lay: dict[str, Any],
    months: Sequence[str],
) -> pd.DataFrame:
    """Build the police.uk street-level rows (all months in one frame)."""
    n = len(rows.month)
    located, ctype = rows.located, rows.ctype
    sxy = snaps.xy[rows.snap]
    lon, lat = transformer(BNG, WGS84).transform(sxy[:, 0], sxy[:, 1])
    lon = np.where(located, np.round(lon, 6), np.nan)
    lat = np.where(located, np.round(lat, 6), np.nan)
    crime_id = pd.array(_hex_ids(rng, n), dtype="string")
    crime_id[ctype == _ASB] = pd.NA
    outcome = _outcomes(rng, rows.month, ctype, len(months))
    location = np.where(located, snaps.location[rows.snap], "No Location")
    lsoa_code, lsoa_name = _lsoa_names(lay)
    lsoa_at = np.minimum(rows.lsoa, len(lsoa_code) - 1)
    return pd.DataFrame(
        {
            "Crime ID": crime_id,
            "Month": pd.array(np.array(months)[rows.month], dtype="string"),
            "Reported by": pd.array(np.full(n, FORCE_NAME), dtype="string"),
            "Falls within": pd.array(np.full(n, FORCE_NAME), dtype="string"),
            "Longitude": lon,
            "Latitude": lat,
            "Location": pd.array(location.astype(str), dtype="string"),
            "LSOA code": _strings(lsoa_code[lsoa_at], located),
            "LSOA name": _strings(lsoa_name[lsoa_at], located),
            "Crime type": pd.array(np.array(CRIME_TYPES)[ctype], dtype="string"),
            "Last outcome category": pd.array(outcome, dtype="string"),
            "Context": pd.array([pd.NA] * n, dtype="string"),
        }
    )


def _outcomes(
    rng: np.random.Generator, month: IntArray, ctype: IntArray, n_m: int
) -> NDArray[np.object_]:
    """Draw each crime's last outcome (none for ASB); recent months are more often open."""
    outcome = np.empty(len(month), dtype=object)
    suspect = np.isin(ctype, [_T["Drugs"], _T["Possession of weapons"]])
    for m in range(n_m):  # outcomes depend on the month's age
        age = n_m - 1 - m
        for table, rows in ((_OUTCOME_GENERAL, ~suspect), (_OUTCOME_SUSPECT, suspect)):
            idx = np.flatnonzero((month == m) & rows & (ctype != _ASB))
            p = table.copy()
            p[_UNDER_INVESTIGATION] += 0.35 * np.exp(-age / 1.5)
            outcome[idx] = np.array(_OUTCOMES)[rng.choice(p.size, idx.size, p=p / p.sum())]
    return outcome


def _lsoa_names(lay: dict[str, Any]) -> tuple[NDArray[np.str_], NDArray[np.str_]]:
    """Return one LSOA per new ward: its code and its name (district name and ordinal)."""
    wn = lay["wards_new"]
    d_names = dict(zip(lay["districts"]["id"], lay["districts"]["name"], strict=True))
    ward_district = wn["district"].to_numpy()
    ordinal = wn.groupby("district").cumcount().to_numpy() + 1
    lsoa_code = np.array([f"E019{k + 1:05d}" for k in range(len(wn))])
    lsoa_name = np.array(
        [f"{d_names[dd]} {o:03d}A" for dd, o in zip(ward_district, ordinal, strict=True)]
    )
    return lsoa_code, lsoa_name


def _incident_truth(
    rows: _Rows, snaps: _SnapPoints, months: Sequence[str], n_h: int
) -> pd.DataFrame:
    """Return each row's file, row number, planted hotspot (or <NA>) and map point."""
    n = len(rows.month)
    month, hot, located = rows.month, rows.hot, rows.located
    sxy = snaps.xy[rows.snap]
    starts = np.searchsorted(month, np.arange(len(months)))
    row = np.arange(n) - starts[month] + 1
    hot_ids = _hotspot_ids(n_h)
    return pd.DataFrame(
        {
            "file": _strings(np.array([csv_name(mo) for mo in months])[month]),
            "row": row.astype(np.int64),
            "hotspot": _strings(hot_ids[np.maximum(hot, 0)], hot >= 0),
            "x": np.where(located, sxy[:, 0], np.nan),
            "y": np.where(located, sxy[:, 1], np.nan),
        }
    )


def _hotspot_ids(n_h: int) -> NDArray[np.str_]:
    return np.array([f"H{h + 1:02d}" for h in range(n_h)])


def _hotspot_table(hot: _Hotspots, rows: _Rows, months: Sequence[str]) -> gpd.GeoDataFrame:
    """Return the answer key: each planted hotspot with its kind, profile, size and activity."""
    n_h = len(hot)
    counts = np.bincount(rows.hot[rows.hot >= 0], minlength=n_h)
    main_type = np.array(
        [
            CRIME_TYPES[int(np.argmax(np.bincount(rows.ctype[rows.hot == h], minlength=14)))]
            for h in range(n_h)
        ]
    )
    act_idx = [np.flatnonzero(hot.active[h]) for h in range(n_h)]
    return gpd.GeoDataFrame(
        {
            "id": _hotspot_ids(n_h),
            "kind": hot.kinds.astype(str),
            "profile": hot.profiles.astype(str),
            "x": hot.xy[:, 0].round(1),
            "y": hot.xy[:, 1].round(1),
            "radius_m": hot.r.round(1),
            "incidents": counts.astype(np.int64),
            "months_active": hot.active.sum(axis=1).astype(np.int64),
            "first_month": [months[a[0]] for a in act_idx],
            "last_month": [months[a[-1]] for a in act_idx],
            "main_type": main_type,
        },
        geometry=shapely.points(hot.xy.round(1)),
        crs=BNG,
    )


def csv_name(month: str) -> str:
    """Return the police.uk-style file name of ``month`` (``"2025-11-sample-street.csv"``)."""
    return f"{month}-sample-street.csv"
