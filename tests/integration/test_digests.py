"""Preferences "in my daily digest" and the client admins' weekly digest, on a controlled clock with real
Redis, a real RQ worker (in-process) and real SMTP on loopback: held notices go out once, in the next
digest (the morning brief for consultants), never at once; a weekly digest once per week, never empty."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

import tenants
from app.clock import frozen_at
from app.models import Client, ClientKpiLatest, ClientSummary, Notification, NotificationPreference, RemindersSent
from app.models import Task, User
from app.notify.sweep import sweep_reminders
from app.workspace import operations as ops
from conftest import deliver_queued_mail
from test_my_work import complete
from test_notifications import parts, subject

FRI = datetime(2026, 12, 11, 10, 0, tzinfo=timezone.utc)
MON = datetime(2026, 12, 14, 0, 0, tzinfo=timezone.utc)  # ISO week 2026-W51
SETUP = ops.Actor(None, "setup")


def prefer(db, user, **kinds):
    for kind_key, how in kinds.items():
        db.session.add(NotificationPreference(user_id=user.id, kind=kind_key, delivery=how))
    db.session.commit()


def sweep_and_send(app, at):
    with frozen_at(at):
        result = sweep_reminders()
        deliver_queued_mail(app)
    return result


def first_tasks(db, w, n):
    with tenants.tenant_scope(db.session, w.client.schema_name):
        return db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)
                                  .limit(n)).all()


def plan(db, w, at, due_in: dict, assignee, actor=SETUP):
    """Due dates `due_in` (days from `at`'s date) on the first tasks, assigned to `assignee`, by `actor`."""
    with frozen_at(at), tenants.tenant_scope(db.session, w.client.schema_name):
        tasks = db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)
                                   .limit(len(due_in))).all()
        ids = {}
        for task, (name, days) in zip(tasks, due_in.items()):
            if days is not None:
                ops.set_due_date(task, at.date() + timedelta(days=days), SETUP)
            ops.assign_task(task, db.session.get(User, assignee.id), actor)
            ids[name] = (task.id, task.title)
        ops.save(w.client)
    return ids


def pending(db, user_id) -> list[str]:
    db.session.rollback()
    return list(db.session.scalars(select(Notification.kind).where(Notification.user_id == user_id,
                                                                   Notification.digest_pending.is_(True))))


def test_an_event_taken_in_the_digest_is_mailed_once_in_the_next_daily_digest(factory, db, mailbox, app):
    w = factory.world()
    prefer(db, w.staff, task_assigned="digest", task_overdue="off", task_due="off")  # the template's dates
    ids = plan(db, w, FRI, {"a": None}, w.staff, actor=ops.Actor(w.consultant.id, w.consultant.name))
    mailbox.deliver()
    assert mailbox.to(w.staff.email) == []  # not at once
    assert pending(db, w.staff.id) == ["task_assigned"]  # but in the app, waiting for the digest
    sweep_and_send(app, FRI + timedelta(hours=2))  # after Friday's digest moment: it waits for the next one
    sweep_and_send(app, FRI + timedelta(days=1))  # Saturday: no digest
    sweep_and_send(app, MON + timedelta(hours=6, minutes=59))  # Monday before 07:00: not yet
    assert [subject(m) for m in mailbox.to(w.staff.email)] == []
    for minutes in (8 * 60 + 45, 9 * 60 + 30):  # Monday 08:45 (past the window) and a later sweep
        sweep_and_send(app, MON + timedelta(minutes=minutes))
    [digest] = mailbox.to(w.staff.email)
    assert subject(digest) == "Your ISOpath digest: 1 update"
    plain, html = parts(digest)
    task_id, title = ids["a"]
    assert f"assigned you the task “{title}” at {w.client.name}" in plain
    assert f"/c/{w.client.slug}/tasks/{task_id}" in html and "/notifications" in plain
    assert pending(db, w.staff.id) == []
    assert db.session.scalar(select(RemindersSent.key).where(RemindersSent.user_id == w.staff.id,
                                                             RemindersSent.kind == "daily_digest")) == \
        f"daily_digest:u{w.staff.id}:2026-12-14:{w.staff.id}"
    sweep_and_send(app, MON + timedelta(days=1, hours=9))  # Tuesday: nothing held, nothing sent
    assert len(mailbox.to(w.staff.email)) == 1


