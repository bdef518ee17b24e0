"""Police boundaries: realign beats, sectors and NPAs to wards; reorganise; checks and outputs.

The canonical form of a police hierarchy is a ward table (one row per ward, one column per
level, small to large: beat, sector, NPA); every level's layer is the exact union of its
wards, and every result is checked (each ward in one area per level, nesting, exact unions,
no gap or overlap, contiguity).

Examples
--------
>>> from beatplan.geo import make_sample
>>> from beatplan.boundaries import realign
>>> county = make_sample(seed=1, n_wards=60, incidents=2000)
>>> result = realign(county.wards_new, county.beats, levels=["beat", "sector", "npa"])
>>> result.checks.ok, len(result.assignment) == len(county.wards_new)
(True, True)
"""

from beatplan.boundaries._changes import moved_wards
from beatplan.boundaries.checks import (
    check_assignment,
    check_layer_nesting,
    check_layers,
    check_nesting,
    check_unions,
)
from beatplan.boundaries.contiguity import ContiguityFix, check_contiguity, fix_contiguity
from beatplan.boundaries.coverage import check_coverage, shared_boundaries
from beatplan.boundaries.demand import (
    HARM_WEIGHTS,
    area_demand,
    count_points,
    incident_weights,
    level_demand,
    locate_xy,
)
from beatplan.boundaries.design import Design, PriorityArea, design, priority_area
from beatplan.boundaries.hierarchy import DEFAULT_LEVELS, Nesting, build_layers, nest, ward_table
from beatplan.boundaries.outputs import read_plan, write_plan
from beatplan.boundaries.plan import BoundaryPlan
from beatplan.boundaries.realign import Realignment, realign
from beatplan.boundaries.reorganise import Reorganisation, reorganise
from beatplan.boundaries.report import CheckReport, Problem
from beatplan.boundaries.spec import Spec, load_spec, parse_spec
from beatplan.boundaries.validate import dissolve_duplicates, validate_areas, validate_wards
from beatplan.geo.errors import WardsTooCoarseError

__all__ = [
    "DEFAULT_LEVELS",
    "HARM_WEIGHTS",
    "BoundaryPlan",
    "CheckReport",
    "ContiguityFix",
    "Design",
    "Nesting",
    "PriorityArea",
    "Problem",
    "Realignment",
    "Reorganisation",
    "Spec",
    "WardsTooCoarseError",
    "area_demand",
    "build_layers",
    "check_assignment",
    "check_contiguity",
    "check_coverage",
    "check_layer_nesting",
    "check_layers",
    "check_nesting",
    "check_unions",
    "count_points",
    "design",
    "dissolve_duplicates",
    "fix_contiguity",
    "incident_weights",
    "level_demand",
    "load_spec",
    "locate_xy",
    "moved_wards",
    "nest",
    "parse_spec",
    "priority_area",
    "read_plan",
    "realign",
    "reorganise",
    "shared_boundaries",
    "validate_areas",
    "validate_wards",
    "ward_table",
    "write_plan",
]
