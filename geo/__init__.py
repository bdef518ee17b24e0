"""beatplan's ground floor.

Reading and writing layers and incidents, the CRS policy, point location, errors and the
synthetic sample county.

``geo`` imports none of beatplan's other packages.
"""

from geo import errors
from geo.crs import working_crs

__all__ = ["errors", "working_crs"]
