"""beatplan's command line.

A thin layer over the ``geo``, ``boundaries``, ``hotspots`` and ``maps`` packages: it parses,
calls them, prints and writes; no analysis lives here.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("beatplan")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
