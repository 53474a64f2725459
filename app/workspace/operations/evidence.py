"""Evidence files attached to tasks: checked on the way in, logged on the way out."""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select, text

from ...extensions import db
from ...models import Attachment, DocumentVersion, RecordEntry, Task
from ...refusal import Refusal
from ...transaction import after_commit
from .common import Actor, log
from .tasks import ensure_workable

ALLOWED_EXTENSIONS = {
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "txt", "csv", "md",
    "png", "jpg", "jpeg", "gif", "webp", "svg", "eml", "msg", "json", "xml",
}
# Executables are refused whatever their name says.
EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"#!", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")
# The type a file is served with follows from its checked extension, never from what the browser claimed.
# Only types a browser will not run as a page are listed: SVG, XML and e-mail (and anything HTML-like, should
# it ever be allowed) can carry script, so they fall through to `application/octet-stream`.
SERVED_TYPES = {
    "pdf": "application/pdf", "doc": "application/msword", "rtf": "application/rtf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xls": "application/vnd.ms-excel", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt": "application/vnd.ms-powerpoint",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "odt": "application/vnd.oasis.opendocument.text", "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "txt": "text/plain", "csv": "text/csv", "md": "text/markdown", "json": "application/json",
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
}
OPAQUE = "application/octet-stream"


def _extension(filename: str) -> str:
    return filename.rsplit(".", 1)[-1].lower() if "." in filename else ""


def served_type(filename: str) -> str:
    """The Content-Type a stored file is downloaded with, from its name alone."""
    return SERVED_TYPES.get(_extension(filename), OPAQUE)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _quota_refusal(used: int, quota: int, filename: str | None) -> Refusal:
    does_not_fit = f", and “{filename}” does not fit in what is left" if filename else ""
    return Refusal(f"This client has used {_size(used)} of its {_size(quota)} for evidence{does_not_fit}; remove "
                   "files that are no longer needed or ask your ISOpath administrator for more space.",
                   413, field="file")


def storage_used() -> int:
    """Bytes of files the bound client stores: evidence, document versions and record instances."""
    total = select(func.coalesce(func.sum(Attachment.size_bytes), 0)).scalar_subquery()
    for model in (DocumentVersion, RecordEntry):
        total = total + select(func.coalesce(func.sum(model.size_bytes), 0)).scalar_subquery()
    return db.session.scalar(select(total))


@dataclass(frozen=True)
class StoredFile:
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    storage_path: str

    def columns(self) -> dict:
        return {"filename": self.filename, "content_type": self.content_type, "size_bytes": self.size_bytes,
                "sha256": self.sha256, "storage_path": self.storage_path}


def store_upload(upload, upload_root: str, schema: str, max_bytes: int, quota_bytes: int | None = None,
                 folder: str = "attachments") -> StoredFile:
    """Check an uploaded file (name, type, not a program, size, the client's quota) and store its bytes under
    UPLOAD_ROOT/<schema>/<folder>/; a refusal stores nothing. The caller records the row in the same
    transaction (the quota lock is held until it commits)."""
    filename = os.path.basename((upload.filename or "").replace("\\", "/")).strip()
    if not filename:
        raise Refusal("Choose a file to upload.", 422, field="file")
    ext = _extension(filename)
    if ext not in ALLOWED_EXTENSIONS:
        raise Refusal(f"“{filename}” can't be uploaded: use a document, spreadsheet, PDF, image or e-mail "
                      f"file ({', '.join(sorted(ALLOWED_EXTENSIONS))}).", 422, field="file")
    head = upload.stream.read(4)
    if head.startswith(EXECUTABLE_MAGIC):
        raise Refusal(f"“{filename}” looks like a program; executables can't be uploaded.", 422, field="file")
    room, used = max_bytes, 0
    if quota_bytes is not None:
        # Two uploads for one client at once must not both fit in the same room: the second waits for the
        # first's commit (the lock ends with the transaction; the body is already spooled, so this is short).
        db.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"evidence-quota:{schema}"})
        used = storage_used()
        if used + len(head) > quota_bytes:
            raise _quota_refusal(used, quota_bytes, filename if used < quota_bytes else None)
        room = min(max_bytes, quota_bytes - used)
    relative = f"{folder}/{secrets.token_hex(16)}"
    target = Path(upload_root) / schema / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(head), len(head)
    try:
        with open(target, "wb") as out:
            out.write(head)
            for chunk in iter(lambda: upload.stream.read(1 << 16), b""):
                size += len(chunk)
                if size > max_bytes:
                    raise Refusal(f"“{filename}” is larger than {max_bytes // (1024 * 1024)} MB.", 413, field="file")
                if size > room:
                    raise _quota_refusal(used, quota_bytes, filename)
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Refusal(f"“{filename}” is empty.", 422, field="file")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return StoredFile(filename[:255], served_type(filename), size, digest.hexdigest(), relative)


def add_attachment(task: Task, upload, actor: Actor, upload_root: str, schema: str, max_bytes: int,
                   quota_bytes: int | None = None) -> Attachment:
    """Store an uploaded file as evidence; the bytes go under UPLOAD_ROOT/<schema>/.

    `quota_bytes` bounds the client's files in total; an upload that would pass it stores nothing.
    """
    ensure_workable(task)
    stored = store_upload(upload, upload_root, schema, max_bytes, quota_bytes)
    att = Attachment(task=task, **stored.columns(), uploaded_by_id=actor.id, uploaded_by_name=actor.name)
    db.session.add(att)
    db.session.flush()
    log(actor, "attachment.added", "task", task.id, f"Evidence “{stored.filename}” added to “{task.title}”",
        None, {"attachment_id": att.id, "filename": stored.filename, "size_bytes": stored.size_bytes,
               "sha256": att.sha256})
    return att


def attachment_path(att: Attachment, upload_root: str, schema: str) -> Path:
    return Path(upload_root) / schema / att.storage_path


def delete_attachment(att: Attachment, actor: Actor, upload_root: str, schema: str) -> None:
    task = att.task
    ensure_workable(task)
    before = {"attachment_id": att.id, "filename": att.filename, "size_bytes": att.size_bytes, "sha256": att.sha256}
    path = attachment_path(att, upload_root, schema)
    # The row goes by its id, and only the request that removed it logs it: of two deletes at once, the
    # second waits for the first's row lock, then finds nothing (409, nothing logged).
    removed = db.session.execute(delete(Attachment).where(Attachment.id == att.id),
                                 execution_options={"synchronize_session": False}).rowcount
    if removed != 1:
        raise Refusal(f"“{att.filename}” was already removed.", 409)
    db.session.expire(task, ["attachments"])
    db.session.expunge(att)
    log(actor, "attachment.deleted", "task", task.id, f"Evidence “{before['filename']}” removed from “{task.title}”",
        before, None)
    # The file goes only once the row's removal is committed: a rolled-back delete keeps both.
    after_commit(path.unlink, missing_ok=True)
