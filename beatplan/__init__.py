"""beatplan: police planning on ward boundaries and geocoded incidents.

``import beatplan as bp`` gives the functions and classes most users call; each is loaded on
first use, so ``import beatplan`` (and ``beatplan --help``) stays quick.

Reading and writing
    :func:`read_boundaries`, :func:`read_incidents` (returns :class:`Incidents`),
    :func:`write_layers`, :class:`Locator` ("which ward, beat, sector, NPA is this point in"),
    :func:`working_crs`, and the synthetic sample county: :func:`make_sample`,
    :func:`write_sample`, :class:`SampleCounty`.
Boundaries
    :func:`realign` (police areas onto new wards), :func:`reorganise` (apply a planner's spec,
    :func:`load_spec`), :func:`design` (new balanced, contiguous, nested beats, sectors and
    NPAs from wards; returns a :class:`Design`), :func:`priority_area` (the contiguous wards
    with the most demand), :func:`write_plan` and :func:`read_plan` (the plan folder); each
    gives or takes a :class:`BoundaryPlan`.
Hotspots
    :func:`find_hotspots` (returns :class:`Hotspots`), :func:`backtest` and :func:`evaluate`
    (PAI against the naive baseline), :func:`summarise`, :func:`emerging_hotspots`.
Maps
    :func:`briefing_map`, :func:`planning_map`, :func:`change_map`, :func:`save_map` (one HTML
    file, offline by default), :func:`fetch_assets` (the Leaflet files offline maps inline).
Errors
    :mod:`beatplan.errors`: one root, :class:`~beatplan.errors.BeatplanError`, whose subclasses
    also inherit the matching built-in (``ValueError``, ``KeyError`` ...).

The analysis packages underneath are :mod:`beatplan.geo`, :mod:`beatplan.boundaries`,
:mod:`beatplan.hotspots` and :mod:`beatplan.maps`.

Examples
--------
>>> import beatplan as bp
>>> county = bp.make_sample(seed=1, n_wards=60, incidents=2000)
>>> plan = bp.realign(county.wards_new, county.beats, levels=["beat", "sector", "npa"])
>>> plan.checks.ok
True
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("beatplan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: Public name -> the module that defines it.
_API: dict[str, str] = {
    # reading, writing, locating, the sample county
    "read_boundaries": "beatplan.geo.layers",
    "read_incidents": "beatplan.geo.incidents",
    "Incidents": "beatplan.geo.incidents",
    "write_layers": "beatplan.geo.write",
    "Locator": "beatplan.geo.locator",
    "working_crs": "beatplan.geo.crs",
    "make_sample": "beatplan.geo.sample",
    "write_sample": "beatplan.geo.sample",
    "SampleCounty": "beatplan.geo.sample",
    # boundaries
    "BoundaryPlan": "beatplan.boundaries.plan",
    "realign": "beatplan.boundaries.realign",
    "Realignment": "beatplan.boundaries.realign",
    "reorganise": "beatplan.boundaries.reorganise",
    "Reorganisation": "beatplan.boundaries.reorganise",
    "load_spec": "beatplan.boundaries.spec",
    "write_plan": "beatplan.boundaries.outputs",
    "read_plan": "beatplan.boundaries.outputs",
    "design": "beatplan.boundaries.design",
    "Design": "beatplan.boundaries.design",
    "priority_area": "beatplan.boundaries.design",
    # hotspots
    "find_hotspots": "beatplan.hotspots.find",
    "Hotspots": "beatplan.hotspots.result",
    "backtest": "beatplan.hotspots.backtest",
    "evaluate": "beatplan.hotspots.evaluate",
    "summarise": "beatplan.hotspots.summarise",
    "emerging_hotspots": "beatplan.hotspots.emerging",
    # maps
    "briefing_map": "beatplan.maps.briefing",
    "planning_map": "beatplan.maps.planning",
    "change_map": "beatplan.maps.changes",
    "save_map": "beatplan.maps.offline",
    "fetch_assets": "beatplan.maps.assets",
}
#: Public names whose attribute in their module is named differently.
_RENAMED = {"save_map": "save"}

__all__ = [
    "__version__",
    "errors",
    "BoundaryPlan",
    "Design",
    "Hotspots",
    "Incidents",
    "Locator",
    "Realignment",
    "Reorganisation",
    "SampleCounty",
    "backtest",
    "briefing_map",
    "change_map",
    "design",
    "emerging_hotspots",
    "evaluate",
    "fetch_assets",
    "find_hotspots",
    "load_spec",
    "make_sample",
    "planning_map",
    "priority_area",
    "read_boundaries",
    "read_incidents",
    "read_plan",
    "realign",
    "reorganise",
    "save_map",
    "summarise",
    "working_crs",
    "write_layers",
    "write_plan",
    "write_sample",
]

if TYPE_CHECKING:  # the names as type checkers and editors see them
    from beatplan import errors
    from beatplan.boundaries.design import Design, design, priority_area
    from beatplan.boundaries.outputs import read_plan, write_plan
    from beatplan.boundaries.plan import BoundaryPlan
    from beatplan.boundaries.realign import Realignment, realign
    from beatplan.boundaries.reorganise import Reorganisation, reorganise
    from beatplan.boundaries.spec import load_spec
    from beatplan.geo.crs import working_crs
    from beatplan.geo.incidents import Incidents, read_incidents
    from beatplan.geo.layers import read_boundaries
    from beatplan.geo.locator import Locator
    from beatplan.geo.sample import SampleCounty, make_sample, write_sample
    from beatplan.geo.write import write_layers
    from beatplan.hotspots.backtest import backtest
    from beatplan.hotspots.emerging import emerging_hotspots
    from beatplan.hotspots.evaluate import evaluate
    from beatplan.hotspots.find import find_hotspots
    from beatplan.hotspots.result import Hotspots
    from beatplan.hotspots.summarise import summarise
    from beatplan.maps.assets import fetch_assets
    from beatplan.maps.briefing import briefing_map
    from beatplan.maps.changes import change_map
    from beatplan.maps.offline import save as save_map
    from beatplan.maps.planning import planning_map


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    if name == "errors":
        return importlib.import_module("beatplan.errors")
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'beatplan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), _RENAMED.get(name, name))
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
