"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, certification, document_versions, documents, evidence, finding_record, findings,  # noqa: F401
               gap_analysis, gates, internal_audits, kpis,
               objectives, overview, people, plan, readiness, settings, task_bulk, tasks)
