"""One type for every boundary plan: what realign and reorganise return and read_plan reads back.

A :class:`BoundaryPlan` is a police hierarchy built from wards, with everything a planner hands
on: the ward table with its levels, one layer per level, the crosswalk (where each ward was and
is), the area crosswalk, the change report, the wards for review, the checks and a summary.
:func:`beatplan.boundaries.realign` returns a :class:`beatplan.boundaries.Realignment` and
:func:`beatplan.boundaries.reorganise` a :class:`beatplan.boundaries.Reorganisation`, both
plans with a few tables of their own; :func:`beatplan.boundaries.read_plan` returns a plain
plan. Every consumer (:func:`beatplan.boundaries.write_plan`, the planning, change and briefing
maps) takes a ``BoundaryPlan``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from beatplan.boundaries.report import CheckReport

__all__ = ["BoundaryPlan", "area_names", "checks_line"]


@dataclass(frozen=True, kw_only=True)
class BoundaryPlan:
    """A police hierarchy built from wards, with its crosswalks, change report and checks.

    Attributes
    ----------
    wards : geopandas.GeoDataFrame
        The ward table: the ward id (``ward_id``), one column per level, the wards' other
        columns, geometry (working CRS).
    levels : tuple of str
        The levels, small to large (e.g. ``("beat", "sector", "npa")``).
    layers : dict of str to geopandas.GeoDataFrame
        One layer per level plus ``force``, each area the exact union of its wards, with
        ``id``, ``name`` (when named), the higher levels' ids, ``n_wards`` and ``area_m2``.
    crosswalk : pandas.DataFrame
        One row per ward: ``ward``, ``name`` (when the wards have one), where it was and
        where it is at each level, and, when demand is known, ``incidents`` and ``demand``.
    area_crosswalk : pandas.DataFrame
        One row per (level, old area, new area) sharing ground: ``level``, ``old_id``,
        ``old_name``, ``new_id``, ``new_name``, ``n_wards``, ``area_m2``, ``share_of_old``,
        ``share_of_new`` and, with demand, ``incidents``.
    changes : pandas.DataFrame
        The change report: one row per area and level, old against new (``level``, ``id``,
        ``name``, ``status``, area, wards gained and lost, demand and its deviation from the
        level's mean when known).
    review : pandas.DataFrame
        The wards a human should look at: ``ward``, ``name``, ``reason`` and what tells why.
    checks : CheckReport
        Every check on the hierarchy (:func:`beatplan.boundaries.check_layers`).
    summary : dict
        Headline figures (see :meth:`describe`).
    kind : str
        What made the plan: ``"realign"``, ``"reorganise"`` or (read back) what the folder says.
    title : str
        One line naming the plan (the heading of ``changes.md``).
    ward_id : str
        The ward id column of ``wards``.
    names : dict of str to dict
        Area names by level, ``{level: {id: name}}``.
    exceptions : dict of str to frozenset of str
        Areas the plan declares allowed to be non-contiguous, by level.
    warnings : tuple of str
        Everything a planner should read, in plain words.
    steps : pandas.DataFrame or None
        The changes applied, one row per step, when the plan applied a spec.
    current : geopandas.GeoDataFrame or None
        The ward table before the change, when the plan started from one (the "before" of a
        change map).
    crs : pyproj.CRS or None
        The CRS of every layer.
    """

    wards: gpd.GeoDataFrame = field(repr=False)
    levels: tuple[str, ...]
    layers: dict[str, gpd.GeoDataFrame] = field(repr=False)
    crosswalk: pd.DataFrame = field(repr=False)
    area_crosswalk: pd.DataFrame = field(repr=False)
    changes: pd.DataFrame = field(repr=False)
    review: pd.DataFrame = field(repr=False)
    checks: CheckReport = field(repr=False)
    summary: dict[str, Any]
    kind: str = "plan"
    title: str = "Boundary plan"
    ward_id: str = "id"
    names: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    exceptions: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    warnings: tuple[str, ...] = field(default=(), repr=False)
    steps: pd.DataFrame | None = field(default=None, repr=False)
    current: gpd.GeoDataFrame | None = field(default=None, repr=False)
    crs: CRS | None = field(default=None, repr=False)

    @property
    def areas(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers (another name for :attr:`layers`)."""
        return self.layers

    @property
    def ward_counts(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Incidents and demand per ward, in the order of :attr:`wards`, when known."""
        if "incidents" not in self.crosswalk.columns or "demand" not in self.crosswalk.columns:
            return None
        return (
            self.crosswalk["incidents"].to_numpy(dtype=np.int64),
            self.crosswalk["demand"].to_numpy(dtype=float),
        )

    def extra_files(self) -> dict[str, str]:
        """Files of its own a kind of plan adds to its folder: ``{file name: text}``."""
        return {}

    def describe(self) -> str:
        """Return the summary as a few lines of plain text."""
        lines = [f"{self.title}: {len(self.wards)} wards"]
        for lv in self.levels:
            layer = self.layers.get(lv)
            lines.append(f"{lv}: {0 if layer is None else len(layer)} areas")
        lines.append(checks_line(self.checks))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def checks_line(checks: CheckReport) -> str:
    """Say in one line which checks ran and passed, or how many errors and warnings they found."""
    ran = ", ".join(checks.checks)
    found = f"passed ({ran})" if checks.ok else f"{len(checks.errors)} error(s)"
    return "checks: " + found + (f", {len(checks.warnings)} warning(s)" if checks.warnings else "")


def area_names(
    layers: Mapping[str, gpd.GeoDataFrame], levels: Sequence[str]
) -> dict[str, dict[str, str]]:
    """Return ``{level: {id: name}}`` from the layers' ``name`` columns (empty when none)."""
    out: dict[str, dict[str, str]] = {}
    for lv in levels:
        layer = layers.get(lv)
        if layer is not None and "name" in layer.columns:
            pairs = layer[["id", "name"]].dropna()
            out[lv] = {str(a): str(b) for a, b in zip(pairs["id"], pairs["name"], strict=True)}
        else:
            out[lv] = {}
    return out
