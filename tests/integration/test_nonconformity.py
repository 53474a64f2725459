"""Findings as nonconformity records, over HTTP: raised by any client user with source, kind and grade; actions
that become tasks; effectiveness verified by someone other than the action's owner; closing refused with every
unmet criterion named; the certification body's deadline; stale records and the escalation of an overdue minor."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import func, select

import tenants
from app import clock
from app.models import ActivityEntry, CorrectiveAction, ExternalAudit, Finding, Task
from app.workspace import operations as ops

RAISE = {"title": "Delivery notes not signed", "source": "internal_audit", "kind": "system_nonconformity",
         "severity": "minor", "stage": "initial_audit", "clause": "8.5.1", "process": "Delivery",
         "requirement": "Every delivery is signed off", "evidence": "3 of 10 notes unsigned (DN-104, 107, 110)",
         "statement": "Deliveries are released without the sign-off 8.5.1 asks for"}


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


def _columns(obj) -> SimpleNamespace:
    return SimpleNamespace(**{c.key: getattr(obj, c.key) for c in obj.__table__.columns})


def _finding(db, client, finding_id=None) -> SimpleNamespace:
    """The finding as committed now (the newest one without an id), with its actions: plain values."""
    with inside(db, client):
        q = select(Finding).order_by(Finding.id.desc())
        f = db.session.get(Finding, finding_id) if finding_id else db.session.scalars(q).first()
        snapshot = _columns(f)
        snapshot.actions = [_columns(a) for a in f.actions]
        return snapshot


def _count(db, client, model) -> int:
    with inside(db, client):
        return db.session.scalar(select(func.count()).select_from(model))


def test_any_client_user_raises_a_classified_finding(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    for user in (w.staff, w.auditor):
        http.login(user.email)
        resp = http.submit(f"/c/{slug}/findings", {**RAISE, "title": f"{RAISE['title']} ({user.name})"})
        assert resp.status_code == 303 and "/findings/" in resp.headers["Location"]
        http.logout()
    f = _finding(db, w.client)
    assert (f.source, f.kind, f.severity, f.clause, f.process, f.raised_by_id) == \
        ("internal_audit", "system_nonconformity", "minor", "8.5.1", "Delivery", w.auditor.id)
    http.login(w.staff.email)
    page = text_of(http.get(f"/c/{slug}/findings/{f.id}"))
    assert "System nonconformity (10.2)" in page and "from internal audit" in page and "3 of 10 notes" in page
    # A nonconformity is graded; an observation is not; the form keeps what was typed.
    resp = http.submit(f"/c/{slug}/findings", {**RAISE, "severity": ""})
    assert resp.status_code == 422 and "Grade the system nonconformity: major or minor." in text_of(resp)
    assert 'value="Delivery notes not signed"' in text_of(resp) and "3 of 10 notes unsigned" in text_of(resp)
    resp = http.submit(f"/c/{slug}/findings", {**RAISE, "kind": "observation", "severity": "major"})
    assert resp.status_code == 422 and "only nonconformities are major or minor" in text_of(resp)
    resp = http.submit(f"/c/{slug}/findings", {**RAISE, "source": "", "kind": "complaint"})
    assert resp.status_code == 422 and "Choose where the finding comes from." in text_of(resp)
    resp = http.submit(f"/c/{slug}/findings", {**RAISE, "clause": "11.9"})
    assert resp.status_code == 422  # clauses are checked against the client's template
    assert _count(db, w.client, Finding) == 2


def test_a_minor_walks_from_action_to_verified_closure(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    http.login(w.staff.email)
    assert http.submit(f"/c/{slug}/findings", RAISE).status_code == 303
    fid = _finding(db, w.client).id
    http.logout()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{slug}/findings/{fid}/close", {"note": "Done"})
    body = text_of(resp)
    assert resp.status_code == 409 and f"Finding #{fid} cannot close yet" in body
    for unmet in ("record the root cause", "plan at least one corrective action", "give the closure evidence"):
        assert unmet in body
    assert _finding(db, w.client, fid).status == "open"
    http.logout()

    # The staff plan an action they own: it becomes a task in the current stage, assigned to them.
    http.login(w.staff.email)
    due = (clock.today() + timedelta(days=14)).isoformat()
    resp = http.submit(f"/c/{slug}/findings/{fid}/actions", {"description": "", "owner": str(w.staff.id),
                                                              "due_on": due})
    assert resp.status_code == 422 and "Say what the corrective action is." in text_of(resp)
    assert http.submit(f"/c/{slug}/findings/{fid}/actions", {"description": "Sign-off step in the delivery app",
                                                              "owner": str(w.staff.id), "due_on": due}
                       ).status_code == 303
    with inside(db, w.client):
        action = db.session.scalars(select(CorrectiveAction)).one()
        task = db.session.get(Task, action.task_id)
        assert (task.stage, task.assignee_id, task.due_on.isoformat(), task.status) == \
            ("initial_audit", w.staff.id, due, "todo")
        assert f"finding #{fid}" in task.title and task.key == f"capa_{fid}_{action.id}"
        action_id, task_id = action.id, task.id
    assert http.submit(f"/c/{slug}/findings/{fid}/record", {"root_cause": "No sign-off step in the app",
                                                             "cause_method": "category", "cause_category": "method",
                                                             "similar_elsewhere": "Checked collections: fine",
                                                             "closure_evidence": "Last 20 delivery notes signed"}
                       ).status_code == 303
    # Verifying before the action is done, and verifying one's own action, are refused; nothing changes.
    verify = {"verify_method": "Sample the next 20 deliveries", "verify_criteria": "All 20 signed",
              "result": "effective"}
    resp = http.submit(f"/c/{slug}/findings/{fid}/actions/{action_id}/verification", verify)
    assert resp.status_code == 409 and "Complete the action before verifying" in text_of(resp)
    assert http.submit(f"/c/{slug}/findings/{fid}/actions/{action_id}/done", {}).status_code == 303
    with inside(db, w.client):
        assert db.session.get(Task, task_id).status == "done"
    resp = http.submit(f"/c/{slug}/findings/{fid}/actions/{action_id}/verification", verify)
    assert resp.status_code == 409 and "must be verified by someone else" in text_of(resp)
    assert 'value="Sample the next 20 deliveries"' in text_of(resp)  # what was typed stays
    assert _finding(db, w.client, fid).actions[0].result is None
    http.logout()

    # The consultant finds it not effective: a new action is needed in the same form.
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{slug}/findings/{fid}/actions/{action_id}/verification",
                       {**verify, "result": "not_effective"})
    assert resp.status_code == 422 and "plan the new corrective action" in text_of(resp)
    assert http.submit(f"/c/{slug}/findings/{fid}/actions/{action_id}/verification",
                       {**verify, "result": "not_effective", "result_note": "4 of 20 unsigned",
                        "follow_description": "Block dispatch until signed", "follow_owner": str(w.client_admin.id),
                        "follow_due_on": due}).status_code == 303
    f = _finding(db, w.client, fid)
    assert [a.result for a in f.actions] == ["not_effective", None] and f.actions[0].verified_by_id == w.consultant.id
    resp = http.submit(f"/c/{slug}/findings/{fid}/close", {"note": "Done"})
    assert resp.status_code == 409 and f"complete corrective action #{f.actions[1].id}" in text_of(resp)
    http.logout()

    # The client admin completes the new action; the staff (not its owner) verify it effective.
    http.login(w.client_admin.email)
    assert http.submit(f"/c/{slug}/findings/{fid}/actions/{f.actions[1].id}/done", {}).status_code == 303
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"/c/{slug}/findings/{fid}/actions/{f.actions[1].id}/verification",
                       verify).status_code == 303
    assert http.submit(f"/c/{slug}/findings/{fid}/close", {"note": "x"}).status_code == 403  # consultants close
    http.logout()
    http.login(w.consultant.email)
    page = text_of(http.get(f"/c/{slug}/findings/{fid}"))
    assert "Everything the closing rule needs is in place." in page
    assert http.submit(f"/c/{slug}/findings/{fid}/close", {"note": "Dispatch blocked until signed; 20/20 since",
                                                            "back": "record"}).status_code == 303
    assert _finding(db, w.client, fid).status == "closed"
    resp = http.submit(f"/c/{slug}/findings/{fid}/record", {"root_cause": "Changed"})
    assert resp.status_code == 409 and "reopen it" in text_of(resp)
    with inside(db, w.client):
        actions = db.session.scalars(select(ActivityEntry.action).where(ActivityEntry.object_type == "finding")
                                     .order_by(ActivityEntry.id)).all()
    assert actions == ["finding.raised", "finding.action_added", "finding.updated", "finding.action_completed",
                       "finding.action_verified", "finding.action_added", "finding.action_completed",
                       "finding.action_verified", "finding.closed"]


def test_an_observation_closes_on_a_decision_and_a_major_needs_an_effective_verification(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    http.login(w.consultant.email)
    assert http.submit(f"/c/{slug}/findings", {**RAISE, "kind": "observation", "severity": "observation"}
                       ).status_code == 303
    obs = _finding(db, w.client).id
    assert http.submit(f"/c/{slug}/findings/{obs}/close", {"note": "Watch at the next audit"}).status_code == 303
    assert http.submit(f"/c/{slug}/findings", {**RAISE, "severity": "major"}).status_code == 303
    major = _finding(db, w.client).id
    with inside(db, w.client):
        f = db.session.get(Finding, major)
        ops.update_record(f, ops.RecordForm(root_cause="x", closure_evidence="y"), ops.Actor(None, "t"))
        action = ops.add_action(f, "Fix", w.staff, clock.today().isoformat(), ops.Actor(None, "t"))
        ops.complete_action(f, action, ops.Actor(None, "t"))
        ops.save(w.client)
    resp = http.submit(f"/c/{slug}/findings/{major}/close", {"note": "Fixed"})
    assert resp.status_code == 409 and "verify a corrective action as effective (a major needs it)" in text_of(resp)


def test_a_certification_body_finding_counts_down_to_its_response_deadline(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    held = clock.today() - timedelta(days=10)
    with inside(db, w.client):
        db.session.add(ExternalAudit(kind="stage_2", held_on=held, result="minor"))
        db.session.commit()
    http.login(w.consultant.email)
    assert http.submit(f"/c/{slug}/findings", {**RAISE, "source": "cb_stage_2", "cb_reference": "BSI-NC-2"}
                       ).status_code == 303
    fid = _finding(db, w.client).id
    page = text_of(http.get(f"/c/{slug}/findings/{fid}"))
    deadline = held + timedelta(days=30)  # a minor: 30 days from the audit by default
    assert "response deadline" in page and "in 20 days" in page and "body's reference BSI-NC-2" in page
    overview = text_of(http.get(f"/c/{slug}/"))
    assert "Findings to answer" in overview and "in 20 days" in overview
    assert f"#{fid} Delivery notes not signed" in overview
    resp = http.submit(f"/c/{slug}/findings/{fid}/certification-body",
                       {"cb_reference": "BSI-NC-2", "cb_accepted_on": clock.today().isoformat()})
    assert resp.status_code == 422 and "give the date submitted" in text_of(resp)
    assert http.submit(f"/c/{slug}/findings/{fid}/certification-body",
                       {"cb_reference": "BSI-NC-2", "cb_submitted_on": (held + timedelta(days=5)).isoformat(),
                        "cb_accepted_on": clock.today().isoformat(), "cb_verification": "document_review"}
                       ).status_code == 303
    f = _finding(db, w.client, fid)
    assert (f.cb_submitted_on, f.cb_accepted_on, f.cb_verification) == \
        (held + timedelta(days=5), clock.today(), "document_review")
    assert "Findings to answer" not in text_of(http.get(f"/c/{slug}/"))  # answered: no countdown
    assert ops.response_due.__doc__  # the deadline is workflows.cycle.response_deadline's
    assert deadline == held + timedelta(days=30)
    http.logout()
    http.login(w.staff.email)  # the body's answers are the certification roles'
    assert http.submit(f"/c/{slug}/findings/{fid}/certification-body", {"cb_reference": "X"}).status_code == 403


def test_stale_records_and_an_overdue_minor_proposed_for_escalation(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    with inside(db, w.client):
        with clock.frozen_at(clock.now() - timedelta(days=70)):
            f = ops.raise_finding("initial_audit", "minor", "Old minor", None, "", ops.Actor(None, "t"),
                                  source="supplier", kind="system_nonconformity", grade="minor")
            ops.add_action(f, "Re-evaluate the supplier", w.staff, (clock.today() + timedelta(days=5)).isoformat(),
                           ops.Actor(None, "t"))
        fid = f.id
        ops.save(w.client)
    http.login(w.staff.email)
    register = text_of(http.get(f"/c/{slug}/findings"))
    assert "1 stale" in register and "Escalation to major proposed" in register
    assert "1 stale" in text_of(http.get(f"/c/{slug}/"))
    page = text_of(http.get(f"/c/{slug}/findings/{fid}"))
    assert "proposed for escalation to major" in page and "A consultant decides." in page
    assert http.submit(f"/c/{slug}/findings/{fid}/escalation", {"decision": "confirmed",
                                                                 "escalation_reason": "x"}).status_code == 403
    http.logout()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{slug}/findings/{fid}/escalation", {"decision": "confirmed", "escalation_reason": " "})
    assert resp.status_code == 422 and "Give the reason" in text_of(resp)
    assert http.submit(f"/c/{slug}/findings/{fid}/escalation",
                       {"decision": "confirmed", "escalation_reason": "Supplier still unevaluated after 2 months"}
                       ).status_code == 303
    f = _finding(db, w.client, fid)
    assert (f.severity, f.escalation, f.escalation_by_name) == ("major", "confirmed", w.consultant.name)
    assert "open major finding" in text_of(http.get(f"/c/{slug}/"))  # it holds the gates now
    resp = http.submit(f"/c/{slug}/findings/{fid}/escalation", {"decision": "declined", "escalation_reason": "x"})
    assert resp.status_code == 409 and "Only a minor" in text_of(resp)
    page = text_of(http.get(f"/c/{slug}/findings"))
    assert "1 stale" not in page  # the decision was an update


def test_a_finding_recorded_before_nonconformity_records_still_opens_and_closes(http, factory, db):
    w = factory.world()
    with inside(db, w.client):
        db.session.add(Finding(stage="initial_audit", severity="opportunity", title="Legacy opportunity",
                               raised_at=clock.now(), updated_at=clock.now()))
        db.session.commit()
        fid = db.session.scalars(select(Finding.id)).one()
    http.login(w.consultant.email)
    page = text_of(http.get(f"/c/{w.client.slug}/findings/{fid}"))
    assert "Opportunity for improvement" in page
    assert http.submit(f"/c/{w.client.slug}/findings/{fid}/close", {"note": "Adopted"}).status_code == 303
