"""``beatplan show-versions``: versions of beatplan, Python and the libraries it stands on."""

from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

import click

__all__ = ["command", "versions"]

_PACKAGES = (
    "beatplan",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "rtree",
    "folium",
    "scikit-learn",
    "scipy",
    "numpy",
    "pandas",
    "pyarrow",
    "click",
    "pyyaml",
)


def versions() -> dict[str, str]:
    """Return the installed version of each dependency, plus Python, GEOS, GDAL and PROJ."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    import pyogrio
    import pyproj
    import shapely

    out["GEOS"] = shapely.geos_version_string
    out["GDAL"] = pyogrio.__gdal_version_string__
    out["PROJ"] = pyproj.proj_version_str
    return out


@click.command("show-versions")
def command() -> None:
    """Print the versions of beatplan and its dependencies (for bug reports)."""
    for key, value in versions().items():
        click.echo(f"{key:>13}: {value}")
