"""Sign-offs that hold: a passed stage is read-only until reopened, a sent-back gate says so, staff see who can
ask for a review (or may ask themselves, when a consultant lets them), the certification decision belongs to
its stage, findings are graded on purpose and closed with a note, and a stale tab's gate form lands on the
gates page instead of a POST that a refresh would send again."""
from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pytest

from flask import current_app
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.pool import NullPool
from werkzeug.datastructures import FileStorage

import tenants
from app import permissions
from app.models import ActivityEntry, ClientMember, Document, Finding, GateReview, Stage, Task, WorkspaceSettings
from app.refusal import Refusal
from app.workspace import operations as ops
from capa_helpers import meet_closing_rule, remedy
from gate_evidence_helpers import meet_gate_evidence

PASSED_TASKS = "The Initial audit (gap analysis) gate has passed; reopen the stage to change its tasks"
PASSED_DOCUMENTS = "The Initial audit (gap analysis) gate has passed; reopen the stage to change its documents"


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield
    db.session.rollback()


def complete(db, client, stage="initial_audit"):
    actor = ops.Actor(None, "setup")
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == stage, Task.required)):
            ops.set_task_status(task, "done", None, actor)
        for doc in db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", actor, role="top_management")
        meet_gate_evidence(stage)
        ops.save(client)


def passed(db, client, w, stage="initial_audit"):
    """The stage's work done and its gate approved by the world's consultant; returns a done task and an
    approved document of it, with a piece of evidence on the task."""
    complete(db, client, stage)
    with inside(db, client):
        task = db.session.scalars(select(Task).where(Task.stage == stage, Task.required).order_by(Task.position)).first()
        evidence = ops.add_attachment(task, FileStorage(io.BytesIO(b"the gap report"), "gap-report.txt",
                                                        content_type="text/plain"),
                                      ops.Actor(None, "setup"), current_app.config["UPLOAD_ROOT"], client.schema_name,
                                      10_000)
        db.session.flush()
        ids = task.id, db.session.scalars(select(Document.id).where(Document.stage == stage)).first(), evidence.id
        ops.approve_gate(stage, "Agreed", ops.Actor(w.consultant.id, w.consultant.name))
        ops.save(client)
    return ids


def read(db, client, fn):
    with inside(db, client):
        return fn()


def entries(db, client, action: str | None):
    """Activity entries of `action` (None: all of them)."""
    q = select(func.count()).select_from(ActivityEntry)
    return read(db, client, lambda: db.session.scalar(q if action is None else q.where(ActivityEntry.action == action)))


def finding_row(db, client, finding_id) -> dict:
    return read(db, client, lambda: dict(db.session.execute(select(Finding.__table__).where(
        Finding.id == finding_id)).mappings().one()))


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


# --- 1. a passed stage changes only by reopening it ----------------------------------------------------------

