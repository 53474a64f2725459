"""What the internal-audit gate criteria read of the client's audit programme: its processes, its audits and
the internal-audit nonconformities without a corrective action. Only models and workflows here, so that
`operations.state` can read them for the client's state without importing the rest of the internal audits
(which build on `state`)."""
from __future__ import annotations

from sqlalchemy import select

from workflows import gap_analysis as gap
from workflows import internal_audit as ia

from ...extensions import db
from ...models import AuditProcess, CorrectiveAction, Finding, InternalAudit


def processes() -> list[AuditProcess]:
    return list(db.session.scalars(select(AuditProcess).order_by(AuditProcess.name)))


def audits() -> list[InternalAudit]:
    return list(db.session.scalars(select(InternalAudit).order_by(InternalAudit.planned_on, InternalAudit.id)))


def audit_states(rows: list[InternalAudit] | None = None) -> list[ia.AuditState]:
    return [ia.AuditState(a.id, a.reference, a.status, tuple(a.clauses), tuple(p.id for p in a.processes),
                          a.completed_on) for a in (audits() if rows is None else rows)]


def process_states(rows: list[AuditProcess] | None = None) -> list[ia.ProcessState]:
    return [ia.ProcessState(p.id, p.name, p.owner_id, p.risk, p.in_scope)
            for p in (processes() if rows is None else rows)]


def ncs_without_action() -> tuple[str, ...]:
    """Internal-audit nonconformities (not observations or opportunities) with no corrective action."""
    has_action = select(CorrectiveAction.id).where(CorrectiveAction.finding_id == Finding.id).exists()
    rows = db.session.execute(select(Finding.id, Finding.title)
                              .where(Finding.source == "internal_audit", Finding.severity.in_(("major", "minor")),
                                     ~has_action).order_by(Finding.id))
    return tuple(f"#{i} “{t}”" for i, t in rows)


def gate_fields() -> dict:
    """The ClientState fields of the internal-audit gate criteria (the checklist is the gap analysis's)."""
    coverage = ia.coverage(gap.load_checklist(gap.DEFAULT_CHECKLIST), process_states(), audit_states())
    return {"audit_uncovered": coverage.unmet(), "audit_ncs_without_ca": ncs_without_action()}
