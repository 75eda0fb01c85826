"""The web dashboard (``automation dashboard``): pages over the engine's database for the
people who write rules, served by its own process beside the engine.

Starlette routes, Jinja2 templates rendered on the server, and a small chart library
shipped in ``static/``: no page asks any other host for anything. Pages read the database
through read-only connections, which never take SQLite's write lock; the few controls
(retry an action, pause a rule) write in short transactions that wait seconds at most.
Nothing in the engine imports this package.
"""

from __future__ import annotations

from automation.dashboard.app import create_app
from automation.dashboard.site import Site

__all__ = ["Site", "create_app"]
