"""The client workspace through HTTP: plan, tasks, evidence, documents, findings, gates, activity, summary."""
import io
import os
import re
from contextlib import contextmanager
from pathlib import Path
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

import tenants
import workflows as wf
from app import clock
from app.clients import create_client
from app.models import Account, ActivityEntry, Attachment, ClientSummary, Document, Finding, GateReview, Stage, Task
from app.workspace import operations as ops
from capa_helpers import meet_closing_rule, remedy
from conftest import unique
from gate_evidence_helpers import meet_gate_evidence


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def first_task(db, client, stage="initial_audit", **where):
    with inside(db, client):
        q = select(Task).where(Task.stage == stage).order_by(Task.position)
        for column, value in where.items():
            q = q.where(getattr(Task, column) == value)
        task = db.session.scalars(q).first()
        return task.id, task.title


def task_row(db, client, task_id):
    with inside(db, client):
        t = db.session.get(Task, task_id)
        return {"status": t.status, "assignee_id": t.assignee_id, "due_on": t.due_on,
                "reason": t.not_applicable_reason, "attachments": len(t.attachments), "comments": len(t.comments)}


def complete_stage(db, client, stage="initial_audit", leave_open: int = 0):
    """Do a stage's required work (all but `leave_open` required tasks), approve its documents."""
    actor = ops.Actor(None, "setup")
    with inside(db, client):
        tasks = db.session.scalars(select(Task).where(Task.stage == stage, Task.required).order_by(Task.position)).all()
        for task in tasks[: len(tasks) - leave_open]:
            ops.set_task_status(task, "done", None, actor)
        for doc in db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", actor, role="top_management")
        meet_gate_evidence(stage)
        ops.save(client)
        return [t.id for t in tasks[len(tasks) - leave_open:]]


def activity_count(db, client, action=None):
    with inside(db, client):
        q = select(func.count()).select_from(ActivityEntry)
        if action:
            q = q.where(ActivityEntry.action == action)
        return db.session.scalar(q)


# --- plan ---------------------------------------------------------------------------------

def test_client_starts_with_a_plan_from_its_pinned_template(factory, db):
    account = factory.account()
    start, target = date(2026, 1, 5), date(2026, 9, 30)
    from app.clients import create_client

    client = create_client(account, "Planned Co", start_on=start, target_on=target)
    template = wf.load_template()
    with inside(db, client):
        tasks = db.session.scalars(select(Task)).all()
        assert len(tasks) == sum(len(s.tasks) for s in template.stages)
        assert all(start <= t.due_on <= target for t in tasks)
        assert db.session.scalar(select(func.count()).select_from(Document)) == sum(len(s.documents) for s in template.stages)
        settings = ops.settings()
        assert settings.template_version == template.version and settings.template_snapshot == template.to_dict()
        stages = db.session.scalars(select(Stage).order_by(Stage.position)).all()
        assert stages[0].planned_start.date() == start and stages[-1].planned_end.date() == target
    summary = db.session.get(ClientSummary, client.id)
    assert summary.stage == "initial_audit" and summary.open_tasks == len(tasks)


def test_consultant_shifts_open_tasks(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    before = task_row(db, w.client, task_id)["due_on"]
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/plan/shift", {"days": "10", "stage": ""})
    assert resp.status_code == 303
    assert task_row(db, w.client, task_id)["due_on"] == before + timedelta(days=10)
    assert activity_count(db, w.client, "plan.shifted") == 1
    bad = http.submit(f"/c/{w.client.slug}/plan/shift", {"days": "soon"}, follow_redirects=True)
    assert b"Enter a number of days" in bad.data
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"/c/{w.client.slug}/plan/shift", {"days": "10"}).status_code == 403


def test_plan_page_shows_planned_and_actual(http, factory):
    w = factory.world()
    http.login(w.client_admin.email)
    page = http.get(f"/c/{w.client.slug}/plan")
    assert page.status_code == 200 and b"Timeline: planned vs actual" in page.data
    assert page.data.count(b'class="tl-row"') == 5


