"""Hostile input, cause by cause: ids past the integer columns, NUL characters, text longer than its column,
control characters in `next`, dates far from the plan. Each gets a 404 or a 422 with what was typed kept,
and nothing is saved."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

import tenants
import workflows as wf
from app.inputs import MAX_ID, parse_id
from app.models import ActivityEntry, Finding, Task, TaskComment, WorkspaceSettings
from app.workspace import operations as ops
from conftest import PASSWORD


def _in(db, client, fn):
    with tenants.tenant_scope(db.session, client.schema_name):
        try:
            return fn()
        finally:
            db.session.rollback()


def _first_task_id(db, client) -> int:
    return _in(db, client, lambda: db.session.scalars(
        select(Task.id).where(Task.stage == "initial_audit").order_by(Task.position)).first())


def _activity(db, client) -> int:
    return _in(db, client, lambda: db.session.scalar(select(func.count()).select_from(ActivityEntry)))


# --- ids past the integer columns --------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("1", 1), (" 42 ", 42), (str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), ("0", None), ("-1", None),
    ("99999999999999999999", None), ("9" * 5000, None), ("²", None), ("١٢", None), ("1e3", None), ("", None),
    (None, None), ("0000000007", 7),
])
def test_parse_id_reads_ascii_ids_in_range(raw, expected):
    assert parse_id(raw) == expected


@pytest.mark.parametrize("path", [
    "/tasks/{big}", "/tasks/99999999999999999999", "/tasks/0", "/tasks/" + "9" * 5000, "/tasks/١",
    "/tasks/{task}/attachments/{big}",
])
def test_ids_past_the_column_in_urls_are_404(http, factory, db, path):
    w = factory.world()
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}" + path.format(big=2**31, task=_first_task_id(db, w.client))
    assert http.get(url).status_code == 404


@pytest.mark.parametrize("path", [
    "/tasks/{big}/status", "/tasks/{big}/comments", "/documents/{big}/status", "/findings/{big}/close",
    "/tasks/{task}/attachments/{big}/delete",
])
def test_ids_past_the_column_in_posts_are_404(http, factory, db, path):
    w = factory.world()
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}" + path.format(big=2**31, task=_first_task_id(db, w.client))
    assert http.submit(url, {"status": "in_progress", "body": "x"}, form_url="/").status_code == 404


@pytest.mark.parametrize("value", [str(2**31), "99999999999999999999", "9" * 5000, "²"])
def test_an_assignee_past_the_column_is_ignored_in_the_filter_and_refused_in_the_form(http, factory, db, value):
    w = factory.world()
    task_id = _first_task_id(db, w.client)
    http.login(w.consultant.email)
    assert http.get(f"/c/{w.client.slug}/tasks", query_string={"assignee": value}).status_code == 200
    resp = http.submit(f"/c/{w.client.slug}/tasks/{task_id}/assignee", {"assignee_id": value},
                       form_url=f"/c/{w.client.slug}/tasks/{task_id}")
    assert resp.status_code == 422 and "Choose someone who works on this client" in resp.get_data(as_text=True)


@pytest.mark.parametrize("page,status", [("1", 200), ("2", 200), (str(2**31), 404),
                                         ("99999999999999999999", 404), ("0", 404), ("-3", 404), ("two", 404)])
def test_activity_pages_are_bounded(http, factory, page, status):
    w = factory.world()
    http.login(w.consultant.email)
    assert http.get(f"/c/{w.client.slug}/activity", query_string={"page": page}).status_code == status


@pytest.mark.parametrize("value", [str(2**31), "99999999999999999999", "9" * 5000, "-1", "x"])
def test_switching_to_an_account_past_the_column_is_404(http, factory, value):
    w = factory.world()
    http.login(w.owner.email)
    assert http.submit("/switch-account", {"account_id": value}, form_url="/").status_code == 404
    assert http.submit("/switch-account", {"account_id": str(w.account.id)}, form_url="/").status_code == 302


# --- NUL characters ------------------------------------------------------------------------------

def test_a_nul_character_in_a_form_is_422_and_saves_nothing(http, factory, db):
    w = factory.world()
    task_id = _first_task_id(db, w.client)
    before = _activity(db, w.client)
    http.login(w.staff.email)
    resp = http.submit(f"/c/{w.client.slug}/tasks/{task_id}/comments", {"body": "Done\x00"},
                       form_url=f"/c/{w.client.slug}/tasks/{task_id}")
    assert resp.status_code == 422 and "NUL character" in resp.get_data(as_text=True)
    assert _in(db, w.client, lambda: db.session.scalar(select(func.count()).select_from(TaskComment))) == 0
    assert _activity(db, w.client) == before


def test_a_nul_character_from_htmx_shows_the_message_above_the_form(http, factory, db):
    w = factory.world()
    task_id = _first_task_id(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    token = http.csrf(url)
    resp = http.client.post(f"{url}/comments", data={"body": "Done\x00"},
                            headers={"HX-Request": "true", "X-CSRFToken": token})
    assert resp.status_code == 422 and resp.headers["HX-Retarget"] == "main.page"
    assert resp.headers["HX-Reswap"] == "afterbegin"  # inserted before the form, which keeps the text
    body = resp.get_data(as_text=True)
    assert body.startswith('<ul class="flashes" role="alert">') and "NUL character" in body and "<html" not in body


@pytest.mark.parametrize("query", [{"q": "pol\x00icy"}, {"clause": "\x00"}, {"stage\x00": "x"}])
def test_a_nul_character_in_a_query_is_422(http, factory, query):
    w = factory.world()
    http.login(w.staff.email)
    assert http.get(f"/c/{w.client.slug}/tasks", query_string=query).status_code == 422


def test_a_nul_character_in_a_path_is_404(http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    assert http.get("/templates/iso%00").status_code == 404
    assert http.get(f"/c/{w.client.slug}/tasks%00").status_code == 404


def test_a_nul_character_in_an_uploaded_file_name_is_422(http, factory, db):
    import io

    w = factory.world()
    task_id = _first_task_id(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    token = http.csrf(url)
    resp = http.client.post(f"{url}/attachments", data={"file": (io.BytesIO(b"x"), "a\x00.txt"), "csrf_token": token},
                            content_type="multipart/form-data")
    assert resp.status_code == 422


# --- text longer than its column -------------------------------------------------------------------

def test_a_finding_can_name_several_clauses(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": "Suppliers unchecked", "severity": "minor",
                                                        "stage": "initial_audit", "clause": "8.4.1 and 8.4.2"})
    assert resp.status_code == 303
    assert _in(db, w.client, lambda: db.session.scalars(select(Finding.clause)).all()) == ["8.4.1, 8.4.2"]
    assert "8.4.1, 8.4.2" in http.get(f"/c/{w.client.slug}/findings").get_data(as_text=True)


@pytest.mark.parametrize("clause,says", [
    ("8.4.1 or so", "has no clause"),
    ("12.1", "has no clause 12.1"),
    (", ".join(["4.1", "4.2", "4.3", "4.4", "5.1", "5.2", "5.3", "6.1", "6.2", "6.3", "7.1", "7.2", "7.3", "7.4",
                "7.5", "8.1", "8.2", "8.3", "8.4", "8.5", "8.6", "8.7", "9.1", "9.2", "9.3", "10.1"]),
     "at most 100 characters"),
])
def test_clauses_that_cannot_be_stored_are_422_with_the_form_kept(http, factory, db, clause, says):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": "Suppliers unchecked", "severity": "minor",
                                                        "stage": "initial_audit", "clause": clause,
                                                        "description": "Seen in the purchasing files"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and says in page
    assert "Suppliers unchecked" in page and "Seen in the purchasing files" in page and clause in page
    assert _in(db, w.client, lambda: db.session.scalar(select(func.count()).select_from(Finding))) == 0


def test_a_finding_title_too_long_is_422_not_cut(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    title = "No evaluation " * 30  # 420 characters
    resp = http.submit(f"/c/{w.client.slug}/findings", {"title": title, "severity": "minor", "stage": "initial_audit"})
    assert resp.status_code == 422 and "at most 300 characters" in resp.get_data(as_text=True)
    assert title.strip() in resp.get_data(as_text=True)


def test_a_certification_body_too_long_is_422_with_the_form_kept(http, factory, db):
    w = factory.world(template=V2)
    http.login(w.consultant.email)
    _approve_all_but_the_last(db, w)
    body = "British Standards Institution " * 8  # 240 characters
    resp = http.submit(f"/c/{w.client.slug}/certification", {"decision": "certified", "body": body,
                                                             "decided_on": "2026-11-20"},
                       form_url=f"/c/{w.client.slug}/gates")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "at most 200 characters" in page
    assert f'value="{body}"' in page and 'value="2026-11-20"' in page
    assert _in(db, w.client, lambda: db.session.get(WorkspaceSettings, 1).certification_decision) is None


# The certification decision's input is the subject: pinned to version 2, whose earlier gates need no weeks of
# operation, audits or review.
V2 = wf.load_template("iso9001-2015", 2)


def _approve_all_but_the_last(db, w):
    actor = ops.Actor(w.consultant.id, "Consultant")
    with tenants.tenant_scope(db.session, w.client.schema_name):
        db.session.execute(text("UPDATE tasks SET status = 'done' WHERE stage <> 'certification_audit'"))
        db.session.execute(text("UPDATE documents SET status = 'approved' WHERE stage <> 'certification_audit'"))
        for stage in ("initial_audit", "system_design", "implementation", "internal_audit"):
            ops.approve_gate(stage, "ok", actor)
        ops.save(w.client)


def test_typed_text_comes_back_after_a_refused_gate_action(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/initial_audit/approve", {"comment": "Checked the gap report"})
    assert resp.status_code == 303  # a conflict: back to the gates page, the comment kept for the next try
    page = http.get(resp.headers["Location"]).get_data(as_text=True)
    assert "can&#39;t be approved" in page and "Checked the gap report</textarea>" in page
    assert "Checked the gap report</textarea>" not in http.get(resp.headers["Location"]).get_data(as_text=True)


# --- control characters in `next` -------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/c/x\r\nSet-Cookie: a=b", "/ok\nx", "/tab\there", "/\\evil.example",
                                    "/\x7f", "/c\u0085x"])
def test_login_with_a_control_character_in_next_lands_normally(http, factory, target):
    user = factory.user("Next User")
    token = http.csrf("/login")
    resp = http.client.post("/login", data={"email": user.email, "password": PASSWORD, "next": target,
                                            "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_login_still_follows_a_plain_next(http, factory):
    user = factory.user("Next User")
    token = http.csrf("/login")
    resp = http.client.post("/login", data={"email": user.email, "password": PASSWORD, "next": "/templates/",
                                            "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/templates/"


# --- dates far from the plan --------------------------------------------------------------------------

@pytest.mark.parametrize("due", ["9999-12-31", "0001-01-01", "2099-01-01"])
def test_a_due_date_far_from_the_plan_is_422_with_the_date_kept(http, factory, db, due):
    w = factory.world()
    task_id = _first_task_id(db, w.client)
    before = _in(db, w.client, lambda: db.session.get(Task, task_id).due_on)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    resp = http.submit(f"{url}/due", {"due_on": due}, form_url=url)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "within 5 years of this client" in page and f'value="{due}"' in page
    assert _in(db, w.client, lambda: db.session.get(Task, task_id).due_on) == before
    ok = (before + timedelta(days=30)).isoformat()
    assert http.submit(f"{url}/due", {"due_on": ok}, form_url=url).status_code == 302
    http.logout()
    http.login(w.consultant.email)
    assert http.submit(f"/c/{w.client.slug}/plan/shift", {"days": "30"}).status_code == 303


def test_a_plan_with_a_date_stored_far_away_gets_a_422_shift_naming_it(http, factory, db):
    """Dates stored before the bound existed: the shift says which, instead of failing on every try."""
    w = factory.world()
    task_id = _first_task_id(db, w.client)
    with tenants.tenant_scope(db.session, w.client.schema_name):
        db.session.execute(text("UPDATE tasks SET due_on = '9999-12-31' WHERE id = :id"), {"id": task_id})
        db.session.commit()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/plan/shift", {"days": "30", "stage": ""})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "9999-12-31" in page and 'value="30"' in page
    assert http.submit(f"/c/{w.client.slug}/plan/shift", {"days": "-30"}).status_code == 303


def test_a_decision_date_far_from_the_plan_is_422(http, factory, db):
    w = factory.world(template=V2)
    http.login(w.consultant.email)
    _approve_all_but_the_last(db, w)
    resp = http.submit(f"/c/{w.client.slug}/certification", {"decision": "pending", "decided_on": "9999-12-31"},
                       form_url=f"/c/{w.client.slug}/gates")
    assert resp.status_code == 422 and "The decision date must be between" in resp.get_data(as_text=True)


@pytest.mark.parametrize("field,value", [("start_on", "9999-12-31"), ("start_on", "0001-01-01"),
                                         ("target_on", "9999-12-31")])
def test_a_new_client_far_from_today_is_422_with_the_form_kept(http, factory, field, value):
    w = factory.world()
    http.login(w.consultant.email)
    data = {"name": "Far Away Ltd", "slug": "", "start_on": date.today().isoformat(),
            "target_on": (date.today() + timedelta(days=200)).isoformat(), field: value}
    resp = http.submit("/clients/new", data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "must be between" in page and "Far Away Ltd" in page
