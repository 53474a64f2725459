"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, documents, evidence, findings, gap_analysis, gates, kpis, objectives, overview,  # noqa: F401
               people, plan, readiness, settings, task_bulk, tasks)
