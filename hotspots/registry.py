"""The hotspot methods by name, and the one way to configure them.

:func:`hotspot_method` turns a name (or a method object) and keyword options into a
configured :class:`beatplan.hotspots.method.HotspotMethod`, refusing at once any option the
method does not take, with the methods that do take it. :func:`beatplan.hotspots.find_hotspots`,
:func:`beatplan.hotspots.backtest` and :func:`beatplan.hotspots.emerging_hotspots` all get
their methods here.

Examples
--------
>>> hotspot_method("kde", bandwidth=300.0).threshold
3.0
>>> hotspot_method("kde", band=300.0)
Traceback (most recent call last):
...
beatplan.geo.errors.ValidationError: band: 1 problem found:
  - band= applies to gistar only, not kde; drop it or choose one of those methods
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from beatplan.geo.errors import InputTypeError, ValidationError, check_option
from beatplan.hotspots.cluster_methods import DBSCANMethod, HDBSCANMethod
from beatplan.hotspots.grid_methods import GiStarMethod, KDEMethod
from beatplan.hotspots.method import HotspotMethod
from beatplan.hotspots.spots import SpotMethod

__all__ = ["DEFAULT_METHOD", "METHODS", "REGISTRY", "hotspot_method", "refuse_weights"]

#: Every method, by name.
REGISTRY: dict[str, type[HotspotMethod]] = {
    cls.name: cls for cls in (SpotMethod, GiStarMethod, KDEMethod, DBSCANMethod, HDBSCANMethod)
}
#: The methods' names.
METHODS = tuple(REGISTRY)
#: The method :func:`beatplan.hotspots.find_hotspots`, the backtest, the command line, the
#: briefing map and the service use when none is named.
DEFAULT_METHOD = "spots"


def hotspot_method(method: str | HotspotMethod = DEFAULT_METHOD, **options: Any) -> HotspotMethod:
    """Return the method named (or given), configured with ``options``.

    Parameters
    ----------
    method : {"gistar", "kde", "dbscan", "hdbscan"} or HotspotMethod
        A name, or a method object (its options are kept; ``options`` replace some).
    **options
        Options of that method (see :class:`~beatplan.hotspots.grid_methods.GiStarMethod`,
        :class:`~beatplan.hotspots.grid_methods.KDEMethod`,
        :class:`~beatplan.hotspots.cluster_methods.DBSCANMethod`,
        :class:`~beatplan.hotspots.cluster_methods.HDBSCANMethod`). An option passed as None
        means its default; one that the method does not take is refused unless it is None.

    Returns
    -------
    HotspotMethod

    Raises
    ------
    OptionError
        An unknown method name.
    ValidationError
        An option of another method (the message names the methods it applies to), or a
        bad value (e.g. ``background`` not above 1).
    InputTypeError
        An option no method takes.
    """
    if isinstance(method, HotspotMethod):
        cls: type[HotspotMethod] = type(method)
    else:
        cls = REGISTRY[check_option("method", method, METHODS)]
    own = set(cls.option_names())
    _refuse_foreign(cls, {k: v for k, v in options.items() if k not in own})
    given = {k: v for k, v in options.items() if k in own}
    return replace(method, **given) if isinstance(method, HotspotMethod) else cls(**given)


def _refuse_foreign(cls: type[HotspotMethod], foreign: dict[str, Any]) -> None:
    for name, value in foreign.items():
        takers = [m for m, c in REGISTRY.items() if name in c.option_names()]
        if not takers:
            raise InputTypeError(
                f"{name}={value!r} is not an option of any hotspot method; the options of "
                f"{cls.name} are: {', '.join(cls.option_names())}"
            )
        if value is not None:
            raise ValidationError(
                name,
                [f"{name}= applies to {_listed(takers)} only, not {cls.name}; drop it or "
                 "choose one of those methods"],
            )  # fmt: skip


def refuse_weights(method: HotspotMethod, **given: Any) -> None:
    """Refuse ``weights=``/``halflife=`` (those not None) for a method without weights.

    Raises
    ------
    ValidationError
        Naming the option and the methods that take weights.
    """
    if method.takes_weights:
        return
    takers = [m for m, c in REGISTRY.items() if c.takes_weights]
    for name, value in given.items():
        if value is not None:
            raise ValidationError(
                name,
                [f"{name}= applies to {_listed(takers)} only, not {method.name}: it counts "
                 "whole incidents per location"],
            )  # fmt: skip


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