def test_a_passed_stage_is_read_only_until_it_is_reopened(http, factory, db):
    w = factory.world()
    task_id, doc_id, att_id = passed(db, w.client, w)
    slug = w.client.slug
    http.login(w.staff.email)
    before = read(db, w.client, lambda: db.session.get(Task, task_id).status)
    logged = entries(db, w.client, None)
    for url, data in ((f"/tasks/{task_id}/status", {"status": "todo"}),
                      (f"/tasks/{task_id}/assignee", {"assignee_id": str(w.staff.id)}),
                      (f"/tasks/{task_id}/due", {"due_on": "2030-01-01"}),
                      (f"/tasks/{task_id}/attachments/{att_id}/delete", {})):
        resp = http.submit(f"/c/{slug}{url}", data, form_url=f"/c/{slug}/tasks/{task_id}")
        assert resp.status_code == 409 and PASSED_TASKS in text_of(resp), (url, resp.status_code)
    token = http.csrf(f"/c/{slug}/")
    resp = http.client.post(f"/c/{slug}/tasks/{task_id}/attachments",
                            data={"file": (io.BytesIO(b"late"), "late.txt"), "csrf_token": token})
    assert resp.status_code == 409 and PASSED_TASKS in text_of(resp)
    resp = http.client.post(f"/c/{slug}/tasks/{task_id}/status", data={"status": "todo", "csrf_token": token},
                            headers={"HX-Request": "true"})
    assert resp.status_code == 409 and PASSED_TASKS in text_of(resp)
    http.logout()
    http.login(w.client_admin.email)
    resp = http.submit(f"/c/{slug}/documents/{doc_id}/status", {"status": "draft"}, form_url=f"/c/{slug}/documents")
    assert resp.status_code == 409 and PASSED_DOCUMENTS in text_of(resp)

    def unchanged():
        task, doc = db.session.get(Task, task_id), db.session.get(Document, doc_id)
        return (task.status, task.assignee_id, doc.status, len(task.attachments),
                db.session.get(Stage, "initial_audit").status)

    assert read(db, w.client, unchanged) == (before, None, "approved", 1, "passed")
    assert entries(db, w.client, None) == logged  # nothing logged either
    # Comments stay open; the pages show the stage read-only, without the controls.
    assert http.submit(f"/c/{slug}/tasks/{task_id}/comments", {"body": "Filed in the QMS folder"}).status_code == 302
    page = text_of(http.get(f"/c/{slug}/tasks/{task_id}"))
    assert "signed off and read-only" in page and 'id="status-select"' not in page
    assert f"/tasks/{task_id}/attachments\"" not in page and 'name="assignee_id"' not in page
    assert 'name="body"' in page
    docs = text_of(http.get(f"/c/{slug}/documents"))
    assert "signed off and read-only" in docs and f"/documents/{doc_id}/status" not in docs
    http.logout()

    http.login(w.consultant.email)
    assert http.submit(f"/c/{slug}/stages/initial_audit/reopen", {"reason": "Gap report redone"}).status_code == 303
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"/c/{slug}/tasks/{task_id}/status", {"status": "in_progress"}).status_code == 302
    assert read(db, w.client, lambda: db.session.get(Task, task_id).status) == "in_progress"


def test_a_change_decided_after_an_approval_sees_it(factory, db):
    """The change takes the gate lock and re-reads the task's stage under it: a stage read as current before
    an approval committed elsewhere is refused as passed, not changed under the new sign-off."""
    w = factory.world()
    complete(db, w.client)
    other = create_engine(db.engine.url, poolclass=NullPool)
    try:
        with inside(db, w.client):
            task = db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)).first()
            assert db.session.get(Stage, "initial_audit").status == "current"  # what this request read first
            with other.begin() as conn:  # meanwhile, another request approves the gate
                conn.execute(text(f'SET LOCAL search_path TO "{w.client.schema_name}"'))
                conn.execute(text("UPDATE stages SET status = CASE key WHEN 'initial_audit' THEN 'passed' "
                                  "WHEN 'system_design' THEN 'current' ELSE status END"))
            with pytest.raises(Refusal, match="gate has passed") as refused:
                ops.set_task_status(task, "todo", None, ops.Actor(None, "late"))
            assert refused.value.status == 409 and PASSED_TASKS in str(refused.value)
    finally:
        other.dispose()


# --- 2. a gate sent back says so until the client asks again ------------------------------------------------

