"""Per client schema: the internal audit programme (ISO 9001 9.2), its processes, audits and checklist lines.

The rules are `workflows/internal_audit.py`'s; the checklist's questions are the gap analysis's, read by clause.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, DateTime, ForeignKey, Integer, String, Table, Text,
                        UniqueConstraint, func)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.base import TenantModel

from .tenant import user_ref


class AuditProgramme(TenantModel):
    """One row: the programme's period, methods and who manages it (9.2.2 a)."""

    __tablename__ = "audit_programmes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period_start: Mapped[date | None] = mapped_column(Date, nullable=True)
    period_end: Mapped[date | None] = mapped_column(Date, nullable=True)
    methods: Mapped[list[str]] = mapped_column(ARRAY(String(30)), default=list, server_default="{}")
    manager_id: Mapped[int | None] = user_ref()
    manager_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AuditProcess(TenantModel):
    """A process of the client's system in the programme, with its owner and the risk rationale behind how
    often it is audited (importance, recent changes, previous results)."""

    __tablename__ = "audit_processes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    owner_id: Mapped[int | None] = user_ref()
    owner_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    risk: Mapped[str] = mapped_column(String(10), default="medium", server_default="medium")
    in_scope: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    importance: Mapped[str] = mapped_column(Text, default="", server_default="")
    recent_changes: Mapped[str] = mapped_column(Text, default="", server_default="")
    previous_results: Mapped[str] = mapped_column(Text, default="", server_default="")

    __table_args__ = (CheckConstraint("risk IN ('high', 'medium', 'low')", name="risk_valid"),)


audit_scope = Table(
    "internal_audit_processes", TenantModel.metadata,
    Column("audit_id", ForeignKey("internal_audits.id", ondelete="CASCADE"), primary_key=True),
    Column("process_id", ForeignKey("audit_processes.id", ondelete="CASCADE"), primary_key=True),
)


class InternalAudit(TenantModel):
    """One audit of the programme: criteria, scope, dates, auditees and auditor (9.2.2 b, c), its report (d)."""

    __tablename__ = "internal_audits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # "IA-001"
    title: Mapped[str] = mapped_column(String(300))
    criteria: Mapped[str] = mapped_column(Text, default="", server_default="")
    clauses: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list)
    scope_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    planned_on: Mapped[date] = mapped_column(Date, index=True)
    auditees: Mapped[str] = mapped_column(String(500), default="", server_default="")
    auditor_id: Mapped[int | None] = user_ref()
    auditor_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="planned", server_default="planned")
    completed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    conclusion: Mapped[str] = mapped_column(Text, default="", server_default="")
    positives: Mapped[str] = mapped_column(Text, default="", server_default="")
    distribution: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    processes: Mapped[list[AuditProcess]] = relationship(secondary=audit_scope, order_by="AuditProcess.name",
                                                         lazy="selectin")
    lines: Mapped[list["AuditLine"]] = relationship(order_by="AuditLine.position", lazy="selectin",
                                                    back_populates="audit", cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("status IN ('planned', 'in_progress', 'completed')", name="status_valid"),
        CheckConstraint("status <> 'completed' OR completed_on IS NOT NULL", name="completed_has_date"),
    )


class AuditLine(TenantModel):
    """A line of an audit's checklist: the gap analysis's item for one clause, rated with the evidence seen."""

    __tablename__ = "internal_audit_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("internal_audits.id", ondelete="CASCADE"), index=True)
    clause: Mapped[str] = mapped_column(String(12))
    position: Mapped[int] = mapped_column(Integer)
    rating: Mapped[str | None] = mapped_column(String(20), nullable=True)
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    rated_by_id: Mapped[int | None] = user_ref()
    rated_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="SET NULL"), nullable=True,
                                                   index=True)

    audit: Mapped[InternalAudit] = relationship(back_populates="lines")

    __table_args__ = (
        UniqueConstraint("audit_id", "clause"),
        CheckConstraint("rating IS NULL OR rating IN ('conforming', 'partly', 'not_conforming', 'not_applicable')",
                        name="rating_valid"),
        CheckConstraint("rating IS NULL OR rated_by_name IS NOT NULL", name="rating_has_rater"),
    )
