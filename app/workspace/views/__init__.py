"""The workspace's views, one module per area; importing this package registers their routes on `bp`."""
from . import (  # noqa: F401
    activity,
    certification,
    document_versions,
    documents,
    evidence,
    evidence_pack,
    finding_record,
    findings,
    gap_analysis,
    gates,
    kpis,
    management_reviews,
    objectives,
    overview,
    people,
    plan,
    readiness,
    settings,
    task_bulk,
    tasks,
)

