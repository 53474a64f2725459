"""Events told at once: gate review requested, gate approved or sent back, task assigned — in the app and by
mail (real Redis queue, real RQ worker in-process, real SMTP on loopback), recorded in the change's own
transaction and sent after its commit; the notifications page; preferences; the signed one-click unsubscribe."""
from __future__ import annotations

import re
from email.header import decode_header, make_header

from sqlalchemy import select

import tenants
from workflows import reminders as rules
from app.models import Notification, NotificationPreference, RemindersSent, Task
from app.notify.outbox import unsubscribe_token
from app.workspace import operations as ops
from test_my_work import complete

SETUP = ops.Actor(None, "setup")


def notices(db, user_id) -> list[tuple[str, str]]:
    db.session.rollback()
    return db.session.execute(select(Notification.kind, Notification.message).where(Notification.user_id == user_id)
                              .order_by(Notification.id)).all()


def header(message, name: str) -> str | None:
    """A header unfolded (a long one is folded over lines in the mail)."""
    value = message[name]
    if value is None:
        return None
    return str(make_header(decode_header(re.sub(r"\r?\n[ \t]+", " ", str(value)).strip())))


def subject(message) -> str:
    return header(message, "Subject")


def parts(message) -> tuple[str, str]:
    found = {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
             if not part.is_multipart()}
    assert message.get_content_type() == "multipart/alternative" and set(found) == {"text/plain", "text/html"}
    return found["text/plain"], found["text/html"]


def request_gate(http, db, w):
    complete(db, w.client, "initial_audit")
    http.login(w.client_admin.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/initial_audit/request", {"note": "All in"},
                       form_url=f"/c/{w.client.slug}/gates")
    assert resp.status_code == 303
    http.logout()


def test_a_gate_review_request_tells_the_clients_consultants_in_the_app_and_by_mail(http, factory, db, mailbox, app):
    w = factory.world()
    request_gate(http, db, w)
    line = f"{w.client_admin.name} asked you to review the Initial audit (gap analysis) gate of {w.client.name}."
    assert notices(db, w.consultant.id) == [("gate_review_requested", line)]
    assert notices(db, w.client_admin.id) == []  # not told of what they did themselves
    assert notices(db, w.other_consultant.id) == [] and notices(db, w.owner.id) == []  # not assigned

    mail = mailbox.last_to(w.consultant.email)
    assert subject(mail) == f"{w.client.name}: gate review requested for Initial audit (gap analysis)"
    plain, html = parts(mail)
    link = f"{app.config['BASE_URL']}/c/{w.client.slug}/gates#gate-initial_audit"
    assert line in plain and link in plain
    assert f'href="{link}"' in html and "ISOpath" in html
    # Not a mandatory kind: a signed one-click unsubscribe (RFC 8058) in the headers and the body.
    unsubscribe = re.match(r"<(.+)>", header(mail, "List-Unsubscribe")).group(1)
    assert header(mail, "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert unsubscribe.startswith(f"{app.config['BASE_URL']}/unsubscribe/") and unsubscribe in plain
    assert len(mailbox.to(w.consultant.email)) == 1
    db.session.rollback()
    row = db.session.scalar(select(RemindersSent).where(RemindersSent.user_id == w.consultant.id))
    assert row.kind == "gate_review_requested" and row.sent_at is not None and row.attempts == 1


def test_a_gate_sent_back_tells_the_requester_and_client_admins_with_the_reasons(http, factory, db, mailbox):
    w = factory.world()
    request_gate(http, db, w)
    second_admin = factory.member(w.client, "client_admin")
    mailbox.deliver()  # what the earlier steps queued goes out first
    mailbox.messages.clear()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/initial_audit/send-back", {"reasons": "Scope statement missing"},
                       form_url=f"/c/{w.client.slug}/gates")
    assert resp.status_code == 303
    line = (f"{w.consultant.name} sent the Initial audit (gap analysis) gate of {w.client.name} back: Scope statement missing")
    assert notices(db, w.client_admin.id) == [("gate_sent_back", line)]
    assert notices(db, second_admin.id) == [("gate_sent_back", line)]
    assert notices(db, w.staff.id) == []
    for person in (w.client_admin, second_admin):
        mail = mailbox.last_to(person.email)
        assert subject(mail) == f"{w.client.name}: the Initial audit (gap analysis) gate was sent back"
        assert "Scope statement missing" in parts(mail)[0]
        assert header(mail, "List-Unsubscribe") is None  # a gate decision is mandatory: no way to turn it off
    assert mailbox.to(w.consultant.email) == []


