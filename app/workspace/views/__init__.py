"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (activity, certification, document_versions, documents, evidence, evidence_pack, finding_record,  # noqa: F401
               findings,
               gap_analysis, gates, kpis,
               objectives, overview, people, plan, readiness, settings, task_bulk, tasks)
