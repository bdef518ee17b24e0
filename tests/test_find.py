"""Tests for beatplan.hotspots.find: every method on the sample county, filters, invariants, bad
inputs, the method registry."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatplan.geo.errors import (
    BeatplanError,
    ColumnNotFoundError,
    CRSError,
    EmptyInputError,
    GeometryError,
    OptionError,
    ValidationError,
)
from beatplan.geo.sample import make_sample
from beatplan.hotspots import Hotspots, find_hotspots, select_incidents
from beatplan.hotspots.method import poisson_count

METHODS = ("gistar", "kde", "dbscan", "hdbscan")


@pytest.fixture(scope="module")
def county():
    return make_sample()


@pytest.fixture(scope="module")
def points(county):
    """The sample's located incidents as points, index = row of the police.uk table."""
    truth = county.incident_truth
    ok = truth["x"].notna().to_numpy()
    inc = county.incidents
    gdf = gpd.GeoDataFrame(
        {
            "month": pd.to_datetime(inc["Month"]),
            "category": inc["Crime type"].astype("string"),
            "planted": truth["hotspot"].astype("string"),
        },
        geometry=gpd.points_from_xy(truth["x"], truth["y"]),
        crs=27700,
    )
    return gdf[ok]


@pytest.fixture(scope="module")
def found(points):
    return {m: find_hotspots(points, method=m) for m in METHODS}


# At default parameters every method also marks the busiest centres of the sample's towns and
# villages (its background crime is drawn from their population), which are no planted
# hotspot. These are the numbers of such "false" hotspots each method is allowed, as a
# multiple of the planted ones: Gi* with FDR is the most selective, the density clusters the
# least (they split settlements into several clusters).
FALSE_PER_PLANTED = {"gistar": 2, "kde": 6, "dbscan": 8, "hdbscan": 15}


@pytest.mark.parametrize("method", METHODS)
def test_sample_county_planted_hotspots_found(method, county, found):
    hs = found[method]
    truth = county.hotspots_truth
    polys = np.asarray(hs.areas.geometry.values)
    centres = np.asarray(truth.geometry.values)
    inside = shapely.contains(polys[:, None], centres[None, :])  # hotspot x planted
    missed = truth["id"][~inside.any(axis=0)].tolist()
    assert missed == [], f"{method}: planted hotspots not inside a found hotspot: {missed}"
    false = int((~inside.any(axis=1)).sum())
    allowed = FALSE_PER_PLANTED[method] * len(truth)
    assert false <= allowed, f"{method}: {false} false hotspots, {allowed} allowed"
    # read from the top (ranked by excess incidents), the list meets the planted hotspots
    # first: those holding a planted centre are all among the first 2h ranks (h of them).
    # Not for HDBSCAN, whose hulls of nested clusters overlap, so a centre lies in several.
    holding = hs.areas["hotspot"].to_numpy()[inside.any(axis=1)]
    if method != "hdbscan":
        assert holding.max() <= 2 * len(holding), (method, holding.tolist())
    # the planted incidents mostly end up in hotspots
    planted = hs.points["planted"].notna().to_numpy()
    in_hot = (hs.points["hotspot"] > 0).to_numpy(dtype=bool)
    assert in_hot[planted].mean() > 0.8


@pytest.mark.parametrize("method", ["gistar", "kde"])
def test_default_grid_hotspots_are_separate_and_patrollable(county, points, found, method):
    """Each planted hotspot is its own hotspot, and none sprawls over a town.

    Gi* and the KDE threshold alone (``background=None``) compare every cell with the
    county's mean, so the sample's city is one hot run of cells holding several planted
    hotspots; that control is checked too, so the test shows what the background test does.
    """
    hs = found[method]
    centres = np.asarray(county.hotspots_truth.geometry.values)
    # a planted hotspot of radius r, smoothed over the band (bandwidth), is hot out to r + band
    reach = county.hotspots_truth["radius_m"].max() + hs.params["band" if method == "gistar"
                                                                else "bandwidth"]  # fmt: skip
    limit_km2 = 2.0 * np.pi * reach**2 / 1e6  # twice that disc (about 2.6 km² here)

    def check(result):
        polys = np.asarray(result.areas.geometry.values)
        per_hotspot = shapely.contains(polys[:, None], centres[None, :]).sum(axis=1)
        return int(per_hotspot.max()), float(result.areas["area_m2"].max() / 1e6)

    most, largest = check(hs)
    assert most == 1, f"a default hotspot holds {most} planted hotspots"
    assert largest <= limit_km2, f"a default hotspot covers {largest:.2f} km²"
    alone = find_hotspots(points, method=method, background=None)
    most_alone, largest_alone = check(alone)
    assert most_alone > 1 and largest_alone > limit_km2  # the control: alone, they merge
    assert alone.params["how"]["background"].startswith("off: ")
    assert "of the ring out to" in hs.params["how"]["background"]
    # the background test only removes cells: every default hot cell is hot without it
    assert hs.surface is not None and alone.surface is not None
    assert not (hs.surface.hot & ~alone.surface.hot).any()
    assert hs.surface.hot.sum() < alone.surface.hot.sum()


