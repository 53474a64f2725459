"""Every state-changing route of the app, each with a request that succeeds, who may send it, and how to
see that it did (or did not) change something. Read by the role meta-test (test_roles.py) and the CSRF
meta-test (test_csrf.py); both fail when a POST rule of the app has no entry here.

The expected roles are written out here, not imported from app/permissions.py: this table is the spec, so a
change of a role set there (letting staff approve gates, say) fails a test instead of moving the test along
with it. The comment on each role set names the set of app/permissions.py it mirrors.

A case's `prepare` is called before every attempt, against the same client: it makes the request one that an
allowed role would get through (a task still to do, a stage whose gate is ready, a pending review …) and
returns the request with a `done` check that reads the database (or the session) afresh.
"""
from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import delete, func, select, text
from werkzeug.datastructures import FileStorage

import tenants
import workflows as wf
from app import clock
from workflows import reminders as reminder_rules
from workflows import kpi as wk
from app.accounts import invite
from app.billing.stripe_api import stripe_client
from app.billing.sync import lock_account, sync_account
from app.clients import create_client
from app.extensions import db as _db
from app.library import kpi_store, store
from app.models import (Account, AccountKpi, CertificationBodyRules, AccountMember, AccountTemplate, Acknowledgement, Attachment,
                        BillingSubscription, CheckoutIntent, Client, ClientConsultant, ClientMember, Document,
                        DocumentVersion, Finding, GapRating, GateReview, Invitation, Kpi, KpiTarget, Measurement,
                        ManagementReview, Notification, NotificationPreference, Objective, RecordEntry,
                        ReviewInputEntry, RemindersSent, Stage, Task,
                        User)
from app.notify.outbox import unsubscribe_token
from app.security import make_reset_token
from app.workspace import operations as ops
from billing_world import running_standin
from capa_helpers import OWNER as CAPA_OWNER, meet_closing_rule
from conftest import PASSWORD, Factory, HttpClient, _hashed
from gate_evidence_helpers import meet_gate_evidence

# --- who: the expected permissions, written out ---------------------------------------------------

CLIENT_SIDE = ("top_management", "client_admin", "staff", "auditor")
ROLES = ("owner", "consultant", *CLIENT_SIDE)  # consultant: assigned to the client

CONSULTANTS = frozenset({"owner", "consultant"})  # CONSULTANT_ROLES
WRITERS = frozenset({"owner", "consultant", "top_management", "client_admin", "staff"})  # WRITER_ROLES: all but the auditor
MANAGERS = frozenset({"owner", "consultant", "top_management", "client_admin"})  # CLIENT_MANAGERS
TOP_MANAGEMENT = frozenset({"top_management"})  # DOCUMENT_APPROVERS["top_management"]
ACKNOWLEDGERS = frozenset({"top_management", "client_admin", "staff"})  # ACKNOWLEDGERS
MEMBERS = frozenset(ROLES)  # FINDING_RAISERS: anyone working on the client, the auditor too
SETTINGS = frozenset({"owner", "consultant"})  # CLIENT_SETTINGS_ROLES
ACCOUNT_MEMBERS = frozenset({"owner", "consultant"})  # ACCOUNT_MEMBERS
ACCOUNT_OWNERS = frozenset({"owner"})  # ACCOUNT_OWNERS
ANYONE = frozenset({"anonymous"})  # public forms: login, sign-up, password reset, invitations
LOGGED_IN = frozenset({"owner"})  # any logged-in user (logout); one role is enough to show it

STANDARD = "standard:" + wf.DEFAULT_TEMPLATE
_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_seq)}"


# --- what a case is ---------------------------------------------------------------------------------

@dataclass
class Setting:
    """What `prepare` works on: plain values only (the ORM objects of a fixture are detached)."""

    db: object
    account_id: int
    user_ids: dict  # role → user id
    emails: dict  # role → email
    slug: str | None = None
    schema: str | None = None
    copy_key: str | None = None  # the account's own template copy (library cases, apply-template)
    http: object = None  # the client of the role attempting the request (for session checks)
    mailbox: object = None


@dataclass
class Request:
    url: str
    data: dict
    ok: int  # the status of success
    done: Callable[[], bool]  # did the change happen? (reads afresh)
    files: dict = field(default_factory=dict)  # form field → (content, filename)


@dataclass(frozen=True)
class Case:
    rule: str  # as in app.url_map
    allowed: frozenset
    prepare: Callable[[Setting], Request]
    area: str  # "workspace" (a client), "account" (a consultancy), "public"
    label: str = ""
    client_on_copy: bool = False  # the client runs on the account's own copy (to apply a newer version)

    @property
    def id(self) -> str:
        return self.rule + (f" ({self.label})" if self.label else "")

    def denied_status(self, role: str) -> int:
        """Members without the right get 403; client staff have no consultancy pages at all (404); billing and the
        reminders page are the owners' alone, and anyone else does not learn they exist (404)."""
        if (self.area == "account" and role in CLIENT_SIDE) or self.area in ("billing", "owners"):
            return 404
        return 403


# --- reading and preparing a client -----------------------------------------------------------------

@contextmanager
def inside(s: Setting):
    s.db.session.rollback()  # read what is committed now
    with tenants.tenant_scope(s.db.session, s.schema):
        yield


def _setup_actor():
    return ops.Actor(None, "setup")


def _current(s: Setting) -> str:
    with inside(s):
        return ops.current_stage_key()


def _first_task(s: Setting, *where) -> tuple[int, object]:
    """A task of the current stage (by plan order) matching `where`: (id, due date)."""
    with inside(s):
        current = ops.current_stage_key()
        task = s.db.session.scalars(select(Task).where(Task.stage == current, *where).order_by(Task.position)).first()
        assert task is not None, f"no task left to prepare in {current}"
        return task.id, task.due_on


def _task(s: Setting, task_id: int, read: Callable):
    """`read` of the task, inside the client's scope (its objects don't outlive it)."""
    with inside(s):
        return read(s.db.session.get(Task, task_id))


def _complete(s: Setting, stage: str) -> None:
    """A stage's required work done and its documents approved, so that its gate can be requested/approved."""
    with inside(s):
        for task in s.db.session.scalars(select(Task).where(Task.stage == stage, Task.required)):
            if task.status not in wf.FINISHED_TASK_STATUSES:
                ops.set_task_status(task, "done", None, _setup_actor())
        for doc in s.db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", _setup_actor(), role="top_management")
        meet_gate_evidence(stage)
        _save(s)


def _save(s: Setting) -> None:
    ops.save(s.db.session.get(Client, _client_id(s)))


def _client_id(s: Setting) -> int:
    return s.db.session.scalar(select(Client.id).where(Client.slug == s.slug))


def _stage_status(s: Setting, stage: str) -> str:
    with inside(s):
        return s.db.session.get(Stage, stage).status


def _reviews(s: Setting, stage: str) -> list[tuple[int, str]]:
    with inside(s):
        return s.db.session.execute(select(GateReview.id, GateReview.status).where(GateReview.stage == stage)
                                    .order_by(GateReview.id)).all()


def _c(s: Setting, path: str) -> str:
    return f"/c/{s.slug}{path}"


# --- workspace cases ------------------------------------------------------------------------------

def task_status(s):
    task_id, _ = _first_task(s, Task.status == "todo")
    return Request(_c(s, f"/tasks/{task_id}/status"), {"status": "in_progress"}, 302,
                   lambda: _task(s, task_id, lambda t: t.status) == "in_progress")


def task_approve_not_applicable(s):
    task_id, _ = _first_task(s, Task.status == "todo")
    with inside(s):
        # A staff proposal, waiting for a consultant (set directly: which tasks allow N/A is the template's business).
        task = s.db.session.get(Task, task_id)
        task.status, task.not_applicable_reason = "not_applicable", "Scope: this requirement does not apply here"
        task.na_proposed_by_id, task.na_approved_at = s.user_ids["staff"], None
        _save(s)
    return Request(_c(s, f"/tasks/{task_id}/approve-not-applicable"), {}, 302,
                   lambda: _task(s, task_id, lambda t: t.na_approved_at is not None))


def task_assignee(s):
    task_id, _ = _first_task(s, Task.assignee_id.is_(None))
    staff = s.user_ids["staff"]
    return Request(_c(s, f"/tasks/{task_id}/assignee"), {"assignee_id": str(staff)}, 302,
                   lambda: _task(s, task_id, lambda t: t.assignee_id) == staff)


def task_due(s):
    task_id, due = _first_task(s)
    new = due + timedelta(days=1)
    return Request(_c(s, f"/tasks/{task_id}/due"), {"due_on": new.isoformat()}, 302,
                   lambda: _task(s, task_id, lambda t: t.due_on) == new)


def task_bulk(s):
    task_id, _ = _first_task(s, Task.assignee_id.is_(None))
    staff = s.user_ids["staff"]
    return Request(_c(s, "/tasks/bulk"), {"action": "assign", "assignee_id": str(staff), "task_id": str(task_id)},
                   303, lambda: _task(s, task_id, lambda t: t.assignee_id) == staff)


def task_comment(s):
    task_id, _ = _first_task(s)
    body = unique("A comment")
    return Request(_c(s, f"/tasks/{task_id}/comments"), {"body": body}, 302,
                   lambda: body in _task(s, task_id, lambda t: [c.body for c in t.comments]))


def task_upload(s):
    task_id, _ = _first_task(s)
    name = unique("evidence") + ".txt"
    return Request(_c(s, f"/tasks/{task_id}/attachments"), {}, 302,
                   lambda: name in _task(s, task_id, lambda t: [a.filename for a in t.attachments]),
                   files={"file": (b"the org chart", name)})