def test_a_sent_back_gate_says_when_by_whom_and_why_until_asked_again(http, factory, db):
    w = factory.world()
    complete(db, w.client)
    slug = w.client.slug
    http.login(w.client_admin.email)
    assert http.submit(f"/c/{slug}/gates/initial_audit/request", {"note": "All in"}).status_code == 303
    http.logout()
    http.login(w.consultant.email)
    reasons = "The gap report does not cover clause 8.4 (external providers)."
    assert http.submit(f"/c/{slug}/gates/initial_audit/send-back", {"reasons": reasons}).status_code == 303
    http.logout()

    http.login(w.client_admin.email)
    decided = read(db, w.client, lambda: db.session.scalars(select(GateReview)).one().decided_at)
    said = f"Sent back on {decided:%d %b %Y} by {w.consultant.name}"
    overview = text_of(http.get(f"/c/{slug}/"))
    assert said in overview and "does not cover clause 8.4" in overview
    assert "Everything is in place" not in overview and "Request review again" in overview
    gates = text_of(http.get(f"/c/{slug}/gates"))
    current = gates[gates.index('id="gate-initial_audit"'):gates.index('id="gate-system_design"')]
    assert said in current and "does not cover clause 8.4" in current and ">Sent back<" in current
    assert http.submit(f"/c/{slug}/gates/initial_audit/request", {"note": "Clause 8.4 added"}).status_code == 303
    overview = text_of(http.get(f"/c/{slug}/"))
    assert said not in overview and "asked for the review" in overview
    assert said not in text_of(http.get(f"/c/{slug}/gates")).split("Gate history")[0]


# --- 3. staff: who can ask for the review, or may ask themselves ---------------------------------------------

def test_staff_see_who_can_request_a_review_and_may_when_a_consultant_lets_them(http, factory, db):
    w = factory.world()
    complete(db, w.client)
    slug = w.client.slug
    http.login(w.staff.email)
    overview = text_of(http.get(f"/c/{slug}/"))
    assert ">Request review<" not in overview and f"{w.client_admin.name} can ask your consultant" in overview
    gates = text_of(http.get(f"/c/{slug}/gates"))
    assert "/gates/initial_audit/request" not in gates and f"{w.client_admin.name} can ask your consultant" in gates
    assert http.submit(f"/c/{slug}/gates/initial_audit/request", {"note": ""}).status_code == 403
    assert http.submit(f"/c/{slug}/gates/review-requests", {"staff_may_request": "1"}).status_code == 403
    http.logout()

    http.login(w.client_admin.email)
    assert http.submit(f"/c/{slug}/gates/review-requests", {"staff_may_request": "1"}).status_code == 403
    http.logout()
    http.login(w.consultant.email)
    assert "Client staff may request gate reviews" in text_of(http.get(f"/c/{slug}/gates"))
    resp = http.submit(f"/c/{slug}/gates/review-requests", {"staff_may_request": "1"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/gates#review-requests")
    assert read(db, w.client, lambda: db.session.get(WorkspaceSettings, 1).staff_may_request_reviews) is True
    assert entries(db, w.client, "settings.review_requests") == 1
    http.logout()

    http.login(w.staff.email)
    assert ">Request review<" in text_of(http.get(f"/c/{slug}/"))
    assert "/gates/initial_audit/request" in text_of(http.get(f"/c/{slug}/gates"))
    assert http.submit(f"/c/{slug}/gates/initial_audit/request", {"note": "From staff"}).status_code == 303
    assert read(db, w.client, lambda: db.session.scalars(select(GateReview.requested_by_id)).one()) == w.staff.id
    http.logout()
    http.login(w.auditor.email)  # read-only whatever the setting says
    assert http.submit(f"/c/{slug}/gates/initial_audit/request", {"note": ""}).status_code == 403
    http.logout()

    http.login(w.consultant.email)
    assert http.submit(f"/c/{slug}/gates/review-requests", {}).status_code == 303
    assert read(db, w.client, lambda: db.session.get(WorkspaceSettings, 1).staff_may_request_reviews) is False
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"/c/{slug}/gates/initial_audit/request", {"note": ""}).status_code == 403


def test_the_request_permission_lives_in_permissions():
    may = permissions.may_request_gate_review
    assert [may(r, False) for r in ("owner", "consultant", "client_admin", "staff", "auditor", None)] == \
        [True, True, True, False, False, False]
    assert [may(r, True) for r in ("staff", "auditor", None)] == [True, False, False]


def test_with_no_client_admin_staff_are_shown_no_dead_end(http, factory, db):
    w = factory.world()
    complete(db, w.client)
    db.session.execute(delete(ClientMember).where(ClientMember.client_id == w.client.id,
                                                  ClientMember.role == "client_admin"))
    db.session.commit()
    http.login(w.staff.email)
    overview = text_of(http.get(f"/c/{w.client.slug}/"))
    assert ">Request review<" not in overview and "can ask your consultant" not in overview


# --- 4. the certification decision belongs to the certification audit stage -----------------------------------

def test_the_certification_decision_is_refused_before_the_certification_audit(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/certification", {"decision": "certified", "body": "BSI"},
                       form_url=f"/c/{w.client.slug}/gates")
    assert resp.status_code == 303  # a conflict, told on the gates page (see test 6)
    page = text_of(http.get(resp.headers["Location"]))
    assert "recorded in the Certification audit stage; the client is in Initial audit" in page
    assert "Record decision" not in page  # nor is the form offered before that stage
    # Sent with htmx (or by a script that says so), the refusal is the 409 itself.
    token = http.csrf(f"/c/{w.client.slug}/gates")
    resp = http.client.post(f"/c/{w.client.slug}/certification", data={"decision": "certified", "body": "BSI",
                                                                       "csrf_token": token},
                            headers={"HX-Request": "true"})
    assert resp.status_code == 409 and "the client is in Initial audit" in text_of(resp)
    assert read(db, w.client, lambda: db.session.get(WorkspaceSettings, 1).certification_decision) is None
    assert entries(db, w.client, "certification.decision") == 0


# --- 5. findings: graded on purpose, closed with a note, reopened with a reason -------------------------------

def test_a_finding_needs_an_explicit_severity(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    form = text_of(http.get(f"/c/{w.client.slug}/findings"))
    assert re.search(r'<option value="" selected>Choose the severity', form)
    assert not re.search(r'<option value="(major|minor|observation|opportunity)" selected', form)
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": "No calibration records", "stage": "initial_audit",
                                                        "clause": "7.1.5", "description": "Scales unchecked"})
    page = text_of(resp)
    assert resp.status_code == 422 and "Choose a severity." in page
    assert 'value="No calibration records"' in page and 'value="7.1.5"' in page and "Scales unchecked</textarea>" in page
    assert read(db, w.client, lambda: db.session.scalar(select(func.count()).select_from(Finding))) == 0