@pytest.mark.parametrize("method", METHODS)
def test_result_invariants(method, points, found):
    hs = found[method]
    assert isinstance(hs, Hotspots)
    a = hs.areas
    k = len(a)
    assert k > 0
    assert a["hotspot"].tolist() == list(range(1, k + 1))
    # ranked by excess incidents (the default): beyond the area's share at the mean density
    region_m2 = hs.params["region_km2"] * 1e6
    np.testing.assert_allclose(a["excess"], a["incidents"] - a["area_m2"] * len(points) / region_m2)
    assert (np.diff(a["excess"].to_numpy()) <= 1e-9).all()
    by_count = find_hotspots(points, method=method, rank_by="incidents").areas
    assert (np.diff(by_count["incidents"].to_numpy()) <= 0).all()
    assert sorted(by_count["incidents"]) == sorted(a["incidents"])
    # labels follow the input index; counts add up; nothing lost
    assert hs.labels.index.equals(points.index)
    assert hs.labels.notna().all()  # no filter: every incident analysed
    counts = hs.labels[hs.labels > 0].value_counts().sort_index()
    assert counts.index.tolist() == a["hotspot"].tolist()
    assert counts.tolist() == a["incidents"].tolist()
    assert set(hs.labels.unique()) <= {-1, *range(1, k + 1)}
    np.testing.assert_allclose(a["share"], a["incidents"] / len(points))
    # every incident of a hotspot lies in its polygon (on the edge at most)
    lab = hs.points["hotspot"].to_numpy(dtype=np.int64, na_value=-1)
    member = lab > 0
    geoms = np.asarray(a.geometry.values)[lab[member] - 1]
    assert shapely.intersects(geoms, hs.points.geometry.values[member]).all()
    np.testing.assert_allclose(a["area_m2"], shapely.area(a.geometry.values))
    np.testing.assert_allclose(a["density_km2"], a["incidents"] / a["area_m2"] * 1e6)
    assert (a["incidents"] >= hs.params["min_incidents"]).all()
    assert a.geometry.is_valid.all()
    assert a.crs.to_epsg() == 27700
    # what and when
    assert a["top_types"].notna().all()
    assert (a["months"] >= 1).all() and (a["months"] <= 12).all()
    assert (a["first_month"] <= a["last_month"]).all()
    assert a["peak_hours"].isna().all()  # police.uk data have no times
    assert (a["method"] == method).all()
    # every parameter is recorded with how it was chosen
    how = hs.params["how"]
    for key in hs.params:
        if key != "how":
            assert key in how, key
    if method in ("gistar", "kde"):
        assert "nearest-neighbour" in how["cell"]
        assert hs.surface is not None and hs.surface.counts.sum() == len(points)
    else:
        key = "min_samples" if method == "dbscan" else "min_cluster_size"
        assert "spatial randomness" in how[key]


def test_caller_frame_is_not_modified(points):
    before = points.copy()
    find_hotspots(points, method="gistar", since="3M", types=["Burglary", "Drugs"])
    pd.testing.assert_frame_equal(points, before)