def task_delete_attachment(s):
    task_id, _ = _first_task(s)
    with inside(s):
        task = s.db.session.get(Task, task_id)
        ops.add_attachment(task, FileStorage(io.BytesIO(b"to delete"), unique("old") + ".txt",
                                             content_type="text/plain"),
                           _setup_actor(), current_app.config["UPLOAD_ROOT"], s.schema, 10_000)
        s.db.session.flush()
        att_id = max(a.id for a in task.attachments)
        _save(s)

    def gone():
        with inside(s):
            return s.db.session.get(Attachment, att_id) is None

    return Request(_c(s, f"/tasks/{task_id}/attachments/{att_id}/delete"), {}, 302, gone)


def _document(s, status_not: str) -> int:
    with inside(s):
        # one the consultant may approve (top management's own documents have a case of their own)
        return s.db.session.scalars(select(Document.id).where(Document.status != status_not,
                                                              Document.approver_role == "consultant")
                                    .order_by(Document.id)).first()


def _document_status(s, doc_id):
    with inside(s):
        return s.db.session.get(Document, doc_id).status


def document_to_review(s):
    doc_id = _document(s, "in_review")
    return Request(_c(s, f"/documents/{doc_id}/status"), {"status": "in_review"}, 303,
                   lambda: _document_status(s, doc_id) == "in_review")


def document_approve(s):
    doc_id = _document(s, "approved")
    return Request(_c(s, f"/documents/{doc_id}/status"), {"status": "approved"}, 303,
                   lambda: _document_status(s, doc_id) == "approved")


def _doc_by_key(s, key: str) -> Document:
    return s.db.session.scalar(select(Document).where(Document.key == key))


def _working_draft(s, key: str) -> tuple[int, int]:
    """(document id, version id) of `key`'s working version, made a draft (a new one when none is open)."""
    with inside(s):
        doc = _doc_by_key(s, key)
        version = ops.working_version(doc)
        if version is None:
            version = ops.start_version(doc, unique("Text"), "Prepared", False, _setup_actor())
        elif version.status != "draft":
            ops.set_version_status(version, "draft", _setup_actor(), "top_management")
        ids = doc.id, version.id
        _save(s)
    return ids


def _version(s, version_id, read):
    with inside(s):
        return read(s.db.session.get(DocumentVersion, version_id))


def document_register(s):
    doc_id, _ = _working_draft(s, "service_delivery_playbook")
    retention = unique("Kept")
    with inside(s):
        identifier = s.db.session.get(Document, doc_id).identifier
    data = {"identifier": identifier, "title": "Service delivery playbook", "kind": "document", "owner_id": "",
            "approver_role": "consultant", "origin": "internal", "retention": retention}
    return Request(_c(s, f"/documents/{doc_id}/register"), data, 303,
                   lambda: _document_field(s, doc_id, "retention") == retention)


def _document_field(s, doc_id, name):
    with inside(s):
        return getattr(s.db.session.get(Document, doc_id), name)


def document_reviewed(s):
    doc_id, version_id = _working_draft(s, "process_map")
    with inside(s):
        ops.set_version_status(s.db.session.get(DocumentVersion, version_id), "approved", _setup_actor(),
                               "top_management")
        s.db.session.get(Document, doc_id).review_due_on = clock.today() - timedelta(days=1)
        _save(s)
    return Request(_c(s, f"/documents/{doc_id}/reviewed"), {}, 303,
                   lambda: _document_field(s, doc_id, "review_due_on") > clock.today())


def document_new_version(s):
    with inside(s):
        doc = _doc_by_key(s, "communication_plan")
        working = ops.working_version(doc)
        if working is not None:
            ops.set_version_status(working, "obsolete", _setup_actor(), "top_management")
        doc_id = doc.id
        _save(s)
    body = unique("Plan text")

    def drafted():
        with inside(s):
            return s.db.session.scalar(select(func.count()).select_from(DocumentVersion)
                                       .where(DocumentVersion.document_id == doc_id, DocumentVersion.body == body)) == 1

    return Request(_c(s, f"/documents/{doc_id}/versions"), {"body": body, "change_reason": "Rewritten"}, 303, drafted)


def document_edit_version(s):
    doc_id, version_id = _working_draft(s, "knowledge_base")
    body = unique("Edited")
    return Request(_c(s, f"/documents/{doc_id}/versions/{version_id}/edit"), {"body": body, "change_reason": "Edit"},
                   303, lambda: _version(s, version_id, lambda v: v.body) == body)


def document_version_to_review(s):
    doc_id, version_id = _working_draft(s, "infrastructure_register")
    return Request(_c(s, f"/documents/{doc_id}/versions/{version_id}/status"), {"status": "in_review"}, 303,
                   lambda: _version(s, version_id, lambda v: v.status) == "in_review")


def _version_approve(key):
    def prepare(s):
        doc_id, version_id = _working_draft(s, key)
        return Request(_c(s, f"/documents/{doc_id}/versions/{version_id}/status"), {"status": "approved"}, 303,
                       lambda: _version(s, version_id, lambda v: v.status) == "approved")
    return prepare


def document_acknowledge(s):
    doc_id, version_id = _working_draft(s, "contract_review_checklist")
    with inside(s):
        version = s.db.session.get(DocumentVersion, version_id)
        version.needs_acknowledgement = True
        ops.set_version_status(version, "approved", _setup_actor(), "top_management")
        _save(s)

    def count():
        with inside(s):
            return s.db.session.scalar(select(func.count()).select_from(Acknowledgement)
                                       .where(Acknowledgement.version_id == version_id))

    before = count()
    return Request(_c(s, f"/documents/{doc_id}/versions/{version_id}/acknowledge"), {}, 303,
                   lambda: count() == before + 1)


def document_add_record(s):
    with inside(s):
        doc_id = _doc_by_key(s, "kpi_reports").id
    note = unique("KPI report")

    def added():
        with inside(s):
            return s.db.session.scalar(select(func.count()).select_from(RecordEntry).where(RecordEntry.note == note)) == 1

    return Request(_c(s, f"/documents/{doc_id}/records"), {"occurred_on": clock.today().isoformat(), "note": note},
                   303, added)


def _evidence_names(s, column, parent_id):
    with inside(s):
        return [a.filename for a in s.db.session.scalars(select(Attachment).where(column == parent_id))]


def document_version_evidence(s):
    with inside(s):
        doc = _doc_by_key(s, "service_delivery_playbook")
        doc_id, version_id = doc.id, doc.versions[0].id
    name = unique("signed") + ".txt"
    return Request(_c(s, f"/documents/{doc_id}/versions/{version_id}/evidence"), {}, 303,
                   lambda: name in _evidence_names(s, Attachment.document_version_id, version_id),
                   files={"file": (b"signed copy", name)})


def _record_instance(s) -> tuple[int, int]:
    with inside(s):
        doc = _doc_by_key(s, "kpi_reports")
        entry = ops.add_record_entry(doc, clock.today(), unique("KPI report"), _setup_actor())
        s.db.session.flush()
        ids = doc.id, entry.id
        _save(s)
    return ids


def document_record_evidence(s):
    doc_id, record_id = _record_instance(s)
    name = unique("attendance") + ".txt"
    return Request(_c(s, f"/documents/{doc_id}/records/{record_id}/evidence"), {}, 303,
                   lambda: name in _evidence_names(s, Attachment.record_entry_id, record_id),
                   files={"file": (b"who came", name)})


def document_evidence_delete(s):
    doc_id, record_id = _record_instance(s)
    with inside(s):
        entry = s.db.session.get(RecordEntry, record_id)
        upload = ops.Upload(FileStorage(io.BytesIO(b"to delete"), unique("old") + ".txt"),
                            current_app.config["UPLOAD_ROOT"], s.schema, 10_000, None)
        att_id = ops.add_document_evidence(entry, upload, _setup_actor()).id
        _save(s)

    def gone():
        with inside(s):
            return s.db.session.get(Attachment, att_id) is None

    return Request(_c(s, f"/documents/{doc_id}/evidence/{att_id}/delete"), {}, 303, gone)


def finding_target_stage(s):
    finding_id, _ = _new_finding(s)
    return Request(_c(s, f"/findings/{finding_id}/target-stage"), {"target_stage": "certification_audit"}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: f.target_stage) == "certification_audit")


def _finding_titles(s):
    with inside(s):
        return dict(s.db.session.execute(select(Finding.title, Finding.status)).all())


def raise_finding(s):
    title = unique("No supplier evaluation")
    return Request(_c(s, "/findings"), {"title": title, "severity": "minor", "stage": _current(s),
                                        "clause": "8.4.1"}, 303,
                   lambda: _finding_titles(s).get(title) == "open")


def _new_finding(s, closed: bool = False, ready: bool = False) -> tuple[int, str]:
    """A minor; `ready`: its record meets the closing rule; `closed`: closed as well."""
    title = unique("A minor gap")
    with inside(s):
        finding = ops.raise_finding(ops.current_stage_key(), "minor", title, "7.5", "", _setup_actor())
        s.db.session.flush()
        if ready or closed:
            meet_closing_rule(finding)
        if closed:
            ops.close_finding(finding, "Procedure rewritten", _setup_actor())
        finding_id = finding.id
        _save(s)
    return finding_id, title


