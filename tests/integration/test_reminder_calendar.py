"""A consultancy's lead days and time zone, a client's working days and time zone (the sweep keeps to them),
the owners' page of mails not delivered with its retry, and `flask jobs failed`."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.cli import jobs_cli
from app.clock import frozen_at
from app.jobs import QUEUE_NAME
from app.models import Account, Client, RemindersSent
from app.notify.sweep import sweep_reminders
from app.redis_conn import get_redis
from test_digests import plan

WED = datetime(2026, 12, 9, 10, 0, tzinfo=timezone.utc)


def keys_of(db, client_id, kinds=("task_due", "task_overdue", "gate_waiting")) -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(RemindersSent.key).where(RemindersSent.client_id == client_id,
                                                                  RemindersSent.kind.in_(kinds))))


def test_the_ladder_follows_the_consultancys_lead_days(http, factory, db):
    w = factory.world()
    ids = plan(db, w, WED, {"in14": 14, "in7": 7, "in3": 3}, w.staff)
    http.login(w.owner.email)
    bad = http.submit("/reminders", {"lead_days": "14, 14, banana", "time_zone": "Atlantis/Capital"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "whole numbers of days" in body and "Choose a time zone from the list." in body
    assert 'value="14, 14, banana"' in body  # what was typed stays
    ok = http.submit("/reminders", {"lead_days": "3,14", "time_zone": "Europe/Vienna"})
    assert ok.status_code == 303
    db.session.rollback()
    account = db.session.get(Account, w.account.id)
    assert (account.reminder_lead_days, account.time_zone) == ("14,3", "Europe/Vienna")
    with frozen_at(WED):
        sweep_reminders()
    c, s = w.client.id, w.staff.id
    due = {k for k in keys_of(db, c, ("task_due",))}
    # Seven days left: the 14-day rung is the latest reached (the 7-day one is no longer on the ladder).
    assert due == {f"task_due:c{c}/task/{ids['in14'][0]}:d14:{s}", f"task_due:c{c}/task/{ids['in7'][0]}:d14:{s}",
                   f"task_due:c{c}/task/{ids['in3'][0]}:d3:{s}"}


def test_no_reminders_on_the_clients_days_off_and_working_days_counted_its_way(http, factory, db, mailbox):
    w = factory.world()
    ids = plan(db, w, WED, {"soon": 1}, w.staff)
    http.login(w.consultant.email)
    settings = f"/c/{w.client.slug}/settings"
    bad = http.submit(f"{settings}/calendar", {"time_zone": ""}, form_url=settings)
    assert bad.status_code == 422 and "Tick at least one working day." in bad.get_data(as_text=True)
    ok = http.submit(f"{settings}/calendar", {"working_days": ["0", "1", "3", "4"], "time_zone": "Asia/Tokyo"},
                     form_url=settings)  # Wednesday off
    assert ok.status_code == 303
    db.session.rollback()
    client = db.session.get(Client, w.client.id)
    assert (client.working_days, client.time_zone) == ("0134", "Asia/Tokyo")
    page = http.get(settings).get_data(as_text=True)
    assert 'value="Asia/Tokyo" selected' in page
    with frozen_at(WED - timedelta(hours=9)):  # Wednesday 01:00 UTC is Wednesday 10:00 in Tokyo: a day off
        sweep_reminders()
    assert keys_of(db, w.client.id) == set()
    with frozen_at(WED + timedelta(hours=5)):  # Wednesday 15:00 UTC is Thursday in Tokyo: the due day
        sweep_reminders()
    assert keys_of(db, w.client.id, ("task_due",)) == {
        f"task_due:c{w.client.id}/task/{ids['soon'][0]}:d1:{w.staff.id}"}


def test_only_owners_see_their_consultancys_failed_mail_and_retry_it(http, factory, db, app):
    w, other = factory.world(), factory.world()
    now = datetime.now(timezone.utc)

    def failed(key, client_id, user, **extra):
        db.session.add(RemindersSent(key=key, kind="task_due", user_id=user.id, client_id=client_id,
                                     to_email=user.email, subject=f"Mail {key}", body_text="x", body_html="<p>x</p>",
                                     claimed_at=now, **extra))

    mine, theirs = f"task_due:mine{w.client.id}:d7:1", f"task_due:theirs{other.client.id}:d7:1"
    failed(mine, w.client.id, w.staff, attempts=1, failed_at=now, error="550 5.1.1 No such mailbox")
    failed(f"task_due:tried{w.client.id}:d7:1", w.client.id, w.staff, attempts=6)  # gave up after its retries
    failed(f"task_due:fine{w.client.id}:d7:1", w.client.id, w.staff, attempts=1, sent_at=now)
    failed(theirs, other.client.id, other.staff, attempts=1, failed_at=now, error="550 theirs")
    db.session.commit()
    for person in (w.consultant, w.client_admin, w.staff):
        http.login(person.email)
        assert http.get("/reminders").status_code == 404
        http.logout()
    http.login(w.owner.email)
    page = http.get("/reminders").get_data(as_text=True)
    assert f"Mail {mine}" in page and "No such mailbox" in page and "Gave up after 6 attempts" in page
    assert "fine" not in page and theirs not in page and "550 theirs" not in page
    assert http.submit("/reminders/failed/retry", {"key": theirs}, form_url="/reminders").status_code == 404
    assert http.submit("/reminders/failed/retry", {"key": "made-up"}, form_url="/reminders").status_code == 404
    resp = http.submit("/reminders/failed/retry", {"key": mine}, form_url="/reminders")
    assert resp.status_code == 303
    db.session.rollback()
    row = db.session.get(RemindersSent, mine)
    assert row.failed_at is None and row.attempts == 0
    assert db.session.get(RemindersSent, theirs).failed_at is not None
    assert http.submit("/reminders/failed/retry", {"key": mine}, form_url="/reminders").status_code == 404


def _boom():
    raise RuntimeError("the mail server caught fire")


def test_flask_jobs_failed_lists_each_failed_job_with_its_error_line(app):
    with app.app_context():
        queue = Queue(QUEUE_NAME, connection=get_redis())
        job = queue.enqueue(_boom)
        SimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="ERROR")
    result = app.test_cli_runner().invoke(jobs_cli, ["failed"])
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.output.splitlines() if ln.startswith(job.id)]
    assert "test_reminder_calendar._boom()" in line and "isopath " in line
    after = result.output.splitlines()[result.output.splitlines().index(line) + 1]
    assert after.strip() == "RuntimeError: the mail server caught fire"
    as_json = app.test_cli_runner().invoke(jobs_cli, ["failed", "--json"])
    assert job.id in as_json.output
