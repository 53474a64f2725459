"""Tables in the shared (public) schema: everything that spans clients."""
from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
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

from tenants.base import SharedModel

# A client's address under /c/<slug>/: the same rule as the `slug_format` constraint on `clients`.
SLUG_MAX = 50
_SLUG_OK = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def valid_slug(slug: str) -> bool:
    return bool(_SLUG_OK.match(slug or "")) and len(slug) <= SLUG_MAX


def _new_login_token() -> str:
    return secrets.token_urlsafe(24)


class Account(SharedModel):
    """A consultancy: the paying customer."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    plan: Mapped[str] = mapped_column(String(40), default="trial", server_default="trial")
    client_limit: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)
    subscription_status: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # Billing (app/subscriptions.py): the free trial's end (None: created_at + the trial's length), when the
    # first unpaid invoice failed (the grace period counts from it), the billing interval chosen.
    trial_ends_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    past_due_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    billing_interval: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # Reminders (workflows/reminders.py): days before a due date, e.g. "7,1" (None: the standard ladder), and
    # the consultancy's time zone (IANA; None: UTC), the default of its clients and people.
    reminder_lead_days: Mapped[str | None] = mapped_column(String(40), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    members: Mapped[list[AccountMember]] = relationship(back_populates="account", cascade="all, delete-orphan")
    clients: Mapped[list[Client]] = relationship(back_populates="account")


class User(UserMixin, SharedModel):
    """One login per person, whatever their roles."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Rotated on password change: every session and remember-me cookie of the old password dies.
    login_token: Mapped[str] = mapped_column(String(64), unique=True, default=_new_login_token)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)  # IANA name; None: UTC

    account_memberships: Mapped[list[AccountMember]] = relationship(back_populates="user", cascade="all, delete-orphan")
    client_memberships: Mapped[list[ClientMember]] = relationship(back_populates="user", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    def get_id(self) -> str:
        return self.login_token

    def rotate_login_token(self) -> None:
        self.login_token = _new_login_token()


class AccountMember(SharedModel):
    __tablename__ = "account_members"
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    account: Mapped[Account] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="account_memberships")

    __table_args__ = (CheckConstraint("role IN ('owner', 'consultant')", name="role_valid"),)


class Client(SharedModel):
    """The tenant registry: one row per client company, one schema each."""

    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    schema_name: Mapped[str] = mapped_column(String(63), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="active", server_default="active")
    template_key: Mapped[str] = mapped_column(String(80), default="iso9001-2015", server_default="iso9001-2015")
    template_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    archived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Weekdays the client works, Monday 0 … Sunday 6, e.g. "01234" (None: Monday to Friday); its time zone
    # (None: the consultancy's). Reminders keep to both.
    working_days: Mapped[str | None] = mapped_column(String(7), nullable=True)
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)

    account: Mapped[Account] = relationship(back_populates="clients")
    consultants: Mapped[list[User]] = relationship(secondary="client_consultants", order_by="User.name")
    members: Mapped[list[ClientMember]] = relationship(back_populates="client", cascade="all, delete-orphan")
    summary: Mapped[ClientSummary | None] = relationship(back_populates="client", uselist=False, cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("status IN ('active', 'archived')", name="status_valid"),
        CheckConstraint("slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name="slug_format"),
        CheckConstraint("working_days ~ '^[0-6]{1,7}$'", name="working_days_valid"),
    )


class ClientConsultant(SharedModel):
    """Which consultants of the account work on a client (owners see every client)."""

    __tablename__ = "client_consultants"
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)


class ClientMember(SharedModel):
    """A person of the client company: top management, client admin, staff, or read-only auditor."""

    __tablename__ = "client_members"
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    client: Mapped[Client] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="client_memberships")

    __table_args__ = (CheckConstraint("role IN ('top_management', 'client_admin', 'staff', 'auditor')", name="role_valid"),)


class ClientSummary(SharedModel):
    """The one row per client the portfolio reads; kept current on every write that changes it."""

    __tablename__ = "client_summaries"
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(40), default="initial_audit", server_default="initial_audit")
    stage_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overall_progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    readiness: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    overdue_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Dated items other than tasks past their date (workflows/due_dates.py: a review, a record, a check, …).
    overdue_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    open_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    gate_awaiting_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    red_kpis: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    stale_kpis: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # a due period with no value
    # Days past the planned end of the current stage (0: on plan); "slipping" is above 0.
    days_behind_plan: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_audit_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_audit_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)  # surveillance_1, stage_2, …
    certificate_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Open findings and started tasks with no update for 60 days (workflows.nonconformity.is_stale*).
    stale_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    target_certification_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    client: Mapped[Client] = relationship(back_populates="summary")


# What "My work" lists, in its order: reviews and approvals waiting, then each source of due dates
# (workflows/due_dates.py; tests/unit/test_due_date_rules.py keeps the two in step).
WORK_KINDS = ("gate_review", "document_approval", "task", "document_review", "record_due", "effectiveness_check",
              "internal_audit", "management_review", "external_audit", "cb_response", "stage_2_repeat")