# --- tasks --------------------------------------------------------------------------------

def test_staff_changes_status_with_and_without_javascript(http, factory, db):
    w = factory.world()
    task_id, title = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    resp = http.submit(f"{url}/status", {"status": "in_progress"}, form_url=url)
    assert resp.status_code == 302 and task_row(db, w.client, task_id)["status"] == "in_progress"
    token = http.csrf(url)
    resp = http.client.post(f"{url}/status", data={"status": "done", "csrf_token": token},
                            headers={"HX-Request": "true", "X-CSRFToken": token})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert body.lstrip().startswith('<div class="card" id="status">') and "<html" not in body
    assert task_row(db, w.client, task_id)["status"] == "done"
    with inside(db, w.client):
        entry = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "task.status")
                                   .order_by(ActivityEntry.id.desc())).first()
        assert entry.before == {"status": "in_progress", "not_applicable_reason": None}
        assert entry.after["status"] == "done" and entry.actor_id == w.staff.id and title in entry.summary


def test_not_applicable_needs_a_reason_and_keeps_state(http, factory, db):
    w = factory.world()
    # Version 1 let most tasks be N/A; clients pinned to it keep that (version 2 allows it only for 8.3 and 7.1.5.2).
    w.client = create_client(db.session.get(Account, w.account.id), unique("Pinned Co"), consultants=[w.consultant],
                             template=wf.load_template("iso9001-2015", 1))
    staff = factory.member(w.client, "staff")
    task_id, _ = first_task(db, w.client, allow_not_applicable=True)
    http.login(staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    resp = http.submit(f"{url}/status", {"status": "not_applicable", "reason": " "}, form_url=url)
    assert resp.status_code == 422 and b"needs a reason" in resp.data
    assert task_row(db, w.client, task_id)["status"] == "todo"
    reason = "Outside the scope statement: we design no services"
    resp = http.submit(f"{url}/status", {"status": "not_applicable", "reason": reason}, form_url=url)
    assert resp.status_code == 302 and task_row(db, w.client, task_id)["reason"] == reason


def test_unknown_status_is_422(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    assert http.submit(f"{url}/status", {"status": "finished"}, form_url=url).status_code == 422


def test_completing_a_task_of_a_locked_stage_is_409_and_changes_nothing(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client, stage="internal_audit")
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    resp = http.submit(f"{url}/status", {"status": "done"}, form_url=url)
    assert resp.status_code == 409 and b"locked" in resp.data
    assert task_row(db, w.client, task_id)["status"] == "todo"
    assert activity_count(db, w.client, "task.status") == 0


def test_assign_due_date_and_comment_in_place(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    token = http.csrf(url)
    hx = {"HX-Request": "true", "X-CSRFToken": token}
    resp = http.client.post(f"{url}/assignee", data={"assignee_id": str(w.staff.id)}, headers=hx)
    assert resp.status_code == 200 and 'id="details"' in resp.get_data(as_text=True)
    resp = http.client.post(f"{url}/due", data={"due_on": "2031-02-03"}, headers=hx)
    assert resp.status_code == 200
    resp = http.client.post(f"{url}/due", data={"due_on": "3rd of Feb"}, headers=hx)
    assert resp.status_code == 422 and b"YYYY-MM-DD" in resp.data
    resp = http.client.post(f"{url}/comments", data={"body": "Please attach the org chart"}, headers=hx)
    assert resp.status_code == 200 and b"Please attach the org chart" in resp.data
    resp = http.client.post(f"{url}/comments", data={"body": "   "}, headers=hx)
    assert resp.status_code == 422 and b"Write a comment first" in resp.data
    row = task_row(db, w.client, task_id)
    assert row["assignee_id"] == w.staff.id and row["due_on"] == date(2031, 2, 3) and row["comments"] == 1
    # Someone who doesn't work on the client can't be assigned.
    outsider = factory.user()
    resp = http.client.post(f"{url}/assignee", data={"assignee_id": str(outsider.id)}, headers=hx)
    assert resp.status_code == 422 and task_row(db, w.client, task_id)["assignee_id"] == w.staff.id


def test_auditor_reads_but_cannot_change(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.auditor.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    page = http.get(url)
    assert page.status_code == 200 and b"Change status" not in page.data
    token = http.csrf(url)
    for path, data in (("status", {"status": "done"}), ("comments", {"body": "x"}), ("due", {"due_on": "2030-01-01"})):
        assert http.client.post(f"{url}/{path}", data={**data, "csrf_token": token}).status_code == 403
    assert task_row(db, w.client, task_id)["status"] == "todo"


# Clause → every task of the shipped template tagged with it or with one of its sub-clauses (9.1 finds 9.1.3).
CLAUSE_FILTER = {
    "9.1": ("gap_performance_improvement", "complaint_handling_process", "monitoring_measurement_plan",
            "track_objectives_and_kpis", "customer_satisfaction_survey", "handle_complaints",
            "analyse_performance_data"),
    "9.1.2": ("gap_performance_improvement", "complaint_handling_process", "customer_satisfaction_survey",
              "handle_complaints"),
    "9.2": ("gap_performance_improvement", "internal_audit_programme", "internal_auditor_competence",
            "conduct_internal_audits", "internal_audit_report", "certification_readiness_review"),
    "7.5": ("collect_existing_information", "gap_planning_support", "documented_information_control",
            "stage1_preparation", "stage2_preparation"),
}


def test_task_filters_and_search(http, factory, db):
    w = factory.world()
    task_id, title = first_task(db, w.client)
    with inside(db, w.client):
        task = db.session.get(Task, task_id)
        task.assignee_id, task.due_on = w.staff.id, date.today() - timedelta(days=3)
        db.session.commit()
    http.login(w.staff.email)
    base = f"/c/{w.client.slug}/tasks"

    def titles(query):
        body = http.get(base + query).get_data(as_text=True)
        return re.findall(r'<td><a href="[^"]+/tasks/\d+">([^<]+)</a>', body)

    assert titles("?view=mine") == [title]
    assert titles("?view=overdue") == [title]
    found = titles("?q=gap+analysis")
    assert "Gap analysis: operation (clause 8)" in found and "Hold the kick-off meeting with top management" not in found
    assert len(titles("?stage=certification_audit")) == len(wf.load_template().stage("certification_audit").tasks)
    assert titles("?status=done") == []
    # A clause finds the tasks tagged with it or with one of its sub-clauses, and no others.
    template = wf.load_template()
    title_of = {t.key: t.title for _, t in template.iter_tasks()}
    for clause, keys in CLAUSE_FILTER.items():
        tagged = {t.key for _, t in template.iter_tasks()
                  if any(c == clause or c.startswith(clause + ".") for c in t.clauses)}
        assert tagged == set(keys), f"the template's tasks for clause {clause} changed: update CLAUSE_FILTER"
        assert sorted(titles(f"?clause={clause}")) == sorted(title_of[k] for k in keys), clause
    partial = http.get(base + "?view=mine", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="task-results">') and "<html" not in partial


# --- evidence -----------------------------------------------------------------------------

def _upload(http, url, content: bytes, name: str, htmx=False):
    token = http.csrf(url)
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    return http.client.post(f"{url}/attachments", data={"file": (io.BytesIO(content), name), "csrf_token": token},
                            headers=headers, content_type="multipart/form-data")


def test_upload_download_and_delete_evidence(http, factory, db, app):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    content = b"%PDF-1.4 quality policy\n" * 100
    resp = _upload(http, url, content, "quality-policy.pdf", htmx=True)
    assert resp.status_code == 200 and b"quality-policy.pdf" in resp.data
    with inside(db, w.client):
        att = db.session.scalars(select(Attachment).where(Attachment.task_id == task_id)).one()
        att_id, path = att.id, ops.attachment_path(att, app.config["UPLOAD_ROOT"], w.client.schema_name)
        assert att.size_bytes == len(content) and att.uploaded_by_id == w.staff.id
    assert path.read_bytes() == content
    download = http.get(f"{url}/attachments/{att_id}")
    assert download.status_code == 200 and download.data == content
    assert "quality-policy.pdf" in download.headers["Content-Disposition"]
    resp = http.submit(f"{url}/attachments/{att_id}/delete", {}, form_url=url)
    assert resp.status_code == 302 and not path.exists()
    assert task_row(db, w.client, task_id)["attachments"] == 0
    with inside(db, w.client):
        entry = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "attachment.deleted")).one()
        assert entry.before["filename"] == "quality-policy.pdf" and entry.before["size_bytes"] == len(content)


@pytest.mark.parametrize("content,name", [
    (b"MZ\x90\x00 windows program", "invoice.pdf"),
    (b"\x7fELF\x02\x01 linux program", "notes.txt"),
    (b"harmless", "setup.exe"),
    (b"echo hi", "script.sh"),
    (b"", "empty.txt"),
])
def test_executables_and_bad_files_are_refused(http, factory, db, content, name):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    resp = _upload(http, f"/c/{w.client.slug}/tasks/{task_id}", content, name)
    assert resp.status_code == 422 and name.encode() in resp.data
    assert task_row(db, w.client, task_id)["attachments"] == 0


def test_oversized_upload_is_413_and_stores_nothing(http, factory, db, app):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    too_big = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    resp = _upload(http, f"/c/{w.client.slug}/tasks/{task_id}", too_big, "huge.pdf")
    assert resp.status_code == 413 and b"larger than" in resp.data
    # Between the per-file limit and the request cap, the streaming check answers.
    just_over = b"a" * (app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 10)
    resp = _upload(http, f"/c/{w.client.slug}/tasks/{task_id}", just_over, "big.pdf", htmx=True)
    assert resp.status_code == 413 and b"larger than" in resp.data
    assert task_row(db, w.client, task_id)["attachments"] == 0
    folder = Path(app.config["UPLOAD_ROOT"]) / w.client.schema_name / "attachments"
    assert not folder.exists() or not any(folder.iterdir())


# --- documents and findings ---------------------------------------------------------------

def test_document_approval_is_for_consultants_and_client_admins(http, factory, db):
    w = factory.world()
    with inside(db, w.client):
        doc_id = db.session.scalars(select(Document.id).order_by(Document.id)).first()
    http.login(w.staff.email)
    resp = http.submit(f"/c/{w.client.slug}/documents/{doc_id}/status", {"status": "approved"})
    assert resp.status_code == 403 and b"Only a consultant" in resp.data
    assert http.submit(f"/c/{w.client.slug}/documents/{doc_id}/status", {"status": "in_review"}).status_code == 303
    http.logout()
    http.login(w.client_admin.email)
    assert http.submit(f"/c/{w.client.slug}/documents/{doc_id}/status", {"status": "approved"}).status_code == 303
    with inside(db, w.client):
        doc = db.session.get(Document, doc_id)
        assert doc.status == "approved" and doc.approved_by_id == w.client_admin.id


def test_findings_are_raised_and_closed_by_consultants(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": "", "severity": "major", "stage": "initial_audit"})
    assert resp.status_code == 422 and b"short title" in resp.data
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": "No supplier evaluation", "severity": "major",
                                                        "stage": "initial_audit", "clause": "8.4.1"})
    assert resp.status_code == 303
    overview = http.get(f"/c/{w.client.slug}/").get_data(as_text=True)
    assert "including 1 open major finding, any one of which would stop certification" in overview  # says why
    page = http.get(f"/c/{w.client.slug}/findings").get_data(as_text=True)
    finding_id = re.search(r"/findings/(\d+)/close", page).group(1)
    resp = http.submit(f"/c/{w.client.slug}/findings/{finding_id}/close", {"note": "  "})
    assert resp.status_code == 422 and b"was remedied before closing it" in resp.data
    resp = http.submit(f"/c/{w.client.slug}/findings/{finding_id}/close", {"note": "Suppliers evaluated"})
    assert resp.status_code == 409 and b"record the root cause" in resp.data  # a major needs its record
    remedy(db, w.client, int(finding_id))
    assert http.submit(f"/c/{w.client.slug}/findings/{finding_id}/close",
                       {"note": "Suppliers evaluated; records filed"}).status_code == 303
    overview = http.get(f"/c/{w.client.slug}/")
    assert overview.status_code == 200 and w.client.name.encode() in overview.data
    assert b"open major finding" not in overview.data
    assert http.submit(f"/c/{w.client.slug}/findings/{finding_id}/close", {"note": "Again"}).status_code == 409
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"/c/{w.client.slug}/findings", {"title": "x", "severity": "minor",
                                                        "stage": "initial_audit"}).status_code == 303  # any user
    assert http.submit(f"/c/{w.client.slug}/findings/{finding_id}/reopen", {"reason": "x"}).status_code == 403


# --- gates --------------------------------------------------------------------------------

def test_gate_review_and_approval_advances_the_stage(http, factory, db):
    w = factory.world()
    [last_task] = complete_stage(db, w.client, leave_open=1)
    http.login(w.client_admin.email)
    blocked = http.submit(f"/c/{w.client.slug}/gates/initial_audit/request", {"note": "done?"})
    assert blocked.status_code == 303  # refused: back on the gates page, which says why
    page = http.get(blocked.headers["Location"])
    assert b"can&#39;t be reviewed yet" in page.data and b"is not done" in page.data
    with inside(db, w.client):
        ops.set_task_status(db.session.get(Task, last_task), "done", None, ops.Actor(w.staff.id, "Staff"))
        ops.save(w.client)
    assert http.submit(f"/c/{w.client.slug}/gates/initial_audit/request", {"note": "All in"}).status_code == 303
    assert db.session.get(ClientSummary, w.client.id).gate_awaiting_approval is True
    overview = http.get(f"/c/{w.client.slug}/").get_data(as_text=True)
    assert "asked for the review" in overview and "Request review" not in overview  # no second request offered
    assert http.submit(f"/c/{w.client.slug}/gates/initial_audit/approve", {}).status_code == 403
    http.logout()

    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/initial_audit/approve", {"comment": "Gap report agreed"})
    assert resp.status_code == 303
    with inside(db, w.client):
        stages = {s.key: s for s in db.session.scalars(select(Stage))}
        assert stages["initial_audit"].status == "passed" and stages["initial_audit"].passed_by_id == w.consultant.id
        assert stages["system_design"].status == "current"
        review = db.session.scalars(select(GateReview)).one()
        assert review.status == "approved" and review.decision_comment == "Gap report agreed"
    summary = db.session.get(ClientSummary, w.client.id)
    assert summary.stage == "system_design" and summary.gate_awaiting_approval is False
    overview = http.get(f"/c/{w.client.slug}/").get_data(as_text=True)
    assert 'class="current" data-stage="system_design"' in overview
    assert activity_count(db, w.client, "gate.approved") == 1


def test_approving_a_gate_with_unmet_criteria_is_409_and_names_them(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/initial_audit/approve", {}, follow_redirects=True)
    assert resp.status_code == 200 and b"can&#39;t be approved" in resp.data and b"is not done" in resp.data
    assert resp.request.path == f"/c/{w.client.slug}/gates"
    with inside(db, w.client):
        assert db.session.get(Stage, "initial_audit").status == "current"
    resp = http.submit(f"/c/{w.client.slug}/gates/system_design/approve", {}, follow_redirects=True)
    assert "Cannot approve the gate of" in resp.get_data(as_text=True)


def test_send_back_needs_reasons_and_reopen_needs_a_reason(http, factory, db):
    w = factory.world()
    complete_stage(db, w.client)
    http.login(w.client_admin.email)
    http.submit(f"/c/{w.client.slug}/gates/initial_audit/request", {})
    http.logout()
    http.login(w.consultant.email)
    assert http.submit(f"/c/{w.client.slug}/gates/initial_audit/send-back", {"reasons": ""}).status_code == 422
    assert http.submit(f"/c/{w.client.slug}/gates/initial_audit/send-back",
                       {"reasons": "Report lacks clause 8"}).status_code == 303
    with inside(db, w.client):
        assert db.session.scalars(select(GateReview)).one().status == "sent_back"
    assert http.submit(f"/c/{w.client.slug}/gates/initial_audit/approve", {}).status_code == 303
    assert http.submit(f"/c/{w.client.slug}/stages/initial_audit/reopen", {"reason": ""}).status_code == 422
    assert http.submit(f"/c/{w.client.slug}/stages/initial_audit/reopen", {"reason": "Scope changed"}).status_code == 303
    with inside(db, w.client):
        assert db.session.get(Stage, "initial_audit").status == "current"
        assert db.session.get(Stage, "system_design").status == "upcoming"
    assert activity_count(db, w.client, "stage.reopened") == 1
    assert activity_count(db, w.client, "gate.sent_back") == 1


def test_certification_gate_needs_the_certification_body_decision(http, factory, db):
    # About the last gate's decision: pinned to version 2, whose earlier gates need no weeks of operation.
    w = factory.world(template=wf.load_template("iso9001-2015", 2))
    actor = ops.Actor(w.consultant.id, "Consultant")
    for stage in wf.STAGE_KEYS[:-1]:
        complete_stage(db, w.client, stage)
        with inside(db, w.client):
            for finding in db.session.scalars(select(Finding).where(Finding.status == "open")):
                meet_closing_rule(finding)
                ops.close_finding(finding, "Remedied", actor)
            ops.approve_gate(stage, "ok", actor)
            ops.save(w.client)
    complete_stage(db, w.client, "certification_audit")
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/certification_audit/approve", {}, follow_redirects=True)
    assert b"certification body" in resp.data.lower() and b"can&#39;t be approved" in resp.data
    assert http.submit(f"/c/{w.client.slug}/certification", {"decision": "certified", "body": "BSI",
                                                             "decided_on": "2026-11-20"}).status_code == 303
    assert http.submit(f"/c/{w.client.slug}/gates/certification_audit/approve", {}).status_code == 303
    assert b"Certified" in http.get(f"/c/{w.client.slug}/").data


# --- activity log and summary ---------------------------------------------------------------

def test_activity_log_is_append_only_even_in_sql(factory, db):
    w = factory.world()
    with inside(db, w.client):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("UPDATE activity_log SET summary = 'rewritten'"))
        db.session.rollback()
    with inside(db, w.client):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text("DELETE FROM activity_log"))


