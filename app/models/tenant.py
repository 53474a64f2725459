"""Tables that exist once per client schema (placeholder schema "tenant").

Columns holding a user id carry `info={"user_ref": True}`: users live in the
shared schema, so there is no foreign key across schemas (that keeps every
foreign key inside one schema, as Citus schema sharding needs), and exports
map these ids to emails.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.base import TenantModel

USER_REF = {"user_ref": True}
# At most one review waiting per stage, whatever writes it: the loser of a race gets a 409, never a duplicate.
ONE_PENDING_REVIEW = "uq_gate_reviews_one_pending"


def user_ref(nullable: bool = True):
    return mapped_column(Integer, nullable=nullable, info=USER_REF)


class WorkspaceSettings(TenantModel):
    """One row: the client's plan dates, its pinned template and the certification decision."""

    __tablename__ = "workspace_settings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    start_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    target_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    template_key: Mapped[str] = mapped_column(String(80))
    template_version: Mapped[int] = mapped_column(Integer)
    # The template as it was when the client started: later versions change nothing unless applied.
    # Deferred: requests use the parsed copy cached per (schema, key, version) and load it only on a miss.
    template_snapshot: Mapped[dict] = mapped_column(JSONB, deferred=True)
    certification_body: Mapped[str | None] = mapped_column(String(200), nullable=True)
    certification_decision: Mapped[str | None] = mapped_column(String(20), nullable=True)
    certification_decided_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Set by a consultant: the client's staff may ask for gate reviews too, not only its admins.
    staff_may_request_reviews: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # The periodic review policy of the client's documents (workflows/documents.py), in months.
    review_months_core: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    review_months_other: Mapped[int] = mapped_column(Integer, default=36, server_default="36")

    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("certification_decision IN ('certified', 'not_certified', 'pending')", name="decision_valid"),
    )


class Stage(TenantModel):
    """Where the client is in each of the five implementation stages."""

    __tablename__ = "stages"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(20), default="upcoming", server_default="upcoming")
    planned_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    planned_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    passed_by_id: Mapped[int | None] = user_ref()

    __table_args__ = (CheckConstraint("status IN ('upcoming', 'current', 'passed')", name="status_valid"),)


class Task(TenantModel):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    stage: Mapped[str] = mapped_column(ForeignKey("stages.key"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))
    guidance: Mapped[str] = mapped_column(Text, default="")
    clauses: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list)
    role: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    allow_not_applicable: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(20), default="todo", server_default="todo", index=True)
    not_applicable_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who proposed the not-applicable decision, and the consultant who approved it (pending while unset).
    na_proposed_by_id: Mapped[int | None] = user_ref()
    na_approved_by_id: Mapped[int | None] = user_ref()
    na_approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    assignee_id: Mapped[int | None] = user_ref()
    start_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    completed_by_id: Mapped[int | None] = user_ref()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    comments: Mapped[list[TaskComment]] = relationship(back_populates="task", order_by="TaskComment.created_at",
                                                       cascade="all, delete-orphan")
    attachments: Mapped[list[Attachment]] = relationship(back_populates="task", order_by="Attachment.uploaded_at",
                                                         cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("status IN ('todo', 'in_progress', 'done', 'not_applicable')", name="status_valid"),
        CheckConstraint("status <> 'not_applicable' OR not_applicable_reason IS NOT NULL", name="na_needs_reason"),
    )


class TaskComment(TenantModel):
    __tablename__ = "task_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = user_ref()
    author_name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    task: Mapped[Task] = relationship(back_populates="comments")


class Attachment(TenantModel):
    """Evidence file metadata; the bytes live under UPLOAD_ROOT/<schema>/<storage_path>.

    Evidence belongs to exactly one of: a task, a document version, a record instance."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True,
                                                nullable=True)
    document_version_id: Mapped[int | None] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"),
                                                            index=True, nullable=True)
    record_entry_id: Mapped[int | None] = mapped_column(ForeignKey("record_entries.id", ondelete="CASCADE"),
                                                        index=True, nullable=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(String(255), unique=True)
    uploaded_by_id: Mapped[int | None] = user_ref()
    uploaded_by_name: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    task: Mapped[Task | None] = relationship(back_populates="attachments")

    __table_args__ = (
        CheckConstraint("num_nonnulls(task_id, document_version_id, record_entry_id) = 1", name="one_parent"),
    )


class GateReview(TenantModel):
    """A request to pass a stage's gate and the consultant's decision on it."""

    __tablename__ = "gate_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stage: Mapped[str] = mapped_column(ForeignKey("stages.key"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="requested", server_default="requested")
    requested_by_id: Mapped[int | None] = user_ref()
    requested_by_name: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    request_note: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = user_ref()
    decided_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    decision_comment: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('requested', 'approved', 'sent_back', 'withdrawn')", name="status_valid"),
        Index(ONE_PENDING_REVIEW, "stage", unique=True, postgresql_where=text("status = 'requested'")),
    )


class ActivityEntry(TenantModel):
    """Append-only history of every change: who, when, what, before and after.

    Triggers in each schema refuse UPDATE, DELETE and TRUNCATE, so not even a bug in the app can rewrite it.
    """

    __tablename__ = "activity_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    actor_id: Mapped[int | None] = user_ref()
    actor_name: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    before: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSONB, nullable=True)

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for the fields that really changed, in the order they were recorded; the
        activity page puts them into words (app/workspace/views/activity.py)."""
        before, after = self.before or {}, self.after or {}
        fields = list(before) + [k for k in after if k not in before]
        return [(k, before.get(k), after.get(k)) for k in fields
                if (before.get(k) or None) != (after.get(k) or None)]


