"""Per client schema: management reviews (ISO 9001 9.3), their 9.3.2 inputs, the participants' contributions and
the 9.3.3 outputs carried out as tasks. Rules in workflows/management_review.py; user ids are `user_ref` columns."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, CheckConstraint, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint,
                        func)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.base import TenantModel

from .tenant import Task, user_ref


class ManagementReview(TenantModel):
    """One review: opened on a date, input over days, closed by top management with its conclusion."""

    __tablename__ = "management_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    opened_on: Mapped[date] = mapped_column(Date)
    opened_by_name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(20), default="async", server_default="async")
    channel: Mapped[str] = mapped_column(String(300), default="", server_default="")  # where it is held
    # Who takes part, as [{"id": …, "name": …}] at opening (names kept: the minutes outlive memberships).
    participants: Mapped[list] = mapped_column(JSONB, default=list)
    data_cutoff_on: Mapped[date] = mapped_column(Date)  # the day the pre-fill was (last) taken
    inputs_complete: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    conclusion: Mapped[str] = mapped_column(Text, default="", server_default="")
    next_review_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    closed_by_id: Mapped[int | None] = user_ref()
    closed_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    inputs: Mapped[list["ReviewInputEntry"]] = relationship(order_by="ReviewInputEntry.position", lazy="selectin",
                                                            back_populates="review", cascade="all, delete-orphan",
                                                            passive_deletes=True)
    actions: Mapped[list["ReviewAction"]] = relationship(order_by="ReviewAction.id", lazy="selectin",
                                                      cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        CheckConstraint("status IN ('open', 'closed')", name="status_valid"),
        CheckConstraint("status <> 'closed' OR (closed_on IS NOT NULL AND next_review_on IS NOT NULL)",
                        name="closed_has_dates"),
    )


class ReviewInputEntry(TenantModel):
    """One 9.3.2 input of a review: ISOpath's pre-fill (the snapshot), the text as edited, or nothing to report."""

    __tablename__ = "management_review_inputs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(4))
    position: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(Text, default="", server_default="")
    text: Mapped[str] = mapped_column(Text, default="", server_default="")
    nothing_to_report: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    review: Mapped[ManagementReview] = relationship(back_populates="inputs")
    contributions: Mapped[list["ReviewContribution"]] = relationship(order_by="ReviewContribution.id",
                                                                     lazy="selectin", cascade="all, delete-orphan",
                                                                     passive_deletes=True)

    __table_args__ = (UniqueConstraint("review_id", "key"),)


class ReviewContribution(TenantModel):
    """A participant's input to one 9.3.2 item, with who and when (the evidence they took part)."""

    __tablename__ = "management_review_contributions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    input_id: Mapped[int] = mapped_column(ForeignKey("management_review_inputs.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = user_ref()
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReviewAction(TenantModel):
    """An output of 9.3.3 with its owner and due date; it becomes a task when the review closes."""

    __tablename__ = "management_review_actions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("management_reviews.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = user_ref()
    owner_name: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    task: Mapped[Task | None] = relationship(lazy="selectin")

    __table_args__ = (CheckConstraint("kind IN ('improvement', 'change', 'resources')", name="kind_valid"),)
