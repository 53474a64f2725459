"""Per client schema: document control (ISO 9001 7.5) — the register, versions, acknowledgements, records.

`documents` is the register: one entry per document to maintain or record to retain. Its `status` is a
summary kept by the operations (app/workspace/operations/documents.py) so that the gate rules, readiness and
My work read one column as before: "approved" while a version is effective, else the state of the newest
version. Files live under UPLOAD_ROOT/<schema>/<storage_path>, as evidence does.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tenants.base import TenantModel

from .tenant import user_ref

# Exactly one effective version per document, whatever writes it: the loser of a race gets a 409.
ONE_EFFECTIVE_VERSION = "uq_document_versions_one_effective"


class Document(TenantModel):
    """A register entry: a document the client maintains or a record it retains."""

    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    stage: Mapped[str] = mapped_column(ForeignKey("stages.key"), index=True)
    identifier: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)  # "QP-01"
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(20))
    clauses: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list)
    task_keys: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list, server_default="{}")
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = user_ref()
    approver_role: Mapped[str] = mapped_column(String(20), default="consultant", server_default="consultant")
    origin: Mapped[str] = mapped_column(String(10), default="internal", server_default="internal")
    retention: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    approved_by_id: Mapped[int | None] = user_ref()
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_due_on: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    # A record kept monthly, quarterly or yearly: an instance is due each period from `expected_since` on.
    record_frequency: Mapped[str | None] = mapped_column(String(10), nullable=True)
    expected_since: Mapped[date | None] = mapped_column(Date, nullable=True)
    last_reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_reviewed_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), onupdate=func.now())

    versions: Mapped[list[DocumentVersion]] = relationship(back_populates="document", order_by="DocumentVersion.number",
                                                           cascade="all, delete-orphan")
    records: Mapped[list[RecordEntry]] = relationship(back_populates="document",
                                                      order_by="(RecordEntry.occurred_on.desc(), RecordEntry.id.desc())",
                                                      cascade="all, delete-orphan")

    __table_args__ = (
        CheckConstraint("kind IN ('document', 'record')", name="kind_valid"),
        CheckConstraint("status IN ('draft', 'in_review', 'approved', 'obsolete')", name="status_valid"),
        CheckConstraint("approver_role IN ('top_management', 'client_admin', 'consultant')",
                        name="approver_role_valid"),
        CheckConstraint("origin IN ('internal', 'external')", name="origin_valid"),
        CheckConstraint("record_frequency IS NULL OR (kind = 'record' AND "
                        "record_frequency IN ('monthly', 'quarterly', 'yearly'))", name="record_frequency_valid"),
    )


class StoredFileMixin:
    """An uploaded file's metadata (all null when there is none): checked as evidence is."""

    filename: Mapped[str | None] = mapped_column(String(255), nullable=True)
    content_type: Mapped[str | None] = mapped_column(String(120), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    storage_path: Mapped[str | None] = mapped_column(String(255), nullable=True, unique=True)


class DocumentVersion(StoredFileMixin, TenantModel):
    """One version of a document: text written in the app and/or a file, with its change reason.

    Draft → in review → approved (effective) → superseded, or obsolete; approved versions never change."""

    __tablename__ = "document_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft", server_default="draft")
    body: Mapped[str] = mapped_column(Text, default="", server_default="")
    change_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    needs_acknowledgement: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_by_id: Mapped[int | None] = user_ref()
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    approved_by_id: Mapped[int | None] = user_ref()
    approved_by_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)  # superseded/obsolete

    document: Mapped[Document] = relationship(back_populates="versions")
    # Evidence beside the version's own file (a signed copy, the approval minutes); see operations/evidence.py.
    evidence: Mapped[list["Attachment"]] = relationship(order_by="Attachment.uploaded_at", cascade="all, delete-orphan",
                                                        passive_deletes=True)
    acknowledgements: Mapped[list[Acknowledgement]] = relationship(order_by="Acknowledgement.at",
                                                                   cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        CheckConstraint("status IN ('draft', 'in_review', 'approved', 'superseded', 'obsolete')",
                        name="status_valid"),
        CheckConstraint("status NOT IN ('approved', 'superseded') OR approved_at IS NOT NULL",
                        name="approved_has_date"),
        Index(ONE_EFFECTIVE_VERSION, "document_id", unique=True, postgresql_where=text("status = 'approved'")),
    )


class Acknowledgement(TenantModel):
    """Someone of the client confirmed they have read a version."""

    __tablename__ = "document_acknowledgements"
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, info={"user_ref": True})
    user_name: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RecordEntry(StoredFileMixin, TenantModel):
    """One dated instance of a record (this month's KPI report, one training record …): they accrue."""

    __tablename__ = "record_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    occurred_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    added_by_id: Mapped[int | None] = user_ref()
    added_by_name: Mapped[str] = mapped_column(String(200))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    document: Mapped[Document] = relationship(back_populates="records")
    evidence: Mapped[list["Attachment"]] = relationship(order_by="Attachment.uploaded_at", cascade="all, delete-orphan",
                                                        passive_deletes=True)
