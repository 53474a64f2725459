"""Management review (9.3) through HTTP: opening one with its 9.3.2 inputs pre-filled, participants' input over
days, top management closing it with outputs that become tasks, a closed review immutable, the minutes as PDF,
and the facts the gate criteria read."""
import re
import subprocess
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import select, text

import tenants
from app import clock
from app.models import ManagementReview, Task
from app.workspace import operations as ops

SETUP = ops.Actor(None, "setup")


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def body(resp) -> str:
    return resp.get_data(as_text=True)


def pdf_text(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True,
                          check=True).stdout.decode()


@pytest.fixture()
def w(factory, db):
    world = factory.world()
    world.top = factory.member(world.client, "top_management")
    with inside(db, world.client):
        ops.raise_finding("initial_audit", "minor", "Supplier list out of date", "8.4.1", "", SETUP,
                          source="supplier", kind="system_nonconformity", grade="minor")
        ops.add_from_library("csat", None, set(), SETUP)
        ops.save_objective(None, ops.ObjectiveForm(title="Deliver 95 % of jobs on time"), SETUP)
        ops.save(db.session.get(type(world.client), world.client.id))
    db.session.commit()
    return world


def base(w) -> str:
    return f"/c/{w.client.slug}/management-reviews"


def open_one(http, w, participants) -> int:
    http.login(w.consultant.email)
    resp = http.submit(base(w), {"format": "async", "channel": "#mr in Teams",
                                 "participants": [str(u.id) for u in participants]})
    assert resp.status_code == 303, body(resp)
    http.logout()
    return int(re.search(r"/management-reviews/(\d+)", resp.headers["Location"]).group(1))


def review(db, w, review_id) -> ManagementReview:
    with inside(db, w.client):
        r = db.session.get(ManagementReview, review_id)
        return {"status": r.status, "complete": r.inputs_complete, "actions": [(a.description, a.task_id)
                                                                              for a in r.actions],
                "inputs": {e.key: (e.text, e.nothing_to_report, [c.body for c in e.contributions])
                           for e in r.inputs}, "closed_on": r.closed_on, "next": r.next_review_on}


def activity(db, w) -> int:
    with inside(db, w.client):
        return db.session.execute(text("SELECT count(*) FROM activity_log")).scalar()


def test_opening_prefills_every_input_of_9_3_2(http, db, w):
    review_id = open_one(http, w, [w.top, w.staff])
    r = review(db, w, review_id)
    assert list(r["inputs"]) == ["a", "b", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "d", "e", "f"]
    assert "Supplier list" not in r["inputs"]["c4"][0] and "1 findings recorded, 1 open" in r["inputs"]["c4"][0]
    assert "Deliver 95 % of jobs on time" in r["inputs"]["c2"][0]
    assert r["inputs"]["c5"][0].startswith("• ") and "no value yet" in r["inputs"]["c5"][0]  # the KPI, unmeasured
    assert "1 supplier findings" in r["inputs"]["c7"][0]
    assert r["inputs"]["a"][0] == "" and not r["complete"]  # no previous review: someone says so explicitly
    http.login(w.auditor.email)
    page = body(http.get(f"{base(w)}/{review_id}"))
    for label in ("9.3.2 a", "9.3.2 c 4", "9.3.2 f", "Nonconformities and corrective actions",
                  "Performance of external providers"):
        assert label in page
    assert "Add my input" not in page and "Close the review" not in page  # the auditor reads
    assert "Management review" in body(http.get(f"/c/{w.client.slug}/"))  # the tab


def test_one_review_open_at_a_time_and_bad_input_keeps_what_was_typed(http, db, w):
    open_one(http, w, [w.top])
    http.login(w.consultant.email)
    resp = http.submit(base(w), {"format": "async", "participants": [str(w.top.id)]})
    assert resp.status_code == 409 and "already open" in body(resp)
    with inside(db, w.client):
        db.session.execute(text("UPDATE management_reviews SET status = 'closed', closed_on = opened_on, "
                                "next_review_on = opened_on + 30"))
        db.session.commit()
    resp = http.submit(base(w), {"format": "async", "channel": "Kept channel", "participants": []})
    assert resp.status_code == 422 and "Name the participants" in body(resp) and "Kept channel" in body(resp)
    ahead = (clock.today() + timedelta(days=3)).isoformat()
    resp = http.submit(base(w), {"opened_on": ahead, "format": "async", "participants": [str(w.top.id)]})
    assert resp.status_code == 422 and "not ahead" in body(resp)


