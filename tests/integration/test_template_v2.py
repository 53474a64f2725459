"""The standard template's version 2 in a running workspace: applying it to a client pinned to version 1,
not-applicable decisions (staff propose, a consultant approves, the scope document lists them) and the
plan-length rule on the new-client form and the plan-dates form."""
import html
import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select

import tenants
import workflows as wf
from app import clock
from app.clients import create_client
from app.models import Account, ActivityEntry, Client, Document, Task, TaskComment
from app.workspace import operations as ops
from conftest import unique
from gate_evidence_helpers import meet_gate_evidence

SETUP = ops.Actor(None, "setup")
V1, V2 = wf.load_template("iso9001-2015", 1), wf.load_template("iso9001-2015", 2)


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def pass_initial_audit(db, client):
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)):
            ops.set_task_status(task, "done", None, SETUP)
        for doc in db.session.scalars(select(Document).where(Document.stage == "initial_audit")):
            ops.set_document_status(doc, "approved", SETUP, role="top_management")
        meet_gate_evidence("initial_audit")
        ops.approve_gate("initial_audit", "", SETUP)
        ops.save(client)


def task_id(db, client, key):
    with inside(db, client):
        return db.session.scalar(select(Task.id).where(Task.key == key))


def task_of(db, client, key):
    db.session.expire_all()
    with inside(db, client):
        t = db.session.scalar(select(Task).where(Task.key == key))
        return None if t is None else {
            "stage": t.stage, "title": t.title, "status": t.status, "clauses": list(t.clauses), "role": t.role,
            "allow_na": t.allow_not_applicable, "reason": t.not_applicable_reason, "proposed": t.na_proposed_by_id,
            "approved_by": t.na_approved_by_id, "approved": t.na_approved_at is not None,
            "comments": len(t.comments)}


# --- v1 → v2 on a running client ------------------------------------------------------------------

def test_new_clients_start_on_version_3(factory, db):
    w = factory.world()
    db.session.expire_all()
    assert (w.client.template_key, w.client.template_version) == ("iso9001-2015", 3)
    with inside(db, w.client):
        assert ops.settings().template_version == 3
        assert db.session.scalar(select(Task.id).where(Task.key == "legal_requirements_register")) is not None


def test_applying_the_latest_version_to_a_client_on_version_1_keeps_its_work(http, factory, db):
    w = factory.world()
    account = db.session.get(Account, w.account.id)
    client = create_client(account, unique("Pinned V1 Ltd"), consultants=[w.consultant], template=V1)
    untouched = create_client(account, unique("Still V1 Ltd"), consultants=[w.consultant], template=V1)
    pass_initial_audit(db, client)  # now in system design
    consultant = ops.Actor(w.consultant.id, w.consultant.name)
    with inside(db, client):
        by_key = {t.key: t for t in db.session.scalars(select(Task))}
        ops.set_task_status(by_key["process_map"], "done", None, consultant)
        ops.set_task_status(by_key["quality_policy"], "in_progress", None, consultant)
        ops.add_comment(by_key["quality_policy"], "Draft shared with the MD", consultant)
        ops.set_task_status(by_key["design_and_development"], "not_applicable",
                            "Scope: we deliver to the client's specification only", consultant, by_consultant=True)
        ops.save(client)

    http.login(w.consultant.email)
    plan = f"/c/{client.slug}/plan"
    page = text(http.get(plan))
    # The latest version is offered: 3, which is version 2's plan with gates that check evidence.
    assert "Version 3 available" in page and "Apply version 3" in page
    assert "Register of legal and regulatory requirements" in page  # the changes are listed before applying
    resp = http.submit(f"{plan}/apply-template", {"version": "3"}, form_url=plan)
    assert resp.status_code == 303
    assert "Version 3 applied" in text(http.get(plan)) and "Apply version" not in text(http.get(plan))

    db.session.expire_all()
    assert db.session.get(Client, client.id).template_version == 3
    assert db.session.get(Client, untouched.id).template_version == 1  # applied to one client, on purpose
    with inside(db, client):
        assert ops.settings().template_snapshot == wf.load_template("iso9001-2015", 3).to_dict()
        keys = set(db.session.scalars(select(Task.key)))
        assert len(db.session.scalars(select(TaskComment)).all()) == 1
    # New work in the current and upcoming stages; nothing the client did is lost.
    assert {"legal_requirements_register", "complaint_handling_process", "service_validation_playbook",
            "monitoring_measurement_plan", "measurement_traceability", "handle_complaints",
            "validate_service_processes"} <= keys
    assert set(t.key for _, t in V1.iter_tasks()) <= keys
    assert task_of(db, client, "process_map")["status"] == "done"
    policy = task_of(db, client, "quality_policy")
    assert (policy["status"], policy["comments"]) == ("in_progress", 1)
    design = task_of(db, client, "design_and_development")
    assert (design["status"], design["reason"], design["approved"]) == (
        "not_applicable", "Scope: we deliver to the client's specification only", True)
    # The split task is re-tagged, never N/A; the certification body is chosen at the end of system design.
    split = task_of(db, client, "monitoring_measuring_resources")
    assert (split["clauses"], split["allow_na"], split["role"]) == (["7.1.5", "7.1.5.1"], False, "consultant")
    assert task_of(db, client, "measurement_traceability")["clauses"] == ["7.1.5", "7.1.5.2"]
    cb = task_of(db, client, "select_certification_body")
    assert (cb["stage"], cb["clauses"]) == ("system_design", [])
    assert task_of(db, client, "record_certification_decision")["clauses"] == []
    with inside(db, client):
        entry = db.session.scalars(select(ActivityEntry)
                                   .where(ActivityEntry.action == "plan.template_applied")).one()
        assert entry.before == {"template_version": 1} and entry.actor_id == w.consultant.id
        unchanged = entry.after["tasks"]["unchanged"]
        assert unchanged["process_map"] == "done" and unchanged["design_and_development"] == "not applicable"
        assert unchanged["gap_operation"] == "done"  # re-tagged in v2, finished here: keeps what it was done under
        assert entry.after["tasks"]["removed"] == [] and entry.after["tasks"]["kept"] == {}


