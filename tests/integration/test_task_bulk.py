"""The task list: inline status change per row, and bulk assign / due date / mark done for many tasks at once,
through the same operations (and refusals) as one task's own forms, in one commit."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

import tenants
from app.models import ActivityEntry, Task
from app.workspace import operations as ops

HX = {"HX-Request": "true"}


def tasks_of(db, client, stage, n=None):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        q = select(Task.id).where(Task.stage == stage).order_by(Task.position)
        return list(db.session.scalars(q.limit(n) if n else q))


def snapshot(db, client) -> dict:
    """Every task's (status, assignee, due date), and the activity log's length."""
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        rows = {t.id: (t.status, t.assignee_id, t.due_on) for t in db.session.scalars(select(Task))}
        return {"tasks": rows, "log": db.session.scalar(select(func.count()).select_from(ActivityEntry))}


def bulk(http, client, data: dict, ids=(), **kw):
    token = http.csrf(f"/c/{client.slug}/tasks")
    form = {**data, "csrf_token": token, "task_id": [str(i) for i in ids]}
    return http.client.post(f"/c/{client.slug}/tasks/bulk", data=form, **kw)


def flashes(body: str) -> list[str]:
    return [" ".join(unescape(re.sub(r"<[^>]+>", "", m)).split())
            for m in re.findall(r'<li class="flash[^"]*">(.*?)</li>', body, re.S)]


def test_bulk_assign_due_and_done_change_exactly_the_selected_tasks(http, factory, db):
    w = factory.world()
    c = w.client
    chosen = tasks_of(db, c, "initial_audit", 3)
    before = snapshot(db, c)
    http.login(w.consultant.email)

    resp = bulk(http, c, {"action": "assign", "assignee_id": str(w.staff.id)}, chosen)
    assert resp.status_code == 303 and resp.headers["Location"] == f"/c/{c.slug}/tasks"
    page = http.get(resp.headers["Location"]).get_data(as_text=True)
    assert f"3 tasks assigned to {w.staff.name}." in flashes(page)
    after = snapshot(db, c)
    assert {i: t for i, t in after["tasks"].items() if t != before["tasks"][i]} == {
        i: ("todo", w.staff.id, before["tasks"][i][2]) for i in chosen}
    assert after["log"] == before["log"] + 3  # one entry per task, as one by one

    due = before["tasks"][chosen[0]][2] + timedelta(days=10)
    resp = bulk(http, c, {"action": "due", "due_on": due.isoformat(), "filter_view": "mine"}, chosen[:2])
    assert resp.status_code == 303 and resp.headers["Location"] == f"/c/{c.slug}/tasks?view=mine"
    assert [snapshot(db, c)["tasks"][i][2] for i in chosen] == [due, due, before["tasks"][chosen[2]][2]]

    resp = bulk(http, c, {"action": "done"}, chosen)
    assert resp.status_code == 303
    assert [snapshot(db, c)["tasks"][i][0] for i in chosen] == ["done"] * 3
    resp = bulk(http, c, {"action": "done"}, chosen[:1], follow_redirects=True)
    assert "0 tasks marked done; 1 already so." in flashes(resp.get_data(as_text=True))


def test_select_all_shown_takes_the_tasks_the_list_showed(http, factory, db):
    w = factory.world()
    c = w.client
    shown = tasks_of(db, c, "initial_audit")
    http.login(w.staff.email)
    resp = bulk(http, c, {"action": "assign", "assignee_id": str(w.staff.id), "all_shown": "1",
                          "shown": [str(i) for i in shown]})
    assert resp.status_code == 303
    tasks = snapshot(db, c)["tasks"]
    assert {i for i, t in tasks.items() if t[1] == w.staff.id} == set(shown)


def test_refusals_are_reported_task_by_task_and_the_rest_is_saved(http, factory, db):
    w = factory.world()
    c = w.client
    open_ones = tasks_of(db, c, "initial_audit", 2)
    locked = tasks_of(db, c, "system_design", 1)
    before = snapshot(db, c)
    http.login(w.staff.email)
    resp = bulk(http, c, {"action": "done"}, [*open_ones, *locked])
    assert resp.status_code == 303
    message = flashes(http.get(resp.headers["Location"]).get_data(as_text=True))
    title = unescape(re.search(r"“(.*?)”", message[0].split("refused: ")[1]).group(1))
    with tenants.tenant_scope(db.session, c.schema_name):
        assert title == db.session.get(Task, locked[0]).title
    assert message == [f"2 tasks marked done; 1 refused: “{title}” belongs to System design, which is locked "
                       "until the client reaches it."]
    tasks = snapshot(db, c)["tasks"]
    assert [tasks[i][0] for i in open_ones] == ["done", "done"] and tasks[locked[0]] == before["tasks"][locked[0]]

    # Every task refused: nothing saved, the list with the reason and the refusal's status.
    resp = bulk(http, c, {"action": "done"}, locked)
    assert resp.status_code == 409
    assert "1 refused:" in " ".join(flashes(resp.get_data(as_text=True)))
    assert snapshot(db, c)["tasks"] == tasks


@pytest.mark.parametrize("data,ids,message", [
    ({"action": "done"}, [], "Select at least one task first"),
    ({"action": "done"}, ["99999"], "1 of the selected tasks is not in this client's list; nothing was changed."),
    ({"action": "done"}, ["1", str(2**31)], "not a task of this list"),
    ({"action": "done"}, ["9" * 5000], "not a task of this list"),
    ({"action": "done"}, ["-1"], "not a task of this list"),
    ({"action": "done"}, ["1"] * 1001, "Select at most 1,000 tasks at once."),
    ({"action": "archive"}, ["1"], "Choose what to do with the selected tasks"),
    ({"action": "assign", "assignee_id": ""}, ["1"], "Choose who the selected tasks go to"),
    ({"action": "assign", "assignee_id": "99999"}, ["1"], "Choose who the selected tasks go to"),
    ({"action": "due", "due_on": ""}, ["1"], "Choose the due date"),
    ({"action": "due", "due_on": "next friday"}, ["1"], "Enter the due date as YYYY-MM-DD."),
    ({"action": "due", "due_on": "1900-01-01"}, ["1"], "1 refused:"),
    ({"action": "done", "filter_q": "a\x00b"}, ["1"], "NUL character"),
])
def test_bad_input_is_a_clear_422_and_changes_nothing(http, factory, db, data, ids, message):
    w = factory.world()
    before = snapshot(db, w.client)
    http.login(w.consultant.email)
    resp = bulk(http, w.client, data, ids)
    assert resp.status_code == 422
    assert message in unescape(resp.get_data(as_text=True))
    assert snapshot(db, w.client) == before


def test_another_clients_task_ids_name_this_clients_tasks_only(http, factory, db):
    w = factory.world()
    sibling = factory.client(w.account, [w.consultant])
    theirs = tasks_of(db, sibling, "initial_audit", 2)
    sibling_before = snapshot(db, sibling)
    http.login(w.consultant.email)
    resp = bulk(http, w.client, {"action": "done"}, theirs)
    assert resp.status_code == 303
    # Ids are per client schema: the same numbers are this client's own tasks; the sibling is untouched.
    assert [snapshot(db, w.client)["tasks"][i][0] for i in theirs] == ["done", "done"]
    assert snapshot(db, sibling) == sibling_before


def test_outsiders_get_404_and_the_auditor_403_and_nothing_changes(http, factory, db):
    w = factory.world()
    other = factory.world()  # another consultancy
    sibling = factory.client(w.account, [w.consultant])
    sibling_staff = factory.member(sibling, "client_admin")
    chosen = tasks_of(db, w.client, "initial_audit", 2)
    before = snapshot(db, w.client)
    for user, status in ((sibling_staff, 404), (other.consultant, 404), (other.owner, 404),
                         (w.other_consultant, 404), (w.auditor, 403)):
        http.login(user.email)
        token = http.csrf("/")
        resp = http.client.post(f"/c/{w.client.slug}/tasks/bulk",
                                data={"csrf_token": token, "action": "done", "task_id": [str(i) for i in chosen]})
        assert resp.status_code == status, user.email
        assert w.client.name not in resp.get_data(as_text=True)
        http.logout()
    assert snapshot(db, w.client) == before


def test_the_list_offers_selection_and_bulk_actions_to_writers_only(http, factory, db):
    w = factory.world()
    http.login(w.staff.email)
    body = http.get(f"/c/{w.client.slug}/tasks").get_data(as_text=True)
    assert 'id="bulk-tasks"' in body and 'data-select-all' in body and body.count("data-select-one") > 10
    assert 'name="from" value="list"' in body
    http.logout()
    http.login(w.auditor.email)
    body = http.get(f"/c/{w.client.slug}/tasks").get_data(as_text=True)
    assert 'id="bulk-tasks"' not in body and "data-select-one" not in body and 'name="from"' not in body


def test_inline_status_answers_with_the_row_or_back_to_the_list(http, factory, db):
    w = factory.world()
    c = w.client
    first, second = tasks_of(db, c, "initial_audit", 2)
    locked = tasks_of(db, c, "system_design", 1)[0]
    http.login(w.staff.email)
    token = http.csrf(f"/c/{c.slug}/tasks")

    resp = http.client.post(f"/c/{c.slug}/tasks/{first}/status", data={"status": "in_progress", "from": "list"},
                            headers={**HX, "X-CSRFToken": token})
    assert resp.status_code == 200
    row = resp.get_data(as_text=True)
    assert f'<tr class="" id="task-{first}"' in row
    assert re.search(r'<option value="in_progress" selected>', row) and "<html" not in row
    assert snapshot(db, c)["tasks"][first][0] == "in_progress"

    # Without JavaScript: the form's own button, then back to the list at that row.
    resp = http.client.post(f"/c/{c.slug}/tasks/{second}/status",
                            data={"status": "done", "from": "list", "csrf_token": token})
    assert resp.status_code == 303 and resp.headers["Location"] == f"/c/{c.slug}/tasks#task-{second}"
    assert snapshot(db, c)["tasks"][second][0] == "done"

    # A refusal comes back in the row, with the reason and the refusal's status; nothing changed.
    resp = http.client.post(f"/c/{c.slug}/tasks/{locked}/status", data={"status": "done", "from": "list"},
                            headers={**HX, "X-CSRFToken": token})
    assert resp.status_code == 409
    assert "locked until the client reaches it" in unescape(resp.get_data(as_text=True))
    assert snapshot(db, c)["tasks"][locked][0] == "todo"
    resp = http.client.post(f"/c/{c.slug}/tasks/{locked}/status",
                            data={"status": "done", "from": "list", "csrf_token": token})
    assert resp.status_code == 409 and "locked until the client reaches it" in unescape(resp.get_data(as_text=True))
