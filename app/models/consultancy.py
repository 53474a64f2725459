"""Shared tables of what each consultancy sets for itself: its own copies of the certification template and the
KPI library, and its certification bodies' response deadlines."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, DateTime, Float, ForeignKey, Index, Integer, String, Text, \
    UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.base import SharedModel

from .shared import User


class AccountTemplate(SharedModel):
    """One version of a consultancy's own copy of a certification template.

    Rows are never updated: every edit adds the next version, so a client pinned
    to (key, version) can always be traced back to exactly what it started with.
    """

    __tablename__ = "account_templates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    based_on_key: Mapped[str | None] = mapped_column(String(80), nullable=True)
    based_on_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    data: Mapped[dict] = mapped_column(JSONB)  # workflows.Template.to_dict()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    created_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("account_id", "key", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )


class AccountKpi(SharedModel):
    """One KPI definition of a consultancy's own library: a copy of a standard definition (`based_on_key`) or
    one of its own (NULL). A consultancy without rows reads the standard library (see app/library/kpi_store).

    Rows are edited in place: a client's KPI is a copy made when it was added, so an edit changes what the
    next client gets and no running client. Archived rows stay, for the client KPIs made from them.
    """

    __tablename__ = "account_kpis"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)  # the library's order: standard ones first, own ones after
    name: Mapped[str] = mapped_column(String(200))
    area: Mapped[str] = mapped_column(String(20))
    numerator: Mapped[str] = mapped_column(String(300))
    denominator: Mapped[str] = mapped_column(String(300), default="")
    unit: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(10))
    target: Mapped[float] = mapped_column(Float)
    amber: Mapped[float] = mapped_column(Float)
    red: Mapped[float] = mapped_column(Float)
    clauses: Mapped[list[str]] = mapped_column(ARRAY(String(12)))
    minimum: Mapped[float | None] = mapped_column(Float, nullable=True)
    maximum: Mapped[float | None] = mapped_column(Float, nullable=True)
    never_zero_target: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    based_on_key: Mapped[str | None] = mapped_column(String(80), nullable=True)  # NULL: the consultancy's own
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)

    updated_by: Mapped[User | None] = relationship()

    __table_args__ = (
        UniqueConstraint("account_id", "key"),
        Index("uq_account_kpis_name", "account_id", text("lower(name)"), unique=True),
        CheckConstraint("direction IN ('higher', 'lower')", name="direction_valid"),
        CheckConstraint("frequency IN ('weekly', 'monthly', 'quarterly', 'yearly')", name="frequency_valid"),
    )


class CertificationBodyRules(SharedModel):
    """A consultancy's response deadlines for one certification body (workflows.cycle.ResponseRules); a body
    without a row has the defaults. Keyed by the body's name as typed on the client's certification page,
    compared without case and spacing (`workflows.cycle.body_key`)."""

    __tablename__ = "certification_body_rules"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    body_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_name: Mapped[str] = mapped_column(String(200))
    major_days: Mapped[int] = mapped_column(Integer)
    minor_days: Mapped[int] = mapped_column(Integer)
    stage_2_repeat_months: Mapped[int] = mapped_column(Integer)
    updated_by_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (
        CheckConstraint("major_days BETWEEN 1 AND 365", name="major_days_range"),
        CheckConstraint("minor_days BETWEEN 1 AND 365", name="minor_days_range"),
        CheckConstraint("stage_2_repeat_months BETWEEN 1 AND 24", name="stage_2_repeat_range"),
    )


__all__ = ["AccountKpi", "AccountTemplate", "CertificationBodyRules"]