def test_a_reminder_taken_in_the_digest_is_held_never_mailed_alone_and_carried_once(factory, db, mailbox, app):
    w = factory.world()
    prefer(db, w.staff, task_due="digest", task_overdue="off")
    wed = FRI - timedelta(days=2)
    ids = plan(db, w, wed, {"week": 7}, w.staff)
    mailbox.deliver()
    mailbox.messages.clear()
    result = sweep_and_send(app, wed)
    assert result["held"] >= 1
    task_id, title = ids["week"]
    key = f"task_due:c{w.client.id}/task/{task_id}:d7:{w.staff.id}"
    db.session.rollback()
    row = db.session.get(RemindersSent, key)
    assert row.held and row.sent_at is None and row.body_html is None  # a held notice is never composed as mail
    assert row.content["line"] == f"Your task “{title}” at {w.client.name} is due in 7 days."
    sweep_and_send(app, wed + timedelta(hours=1))  # the key is taken: held once, and never queued as stale
    assert mailbox.to(w.staff.email) == [] and pending(db, w.staff.id) == ["task_due"]
    sweep_and_send(app, wed + timedelta(days=1, hours=-1))  # Thursday 09:00
    sweep_and_send(app, wed + timedelta(days=1, hours=1))
    [digest] = mailbox.to(w.staff.email)
    assert f"Your task “{title}” at {w.client.name} is due in 6 days." not in parts(digest)[0]
    assert f"Your task “{title}” at {w.client.name} is due in 7 days." in parts(digest)[0]
    assert pending(db, w.staff.id) == [] and db.session.get(RemindersSent, key).sent_at is None


def test_notices_held_for_a_digest_turned_off_stay_in_the_app_and_are_no_longer_held(factory, db, mailbox, app):
    w = factory.world()
    prefer(db, w.staff, task_assigned="digest", daily_digest="off", task_overdue="off", task_due="off")
    plan(db, w, FRI, {"a": None}, w.staff, actor=ops.Actor(w.consultant.id, w.consultant.name))
    mailbox.deliver()
    assert pending(db, w.staff.id) == ["task_assigned"]
    first = sweep_and_send(app, MON + timedelta(hours=9))  # the digest's moment passed, but the digest is off
    assert db.session.scalar(select(RemindersSent.key).where(RemindersSent.user_id == w.staff.id)) is None
    assert mailbox.to(w.staff.email) == [] and pending(db, w.staff.id) == []
    assert db.session.scalars(select(Notification.kind).where(Notification.user_id == w.staff.id)).all() == \
        ["task_assigned"]  # still on /notifications
    again = sweep_and_send(app, MON + timedelta(hours=10))  # nothing held: no digest composed to be refused
    assert first["skipped_by_preference"] - again["skipped_by_preference"] == 1 and mailbox.to(w.staff.email) == []


def test_a_consultants_held_notices_ride_in_their_morning_brief_not_a_second_mail(factory, db, mailbox, app):
    w = factory.world()
    prefer(db, w.consultant, gate_review_requested="digest")
    with frozen_at(FRI):
        complete(db, w.client, "initial_audit")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            ops.request_gate_review("initial_audit", "", ops.Actor(w.client_admin.id, w.client_admin.name))
            ops.save(w.client)
    mailbox.deliver()
    assert mailbox.to(w.consultant.email) == []
    assert pending(db, w.consultant.id) == ["gate_review_requested"]
    for hours in (9, 10):
        sweep_and_send(app, MON + timedelta(hours=hours))
    [brief] = mailbox.to(w.consultant.email)
    assert subject(brief).startswith("Your morning brief")
    plain = parts(brief)[0]
    assert "Since your last brief" in plain and f"asked you to review the Initial audit" in plain
    assert pending(db, w.consultant.id) == []
    assert db.session.scalar(select(RemindersSent.key).where(RemindersSent.user_id == w.consultant.id,
                                                             RemindersSent.kind == "daily_digest")) is None