def test_closing_needs_a_note_and_a_closed_finding_reopens_with_a_reason(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    http.login(w.consultant.email)
    assert http.submit(f"/c/{slug}/findings", {"title": "No supplier evaluation", "severity": "major",
                                                "stage": "initial_audit", "clause": "8.4.1"}).status_code == 303
    finding_id = read(db, w.client, lambda: db.session.scalars(select(Finding.id)).one())
    resp = http.submit(f"/c/{slug}/findings/{finding_id}/close", {"note": ""})
    assert resp.status_code == 422 and "was remedied before closing it" in text_of(resp)
    note = "Suppliers evaluated against the new criteria; records in QMS/8.4"
    remedy(db, w.client, finding_id)
    assert http.submit(f"/c/{slug}/findings/{finding_id}/close", {"note": note}).status_code == 303
    row = finding_row(db, w.client, finding_id)
    assert (row["status"], row["closing_note"], row["closed_by_name"]) == ("closed", note, w.consultant.name)
    page = text_of(http.get(f"/c/{slug}/findings"))
    assert f"by {w.consultant.name}:</strong> {note}" in page
    assert f"/findings/{finding_id}/reopen" in page and f"/findings/{finding_id}/close" not in page

    resp = http.submit(f"/c/{slug}/findings/{finding_id}/reopen", {"reason": "  "})
    assert resp.status_code == 422 and "is reopened" in text_of(resp)
    reason = "Certification audit found two suppliers unevaluated"
    assert http.submit(f"/c/{slug}/findings/{finding_id}/reopen", {"reason": reason}).status_code == 303
    row = finding_row(db, w.client, finding_id)
    assert (row["status"], row["closing_note"], row["reopen_reason"], row["reopened_by_name"]) == \
        ("open", None, reason, w.consultant.name)
    assert reason in text_of(http.get(f"/c/{slug}/findings"))
    assert http.submit(f"/c/{slug}/findings/{finding_id}/reopen", {"reason": "again"}).status_code == 409
    assert "open major finding" in text_of(http.get(f"/c/{slug}/"))  # it holds the readiness score again
    with inside(db, w.client):
        logged = db.session.execute(select(ActivityEntry.action, ActivityEntry.after)
                                    .where(ActivityEntry.object_type == "finding").order_by(ActivityEntry.id)).all()
    logged = [(a, after) for a, after in logged if a in ("finding.raised", "finding.closed", "finding.reopened")]
    assert [a for a, _ in logged] == ["finding.raised", "finding.closed", "finding.reopened"]
    assert logged[1][1]["closing_note"] == note and logged[2][1]["reopen_reason"] == reason
    http.logout()
    http.login(w.client_admin.email)
    assert http.submit(f"/c/{slug}/findings/{finding_id}/close", {"note": "Done"}).status_code == 403


# --- 6. a stale tab's gate form lands on the gates page --------------------------------------------------------

def test_a_stale_second_approval_redirects_to_the_gates_page_with_who_approved(http, factory, db):
    w = factory.world()
    complete(db, w.client)
    slug = w.client.slug
    http.login(w.consultant.email)
    token = http.csrf(f"/c/{slug}/gates")  # both tabs show the form
    first = http.client.post(f"/c/{slug}/gates/initial_audit/approve", data={"comment": "ok", "csrf_token": token})
    assert first.status_code == 303
    http.get(first.headers["Location"])  # the first tab reads its success message
    stale = http.client.post(f"/c/{slug}/gates/initial_audit/approve", data={"comment": "ok", "csrf_token": token})
    assert stale.status_code == 303 and stale.headers["Location"].endswith(f"/c/{slug}/gates#gate-initial_audit")
    page = text_of(http.get(stale.headers["Location"]))
    assert f"already approved by {w.consultant.name} on" in page and 'class="flash error"' in page
    assert "already approved" not in text_of(http.get(stale.headers["Location"]))  # shown once: a refresh is clean
    # With htmx the tab's address stays the gates page (a refresh posts nothing): the answer is the 409 itself.
    stale = http.client.post(f"/c/{slug}/gates/initial_audit/approve", data={"comment": "ok", "csrf_token": token},
                             headers={"HX-Request": "true"})
    assert stale.status_code == 409 and f"already approved by {w.consultant.name} on" in text_of(stale)
    assert entries(db, w.client, "gate.approved") == 1
    # Input to correct is not a conflict: the page itself comes back with the status and what was typed.
    resp = http.client.post(f"/c/{slug}/stages/initial_audit/reopen", data={"reason": " ", "csrf_token": token})
    assert resp.status_code == 422 and "needs a reason" in text_of(resp)


# --- the new routes are the client's members' only ------------------------------------------------------------

def test_outsiders_get_404_on_the_new_routes(http, factory, db):
    a, b = factory.world(), factory.world()
    sibling = factory.client(a.account, [a.consultant])
    sibling_staff = factory.member(sibling, "staff")
    with inside(db, a.client):
        finding = ops.raise_finding("initial_audit", "minor", "A gap", None, "", ops.Actor(None, "setup"))
        db.session.flush()
        meet_closing_rule(finding)
        ops.close_finding(finding, "Fixed", ops.Actor(None, "setup"))
        finding_id = finding.id
        ops.save(a.client)
    routes = ((f"/c/{a.client.slug}/findings/{finding_id}/reopen", {"reason": "Back"}),
              (f"/c/{a.client.slug}/gates/review-requests", {"staff_may_request": "1"}))
    for user in (sibling_staff, b.consultant):
        http.login(user.email)
        for url, data in routes:
            resp = http.submit(url, data, form_url="/")
            assert resp.status_code == 404 and a.client.name not in text_of(resp), (user.email, url)
        http.logout()
    assert read(db, a.client, lambda: (db.session.get(Finding, finding_id).status,
                                       db.session.get(WorkspaceSettings, 1).staff_may_request_reviews)) == \
        ("closed", False)
