"""Police boundaries: realign beats, sectors and NPAs to wards; hierarchy and coverage checks.

The canonical form of a police hierarchy is a ward table (one row per ward, one column per
level); every level's layer is the exact union of its wards.
"""

from boundaries.checks import (
    CheckReport,
    ContiguityFix,
    Problem,
    check_layer_nesting,
    check_layers,
    fix_contiguity,
    shared_boundaries,
    validate_areas,
    validate_wards,
)
from boundaries.demand import HARM_WEIGHTS, area_demand, level_demand
from boundaries.hierarchy import DEFAULT_LEVELS, Nesting, build_layers, nest, ward_table
from boundaries.realign import Realignment, WardsTooCoarseError, realign

__all__ = [
    "DEFAULT_LEVELS",
    "HARM_WEIGHTS",
    "CheckReport",
    "ContiguityFix",
    "Nesting",
    "Problem",
    "Realignment",
    "WardsTooCoarseError",
    "area_demand",
    "build_layers",
    "check_layer_nesting",
    "check_layers",
    "fix_contiguity",
    "level_demand",
    "nest",
    "realign",
    "shared_boundaries",
    "validate_areas",
    "validate_wards",
    "ward_table",
]
