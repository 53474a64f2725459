"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, certification, documents, evidence, findings, gates, kpis, objectives,  # noqa: F401
               overview, people, plan, readiness, settings, task_bulk, tasks)
