"""Document control: the register, and each document's versions from draft to effective (workflows/documents.py).

The register's `status` is kept as the summary the gates, readiness and My work read (`_sync`): approved
while a version is effective. Every change of a version runs under the client's gate lock, so an approval is
decided on the documents as they are, and the partial unique index keeps one effective version per document
whatever happens beside it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

import tenants
import workflows as wf
from workflows import documents as wd

from ... import clock
from ...extensions import db
from ...models import Client, ClientMember, Document, DocumentVersion, Stage
from ...notify.events import announce
from ...permissions import DOCUMENT_APPROVERS
from ...refusal import Refusal
from .common import Actor, check_length, log
from .evidence import store_upload
from .state import lock_gate_state, settings

FIRST_VERSION_REASON = "First version, created from the template"


@dataclass(frozen=True)
class Upload:
    """Where and how an uploaded file may be stored (the app's configuration, read by the view)."""
    file: object
    root: str
    schema: str
    max_bytes: int
    quota_bytes: int | None


def _refuse(err: wf.WorkflowError, field: str | None = None) -> Refusal:
    return Refusal.of(err, field=field)


def policy() -> wd.ReviewPolicy:
    s = settings()
    return wd.ReviewPolicy(s.review_months_core, s.review_months_other)


def _identifier(kind: str, number: int) -> str:
    return f"{'REC' if kind == 'record' else 'DOC'}-{number:03d}"


def next_identifier(kind: str) -> str:
    prefix = _identifier(kind, 0)[:4]
    taken = db.session.scalars(select(Document.identifier).where(Document.identifier.like(f"{prefix}%"))).all()
    numbers = [int(i[len(prefix):]) for i in taken if i and i[len(prefix):].isdigit()]
    return _identifier(kind, max(numbers, default=0) + 1)


def register_document(d: wf.DocumentTemplate, stage_key: str, template: wf.Template, actor: Actor,
                      number: int | None = None) -> Document:
    """A template's document as a register entry with its first (empty) draft version; `number`: its place among
    the entries of its kind when a whole register is created at once (else the next free identifier)."""
    clauses = set(d.clauses)
    served = [t.key for _, t in template.iter_tasks() if clauses & set(t.clauses)]
    doc = Document(key=d.key, stage=stage_key, title=d.title, kind=d.kind, clauses=list(d.clauses), required=d.required,
                   identifier=_identifier(d.kind, number) if number else next_identifier(d.kind),
                   approver_role=wd.default_approver_role(d.key),
                   task_keys=served[:20])
    doc.versions.append(DocumentVersion(number=1, change_reason=FIRST_VERSION_REASON, created_by_id=actor.id,
                                        created_by_name=actor.name))
    db.session.add(doc)
    return doc


def effective_version(doc: Document) -> DocumentVersion | None:
    return next((v for v in doc.versions if v.status == wd.APPROVED), None)


def working_version(doc: Document) -> DocumentVersion | None:
    return next((v for v in reversed(doc.versions) if v.status in wd.WORKING_STATUSES), None)


def _sync(doc: Document) -> None:
    """The register's summary columns from its versions (what the gate rules read)."""
    doc.status = wd.summary_status(v.status for v in doc.versions)
    effective = effective_version(doc)
    doc.approved_by_id = effective.approved_by_id if effective else None
    doc.approved_at = effective.approved_at if effective else None


def _check_open(doc: Document) -> None:
    try:
        wf.check_stage_open(doc.stage, db.session.get(Stage, doc.stage).status, "documents")
    except wf.WorkflowError as err:
        raise _refuse(err, "status") from err


def may_approve(doc: Document, role: str | None) -> bool:
    return role in DOCUMENT_APPROVERS[doc.approver_role]


def set_version_status(version: DocumentVersion, status: str, actor: Actor, role: str | None) -> bool:
    """Move a version along its lifecycle; approving it supersedes the effective one. Returns whether it changed."""
    lock_gate_state()
    db.session.refresh(version)
    doc = version.document
    db.session.refresh(doc)
    _check_open(doc)
    try:
        if not wd.check_version_transition(version.status, status, version.number):
            return False
        # Approving, and withdrawing what was approved, are the approver's (a draft anyone may abandon).
        if status == wd.APPROVED or version.status == wd.APPROVED:
            wd.check_approval(doc.approver_role, may_approve(doc, role), doc.title)
    except wf.WorkflowError as err:
        raise _refuse(err, "status") from err
    before, now = version.status, clock.now()
    previous = effective_version(doc)
    if status == wd.APPROVED:
        if previous is not None:
            previous.status, previous.ended_at = wd.SUPERSEDED, now
            db.session.flush()  # before the new one is effective: the index allows one at a time
        version.approved_by_id, version.approved_by_name, version.approved_at = actor.id, actor.name, now
        doc.review_due_on = wd.review_due(doc.key, doc.kind, now.date(), policy())
    elif status == wd.OBSOLETE:
        version.ended_at = now
        if before == wd.APPROVED:
            doc.review_due_on = None
    version.status = status
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as err:  # another request made a version effective at the same moment
        raise Refusal(f"Another version of “{doc.title}” was approved at the same moment; reload the page.",
                      409) from err
    _sync(doc)
    labels = wd.VERSION_STATUS_LABELS
    superseded = f"; version {previous.number} superseded" if status == wd.APPROVED and previous else ""
    log(actor, "document.version_status", "document", doc.id,
        f"“{doc.title}” version {version.number}: {labels[before]} → {labels[status]}{superseded}",
        {"version": version.number, "status": before}, {"version": version.number, "status": status})
    if status == wd.IN_REVIEW:  # to whoever approves it: the client's top management for its own documents
        announce("document_waiting", f"document/{doc.id}/v{version.number}", "workspace.document",
                 actor_id=actor.id, link_values={"doc_id": doc.id}, to=_top_management(doc), title=doc.title)
    return True


def _top_management(doc: Document) -> list[int]:
    """The client's top management, when they approve this document (the consultants are told in any case)."""
    if doc.approver_role != "top_management":
        return []
    return list(db.session.scalars(  # the bound client's members, in the shared schema
        select(ClientMember.user_id).join(Client, Client.id == ClientMember.client_id)
        .where(Client.schema_name == tenants.current_schema(), ClientMember.role == "top_management")))


def set_document_status(doc: Document, status: str, actor: Actor, role: str | None) -> None:
    """The register's quick status control: the move applies to the version being worked on (the newest draft
    or one in review), or withdraws the effective one. An approved document can't go back to draft or review:
    that is a new version (409)."""
    if status not in wf.DOCUMENT_STATUSES:
        raise Refusal("Choose a valid document status.", 422, field="status")
    lock_gate_state()  # decided on the versions as they are under the gate lock (taken again below: a no-op)
    db.session.refresh(doc)
    _check_open(doc)
    target = working_version(doc)
    if target is None:
        effective = effective_version(doc)
        if effective is not None and status in (wd.APPROVED,):
            return
        if effective is not None and status == wd.OBSOLETE:
            target = effective
        elif effective is not None:
            raise Refusal(f"“{doc.title}” is approved (version {effective.number}) and can't change; start a new "
                          "draft on its page instead.", 409, field="status")
        elif status == wd.OBSOLETE:
            return
        else:  # every version withdrawn: the document comes back as a new draft
            target = _new_version(doc, "", "Brought back into use", False, actor)
    set_version_status(target, status, actor, role)


def _new_version(doc: Document, body: str, reason: str, needs_ack: bool, actor: Actor,
                 stored=None) -> DocumentVersion:
    number = (db.session.scalar(select(func.max(DocumentVersion.number))
                                .where(DocumentVersion.document_id == doc.id)) or 0) + 1
    version = DocumentVersion(number=number, body=body, change_reason=reason, needs_acknowledgement=needs_ack,
                              created_by_id=actor.id, created_by_name=actor.name,
                              **(stored.columns() if stored else {}))
    doc.versions.append(version)
    db.session.flush()
    _sync(doc)
    return version


def start_version(doc: Document, body: str, reason: str, needs_ack: bool, actor: Actor,
                  upload: Upload | None = None) -> DocumentVersion:
    """A new draft: text written in the app and/or an uploaded file, with the reason for the change."""
    _check_open(doc)
    if doc.kind != "document":
        raise Refusal("Records collect dated instances, not versions: add an instance below.", 409)
    has_file = upload is not None and bool((upload.file.filename or "").strip())
    try:
        wd.check_new_version(body, has_file, reason, working_version(doc) is not None)
    except wf.WorkflowError as err:
        raise _refuse(err, "body" if err.status == 422 else None) from err
    stored = store_upload(upload.file, upload.root, upload.schema, upload.max_bytes, upload.quota_bytes,
                          folder="documents") if has_file else None
    version = _new_version(doc, body.strip(), reason.strip(), needs_ack, actor, stored)
    log(actor, "document.version_added", "document", doc.id,
        f"“{doc.title}”: version {version.number} drafted ({reason.strip()[:120]})", None,
        {"version": version.number, "filename": stored.filename if stored else None,
         "sha256": stored.sha256 if stored else None})
    return version


def edit_version(version: DocumentVersion, body: str, reason: str, needs_ack: bool, actor: Actor) -> None:
    """Change a draft's text; an approved version is immutable (409: start a new draft instead)."""
    doc = version.document
    _check_open(doc)
    try:
        wd.check_version_edit(version.status, version.number)
        if not body.strip() and not version.filename:
            raise wf.TransitionError("Write the document's text or upload its file: a version can't be empty.",
                                     status=422)
        if not reason.strip():
            raise wf.TransitionError("Say what changed and why (the change reason).", status=422)
    except wf.WorkflowError as err:
        raise _refuse(err, "body" if err.status == 422 else None) from err
    before = {"body": version.body, "change_reason": version.change_reason}
    version.body, version.change_reason, version.needs_acknowledgement = body.strip(), reason.strip(), needs_ack
    log(actor, "document.version_edited", "document", doc.id, f"“{doc.title}”: draft version {version.number} edited",
        before, {"body": version.body, "change_reason": version.change_reason})


@dataclass
class RegisterForm:
    identifier: str = ""
    title: str = ""
    kind: str = "document"
    owner_id: int | None = None
    approver_role: str = "consultant"
    origin: str = "internal"
    retention: str = ""
    record_frequency: str = ""  # "" (no set rhythm), monthly, quarterly or yearly: records only


def update_register(doc: Document, form: RegisterForm, actor: Actor, members: set[int]) -> None:
    """Change a register entry's fields (identifier, title, kind, owner, approver role, origin, retention, and
    for a record how often its instances are expected)."""
    _check_open(doc)
    try:
        wd.check_register_entry(doc.key, form.identifier, form.title, form.kind, form.approver_role, form.origin)
    except wf.WorkflowError as err:
        raise _refuse(err) from err
    try:
        frequency = wd.check_record_frequency(form.kind, form.record_frequency)
    except wf.WorkflowError as err:
        raise _refuse(err, "record_frequency") from err
    if form.owner_id is not None and form.owner_id not in members:
        raise Refusal("Choose the owner among the people who work on this client.", 422, field="owner_id")
    if form.kind != doc.kind and (doc.records or len(doc.versions) > 1):
        raise Refusal("This entry already has versions or record instances; its kind can't change.", 409,
                      field="kind")
    identifier = check_length(form.identifier.strip(), Document.identifier, "identifier", "The identifier")
    clash = db.session.scalar(select(Document.id).where(Document.identifier == identifier, Document.id != doc.id))
    if clash is not None:
        raise Refusal(f"Another entry of the register is already {identifier}.", 422, field="identifier")
    fields = {"identifier": identifier,
              "title": check_length(form.title.strip(), Document.title, "title", "The title"),
              "kind": form.kind, "owner_id": form.owner_id, "approver_role": form.approver_role,
              "origin": form.origin,
              "retention": check_length(form.retention.strip(), Document.retention, "retention", "The retention"),
              "record_frequency": frequency}
    before = {k: getattr(doc, k) for k in fields}
    changed = {k: v for k, v in fields.items() if before[k] != v}
    if not changed:
        return
    for k, v in changed.items():
        setattr(doc, k, v)
    if "record_frequency" in changed:  # a new rhythm counts from today: nothing is overdue the day it is set
        doc.expected_since = clock.today() if frequency else None
    log(actor, "document.register", "document", doc.id, f"Register entry “{doc.title}” changed",
        {k: before[k] for k in changed}, changed)
