"""A client's settings page through HTTP: rename, assigned consultants, new plan dates (preview, then apply),
archive and unarchive; who may open it; and what an archived client still lets anyone do (read, unarchive)."""
from __future__ import annotations

import html
import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import tenants
import workflows as wf
from app import clock
from app.clients import create_client
from app.models import ActivityEntry, Client, ClientConsultant, ClientSummary, Document, Stage, Task
from app.workspace import operations as ops
from conftest import unique

START = clock.today()
TARGET = START + timedelta(days=180)


@contextmanager
def inside(db, client):
    db.session.rollback()  # read what the requests committed
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


@pytest.fixture()
def w(factory, db):
    """A consultancy (owner, assigned consultant, unassigned consultant) whose client runs from START to TARGET,
    with three tasks of its first stage done, and its client admin, staff and auditor."""
    w = factory.world()
    client = create_client(db.session.get(type(w.account), w.account.id), unique("Settings Co"),
                           consultants=[w.consultant], start_on=START, target_on=TARGET)
    w.client, w.name = client, client.name  # the name as created (w.client itself is reloaded after requests)
    w.client_admin, w.staff, w.auditor = (factory.member(client, r) for r in ("client_admin", "staff", "auditor"))
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == "initial_audit")
                                       .order_by(Task.position).limit(3)):
            ops.set_task_status(task, "done", None, ops.Actor(None, "setup"))
        ops.save(client)
    return w


def settings_url(w, path=""):
    return f"/c/{w.client.slug}/settings{path}"


def fresh_client(db, w) -> Client:
    db.session.rollback()
    return db.session.get(Client, w.client.id)


def plan_rows(db, w):
    """Task id → (status, start, due); stage → (status, planned start, planned end); the plan's dates."""
    with inside(db, w.client):
        tasks = {t.id: (t.status, t.start_on, t.due_on) for t in db.session.scalars(select(Task))}
        stages = {s.key: (s.status, s.planned_start, s.planned_end) for s in db.session.scalars(select(Stage))}
        s = ops.settings()
        return tasks, stages, (s.start_on, s.target_on)


def log_entries(db, w, action):
    with inside(db, w.client):
        return [(e.actor_name, e.summary, e.before, e.after) for e in db.session.scalars(
            select(ActivityEntry).where(ActivityEntry.action == action).order_by(ActivityEntry.id))]


def page_text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def ticked(resp) -> set[int]:
    """The consultants ticked in the settings form."""
    return {int(re.search(r'value="(\d+)"', tag).group(1))
            for tag in re.findall(r'<input[^>]*name="consultants"[^>]*>', page_text(resp)) if " checked" in tag}


def dates(start, target, seen_start=START, seen_target=TARGET) -> dict:
    return {"start_on": str(start), "target_on": str(target), "seen_start_on": str(seen_start),
            "seen_target_on": str(seen_target)}


# --- who ------------------------------------------------------------------------------------

def test_consultants_of_the_client_and_owners_open_settings_others_do_not(http, factory, w):
    for user in (w.owner, w.consultant):
        http.login(user.email)
        overview = page_text(http.get(f"/c/{w.client.slug}/"))
        assert f'href="/c/{w.client.slug}/settings"' in overview  # the Settings tab
        page = http.get(settings_url(w))
        assert page.status_code == 200 and "Assigned consultants" in page_text(page)
        http.logout()
    for user in (w.client_admin, w.staff, w.auditor):  # members without the right: 403, like other consultant pages
        http.login(user.email)
        assert f'/c/{w.client.slug}/settings' not in page_text(http.get(f"/c/{w.client.slug}/"))
        assert http.get(settings_url(w)).status_code == 403
        assert http.submit(settings_url(w, "/name"), {"name": "Staff Renamed Ltd"},
                           form_url=f"/c/{w.client.slug}/").status_code == 403
        http.logout()
    assert fresh_client(factory.db, w).name == w.name