@pytest.mark.parametrize("statement", ["TRUNCATE activity_log", "TRUNCATE activity_log CASCADE",
                                       "TRUNCATE tasks, activity_log CASCADE"])
def test_truncating_the_activity_log_is_refused_and_the_rows_remain(factory, db, statement):
    w = factory.world()
    with inside(db, w.client):
        before = db.session.execute(text("SELECT id, action FROM activity_log ORDER BY id")).all()
        tasks = db.session.scalar(select(func.count()).select_from(Task))
        assert before and tasks == len(list(wf.load_template().iter_tasks()))  # a client starts with a logged plan
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    with inside(db, w.client):
        assert db.session.execute(text("SELECT id, action FROM activity_log ORDER BY id")).all() == before
        assert db.session.scalar(select(func.count()).select_from(Task)) == tasks


@pytest.mark.parametrize("method", ["fast", "sql", "migrations"])
def test_every_provisioning_path_builds_the_truncate_guard(db, method):
    from tenants.provisioning import provision_schema

    schema = f"client_{880000 + os.getpid() % 1000 * 10 + ['fast', 'sql', 'migrations'].index(method)}"
    with db.engine.connect() as conn:
        trans = conn.begin()  # rolled back: the schema never outlives the test
        provision_schema(conn, schema, method=method)
        conn.execute(text(f"""INSERT INTO "{schema}".activity_log (actor_name, action, object_type, summary)
                              VALUES ('test', 'test.entry', 'test', 'kept')"""))
        with pytest.raises(Exception, match="append-only"):
            with conn.begin_nested():
                conn.execute(text(f'TRUNCATE "{schema}".activity_log'))
        assert conn.execute(text(f'SELECT summary FROM "{schema}".activity_log')).scalars().all() == ["kept"]
        trans.rollback()


