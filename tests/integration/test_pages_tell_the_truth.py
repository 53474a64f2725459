"""Pages that tell the truth (issue #15), through HTTP: history-safe headers and filters rebuilt from the
URL, uploads with one error slot and a way back, search in the words people type, the activity log in names,
and the password rules shown before anyone fails them."""
import io
import re

from sqlalchemy import select

from app.accounts import invite
from app.models import Task
from app.security import PASSWORD_RULES, make_reset_token
from conftest import unique
from test_workspace import first_task, inside

HX = {"HX-Request": "true"}


def _titles(resp) -> list[str]:
    return re.findall(r'<td><a href="[^"]+/tasks/\d+">([^<]+)</a>', resp.get_data(as_text=True))


# --- Back and Forward ---------------------------------------------------------------------------

def test_workspace_pages_are_never_stored_and_vary_on_htmx(http, factory):
    w = factory.world()
    http.login(w.staff.email)
    for url in (f"/c/{w.client.slug}/", f"/c/{w.client.slug}/tasks", f"/c/{w.client.slug}/activity"):
        for headers in ({}, HX):
            resp = http.get(url, headers=headers)
            assert resp.status_code == 200
            assert resp.headers["Cache-Control"] == "no-store"
            assert "HX-Request" in resp.headers["Vary"]
    page = http.get(f"/c/{w.client.slug}/tasks").get_data(as_text=True)
    # History entries are fetched again, never restored from htmx's snapshot of an old page.
    assert '"historyCacheSize": 0' in page and '"refreshOnHistoryMiss": true' in page


def test_the_task_filters_are_rebuilt_from_the_address(http, factory):
    w = factory.world()
    http.login(w.staff.email)
    page = http.get(f"/c/{w.client.slug}/tasks?stage=implementation&status=todo&q=policy").get_data(as_text=True)
    assert '<option value="implementation" selected>' in page
    assert '<option value="todo" selected>' in page
    assert 'name="q" value="policy"' in page
    assert 'autocomplete="off"' in page  # the browser may not put back values the list was not built from
    plain = http.get(f"/c/{w.client.slug}/tasks").get_data(as_text=True)
    assert " selected>" not in plain.split('id="task-filters"')[1].split("</form>")[0]


# --- uploads --------------------------------------------------------------------------------------

def _upload(http, url, content: bytes, name: str, htmx=False):
    token = http.csrf(url)
    headers = {**HX, "X-CSRFToken": token} if htmx else {}
    return http.client.post(f"{url}/attachments", data={"file": (io.BytesIO(content), name), "csrf_token": token},
                            headers=headers, content_type="multipart/form-data")


def test_uploads_have_one_error_slot_a_size_the_browser_checks_and_a_way_back(http, factory, db, app):
    w = factory.world()
    task_id, _ = first_task(db, w.client)
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    page = http.get(url).get_data(as_text=True)
    limit = app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    assert f'data-max-bytes="{limit}"' in page and 'data-error-target="evidence-error"' in page
    assert page.count('id="evidence-error"') == 1 and "upload-error" not in page

    # A refused file comes back in that slot, and only there.
    refused = _upload(http, url, b"MZ\x90\x00", "setup.exe", htmx=True).get_data(as_text=True)
    assert refused.count('role="alert"') == 1
    assert re.search(r'id="evidence-error"[^>]*>[^<]*setup\.exe', refused)

    # Too big for the request: htmx puts the message into the same slot, replacing what was there ...
    too_big = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1024)
    resp = _upload(http, url, too_big, "huge.pdf", htmx=True)
    assert resp.status_code == 413
    assert resp.headers["HX-Retarget"] == "#evidence-error" and resp.headers["HX-Reswap"] == "innerHTML"
    # ... and without JavaScript the error page leads back to the task.
    resp = _upload(http, url, too_big, "huge.pdf")
    assert resp.status_code == 413
    assert f'href="{url}">Back to the task</a>' in resp.get_data(as_text=True)


# --- search ---------------------------------------------------------------------------------------

def test_search_finds_the_standards_words_for_what_people_type(http, factory, db):
    w = factory.world()
    http.login(w.staff.email)
    tasks_url = f"/c/{w.client.slug}/tasks"
    supplier = _titles(http.get(f"{tasks_url}?q=supplier"))
    assert "Evaluate external providers and keep the approved list" in supplier
    assert "Define how external providers are selected and controlled" in supplier
    both = _titles(http.get(f"{tasks_url}?q=supplier+evaluation"))  # every word, each in any of its synonyms
    assert "Evaluate external providers and keep the approved list" in both and set(both) < set(supplier)
    assert "Run a customer satisfaction survey" in _titles(http.get(f"{tasks_url}?q=customer+complaint"))
    # htmx partials search the same way
    assert "Evaluate external providers and keep the approved list" in _titles(http.get(f"{tasks_url}?q=Suppliers", headers=HX))


