"""Evidence files on a document version or a record instance: upload, download, delete (logged)."""
from __future__ import annotations

from flask import abort, current_app, g, request

from ...extensions import db
from ...models import Attachment, RecordEntry
from ...permissions import WRITER_ROLES, requires
from ...refusal import Refusal
from ..blueprint import bp
from .. import operations as ops
from .common import actor
from .document_versions import download_stored
from .documents import after_document_change, document_or_404, document_refused, upload_of, version_of


def _record_of(doc_id: int, record_id: int) -> RecordEntry:
    entry = db.get_or_404(RecordEntry, record_id)
    if entry.document_id != doc_id:
        abort(404)
    return entry


def _evidence_of(doc_id: int, attachment_id: int) -> Attachment:
    """An evidence file of this document (of one of its versions or record instances), else 404."""
    att = db.get_or_404(Attachment, attachment_id)
    parent = ops.evidence_parent(att)
    if parent is None or parent.document_id != doc_id:
        abort(404)
    return att


def _upload(doc_id: int, parent, anchor: str):
    document_or_404(doc_id)
    if request.files.get("file") is None or not (request.files["file"].filename or "").strip():
        return document_refused(doc_id, Refusal("Choose a file to upload.", 422, field="file"), anchor)
    try:
        att = ops.add_document_evidence(parent, upload_of(), actor())
    except Refusal as err:
        return document_refused(doc_id, err, anchor)
    return after_document_change(parent.document, f"“{att.filename}” added as evidence.", f"#{anchor}")


@bp.post("/documents/<int:doc_id>/versions/<int:version_id>/evidence")
@requires(*WRITER_ROLES)
def document_version_evidence(doc_id, version_id):
    version = version_of(doc_id, version_id)
    return _upload(doc_id, version, f"version-{version.id}")


@bp.post("/documents/<int:doc_id>/records/<int:record_id>/evidence")
@requires(*WRITER_ROLES)
def document_record_evidence(doc_id, record_id):
    entry = _record_of(doc_id, record_id)
    return _upload(doc_id, entry, f"record-{entry.id}")


@bp.get("/documents/<int:doc_id>/evidence/<int:attachment_id>")
def document_evidence_file(doc_id, attachment_id):
    return download_stored(_evidence_of(doc_id, attachment_id))


@bp.post("/documents/<int:doc_id>/evidence/<int:attachment_id>/delete")
@requires(*WRITER_ROLES)
def document_evidence_delete(doc_id, attachment_id):
    att = _evidence_of(doc_id, attachment_id)
    parent = ops.evidence_parent(att)
    anchor = f"version-{parent.id}" if att.document_version_id else f"record-{parent.id}"
    doc = parent.document
    try:
        ops.delete_document_evidence(att, actor(), current_app.config["UPLOAD_ROOT"], g.client.schema_name)
    except Refusal as err:
        return document_refused(doc_id, err, anchor)
    return after_document_change(doc, "File removed; the activity log keeps a record of it.", f"#{anchor}")
