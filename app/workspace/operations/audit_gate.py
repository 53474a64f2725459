"""What the internal-audit gate criteria read of the client's audit programme: its processes, its audits and
the internal-audit nonconformities without a corrective action. Only models and workflows here, so that
`operations.state` can read them for the client's state without importing the rest of the internal audits
(which build on `state`)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, literal_column, select

from workflows import gap_analysis as gap
from workflows import internal_audit as ia

from ...extensions import db
from ...models import AuditProcess, CorrectiveAction, Finding, InternalAudit, audit_scope
from .common import json_rows


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
    return _named_ncs(db.session.scalar(select(_ncs_json())))


def gate_columns() -> tuple:
    """What the internal-audit gate criteria read, as scalar subqueries of JSON rows (the processes, the audits
    with their processes, the nonconformities without action), so that the client's state reads them in its
    one round trip instead of loading whole audits with their checklist lines."""
    processes = json_rows(AuditProcess.id, AuditProcess.name, AuditProcess.owner_id, AuditProcess.risk,
                          AuditProcess.in_scope, order_by=AuditProcess.name)
    scope = select(func.coalesce(func.array_agg(audit_scope.c.process_id), literal_column("'{}'::int[]"))) \
        .where(audit_scope.c.audit_id == InternalAudit.id).scalar_subquery()
    audits = json_rows(InternalAudit.id, InternalAudit.reference, InternalAudit.status, InternalAudit.clauses, scope,
                       InternalAudit.completed_on, order_by=(InternalAudit.planned_on, InternalAudit.id))
    return processes, audits, _ncs_json()


def gate_fields(read: tuple | None = None) -> dict:
    """The ClientState fields of the internal-audit gate criteria (the checklist is the gap analysis's), from
    what `gate_columns` read (read here when not given)."""
    processes, audits, ncs = read if read is not None else db.session.execute(select(*gate_columns())).one()
    coverage = ia.coverage(gap.load_checklist(gap.DEFAULT_CHECKLIST),
                           [ia.ProcessState(*row) for row in processes],
                           [ia.AuditState(i, ref, status, tuple(clauses), tuple(scope),
                                          date.fromisoformat(done) if done else None)
                            for i, ref, status, clauses, scope, done in audits])
    return {"audit_uncovered": coverage.unmet(), "audit_ncs_without_ca": _named_ncs(ncs)}


def _ncs_json():
    has_action = select(CorrectiveAction.id).where(CorrectiveAction.finding_id == Finding.id).exists()
    return json_rows(Finding.id, Finding.title, order_by=Finding.id,
                     where=(Finding.source == "internal_audit", Finding.severity.in_(("major", "minor")), ~has_action))


def _named_ncs(rows) -> tuple[str, ...]:
    return tuple(f"#{i} “{t}”" for i, t in rows)
