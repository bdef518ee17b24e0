"""``beatplan serve``: the beat-boundary and hotspot service (FastAPI on uvicorn).

A thin layer over the packages: :mod:`~beatplan.service.app` builds the app from
:class:`~beatplan.service.settings.Settings`; routers per resource live in
:mod:`beatplan.service.routes`; :mod:`~beatplan.service.guard` checks every request (limits,
Bearer tokens, rate, security headers, the log); :mod:`~beatplan.service.tokens` keeps the
tokens file; :mod:`~beatplan.service.store` holds the data and reloads it beside the old with
an atomic swap, whole versions cached on disk by :mod:`~beatplan.service.versions`.
"""

from beatplan.service.app import create_app
from beatplan.service.settings import Settings

__all__ = ["Settings", "create_app"]