def test_outsiders_get_404_and_see_nothing(http, factory, db, w):
    other = factory.world()  # another consultancy
    sibling_staff = factory.member(factory.client(w.account, [w.consultant]), "client_admin")
    before = log_entries(db, w, "client.renamed")
    for user in (other.consultant, other.owner, sibling_staff, w.other_consultant):
        http.login(user.email)
        for resp in (http.get(settings_url(w)),
                     http.get(settings_url(w, f"/dates?start_on={START}&target_on={TARGET}")),
                     http.submit(settings_url(w, "/name"), {"name": "Hijacked Ltd"}, form_url="/"),
                     http.submit(settings_url(w, "/archive"), {}, form_url="/"),
                     http.submit(settings_url(w, "/consultants"), {"consultants": str(user.id)}, form_url="/")):
            assert resp.status_code == 404
            assert w.client.name not in page_text(resp) and w.consultant.email not in page_text(resp)
        http.logout()
    client = fresh_client(db, w)
    assert client.name == w.name and client.archived_at is None
    assert log_entries(db, w, "client.renamed") == before


# --- rename -----------------------------------------------------------------------------------

def test_rename_keeps_the_address_and_is_logged(http, db, w):
    http.login(w.consultant.email)
    new = unique("Acme Logistics Group")
    resp = http.submit(settings_url(w, "/name"), {"name": f"  {new}  "}, form_url=settings_url(w))
    assert resp.status_code == 303 and resp.headers["Location"].endswith(settings_url(w))
    client = fresh_client(db, w)
    assert client.name == new and client.slug == w.client.slug
    page = page_text(http.get(f"/c/{w.client.slug}/"))
    assert new in page
    assert new in page_text(http.get("/"))
    [(who, summary, before, after)] = log_entries(db, w, "client.renamed")
    assert who == w.consultant.name and before == {"name": w.name} and after == {"name": new}
    activity = page_text(http.get(f"/c/{w.client.slug}/activity?kind=client"))
    assert f"Client renamed from “{w.name}” to “{new}”" in activity


@pytest.mark.parametrize("name,message", [
    ("", "Enter the client's company name."),
    ("   ", "Enter the client's company name."),
    ("N" * 201, "Keep the name under 200 characters."),
])
def test_rename_refuses_bad_names_keeping_what_was_typed(http, db, w, name, message):
    http.login(w.owner.email)
    resp = http.submit(settings_url(w, "/name"), {"name": name}, form_url=settings_url(w))
    assert resp.status_code == 422
    body = page_text(resp)
    assert message in body and 'aria-invalid="true"' in body
    if name.strip():
        assert f'value="{name}"' in body
    assert fresh_client(db, w).name == w.name


def test_rename_refuses_a_name_of_another_client_and_a_nul(http, factory, db, w):
    sibling = factory.client(w.account, [w.consultant], name=unique("Brightside Dental"))
    http.login(w.owner.email)
    resp = http.submit(settings_url(w, "/name"), {"name": sibling.name.upper()}, form_url=settings_url(w))
    assert resp.status_code == 422 and "Another client of your consultancy is already called" in page_text(resp)
    assert sibling.name.upper() in page_text(resp)  # kept in the field
    resp = http.submit(settings_url(w, "/name"), {"name": w.client.name}, form_url=settings_url(w))
    assert resp.status_code == 422 and "already called" in page_text(resp)
    resp = http.submit(settings_url(w, "/name"), {"name": "Nul\x00Ltd"}, form_url=settings_url(w))
    assert resp.status_code == 422 and "NUL" in page_text(resp)
    assert fresh_client(db, w).name == w.name
    assert log_entries(db, w, "client.renamed") == []


# --- consultants --------------------------------------------------------------------------------

def assigned(db, w) -> set[int]:
    db.session.rollback()
    return set(db.session.scalars(select(ClientConsultant.user_id).where(ClientConsultant.client_id == w.client.id)))