class WorkItem(SharedModel):
    """One open piece of work waiting for one person at one client: what "My work" reads.

    An index of each client's schema, rebuilt for that client in the same transaction as every change to it
    (`operations.summary.save`), so it is never out of step and nobody's list visits client schemas.
    """

    __tablename__ = "work_items"
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    ref_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the task, document, audit … it is
    parent_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the finding of an effectiveness check
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    title: Mapped[str] = mapped_column(String(300))
    stage: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    client: Mapped[Client] = relationship()

    __table_args__ = (CheckConstraint("kind IN ('gate_review', 'document_approval', 'task', 'document_review', 'record_due', "
                                      "'effectiveness_check', 'internal_audit', 'management_review', 'external_audit', "
                                      "'cb_response', 'stage_2_repeat')", name="kind_valid"),)


class ClientKpiLatest(SharedModel):
    """A client's latest value and status of one library KPI, with its recent periods: what the cross-client
    views read. Written with the client's summary row, in the same transaction as the measurement."""

    __tablename__ = "client_kpi_latest"
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True)
    library_key: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40))
    direction: Mapped[str] = mapped_column(String(10))
    period: Mapped[str | None] = mapped_column(String(10), nullable=True)  # of the latest value
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)  # the KPI's current status (missing too)
    recent_periods: Mapped[list[str]] = mapped_column(ARRAY(String(10)))
    recent_values: Mapped[list[float | None]] = mapped_column(ARRAY(Float))
    # The range of recent_values, kept with them: the shared y axis of the cross-client view reads two numbers
    # per client instead of unnesting every client's array (kpi_latest._BOARD).
    recent_low: Mapped[float | None] = mapped_column(Float, nullable=True)
    recent_high: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # The percentiles' counts read this narrow index, not the wide rows (kpi_latest.standings).
    __table_args__ = (Index("ix_client_kpi_latest_value", "library_key", "value", postgresql_include=["client_id"],
                            postgresql_where=text("value IS NOT NULL")),)


class Invitation(SharedModel):
    """A single-use, expiring invitation; only the token's hash is stored."""

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), nullable=True)
    role: Mapped[str] = mapped_column(String(20))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    account: Mapped[Account] = relationship()
    client: Mapped[Client | None] = relationship()
    invited_by: Mapped[User | None] = relationship()

    # One pending invitation per address and place (a client, or the team when client_id is NULL): inviting
    # the address again renews that one instead of adding a second live link.
    __table_args__ = (Index("uq_invitations_one_pending", "account_id", text("coalesce(client_id, 0)"), "email",
                            unique=True, postgresql_where=text("accepted_at IS NULL")),)


class Notification(SharedModel):
    """One notice in a person's in-app list (the bell); written in the transaction of the change it tells of."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), nullable=True)
    kind: Mapped[str] = mapped_column(String(40), default="event", server_default="event")
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Its person chose this kind "in the digest": the next daily digest (or morning brief) carries it, once.
    digest_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (Index("ix_notifications_user_unread", "user_id", postgresql_where=text("read_at IS NULL")),
                      Index("ix_notifications_digest_pending", "user_id", postgresql_where=text("digest_pending")))


class RemindersSent(SharedModel):
    """The outbox: one row per message, claimed by its idempotency key (kind, object, due window, recipient)
    in the transaction that decides to send it, with what to send; `sent_at` once the mail server took it.
    A second sweep or a retry finds the key taken and sends nothing."""

    __tablename__ = "reminders_sent"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"), nullable=True)
    to_email: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    # What the message says (line, link, details, brief rows, digest sections, held notices), composed into
    # mail by the send job; rows claimed before that change carry their rendered bodies instead.
    content: Mapped[dict | None] = mapped_column(JSONB, nullable=True)
    body_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    body_html: Mapped[str | None] = mapped_column(Text, nullable=True)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(600), nullable=True)
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # refused for good
    error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    # Claimed for a person who takes this kind in their digest: the key is taken, the mail is the digest's.
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    __table_args__ = (Index("ix_reminders_sent_unsent", "claimed_at",
                            postgresql_where=text("sent_at IS NULL AND failed_at IS NULL")),)


class NotificationPreference(SharedModel):
    """How one person wants one kind of message: at once, in the morning brief, or not at all."""

    __tablename__ = "notification_preferences"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    delivery: Mapped[str] = mapped_column(String(20))

    __table_args__ = (CheckConstraint("delivery IN ('immediately', 'digest', 'off')", name="delivery_valid"),)


class BillingEvent(SharedModel):
    """Stripe event ids already processed, so a redelivered webhook changes nothing."""

    __tablename__ = "billing_events"
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True,
                                                   index=True)
    # What the event (or a reconciliation, event id "reconcile-…") changed, for the owner and for support.
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


__all__ = [
    "SLUG_MAX", "slugify", "valid_slug", "Account", "User", "AccountMember", "Client",
    "ClientConsultant", "ClientMember", "ClientSummary", "ClientKpiLatest", "Invitation", "Notification",
    "NotificationPreference", "RemindersSent", "BillingEvent", "WORK_KINDS",
    "WorkItem",
]
