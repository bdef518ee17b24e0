"""Score hotspot polygons by how well they predict later incidents: hit rate, PAI and RRI.

For a selected area holding ``h`` of the ``N`` later incidents and covering ``a`` of the study
area ``A``:

* hit rate ``h / N``;
* PAI, the predictive accuracy index (Chainey, Tompson & Uhlig 2008), ``(h / N) / (a / A)``;
* RRI, the recapture rate index (Levine 2008), ``(h / h_train) / (N / N_train)``: how the
  selected area's count changed relative to the whole area's.

:func:`beatplan.hotspots.backtest` does this month by month, for the maps
:func:`beatplan.hotspots.find_hotspots` draws, beside the naive baseline.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from beatplan.geo.errors import CRSError, EmptyInputError, ValidationError
from beatplan.hotspots.points import coordinates, prepare_incidents
from beatplan.hotspots.result import Hotspots
from beatplan.hotspots.study_area import as_study_area, derive_study_area

__all__ = ["evaluate"]


def evaluate(
    hotspots: Hotspots | gpd.GeoDataFrame | gpd.GeoSeries,
    later_incidents: Any,
    study_area: Any = None,
    *,
    earlier: Any = None,
) -> pd.Series:
    """Hit rate, PAI and RRI of hotspot polygons against later incidents.

    Parameters
    ----------
    hotspots : Hotspots, GeoDataFrame or GeoSeries
        The hotspots (their union is the selected area).
    later_incidents : beatplan.geo.Incidents or GeoDataFrame
        The incidents of the following period.
    study_area : polygon, GeoSeries, GeoDataFrame, mapping or BoundaryPlan, optional
        The area the hotspots were chosen from (the force or beat); only incidents inside it
        count, and it is the PAI's denominator. Default: a ``Hotspots`` result's own study
        area, else one derived from the later and earlier incidents, robust to stray points
        (:func:`beatplan.hotspots.study_area.derive_study_area`; never their convex hull,
        which stray points far outside the force would inflate many times).
    earlier : beatplan.geo.Incidents or GeoDataFrame, optional
        The incidents the hotspots were found from, for RRI; taken from a ``Hotspots``
        result when not given.

    Returns
    -------
    pandas.Series
        ``incidents`` (later, inside the study area), ``outside`` (later, outside it, not
        counted), ``hits``, ``hit_rate``, ``area_m2`` (hotspots inside the study area),
        ``study_area_m2``, ``area_share``, ``pai``, ``earlier_incidents``, ``earlier_hits``
        and ``rri`` (NaN without earlier incidents); ``attrs["study_area"]`` says where the
        study area came from.

    Examples
    --------
    >>> import geopandas as gpd, shapely                              # doctest: +SKIP
    >>> evaluate(hs, next_month, force_area)["pai"]                   # doctest: +SKIP
    """
    own = None
    if isinstance(hotspots, Hotspots):
        polys = hotspots.areas.geometry
        own = hotspots.study_area
        if earlier is None:
            earlier = hotspots.points
    elif isinstance(hotspots, gpd.GeoDataFrame):
        polys = hotspots.geometry
    elif isinstance(hotspots, gpd.GeoSeries):
        polys = hotspots
    else:
        raise ValidationError(
            "hotspots",
            [
                "expected a Hotspots result, GeoDataFrame or GeoSeries, found "
                f"{type(hotspots).__name__}"
            ],
        )
    if polys.crs is None:
        raise CRSError("hotspots: the polygons have no CRS")
    crs = CRS.from_user_input(polys.crs)
    later = prepare_incidents(later_incidents, what="later_incidents").to_crs(crs)
    before = None if earlier is None else prepare_incidents(earlier, what="earlier").to_crs(crs)
    if study_area is None and own is not None:
        sa = own
    elif study_area is None:
        xy = [coordinates(later)] + ([] if before is None else [coordinates(before)])
        sa = derive_study_area(np.concatenate(xy))
    else:
        sa = as_study_area(study_area, crs)
    area = sa.geometry
    shapely.prepare(area)
    hot = shapely.intersection(shapely.union_all(polys.values), area)
    shapely.prepare(hot)

    def count(points: gpd.GeoDataFrame) -> tuple[int, int, int]:
        xy = coordinates(points)
        inside = sa.inside(xy)
        x, y = xy[inside, 0], xy[inside, 1]
        hits = shapely.intersects_xy(hot, x, y) if not hot.is_empty else []
        return int(inside.sum()), int(np.sum(hits)), int((~inside).sum())

    n, h, outside = count(later)
    if n == 0:
        raise EmptyInputError("later_incidents: none lies inside the study area")
    a_hot, a_all = float(hot.area), float(area.area)
    hit_rate = h / n
    share = a_hot / a_all
    out = {
        "incidents": n,
        "outside": outside,
        "hits": h,
        "hit_rate": hit_rate,
        "area_m2": a_hot,
        "study_area_m2": a_all,
        "area_share": share,
        "pai": hit_rate / share if share > 0 else math.nan,
        "earlier_incidents": math.nan,
        "earlier_hits": math.nan,
        "rri": math.nan,
    }
    if before is not None:
        n0, h0, _ = count(before)
        out["earlier_incidents"], out["earlier_hits"] = n0, h0
        if n0 and h0:
            out["rri"] = (h / h0) / (n / n0)
    result = pd.Series(out, name="evaluation")
    result.attrs["study_area"] = sa.describe()
    return result
