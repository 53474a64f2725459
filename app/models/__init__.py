"""All models, so that importing `app.models` registers every table on its metadata."""
from .shared import *  # noqa: F401,F403
from .shared import __all__ as _shared_all
from .certification import CertificationRecord, ExternalAudit
from .tenant import (
    ONE_PENDING_REVIEW,
    ActivityEntry,
    Attachment,
    Document,
    Finding,
    GapRating,
    GateReview,
    Kpi,
    KpiTarget,
    Measurement,
    Objective,
    ObjectiveKpi,
    Stage,
    Task,
    TaskComment,
    WorkspaceSettings,
)

__all__ = [*_shared_all, "CertificationRecord", "ExternalAudit", "ONE_PENDING_REVIEW", "ActivityEntry", "Attachment", "Document", "Finding", "GapRating", "GateReview", "Kpi", "KpiTarget", "Measurement", "Objective", "ObjectiveKpi", "Stage", "Task",
           "TaskComment", "WorkspaceSettings"]
