"""Documents and records: their approval status."""
from __future__ import annotations

import workflows as wf

from ... import clock
from ...extensions import db
from ...models import Document, Stage
from ...notify.events import announce
from ...refusal import Refusal
from .common import Actor, log
from .state import lock_gate_state


def set_document_status(doc: Document, status: str, actor: Actor, may_approve: bool) -> None:
    # Under the gate lock: an approval is decided on the documents as they are, so none changes beside it.
    lock_gate_state()
    db.session.refresh(doc)
    try:
        wf.check_stage_open(doc.stage, db.session.get(Stage, doc.stage).status, "documents")
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
    if status == "in_review":  # to whoever approves the client's documents
        announce("document_waiting", f"document/{doc.id}", "workspace.documents", actor_id=actor.id,
                 fragment=f"doc-{doc.id}", title=doc.title)
