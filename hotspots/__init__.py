"""Find, rank, summarise and score crime hotspots in geocoded incidents.

Getis-Ord Gi* with false-discovery-rate control, kernel density, and weighted DBSCAN/HDBSCAN
on distinct locations, all in metres, each a method class of one registry
(:mod:`beatplan.hotspots.registry`: its options, their defaults and rules, its run); ranked
hotspot polygons with what, when and where;
per-area summaries; and hit rate, PAI and RRI with a rolling backtest against a naive
baseline; emerging hotspots (Gi* month by month with a Mann–Kendall trend). ``hotspots``
imports only ``geo``.

Examples
--------
>>> from beatplan.hotspots import find_hotspots, summarise, backtest        # doctest: +SKIP
>>> hs = find_hotspots(incidents, method="gistar", since="28D")     # doctest: +SKIP
>>> hs.areas.head()                                                  # doctest: +SKIP
"""

from beatplan.hotspots.backtest import backtest, backtest_summary
from beatplan.hotspots.baseline import rank_cells
from beatplan.hotspots.cluster_methods import DBSCANMethod, HDBSCANMethod
from beatplan.hotspots.dbscan import DensityClusters
from beatplan.hotspots.emerging import emerging_hotspots, mann_kendall
from beatplan.hotspots.evaluate import evaluate
from beatplan.hotspots.find import find_hotspots
from beatplan.hotspots.gistar import GiStar, above_background, fdr_bh, gi_star
from beatplan.hotspots.grid import Grid, default_cell
from beatplan.hotspots.grid_methods import GiStarMethod, KDEMethod
from beatplan.hotspots.hulls import cluster_polygons
from beatplan.hotspots.kde import kde_surface
from beatplan.hotspots.method import HotspotMethod, TestedMethod
from beatplan.hotspots.points import prepare_incidents
from beatplan.hotspots.registry import DEFAULT_METHOD, METHODS, hotspot_method
from beatplan.hotspots.result import Hotspots, Surface
from beatplan.hotspots.select import select_incidents
from beatplan.hotspots.spots import SpotMethod
from beatplan.hotspots.study_area import StudyArea, derive_study_area
from beatplan.hotspots.summarise import summarise

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "DBSCANMethod",
    "DensityClusters",
    "GiStar",
    "GiStarMethod",
    "Grid",
    "HDBSCANMethod",
    "HotspotMethod",
    "Hotspots",
    "KDEMethod",
    "SpotMethod",
    "StudyArea",
    "Surface",
    "TestedMethod",
    "above_background",
    "backtest",
    "backtest_summary",
    "cluster_polygons",
    "default_cell",
    "derive_study_area",
    "emerging_hotspots",
    "evaluate",
    "fdr_bh",
    "find_hotspots",
    "gi_star",
    "hotspot_method",
    "kde_surface",
    "mann_kendall",
    "prepare_incidents",
    "rank_cells",
    "select_incidents",
    "summarise",
]