def test_staff_cannot_apply_a_newer_standard_version(http, factory, db):
    w = factory.world()
    client = create_client(db.session.get(Account, w.account.id), unique("Pinned V1 Ltd"),
                           consultants=[w.consultant], template=V1)
    staff = factory.member(client, "client_admin")
    http.login(staff.email)
    plan = f"/c/{client.slug}/plan"
    assert http.submit(f"{plan}/apply-template", {"version": "2"}, form_url=plan).status_code == 403
    db.session.expire_all()
    assert db.session.get(Client, client.id).template_version == 1


# --- not applicable: staff propose, a consultant approves -------------------------------------------

def test_staff_propose_not_applicable_and_a_consultant_approves(http, factory, db):
    w = factory.world()
    pass_initial_audit(db, w.client)
    design_id = task_id(db, w.client, "design_and_development")
    url = f"/c/{w.client.slug}/tasks/{design_id}"

    http.login(w.staff.email)
    vague = "Not relevant for our services"
    resp = http.submit(f"{url}/status", {"status": "not_applicable", "reason": vague}, form_url=url)
    body = text(resp)
    assert resp.status_code == 422 and "with reference to the scope statement" in body
    assert f'value="{vague}"' in body  # what was typed comes back
    assert task_of(db, w.client, "design_and_development")["status"] == "todo"
    # A task the standard never lets a firm exclude
    policy_url = f"/c/{w.client.slug}/tasks/{task_id(db, w.client, 'quality_policy')}"
    resp = http.submit(f"{policy_url}/status", {"status": "not_applicable", "reason": "Outside our scope, really"},
                       form_url=policy_url)
    assert resp.status_code == 422 and "cannot be marked not applicable" in text(resp)

    reason = "Scope statement: we deliver to the client's specification, no design of our own"
    resp = http.submit(f"{url}/status", {"status": "not_applicable", "reason": reason}, form_url=url)
    assert resp.status_code == 302
    proposed = task_of(db, w.client, "design_and_development")
    assert (proposed["status"], proposed["reason"], proposed["proposed"], proposed["approved"]) == (
        "not_applicable", reason, w.staff.id, False)
    page = text(http.get(url))
    assert "Waiting for a consultant's approval" in page and "Approve “not applicable”" not in page
    with inside(db, w.client):
        unmet = [u.message for u in ops.gate("system_design").unmet]
    assert any("waits for a consultant's approval" in m for m in unmet)
    # Staff cannot approve their own proposal
    assert http.submit(f"{url}/approve-not-applicable", {}, form_url=url).status_code == 403
    assert not task_of(db, w.client, "design_and_development")["approved"]
    http.logout()

    http.login(w.consultant.email)
    assert "Approve “not applicable”" in text(http.get(url))
    resp = http.submit(f"{url}/approve-not-applicable", {}, form_url=url)
    assert resp.status_code == 302
    approved = task_of(db, w.client, "design_and_development")
    assert (approved["approved"], approved["approved_by"]) == (True, w.consultant.id)
    with inside(db, w.client):
        assert not any("design and development" in m.lower() for m in
                       (u.message for u in ops.gate("system_design").unmet if u.code == wf.TASK_NOT_DONE))
        entry = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "task.na_approved")).one()
        assert entry.actor_id == w.consultant.id and reason in entry.summary
    # Approving twice is a conflict and changes nothing
    resp = http.submit(f"{url}/approve-not-applicable", {}, form_url=url)
    assert resp.status_code == 409 and "approved already" in text(resp)
    # Nothing to approve on a task that is not N/A
    policy_approve = f"{policy_url}/approve-not-applicable"
    assert http.submit(policy_approve, {}, form_url=policy_url).status_code == 409

    # The scope document lists the decision with its reason and who approved it.
    with inside(db, w.client):
        scope_id = db.session.scalar(select(Document.id).where(Document.key == "qms_scope"))
        other_id = db.session.scalar(select(Document.id).where(Document.key == "process_map"))
    scope_page = text(http.get(f"/c/{w.client.slug}/documents/{scope_id}"))
    section = scope_page[scope_page.index('id="not-applicable"'):]
    assert "Requirements not applicable" in section and reason in section and w.consultant.name in section
    assert "Describe design and development, or justify its exclusion" in section
    assert 'id="not-applicable"' not in text(http.get(f"/c/{w.client.slug}/documents/{other_id}"))