def test_percent_and_underscore_are_literal_in_search(http, factory, db):
    w = factory.world()
    with inside(db, w.client):
        tasks = db.session.scalars(select(Task).order_by(Task.position)).all()
        tasks[3].title = "Deliver 100% on time"
        tasks[4].title = "Name files as client_project"
        tasks[5].title = "Name files as clientXproject"  # what a `_` wildcard would also match
        db.session.commit()
        with_underscore = [t.title for t in tasks if "_" in t.title or "_" in t.guidance]
    http.login(w.staff.email)
    url = f"/c/{w.client.slug}/tasks"
    assert _titles(http.get(f"{url}?q=100%25")) == ["Deliver 100% on time"]
    assert _titles(http.get(f"{url}?q=%25")) == ["Deliver 100% on time"]
    assert _titles(http.get(f"{url}?q=client_project")) == ["Name files as client_project"]
    assert _titles(http.get(f"{url}?q=_")) == with_underscore and len(with_underscore) < len(tasks)
    assert _titles(http.get(f"{url}?q=\\")) == []
    # the activity log's name filter too
    resp = http.get(f"/c/{w.client.slug}/activity?who=%25")
    assert resp.status_code == 200 and "No activity matches." in resp.get_data(as_text=True)


# --- the activity log -----------------------------------------------------------------------------

def test_the_activity_log_shows_names_and_labels_not_ids(http, factory, db):
    w = factory.world()
    task_id, title = first_task(db, w.client)
    http.login(w.consultant.email)
    url = f"/c/{w.client.slug}/tasks/{task_id}"
    assert http.submit(f"{url}/assignee", {"assignee_id": str(w.staff.id)}, form_url=url).status_code == 302
    assert http.submit(f"{url}/status", {"status": "in_progress"}, form_url=url).status_code == 302
    assert http.submit(f"{url}/comments", {"body": "Started on it"}, form_url=url).status_code == 302
    assert _upload(http, url, b"%PDF-1.4 evidence\n" * 3, "evidence.pdf").status_code == 302

    page = http.get(f"/c/{w.client.slug}/activity").get_data(as_text=True)
    changes = " ".join(re.findall(r'<td class="small muted">(.*?)</td>', page, re.S))
    assert f"assignee: — → {w.staff.name}" in changes
    assert "status: To do → In progress" in changes
    assert "size: — → 54 bytes" in changes
    for internal in ("assignee id", "comment id", "attachment id", "sha256", "todo", "in_progress",
                     str(w.staff.id) + "<"):
        assert internal not in changes, internal


# --- password rules -------------------------------------------------------------------------------

def _shows_rules(page: str, field_id: str) -> bool:
    return (PASSWORD_RULES in page and f'id="{field_id}-hint"' in page
            and re.search(rf'<input[^>]*aria-describedby="{field_id}-hint"[^>]*id="{field_id}"|'
                          rf'<input[^>]*id="{field_id}"[^>]*aria-describedby="{field_id}-hint"', page) is not None)


def test_password_rules_are_shown_before_a_failed_submit(http, factory, db, app):
    assert "10 characters" in PASSWORD_RULES
    assert _shows_rules(http.get("/signup").get_data(as_text=True), "password")

    user = factory.user("Rita Reset")
    assert _shows_rules(http.get(f"/reset/{make_reset_token(user)}").get_data(as_text=True), "password")

    w = factory.world()
    issued = invite(w.owner, w.account, f"{unique('invitee')}@tests.example", "staff", client=w.client)
    db.session.commit()
    assert _shows_rules(http.get(f"/invite/{issued.token}").get_data(as_text=True), "password")

    # and after a failed submit the rule stays, with the error read out after it
    resp = http.submit("/signup", {"consultancy": "Acme", "name": "A", "email": "a@tests.example", "password": "short"})
    page = resp.get_data(as_text=True)
    assert PASSWORD_RULES in page and 'aria-describedby="password-hint password-error"' in page


def test_logged_out_pages_have_a_main_landmark(http):
    for url in ("/login", "/signup", "/forgot"):
        assert "<main" in http.get(url).get_data(as_text=True), url
