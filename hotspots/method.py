"""What a hotspot method is: its options and defaults, the rules behind them, and its run.

Each data-driven default has a rule that also says what it found.

A method is a small frozen dataclass in the manner of a scikit-learn estimator: its fields
are its options, their defaults are written once, on the class, and its three steps are

``checked(crs)``
    refuse values that cannot be right (a distance that looks like degrees) before any work;
``resolved(study)``
    fill every option left to the data from a :class:`beatplan.hotspots.study.Study` (the
    selected incidents and their area), each by a named rule that also says what it found,
    for ``params["how"]``;
``run(study, min_incidents=..., coverage=...)``
    find the raw hotspots: each incident's group, the groups' polygons and scores.

:func:`beatplan.hotspots.find_hotspots`, :func:`beatplan.hotspots.backtest` and
:func:`beatplan.hotspots.emerging_hotspots` all take their methods from
:mod:`beatplan.hotspots.registry`, so they share every default.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import MISSING, dataclass, fields, replace
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray
from pyproj import CRS
from scipy import stats

from beatplan.geo.errors import CRSError, ValidationError
from beatplan.hotspots.result import Surface
from beatplan.hotspots.study import Study

__all__ = [
    "DEGREE_LIKE",
    "GRID_CONNECTIVITY",
    "Found",
    "HotspotMethod",
    "TestedMethod",
    "metres",
    "min_incidents_rule",
    "poisson_count",
]

#: Distances below this many metres are taken to be degrees given by mistake.
DEGREE_LIKE = 1.0
#: Hot grid cells touching by an edge or a corner (8) make one hotspot, by default.
GRID_CONNECTIVITY = 8


@dataclass(frozen=True)
class Found:
    """What a method's run found, before ranking.

    Attributes
    ----------
    raw : ndarray of int64, shape (n,)
        Each incident's raw group (a run of hot cells or a cluster), ``-1`` for none.
    polygons : dict
        Raw group -> its polygon.
    scores : dict
        Raw group -> the method's score (peak z, peak density, cluster density).
    params : dict
        The values the run used, in the order they are recorded.
    how : dict
        How each was chosen, for ``params["how"]``.
    surface : Surface or None
        A grid method's surface.
    """

    raw: NDArray[np.int64]
    polygons: dict[int, Any]
    scores: dict[int, float]
    params: dict[str, Any]
    how: dict[str, str]
    surface: Surface | None = None


@dataclass(frozen=True, kw_only=True)
class HotspotMethod(ABC):
    """A hotspot method's options, with the one every method takes.

    Parameters
    ----------
    cell : float, optional
        Grid cell side in metres (the grid methods' lattice; the study-region grid of the
        density clusters; the outline cells of the spots). Default: each method's rule.
    """

    #: The method's name in the registry.
    name: ClassVar[str] = ""
    #: Whether the method runs on weighted counts (``weights=``, ``halflife=``).
    takes_weights: ClassVar[bool] = True
    #: The options given in metres, checked in this order.
    distances: ClassVar[tuple[str, ...]] = ("cell",)
    #: How :func:`beatplan.hotspots.find_hotspots` ranks the method's hotspots by default.
    rank_by: ClassVar[str] = "excess"
    #: Whether the method meets a ``coverage`` itself (by ranking cells); otherwise
    #: :func:`beatplan.hotspots.find_hotspots` keeps its hotspots in rank order while they fit.
    takes_coverage: ClassVar[bool] = False
    #: Whether the method reads the incidents' months (:attr:`Study.months`).
    needs_months: ClassVar[bool] = False

    cell: float | None = None

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        """Return the names of the options this method takes."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def default(cls, name: str) -> Any:
        """Return the default of option ``name`` (None: chosen from the data)."""
        for f in fields(cls):
            if f.name == name:
                return None if f.default is MISSING else f.default
        raise KeyError(name)

    def checked(self, crs: CRS) -> Self:
        """Return the options with every distance checked to be metres (and made a float).

        Raises
        ------
        CRSError
            A distance below a metre: degrees given for a projected CRS.
        ValidationError
            A distance that is not a positive number.
        """
        checked: dict[str, Any] = {}
        for name in self.distances:
            value = getattr(self, name)
            checked[name] = value if isinstance(value, str) else metres(name, value, crs)
        return replace(self, **checked)

    @abstractmethod
    def resolved(self, study: Study) -> tuple[Self, dict[str, str]]:
        """Return the options with every data-driven default filled, and how each was chosen."""

    @abstractmethod
    def run(
        self, study: Study, *, min_incidents: int | None, coverage: float | None = None
    ) -> Found:
        """Find the raw hotspots of ``study`` with these (resolved) options.

        ``coverage``: a share of the study area the hotspots are to cover, for a method
        that :attr:`takes_coverage` (the others are given None).
        """

    def connected_by(self) -> int:
        """Return how hot grid cells join into one hotspot (4 or 8), as recorded in params."""
        return GRID_CONNECTIVITY

    def resolved_cell(self, study: Study) -> tuple[float, str]:
        """Return the grid cell, given or the data-driven default, and how it was chosen."""
        return (self.cell, "given") if self.cell is not None else study.default_cell