def _finding_with_action(s, source: str | None = None, done: bool = False, due: date | None = None):
    """A minor (from `source`) with one action owned by someone who is none of the roles attempting."""
    with inside(s):
        finding = ops.raise_finding(ops.current_stage_key(), "minor", unique("A nonconformity"), "7.5", "",
                                    _setup_actor(), source=source or "internal_audit", kind="system_nonconformity",
                                    grade="minor")
        action = ops.add_action(finding, "Write the procedure", CAPA_OWNER,
                                (due or clock.today() + timedelta(days=10)).isoformat(), _setup_actor())
        if done:
            ops.complete_action(finding, action, _setup_actor())
        ids = finding.id, action.id
        _save(s)
    return ids


def _finding_value(s, finding_id: int, read):
    with inside(s):
        return read(s.db.session.get(Finding, finding_id))


def finding_record(s):
    finding_id, _ = _finding_with_action(s)
    cause = unique("No procedure")
    return Request(_c(s, f"/findings/{finding_id}/record"), {"root_cause": cause}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: f.root_cause) == cause)


def finding_action(s):
    finding_id, _ = _finding_with_action(s)
    what = unique("Train the team")
    return Request(_c(s, f"/findings/{finding_id}/actions"),
                   {"description": what, "owner": str(s.user_ids["client_admin"]),
                    "due_on": (clock.today() + timedelta(days=20)).isoformat()}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: [a.description for a in f.actions])[-1] == what)


def finding_action_done(s):
    finding_id, action_id = _finding_with_action(s)
    return Request(_c(s, f"/findings/{finding_id}/actions/{action_id}/done"), {}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: f.actions[0].done))


def finding_verification(s):
    finding_id, action_id = _finding_with_action(s, done=True)
    return Request(_c(s, f"/findings/{finding_id}/actions/{action_id}/verification"),
                   {"verify_method": "Sample ten jobs", "verify_criteria": "All ten right", "result": "effective"}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: f.actions[0].result) == "effective")


def finding_cb(s):
    finding_id, _ = _finding_with_action(s, source="cb_stage_2")
    reference = unique("NC")[:60]
    return Request(_c(s, f"/findings/{finding_id}/certification-body"), {"cb_reference": reference}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: f.cb_reference) == reference)


def finding_escalation(s):
    finding_id, _ = _finding_with_action(s, due=clock.today() - timedelta(days=3))  # overdue: proposed
    return Request(_c(s, f"/findings/{finding_id}/escalation"),
                   {"decision": "declined", "escalation_reason": "The plan is late by days, not weeks"}, 303,
                   lambda: _finding_value(s, finding_id, lambda f: f.escalation) == "declined")


def close_finding(s):
    finding_id, title = _new_finding(s, ready=True)
    return Request(_c(s, f"/findings/{finding_id}/close"), {"note": "Records now kept"}, 303,
                   lambda: _finding_titles(s).get(title) == "closed")


def reopen_finding(s):
    finding_id, title = _new_finding(s, closed=True)
    return Request(_c(s, f"/findings/{finding_id}/reopen"), {"reason": "Seen again in the audit"}, 303,
                   lambda: _finding_titles(s).get(title) == "open")


def _gap_row(s, clause: str, read: Callable):
    with inside(s):
        row = s.db.session.scalar(select(GapRating).where(GapRating.clause == clause))
        return None if row is None else read(row)


def gap_rate(s):
    notes = unique("Scope statement seen")
    return Request(_c(s, "/gap-analysis/4.3"), {"rating": "partly", "notes": notes}, 303,
                   lambda: _gap_row(s, "4.3", lambda r: (r.rating, r.notes)) == ("partly", notes))


def _rated_gap(s, clause: str) -> None:
    """`clause` rated as a gap, with no finding or task made from it yet (an earlier attempt's task removed)."""
    with inside(s):
        row = ops.rate_gap_item(clause, "not_conforming", None, "", "", None, _setup_actor())
        row.finding_id = None
        task = s.db.session.scalar(select(Task).where(Task.key == "gap_" + clause.replace(".", "_")))
        if task is not None:
            row.task_id = None
            s.db.session.delete(task)
        _save(s)


def gap_finding(s):
    _rated_gap(s, "7.1.6")
    return Request(_c(s, "/gap-analysis/7.1.6/finding"), {"severity": "minor"}, 303,
                   lambda: _gap_row(s, "7.1.6", lambda r: r.finding_id) is not None)


def gap_task(s):
    _rated_gap(s, "9.2.2")
    return Request(_c(s, "/gap-analysis/9.2.2/task"), {}, 303,
                   lambda: _gap_row(s, "9.2.2", lambda r: r.task_id) is not None)


def _staff_may_request(s, allowed: bool) -> None:
    with inside(s):
        ops.set_staff_review_requests(allowed, _setup_actor())
        _save(s)


def gate_request_by_staff(s):
    """With the client's setting on, staff may ask too (the auditor still may not)."""
    _staff_may_request(s, True)
    return gate_request(s)


def gate_request(s):
    stage = _current(s)
    _complete(s, stage)
    with inside(s):
        pending = ops.pending_review(stage)
        if pending is not None:  # asked for by an earlier attempt: send it back, so it can be asked again
            ops.send_back_gate(stage, "Once more", _setup_actor())
            _save(s)
    before = len(_reviews(s, stage))
    return Request(_c(s, f"/gates/{stage}/request"), {"note": "All in"}, 303,
                   lambda: [st for _, st in _reviews(s, stage)][before:] == ["requested"])


def gate_approve(s):
    stage = _current(s)
    _complete(s, stage)
    return Request(_c(s, f"/gates/{stage}/approve"), {"comment": "Agreed"}, 303,
                   lambda: _stage_status(s, stage) == "passed")


def gate_send_back(s):
    stage = _current(s)
    with inside(s):
        pending = ops.pending_review(stage)
    if pending is None:
        _complete(s, stage)
        with inside(s):
            ops.request_gate_review(stage, "Please look", _setup_actor())
            _save(s)
    review_id = _reviews(s, stage)[-1][0]
    return Request(_c(s, f"/gates/{stage}/send-back"), {"reasons": "The report lacks clause 8"}, 303,
                   lambda: dict(_reviews(s, stage))[review_id] == "sent_back")


def stage_reopen(s):
    with inside(s):
        passed = s.db.session.scalars(select(Stage.key).where(Stage.status == "passed")
                                      .order_by(Stage.position.desc())).first()
    if passed is None:  # pass the current stage first (again, after an earlier attempt reopened it)
        passed = _current(s)
        _complete(s, passed)
        with inside(s):
            ops.approve_gate(passed, "", _setup_actor())
            _save(s)
    return Request(_c(s, f"/stages/{passed}/reopen"), {"reason": "Scope changed"}, 303,
                   lambda: _stage_status(s, passed) == "current")


def _decision(s):
    with inside(s):
        return ops.settings().certification_decision


def _into_certification_audit(s) -> None:
    """The decision is recorded in the certification audit stage only: the earlier gates passed (set directly)."""
    with inside(s):
        for st in s.db.session.scalars(select(Stage)):
            st.status = "current" if st.key == wf.CERTIFICATION_AUDIT else "passed"
        _save(s)


def certification(s):
    _into_certification_audit(s)
    current = _decision(s)
    decision = next(d for d in ("pending", "certified", "not_certified") if d != current)
    return Request(_c(s, "/certification"), {"decision": decision, "body": "BSI", "decided_on": "2026-11-20"}, 303,
                   lambda: _decision(s) == decision)


def _staff_setting(s) -> bool:
    with inside(s):
        return ops.settings().staff_may_request_reviews


def review_requests(s):
    wanted = not _staff_setting(s)
    return Request(_c(s, "/gates/review-requests"), {"staff_may_request": "1"} if wanted else {}, 303,
                   lambda: _staff_setting(s) is wanted)


def plan_shift(s):
    task_id, due = _first_task(s, Task.status.in_(wf.OPEN_TASK_STATUSES))
    return Request(_c(s, "/plan/shift"), {"days": "7", "stage": ""}, 303,
                   lambda: _task(s, task_id, lambda t: t.due_on) == due + timedelta(days=7))


def plan_apply_template(s):
    s.db.session.rollback()
    template = store.as_template(store.latest_row(s.account_id, s.copy_key))
    newer = wf.update_task(template, "quality_policy", title=unique("Quality policy"))
    store.save_version(s.account_id, newer, None)
    s.db.session.commit()

    def applied():
        with inside(s):
            return ops.settings().template_version == newer.version

    return Request(_c(s, "/plan/apply-template"), {"version": str(newer.version)}, 303, applied)


def _invited(s, email, client: bool) -> bool:
    s.db.session.rollback()
    row = s.db.session.scalar(select(Invitation).where(Invitation.email == email))
    return row is not None and (row.client_id is not None) == client


def invite_person(s):
    email = f"{unique('new-staff')}@tests.example"
    return Request(_c(s, "/people"), {"email": email, "role": "staff"}, 302, lambda: _invited(s, email, True))


def _newcomer(s, role: str | None = None) -> int:
    """A fresh person: a member of the setting's client (with `role`), or of its consultancy's team (no `role`)."""
    s.db.session.rollback()
    user = User(email=f"{unique('newcomer')}@tests.example", name=unique("Nina Newcomer"), password_hash=_hashed())
    s.db.session.add(user)
    s.db.session.flush()
    if role is None:
        s.db.session.add(AccountMember(account_id=s.account_id, user_id=user.id, role="consultant"))
    else:
        s.db.session.add(ClientMember(client_id=_client_id(s), user_id=user.id, role=role))
    s.db.session.commit()
    return user.id


def _member_role(s, model, key) -> str | None:
    s.db.session.rollback()
    row = s.db.session.get(model, key)
    return row.role if row is not None else None


def person_role(s):
    user_id = _newcomer(s, "staff")
    return Request(_c(s, f"/people/{user_id}/role"), {"role": "auditor"}, 302,
                   lambda: _member_role(s, ClientMember, (_client_id(s), user_id)) == "auditor")


