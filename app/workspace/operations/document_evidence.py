"""Evidence files on a document version or a record instance (a signed copy, the minutes of the approval, an
attendance list), beside the task evidence of evidence.py: one upload path (store_upload: size, type, quota,
executable refusal), one table (attachments), deletions logged."""
from __future__ import annotations

from sqlalchemy import delete

from workflows.stages import stage_label

from ...extensions import db
from ...models import Attachment, Document, DocumentVersion, RecordEntry, Stage
from ...refusal import Refusal
from ...transaction import after_commit
from .common import Actor, log
from .documents import Upload
from .evidence import attachment_path, store_upload


def _where(parent: DocumentVersion | RecordEntry) -> str:
    if isinstance(parent, DocumentVersion):
        return f"version {parent.number}"
    return f"the record of {parent.occurred_on:%d %b %Y}"


def _check_changeable(parent: DocumentVersion | RecordEntry) -> Document:
    """A version's evidence is part of a signed-off stage once its gate is passed; record instances accrue
    whatever the stage (as add_record_entry allows), so their evidence does too."""
    doc = parent.document
    if isinstance(parent, DocumentVersion) and db.session.get(Stage, doc.stage).status == "passed":
        raise Refusal(f"“{doc.title}” belongs to {stage_label(doc.stage)}, which is signed off: reopen the stage "
                      "to change its versions' evidence.", 409)
    return doc


def add_document_evidence(parent: DocumentVersion | RecordEntry, upload: Upload | None, actor: Actor) -> Attachment:
    """Store an uploaded file as evidence on a document version or a record instance."""
    doc = _check_changeable(parent)
    if upload is None:
        raise Refusal("Choose a file to upload.", 422, field="file")
    stored = store_upload(upload.file, upload.root, upload.schema, upload.max_bytes, upload.quota_bytes)
    att = Attachment(**stored.columns(), uploaded_by_id=actor.id, uploaded_by_name=actor.name)
    parent.evidence.append(att)
    db.session.flush()
    log(actor, "attachment.added", "document", doc.id,
        f"Evidence “{stored.filename}” added to “{doc.title}”, {_where(parent)}", None,
        {"attachment_id": att.id, "filename": stored.filename, "size_bytes": stored.size_bytes, "sha256": att.sha256,
         **_parent_ref(parent)})
    return att


def _parent_ref(parent: DocumentVersion | RecordEntry) -> dict:
    return {"version_id": parent.id} if isinstance(parent, DocumentVersion) else {"record_id": parent.id}


def evidence_parent(att: Attachment) -> DocumentVersion | RecordEntry | None:
    """The version or record instance an evidence file belongs to (None: a task's)."""
    if att.document_version_id is not None:
        return db.session.get(DocumentVersion, att.document_version_id)
    if att.record_entry_id is not None:
        return db.session.get(RecordEntry, att.record_entry_id)
    return None


def delete_document_evidence(att: Attachment, actor: Actor, upload_root: str, schema: str) -> None:
    parent = evidence_parent(att)
    doc = _check_changeable(parent)
    before = {"attachment_id": att.id, "filename": att.filename, "size_bytes": att.size_bytes, "sha256": att.sha256,
              **_parent_ref(parent)}
    path = attachment_path(att, upload_root, schema)
    # As for task evidence: of two deletes at once only the one that removed the row logs it.
    removed = db.session.execute(delete(Attachment).where(Attachment.id == att.id),
                                 execution_options={"synchronize_session": False}).rowcount
    if removed != 1:
        raise Refusal(f"“{att.filename}” was already removed.", 409)
    db.session.expire(parent, ["evidence"])
    db.session.expunge(att)
    log(actor, "attachment.deleted", "document", doc.id,
        f"Evidence “{before['filename']}” removed from “{doc.title}”, {_where(parent)}", before, None)
    after_commit(path.unlink, missing_ok=True)
