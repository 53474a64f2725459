"""A document's versions (new draft, edit a draft, move along the lifecycle, the file), its record instances and
read acknowledgements."""
from __future__ import annotations

from datetime import date

from flask import abort, current_app, g, request, send_file

from workflows import documents as wd

from ...extensions import db
from ...models import RecordEntry
from ...permissions import ACKNOWLEDGERS, WRITER_ROLES, requires
from ...refusal import Refusal
from ..blueprint import bp
from .. import operations as ops
from ..operations.evidence import served_type
from .common import actor
from .documents import after_document_change, document_or_404, document_refused, upload_of, version_of


@bp.post("/documents/<int:doc_id>/versions")
@requires(*WRITER_ROLES)
def document_new_version(doc_id):
    doc = document_or_404(doc_id)
    f = request.form
    try:
        version = ops.start_version(doc, f.get("body", ""), f.get("change_reason", ""),
                                    f.get("needs_acknowledgement") == "1", actor(), upload_of())
    except Refusal as err:
        return document_refused(doc_id, err, "new_version")
    return after_document_change(doc, f"Version {version.number} drafted.", f"#version-{version.id}")


@bp.post("/documents/<int:doc_id>/versions/<int:version_id>/edit")
@requires(*WRITER_ROLES)
def document_edit_version(doc_id, version_id):
    version = version_of(doc_id, version_id)
    f = request.form
    try:
        ops.edit_version(version, f.get("body", ""), f.get("change_reason", ""),
                         f.get("needs_acknowledgement") == "1", actor())
    except Refusal as err:
        # An approved version is immutable: the page offers a new draft with what was typed.
        return document_refused(doc_id, err, f"edit-{version_id}", offer_new_draft=err.status == 409)
    return after_document_change(version.document, f"Draft version {version.number} saved.", f"#version-{version.id}")


@bp.post("/documents/<int:doc_id>/versions/<int:version_id>/status")
@requires(*WRITER_ROLES)
def document_version_status(doc_id, version_id):
    version = version_of(doc_id, version_id)
    status = request.form.get("status", "")
    try:
        changed = ops.set_version_status(version, status, actor(), g.client_role)
    except Refusal as err:
        return document_refused(doc_id, err, f"status-{version_id}")
    message = (f"Version {version.number} is now {wd.VERSION_STATUS_LABELS[status].lower()}." if changed
               else "Nothing changed.")
    return after_document_change(version.document, message, f"#version-{version.id}")


def download_stored(row):
    """A stored file (a version's, a record instance's, an evidence file) as a sandboxed download."""
    if not row.storage_path:
        abort(404)
    path = ops.attachment_path(row, current_app.config["UPLOAD_ROOT"], g.client.schema_name)
    if not path.exists():
        abort(404)
    resp = send_file(path, mimetype=served_type(row.filename), as_attachment=True, download_name=row.filename)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@bp.get("/documents/<int:doc_id>/versions/<int:version_id>/file")
def document_version_file(doc_id, version_id):
    return download_stored(version_of(doc_id, version_id))


@bp.post("/documents/<int:doc_id>/versions/<int:version_id>/acknowledge")
@requires(*ACKNOWLEDGERS)
def document_acknowledge(doc_id, version_id):
    version = version_of(doc_id, version_id)
    try:
        ops.acknowledge(version, actor())
    except Refusal as err:
        return document_refused(doc_id, err, "acknowledge")
    return after_document_change(version.document, f"Thank you: version {version.number} acknowledged.",
                                 f"#version-{version.id}")


@bp.post("/documents/<int:doc_id>/records")
@requires(*WRITER_ROLES)
def document_add_record(doc_id):
    doc = document_or_404(doc_id)
    raw = request.form.get("occurred_on", "").strip()
    try:
        try:
            occurred_on = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise Refusal("Give the record's date as a date (YYYY-MM-DD).", 422, field="occurred_on") from None
        entry = ops.add_record_entry(doc, occurred_on, request.form.get("note", ""), actor(), upload_of())
    except Refusal as err:
        return document_refused(doc_id, err, "record")
    return after_document_change(doc, f"Record of {entry.occurred_on:%d %b %Y} added.", "#records")


@bp.get("/documents/<int:doc_id>/records/<int:record_id>/file")
def document_record_file(doc_id, record_id):
    entry = db.get_or_404(RecordEntry, record_id)
    if entry.document_id != doc_id:
        abort(404)
    return download_stored(entry)
