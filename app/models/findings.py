"""Per client schema: findings as nonconformity records (ISO 9001 8.7, 10.2) and their corrective actions.

The rules are `workflows/nonconformity.py`'s; user ids are `user_ref` columns as in tenant.py.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.base import TenantModel

from .tenant import Task, user_ref


class Finding(TenantModel):
    """A gap or nonconformity found in an audit, graded by severity."""

    __tablename__ = "findings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(ForeignKey("stages.key"), index=True)
    # The stage that can remedy it (workflows/target_stage.py), the first gate an open major holds; set at
    # creation and by the migration, so null only for a row written around the app (then: `stage`).
    target_stage: Mapped[str | None] = mapped_column(ForeignKey("stages.key"), nullable=True)
    clause: Mapped[str | None] = mapped_column(String(100), nullable=True)  # "8.4.1, 8.4.2"
    severity: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    raised_by_id: Mapped[int | None] = user_ref()
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    closing_note: Mapped[str | None] = mapped_column(Text, nullable=True)  # how it was remedied
    # The latest reopening (earlier ones, and earlier closings, are in the activity log).
    reopened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reopened_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reopen_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The nonconformity record (8.7, 10.2; rules in workflows/nonconformity.py). Findings recorded before these
    # existed have no source or kind (the kind then reads from the severity).
    source: Mapped[str | None] = mapped_column(String(30), nullable=True)
    kind: Mapped[str | None] = mapped_column(String(30), nullable=True)
    process: Mapped[str] = mapped_column(String(200), default="", server_default="")
    requirement: Mapped[str] = mapped_column(Text, default="", server_default="")
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    statement: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Reaction (10.2.1 a, 8.7.1): correction and containment, who and when, the customer, a concession.
    correction: Mapped[str] = mapped_column(Text, default="", server_default="")
    containment: Mapped[str] = mapped_column(Text, default="", server_default="")
    correction_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    correction_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    customer_informed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    concession: Mapped[str] = mapped_column(Text, default="", server_default="")
    concession_granted_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Evaluation (10.2.1 b): is corrective action needed and why, the root cause, similar problems elsewhere.
    action_needed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    action_needed_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    cause_method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    cause_category: Mapped[str | None] = mapped_column(String(30), nullable=True)
    root_cause: Mapped[str] = mapped_column(Text, default="", server_default="")
    similar_elsewhere: Mapped[str] = mapped_column(Text, default="", server_default="")  # where it was checked
    closure_evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The certification body's side (ISO/IEC 17021-1 9.4): its reference, the answer submitted and accepted.
    cb_reference: Mapped[str] = mapped_column(String(80), default="", server_default="")
    cb_submitted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    cb_accepted_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    cb_verification: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # Ageing: the last change to the record or its actions; an overdue minor's escalation decision.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    escalation: Mapped[str | None] = mapped_column(String(20), nullable=True)
    escalation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalation_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)

    actions: Mapped[list["CorrectiveAction"]] = relationship(order_by="CorrectiveAction.id", lazy="selectin",
                                                             back_populates="finding")

    __table_args__ = (
        CheckConstraint("severity IN ('major', 'minor', 'observation', 'opportunity')", name="severity_valid"),
        CheckConstraint("status IN ('open', 'closed')", name="status_valid"),
        CheckConstraint("status <> 'closed' OR closing_note IS NOT NULL", name="closed_has_note"),
    )


class CorrectiveAction(TenantModel):
    """An action against a finding's cause (10.2.1 c), carried out as a task, and its effectiveness check
    (10.2.1 d) by someone other than its owner."""

    __tablename__ = "corrective_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"), index=True)
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = user_ref()
    owner_name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    verify_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    verify_method: Mapped[str] = mapped_column(Text, default="", server_default="")
    verify_criteria: Mapped[str] = mapped_column(Text, default="", server_default="")
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    result_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    verified_by_id: Mapped[int | None] = user_ref()
    verified_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    finding: Mapped[Finding] = relationship(back_populates="actions")
    task: Mapped[Task | None] = relationship(lazy="selectin")

    @property
    def done(self) -> bool:
        return self.completed_at is not None or (self.task is not None and self.task.status == "done")

    __table_args__ = (
        CheckConstraint("result IS NULL OR result IN ('effective', 'not_effective')", name="result_valid"),
        CheckConstraint("result IS NULL OR verified_by_name IS NOT NULL", name="result_has_verifier"),
    )