# --- KPIs and quality objectives (ISO 9001 6.2, 9.1) ---------------------------------------------

class Kpi(TenantModel):
    """A KPI the client measures: taken from the consultancy's library (`library_key`) or its own.
    Its target and thresholds live in `kpi_targets`, a history that is never overwritten."""

    __tablename__ = "kpis"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    library_key: Mapped[str | None] = mapped_column(String(80), nullable=True, unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    numerator: Mapped[str] = mapped_column(Text, default="")
    denominator: Mapped[str] = mapped_column(Text, default="")
    unit: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10))
    frequency: Mapped[str] = mapped_column(String(10))
    clauses: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list)
    minimum: Mapped[float | None] = mapped_column(Float, nullable=True)
    maximum: Mapped[float | None] = mapped_column(Float, nullable=True)
    never_zero_target: Mapped[bool] = mapped_column(Boolean, default=False)
    owner_id: Mapped[int | None] = user_ref()
    # Missing periods are counted from here (or from the earliest measurement, if earlier).
    first_period: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    targets: Mapped[list["KpiTarget"]] = relationship(order_by="KpiTarget.id", lazy="selectin")

    __table_args__ = (
        CheckConstraint("direction IN ('higher', 'lower')", name="direction_valid"),
        CheckConstraint("frequency IN ('weekly', 'monthly', 'quarterly', 'yearly')", name="frequency_valid"),
    )


class KpiTarget(TenantModel):
    """One target setting (target, amber and red thresholds) in force from a period on, with its reason."""

    __tablename__ = "kpi_targets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id"), index=True)
    effective_from: Mapped[str] = mapped_column(String(10))
    target: Mapped[float] = mapped_column(Float)
    amber: Mapped[float] = mapped_column(Float)
    red: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by_id: Mapped[int | None] = user_ref()
    set_by_name: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Measurement(TenantModel):
    """A KPI's value for one period: one per KPI and period, whoever enters or imports it."""

    __tablename__ = "kpi_measurements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id"))
    period: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(String(500), default="")
    entered_by_id: Mapped[int | None] = user_ref()
    entered_by_name: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __table_args__ = (UniqueConstraint("kpi_id", "period", name="one_per_period"),)


class Objective(TenantModel):
    """A quality objective with its 6.2.2 plan: what, resources, who, when, how evaluated."""

    __tablename__ = "objectives"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    what: Mapped[str] = mapped_column(Text, default="")
    resources: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(200), default="")
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    evaluation: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = user_ref()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    kpis: Mapped[list[Kpi]] = relationship(secondary="objective_kpis", order_by="Kpi.name", lazy="selectin")


class ObjectiveKpi(TenantModel):
    """Which KPIs measure which objective."""

    __tablename__ = "objective_kpis"
    objective_id: Mapped[int] = mapped_column(ForeignKey("objectives.id", ondelete="CASCADE"), primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpis.id", ondelete="CASCADE"), primary_key=True, index=True)


class GapRating(TenantModel):
    """The gap analysis: one rated item of the checklist (workflows/gap_analysis.py), keyed by its clause."""

    __tablename__ = "gap_ratings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checklist: Mapped[str] = mapped_column(String(80))  # "iso9001-2015"
    clause: Mapped[str] = mapped_column(String(12))
    rating: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)  # None: not applicable
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    evidence: Mapped[str] = mapped_column(Text, default="", server_default="")  # what was seen: documents, people
    justification: Mapped[str | None] = mapped_column(Text, nullable=True)  # why it does not apply
    rated_by_id: Mapped[int | None] = user_ref()
    rated_by_name: Mapped[str] = mapped_column(String(200))
    rated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id", ondelete="SET NULL"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)

    __table_args__ = (
        UniqueConstraint("checklist", "clause"),
        CheckConstraint("rating IN ('conforming', 'partly', 'not_conforming', 'not_applicable')",
                        name="rating_valid"),
        CheckConstraint("outcome IN ('documented', 'needs_documenting', 'redesign', 'missing')", name="outcome_valid"),
        CheckConstraint("(rating = 'not_applicable') = (outcome IS NULL)", name="outcome_unless_na"),
        CheckConstraint("rating <> 'not_applicable' OR justification IS NOT NULL", name="na_needs_justification"),
    )