def test_a_gate_approval_tells_the_requester_even_if_they_turned_it_off(http, factory, db, mailbox):
    w = factory.world()
    request_gate(http, db, w)
    db.session.add(NotificationPreference(user_id=w.client_admin.id, kind="gate_approved", delivery="off"))
    db.session.commit()
    mailbox.deliver()  # what the earlier steps queued goes out first
    mailbox.messages.clear()
    http.login(w.consultant.email)
    resp = http.submit(f"/c/{w.client.slug}/gates/initial_audit/approve", {"comment": ""},
                       form_url=f"/c/{w.client.slug}/gates")
    assert resp.status_code == 303
    assert [k for k, _ in notices(db, w.client_admin.id)] == ["gate_approved"]
    assert subject(mailbox.last_to(w.client_admin.email)) == f"{w.client.name}: the Initial audit (gap analysis) gate is approved"


def test_a_task_assigned_tells_the_assignee_per_their_preference(http, factory, db, mailbox):
    w = factory.world()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        first, second = db.session.scalars(select(Task.id).where(Task.stage == "initial_audit")
                                           .order_by(Task.position).limit(2)).all()
        title = db.session.get(Task, first).title
    db.session.rollback()
    http.login(w.consultant.email)
    form = f"/c/{w.client.slug}/tasks/{first}"
    assert http.submit(f"{form}/assignee", {"assignee_id": str(w.staff.id)}, form_url=form).status_code == 302
    assert notices(db, w.staff.id) == [("task_assigned", f"{w.consultant.name} assigned you the task “{title}” "
                                                         f"at {w.client.name}.")]
    mail = mailbox.last_to(w.staff.email)
    assert subject(mail) == f"{w.client.name}: task assigned to you: {title}"
    assert f"/c/{w.client.slug}/tasks/{first}" in parts(mail)[0]

    db.session.add(NotificationPreference(user_id=w.staff.id, kind="task_assigned", delivery="off"))
    db.session.commit()
    mailbox.deliver()  # what the earlier steps queued goes out first
    mailbox.messages.clear()
    form = f"/c/{w.client.slug}/tasks/{second}"
    assert http.submit(f"{form}/assignee", {"assignee_id": str(w.staff.id)}, form_url=form).status_code == 302
    assert len(notices(db, w.staff.id)) == 2  # still in the app
    assert mailbox.to(w.staff.email) == []  # but no mail


def test_a_rolled_back_change_records_and_sends_nothing(factory, db, mailbox):
    w = factory.world()
    complete(db, w.client, "initial_audit")
    with tenants.tenant_scope(db.session, w.client.schema_name):
        ops.request_gate_review("initial_audit", "", ops.Actor(w.client_admin.id, w.client_admin.name))
        db.session.rollback()
    with tenants.tenant_scope(db.session, w.client.schema_name):
        task = db.session.scalars(select(Task).where(Task.stage == "initial_audit")).first()
        ops.add_comment(task, "An unrelated change, saved afterwards", SETUP)
        ops.save(w.client)
    assert notices(db, w.consultant.id) == []
    assert db.session.scalars(select(RemindersSent).where(RemindersSent.client_id == w.client.id)).all() == []
    assert mailbox.to(w.consultant.email) == []