def person_remove(s):
    user_id = _newcomer(s, "staff")
    return Request(_c(s, f"/people/{user_id}/remove"), {}, 302,
                   lambda: _member_role(s, ClientMember, (_client_id(s), user_id)) is None)


def _pending_invitation(s, client: bool) -> tuple[int, str]:
    """A new pending invitation (to the setting's client, or to its team): its id and token hash."""
    s.db.session.rollback()
    account = s.db.session.get(Account, s.account_id)
    owner = s.db.session.get(User, s.user_ids["owner"])
    where = s.db.session.get(Client, _client_id(s)) if client else None
    issued = invite(owner, account, f"{unique('invitee')}@tests.example", "staff" if client else "consultant", where)
    s.db.session.commit()
    return issued.invitation.id, issued.invitation.token_hash


def _token_hash(s, inv_id) -> str | None:
    s.db.session.rollback()
    row = s.db.session.get(Invitation, inv_id)
    return row.token_hash if row is not None else None


def invitation_resend(s, client=True):
    inv_id, old = _pending_invitation(s, client)
    url = _c(s, f"/people/invitations/{inv_id}/resend") if client else f"/team/invitations/{inv_id}/resend"
    return Request(url, {}, 302, lambda: _token_hash(s, inv_id) not in (old, None))


def invitation_revoke(s, client=True):
    inv_id, _ = _pending_invitation(s, client)
    url = _c(s, f"/people/invitations/{inv_id}/revoke") if client else f"/team/invitations/{inv_id}/revoke"
    return Request(url, {}, 302, lambda: _token_hash(s, inv_id) is None)


def _client(s: Setting) -> Client:
    s.db.session.rollback()  # read what is committed now
    return s.db.session.scalar(select(Client).where(Client.slug == s.slug))


def client_rename(s):
    name = unique("Renamed Co")
    return Request(_c(s, "/settings/name"), {"name": name}, 303, lambda: _client(s).name == name)


def _consultant_ids(s) -> set[int]:
    s.db.session.rollback()
    return set(s.db.session.scalars(select(ClientConsultant.user_id)
                                    .where(ClientConsultant.client_id == _client_id(s))))


def client_consultants(s):
    # The assigned consultant stays (or their own attempt would be a 404); the owner comes and goes.
    wanted = {s.user_ids["consultant"]} | ({s.user_ids["owner"]} - _consultant_ids(s))
    return Request(_c(s, "/settings/consultants"), {"consultants": [str(i) for i in sorted(wanted)]}, 303,
                   lambda: _consultant_ids(s) == wanted)


def _plan_dates(s):
    with inside(s):
        settings = ops.settings()
        return settings.start_on, settings.target_on


def client_dates(s):
    start, target = _plan_dates(s)
    new = target + timedelta(days=7)
    return Request(_c(s, "/settings/dates"), {"start_on": start.isoformat(), "target_on": new.isoformat(),
                                              "seen_start_on": start.isoformat(), "seen_target_on": target.isoformat()},
                   303, lambda: _plan_dates(s) == (start, new))


def _set_archived(s, archived: bool) -> None:
    client = _client(s)
    if (client.archived_at is not None) != archived:
        with tenants.tenant_scope(s.db.session, s.schema):
            (ops.archive_client if archived else ops.unarchive_client)(client, _setup_actor())
            ops.save(client)


def client_archive(s):
    _set_archived(s, False)
    return Request(_c(s, "/settings/archive"), {}, 303, lambda: _client(s).archived_at is not None)


def client_unarchive(s):
    _set_archived(s, True)
    return Request(_c(s, "/settings/unarchive"), {}, 303, lambda: _client(s).archived_at is None)


def client_calendar(s):
    client = _client(s)
    client.working_days, client.time_zone = None, None
    s.db.session.commit()
    return Request(_c(s, "/settings/calendar"), {"working_days": ["1", "2", "3", "4", "5"],
                                                 "time_zone": "Europe/Vienna"}, 303,
                   lambda: (_client(s).working_days, _client(s).time_zone) == ("12345", "Europe/Vienna"))


def _kpi(s, key="on_time_delivery") -> int:
    """The client's KPI from this library entry, added once."""
    with inside(s):
        kpi_id = s.db.session.scalar(select(Kpi.id).where(Kpi.library_key == key))
        if kpi_id is None:
            kpi = ops.add_from_library(key, None, set(), _setup_actor())
            s.db.session.flush()
            kpi_id = kpi.id
            _save(s)
        return kpi_id


def _kpi_keys(s) -> set:
    with inside(s):
        return set(s.db.session.scalars(select(Kpi.library_key)))


def kpi_from_library(s):
    key = next(k for k in ops.kpis.library().keys() if k not in _kpi_keys(s))
    return Request(_c(s, "/kpis/library"), {"key": key}, 303, lambda: key in _kpi_keys(s))


def _kpi_names(s) -> set:
    with inside(s):
        return set(s.db.session.scalars(select(Kpi.name)))


def kpi_define(s):
    name = unique("Invoices on time")
    return Request(_c(s, "/kpis"), {"name": name, "numerator": "Invoices sent on time", "denominator": "Invoices",
                                    "unit": "%", "direction": "higher", "frequency": "monthly", "target": "95",
                                    "amber": "90", "red": "80"}, 303, lambda: name in _kpi_names(s))


def _measured(s, kpi_id) -> dict:
    with inside(s):
        return {m.period: m.note for m in s.db.session.scalars(select(Measurement).where(Measurement.kpi_id == kpi_id))}


def kpi_measure(s):
    kpi_id, note = _kpi(s), unique("note")
    return Request(_c(s, f"/kpis/{kpi_id}/measurements"), {"period": "2026-01", "value": "93", "note": note}, 303,
                   lambda: _measured(s, kpi_id).get("2026-01") == note)


def kpi_target(s):
    kpi_id, reason = _kpi(s), unique("New contract")

    def recorded():
        with inside(s):
            return reason in s.db.session.scalars(select(KpiTarget.reason).where(KpiTarget.kpi_id == kpi_id)).all()

    return Request(_c(s, f"/kpis/{kpi_id}/targets"), {"effective_from": "2026-02", "target": "97", "amber": "95",
                                                      "red": "90", "reason": reason}, 303, recorded)


def kpi_import(s):
    import base64

    kpi_id, note = _kpi(s), unique("imported")
    content = base64.b64encode(f"period;value;note\n2026-02;91,5;{note}\n".encode()).decode()
    return Request(_c(s, f"/kpis/{kpi_id}/import"), {"content": content}, 303,
                   lambda: _measured(s, kpi_id).get("2026-02") == note)


def _objective_titles(s) -> dict:
    with inside(s):
        return dict(s.db.session.execute(select(Objective.title, Objective.id)).all())


def objective_add(s):
    title = unique("Deliver 95 % of jobs on time")
    return Request(_c(s, "/objectives"), {"title": title}, 303, lambda: title in _objective_titles(s))


def objective_edit(s):
    with inside(s):
        objective_id = s.db.session.scalar(select(Objective.id))
        if objective_id is None:
            o = ops.save_objective(None, ops.ObjectiveForm(title="Fewer complaints this year"), _setup_actor())
            s.db.session.flush()
            objective_id = o.id
            _save(s)
    title = unique("Fewer complaints within 12 months")
    return Request(_c(s, f"/objectives/{objective_id}"), {"title": title}, 303,
                   lambda: _objective_titles(s).get(title) == objective_id)


def _certification(s) -> tuple:
    with inside(s):
        found = ops.record()
        audit = ops.external_audits().get("stage_1")
        return found.accreditation, found.certificate_number, audit.planned_on.isoformat() if audit else None


def certification_application(s):
    accreditation = unique("UKAS")[:60]
    return Request(_c(s, "/certification/application"), {"body": "BSI", "accreditation": accreditation,
                                                         "headcount": "12", "sites": "1"}, 303,
                   lambda: _certification(s)[0] == accreditation)


def certification_audit(s):
    day = (date.today() + timedelta(days=next(_seq) % 300 + 10)).isoformat()
    return Request(_c(s, "/certification/audits/stage_1"), {"planned_on": day}, 303,
                   lambda: _certification(s)[2] == day)


def certification_certificate(s):
    with inside(s):
        settings = ops.settings()
        settings.certification_decision, settings.certification_decided_on = "certified", date(2026, 11, 20)
        _save(s)
    number = unique("Q")[:60]
    return Request(_c(s, "/certification/certificate"), {"certificate_number": number}, 303,
                   lambda: _certification(s)[1] == number)


# --- management review (9.3) -----------------------------------------------------------------------

MR_CLOSERS = TOP_MANAGEMENT  # MR_CLOSERS


def _management_reviews(s) -> dict:
    with inside(s):
        return {r.id: r.status for r in s.db.session.scalars(select(ManagementReview))}


def _open_review(s, complete: bool = False) -> int:
    """The client's open review (every role of the setting a participant), opened if there is none."""
    with inside(s):
        review = ops.open_review_now()
        if review is None:
            people = [s.db.session.get(User, uid) for uid in s.user_ids.values()]
            review = ops.open_review("", "async", "", [u for u in people if u is not None], _setup_actor())
        if complete:
            for entry in review.inputs:
                entry.nothing_to_report = True
            review.inputs_complete = True
        review_id = review.id
        _save(s)
    return review_id


