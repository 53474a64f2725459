"""Documents and records: the list and their approval."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

import workflows as wf

from ...extensions import db
from ...models import Document, Stage
from ...permissions import CLIENT_MANAGERS, WRITER_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, refused


@bp.get("/documents")
def documents():
    docs = db.session.scalars(select(Document).join(Stage, Stage.key == Document.stage)
                              .order_by(Stage.position, Document.id)).all()
    passed = {st.key: st.passed_at for st in db.session.scalars(select(Stage).where(Stage.status == "passed"))}
    return render("workspace/documents.html", client=g.client, documents=docs, passed=passed,
                  statuses=wf.DOCUMENT_STATUS_LABELS, can_write=may_change(*WRITER_ROLES),
                  can_approve=may_change(*CLIENT_MANAGERS))


@bp.post("/documents/<int:doc_id>/status")
@requires(*WRITER_ROLES)
def document_status(doc_id):
    doc = db.get_or_404(Document, doc_id)
    try:
        ops.set_document_status(doc, request.form.get("status", ""), actor(), g.client_role in CLIENT_MANAGERS)
    except Refusal as err:
        return refused(err, "workspace.documents")
    ops.save(g.client)
    flash(f"“{doc.title}” is now {wf.DOCUMENT_STATUS_LABELS[doc.status].lower()}.", "success")
    return redirect(url_for("workspace.documents") + f"#doc-{doc.id}", 303)
