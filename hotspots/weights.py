"""Per-incident weights for the hotspot methods: a column or array (e.g. harm), and recency.

:func:`hotspot_weights` reads ``weights`` (a column name or one number per incident) and
multiplies in an exponential decay by age, ``0.5 ** (age / halflife)``, for ``halflife``.
:func:`weight_scale` is the factor that makes a sum of such weights roughly Poisson.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from beatplan.geo.errors import ColumnNotFoundError, ValidationError
from beatplan.hotspots.select import DAYS_PER_MONTH, PERIOD, incident_dates

__all__ = ["hotspot_weights", "selected_weights", "weight_scale"]


def hotspot_weights(
    points: gpd.GeoDataFrame, weights: Any = None, halflife: str | None = None
) -> tuple[NDArray[np.float64] | None, list[str]]:
    """Return one weight per incident (None: unweighted) and how they were made.

    Parameters
    ----------
    points : geopandas.GeoDataFrame
        The incidents.
    weights : str or array, optional
        A column of ``points``, or one non-negative number per incident.
    halflife : str, optional
        A period (``"30D"``, ``"2M"``): incidents are weighted ``0.5 ** (age / halflife)``,
        the age counted back from the latest date in the data (an undated incident weighs 0).

    Returns
    -------
    weights : ndarray or None
    notes : list of str
        One line per source of weight, for ``params["how"]``.

    Raises
    ------
    ColumnNotFoundError
        ``weights`` names no column.
    ValidationError
        The wrong number of weights, missing or negative ones, a bad ``halflife``, or
        ``halflife`` on undated incidents.
    """
    notes: list[str] = []
    w: NDArray[np.float64] | None = None
    if weights is not None:
        w, note = _given_weights(points, weights)
        notes.append(note)
    if halflife is not None:
        decay, note = _recency(points, halflife)
        w = decay if w is None else w * decay
        notes.append(note)
    return w, notes


def _given_weights(points: gpd.GeoDataFrame, weights: Any) -> tuple[NDArray[np.float64], str]:
    if isinstance(weights, str):
        if weights not in points.columns:
            raise ColumnNotFoundError(
                f"weights={weights!r}: no such column in the incidents; they have "
                + ", ".join(map(str, points.columns))
            )
        w = pd.to_numeric(points[weights], errors="coerce").to_numpy(dtype=float)
        note = f"weights: column {weights!r}"
    else:
        w = np.asarray(weights, dtype=float)
        if w.shape != (len(points),):
            raise ValidationError(
                "weights", [f"expected {len(points)} weights, one per incident, found {w.shape}"]
            )
        note = "weights: given per incident"
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise ValidationError(
            "weights",
            [f"{int(bad.sum()):,} weights are missing, negative or not numbers "
             f"(index {', '.join(map(str, points.index[bad][:5]))})"],
        )  # fmt: skip
    return w, note


def _recency(points: gpd.GeoDataFrame, halflife: Any) -> tuple[NDArray[np.float64], str]:
    m = PERIOD.match(halflife) if isinstance(halflife, str) else None
    if m is None or int(m.group(1)) < 1:
        raise ValidationError(
            "halflife", [f"halflife={halflife!r}: give a period such as '30D', '2M'"]
        )
    n, unit = int(m.group(1)), m.group(2).lower()
    days = n * {"d": 1.0, "w": 7.0, "m": DAYS_PER_MONTH, "y": 365.25}[unit]
    when, _ = incident_dates(points)
    if when.isna().all():
        raise ValidationError("halflife", ["halflife= needs dates; the incidents have none"])
    age = (when.max() - when).dt.total_seconds().to_numpy() / 86400.0
    decay = np.where(np.isnan(age), 0.0, 0.5 ** (np.nan_to_num(age) / days))
    return decay, f"halflife: {halflife} ({days:g} days) before the latest date"


def selected_weights(weights: Any, n_input: int, keep: NDArray[np.bool_]) -> Any:
    """Subset an array of weights (one per input incident) to the selection ``keep``.

    A column name is returned as it is (the selected rows carry the column).
    """
    if weights is None or isinstance(weights, str):
        return weights
    arr = np.asarray(weights, dtype=float)
    if arr.shape != (n_input,):
        raise ValidationError(
            "weights", [f"expected {n_input} weights, one per incident, found {arr.shape}"]
        )
    return arr[keep]


def weight_scale(w: NDArray[np.float64] | None) -> float:
    """``sum(w) / sum(w²)``: the factor that makes a sum of weights roughly Poisson (1: none).

    A sum of incidents weighted ``w`` is compound Poisson; multiplied by this factor its
    variance matches its mean, so a Poisson test applies to it.
    """
    return 1.0 if w is None else float(w.sum() / max(float((w * w).sum()), 1e-300))