def mr_open(s):
    with inside(s):
        for review in s.db.session.scalars(select(ManagementReview).where(ManagementReview.status == "open")):
            s.db.session.delete(review)
        _save(s)
    before = set(_management_reviews(s))
    return Request(_c(s, "/management-reviews"), {"format": "async", "participants": str(s.user_ids["top_management"])},
                   303, lambda: len(set(_management_reviews(s)) - before) == 1)


def mr_refresh(s):
    review_id = _open_review(s)
    with inside(s):
        s.db.session.get(ManagementReview, review_id).data_cutoff_on = date(2000, 1, 1)
        _save(s)

    def done():
        with inside(s):
            return s.db.session.get(ManagementReview, review_id).data_cutoff_on != date(2000, 1, 1)
    return Request(_c(s, f"/management-reviews/{review_id}/refresh"), {}, 303, done)


def _input_text(s, review_id: int, key: str) -> tuple:
    with inside(s):
        entry = s.db.session.scalar(select(ReviewInputEntry).where(ReviewInputEntry.review_id == review_id,
                                                                   ReviewInputEntry.key == key))
        return entry.text, [c.body for c in entry.contributions]


def mr_input(s):
    review_id, words = _open_review(s), unique("Two new competitors entered the market")
    return Request(_c(s, f"/management-reviews/{review_id}/inputs/b"), {"text": words}, 303,
                   lambda: _input_text(s, review_id, "b")[0] == words)


def mr_contribute(s):
    review_id, words = _open_review(s), unique("Supplier X was late three times")
    return Request(_c(s, f"/management-reviews/{review_id}/inputs/c7/contributions"), {"body": words}, 303,
                   lambda: words in _input_text(s, review_id, "c7")[1])


def _review_actions(s, review_id: int) -> dict:
    with inside(s):
        return {a.id: a.description for a in s.db.session.get(ManagementReview, review_id).actions}


def mr_action(s):
    review_id, words = _open_review(s), unique("Hire a second planner")
    return Request(_c(s, f"/management-reviews/{review_id}/actions"),
                   {"kind": "resources", "description": words, "owner": str(s.user_ids["client_admin"]),
                    "due_on": (date.today() + timedelta(days=30)).isoformat()}, 303,
                   lambda: words in _review_actions(s, review_id).values())


def mr_action_remove(s):
    review_id = _open_review(s)
    with inside(s):
        review = s.db.session.get(ManagementReview, review_id)
        action = ops.add_output(review, "change", "Revise the policy", s.db.session.get(User, s.user_ids["owner"]),
                                date.today().isoformat(), _setup_actor())
        action_id = action.id
        _save(s)
    return Request(_c(s, f"/management-reviews/{review_id}/actions/{action_id}/remove"), {}, 303,
                   lambda: action_id not in _review_actions(s, review_id))


def mr_close(s):
    review_id = _open_review(s, complete=True)
    return Request(_c(s, f"/management-reviews/{review_id}/close"),
                   {"conclusion": "The system remains suitable, adequate and effective.",
                    "next_review_on": (date.today() + timedelta(days=180)).isoformat()}, 303,
                   lambda: _management_reviews(s).get(review_id) == "closed")

def _preparation_keys(s) -> set[str]:
    with inside(s):
        return set(s.db.session.scalars(select(Task.key).where(Task.key.like("prep\\_%"))))


def certification_preparation(s):
    """Certified, with no preparation tasks yet (an earlier attempt's are removed): the post creates them."""
    with inside(s):
        settings = ops.settings()
        settings.certification_decision, settings.certification_decided_on = "certified", date(2026, 11, 20)
        s.db.session.execute(delete(Task).where(Task.key.like("prep\\_%")))
        _save(s)
    return Request(_c(s, "/certification/preparation"), {}, 303, lambda: len(_preparation_keys(s)) == 7)

def _audit_setup(s, clauses: str = "10.3") -> int:
    """A fresh internal audit on `clauses` (nobody's completed tasks there, so any role may rate it)."""
    from app.workspace.operations import internal_audits as audit_ops

    with inside(s):
        for task in s.db.session.scalars(select(Task).where(Task.completed_by_id.is_not(None))):
            if any(c.startswith("10") for c in task.clauses or ()):
                task.completed_by_id = None
        owner = s.db.session.get(User, s.user_ids["client_admin"])
        audit = audit_ops.plan_audit(audit_ops.AuditForm(title=unique("Improvement"), clauses=clauses,
                                                         planned_on=date.today().isoformat()), owner, _setup_actor())
        audit_id = audit.id
        _save(s)
    return audit_id


def _audit_value(s, audit_id: int, read: Callable):
    from app.models import InternalAudit

    with inside(s):
        return read(s.db.session.get(InternalAudit, audit_id))


def audit_programme(s):
    notes = unique("Every process before stage 2")
    return Request(_c(s, "/audits/programme"), {"period_start": date.today().isoformat(),
                                                "period_end": (date.today() + timedelta(days=300)).isoformat(),
                                                "methods": "interviews", "manager_id": str(s.user_ids["client_admin"]),
                                                "notes": notes}, 303,
                   lambda: _programme_notes(s) == notes)


def _programme_notes(s):
    from app.models import AuditProgramme

    with inside(s):
        return s.db.session.scalar(select(AuditProgramme.notes))


def _process_names(s) -> dict:
    from app.models import AuditProcess

    with inside(s):
        return dict(s.db.session.execute(select(AuditProcess.name, AuditProcess.id)).all())


def audit_process_add(s):
    name = unique("Sales and quoting")
    return Request(_c(s, "/audits/processes"), {"name": name, "risk": "low", "in_scope": "1",
                                                "owner_id": str(s.user_ids["client_admin"])}, 303,
                   lambda: name in _process_names(s))


def audit_process_edit(s):
    from app.workspace.operations import internal_audits as audit_ops

    with inside(s):
        owner = s.db.session.get(User, s.user_ids["client_admin"])
        pid = audit_ops.save_process(None, audit_ops.ProcessForm(name=unique("Delivery")), owner, _setup_actor()).id
        _save(s)
    name = unique("Service delivery")
    return Request(_c(s, f"/audits/processes/{pid}"), {"name": name, "risk": "medium", "in_scope": "1",
                                                       "owner_id": str(s.user_ids["client_admin"])}, 303,
                   lambda: _process_names(s).get(name) == pid)


def audit_plan(s):
    from app.models import InternalAudit

    title = unique("Improvement audit")
    _audit_setup(s)  # clears completed tasks on clause 10, so the owner may audit it

    def planned():
        with inside(s):
            return s.db.session.scalar(select(InternalAudit.id).where(InternalAudit.title == title)) is not None

    return Request(_c(s, "/audits"), {"title": title, "clauses": "10.3", "planned_on": date.today().isoformat(),
                                      "auditor_id": str(s.user_ids["owner"])}, 303, planned)


def audit_line_rate(s):
    audit_id = _audit_setup(s)
    return Request(_c(s, f"/audits/{audit_id}/lines/10.3"), {"rating": "conforming", "evidence": "Seen"}, 303,
                   lambda: _audit_value(s, audit_id, lambda a: a.lines[0].rating) == "conforming")


def audit_line_finding(s):
    audit_id = _audit_setup(s)
    with inside(s):
        from app.models import InternalAudit

        line = s.db.session.get(InternalAudit, audit_id).lines[0]
        line.rating, line.evidence, line.rated_by_name, line.rated_at = "partly", "Seen", "setup", clock.now()
        _save(s)
    return Request(_c(s, f"/audits/{audit_id}/lines/10.3/finding"), {"kind": "opportunity", "grade": ""}, 303,
                   lambda: _audit_value(s, audit_id, lambda a: a.lines[0].finding_id) is not None)


def audit_report(s):
    audit_id = _audit_setup(s)
    conclusion = unique("Conforms and is effective")
    return Request(_c(s, f"/audits/{audit_id}/report"), {"conclusion": conclusion}, 303,
                   lambda: _audit_value(s, audit_id, lambda a: a.conclusion) == conclusion)


def audit_complete(s):
    audit_id = _audit_setup(s)
    with inside(s):
        from app.models import InternalAudit

        a = s.db.session.get(InternalAudit, audit_id)
        a.lines[0].rating, a.lines[0].evidence, a.lines[0].rated_by_name = "conforming", "Seen", "setup"
        a.conclusion = "Conforms"
        _save(s)
    return Request(_c(s, f"/audits/{audit_id}/complete"), {}, 303,
                   lambda: _audit_value(s, audit_id, lambda a: a.status) == "completed")