def test_participants_add_their_input_over_days_others_may_not(http, db, w):
    review_id = open_one(http, w, [w.top, w.staff])
    url = f"{base(w)}/{review_id}/inputs/c7/contributions"
    http.login(w.staff.email)
    resp = http.submit(url, {"body": "Carrier B was late three times in May."}, form_url=f"{base(w)}/{review_id}")
    assert resp.status_code == 303
    assert review(db, w, review_id)["inputs"]["c7"][2] == ["Carrier B was late three times in May."]
    resp = http.submit(url, {"body": "   "}, form_url=f"{base(w)}/{review_id}")
    assert resp.status_code == 422 and "Write your input" in body(resp)
    resp = http.submit(url, {"body": "x" * 20_001}, form_url=f"{base(w)}/{review_id}")
    assert resp.status_code == 422 and "at most 20,000" in body(resp)
    http.logout()
    other = w.client_admin  # a client admin runs the review, so may add input though not named
    http.login(other.email)
    assert http.submit(url, {"body": "Admin's note"}, form_url=f"{base(w)}/{review_id}").status_code == 303
    http.logout()
    unnamed = __import__("conftest").Factory(db).member(w.client, "staff")
    before = activity(db, w)
    http.login(unnamed.email)
    resp = http.submit(url, {"body": "Not invited"}, form_url=f"{base(w)}/{review_id}")
    assert resp.status_code == 403 and "named participants" in body(resp)
    assert activity(db, w) == before


def test_nothing_to_report_and_refreshing_keeps_edited_words(http, db, w):
    review_id = open_one(http, w, [w.top])
    http.login(w.consultant.email)
    page = f"{base(w)}/{review_id}"
    assert http.submit(f"{page}/inputs/a", {"text": "", "nothing_to_report": "1"}, form_url=page).status_code == 303
    assert http.submit(f"{page}/inputs/c2", {"text": "Objectives discussed: on track."},
                       form_url=page).status_code == 303
    assert http.submit(f"{page}/inputs/zz", {"text": "x"}, form_url=page).status_code == 404
    with inside(db, w.client):
        ops.raise_finding("implementation", "major", "Calibration overdue", "7.1.5", "", SETUP,
                          source="internal_audit", kind="system_nonconformity", grade="major")
        ops.save(db.session.get(type(w.client), w.client.id))
    assert http.submit(f"{page}/refresh", {}, form_url=page).status_code == 303
    r = review(db, w, review_id)
    assert r["inputs"]["a"][1] is True
    assert r["inputs"]["c2"][0] == "Objectives discussed: on track."  # edited: kept
    assert "2 findings recorded, 2 open (1 major" in r["inputs"]["c4"][0]  # not edited: follows the data
    assert "Internal audit: 1 findings" in r["inputs"]["c6"][0]


def fill_everything(db, w, review_id):
    with inside(db, w.client):
        r = db.session.get(ManagementReview, review_id)
        for e in r.inputs:
            if not e.text:
                e.nothing_to_report = True
        r.inputs_complete = True
        ops.save(db.session.get(type(w.client), w.client.id))


def test_closing_refused_names_each_empty_input_and_changes_nothing(http, db, w):
    review_id = open_one(http, w, [w.top])
    page = f"{base(w)}/{review_id}"
    http.login(w.top.email)
    before = activity(db, w)
    resp = http.submit(f"{page}/close", {"conclusion": "Suitable, adequate and effective; aligned.",
                                         "next_review_on": (clock.today() + timedelta(days=180)).isoformat()})
    assert resp.status_code == 422
    text_ = body(resp)
    assert "9.3.2 a Status of actions from previous management reviews" in text_
    assert "Suitable, adequate and effective; aligned." in text_  # kept
    assert review(db, w, review_id)["status"] == "open" and activity(db, w) == before
    http.logout()
    fill_everything(db, w, review_id)
    http.login(w.consultant.email)  # the consultant never closes it
    resp = http.submit(f"{page}/close", {"conclusion": "Suitable, adequate and effective; aligned.",
                                         "next_review_on": (clock.today() + timedelta(days=180)).isoformat()},
                       form_url=page)
    assert resp.status_code == 403
    http.logout()
    http.login(w.top.email)
    for data, words in [({"conclusion": "ok", "next_review_on": "2030-01-01"}, "suitable, adequate"),
                        ({"conclusion": "Suitable, adequate and effective; aligned.",
                          "next_review_on": clock.today().isoformat()}, "must come after"),
                        ({"conclusion": "Suitable, adequate and effective; aligned.",
                          "next_review_on": (clock.today() + timedelta(days=400)).isoformat()}, "more than a year")]:
        resp = http.submit(f"{page}/close", data)
        assert resp.status_code == 422 and words in body(resp)
    assert review(db, w, review_id)["status"] == "open"