def test_boundaries_name_the_areas_each_hotspot_lies_in(county, points):
    hs = find_hotspots(points, method="gistar", boundaries=county.wards_old)
    a = hs.areas
    for col in ("ward", "beat", "sector", "npa"):
        assert col in a.columns and a[col].notna().all()
    # a hotspot lying in one beat names it; a hotspot spanning several lists them
    beats = county.beats.set_index("id").geometry
    for _, row in a.head(10).iterrows():
        names = row["beat"].split("; ")
        assert all(beats[b].intersects(row.geometry) for b in names)
        covered = shapely.union_all([beats[b] for b in names])
        assert covered.intersection(row.geometry).area >= 0.95 * row.geometry.area
    # a mapping of layers works too, and a beat layer's own ids are beats
    hs2 = find_hotspots(points, method="gistar", boundaries={"npa": county.npas})
    assert hs2.areas["npa"].tolist() == a["npa"].tolist()
    hs3 = find_hotspots(points, method="gistar", boundaries=county.beats)
    assert hs3.areas["beat"].tolist() == a["beat"].tolist()


def test_since_on_monthly_data_takes_whole_months(points):
    keep, applied, _ = select_incidents(points, since="28D")
    assert points["month"][keep].unique().tolist() == [points["month"].max()]
    assert "latest 1 month" in applied["since"]
    keep3, _, _ = select_incidents(points, since="90D")
    assert points["month"][keep3].nunique() == 3
    keep_m, _, _ = select_incidents(points, since="2M")
    assert points["month"][keep_m].nunique() == 2
    hs = find_hotspots(points, method="kde", since="28D")
    assert hs.params["how"]["since"] == "given"
    assert hs.labels.isna().sum() == int((~keep).sum())  # left out: <NA>
    assert (hs.labels.dropna() >= -1).all()


def test_since_with_timestamps_counts_days(points):
    ts = points.copy()
    rng = np.random.default_rng(0)
    ts["timestamp"] = ts["month"] + pd.to_timedelta(rng.integers(0, 28 * 24, len(ts)), unit="h")
    keep, _, _ = select_incidents(ts, since="7D")
    latest = ts["timestamp"].max()
    assert (ts["timestamp"][keep] > latest - pd.Timedelta(days=7)).all()
    assert int(keep.sum()) == int((ts["timestamp"] > latest - pd.Timedelta(days=7)).sum())
    hs = find_hotspots(ts, method="gistar")
    assert hs.areas["peak_hours"].notna().all()


def test_months_types_and_area_filters(county, points):
    keep, applied, _ = select_incidents(
        points, months=("2026-01", "2026-03"), types=["burglary", "Drugs"]
    )
    sel = points[keep]
    assert set(sel["month"].dt.strftime("%Y-%m")) == {"2026-01", "2026-02", "2026-03"}
    assert set(sel["category"]) == {"Burglary", "Drugs"}
    assert applied["types"] == ["Burglary", "Drugs"]
    beat = county.beats.iloc[[0]]
    keep_a, _, _ = select_incidents(points, area=beat)
    assert keep_a.any()
    assert beat.geometry.iloc[0].buffer(1e-6).contains(shapely.points(
        np.c_[points.geometry.x[keep_a], points.geometry.y[keep_a]])).all()  # fmt: skip
    hs = find_hotspots(points, method="gistar", area=beat, min_incidents=5)
    assert hs.params["incidents"] == int(keep_a.sum())
    assert "with their centre in the area" in hs.params["how"]["study_region"]


def test_type_typo_lists_the_types(points):
    with pytest.raises(OptionError, match=r"did you mean 'Burglary'.*Vehicle crime"):
        find_hotspots(points, types="Burglery")


def test_weights_and_halflife(points):
    w = np.where(points["category"] == "Violence and sexual offences", 3.0, 1.0)
    hs = find_hotspots(points, method="gistar", weights=w)
    assert hs.params["weights"] == "array"
    assert "weights" in hs.params["how"]
    assert hs.surface is not None
    assert hs.surface.values.sum() == pytest.approx(w.sum())
    assert hs.surface.counts.sum() == len(points)
    hs2 = find_hotspots(points, method="kde", halflife="30D")
    assert hs2.surface is not None and hs2.surface.values.sum() < len(points)
    with pytest.raises(ColumnNotFoundError, match="harm"):
        find_hotspots(points, weights="harm")


