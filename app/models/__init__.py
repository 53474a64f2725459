"""All models, so that importing `app.models` registers every table on its metadata."""
from .billing import BillingSubscription, CheckoutIntent
from .certification import CertificationRecord, ExternalAudit
from .consultancy import AccountKpi, AccountTemplate, CertificationBodyRules
from .documents import ONE_EFFECTIVE_VERSION, Acknowledgement, Document, DocumentVersion, RecordEntry
from .findings import CorrectiveAction, Finding
from .reviews import ManagementReview, ReviewAction, ReviewContribution, ReviewInputEntry

from .internal_audits import AuditLine, AuditProcess, AuditProgramme, InternalAudit, audit_scope
from .shared import *  # noqa: F401,F403
from .shared import __all__ as _shared_all
from .tenant import (
    ONE_PENDING_REVIEW,
    ActivityEntry,
    Attachment,
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

__all__ = [*_shared_all, "AccountKpi", "AccountTemplate", "CertificationBodyRules", "BillingSubscription", "CheckoutIntent", "CertificationRecord", "ExternalAudit",
           "ONE_PENDING_REVIEW", "ActivityEntry", "Attachment", "CorrectiveAction", "Document", "Finding", "GapRating", "GateReview", "Kpi",
           "KpiTarget", "Measurement", "Objective", "ObjectiveKpi", "Stage", "Task",
           "TaskComment", "WorkspaceSettings", "ONE_EFFECTIVE_VERSION", "Acknowledgement", "DocumentVersion",
           "RecordEntry", "ManagementReview", "ReviewAction", "ReviewContribution", "ReviewInputEntry",
           "AuditLine", "AuditProcess", "AuditProgramme", "InternalAudit", "audit_scope"]