def test_owner_reassigns_the_client_to_another_consultant(http, db, w):
    http.login(w.owner.email)
    page = http.get(settings_url(w))
    assert w.other_consultant.email in page_text(page) and ticked(page) == {w.consultant.id}
    assert page_text(page).count('name="consultants"') == 3  # the owner and both consultants
    resp = http.submit(settings_url(w, "/consultants"), {"consultants": [str(w.other_consultant.id)]},
                       form_url=settings_url(w))
    assert resp.status_code == 303
    assert assigned(db, w) == {w.other_consultant.id}
    [(who, summary, before, after)] = log_entries(db, w, "client.consultants_changed")
    assert who == w.owner.name
    assert summary == f"Consultants changed: assigned {w.other_consultant.name}; unassigned {w.consultant.name}"
    http.logout()
    http.login(w.other_consultant.email)
    assert w.client.name in page_text(http.get("/")) and http.get(f"/c/{w.client.slug}/").status_code == 200
    http.logout()
    http.login(w.consultant.email)
    assert w.client.name not in page_text(http.get("/")) and http.get(f"/c/{w.client.slug}/").status_code == 404


def test_a_consultant_who_unassigns_themselves_lands_on_the_portfolio(http, db, w):
    http.login(w.consultant.email)
    resp = http.submit(settings_url(w, "/consultants"), {"consultants": [str(w.owner.id)]}, form_url=settings_url(w))
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    assert assigned(db, w) == {w.owner.id}


def test_consultant_changes_are_refused_when_none_or_strangers(http, factory, db, w):
    stranger = factory.world().consultant
    http.login(w.owner.email)
    cases = [({}, "Keep at least one consultant assigned"),
             ({"consultants": [str(stranger.id)]}, "Choose consultants from your consultancy"),
             ({"consultants": ["abc"]}, "Invalid choice"),
             ({"consultants": [str(w.consultant.id)]}, "assigned already")]
    for data, message in cases:
        resp = http.submit(settings_url(w, "/consultants"), data, form_url=settings_url(w))
        assert resp.status_code == 422, data
        assert message in page_text(resp), data
    # What was ticked comes back ticked.
    resp = http.submit(settings_url(w, "/consultants"), {"consultants": [str(stranger.id), str(w.other_consultant.id)]},
                       form_url=settings_url(w))
    assert ticked(resp) == {w.other_consultant.id}
    assert assigned(db, w) == {w.consultant.id}


# --- plan dates ---------------------------------------------------------------------------------

def test_new_target_date_is_previewed_then_moves_open_work_only(http, db, w):
    tasks, stages, dates = plan_rows(db, w)
    assert dates == (START, TARGET)
    open_ids = {i for i, (status, _, due) in tasks.items() if wf.is_open_task(status) and due}
    done_ids = {i for i, (status, _, _) in tasks.items() if status == "done"}
    assert len(done_ids) == 3 and len(open_ids) == len(tasks) - 3
    new_target = TARGET + timedelta(days=21)
    http.login(w.consultant.email)

    preview = http.get(settings_url(w, f"/dates?start_on={START}&target_on={new_target}"))
    assert preview.status_code == 200
    body = page_text(preview)
    assert f"{len(open_ids)} open tasks</strong> move by <strong>+21 days" in body
    assert f"<strong>{new_target:%d %b %Y}</strong>" in body and "3 finished tasks keep their dates" in body
    assert plan_rows(db, w) == (tasks, stages, dates)  # a preview changes nothing
    apply = re.search(r'<form method="post" action="([^"]+)" class="actions" id="apply-dates">(.*?)</form>', body, re.S)
    assert apply.group(1) == settings_url(w, "/dates")
    form = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', apply.group(2)))
    assert {k: v for k, v in form.items() if k != "csrf_token"} == {
        "start_on": START.isoformat(), "target_on": new_target.isoformat(),
        "seen_start_on": START.isoformat(), "seen_target_on": TARGET.isoformat()}

    resp = http.client.post(settings_url(w, "/dates"), data=form)  # "Apply new dates", as the browser sends it
    assert resp.status_code == 303
    after, after_stages, after_dates = plan_rows(db, w)
    assert after_dates == (START, new_target)
    for task_id, (status, start, due) in tasks.items():
        if task_id in open_ids:
            assert after[task_id] == (status, start + timedelta(days=21) if start else None, due + timedelta(days=21))
        else:
            assert after[task_id] == (status, start, due)  # finished work keeps its dates
    assert after_stages["certification_audit"][2].date() == new_target
    assert after_stages["initial_audit"][1] == stages["initial_audit"][1]  # the current stage keeps its start
    assert after_stages["system_design"][1] == stages["system_design"][1] + timedelta(days=21)
    db.session.rollback()
    assert db.session.get(ClientSummary, w.client.id).target_certification_on == new_target
    [(who, summary, before, logged)] = log_entries(db, w, "plan.dates_changed")
    assert who == w.consultant.name and before == {"start_on": START.isoformat(), "target_on": TARGET.isoformat()}
    assert logged["days"] == 21 and logged["tasks"] == len(open_ids)
    assert summary == (f"Plan dates changed: target {TARGET:%d %b %Y} → {new_target:%d %b %Y}; "
                       f"{len(open_ids)} open tasks moved by +21 days")
    assert "moved by +21 days" in page_text(http.get(settings_url(w)))  # the flash after the redirect


