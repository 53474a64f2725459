"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, documents, evidence, findings, gates, kpis, objectives, overview, people,  # noqa: F401
               plan, readiness, settings, task_bulk, tasks)
