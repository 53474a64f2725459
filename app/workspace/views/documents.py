"""Document control: the register, one document's page, its register fields, its quick status and its review."""
from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select

import workflows as wf
from workflows import documents as wd

from ... import clock
from ...extensions import db
from ...inputs import parse_id
from ...models import Document, DocumentVersion, Stage, Task
from ...permissions import ACKNOWLEDGERS, CLIENT_MANAGERS, EVIDENCE_PACK_ROLES, WRITER_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, people, refused


@bp.get("/documents")
def documents():
    docs = db.session.scalars(select(Document).join(Stage, Stage.key == Document.stage)
                              .order_by(Stage.position, Document.id)).all()
    passed = {st.key: st.passed_at for st in db.session.scalars(select(Stage).where(Stage.status == "passed"))}
    today = clock.today()
    return render("workspace/documents.html", client=g.client, documents=docs, passed=passed,
                  statuses=wf.DOCUMENT_STATUS_LABELS, can_write=may_change(*WRITER_ROLES),
                  can_approve=may_change(*CLIENT_MANAGERS), people=people(),
                  reviews=ops.reviews_due(today), review_state=lambda d: wd.review_state(d.review_due_on, today),
                  effective={d.id: ops.effective_version(d) for d in docs},
                  can_pack=g.get("client_role") in EVIDENCE_PACK_ROLES)


SCOPE_DOCUMENT = "qms_scope"


def document_page(doc: Document, status: int = 200, error: str | None = None, typed=None, failed: str | None = None,
                  offer_new_draft: bool = False):
    """One document: its register fields, its effective version, the version history, a new draft, its
    review, who has acknowledged it and, for a record, its dated instances. `failed` names the form that
    comes back with `error` and what was `typed`."""
    stage = db.session.get(Stage, doc.stage)
    effective, working = ops.effective_version(doc), ops.working_version(doc)
    readers = ops.expected_readers(g.client.id)
    acknowledged = {v.id: {a.user_id for a in v.acknowledgements} for v in doc.versions}
    can_write = may_change(*WRITER_ROLES)
    tasks = db.session.scalars(select(Task).where(Task.key.in_(doc.task_keys or [])).order_by(Task.position)).all()
    return render("workspace/document.html", client=g.client, doc=doc, stage=stage, effective=effective,
                  working=working, versions=list(reversed(doc.versions)), people=people(), tasks=tasks,
                  labels=wd.VERSION_STATUS_LABELS, kinds=wd.DOCUMENT_KINDS, origins=wd.ORIGINS,
                  frequencies=wd.RECORD_FREQUENCIES, record_due=ops.next_record_due(doc),
                  approver_roles=wd.APPROVER_ROLES, top_management_fixed=doc.key in wd.TOP_MANAGEMENT_DOCUMENTS,
                  review=wd.review_state(doc.review_due_on, clock.today()), today=clock.today(),
                  not_acknowledged=lambda v: wd.not_acknowledged(readers, acknowledged[v.id]),
                  acknowledged_by_me=lambda v: current_user.id in acknowledged[v.id],
                  can_write=can_write, can_change=can_write and stage.status != "passed",
                  can_manage=may_change(*CLIENT_MANAGERS), may_approve=ops.may_approve(doc, g.client_role),
                  can_acknowledge=may_change(*ACKNOWLEDGERS), error=error, failed=failed, typed=typed or {},
                  offer_new_draft=offer_new_draft, statuses=wf.DOCUMENT_STATUS_LABELS,
                  # The scope statement carries the client's not-applicable decisions and who approved them (4.3).
                  na_decisions=ops.not_applicable_decisions() if doc.key == SCOPE_DOCUMENT else None), status


def document_or_404(doc_id: int) -> Document:
    return db.get_or_404(Document, doc_id)


def after_document_change(doc: Document, message: str, anchor: str = ""):
    ops.save(g.client)
    flash(message, "success")
    return redirect(url_for("workspace.document", doc_id=doc.id) + anchor, 303)


def document_refused(doc_id: int, err: Refusal, failed: str | None = None, **extra):
    db.session.rollback()
    return document_page(document_or_404(doc_id), err.status, str(err), typed=request.form, failed=failed, **extra)


def upload_of(field: str = "file") -> ops.Upload | None:
    file = request.files.get(field)
    if file is None or not (file.filename or "").strip():
        return None
    cfg = current_app.config
    return ops.Upload(file, cfg["UPLOAD_ROOT"], g.client.schema_name, cfg["MAX_UPLOAD_MB"] * 1024 * 1024,
                      cfg["CLIENT_STORAGE_MB"] * 1024 * 1024)


@bp.get("/documents/<int:doc_id>")
def document(doc_id):
    return document_page(document_or_404(doc_id))


@bp.post("/documents/<int:doc_id>/status")
@requires(*WRITER_ROLES)
def document_status(doc_id):
    doc = document_or_404(doc_id)
    try:
        ops.set_document_status(doc, request.form.get("status", ""), actor(), g.client_role)
    except Refusal as err:
        return refused(err, "workspace.documents")
    ops.save(g.client)
    flash(f"“{doc.title}” is now {wf.DOCUMENT_STATUS_LABELS[doc.status].lower()}.", "success")
    return redirect(url_for("workspace.documents") + f"#doc-{doc.id}", 303)


@bp.post("/documents/<int:doc_id>/register")
@requires(*CLIENT_MANAGERS)
def document_register(doc_id):
    doc = document_or_404(doc_id)
    f = request.form
    owner = f.get("owner_id", "").strip()
    owner_id = parse_id(owner) if owner else None
    if owner and owner_id is None:
        return document_refused(doc_id, Refusal("Choose the owner from the list.", 422, field="owner_id"), "register")
    form = ops.RegisterForm(identifier=f.get("identifier", ""), title=f.get("title", ""), kind=f.get("kind", ""),
                            owner_id=owner_id, approver_role=f.get("approver_role", ""), origin=f.get("origin", ""),
                            retention=f.get("retention", ""), record_frequency=f.get("record_frequency", ""))
    try:
        ops.update_register(doc, form, actor(), set(people()))
    except Refusal as err:
        return document_refused(doc_id, err, "register")
    return after_document_change(doc, "Register entry saved.", "#register")


@bp.post("/documents/<int:doc_id>/reviewed")
@requires(*CLIENT_MANAGERS)
def document_reviewed(doc_id):
    doc = document_or_404(doc_id)
    try:
        due = ops.mark_reviewed(doc, actor())
    except Refusal as err:
        return document_refused(doc_id, err, "review")
    return after_document_change(doc, f"Reviewed, no change needed; next review due {due:%d %b %Y}.", "#review")


def version_of(doc_id: int, version_id: int):
    version = db.get_or_404(DocumentVersion, version_id)
    if version.document_id != doc_id:
        abort(404)
    return version