def test_permutations_are_seeded(points):
    sel = points[points["month"] >= points["month"].max() - pd.DateOffset(months=2)]
    a = find_hotspots(sel, method="gistar", permutations=9999, seed=1)
    b = find_hotspots(sel, method="gistar", permutations=9999, seed=1)
    assert a.areas["incidents"].tolist() == b.areas["incidents"].tolist()
    assert a.params["permutations"] == 9999 and a.params["seed"] == 1
    # the seed reaches the draws: with few draws and no FDR the marginal cells depend on it
    few = {
        s: find_hotspots(sel, method="gistar", permutations=99, fdr=False, seed=s).surface
        for s in (1, 2)
    }
    again = find_hotspots(sel, method="gistar", permutations=99, fdr=False, seed=1).surface
    assert few[1] is not None and few[2] is not None and again is not None
    assert np.array_equal(few[1].hot, again.hot)
    assert not np.array_equal(few[1].hot, few[2].hot)


def test_poisson_count_rule():
    assert poisson_count(1000, 100.0, 1e8) == 4  # mean 0.31: P(X >= 4) < 0.001 < P(X >= 3)
    assert poisson_count(0, 100.0, 1e8) == 1


# --------------------------------------------------------------------------- bad inputs


def _pts(xy, crs=27700, **cols):
    xy = np.asarray(xy, dtype=float)
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def test_empty_selection_says_which_filter(points):
    with pytest.raises(EmptyInputError, match=r"months=2019-01 \.\. 2019-03 selects none.*cover"):
        find_hotspots(points, months=("2019-01", "2019-03"))
    few = _pts([[0, 0], [100, 0], [0, 100]], month=pd.to_datetime(["2025-01", "2025-02"] * 1
                                                                   + ["2025-02"]),
               category=["Burglary", "Drugs", "Drugs"])  # fmt: skip
    with pytest.raises(EmptyInputError, match=r"types=\['Burglary'\] selects none"):
        find_hotspots(few, since="28D", types=["Burglary"])
    with pytest.raises(EmptyInputError, match="area= selects none"):
        find_hotspots(points, area=shapely.box(0, 0, 100, 100))
    with pytest.raises(EmptyInputError, match="no incidents given"):
        find_hotspots(points.iloc[:0])


def test_every_point_identical():
    with pytest.raises(EmptyInputError, match="one location"):
        find_hotspots(_pts([[450000.0, 300000.0]] * 50))


def test_one_incident():
    with pytest.raises(EmptyInputError, match="1 incident"):
        find_hotspots(_pts([[450000.0, 300000.0]]))


def test_nans_are_reported_with_their_index():
    g = _pts([[450000.0, 300000.0], [np.nan, 300100.0], [450200.0, 300000.0]])
    g.index = [10, 11, 12]
    with pytest.raises(GeometryError, match=r"1 incidents have NaN.*index 11"):
        find_hotspots(g)
    g2 = g.copy()
    g2.loc[11, "geometry"] = None
    with pytest.raises(GeometryError, match="no geometry"):
        find_hotspots(g2)
    # an empty point (GEOS refuses its x) and a line are reported too, each with its index
    g3 = g.copy()
    g3.loc[11, "geometry"] = shapely.Point()
    g3.loc[12, "geometry"] = shapely.LineString([(0, 0), (1, 1)])
    with pytest.raises(GeometryError, match=r"empty geometry \(index 11\).*not Points \(index 12"):
        find_hotspots(g3)


def test_window_with_no_data(points):
    with pytest.raises(EmptyInputError, match="2030-01"):
        find_hotspots(points, months="2030-01")
    with pytest.raises(ValidationError, match="need dates"):
        find_hotspots(_pts([[0, 0], [100, 100]]), since="28D")


@pytest.mark.parametrize(
    "arg, method",
    [("cell", "gistar"), ("band", "gistar"), ("eps", "dbscan"), ("bandwidth", "kde"),
     ("buffer", "hdbscan")],
)  # fmt: skip
def test_distance_in_degrees_on_projected_data(points, arg, method):
    with pytest.raises(CRSError, match=rf"{arg}=0.001 looks like degrees.*EPSG:27700"):
        find_hotspots(points, method=method, **{arg: 0.001})