WORKSPACE = [
    Case("/c/<slug>/tasks/<int:task_id>/status", WRITERS, task_status, "workspace"),
    Case("/c/<slug>/tasks/<int:task_id>/approve-not-applicable", CONSULTANTS, task_approve_not_applicable,
         "workspace"),
    Case("/c/<slug>/tasks/<int:task_id>/assignee", WRITERS, task_assignee, "workspace"),
    Case("/c/<slug>/tasks/<int:task_id>/due", WRITERS, task_due, "workspace"),
    Case("/c/<slug>/tasks/<int:task_id>/comments", WRITERS, task_comment, "workspace"),
    Case("/c/<slug>/tasks/bulk", WRITERS, task_bulk, "workspace"),
    Case("/c/<slug>/tasks/<int:task_id>/attachments", WRITERS, task_upload, "workspace"),
    Case("/c/<slug>/tasks/<int:task_id>/attachments/<int:attachment_id>/delete", WRITERS, task_delete_attachment,
         "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/status", WRITERS, document_to_review, "workspace", "to review"),
    Case("/c/<slug>/documents/<int:doc_id>/status", MANAGERS, document_approve, "workspace", "approve"),
    Case("/c/<slug>/documents/<int:doc_id>/register", MANAGERS, document_register, "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/reviewed", MANAGERS, document_reviewed, "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/versions", WRITERS, document_new_version, "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/edit", WRITERS, document_edit_version,
         "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/status", WRITERS, document_version_to_review,
         "workspace", "to review"),
    Case("/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/status", MANAGERS,
         _version_approve("service_delivery_playbook"), "workspace", "approve"),
    Case("/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/status", TOP_MANAGEMENT,
         _version_approve("quality_policy"), "workspace", "approve the policy"),
    Case("/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/acknowledge", ACKNOWLEDGERS,
         document_acknowledge, "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/records", WRITERS, document_add_record, "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/versions/<int:version_id>/evidence", WRITERS, document_version_evidence,
         "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/records/<int:record_id>/evidence", WRITERS, document_record_evidence,
         "workspace"),
    Case("/c/<slug>/documents/<int:doc_id>/evidence/<int:attachment_id>/delete", WRITERS, document_evidence_delete,
         "workspace"),
    Case("/c/<slug>/findings", MEMBERS, raise_finding, "workspace"),  # FINDING_RAISERS
    Case("/c/<slug>/findings/<int:finding_id>/record", WRITERS, finding_record, "workspace"),  # FINDING_WORKERS
    Case("/c/<slug>/findings/<int:finding_id>/actions", WRITERS, finding_action, "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/actions/<int:action_id>/done", WRITERS, finding_action_done,
         "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/actions/<int:action_id>/verification", WRITERS,
         finding_verification, "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/certification-body", MANAGERS, finding_cb, "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/escalation", CONSULTANTS, finding_escalation, "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/target-stage", CONSULTANTS, finding_target_stage, "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/close", CONSULTANTS, close_finding, "workspace"),
    Case("/c/<slug>/findings/<int:finding_id>/reopen", CONSULTANTS, reopen_finding, "workspace"),
    Case("/c/<slug>/gap-analysis/<clause>", MANAGERS, gap_rate, "workspace"),  # GAP_ANALYSTS
    Case("/c/<slug>/gap-analysis/<clause>/finding", CONSULTANTS, gap_finding, "workspace"),
    Case("/c/<slug>/gap-analysis/<clause>/task", MANAGERS, gap_task, "workspace"),  # GAP_ANALYSTS
    Case("/c/<slug>/audits/programme", MANAGERS, audit_programme, "workspace"),  # AUDIT_PLANNERS
    Case("/c/<slug>/audits/processes", MANAGERS, audit_process_add, "workspace"),
    Case("/c/<slug>/audits/processes/<int:process_id>", MANAGERS, audit_process_edit, "workspace"),
    Case("/c/<slug>/audits", MANAGERS, audit_plan, "workspace"),
    Case("/c/<slug>/audits/<int:audit_id>/lines/<clause>", WRITERS, audit_line_rate, "workspace"),  # INTERNAL_AUDITORS
    Case("/c/<slug>/audits/<int:audit_id>/lines/<clause>/finding", MEMBERS, audit_line_finding, "workspace"),
    Case("/c/<slug>/audits/<int:audit_id>/report", WRITERS, audit_report, "workspace"),
    Case("/c/<slug>/audits/<int:audit_id>/complete", WRITERS, audit_complete, "workspace"),
    Case("/c/<slug>/gates/<stage>/request", MANAGERS, gate_request, "workspace"),
    Case("/c/<slug>/gates/<stage>/request", WRITERS, gate_request_by_staff, "workspace", "staff allowed"),
    Case("/c/<slug>/gates/review-requests", CONSULTANTS, review_requests, "workspace"),
    Case("/c/<slug>/gates/<stage>/approve", CONSULTANTS, gate_approve, "workspace"),
    Case("/c/<slug>/gates/<stage>/send-back", CONSULTANTS, gate_send_back, "workspace"),
    Case("/c/<slug>/stages/<stage>/reopen", CONSULTANTS, stage_reopen, "workspace"),
    Case("/c/<slug>/certification", CONSULTANTS, certification, "workspace"),
    Case("/c/<slug>/plan/shift", CONSULTANTS, plan_shift, "workspace"),
    Case("/c/<slug>/plan/apply-template", CONSULTANTS, plan_apply_template, "workspace", client_on_copy=True),
    Case("/c/<slug>/people", MANAGERS, invite_person, "workspace"),
    Case("/c/<slug>/people/<int:user_id>/role", MANAGERS, person_role, "workspace"),
    Case("/c/<slug>/people/<int:user_id>/remove", MANAGERS, person_remove, "workspace"),
    Case("/c/<slug>/people/invitations/<int:invitation_id>/resend", MANAGERS, invitation_resend, "workspace"),
    Case("/c/<slug>/people/invitations/<int:invitation_id>/revoke", MANAGERS, invitation_revoke, "workspace"),
    Case("/c/<slug>/settings/name", SETTINGS, client_rename, "workspace"),
    Case("/c/<slug>/settings/consultants", SETTINGS, client_consultants, "workspace"),
    Case("/c/<slug>/settings/dates", SETTINGS, client_dates, "workspace"),
    Case("/c/<slug>/settings/calendar", SETTINGS, client_calendar, "workspace"),
    Case("/c/<slug>/settings/archive", SETTINGS, client_archive, "workspace"),
    Case("/c/<slug>/settings/unarchive", SETTINGS, client_unarchive, "workspace"),
    Case("/c/<slug>/kpis/library", MANAGERS, kpi_from_library, "workspace"),
    Case("/c/<slug>/kpis", MANAGERS, kpi_define, "workspace"),
    Case("/c/<slug>/kpis/<int:kpi_id>/measurements", WRITERS, kpi_measure, "workspace"),
    Case("/c/<slug>/kpis/<int:kpi_id>/targets", MANAGERS, kpi_target, "workspace"),
    Case("/c/<slug>/kpis/<int:kpi_id>/import", WRITERS, kpi_import, "workspace"),
    Case("/c/<slug>/objectives", MANAGERS, objective_add, "workspace"),
    Case("/c/<slug>/objectives/<int:objective_id>", MANAGERS, objective_edit, "workspace"),
    Case("/c/<slug>/certification/application", MANAGERS, certification_application, "workspace"),
    Case("/c/<slug>/certification/audits/<kind>", MANAGERS, certification_audit, "workspace"),
    Case("/c/<slug>/certification/certificate", MANAGERS, certification_certificate, "workspace"),
    Case("/c/<slug>/management-reviews", MANAGERS, mr_open, "workspace"),  # MR_MANAGERS
    Case("/c/<slug>/management-reviews/<int:review_id>/refresh", MANAGERS, mr_refresh, "workspace"),
    Case("/c/<slug>/management-reviews/<int:review_id>/inputs/<input_key>", MANAGERS, mr_input, "workspace"),
    Case("/c/<slug>/management-reviews/<int:review_id>/inputs/<input_key>/contributions", WRITERS, mr_contribute,
         "workspace"),  # MR_CONTRIBUTORS, each a named participant here
    Case("/c/<slug>/management-reviews/<int:review_id>/actions", MANAGERS, mr_action, "workspace"),
    Case("/c/<slug>/management-reviews/<int:review_id>/actions/<int:mr_action_id>/remove", MANAGERS,
         mr_action_remove, "workspace"),
    Case("/c/<slug>/management-reviews/<int:review_id>/close", MR_CLOSERS, mr_close, "workspace"),

    Case("/c/<slug>/certification/preparation", CONSULTANTS, certification_preparation, "workspace"),
]


# --- portfolio, team and template library cases -----------------------------------------------------

def new_client(s):
    name = unique("Form Made Ltd")

    def created():
        s.db.session.rollback()
        return s.db.session.scalar(select(Client.account_id).where(Client.name == name)) == s.account_id

    return Request("/clients/new", {"name": name, "slug": ""}, 302, created)


def invite_consultant(s):
    email = f"{unique('new-consultant')}@tests.example"
    return Request("/team", {"email": email, "role": "consultant"}, 302, lambda: _invited(s, email, False))


def team_role(s):
    user_id = _newcomer(s)
    return Request(f"/team/{user_id}/role", {"role": "owner"}, 302,
                   lambda: _member_role(s, AccountMember, (s.account_id, user_id)) == "owner")


def team_remove(s):
    user_id = _newcomer(s)  # assigned to no client: nothing to hand over
    return Request(f"/team/{user_id}/remove", {}, 302,
                   lambda: _member_role(s, AccountMember, (s.account_id, user_id)) is None)


def switch_account(s):
    with s.http.client.session_transaction() as session:
        session.pop("account_id", None)

    def switched():
        with s.http.client.session_transaction() as session:
            return session.get("account_id") == s.account_id

    return Request("/switch-account", {"account_id": str(s.account_id)}, 302, switched)


def _latest(s) -> wf.Template:
    s.db.session.rollback()
    return store.as_template(store.latest_row(s.account_id, s.copy_key))


def copy_template(s):
    name = unique("Our ISO 9001 path")

    def copied():
        s.db.session.rollback()
        return s.db.session.scalar(select(func.count()).select_from(AccountTemplate).where(
            AccountTemplate.account_id == s.account_id, AccountTemplate.name == name)) == 1

    return Request("/templates/copy", {"source": STANDARD, "name": name}, 303, copied)


def add_template_task(s):
    title = unique("Monthly quality huddle")
    data = {"stage": "implementation", "title": title, "guidance": "", "clauses": "9.1.1", "role": "staff",
            "duration_days": "2", "required": "y"}
    return Request(f"/templates/{s.copy_key}/tasks", {f"new-{k}": v for k, v in data.items()}, 303,
                   lambda: title in [t.title for _, t in _latest(s).iter_tasks()])


