"""Evidence files on a task: upload, download, delete (the activity log keeps a record)."""
from __future__ import annotations

from flask import abort, current_app, g, request, send_file

from ...extensions import db
from ...models import Attachment, Task
from ...permissions import WRITER_ROLES, requires
from ...refusal import Refusal
from ..blueprint import bp
from .. import operations as ops
from ..operations.evidence import served_type
from .common import actor, after_task_change, task_refused


def _attachment_or_404(task_id: int, attachment_id: int) -> Attachment:
    att = db.get_or_404(Attachment, attachment_id)
    if att.task_id != task_id:
        abort(404)
    return att


@bp.post("/tasks/<int:task_id>/attachments")
@requires(*WRITER_ROLES)
def task_upload(task_id):
    task = db.get_or_404(Task, task_id)
    upload = request.files.get("file")
    if upload is None:
        return task_refused(task, Refusal("Choose a file to upload.", 422, field="file"), "evidence")
    cfg = current_app.config
    try:
        ops.add_attachment(task, upload, actor(), cfg["UPLOAD_ROOT"], g.client.schema_name,
                           cfg["MAX_UPLOAD_MB"] * 1024 * 1024,
                           quota_bytes=cfg["CLIENT_STORAGE_MB"] * 1024 * 1024)
    except Refusal as err:
        return task_refused(task, err, "evidence")
    return after_task_change(task, "evidence", f"“{upload.filename}” uploaded.")


@bp.get("/tasks/<int:task_id>/attachments/<int:attachment_id>")
def task_download(task_id, attachment_id):
    att = _attachment_or_404(task_id, attachment_id)
    path = ops.attachment_path(att, current_app.config["UPLOAD_ROOT"], g.client.schema_name)
    if not path.exists():
        abort(404)
    # Typed by the file's checked extension, not by the stored type (older rows hold the browser's claim);
    # always a download, never sniffed, and sandboxed should a browser render it anyway.
    resp = send_file(path, mimetype=served_type(att.filename), as_attachment=True, download_name=att.filename)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return resp


@bp.post("/tasks/<int:task_id>/attachments/<int:attachment_id>/delete")
@requires(*WRITER_ROLES)
def task_delete_attachment(task_id, attachment_id):
    att = _attachment_or_404(task_id, attachment_id)
    task = att.task
    try:
        ops.delete_attachment(att, actor(), current_app.config["UPLOAD_ROOT"], g.client.schema_name)
    except Refusal as err:
        return task_refused(task, err, "evidence")
    return after_task_change(task, "evidence", "File removed; the activity log keeps a record of it.")