def test_a_new_start_date_alone_moves_no_task(http, db, w):
    tasks, stages, _ = plan_rows(db, w)
    new_start = START + timedelta(days=7)
    http.login(w.owner.email)
    body = page_text(http.get(settings_url(w, f"/dates?start_on={new_start}&target_on={TARGET}")))
    assert f"<strong>{new_start:%d %b %Y}</strong>" in body and "no task moves" in body
    resp = http.submit(settings_url(w, "/dates"), dates(new_start, TARGET), form_url=settings_url(w))
    assert resp.status_code == 303
    assert plan_rows(db, w) == (tasks, stages, (new_start, TARGET))


@pytest.mark.parametrize("start,target,message", [
    (START, START - timedelta(days=10), "must be after the start date"),
    (START, START + timedelta(days=10), "allow at least 120 days"),
    ("9999-12-31", TARGET, "The start date must be between"),
    (START, "0001-01-01", "The target certification date must be between"),
    (START, TARGET + timedelta(days=400), "at most 365 days at a time"),
    ("soon", TARGET, "Not a valid date value"),
    (START, "", "Enter the target date."),
    (START, TARGET, "These are the client's dates already"),
])
def test_impossible_dates_are_refused_with_the_form_kept(http, db, w, start, target, message):
    before = plan_rows(db, w)
    http.login(w.consultant.email)
    preview = http.get(settings_url(w, f"/dates?start_on={start}&target_on={target}"))
    assert preview.status_code == 422 and message in page_text(preview)
    assert f'value="{start}"' in page_text(preview) and "Apply new dates" not in page_text(preview)
    resp = http.submit(settings_url(w, "/dates"), dates(start, target), form_url=settings_url(w))
    assert resp.status_code == 422 and message in page_text(resp)
    assert plan_rows(db, w) == before and log_entries(db, w, "plan.dates_changed") == []


def test_a_stale_preview_is_not_applied(http, db, w):
    http.login(w.consultant.email)
    first = TARGET + timedelta(days=7)
    assert http.submit(settings_url(w, "/dates"), dates(START, first), form_url=settings_url(w)).status_code == 303
    before = plan_rows(db, w)
    # A second tab still shows the preview made from the old target date.
    resp = http.submit(settings_url(w, "/dates"), dates(START, TARGET + timedelta(days=14)), form_url=settings_url(w))
    assert resp.status_code == 409 and "since you saw the preview" in page_text(resp)
    assert plan_rows(db, w) == before


# --- archive and unarchive ------------------------------------------------------------------------

WORKSPACE_PAGES = ["/", "/tasks", "/documents", "/findings", "/gates", "/plan", "/activity", "/people"]


def counts(db, w):
    with inside(db, w.client):
        return tuple(db.session.scalar(select(func.count()).select_from(m)) for m in (Task, Document, ActivityEntry))