def _bell(http) -> int:
    body = http.get("/my-work").get_data(as_text=True)
    link = re.search(r'<a href="/notifications"[^>]*>Notifications(.*?)</a>', body, re.S)
    assert link, "no Notifications link in the top bar"
    m = re.search(r'<span class="nav-count">(\d+)<', link.group(1))
    return int(m.group(1)) if m else 0


def test_the_notifications_page_counts_unread_and_marks_read(http, factory, db, mailbox):
    w = factory.world()
    request_gate(http, db, w)
    with tenants.tenant_scope(db.session, w.client.schema_name):
        task_id = db.session.scalars(select(Task.id).where(Task.stage == "initial_audit")).first()
        ops.assign_task(db.session.get(Task, task_id), db.session.merge(w.consultant), SETUP)
        ops.save(w.client)
    http.login(w.consultant.email)
    assert _bell(http) == 2
    page = http.get("/notifications").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'data-id="(\d+)"', page)]
    assert len(ids) == 2 and page.count(">New<") == 2
    resp = http.submit(f"/notifications/{ids[0]}/read", {"open": "1"}, form_url="/notifications")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/c/{w.client.slug}/tasks/{task_id}"
    assert _bell(http) == 1
    assert http.submit("/notifications/read-all", {}, form_url="/notifications").status_code == 303
    assert _bell(http) == 0
    assert "All read" in http.get("/notifications").get_data(as_text=True)
    http.logout()
    http.login(w.other_consultant.email)  # someone else's notification: not found, and stays as it is
    assert http.submit(f"/notifications/{ids[1]}/read", {}, form_url="/notifications").status_code == 404


def test_unsubscribe_works_without_login_only_for_its_user_and_kind(http, factory, db, app):
    w = factory.world()
    with app.test_request_context():
        token = unsubscribe_token(w.staff.id, "task_assigned")
        mandatory = unsubscribe_token(w.staff.id, "gate_sent_back")
    confirm = http.get(f"/unsubscribe/{token}")
    assert confirm.status_code == 200 and "Stop these mails?" in confirm.get_data(as_text=True)
    assert db.session.scalar(select(NotificationPreference.delivery).where(
        NotificationPreference.user_id == w.staff.id)) is None  # a GET (a link checker) changes nothing
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert http.client.post(f"/unsubscribe/{tampered}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    assert http.client.post(f"/unsubscribe/{mandatory}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    # One-click (RFC 8058): a POST with no session and no CSRF token, the signed token is the proof.
    resp = http.client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert resp.status_code == 200 and "unsubscribed" in resp.get_data(as_text=True)
    db.session.rollback()
    assert db.session.execute(select(NotificationPreference.kind, NotificationPreference.delivery).where(
        NotificationPreference.user_id == w.staff.id)).all() == [("task_assigned", "off")]


def test_preferences_page_saves_and_refuses_turning_off_a_mandatory_kind(http, factory, db):
    w = factory.world()
    http.login(w.staff.email)
    page = http.get("/settings/notifications")
    assert page.status_code == 200
    base = {k.key: "immediately" for k in rules.PREFERENCE_KINDS}
    bad = http.submit("/settings/notifications", {**base, "gate_sent_back": "off", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "can&#39;t be turned off" in body or "can't be turned off" in body
    assert "Choose a time zone from the list." in body
    ok = http.submit("/settings/notifications", {**base, "task_due": "off", "time_zone": "Europe/Vienna"})
    assert ok.status_code == 303
    db.session.rollback()
    prefs = dict(db.session.execute(select(NotificationPreference.kind, NotificationPreference.delivery).where(
        NotificationPreference.user_id == w.staff.id)).all())
    assert prefs["task_due"] == "off" and prefs["gate_sent_back"] == "immediately" and len(prefs) == len(rules.PREFERENCE_KINDS)
    db.session.refresh(w.staff)
    assert w.staff.time_zone == "Europe/Vienna"

