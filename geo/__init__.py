"""beatplan's ground floor.

Reading and writing layers and incidents, the CRS policy, point location, errors and the
synthetic sample county.

``geo`` imports none of beatplan's other packages.
"""

from beatplan.geo import errors
from beatplan.geo.crs import working_crs
from beatplan.geo.incidents import Incidents, read_incidents
from beatplan.geo.layers import read_boundaries
from beatplan.geo.locator import Locator
from beatplan.geo.sample import SampleCounty, make_sample, write_sample
from beatplan.geo.write import write_layers

__all__ = [
    "Incidents",
    "Locator",
    "SampleCounty",
    "errors",
    "read_boundaries",
    "read_incidents",
    "make_sample",
    "working_crs",
    "write_layers",
    "write_sample",
]
