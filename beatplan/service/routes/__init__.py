"""The service's routers, one per resource."""

from beatplan.service.routes import analysis, areas, locate, maps, meta, page

__all__ = ["ROUTERS"]

#: Every router, in the order they are mounted.
ROUTERS = (
    page.router,
    meta.router,
    locate.router,
    areas.router,
    analysis.router,
    maps.router,
)
