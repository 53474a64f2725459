"""Per client schema: the certification body's view of the client, and its external audits.

The decision itself stays on `workspace_settings` (the certification gate reads it there); what is here is
what the body needs from the client (application data) and what it gives back (audits, the certificate).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from tenants.base import TenantModel

AUDIT_KIND_SQL = "kind IN ('stage_1', 'stage_2', 'surveillance_1', 'surveillance_2', 'recertification')"
AUDIT_RESULT_SQL = "result IS NULL OR result IN ('passed', 'minor', 'major', 'concerns')"


class CertificationRecord(TenantModel):
    """One row: the body's accreditation, the application data and the certificate it issued."""

    __tablename__ = "certification"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    accreditation: Mapped[str] = mapped_column(String(200), default="", server_default="")
    sector: Mapped[str] = mapped_column(String(120), default="", server_default="")  # e.g. IAF 35
    headcount: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sites: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scope_statement: Mapped[str] = mapped_column(Text, default="", server_default="")
    certificate_number: Mapped[str] = mapped_column(String(80), default="", server_default="")
    certificate_scope: Mapped[str] = mapped_column(Text, default="", server_default="")
    issued_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("headcount IS NULL OR headcount BETWEEN 1 AND 1000000", name="headcount_range"),
        CheckConstraint("sites IS NULL OR sites BETWEEN 1 AND 10000", name="sites_range"),
        CheckConstraint("expires_on IS NULL OR issued_on IS NULL OR expires_on > issued_on", name="expiry_after_issue"),
    )


class ExternalAudit(TenantModel):
    """One audit by the certification body: stage 1 and 2, then the cycle's surveillance and recertification."""

    __tablename__ = "external_audits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), unique=True)
    planned_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    held_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    result: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reference: Mapped[str] = mapped_column(String(80), default="", server_default="")  # the body's audit number
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    updated_by_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint(AUDIT_KIND_SQL, name="kind_valid"),
        CheckConstraint(AUDIT_RESULT_SQL, name="result_valid"),
        CheckConstraint("result IS NULL OR held_on IS NOT NULL", name="result_needs_held_on"),
    )