def test_a_consultants_own_decision_is_approved_as_made_and_listed_pending_otherwise(http, factory, db):
    w = factory.world()
    pass_initial_audit(db, w.client)
    url = f"/c/{w.client.slug}/tasks/{task_id(db, w.client, 'design_and_development')}"
    http.login(w.consultant.email)
    reason = "Excluded under 4.3: services are delivered to the client's design"
    assert http.submit(f"{url}/status", {"status": "not_applicable", "reason": reason}, form_url=url).status_code == 302
    made = task_of(db, w.client, "design_and_development")
    assert (made["approved"], made["approved_by"], made["proposed"]) == (True, w.consultant.id, w.consultant.id)
    # Back to "to do" clears the decision; the client admin's new proposal waits again.
    assert http.submit(f"{url}/status", {"status": "todo"}, form_url=url).status_code == 302
    cleared = task_of(db, w.client, "design_and_development")
    assert (cleared["reason"], cleared["approved"], cleared["proposed"]) == (None, False, None)
    http.logout()
    http.login(w.client_admin.email)
    assert http.submit(f"{url}/status", {"status": "not_applicable", "reason": reason}, form_url=url).status_code == 302
    with inside(db, w.client):
        scope_id = db.session.scalar(select(Document.id).where(Document.key == "qms_scope"))
    section = text(http.get(f"/c/{w.client.slug}/documents/{scope_id}"))
    assert "Waiting for a consultant" in section[section.index('id="not-applicable"'):]


def test_another_clients_consultant_cannot_approve(http, factory, db):
    w, other = factory.world(), factory.world()
    pass_initial_audit(db, w.client)
    design_id = task_id(db, w.client, "design_and_development")
    with inside(db, w.client):
        ops.set_task_status(db.session.get(Task, design_id), "not_applicable", "Scope: no design of our own",
                            ops.Actor(w.staff.id, w.staff.name))
        ops.save(w.client)
    for outsider in (other.consultant, other.staff):
        http.login(outsider.email)
        resp = http.submit(f"/c/{w.client.slug}/tasks/{design_id}/approve-not-applicable", {}, form_url="/")
        assert resp.status_code == 404
        http.logout()
    assert not task_of(db, w.client, "design_and_development")["approved"]


# --- plan length -------------------------------------------------------------------------------------

def test_a_plan_under_120_days_is_refused_and_under_180_warned(http, factory, db):
    w = factory.world()
    http.login(w.owner.email)
    name = unique("Rushed Ltd")
    start = clock.today()
    resp = http.submit("/clients/new", {"name": name, "slug": "", "template": "standard:iso9001-2015",
                                        "start_on": start.isoformat(),
                                        "target_on": (start + timedelta(days=100)).isoformat()})
    body = text(resp)
    assert resp.status_code == 422 and "Only 100 days" in body and "allow at least 120 days" in body
    assert name in body and f'value="{(start + timedelta(days=100)).isoformat()}"' in body
    assert db.session.scalar(select(Client.id).where(Client.name == name)) is None

    resp = http.submit("/clients/new", {"name": name, "slug": "", "template": "standard:iso9001-2015",
                                        "start_on": start.isoformat(),
                                        "target_on": (start + timedelta(days=150)).isoformat()})
    assert resp.status_code == 302
    landing = text(http.get(resp.headers["Location"]))
    assert "only 150 days to certification" in landing and "is ready" in landing
    assert db.session.scalar(select(Client.id).where(Client.name == name)) is not None


def test_moving_the_plan_dates_keeps_the_same_rule(http, factory, db):
    w = factory.world()
    with inside(db, w.client):
        s = ops.settings()
        start, target = s.start_on, s.target_on
    http.login(w.consultant.email)
    settings = f"/c/{w.client.slug}/settings"
    short = start + timedelta(days=110)
    resp = http.get(f"{settings}/dates?start_on={start}&target_on={short}")
    assert resp.status_code == 422 and "allow at least 120 days" in text(resp)
    tight = start + timedelta(days=160)
    preview = text(http.get(f"{settings}/dates?start_on={start}&target_on={tight}"))
    assert "only 160 days to certification" in preview
    form = {"start_on": str(start), "target_on": str(short), "seen_start_on": str(start),
            "seen_target_on": str(target)}
    resp = http.submit(f"{settings}/dates", form, form_url=settings)
    assert resp.status_code == 422 and "allow at least 120 days" in text(resp)
    assert f'value="{short}"' in text(resp)
    with inside(db, w.client):
        db.session.expire_all()
        assert ops.settings().target_on == target
    resp = http.submit(f"{settings}/dates", {**form, "target_on": str(tight)}, form_url=settings)
    assert resp.status_code == 303
    assert "only 160 days to certification" in text(http.get(resp.headers["Location"]))
    with inside(db, w.client):
        db.session.expire_all()
        assert ops.settings().target_on == tight