def test_geographic_input_is_reprojected_and_degree_distances_refused(points):
    ll = points.iloc[:3000].to_crs(4326)
    hs = find_hotspots(ll, method="gistar", min_incidents=5)
    assert hs.areas.crs.to_epsg() == 27700
    assert hs.params["crs"] == "EPSG:27700"
    assert hs.params["how"]["crs"] == "the working CRS (the incidents are in EPSG:4326)"
    with pytest.raises(CRSError, match="degrees"):
        find_hotspots(ll, cell=0.002)


def test_other_bad_inputs(points):
    no_crs = points.iloc[:10].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        find_hotspots(no_crs)
    with pytest.raises(OptionError, match="'spots', 'gistar', 'kde', 'dbscan', 'hdbscan'"):
        find_hotspots(points, method="kmeans")
    with pytest.raises(ValidationError, match="GeoDataFrame"):
        find_hotspots(pd.DataFrame({"x": [1.0]}))
    lines = points.iloc[:5].copy()
    lines["geometry"] = shapely.buffer(lines.geometry.values, 1.0)
    with pytest.raises(GeometryError, match="not Points"):
        find_hotspots(lines)
    with pytest.raises(CRSError, match="lon/lat"):
        find_hotspots(points, area=shapely.box(-1.2, 52.5, -1.1, 52.6))
    with pytest.raises(ValidationError, match="weights"):
        find_hotspots(points, weights=np.ones(3))
    with pytest.raises(ValidationError, match="hdbscan"):
        find_hotspots(points, method="hdbscan", halflife="30D")
    with pytest.raises(ValidationError, match=r"background=1: give the ring's radius in bands"):
        find_hotspots(points, method="gistar", background=1)
    with pytest.raises(ValidationError, match="background= applies to gistar, kde, dbscan and"):
        find_hotspots(points, background=4)  # the default method has no significance test
    # every failure is a BeatplanError (one line on the command line, exit 2)
    with pytest.raises(BeatplanError):
        find_hotspots(points, since="yesterday-ish")


@pytest.mark.parametrize("method", ["dbscan", "hdbscan"])
def test_default_density_clusters_are_patrollable(county, points, found, method):
    """The background test keeps density clusters to peaks, not whole towns.

    By default DBSCAN and HDBSCAN cluster only the locations whose ``eps`` neighbourhood
    stands out from its ring: every planted hotspot is still found, each its own, and no
    hotspot covers more than 4 km². Without the test (the control, ``background=None``)
    DBSCAN's min_samples and HDBSCAN's tree compare with the whole county's mean, so a town
    is one cluster far larger than that.
    """
    centres = np.asarray(county.hotspots_truth.geometry.values)
    limit_km2 = 4.0  # a patrollable patch

    def check(result):
        polys = np.asarray(result.areas.geometry.values)
        inside = shapely.contains(polys[:, None], centres[None, :])
        return (
            int((~inside.any(axis=0)).sum()),
            int(inside.sum(axis=1).max()),
            float(result.areas["area_m2"].max() / 1e6),
        )

    hs = found[method]
    missed, most, largest = check(hs)
    assert missed == 0, f"{method}: {missed} planted hotspots missed"
    assert most == 1, f"{method}: a hotspot holds {most} planted hotspots"
    assert largest <= limit_km2, f"{method}: a hotspot covers {largest:.2f} km²"
    control = find_hotspots(points, method=method, background=None)
    _, most_c, largest_c = check(control)
    assert largest_c > limit_km2, largest_c  # the control sprawls
    if method == "dbscan":
        assert most_c > 1  # ... over several planted hotspots
    assert "exceeds the mean of the ring" in hs.params["how"]["background"]
    assert control.params["how"]["background"].startswith("off: ")
    if method == "dbscan":  # DBSCAN of fewer locations: every cluster within one of the control
        assert (control.labels[hs.labels > 0] > 0).all()


def test_many_points_are_read_in_two_threads_with_the_same_checks():
    """From 200,000 points the x and y are read in two threads; an empty point still says so."""
    from beatplan.hotspots.points import THREADED_XY, coordinates

    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 10_000, (THREADED_XY + 10, 2)) + [400_000, 300_000]
    g = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=27700)
    got = coordinates(g)
    assert np.array_equal(got, xy) and got.flags.f_contiguous
    g.loc[123_456, "geometry"] = shapely.Point()
    with pytest.raises(GeometryError, match=r"1 incidents have an empty geometry \(index 123456\)"):
        find_hotspots(g)
