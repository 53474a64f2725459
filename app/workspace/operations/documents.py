"""Documents and records: their approval status."""
from __future__ import annotations

import workflows as wf

from ... import clock
from ...models import Document
from ...refusal import Refusal
from .common import Actor, log


def set_document_status(doc: Document, status: str, actor: Actor, may_approve: bool) -> None:
    try:
        wf.check_document_transition(doc.status, status, may_approve)
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="status") from err
    if status == doc.status:
        return
    labels = wf.DOCUMENT_STATUS_LABELS
    before = {"status": doc.status}
    doc.status = status
    doc.approved_by_id = actor.id if status == "approved" else None
    doc.approved_at = clock.now() if status == "approved" else None
    log(actor, "document.status", "document", doc.id,
        f"“{doc.title}”: {labels[before['status']]} → {labels[status]}", before, {"status": status})
