"""The reminder sweep on a controlled clock, a real Redis queue, a real RQ worker (in-process) and real SMTP on
loopback: exactly the expected messages, never twice; lost jobs healed once; retries on SMTP trouble; the
consultant's morning brief at their local hour, on a daylight-saving day too."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

import tenants
from app.clock import frozen_at
from app.mail import mail_queue
from app.models import ClientSummary, RemindersSent, Task, User
from app.notify.outbox import Message, claim
from app.notify.sweep import sweep_reminders
from app.workspace import operations as ops
from conftest import deliver_queued_mail, free_port, unique
from test_my_work import complete
from test_notifications import parts, subject

WED = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)  # a Wednesday
SETUP = ops.Actor(None, "setup")


EVENTS = ("task_assigned", "gate_review_requested")  # told at once when the setup made them, not by the sweep


def keys_of(db, client_id) -> set[str]:
    """The sweep's messages to the client's people (the setup's own events left out)."""
    db.session.rollback()
    return set(db.session.scalars(select(RemindersSent.key).where(RemindersSent.client_id == client_id,
                                                                  RemindersSent.kind.not_in(EVENTS))))


def plan_tasks(db, w, due_in: dict, assignee):
    """Give the first initial-audit tasks the due dates `due_in` (days from WED's date), assigned to `assignee`."""
    with frozen_at(WED), tenants.tenant_scope(db.session, w.client.schema_name):
        tasks = db.session.scalars(select(Task).where(Task.stage == "initial_audit").order_by(Task.position)
                                   .limit(len(due_in))).all()
        ids = {}
        for task, (name, days) in zip(tasks, due_in.items()):
            ops.set_due_date(task, WED.date() + timedelta(days=days), SETUP)
            ops.assign_task(task, db.session.get(User, assignee.id), SETUP)
            ids[name] = task.id
        ops.save(w.client)
    return ids


def test_the_sweep_sends_exactly_what_is_due_once(factory, db, mailbox, app):
    w = factory.world()
    ids = plan_tasks(db, w, {"week": 7, "later": 10, "late": -15}, w.staff)
    mailbox.deliver()
    mailbox.messages.clear()
    c = w.client.id
    with frozen_at(WED):
        sweep_reminders()
    assert keys_of(db, c) == {f"task_due:c{c}/task/{ids['week']}:d7:{w.staff.id}",
                              f"task_overdue:c{c}/task/{ids['late']}:o3:{w.staff.id}",
                              f"task_escalated:c{c}/task/{ids['late']}:e1:{w.client_admin.id}"}
    with frozen_at(WED):
        deliver_queued_mail(app)
    staff = sorted((subject(m) for m in mailbox.to(w.staff.email)), key=lambda s: s.endswith("overdue"))
    assert len(staff) == 2 and all(s.startswith(f"{w.client.name}: “") for s in staff)
    assert staff[0].endswith("” is due in 7 days") and staff[1].endswith("” is overdue")
    [escalation] = mailbox.to(w.client_admin.email)
    assert subject(escalation).endswith("is 15 days overdue — certification at risk")
    assert f"/c/{w.client.slug}/tasks/{ids['late']}" in parts(escalation)[0]
    db.session.rollback()
    assert all(r.sent_at is not None for r in db.session.scalars(select(RemindersSent).where(
        RemindersSent.client_id == c)))

    with frozen_at(WED + timedelta(hours=1)):  # the next sweep: nothing new
        sweep_reminders()
        deliver_queued_mail(app)
    assert len(mailbox.to(w.staff.email)) == 2 and len(mailbox.to(w.client_admin.email)) == 1
    with frozen_at(WED + timedelta(days=3)):  # Saturday: no reminders at all
        sweep_reminders()
    first = keys_of(db, c)
    assert len(first) == 3
    with frozen_at(WED + timedelta(days=4)):  # Sunday: "later" reached its 7-day rung on Saturday, still silent
        sweep_reminders()
    assert keys_of(db, c) == first
    with frozen_at(WED + timedelta(days=5)):  # Monday: that rung comes now, once; the rest is in its window
        sweep_reminders()  # (and the client admin's weekly digest: the week's first working day)
    assert keys_of(db, c) == first | {f"task_due:c{c}/task/{ids['later']}:d7:{w.staff.id}",
                                      f"weekly_digest:c{c}:2026-W51:{w.client_admin.id}"}


def test_two_sweeps_at_once_claim_each_message_once(factory, db, mailbox, app):
    w = factory.world()
    plan_tasks(db, w, {f"t{i}": -1 - 3 * i for i in range(6)}, w.staff)  # 1 to 16 days overdue
    mailbox.deliver()
    mailbox.messages.clear()
    start = threading.Barrier(2)

    def run():
        with app.app_context(), frozen_at(WED):
            start.wait()
            return sweep_reminders()

    with ThreadPoolExecutor(2) as pool:
        results = [f.result() for f in [pool.submit(run), pool.submit(run)]]
    assert len(keys_of(db, w.client.id)) == 6 + 1  # six to the assignee, one escalation (t5: 16 days overdue)
    assert all(r["candidates"] >= 7 for r in results)
    with frozen_at(WED):
        deliver_queued_mail(app)
    assert len(mailbox.to(w.staff.email)) == 6 and len(mailbox.to(w.client_admin.email)) == 1


def _lost_claim(db, app, user, key) -> None:
    """A message claimed and committed whose send job never ran (a killed worker, Redis down at enqueue)."""
    with app.app_context():
        claim(Message(key, "task_due", user.id, user.email, None, "Lost message", "A lost message", "http://x/", "Open"))
        db.session.commit()
    mail_queue().empty()


def test_a_claim_whose_job_was_lost_is_sent_once_after_the_timeout(factory, db, mailbox, app):
    user = factory.user("Lost Mail")
    key = f"task_due:lost/{user.id}:d7:{user.id}"
    with frozen_at(WED):
        _lost_claim(db, app, user, key)
    with frozen_at(WED + timedelta(minutes=5)):  # not yet stale: the job may still be on its way
        sweep_reminders()
        deliver_queued_mail(app)
    assert mailbox.to(user.email) == []
    with frozen_at(WED + timedelta(minutes=20)):
        assert sweep_reminders()["requeued"] >= 1
        deliver_queued_mail(app)
        sweep_reminders()
        deliver_queued_mail(app)
    assert [subject(m) for m in mailbox.to(user.email)] == ["Lost message"]


class Refusing:
    """An SMTP server that answers the first `refuse` deliveries with `code`, then accepts."""

    def __init__(self, code: str, refuse: int):
        self.code, self.refuse, self.received, self.tries = code, refuse, [], 0

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= self.refuse:
            return self.code
        self.received.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture()
def refusing_smtp(app):
    servers = []

    def start(code: str, refuse: int) -> Refusing:
        handler = Refusing(code, refuse)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        servers.append(controller)
        app.config.update(SMTP_URL=f"smtp://127.0.0.1:{controller.port}", MAIL_RETRY_INTERVALS=[0, 0, 0])
        return handler

    saved = {k: app.config.get(k) for k in ("SMTP_URL", "MAIL_RETRY_INTERVALS")}
    yield start
    app.config.update(saved)
    if saved["MAIL_RETRY_INTERVALS"] is None:
        app.config.pop("MAIL_RETRY_INTERVALS")
    for controller in servers:
        controller.stop()


def _sent_row(db, key) -> RemindersSent:
    db.session.rollback()
    return db.session.get(RemindersSent, key)


def test_a_temporary_smtp_refusal_is_retried_and_delivered_once(factory, db, app, refusing_smtp):
    server = refusing_smtp("451 4.3.0 Try again later", refuse=1)
    user = factory.user("Retry Me")
    key = f"task_due:retry/{user.id}:d7:{user.id}"
    with app.app_context():
        claim(Message(key, "task_due", user.id, user.email, None, "Retried", "Retried", "http://x/", "Open"))
        db.session.commit()  # the send job is queued after the commit
    deliver_queued_mail(app)
    assert server.tries == 2 and [subject(m) for m in server.received] == ["Retried"]
    row = _sent_row(db, key)
    assert row.attempts == 2 and row.sent_at is not None and row.failed_at is None


def test_a_permanent_refusal_is_recorded_and_not_retried(factory, db, app, refusing_smtp):
    server = refusing_smtp("550 5.1.1 No such mailbox", refuse=5)
    user = factory.user("Gone Away")
    key = f"task_due:gone/{user.id}:d7:{user.id}"
    with app.app_context():
        claim(Message(key, "task_due", user.id, user.email, None, "Refused", "Refused", "http://x/", "Open"))
        db.session.commit()
    deliver_queued_mail(app)
    assert server.tries == 1 and server.received == []
    row = _sent_row(db, key)
    assert row.attempts == 1 and row.sent_at is None and row.failed_at is not None and "5.1.1" in row.error
    with frozen_at(datetime.now(timezone.utc) + timedelta(hours=1)):
        sweep_reminders()  # a refused message is not stale: it is never queued again
        deliver_queued_mail(app)
    assert _sent_row(db, key).attempts == 1 and not [m for m in server.received if subject(m) == "Refused"]


# 30 March 2026 is the Monday after Europe's clocks went forward; 07:00–08:30 Berlin is 05:00–06:30 UTC.
DST_MONDAY = date(2026, 3, 30)


def test_the_morning_brief_goes_out_once_at_the_local_hour_ranked_and_never_empty(http, factory, db, mailbox, app):
    w = factory.world()
    factory.client(w.account, [w.other_consultant])  # a calm client, nothing to say about it
    for person in (w.consultant, w.other_consultant):
        db.session.get(User, person.id).time_zone = "Europe/Berlin"
    db.session.commit()
    with frozen_at(datetime(2026, 3, 30, 4, 0, tzinfo=timezone.utc)):
        complete(db, w.client, "initial_audit")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            ops.request_gate_review("initial_audit", "", ops.Actor(w.client_admin.id, w.client_admin.name))
            ops.save(w.client)
    quiet_client = factory.client(w.account, [w.consultant])
    db.session.get(ClientSummary, quiet_client.id).overdue_tasks = 2  # as the nightly repair would find
    db.session.commit()
    mailbox.deliver()
    mailbox.messages.clear()

    with frozen_at(datetime(2026, 3, 30, 4, 50, tzinfo=timezone.utc)):  # 06:50 in Berlin: too early
        sweep_reminders()
        deliver_queued_mail(app)
    assert mailbox.to(w.consultant.email) == []
    for minute in (40, 55, 70):  # 08:40 in Berlin, and two later sweeps
        with frozen_at(datetime(2026, 3, 30, 6, 0, tzinfo=timezone.utc) + timedelta(minutes=minute)):
            sweep_reminders()
            deliver_queued_mail(app)
    [brief] = mailbox.to(w.consultant.email)
    assert subject(brief) == "Your morning brief: 2 clients need you"
    plain, html = parts(brief)
    first, second = plain.index(w.client.name), plain.index(quiet_client.name)
    assert first < second  # the gate waiting for them ranks above two overdue tasks
    assert "1 gate review waiting for you" in plain and "2 overdue tasks" in plain
    assert f"/c/{w.client.slug}/" in html and f"/c/{quiet_client.slug}/" in html
    assert mailbox.to(w.other_consultant.email) == []  # their only client needs nothing: no mail at all
    db.session.rollback()
    assert db.session.scalar(select(RemindersSent.key).where(RemindersSent.user_id == w.consultant.id,
                                                             RemindersSent.kind == "morning_brief")) == \
        f"morning_brief:u{w.consultant.id}:{DST_MONDAY.isoformat()}:{w.consultant.id}"


def test_a_message_claimed_with_its_bodies_before_the_content_column_is_sent_as_it_was(factory, db, mailbox, app):
    """Rows claimed before claims kept their content as data carry rendered bodies: sent unchanged."""
    user = factory.user("Old Claim")
    key = f"task_due:legacy/{user.id}:d7:{user.id}"
    with frozen_at(WED), app.app_context():
        db.session.add(RemindersSent(key=key, kind="task_due", user_id=user.id, to_email=user.email,
                                     subject="Claimed last week", body_text="The old plain body",
                                     body_html="<p>The old HTML body</p>", unsubscribe_url="http://x/unsubscribe/old",
                                     claimed_at=WED - timedelta(hours=1)))
        db.session.commit()
    with frozen_at(WED + timedelta(minutes=20)):
        assert sweep_reminders()["requeued"] >= 1
        deliver_queued_mail(app)
    [mail] = mailbox.to(user.email)
    plain, html = parts(mail)
    assert subject(mail) == "Claimed last week" and plain.strip() == "The old plain body"
    assert "<p>The old HTML body</p>" in html and mail["List-Unsubscribe"] == "<http://x/unsubscribe/old>"


def test_claims_keep_what_the_message_says_and_the_send_job_composes_it(factory, db, mailbox, app):
    user = factory.user("New Claim")
    key = f"task_due:content/{user.id}:d7:{user.id}"
    with frozen_at(WED), app.app_context():
        assert claim(Message(key, "task_due", user.id, user.email, None, "Due soon", "Your task is due in 7 days.",
                             "http://127.0.0.1/c/x/tasks/1", "Open in ISOpath", details=("Second line",)))
        assert not claim(Message(key, "task_due", user.id, user.email, None, "Again", "Again", "http://x/", "Open"))
        db.session.commit()
        row = db.session.get(RemindersSent, key)
        assert row.body_text is None and row.body_html is None and row.unsubscribe_url is None
        assert row.content == {"line": "Your task is due in 7 days.", "link": "http://127.0.0.1/c/x/tasks/1",
                               "link_label": "Open in ISOpath", "details": ["Second line"]}
        deliver_queued_mail(app)
    [mail] = mailbox.to(user.email)
    plain, html = parts(mail)
    assert subject(mail) == "Due soon"
    assert "Your task is due in 7 days." in plain and "Second line" in plain
    assert "Open in ISOpath: http://127.0.0.1/c/x/tasks/1" in plain and 'href="http://127.0.0.1/c/x/tasks/1"' in html
    assert "/unsubscribe/" in mail["List-Unsubscribe"] and "/unsubscribe/" in plain


def test_unclaimed_names_only_the_keys_nobody_holds(db, app):
    from app.bulk import unclaimed
    tag = unique("bulk").replace("-", "_")
    wanted = [f"task_due:{tag}/{i}:d7:0" for i in range(3)]
    with app.app_context():
        db.session.add(RemindersSent(key=wanted[0], kind="task_due", to_email="a@x.example",
                                     subject="s", content={"line": "l", "link": "l", "link_label": "l"}))
        db.session.commit()
        assert unclaimed(RemindersSent.__table__.c.key, wanted) == set(wanted[1:])
        assert unclaimed(RemindersSent.__table__.c.key, []) == set()