def _red_kpi(db, client_id):
    db.session.add(ClientKpiLatest(client_id=client_id, library_key="on-time-delivery", name="On-time delivery",
                                   unit="%", direction="up", period="2026-11", value=71.0, status="off_track",
                                   recent_periods=["2026-11"], recent_values=[71.0]))
    db.session.commit()


def test_the_weekly_digest_goes_to_each_client_admin_once_a_week_at_their_local_morning(factory, db, mailbox, app):
    w = factory.world()
    ids = plan(db, w, MON, {"late": -3, "soon": 2, "later": 20}, w.staff)
    _red_kpi(db, w.client.id)
    db.session.get(User, w.client_admin.id).time_zone = "Europe/Berlin"  # 07:00–08:30 there is 06:00–07:30 UTC
    calm = factory.client(w.account, [w.consultant])
    calm_admin = factory.member(calm, "client_admin")
    db.session.commit()
    mailbox.deliver()
    mailbox.messages.clear()

    sweep_and_send(app, MON + timedelta(hours=5))  # 06:00 in Berlin: too early
    assert mailbox.to(w.client_admin.email) == []
    for hours in (8, 11):
        sweep_and_send(app, MON + timedelta(hours=hours))
    [digest] = mailbox.to(w.client_admin.email)
    assert subject(digest) == f"{w.client.name}: your week in ISOpath"
    plain, html = parts(digest)
    assert "overdue task" in plain and ids["late"][1] in plain
    assert "1 item due this week" in plain and ids["soon"][1] in plain and ids["later"][1] not in plain
    assert "1 KPI in the red" in plain and "On-time delivery" in plain
    assert "Current stage: Initial audit" in plain
    assert f"/c/{w.client.slug}/" in html and "List-Unsubscribe" in digest
    assert mailbox.to(calm_admin.email) == []  # nothing to say, nothing sent
    sweep_and_send(app, MON + timedelta(days=1, hours=8))  # Tuesday: the week's digest went out already
    assert len(mailbox.to(w.client_admin.email)) == 1
    db.session.rollback()
    assert db.session.scalar(select(RemindersSent.key).where(RemindersSent.user_id == w.client_admin.id,
                                                             RemindersSent.kind == "weekly_digest")) == \
        f"weekly_digest:c{w.client.id}:2026-W51:{w.client_admin.id}"


def test_the_weekly_digest_follows_the_clients_working_days_and_names_a_waiting_gate(factory, db, mailbox, app):
    w = factory.world()
    client = db.session.get(Client, w.client.id)
    client.working_days = "12345"  # Tuesday to Saturday
    db.session.get(ClientSummary, w.client.id).gate_awaiting_approval = True
    db.session.commit()
    mailbox.deliver()
    mailbox.messages.clear()
    sweep_and_send(app, MON + timedelta(hours=10))
    assert mailbox.to(w.client_admin.email) == []  # Monday is this client's day off
    sweep_and_send(app, MON + timedelta(days=1, hours=10))
    [digest] = mailbox.to(w.client_admin.email)
    assert "gate review is waiting for your consultant" in parts(digest)[0]
    prefer(db, w.client_admin, weekly_digest="off")
    sweep_and_send(app, MON + timedelta(days=8, hours=10))  # next week's: turned off
    assert len(mailbox.to(w.client_admin.email)) == 1


def test_preferences_offer_the_digest_but_not_for_a_digest_itself(http, factory, db):
    from workflows import reminders as rules

    w = factory.world()
    http.login(w.staff.email)
    base = {k.key: "immediately" for k in rules.PREFERENCE_KINDS}
    bad = http.submit("/settings/notifications", {**base, "weekly_digest": "digest", "time_zone": ""})
    assert bad.status_code == 422 and "Choose one of: At once, Off." in bad.get_data(as_text=True)
    ok = http.submit("/settings/notifications", {**base, "task_overdue": "digest", "time_zone": ""})
    assert ok.status_code == 303
    db.session.rollback()
    assert db.session.get(NotificationPreference, (w.staff.id, "task_overdue")).delivery == "digest"
    page = http.get("/settings/notifications").get_data(as_text=True)
    assert "In my daily digest" in page
