"""What a token scoped to areas may see: its wards, and the areas wholly made of them.

A token's areas (``ID`` at any level, or ``LEVEL:ID``) are resolved on each snapshot (a new
plan may have moved or dropped them) to the set of wards they hold. Then, precisely:

* **a point** is inside the scope when the ward it lies in is one of those wards. A point in
  any other ward, or in no ward at all, is outside: 403 for a single locate, and a
  ``{"status": 403}`` entry for that point in a batch. Only unscoped tokens learn that a point
  lies outside every ward (404).
* **an area** (any level) is inside when every one of its wards is: a beat inside an NPA
  token's NPA is, the NPA's sector or force is not. Hotspots, demand and maps are served for
  areas inside only; asking for any other area, known or not, is 403 (so a scoped token
  cannot probe which ids exist). A scoped token must name an area: the whole force is outside.
* an area id in a token that the plan does not hold grants nothing (deny by default), and is
  logged with the token's name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from beatplan.service.problems import Problem
from beatplan.service.snapshot import WARD, Area, Snapshot
from beatplan.service.tokens import Principal

__all__ = ["ScopeView", "scope_of"]

log = logging.getLogger("beatplan")

_OUTSIDE = "outside the areas this token may see"


@dataclass(frozen=True)
class ScopeView:
    """The wards and areas one token sees on one snapshot."""

    everything: bool
    wards: frozenset[str]
    areas: dict[str, frozenset[str]]
    names: tuple[str, ...]

    def sees_ward(self, ward_id: str) -> bool:
        """Whether a point in this ward is inside the scope."""
        return self.everything or ward_id in self.wards

    def sees(self, area: Area) -> bool:
        """Whether the whole area is inside the scope."""
        return self.everything or area.id in self.areas.get(area.level, frozenset())

    def require(self, area: Area | None, *, what: str = "area") -> None:
        """Refuse (403) an area outside the scope; a scoped token must name one."""
        if self.everything:
            return
        if area is None:
            raise Problem(
                403,
                f"this token sees only {', '.join(self.names) or 'no areas'}; "
                f"name one with {what}=",
            )
        if not self.sees(area):
            raise Problem(403, f"{what}: {_OUTSIDE}")

    @property
    def outside(self) -> str:
        """The message for something outside the scope."""
        return _OUTSIDE


def _build(principal: Principal, snap: Snapshot) -> ScopeView:
    if not principal.scoped:
        return ScopeView(True, frozenset(), {}, ())
    wards: set[str] = set()
    named = []
    for text in principal.areas:
        level, sep, rest = text.partition(":")
        area = snap.areas[level].get(rest) if sep and level in snap.areas else _by_id(snap, text)
        if area is None:
            log.warning("token %s: area %r is not in the plan; it grants nothing", principal.name,
                        text)  # fmt: skip
            continue
        wards.update(map(str, snap.area_wards[(area.level, area.id)]))
        named.append(area.key)
    table = snap.ward_levels
    inside = table[WARD].isin(wards)
    areas: dict[str, frozenset[str]] = {}
    for lv in snap.levels:
        whole = inside.groupby(table[lv]).all()
        areas[lv] = frozenset(str(i) for i in whole.index[whole.to_numpy()])
    return ScopeView(False, frozenset(wards), areas, tuple(named))


def _by_id(snap: Snapshot, text: str) -> Area | None:
    """Find a token's area given as a bare id: the smallest level holding it (never a name)."""
    for lv in snap.levels:
        hit = snap.areas[lv].get(text)
        if hit is not None:
            return hit
    return None


def scope_of(principal: Principal, snap: Snapshot) -> ScopeView:
    """Return the scope of ``principal`` on ``snap`` (built once per token and snapshot)."""
    view: ScopeView = snap.scope(
        (principal.key_id, principal.areas), lambda: _build(principal, snap)
    )
    return view