def _task_form(task: wf.TaskTemplate, **changes) -> dict:
    data = {"title": task.title, "guidance": task.guidance, "clauses": ", ".join(task.clauses), "role": task.role,
            "duration_days": str(task.duration_days), **changes}
    if task.required:
        data["required"] = "y"
    return data


def update_template_task(s):
    title = unique("Quality policy on one page")
    task = _latest(s).find_task("quality_policy")
    return Request(f"/templates/{s.copy_key}/tasks/quality_policy", _task_form(task, title=title), 303,
                   lambda: _latest(s).find_task("quality_policy").title == title)


def set_template_task_required(s):
    wanted = not _latest(s).find_task("risk_register").required
    return Request(f"/templates/{s.copy_key}/tasks/risk_register/required", {"required": "1" if wanted else "0"},
                   303, lambda: _latest(s).find_task("risk_register").required is wanted)


def remove_template_task(s):
    key = next(t.key for stage, t in _latest(s).iter_tasks() if stage == "implementation")
    return Request(f"/templates/{s.copy_key}/tasks/{key}/remove", {}, 303,
                   lambda: _latest(s).find_task(key) is None)


def _library_kpi(s, key):
    s.db.session.rollback()
    return s.db.session.scalar(select(AccountKpi).where(AccountKpi.account_id == s.account_id, AccountKpi.key == key))


def _set_library_archived(s, key, archived):
    row = _library_kpi(s, key)
    # No row of its own yet: the consultancy reads the standard library, where nothing is archived.
    if (row is not None and row.archived_at is not None) != archived:
        kpi_store.set_archived(s.account_id, key, archived, None)
        s.db.session.commit()


def edit_library_kpi(s):
    target = 80 + next(_seq) % 10  # a new target each attempt: `done` sees only this attempt's change
    data = {**wk.form_values(wk.load_kpi_library().get("csat")), "target": str(target), "amber": str(target - 5),
            "red": str(target - 10)}
    return Request("/library/kpis/csat", data, 303, lambda: (_library_kpi(s, "csat") or AccountKpi()).target == target)


def add_library_kpi(s):
    name = unique("Invoices sent on time")
    data = {"name": name, "area": "delivery", "numerator": "Invoices sent within 5 days", "denominator": "All invoices",
            "unit": "%", "direction": "higher", "frequency": "monthly", "target": "95", "amber": "90", "red": "80",
            "minimum": "", "maximum": "", "clauses": "8.5.1", "note": ""}

    def added():
        s.db.session.rollback()
        return s.db.session.scalar(select(func.count()).select_from(AccountKpi).where(
            AccountKpi.account_id == s.account_id, AccountKpi.name == name)) == 1

    return Request("/library/kpis/new", data, 303, added)


def archive_library_kpi(s):
    _set_library_archived(s, "nps", False)
    # Until a change, the consultancy may have no row of its own (it reads the standard library).
    return Request("/library/kpis/nps/archive", {}, 303,
                   lambda: (_library_kpi(s, "nps") or AccountKpi()).archived_at is not None)


def restore_library_kpi(s):
    _set_library_archived(s, "nps", True)
    return Request("/library/kpis/nps/restore", {}, 303, lambda: _library_kpi(s, "nps").archived_at is None)


def _account(s) -> Account:
    s.db.session.rollback()
    return s.db.session.get(Account, s.account_id)


def reminder_settings(s):
    _account(s).reminder_lead_days = None
    s.db.session.commit()
    return Request("/reminders", {"lead_days": "14, 3", "time_zone": ""}, 303,
                   lambda: _account(s).reminder_lead_days == "14,3")


def retry_failed_mail(s):
    """A mail to the owner the mail server refused for good; retried, it is queued again (and no longer failed)."""
    key = f"task_due:{unique('refused')}:d7:{s.user_ids['owner']}"
    s.db.session.add(RemindersSent(key=key, kind="task_due", user_id=s.user_ids["owner"], client_id=None,
                                   to_email=s.emails["owner"], subject="Refused", body_text="x", body_html="x",
                                   claimed_at=clock.now(), attempts=1, failed_at=clock.now(), error="550 no"))
    s.db.session.commit()
    return Request("/reminders/failed/retry", {"key": key}, 303,
                   lambda: _outbox_row(s, key).failed_at is None)


def _outbox_row(s, key) -> RemindersSent:
    s.db.session.rollback()
    return s.db.session.get(RemindersSent, key)


def _body_rules(s, key):
    s.db.session.rollback()
    return s.db.session.get(CertificationBodyRules, (s.account_id, key))


def save_response_rules(s):
    days = str(40 + next(_seq) % 300)  # new each attempt: `done` sees only this attempt's change
    return Request("/response-rules", {"body": "LRQA", "major_days": days, "minor_days": "30",
                                       "stage_2_repeat_months": "6"}, 303,
                   lambda: str((_body_rules(s, "lrqa") or CertificationBodyRules()).major_days) == days)


def remove_response_rules(s):
    if _body_rules(s, "dnv") is None:
        s.db.session.add(CertificationBodyRules(account_id=s.account_id, body_key="dnv", body_name="DNV",
                                                major_days=60, minor_days=20, stage_2_repeat_months=6))
        s.db.session.commit()
    return Request("/response-rules/remove", {"body_key": "dnv"}, 303, lambda: _body_rules(s, "dnv") is None)


ACCOUNT = [
    Case("/response-rules", ACCOUNT_MEMBERS, save_response_rules, "account"),  # RESPONSE_RULE_EDITORS
    Case("/response-rules/remove", ACCOUNT_MEMBERS, remove_response_rules, "account"),
    Case("/clients/new", ACCOUNT_MEMBERS, new_client, "account"),
    Case("/reminders", ACCOUNT_OWNERS, reminder_settings, "owners"),
    Case("/reminders/failed/retry", ACCOUNT_OWNERS, retry_failed_mail, "owners"),
    Case("/team", ACCOUNT_OWNERS, invite_consultant, "account"),
    Case("/team/<int:user_id>/role", ACCOUNT_OWNERS, team_role, "account"),
    Case("/team/<int:user_id>/remove", ACCOUNT_OWNERS, team_remove, "account"),
    Case("/team/invitations/<int:invitation_id>/resend", ACCOUNT_OWNERS,
         lambda s: invitation_resend(s, client=False), "account"),
    Case("/team/invitations/<int:invitation_id>/revoke", ACCOUNT_OWNERS,
         lambda s: invitation_revoke(s, client=False), "account"),
    Case("/switch-account", ACCOUNT_MEMBERS, switch_account, "account"),
    Case("/templates/copy", ACCOUNT_MEMBERS, copy_template, "account"),
    Case("/templates/<key>/tasks", ACCOUNT_MEMBERS, add_template_task, "account"),
    Case("/templates/<key>/tasks/<task_key>", ACCOUNT_MEMBERS, update_template_task, "account"),
    Case("/templates/<key>/tasks/<task_key>/required", ACCOUNT_MEMBERS, set_template_task_required, "account"),
    Case("/templates/<key>/tasks/<task_key>/remove", ACCOUNT_MEMBERS, remove_template_task, "account"),
    Case("/library/kpis/<key>", ACCOUNT_MEMBERS, edit_library_kpi, "account"),  # KPI_LIBRARY_EDITORS
    Case("/library/kpis/new", ACCOUNT_MEMBERS, add_library_kpi, "account"),
    Case("/library/kpis/<key>/archive", ACCOUNT_MEMBERS, archive_library_kpi, "account"),
    Case("/library/kpis/<key>/restore", ACCOUNT_MEMBERS, restore_library_kpi, "account"),
]

ROLE_CASES = WORKSPACE + ACCOUNT


# --- billing: checked on an app with billing on (billing_world.py), as the billing is off by default -------

def _open_intents(s: Setting) -> list:
    s.db.session.rollback()
    return s.db.session.scalars(select(CheckoutIntent).where(CheckoutIntent.account_id == s.account_id,
                                                             CheckoutIntent.completed_at.is_(None),
                                                             CheckoutIntent.closed_at.is_(None))).all()


def billing_checkout(s):
    for intent in _open_intents(s):  # each attempt starts with no Checkout under way
        intent.closed_at = clock.now()
    s.db.session.commit()
    return Request("/billing/checkout", {"plan": "solo", "interval": "month"}, 303,
                   lambda: any(i.stripe_session_id for i in _open_intents(s)))


def billing_portal(s):
    account = s.db.session.get(Account, s.account_id)
    if account.stripe_customer_id not in running_standin().customers:  # a customer at Stripe to manage
        account.stripe_customer_id = stripe_client().v1.customers.create(params={"name": account.name}).id
        s.db.session.commit()
    seen = len(running_standin().requests)
    return Request("/billing/portal", {}, 303, lambda: any(
        path == "/v1/billing_portal/sessions" for _, path, _ in running_standin().requests[seen:]))


def billing_plan(s):
    """A live subscription at the stand-in (made and synced if there is none), moved to the other plan."""
    standin = running_standin()
    account = s.db.session.get(Account, s.account_id)
    if account.stripe_customer_id not in standin.customers:
        account.stripe_customer_id = stripe_client().v1.customers.create(params={"name": account.name}).id
    live = [x for x in standin.subscriptions.values()
            if x["customer"] == account.stripe_customer_id and x["status"] == "active"]
    if not live:
        standin.subscription(account.stripe_customer_id, "price_practice_month", 1)
    s.db.session.commit()
    sync_account(lock_account(s.account_id))
    s.db.session.commit()
    sub = s.db.session.scalar(select(BillingSubscription).where(BillingSubscription.account_id == s.account_id,
                                                                BillingSubscription.status == "active"))
    target = "practice" if sub.price_id == "price_firm_month" else "firm"
    sub_id = sub.stripe_subscription_id

    def done():
        s.db.session.rollback()
        row = s.db.session.scalar(select(BillingSubscription)
                                  .where(BillingSubscription.stripe_subscription_id == sub_id))
        return row.price_id == f"price_{target}_month"

    return Request("/billing/plan", {"plan": target, "interval": "month"}, 303, done)


