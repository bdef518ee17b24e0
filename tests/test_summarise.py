"""Tests for beatplan.hotspots.summarise: hotspots and their incidents per beat or NPA."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from beatplan.geo.errors import ColumnNotFoundError, CRSError, EmptyInputError, ValidationError
from beatplan.geo.sample import make_sample
from beatplan.hotspots import find_hotspots, summarise


@pytest.fixture(scope="module")
def county():
    return make_sample()


@pytest.fixture(scope="module")
def hotspots(county):
    truth = county.incident_truth
    ok = truth["x"].notna().to_numpy()
    pts = gpd.GeoDataFrame(
        {"month": pd.to_datetime(county.incidents["Month"])},
        geometry=gpd.points_from_xy(truth["x"], truth["y"]),
        crs=27700,
    )[ok]
    return find_hotspots(pts, method="gistar")


@pytest.mark.parametrize("layer", ["beats", "npas", "sectors"])
def test_counts_add_up(county, hotspots, layer):
    areas = getattr(county, layer)
    table = summarise(hotspots, areas)
    assert table.index.equals(areas.index)
    assert table["id"].tolist() == areas["id"].tolist()
    # the layers cover the county, so every analysed incident is counted exactly once
    assert table["incidents"].sum() == len(hotspots.points)
    assert table["hotspot_incidents"].sum() == int((hotspots.labels > 0).sum())
    assert (table["hotspot_incidents"] <= table["incidents"]).all()
    # the hotspot area per area adds up to the hotspots' area (they lie in the county)
    assert table["hotspot_area_m2"].sum() == pytest.approx(
        hotspots.areas["area_m2"].sum(), rel=1e-6
    )
    # every hotspot is listed somewhere, and where it has incidents
    listed = {int(h) for ids in table["hotspot_ids"].dropna() for h in ids.split("; ")}
    assert listed == set(hotspots.areas["hotspot"])
    has = table["hotspot_incidents"] > 0
    assert (table.loc[has, "hotspots"] > 0).all()
    np.testing.assert_allclose(table["area_share"], table["hotspot_area_m2"] / table["area_m2"])


def test_hotspot_ids_match_geometry(county, hotspots):
    table = summarise(hotspots, county.npas).set_index("id")
    for _, hs in hotspots.areas.head(5).iterrows():
        holders = table.index[table["hotspot_ids"].fillna("").str.split("; ").apply(
            lambda ids, h=str(hs["hotspot"]): h in ids)]  # fmt: skip
        geoms = county.npas.set_index("id").geometry[holders]
        assert shapely.union_all(geoms.values).buffer(1).contains(hs.geometry)


def test_reprojected_areas_and_other_id_column(county, hotspots):
    beats = county.beats.to_crs(4326).rename(columns={"id": "beat_code"})
    a = summarise(hotspots, beats, id_col="beat_code")
    b = summarise(hotspots, county.beats)
    assert a["incidents"].tolist() == b["incidents"].tolist()
    assert a.crs.to_epsg() == 27700


def test_bad_inputs(county, hotspots):
    with pytest.raises(ColumnNotFoundError, match="beat_no"):
        summarise(hotspots, county.beats, id_col="beat_no")
    with pytest.raises(EmptyInputError):
        summarise(hotspots, county.beats.iloc[:0])
    with pytest.raises(CRSError, match="no CRS"):
        summarise(hotspots, county.beats.set_crs(None, allow_override=True))
    with pytest.raises(ValidationError, match="Hotspots result"):
        summarise(hotspots.areas, county.beats)
