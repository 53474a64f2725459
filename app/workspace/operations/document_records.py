"""What accrues around the register: record instances, periodic reviews and read acknowledgements."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

import workflows as wf
from workflows import documents as wd

from ... import clock
from ...extensions import db
from ...models import Acknowledgement, ClientMember, Document, DocumentVersion, RecordEntry, User
from ...permissions import ACKNOWLEDGERS
from ...refusal import Refusal
from .common import Actor, log
from .documents import Upload, effective_version, policy
from .evidence import store_upload


def add_record_entry(doc: Document, occurred_on: date | None, note: str, actor: Actor,
                     upload: Upload | None = None) -> RecordEntry:
    """One dated instance of a record (and optionally its file): instances accrue, none replaces another."""
    try:
        wd.check_record_entry(doc.kind, occurred_on, clock.today())
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="occurred_on") from err
    has_file = upload is not None and bool((upload.file.filename or "").strip())
    if not has_file and not note.strip():
        raise Refusal("Describe the record or upload its file.", 422, field="note")
    stored = store_upload(upload.file, upload.root, upload.schema, upload.max_bytes, upload.quota_bytes,
                          folder="records") if has_file else None
    entry = RecordEntry(occurred_on=occurred_on, note=note.strip(), added_by_id=actor.id, added_by_name=actor.name,
                        **(stored.columns() if stored else {}))
    doc.records.append(entry)
    db.session.flush()
    log(actor, "record.added", "document", doc.id, f"“{doc.title}”: instance of {occurred_on:%d %b %Y} added", None,
        {"record_id": entry.id, "occurred_on": occurred_on.isoformat(),
         "filename": stored.filename if stored else None})
    return entry


def next_record_due(doc: Document) -> date | None:
    """When the record's next instance is due (wd.record_due), or None when it has no frequency."""
    if doc.record_frequency is None:
        return None
    latest = max((r.occurred_on for r in doc.records), default=None)
    return wd.record_due(doc.record_frequency, latest, doc.expected_since or clock.today())


def mark_reviewed(doc: Document, actor: Actor) -> date:
    """"Reviewed, no change needed": the effective version stays, the review clock starts again."""
    try:
        wd.check_review(effective_version(doc) is not None, doc.kind)
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err
    now = clock.now()
    before = {"review_due_on": doc.review_due_on.isoformat() if doc.review_due_on else None}
    doc.last_reviewed_at, doc.last_reviewed_by_name = now, actor.name
    doc.review_due_on = wd.review_due(doc.key, doc.kind, now.date(), policy())
    log(actor, "document.reviewed", "document", doc.id, f"“{doc.title}” reviewed, no change needed", before,
        {"review_due_on": doc.review_due_on.isoformat()})
    return doc.review_due_on


def reviews_due(today: date) -> list[tuple[Document, str]]:
    """Documents whose review is due soon or overdue, soonest first, with "due" or "overdue"."""
    docs = db.session.scalars(select(Document).where(Document.review_due_on.is_not(None))
                              .order_by(Document.review_due_on)).all()
    return [(d, state) for d in docs if (state := wd.review_state(d.review_due_on, today))]


def expected_readers(client_id: int) -> dict[int, str]:
    """Who of the client is asked to acknowledge versions (user id → name)."""
    rows = db.session.execute(select(User.id, User.name).join(ClientMember, ClientMember.user_id == User.id)
                              .where(ClientMember.client_id == client_id, ClientMember.role.in_(ACKNOWLEDGERS)))
    return dict(rows.all())


def acknowledge(version: DocumentVersion, actor: Actor) -> None:
    """The actor confirms they have read this effective version."""
    already = db.session.get(Acknowledgement, (version.id, actor.id)) is not None
    try:
        wd.check_acknowledgement(version.status, version.needs_acknowledgement, version.number, already)
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err
    db.session.add(Acknowledgement(version_id=version.id, user_id=actor.id, user_name=actor.name, at=clock.now()))
    log(actor, "document.acknowledged", "document", version.document_id,
        f"“{version.document.title}” version {version.number} read and acknowledged by {actor.name}")