def test_archived_client_is_read_only_hidden_from_the_portfolio_and_intact(http, db, w):
    task_id = min(i for i, (status, _, _) in plan_rows(db, w)[0].items() if status == "todo")
    before = counts(db, w)
    http.login(w.owner.email)
    assert w.client.name in page_text(http.get("/"))
    resp = http.submit(settings_url(w, "/archive"), {}, form_url=settings_url(w))
    assert resp.status_code == 303
    assert "is archived: read-only" in page_text(http.get(resp.headers["Location"]))
    client = fresh_client(db, w)
    assert client.status == "archived" and client.archived_at is not None
    assert counts(db, w) == (before[0], before[1], before[2] + 1)  # only the log entry was added
    banner = f"Archived on {client.archived_at:%d %b %Y} by {w.owner.name}"

    portfolio = page_text(http.get("/"))
    assert w.client.name not in portfolio and "Archived (1)" in portfolio
    archived = page_text(http.get("/?archived=1"))
    assert w.client.name in archived and "1 archived client" in archived

    for user in (w.owner, w.staff):  # everyone still reads every page, with the banner and no forms
        http.logout()
        http.login(user.email)
        for path in [*WORKSPACE_PAGES, f"/tasks/{task_id}"]:
            page = http.get(f"/c/{w.client.slug}{path}")
            assert page.status_code == 200, path
            assert banner in page_text(page) and "unarchive to change anything" in page_text(page), path
            posts = re.findall(r'<form[^>]*method="post"[^>]*>', page_text(page))
            assert all(re.search(r'action="/(logout|switch-account)"', f) for f in posts), (path, posts)
    http.logout()
    http.login(w.consultant.email)
    token = http.csrf(f"/c/{w.client.slug}/")
    refused = {
        f"/tasks/{task_id}/status": {"status": "done"},
        f"/tasks/{task_id}/comments": {"body": "Still here?"},
        "/plan/shift": {"days": "7"},
        "/findings": {"title": "Gap", "severity": "minor", "stage": "initial_audit"},
        "/people": {"email": "new@person.example", "role": "staff"},
        "/settings/name": {"name": "Renamed While Archived"},
        "/settings/dates": dates(START, TARGET + timedelta(days=7)),
        "/settings/archive": {},
    }
    for path, data in refused.items():
        resp = http.client.post(f"/c/{w.client.slug}{path}", data={**data, "csrf_token": token})
        assert resp.status_code == 409, path
        assert "is archived, so nothing in its workspace can be changed" in page_text(resp), path
    htmx = http.client.post(f"/c/{w.client.slug}/tasks/{task_id}/status", data={"status": "done", "csrf_token": token},
                            headers={"HX-Request": "true"})
    assert htmx.status_code == 409 and htmx.headers["HX-Retarget"] == "main.page"
    assert counts(db, w) == (before[0], before[1], before[2] + 1)
    assert plan_rows(db, w)[0][task_id][0] == "todo" and fresh_client(db, w).name == w.name
    settings = page_text(http.get(settings_url(w)))
    assert "Unarchive" in settings and 'action="/c/' + w.client.slug + '/settings/name"' not in settings


def test_unarchive_restores_the_client(http, db, w):
    http.login(w.owner.email)
    assert http.submit(settings_url(w, "/archive"), {}, form_url=settings_url(w)).status_code == 303
    http.logout()
    http.login(w.client_admin.email)  # client people can't unarchive
    assert http.submit(settings_url(w, "/unarchive"), {}, form_url=f"/c/{w.client.slug}/").status_code == 403
    http.logout()
    http.login(w.consultant.email)
    resp = http.submit(settings_url(w, "/unarchive"), {}, form_url=settings_url(w))
    assert resp.status_code == 303
    client = fresh_client(db, w)
    assert client.status == "active" and client.archived_at is None
    assert w.client.name in page_text(http.get("/")) and "Archived (" not in page_text(http.get("/"))
    overview = page_text(http.get(f"/c/{w.client.slug}/"))
    assert "unarchive to change anything" not in overview
    task_id = min(i for i, (status, _, _) in plan_rows(db, w)[0].items() if status == "todo")
    assert http.submit(f"/c/{w.client.slug}/tasks/{task_id}/status", {"status": "in_progress"},
                       form_url=f"/c/{w.client.slug}/tasks/{task_id}").status_code == 302
    assert [who for who, *_ in log_entries(db, w, "client.archived")] == [w.owner.name]
    assert [who for who, *_ in log_entries(db, w, "client.unarchived")] == [w.consultant.name]
    assert http.submit(settings_url(w, "/unarchive"), {}, form_url=settings_url(w)).status_code == 409
