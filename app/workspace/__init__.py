"""One client's workspace under /c/<slug>/…: every view here runs bound to that client's schema.

Cut by area: `operations/` (what a change does to the client's tables) and
`views/` (parse input, call an operation, render), one module per area each.
"""
from . import views  # noqa: F401  (registers the routes on bp)
from .blueprint import NAV, bp

__all__ = ["NAV", "bp"]
