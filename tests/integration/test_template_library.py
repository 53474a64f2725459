"""A consultancy's own templates: copy, edit (every edit a new version), start clients on a copy,
and move a running client to a newer version only when the consultant applies it."""
import io
import re
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

import tenants
import workflows as wf
from app.clients import create_client
from app.library import store
from app.refusal import Refusal
from app.models import Account, AccountTemplate, ActivityEntry, Client, ClientSummary, Document, Stage, Task
from app.workspace import operations as ops
from conftest import unique
from gate_evidence_helpers import meet_gate_evidence

STANDARD = "standard:" + wf.DEFAULT_TEMPLATE
HX = {"HX-Request": "true"}


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def make_copy(http, name=None, source=STANDARD):
    name = name or unique("Our ISO 9001 path")
    resp = http.submit("/templates/copy", {"source": source, "name": name}, form_url=f"/templates/copy?from={source}")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


def versions(db, account, key):
    db.session.expire_all()
    return db.session.scalars(select(AccountTemplate.version).where(
        AccountTemplate.account_id == account.id, AccountTemplate.key == key).order_by(AccountTemplate.version)).all()


def latest(db, account, key) -> wf.Template:
    db.session.expire_all()
    return store.as_template(store.latest_row(account.id, key))


def task_form(task: wf.TaskTemplate, **changes):
    data = {"title": task.title, "guidance": task.guidance, "clauses": ", ".join(task.clauses), "role": task.role,
            "duration_days": str(task.duration_days)}
    if task.required:
        data["required"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def new_task_form(stage, title, **fields):
    data = {"stage": stage, "title": title, "guidance": "", "clauses": "8.2.1", "role": "staff",
            "duration_days": "2", "required": "y", **fields}
    return {f"new-{k}": v for k, v in data.items() if v is not None}


def edit_task(http, key, task_key, **changes):
    task = wf.load_template().find_task(task_key)  # only used to fill the other fields
    url = f"/templates/{key}/tasks/{task_key}"
    return http.submit(url, task_form(task, **changes), form_url=f"{url}/edit")


def add_task(http, template_key, stage, title, **fields):
    return http.submit(f"/templates/{template_key}/tasks", new_task_form(stage, title, **fields),
                       form_url=f"/templates/{template_key}")


def remove_task(http, key, task_key):
    return http.submit(f"/templates/{key}/tasks/{task_key}/remove", {}, form_url=f"/templates/{key}")


# --- list and copy ------------------------------------------------------------------------------

def test_templates_page_lists_the_standard_and_the_accounts_copies(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    page = http.get("/templates/").get_data(as_text=True)
    assert wf.load_template().name in page and "No templates of your own yet" in page
    assert 'href="/templates/"' in http.get("/").get_data(as_text=True)  # in the top navigation
    name = unique("Northwind way")
    key = make_copy(http, name)
    page = http.get("/templates/").get_data(as_text=True)
    assert name in page and f'href="/templates/{key}"' in page and "v1" in page


def test_a_copy_is_version_one_of_the_standard_with_its_origin(http, factory, db):
    w = factory.world()
    http.login(w.owner.email)
    key = make_copy(http, "Harbour Compliance ISO 9001")
    assert key == "harbour-compliance-iso-9001"
    row = store.latest_row(w.account.id, key)
    standard = wf.load_template()
    assert (row.version, row.based_on_key, row.based_on_version, row.created_by_id) == (1, standard.key,
                                                                                       standard.version, w.owner.id)
    copy = store.as_template(row)
    assert [t.key for _, t in copy.iter_tasks()] == [t.key for _, t in standard.iter_tasks()]
    # A copy of the copy starts its own history.
    second = make_copy(http, "Harbour for IT firms", source=f"own:{key}")
    assert store.latest_row(w.account.id, second).based_on_key == key
    # A name whose key is a word the URLs use gets a key of its own.
    assert make_copy(http, "Copy") == "copy-2"
    assert http.get("/templates/copy-2").status_code == 200


def test_two_saves_of_the_same_version_are_a_conflict(factory, db):
    w = factory.world()
    row = store.make_copy(w.account.id, wf.load_template(), unique("Raced"), w.owner)
    db.session.commit()
    template = store.as_template(row)
    store.save_version(w.account.id, wf.update_task(template, "quality_policy", title="First editor"), w.owner)
    with pytest.raises(Refusal) as raised:
        store.save_version(w.account.id, wf.update_task(template, "quality_policy", title="Second editor"), w.owner)
    assert raised.value.status == 409 and "at the same moment" in str(raised.value)
    db.session.commit()
    assert store.as_template(store.latest_row(w.account.id, row.key)).find_task("quality_policy").title == "First editor"


def test_copy_needs_a_new_name(http, factory, db):
    w = factory.world()
    http.login(w.owner.email)
    make_copy(http, "Same name")
    resp = http.submit("/templates/copy", {"source": STANDARD, "name": "  "}, form_url=f"/templates/copy?from={STANDARD}")
    assert resp.status_code == 422 and b"Give your copy a name" in resp.data
    resp = http.submit("/templates/copy", {"source": STANDARD, "name": "same NAME"},
                       form_url=f"/templates/copy?from={STANDARD}")
    assert resp.status_code == 422 and "already have a template called “same NAME”" in resp.get_data(as_text=True)
    assert b'value="same NAME"' in resp.data
    assert db.session.scalar(select(func.count()).select_from(AccountTemplate)
                             .where(AccountTemplate.account_id == w.account.id)) == 1


# --- editing: every change is a new version ---------------------------------------------------------

def test_reword_toggle_add_and_remove_each_save_a_new_version(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)

    resp = edit_task(http, key, "quality_policy", title="Quality policy, signed by the owner",
                     guidance="One page, in plain words.", role="client_admin", duration_days="4")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("stage=system_design#task-quality_policy")
    task = latest(db, w.account, key).find_task("quality_policy")
    assert (task.title, task.guidance, task.role, task.duration_days) == (
        "Quality policy, signed by the owner", "One page, in plain words.", "client_admin", 4)

    resp = http.submit(f"/templates/{key}/tasks/quality_policy/required", {"required": "0"},
                       form_url=f"/templates/{key}")
    assert resp.status_code == 303 and latest(db, w.account, key).find_task("quality_policy").required is False

    resp = add_task(http, key, "implementation", "Onboarding call with each new client", clauses="8.2.1, 8.5.1",
                    guidance="Walk the client through how we work.", required=None)
    assert resp.status_code == 303
    added = latest(db, w.account, key).find_task("onboarding_call_with_each_new_client")
    assert added.clauses == ("8.2.1", "8.5.1") and added.required is False and added.role == "staff"
    assert latest(db, w.account, key).stage_of_task(added.key) == "implementation"

    assert remove_task(http, key, "planning_of_changes").status_code == 303
    assert latest(db, w.account, key).find_task("planning_of_changes") is None

    assert versions(db, w.account, key) == [1, 2, 3, 4, 5]
    # Versions are immutable: the first one still reads as it was copied.
    first = store.as_template(db.session.scalar(select(AccountTemplate).where(
        AccountTemplate.account_id == w.account.id, AccountTemplate.key == key, AccountTemplate.version == 1)))
    assert first.find_task("quality_policy").title == wf.load_template().find_task("quality_policy").title
    assert first.find_task("planning_of_changes") is not None
    page = http.get(f"/templates/{key}?stage=implementation").get_data(as_text=True)
    assert "Version 5" in page and "Onboarding call with each new client" in page and "5 versions" in page
    removed_title = wf.load_template().find_task("planning_of_changes").title
    assert f"Removed</span> task “{removed_title[:30]}" in page


def test_an_edit_that_changes_nothing_saves_no_version(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    resp = edit_task(http, key, "quality_policy")
    assert resp.status_code == 303 and versions(db, w.account, key) == [1]
    assert "is unchanged" in http.get(f"/templates/{key}").get_data(as_text=True)


def test_inline_editing_with_htmx(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    form = http.get(f"/templates/{key}/tasks/quality_policy/edit", headers=HX).get_data(as_text=True)
    assert form.lstrip().startswith('<li class="tmpl-task editing" id="task-quality_policy">') and "<html" not in form
    assert 'name="title"' in form and 'name="csrf_token"' in form
    row = http.get(f"/templates/{key}/tasks/quality_policy", headers=HX).get_data(as_text=True)
    assert row.lstrip().startswith('<li class="tmpl-task" id="task-quality_policy">')
    token = http.csrf(f"/templates/{key}")
    task = wf.load_template().find_task("quality_policy")
    resp = http.client.post(f"/templates/{key}/tasks/quality_policy",
                            data={**task_form(task, title="Policy on one page"), "csrf_token": token},
                            headers={**HX, "X-CSRFToken": token})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and body.lstrip().startswith('<div id="workbench">') and "<html" not in body
    assert "Saved as version 2" in body and "Policy on one page" in body
    # Without JavaScript the edit link opens the same page with the form in place.
    page = http.get(f"/templates/{key}/tasks/quality_objectives/edit").get_data(as_text=True)
    assert "<html" in page and 'class="tmpl-task editing" id="task-quality_objectives"' in page


def test_bad_input_is_422_keeps_what_was_typed_and_saves_nothing(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    resp = edit_task(http, key, "quality_policy", title="  ", guidance="Draft guidance kept", clauses="5.2, 5.9")
    assert resp.status_code == 422 and b"Give the task a title" in resp.data and b"Draft guidance kept" in resp.data
    assert b"has no clause 5.9" in resp.data  # every problem at once
    resp = edit_task(http, key, "quality_policy", clauses="5.2, 99.9")
    assert resp.status_code == 422 and b"has no clause 99.9" in resp.data and b'value="5.2, 99.9"' in resp.data
    resp = edit_task(http, key, "quality_policy", duration_days="a week")
    assert resp.status_code == 422 and b"whole number of days" in resp.data
    resp = add_task(http, key, "implementation", "Second policy", key="quality_policy")
    assert resp.status_code == 422 and "already has a task with the reference “quality_policy”" in resp.get_data(
        as_text=True) and b'value="Second policy"' in resp.data
    resp = add_task(http, key, "implementation", "", guidance="Typed guidance")
    assert resp.status_code == 422 and b"Give the task a title" in resp.data and b"Typed guidance" in resp.data
    resp = add_task(http, key, "implementation", "Odd clause", clauses="4.1 12")
    assert resp.status_code == 422 and b"has no clause 12" in resp.data
    # With htmx the form with its messages replaces itself, not the whole editor.
    token = http.csrf(f"/templates/{key}")
    resp = http.client.post(f"/templates/{key}/tasks", data={**new_task_form("implementation", ""), "csrf_token": token},
                            headers={**HX, "X-CSRFToken": token})
    assert resp.status_code == 422 and resp.headers["HX-Retarget"] == "#add-task"
    assert resp.get_data(as_text=True).lstrip().startswith('<div class="card" id="add-task">')
    assert versions(db, w.account, key) == [1]


def test_an_edit_that_leaves_a_clause_uncovered_warns(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    serving = wf.clause_coverage(latest(db, w.account, key))["6.3"]
    assert len(serving) == 2
    # Untag 6.3 from the first task, then remove the last task serving it.
    first = latest(db, w.account, key).find_task(serving[0])
    resp = edit_task(http, key, serving[0], clauses=", ".join(c for c in first.clauses if c != "6.3"))
    assert resp.status_code == 303
    resp = remove_task(http, key, serving[1])
    page = http.get(resp.headers["Location"]).get_data(as_text=True)
    assert re.search(r"No task serves clauses? [0-9., ]*6\.3", page)
    assert re.search(r"clauses? of ISO 9001:2015 (has|have) no task", page)
    assert "6.3" in wf.uncovered_clauses(latest(db, w.account, key))


# --- access -----------------------------------------------------------------------------------------

LIBRARY_ROUTES = [
    ("GET", "/templates/", None),
    ("GET", "/templates/copy", None),
    ("POST", "/templates/copy", {"name": "Stolen copy"}),
    ("GET", "/templates/<key>", None),
    ("GET", "/templates/<key>/tasks/<task_key>", None),
    ("GET", "/templates/<key>/tasks/<task_key>/edit", None),
    ("POST", "/templates/<key>/tasks", new_task_form("implementation", "Sneaky task")),
    ("POST", "/templates/<key>/tasks/<task_key>", task_form(wf.load_template().find_task("quality_policy"),
                                                            title="Reworded by a stranger")),
    ("POST", "/templates/<key>/tasks/<task_key>/required", {"required": "0"}),
    ("POST", "/templates/<key>/tasks/<task_key>/remove", {}),
]


def test_every_library_route_is_listed(app):
    listed = {(m, rule) for m, rule, _ in LIBRARY_ROUTES}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/templates"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                assert (method, rule.rule) in listed, f"{method} {rule.rule} has no access test entry"


@pytest.fixture(scope="module")
def library_worlds(app):
    from app.extensions import db as _db
    from conftest import Factory

    with app.app_context():
        factory = Factory(_db)
        a, b = factory.world(), factory.world()
        source = wf.load_template()
        user = _db.session.get(type(a.owner), a.owner.id)
        row = store.make_copy(a.account.id, source, unique("A's own path"), user)
        _db.session.commit()
        key = row.key
        for obj in [*vars(a).values(), *vars(b).values()]:
            _db.session.refresh(obj)
        _db.session.expunge_all()
    return a, b, key


def _library_url(rule, key, method):
    url = rule.replace("<key>", key).replace("<task_key>", "quality_policy")
    if url == "/templates/copy" and method == "GET":
        url += f"?from=own:{key}"
    return url


@pytest.mark.parametrize("method,rule,data", LIBRARY_ROUTES)
def test_other_consultancies_and_client_people_get_404(http, db, library_worlds, method, rule, data):
    a, b, key = library_worlds
    url = _library_url(rule, key, method)
    if rule == "/templates/copy" and method == "POST":
        data = {**data, "source": f"own:{key}"}
    outsiders = {"owner of another consultancy": b.owner, "consultant of another consultancy": b.consultant,
                 "client admin": a.client_admin, "client staff": a.staff, "auditor": a.auditor}
    for who, user in outsiders.items():
        if rule == "/templates/" and user in (b.owner, b.consultant):
            continue  # their own library, which is theirs to see
        http.login(user.email)
        resp = http.get(url) if method == "GET" else http.client.post(url, data={**data, "csrf_token": http.csrf("/")})
        assert resp.status_code == 404, f"{who}: {method} {url} -> {resp.status_code}"
        assert key not in resp.get_data(as_text=True)
        http.logout()
    assert versions(db, a.account, key) == [1]
    assert db.session.scalar(select(func.count()).select_from(AccountTemplate)
                             .where(AccountTemplate.account_id == b.account.id)) == 0


def test_the_other_consultancys_library_does_not_list_the_copy(http, library_worlds):
    a, b, key = library_worlds
    http.login(b.owner.email)
    page = http.get("/templates/").get_data(as_text=True)
    assert key not in page and "No templates of your own yet" in page


# --- starting clients on a copy -----------------------------------------------------------------------

def test_new_client_form_offers_the_copies_and_plans_with_the_dates(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http, "Our tested path")
    assert add_task(http, key, "implementation", "Monthly quality huddle", clauses="9.1").status_code == 303
    form = http.get("/clients/new").get_data(as_text=True)
    today = date.today()
    assert f'value="{today.isoformat()}"' in form and f'value="{(today + timedelta(days=180)).isoformat()}"' in form
    assert f'value="own:{key}"' in form and "Our tested path (your copy, v2)" in form
    name = unique("Copy Client Ltd")
    start, target = date(2026, 2, 2), date(2026, 9, 30)
    resp = http.submit("/clients/new", {"name": name, "slug": "", "template": f"own:{key}",
                                        "start_on": start.isoformat(), "target_on": target.isoformat()})
    assert resp.status_code == 302
    client = db.session.scalar(select(Client).where(Client.name == name))
    assert (client.template_key, client.template_version) == (key, 2)
    with inside(db, client):
        settings = ops.settings()
        assert (settings.template_key, settings.template_version) == (key, 2)
        assert settings.template_snapshot == latest(db, w.account, key).to_dict()
        assert (settings.start_on, settings.target_on) == (start, target)
        huddle = db.session.scalar(select(Task).where(Task.key == "monthly_quality_huddle"))
        assert huddle.stage == "implementation" and start <= huddle.due_on <= target


def test_new_client_form_date_errors_keep_the_input(http, factory, db):
    w = factory.world()
    http.login(w.owner.email)
    name = unique("Too Soon Ltd")
    resp = http.submit("/clients/new", {"name": name, "slug": "", "template": STANDARD,
                                        "start_on": "2026-03-01", "target_on": "2026-03-20"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and f"allow at least {wf.MIN_PLAN_DAYS} days" in body and name in body
    assert 'value="2026-03-20"' in body
    resp = http.submit("/clients/new", {"name": name, "slug": "", "template": "own:not-ours",
                                        "start_on": "2026-03-01", "target_on": "2026-09-01"})
    assert resp.status_code == 422 and b"Choose one of the templates" in resp.data
    assert db.session.scalar(select(Client.id).where(Client.name == name)) is None


# --- running clients and newer versions -----------------------------------------------------------------

def _pass_first_stage(db, client):
    actor = ops.Actor(None, "setup")
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)):
            ops.set_task_status(task, "done", None, actor)
        for doc in db.session.scalars(select(Document).where(Document.stage == "initial_audit")):
            ops.set_document_status(doc, "approved", actor, role="top_management")
        meet_gate_evidence("initial_audit")
        ops.approve_gate("initial_audit", "", actor)
        ops.save(client)


def _client_on_copy(db, w, key):
    account = db.session.get(Account, w.account.id)
    client = create_client(account, unique("Pinned Co"), consultants=[w.consultant],
                           template=latest(db, w.account, key))
    w.client = client
    return client


def _tasks(db, client):
    with inside(db, client):
        return {t.key: (t.stage, t.title, t.status, t.due_on, t.required) for t in db.session.scalars(select(Task))}


def test_editing_a_copy_does_not_change_running_clients(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    client = _client_on_copy(db, w, key)
    before = _tasks(db, client)
    assert edit_task(http, key, "quality_policy", title="Reworded later").status_code == 303
    assert add_task(http, key, "implementation", "Added later").status_code == 303
    assert _tasks(db, client) == before
    db.session.expire_all()
    assert db.session.get(Client, client.id).template_version == 1
    page = http.get(f"/c/{client.slug}/plan").get_data(as_text=True)
    assert "Version 3 available" in page and "Apply version 3" in page
    assert "Added later" in page and "Reworded later" in page


def test_standard_template_clients_see_no_update(http, factory):
    w = factory.world()
    http.login(w.owner.email)
    resp = http.get(f"/c/{w.client.slug}/plan")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Timeline: planned vs actual" in page  # the plan itself, not an error page
    assert "available" not in page and "Apply version" not in page


def test_applying_a_newer_version_keeps_the_work_done(http, factory, db, app):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    client = _client_on_copy(db, w, key)
    _pass_first_stage(db, client)  # the client is now in system design
    actor = ops.Actor(w.staff.id, "Sam Staff")
    with inside(db, client):
        by_key = {t.key: t for t in db.session.scalars(select(Task))}
        ops.set_task_status(by_key["quality_policy"], "in_progress", None, actor)
        ops.set_task_status(by_key["process_map"], "done", None, actor)
        ops.add_comment(by_key["context_and_interested_parties"], "Started a list of interested parties", actor)
        ops.add_attachment(by_key["roles_and_responsibilities"],
                           FileStorage(io.BytesIO(b"org chart"), "org-chart.txt", content_type="text/plain"),
                           actor, app.config["UPLOAD_ROOT"], client.schema_name, 10_000)
        ops.save(client)
        window = {s.key: (s.planned_start.date(), s.planned_end.date()) for s in db.session.scalars(select(Stage))}

    assert add_task(http, key, "initial_audit", "Site walk-through").status_code == 303
    assert add_task(http, key, "system_design", "Brief the team on the process map").status_code == 303
    assert add_task(http, key, "implementation", "Monthly quality huddle").status_code == 303
    assert edit_task(http, key, "quality_policy", title="Quality policy on one page").status_code == 303
    assert edit_task(http, key, "process_map", title="Process map, redrawn").status_code == 303
    assert edit_task(http, key, "risk_register", title="Risk register (top ten)", required=None).status_code == 303
    for gone in ("qms_scope", "context_and_interested_parties", "roles_and_responsibilities"):
        assert remove_task(http, key, gone).status_code == 303
    newest = versions(db, w.account, key)[-1]
    assert newest == 10

    plan_page = http.get(f"/c/{client.slug}/plan").get_data(as_text=True)
    assert f"Version {newest} available" in plan_page
    kept_title = wf.load_template().find_task("context_and_interested_parties").title
    assert f"Kept: “{kept_title}” (has comments)" in plan_page
    assert "Not added: “Site walk-through”" in plan_page
    with inside(db, client):
        open_before = db.session.get(ClientSummary, client.id).open_tasks
        activity_before = db.session.scalar(select(func.count()).select_from(ActivityEntry))

    resp = http.submit(f"/c/{client.slug}/plan/apply-template", {"version": str(newest)},
                       form_url=f"/c/{client.slug}/plan")
    assert resp.status_code == 303
    assert f"Version {newest} applied" in http.get(f"/c/{client.slug}/plan").get_data(as_text=True)

    tasks = _tasks(db, client)
    # Added to the current and upcoming stages, due inside their stage's window and not in the past.
    assert "site_walk_through" not in tasks
    for new_key, stage in (("brief_the_team_on_the_process_map", "system_design"),
                           ("monthly_quality_huddle", "implementation")):
        t_stage, _, status, due, _ = tasks[new_key]
        assert (t_stage, status) == (stage, "todo")
        assert window[stage][0] <= due <= window[stage][1] and due >= min(date.today(), window[stage][1])
    # Open tasks reworded, finished ones keep their wording; only changed fields are copied.
    assert tasks["quality_policy"][1:3] == ("Quality policy on one page", "in_progress")
    assert tasks["process_map"][1:3] == (wf.load_template().find_task("process_map").title, "done")
    assert tasks["risk_register"][1] == "Risk register (top ten)" and tasks["risk_register"][4] is False
    # Untouched tasks go; those with comments or evidence stay.
    assert "qms_scope" not in tasks
    assert "context_and_interested_parties" in tasks and "roles_and_responsibilities" in tasks

    db.session.expire_all()
    assert db.session.get(Client, client.id).template_version == newest
    with inside(db, client):
        settings = ops.settings()
        assert settings.template_version == newest
        assert settings.template_snapshot == latest(db, w.account, key).to_dict()
        entries = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "plan.template_applied")).all()
        assert len(entries) == 1 and db.session.scalar(select(func.count()).select_from(ActivityEntry)) \
            == activity_before + 1
        entry = entries[0]
        assert entry.before["template_version"] == 1 and entry.after["template_version"] == newest
        assert entry.after["tasks_added"] == 2 and entry.after["tasks_removed"] == 1
        assert entry.after["tasks"]["skipped"] == ["site_walk_through"]
        assert entry.after["tasks"]["kept"] == {"context_and_interested_parties": "has comments",
                                                "roles_and_responsibilities": "has evidence"}
        assert entry.after["tasks"]["unchanged"] == {"process_map": "done"}
        assert "Site walk-through" in entry.summary and "has evidence" in entry.summary
        assert entry.actor_id == w.consultant.id
        positions = [t.key for t in db.session.scalars(select(Task).where(Task.stage == "system_design")
                                                       .order_by(Task.position))]
        assert positions.index("brief_the_team_on_the_process_map") < positions.index("context_and_interested_parties")
        # The summary row moved with the plan: two tasks added, one removed.
        assert db.session.get(ClientSummary, client.id).open_tasks == open_before + 1
    plan_after = http.get(f"/c/{client.slug}/plan")
    assert plan_after.status_code == 200 and b"Timeline: planned vs actual" in plan_after.data
    assert b"Apply version" not in plan_after.data


def test_apply_refuses_a_stale_or_missing_version_and_changes_nothing(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    client = _client_on_copy(db, w, key)
    plan = f"/c/{client.slug}/plan"
    resp = http.submit(f"{plan}/apply-template", {"version": "2"}, form_url=plan)
    assert resp.status_code == 409 and b"no newer version" in resp.data
    assert add_task(http, key, "implementation", "First addition").status_code == 303
    assert add_task(http, key, "implementation", "Second addition").status_code == 303
    resp = http.submit(f"{plan}/apply-template", {"version": "2"}, form_url=plan)
    assert resp.status_code == 409 and b"Version 3 was saved after you opened this page" in resp.data
    assert "first_addition" not in _tasks(db, client)
    db.session.expire_all()
    assert db.session.get(Client, client.id).template_version == 1


def test_apply_is_for_consultants_only(http, factory, db):
    w = factory.world()
    http.login(w.consultant.email)
    key = make_copy(http)
    client = _client_on_copy(db, w, key)
    assert add_task(http, key, "implementation", "Consultants decide").status_code == 303
    http.logout()
    plan = f"/c/{client.slug}/plan"
    from app.models import ClientMember

    staff = factory.user("Staff")
    db.session.add(ClientMember(client_id=client.id, user_id=staff.id, role="client_admin"))
    db.session.commit()
    http.login(staff.email)
    page = http.get(plan).get_data(as_text=True)
    assert "Version 2 available" in page and "Apply version 2" not in page
    assert http.submit(f"{plan}/apply-template", {"version": "2"}, form_url=plan).status_code == 403
    http.logout()
    other = factory.world()
    http.login(other.owner.email)
    resp = http.client.post(f"{plan}/apply-template", data={"version": "2", "csrf_token": http.csrf("/")})
    assert resp.status_code == 404
    assert "consultants_decide" not in _tasks(db, client)