def test_top_management_closes_with_actions_that_become_tasks_and_the_record_is_then_immutable(http, db, w):
    review_id = open_one(http, w, [w.top, w.staff])
    page = f"{base(w)}/{review_id}"
    due = (clock.today() + timedelta(days=60)).isoformat()
    http.login(w.consultant.email)
    resp = http.submit(f"{page}/actions", {"kind": "resources", "description": "", "owner": str(w.staff.id),
                                           "due_on": due}, form_url=page)
    assert resp.status_code == 422 and "what the action is" in body(resp)
    resp = http.submit(f"{page}/actions", {"kind": "resources", "description": "Hire a second planner",
                                           "owner": str(w.staff.id), "due_on": due}, form_url=page)
    assert resp.status_code == 303
    http.logout()
    fill_everything(db, w, review_id)
    next_on = clock.today() + timedelta(days=180)
    http.login(w.top.email)
    resp = http.submit(f"{page}/close", {"conclusion": "The QMS remains suitable, adequate and effective.",
                                         "next_review_on": next_on.isoformat()})
    assert resp.status_code == 303
    r = review(db, w, review_id)
    assert r["status"] == "closed" and r["closed_on"] == clock.today() and r["next"] == next_on
    [(description, task_id)] = r["actions"]
    with inside(db, w.client):
        task = db.session.get(Task, task_id)
        assert task.title == "Management review action: Hire a second planner"
        assert task.assignee_id == w.staff.id and task.due_on.isoformat() == due and task.clauses == ["9.3.3"]
        nxt = db.session.scalar(select(Task).where(Task.key == f"mr_{review_id}_next"))
        assert nxt.due_on == next_on and nxt.assignee_id == w.top.id
        next_task_id = nxt.id
    # The task and the next review are in the reminder index (work items), one entry each.
    from app.models import WorkItem
    db.session.rollback()
    refs = set(db.session.scalars(select(WorkItem.ref_id).where(WorkItem.client_id == w.client.id,
                                                                WorkItem.kind == "task")))
    assert {task_id, next_task_id} <= refs
    page_text = body(http.get(page))
    assert "Task #" in page_text and "The QMS remains suitable" in page_text and "Close the review" not in page_text
    before = activity(db, w)
    for url, data in [(f"{page}/inputs/b", {"text": "late"}), (f"{page}/refresh", {}),
                      (f"{page}/close", {"conclusion": "Again, suitable and effective.",
                                         "next_review_on": "2030-01-01"}),
                      (f"{page}/inputs/b/contributions", {"body": "late"}),
                      (f"{page}/actions", {"kind": "change", "description": "x", "owner": str(w.top.id),
                                           "due_on": due})]:
        resp = http.submit(url, data, form_url=page)
        assert resp.status_code == 409, url
        assert "closed" in body(resp)
    assert activity(db, w) == before
    # The next review's input "a" reports this one's action.
    http.logout()
    next_id = open_one(http, w, [w.top])
    assert "Hire a second planner — " in review(db, w, next_id)["inputs"]["a"][0]


def test_the_minutes_pdf(http, db, w):
    review_id = open_one(http, w, [w.top, w.staff])
    http.login(w.staff.email)
    page = f"{base(w)}/{review_id}"
    http.submit(f"{page}/inputs/d/contributions", {"body": "We need a second planner."})
    fill_everything(db, w, review_id)
    http.logout()
    http.login(w.top.email)
    http.submit(f"{page}/close", {"conclusion": "The QMS remains suitable, adequate and effective.",
                                  "next_review_on": (clock.today() + timedelta(days=180)).isoformat()})
    resp = http.get(f"{page}/minutes.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    words = " ".join(pdf_text(resp.data).split())
    for expected in ("Management review minutes", w.client.name, "9.3.2 c 4 — Nonconformities and corrective actions",
                     "We need a second planner.", w.staff.name, "Nothing to report.",
                     "The QMS remains suitable, adequate and effective.", "Approved by top management"):
        assert expected in words, expected


def test_the_gate_facts(db, w):
    with inside(db, w.client):
        state = ops.client_state()
        assert state.internal_audit_completed_on is None and state.management_review_closed_on is None
        assert not state.management_review_inputs_complete
        task = db.session.scalar(select(Task).where(Task.key == "conduct_internal_audits"))
        task.status, task.completed_at = "done", clock.now() - timedelta(days=5)
        db.session.add(ManagementReview(status="closed", opened_on=clock.today(), opened_by_name="x",
                                        data_cutoff_on=clock.today(), participants=[], inputs_complete=True,
                                        closed_on=clock.today(), next_review_on=clock.today() + timedelta(days=90)))
        db.session.flush()
        state = ops.client_state()
        assert state.internal_audit_completed_on == (clock.now() - timedelta(days=5)).date()
        assert state.management_review_closed_on == clock.today() and state.management_review_inputs_complete
        db.session.rollback()


def test_the_demo_review_is_held_asynchronously_over_a_week(db, w):
    from app.demo_reviews import seed_review

    with inside(db, w.client):
        task = db.session.scalar(select(Task).where(Task.key == "conduct_internal_audits"))
        task.status, task.completed_at = "done", clock.now() - timedelta(days=20)
        seed_review(w.staff.id, w.top.id, w.consultant.id)
        ops.save(db.session.get(type(w.client), w.client.id))
        [r] = ops.reviews()
        opened = (clock.now() - timedelta(days=18)).date()
        assert r.status == "closed" and r.opened_on == opened and r.closed_on == opened + timedelta(days=7)
        assert r.closed_by_name == w.top.name and len(r.actions) == 2 and all(a.task_id for a in r.actions)
        days = {c.created_at.date() for e in r.inputs for c in e.contributions}
        assert len(days) == 5 and min(days) > opened and max(days) < r.closed_on
        assert r.inputs_complete and ops.client_state().management_review_closed_on == r.closed_on
