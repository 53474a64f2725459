"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, certification, documents, evidence, finding_record, findings, gap_analysis, gates, kpis,  # noqa: F401
               objectives, overview, people, plan, readiness, settings, task_bulk, tasks)