@dataclass(frozen=True, kw_only=True)
class TestedMethod(HotspotMethod):
    """A method whose hotspots pass a significance test: Gi*, KDE, DBSCAN and HDBSCAN.

    Parameters
    ----------
    cell : float, optional
        Default: the upper quartile of the nearest-neighbour distances between distinct
        incident locations, rounded to a nice number
        (:func:`beatplan.hotspots.grid.default_cell`).
    alpha : float
        Significance level (Gi*, and the background test of every tested method).
    fdr : bool
        Benjamini–Hochberg false-discovery-rate control over the study region's cells.
    background : float or None
        A hotspot must also stand out from its own surroundings: the ring out to this many
        times the method's radius (:mod:`beatplan.hotspots.background`); None: the method alone.
    """

    alpha: float = 0.05
    fdr: bool = True
    background: float | None = 4.0

    def __post_init__(self) -> None:
        ring = self.background
        if ring is not None and not (math.isfinite(float(ring)) and float(ring) > 1):
            raise ValidationError(
                "background",
                [f"background={ring!r}: give the ring's radius in bands (bandwidths "
                 "for kde, eps for dbscan/hdbscan), more than 1 (default 4), or None for the "
                 "method alone"],
            )  # fmt: skip

    def alpha_note(self) -> str:
        """Say how ``alpha`` was chosen, for ``params["how"]``."""
        default = self.default("alpha")
        return f"default {default}" if self.alpha == default else "given"

    def fdr_note(self) -> str:
        """Say what ``fdr`` does, for ``params["how"]``."""
        return "Benjamini–Hochberg over the study region's cells" if self.fdr else "off"


def metres(name: str, value: float | None, crs: CRS) -> float | None:
    """Check a distance given in metres; refuse degree-sized or non-positive values.

    Parameters
    ----------
    name : str
        The option, for messages.
    value : float or None
        None passes through (the default).
    crs : pyproj.CRS
        The projected CRS the distance is in, for messages.

    Returns
    -------
    float or None
    """
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(name, [f"{name}={value!r} is not a number of metres"]) from exc
    if not (math.isfinite(v) and v > 0):
        raise ValidationError(name, [f"{name}={value!r} must be a positive number of metres"])
    if v < DEGREE_LIKE:
        epsg = crs.to_epsg()
        raise CRSError(
            f"{name}={value!r} looks like degrees, but distances are in metres of the "
            f"projected CRS {'EPSG:' + str(epsg) if epsg else crs.name}; give it in metres "
            f"(e.g. {name}=100)"
        )
    return v


def poisson_count(total: float, radius: float, region_area: float, p: float = 0.001) -> int:
    """Smallest count that fewer than ``p`` of discs of ``radius`` reach under randomness.

    With ``total`` incidents spread uniformly at random over ``region_area`` (m²), the count
    in a disc of radius ``radius`` is Poisson with mean ``total * pi * radius**2 /
    region_area``; the result is the smallest ``m`` with ``P(X >= m) < p``.

    Examples
    --------
    >>> poisson_count(1000, 100.0, 1e8)    # mean 0.31 per disc
    4
    """
    mu = float(total) * math.pi * radius * radius / max(region_area, 1e-9)
    return int(stats.poisson.isf(p, mu)) + 1


def min_incidents_rule(
    given: int | None, n: int, radius: float, region_area: float
) -> tuple[int, str]:
    """Return the fewest incidents a hotspot holds, and how it was chosen.

    Default: the smallest count that fewer than 0.1 % of discs of the method's ``radius``
    would reach if the ``n`` incidents were spread at random over the study region
    (:func:`poisson_count`), and at least 5.
    """
    if given is not None:
        return int(given), "given"
    floor = poisson_count(n, radius, region_area)
    return max(5, floor), (
        f"smallest count reached by fewer than 0.1 % of {radius:.0f} m discs if the {n:,} "
        f"incidents were spread at random over the study region ({region_area / 1e6:.3g} km²): "
        f"{floor}, at least 5"
    )