BILLING = [
    Case("/billing/checkout", ACCOUNT_OWNERS, billing_checkout, "billing"),
    Case("/billing/portal", ACCOUNT_OWNERS, billing_portal, "billing"),
    Case("/billing/plan", ACCOUNT_OWNERS, billing_plan, "billing"),
]

# POSTs that authenticate by a signature instead of a session and its CSRF token, each with where that is tested.
SIGNED = {"/billing/webhook": "Stripe signs each event; the v1 HMAC of the raw body is verified with the endpoint "
                              "secret (tests/integration/test_billing_webhooks.py)"}


# --- public forms (no role to check; the CSRF meta-test covers them) --------------------------------

NEW_PASSWORD = "a-new-and-long-passphrase-7"


def _fresh_user(s):
    user = User(email=f"{unique('public')}@tests.example", name="Pat Public", password_hash=_hashed())
    s.db.session.add(user)
    s.db.session.commit()
    return user


def _logged_in(s) -> bool:
    with s.http.client.session_transaction() as session:
        return "_user_id" in session


def login(s):
    user = _fresh_user(s)
    return Request("/login", {"email": user.email, "password": PASSWORD}, 302, lambda: _logged_in(s))


def logout(s):
    return Request("/logout", {}, 302, lambda: not _logged_in(s))


def signup(s):
    email = f"{unique('founder')}@tests.example"

    def signed_up():
        s.db.session.rollback()
        return s.db.session.scalar(select(User.id).where(User.email == email)) is not None

    return Request("/signup", {"consultancy": unique("Fresh Quality"), "name": "Fay Founder", "email": email,
                               "password": PASSWORD}, 302, signed_up)


def forgot(s):
    user = _fresh_user(s)
    s.mailbox.to(user.email)  # what earlier cases queued is sent now, not by the `done` check below
    s.mailbox.messages.clear()
    return Request("/forgot", {"email": user.email}, 302, lambda: len(s.mailbox.to(user.email)) == 1)


def reset(s):
    user = _fresh_user(s)
    user_id, old_token = user.id, user.login_token
    token = make_reset_token(user)

    def changed():
        s.db.session.rollback()
        return s.db.session.get(User, user_id).login_token != old_token

    return Request(f"/reset/{token}", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}, 302, changed)


def accept_invitation(s):
    s.db.session.rollback()
    account = s.db.session.get(Account, s.account_id)
    owner = s.db.session.get(User, s.user_ids["owner"])
    issued = invite(owner, account, f"{unique('invitee')}@tests.example", "consultant")
    s.db.session.commit()
    inv_id = issued.invitation.id

    def accepted():
        s.db.session.rollback()
        return s.db.session.get(Invitation, inv_id).accepted_at is not None

    return Request(f"/invite/{issued.token}", {"name": "Ivy Invitee", "password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD}, 302, accepted)


def _notification_for(s) -> int:
    note = Notification(user_id=s.user_ids["owner"], kind="task_assigned", message=unique("Something happened"),
                        link="/my-work")
    s.db.session.add(note)
    s.db.session.commit()
    return note.id


def _read(s, note_id: int) -> bool:
    s.db.session.rollback()
    return s.db.session.get(Notification, note_id).read_at is not None


def notification_read(s):
    note_id = _notification_for(s)
    return Request(f"/notifications/{note_id}/read", {}, 303, lambda: _read(s, note_id))


def notifications_read_all(s):
    note_id = _notification_for(s)
    return Request("/notifications/read-all", {}, 303, lambda: _read(s, note_id))


def _preference(s, kind: str) -> str | None:
    s.db.session.rollback()
    return s.db.session.scalar(select(NotificationPreference.delivery).where(
        NotificationPreference.user_id == s.user_ids["owner"], NotificationPreference.kind == kind))


def notification_settings(s):
    s.db.session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == s.user_ids["owner"]))
    s.db.session.commit()
    data = {k.key: "immediately" for k in reminder_rules.PREFERENCE_KINDS}
    return Request("/settings/notifications", {**data, "task_due": "off", "time_zone": ""}, 303,
                   lambda: _preference(s, "task_due") == "off")


def unsubscribe(s):
    s.db.session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == s.user_ids["owner"]))
    s.db.session.commit()
    token = unsubscribe_token(s.user_ids["owner"], "gate_waiting")
    return Request(f"/unsubscribe/{token}", {"List-Unsubscribe": "One-Click"}, 200,
                   lambda: _preference(s, "gate_waiting") == "off")


PUBLIC = [
    Case("/login", ANYONE, login, "public"),
    Case("/logout", LOGGED_IN, logout, "public"),
    Case("/signup", ANYONE, signup, "public"),
    Case("/forgot", ANYONE, forgot, "public"),
    Case("/reset/<token>", ANYONE, reset, "public"),
    Case("/invite/<token>", ANYONE, accept_invitation, "public"),
    # Any logged-in person, about their own notifications and settings (the CSRF test logs in as the owner).
    Case("/notifications/<int:notification_id>/read", LOGGED_IN, notification_read, "public"),
    Case("/notifications/read-all", LOGGED_IN, notifications_read_all, "public"),
    Case("/settings/notifications", LOGGED_IN, notification_settings, "public"),
    # No login: RFC 8058 one-click from the mail client, with the signed token (CSRF-exempt in test_csrf.py).
    Case("/unsubscribe/<token>", ANYONE, unsubscribe, "public"),
]

STATE_CHANGING_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def state_changing_rules(app) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules() if rule.methods & STATE_CHANGING_METHODS}


# --- nothing changed: every row of the shared schema and of the client's schema -------------------

def fingerprint(engine, schema: str | None) -> dict:
    """Per table: row count and a digest of every row, in the shared schema and the client's schema."""
    schemas = ["public"] + ([schema] if schema else [])
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(:s) "
                                   "ORDER BY 1, 2"), {"s": schemas}).all()
        return {f"{s}.{t}": tuple(conn.execute(text(
            f"SELECT count(*), md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), '')) FROM \"{s}\".\"{t}\" r"
        )).one()) for s, t in tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


# --- the people who try, logged in once per test module ---------------------------------------------

@dataclass
class Team:
    """One consultancy: its owner and an (assigned) consultant, and three client-side users who are members of
    every client made for a case (and of a home client, so that they always have a company)."""

    account_id: int
    user_ids: dict
    emails: dict
    copy_key: str
    browsers: dict = field(default_factory=dict)  # role → (HttpClient, CSRF token of its session)


def build_team(app) -> Team:
    with app.app_context():
        factory = Factory(_db)
        owner = factory.user("Olivia Owner")
        account = factory.account(owner)
        users = {"owner": owner, "consultant": factory.consultant(account)}
        users.update({role: factory.user(role.replace("_", " ").title()) for role in CLIENT_SIDE})
        copy = store.make_copy(account.id, wf.load_template(), unique("Our own ISO 9001 path"), owner)
        _db.session.commit()
        team = Team(account.id, {r: u.id for r, u in users.items()}, {r: u.email for r, u in users.items()}, copy.key)
        make_client(_db, team)  # the client-side users' home company
        _db.session.remove()
    for role, email in team.emails.items():
        browser = HttpClient(app.test_client())
        browser.login(email)
        team.browsers[role] = (browser, browser.csrf("/"))
    return team


def make_client(db, team: Team, on_copy: bool = False) -> tuple[str, str]:
    """A new client of the team's consultancy, its consultant assigned, the client-side users members."""
    template = store.as_template(store.latest_row(team.account_id, team.copy_key)) if on_copy else None
    client = create_client(db.session.get(Account, team.account_id), unique("Role Test Co"),
                           consultants=[db.session.get(User, team.user_ids["consultant"])], template=template)
    for role in CLIENT_SIDE:
        db.session.add(ClientMember(client_id=client.id, user_id=team.user_ids[role], role=role))
    db.session.commit()
    return client.slug, client.schema_name


def setting_for(case: Case, team: Team, mailbox=None) -> Setting:
    """(In an app context.)"""
    db = _db
    s = Setting(db, team.account_id, team.user_ids, team.emails, copy_key=team.copy_key, mailbox=mailbox)
    if case.area == "workspace":
        s.slug, s.schema = make_client(db, team, on_copy=case.client_on_copy)
    return s


def send(browser, token: str | None, req: Request, headers: dict | None = None):
    """POST the request as a browser would (multipart when it carries a file), with or without the token."""
    data = dict(req.data)
    for name, (content, filename) in req.files.items():
        data[name] = (io.BytesIO(content), filename)
    if token is not None:
        data["csrf_token"] = token
    return browser.client.post(req.url, data=data, headers=headers or {})


class Outside:
    """Database work in an app context of its own, requests outside any: a request reuses an app context
    that is already pushed, and with it `g` — Flask-Login's cached user and Flask-WTF's token of another browser."""

    def __init__(self, app):
        self.app = app
        with app.app_context():
            self.engine = _db.engine

    def __call__(self, fn, *args, **kwargs):
        with self.app.app_context():
            return fn(*args, **kwargs)

    def fingerprint(self, schema: str | None) -> dict:
        return fingerprint(self.engine, schema)