def test_activity_page_filters(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    http.submit(f"{url}/status", {"status": "in_progress"}, form_url=url)
    page = http.get(f"/c/{w.client.slug}/activity?kind=task").get_data(as_text=True)
    assert "To do → In progress" in page and "Plan created" not in page
    assert "status: To do → In progress" in page and "todo →" not in page  # labels, not stored keys
    assert "reason:" not in page and "not_applicable_reason" not in page  # unchanged: not shown
    page = http.get(f"/c/{w.client.slug}/activity?kind=plan").get_data(as_text=True)
    assert "Plan created" in page and "In progress" not in page


def test_summary_tracks_overdue_and_progress(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    with inside(db, w.client):
        assert db.session.get(Task, task_id).required
        required = db.session.scalar(select(func.count()).select_from(Task).where(Task.required))
        required_here = db.session.scalar(select(func.count()).select_from(Task).where(
            Task.required, Task.stage == "initial_audit"))
    summary = db.session.get(ClientSummary, w.client.id)
    # The plan starts today: nothing late, nothing done.
    assert (summary.overdue_tasks, summary.overall_progress, summary.stage_progress) == (0, 0, 0)
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    assert http.submit(f"{url}/due", {"due_on": yesterday}, form_url=url).status_code == 302
    db.session.refresh(summary)
    assert (summary.overdue_tasks, summary.overall_progress, summary.stage_progress) == (1, 0, 0)
    assert http.submit(f"{url}/status", {"status": "done"}, form_url=url).status_code == 302
    db.session.refresh(summary)
    assert summary.overdue_tasks == 0
    assert summary.overall_progress == round(100 / required) and summary.stage_progress == round(100 / required_here)
    last_activity = summary.last_activity_at
    with inside(db, w.client):
        assert last_activity == db.session.scalar(select(func.max(ActivityEntry.at)))


def test_comments_keep_line_breaks_link_addresses_and_escape_markup(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    body = "Scan attached.\nPolicy: https://intranet.example/policy?v=2\n<script>alert(1)</script>"
    assert http.submit(f"{url}/comments", {"body": body}, form_url=url).status_code == 302
    page = http.get(url).get_data(as_text=True)
    assert ('<div class="comment-body">Scan attached.<br>\nPolicy: <a href="https://intranet.example/policy?v=2" '
            'rel="noopener noreferrer nofollow" target="_blank">https://intranet.example/policy?v=2</a><br>\n'
            '&lt;script&gt;alert(1)&lt;/script&gt;</div>') in page


def test_evidence_sizes_read_naturally(http, factory, db):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    token = http.csrf(url)
    resp = http.client.post(f"{url}/attachments", data={"csrf_token": token, "file": (io.BytesIO(b"x" * 45), "note.txt")},
                            content_type="multipart/form-data")
    assert resp.status_code == 302
    page = http.get(url).get_data(as_text=True)
    assert "45 bytes ·" in page and "0.0 KB" not in page
