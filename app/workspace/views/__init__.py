"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, certification, document_evidence, document_versions, documents, evidence, finding_record, findings,  # noqa: F401
               gap_analysis, gates, kpis,
               objectives, overview, people, plan, readiness, settings, task_bulk, tasks)
