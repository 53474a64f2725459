"""All models, so that importing `app.models` registers every table on its metadata."""
from .shared import *  # noqa: F401,F403
from .shared import __all__ as _shared_all
from .tenant import ActivityEntry, Stage

__all__ = [*_shared_all, "ActivityEntry", "Stage"]
