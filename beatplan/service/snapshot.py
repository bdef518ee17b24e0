"""One whole version of the served data: the plan's areas, the incidents, and what is derived.

A :class:`Snapshot` is built once (from the source files or from a cached version) and never
changed afterwards; a reload builds a new one beside it and the store swaps the reference, so a
request that took a snapshot sees it whole. Everything a request needs is precomputed here:
the locator over the wards, the answer of every ward (its beat, sector, NPA and force with ids
and names, as JSON bytes and CSV fields), each area's parents, children and wards, and the
look-up of an area by ``LEVEL:ID``, id or name. Computed results (GeoJSON, hotspots, demand,
maps) are cached on the snapshot, so a swap drops them all at once.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from beatplan.geo.errors import EmptyInputError, InputFormatError
from beatplan.geo.locator import Locator
from beatplan.service.caching import Cache

__all__ = ["Area", "Snapshot", "WARD"]

log = logging.getLogger("beatplan")

#: The level every point is located in; the others follow from the ward table.
WARD = "ward"


@dataclass(frozen=True)
class Area:
    """One area of one level."""

    level: str
    id: str
    name: str | None

    @property
    def key(self) -> str:
        """``LEVEL:ID``."""
        return f"{self.level}:{self.id}"

    @property
    def label(self) -> str:
        """The name, else ``LEVEL ID``."""
        return self.name or f"{self.level} {self.id}"


def _text(values: Any) -> np.ndarray:
    s = pd.Series(values).astype("string")
    return np.asarray(s.fillna("").to_numpy(dtype=object), dtype=object)


@dataclass(eq=False)
class Snapshot:
    """The data of one version, ready to answer requests.

    Parameters
    ----------
    version : str
        The data version (a hash of the source files' contents).
    title : str
        The plan's title.
    wards : geopandas.GeoDataFrame
        ``id``, ``name`` and one column per level (small to large), geometry.
    layers : dict of str to geopandas.GeoDataFrame
        One layer per level (small to large, ``force`` last when there is one): ``id``,
        ``name``, the ids of the levels above, geometry.
    points : geopandas.GeoDataFrame
        The incidents (:attr:`beatplan.geo.Incidents.points`).
    sources : dict
        What was read: ``plan`` and ``incidents`` file names with sizes, and counts.
    """

    version: str
    title: str
    wards: gpd.GeoDataFrame = field(repr=False)
    layers: dict[str, gpd.GeoDataFrame] = field(repr=False)
    points: gpd.GeoDataFrame = field(repr=False)
    sources: dict[str, Any] = field(default_factory=dict, repr=False)
    loaded_at: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if len(self.wards) == 0:
            raise EmptyInputError("the plan has no wards")
        if self.wards.crs is None:
            raise InputFormatError("the plan's wards have no CRS")
        self.levels: tuple[str, ...] = (WARD, *self.layers)
        self.crs = CRS.from_user_input(self.wards.crs)
        self.locator = Locator(self.wards, id_col="id", level=WARD)
        # a batch as large as the largest allowed builds the batch grid now, not on a request
        self.locator.locate_many(np.zeros(10_000), np.zeros(10_000))
        self._index_areas()
        self._answers()
        self.months = self._months()
        self.cache = Cache()
        self._scopes: dict[Any, Any] = {}

    # -- areas -----------------------------------------------------------------------------
    def _ward_levels(self) -> pd.DataFrame:
        """Every ward's area at each level (force included), as text."""
        table = pd.DataFrame({WARD: _text(self.wards["id"])})
        for lv, layer in self.layers.items():
            if lv in self.wards.columns:
                table[lv] = _text(self.wards[lv])
            elif len(layer) == 1:  # the force: one area holding every ward
                table[lv] = str(layer["id"].iloc[0])
            else:
                raise InputFormatError(
                    f"the wards have no {lv!r} column and the {lv!r} layer has {len(layer)} "
                    "areas; write the plan with write_plan"
                )
        return table

    def _index_areas(self) -> None:
        table = self._ward_levels()
        self.ward_levels = table
        names: dict[str, dict[str, str | None]] = {
            WARD: dict(zip(table[WARD], self._names(self.wards), strict=True))
        }
        for lv, layer in self.layers.items():
            names[lv] = dict(zip(_text(layer["id"]), self._names(layer), strict=True))
        self.areas: dict[str, dict[str, Area]] = {
            lv: {i: Area(lv, i, n) for i, n in names[lv].items()} for lv in self.levels
        }
        self.area_wards: dict[tuple[str, str], np.ndarray] = {}
        self.parents: dict[tuple[str, str], dict[str, str]] = {}
        self.children: dict[tuple[str, str], list[str]] = {}
        for k, lv in enumerate(self.levels):
            groups = table.groupby(lv, sort=True)
            below = self.levels[k - 1] if k > 0 else None
            above = self.levels[k + 1 :]
            for aid, rows in groups:
                key = (lv, str(aid))
                self.area_wards[key] = rows[WARD].to_numpy(dtype=object)
                first = rows.iloc[0]
                self.parents[key] = {p: str(first[p]) for p in above}
                self.children[key] = sorted(set(rows[below])) if below else []
        self._lookup_ids: dict[str, list[Area]] = {}
        self._lookup_names: dict[str, list[Area]] = {}
        for lv in self.levels:
            for a in self.areas[lv].values():
                self._lookup_ids.setdefault(a.id.strip().lower(), []).append(a)
                if a.name:
                    self._lookup_names.setdefault(a.name.strip().lower(), []).append(a)

    @staticmethod
    def _names(layer: pd.DataFrame) -> list[str | None]:
        if "name" not in layer.columns:
            return [None] * len(layer)
        return [None if pd.isna(v) or str(v) == "" else str(v) for v in layer["name"].tolist()]

    def find_area(self, text: str) -> Area | None:
        """Return the area ``text`` names: ``LEVEL:ID``, else an id, else a name (case ignored).

        Ids are tried before names and small levels before large ones (the order the
        command line's ``--area`` uses); None when nothing matches.
        """
        key = text.strip()
        level, sep, rest = key.partition(":")
        if sep and level in self.areas:
            hit = self.areas[level].get(rest.strip())
            if hit is not None:
                return hit
            low = rest.strip().lower()
            for a in self.areas[level].values():
                if a.id.lower() == low:
                    return a
            return None
        found = self._lookup_ids.get(key.lower()) or self._lookup_names.get(key.lower())
        return found[0] if found else None

    def area_geometry(self, area: Area) -> Any:
        """Return the area's polygon (the plan's CRS)."""
        layer = self.wards if area.level == WARD else self.layers[area.level]
        hit = _text(layer["id"]) == area.id
        return layer.geometry.values[hit].union_all()

    # -- locate answers --------------------------------------------------------------------
    def _answers(self) -> None:
        """JSON bytes and CSV fields of every ward's answer, and its position in the locator."""
        table = self.ward_levels
        cols = list(self.levels)
        json_rows: dict[str, bytes] = {}
        csv_rows: dict[str, str] = {}
        for rec in table.itertuples(index=False):  # one per ward (a few hundred), at load
            ids = dict(zip(cols, rec, strict=True))
            answer = {lv: {"id": ids[lv], "name": self.areas[lv][ids[lv]].name} for lv in cols}
            json_rows[ids[WARD]] = json.dumps(answer, separators=(",", ":")).encode()
            buf = io.StringIO()
            csv.writer(buf, lineterminator="").writerow(
                [v for lv in cols for v in (ids[lv], self.areas[lv][ids[lv]].name or "")]
            )
            csv_rows[ids[WARD]] = buf.getvalue()
        self.answer_json = json_rows
        self.answer_csv = csv_rows
        self.csv_header = ",".join(f"{lv}_{c}" for lv in cols for c in ("id", "name"))
        self.csv_blank = "," * (2 * len(cols) - 1)
        ranked = self.locator.ids(WARD)
        self.ward_rank = np.asarray(ranked, dtype=object)

    def _months(self) -> list[str]:
        if "month" not in self.points.columns or len(self.points) == 0:
            return []
        m = pd.to_datetime(self.points["month"], errors="coerce").dropna()
        return sorted({f"{t:%Y-%m}" for t in m.dt.to_period("M").dt.to_timestamp().unique()})

    # -- description -----------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """Return what ``/version`` shows about the data."""
        return {
            "version": self.version,
            "title": self.title,
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.loaded_at)),
            "levels": list(self.levels),
            "areas": {lv: len(self.areas[lv]) for lv in self.levels},
            "incidents": len(self.points),
            "months": self.months,
            "crs": self.crs.to_string(),
        }

    def boundaries(self) -> dict[str, gpd.GeoDataFrame]:
        """Return the plan's layers, small to large, as the maps and hotspots take them."""
        return dict(self.layers)

    def scope(self, key: Any, build: Any) -> Any:
        """Return the scope of a token on this snapshot, built once (``build()``) and kept."""
        hit = self._scopes.get(key)
        if hit is None:
            hit = build()
            self._scopes[key] = hit
        return hit


def frames_from_plan(
    wards: gpd.GeoDataFrame, layers: Mapping[str, gpd.GeoDataFrame], levels: Sequence[str]
) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """Keep what the service needs of a plan: ids, names, level columns and geometry."""
    keep = ["id", *(["name"] if "name" in wards.columns else []), *levels]
    w = wards[[*keep, wards.geometry.name]].copy()
    for c in keep:
        w[c] = w[c].astype("string")
    out: dict[str, gpd.GeoDataFrame] = {}
    order = [*levels, *(lv for lv in layers if lv not in levels)]
    for lv in order:
        layer = layers[lv]
        cols = [c for c in ("id", "name", *levels) if c in layer.columns]
        lay = layer[[*cols, layer.geometry.name]].copy()
        for c in cols:
            lay[c] = lay[c].astype("string")
        if lay.crs != w.crs:
            lay = lay.to_crs(w.crs)
        out[lv] = lay.reset_index(drop=True)
    return w.reset_index(drop=True), out
