"""Background jobs on a real Redis, run by RQ's SimpleWorker (no fork)."""
from datetime import date, datetime, timedelta

from rq import SimpleWorker
from rq.cron import CronScheduler
from sqlalchemy import select, update

import tenants
from app.jobs import QUEUE_NAME, queue
from app.jobs.schedule import register_schedule
from app.jobs.spares import top_up_spares
from app.jobs.summaries import refresh_all_summaries
from app.models import ClientSummary, Task
from app.redis_conn import get_redis
from conftest import unique
from tenants import spares


def test_summary_repair_job_catches_tasks_that_fell_overdue(factory, db):
    w = factory.world()
    before = db.session.get(ClientSummary, w.client.id).overdue_tasks
    # Time passes: three open tasks are now past due, without any write through the app.
    with tenants.tenant_scope(db.session, w.client.schema_name):
        ids = db.session.scalars(select(Task.id).where(Task.status == "todo").order_by(Task.position).limit(3)).all()
        db.session.execute(update(Task).where(Task.id.in_(ids)).values(due_on=date.today() - timedelta(days=2)))
        db.session.commit()
    assert db.session.get(ClientSummary, w.client.id).overdue_tasks == before

    job = queue().enqueue(refresh_all_summaries)
    SimpleWorker([queue()], connection=queue().connection).work(burst=True)
    job.refresh()
    assert job.is_finished and job.return_value()["failed"] == []
    db.session.expire_all()
    assert db.session.get(ClientSummary, w.client.id).overdue_tasks == before + 3


# The schedule as the README describes it, written out: the nightly repair of the portfolio's summary rows just
# after midnight (tasks fall overdue without any write), a quarter-hourly top-up of spare client schemas, and
# the quarter-hourly reminder sweep (ladder, gate waits, morning briefs, lost send jobs), and the nightly
# reconciliation of every consultancy's subscription with Stripe.
EXPECTED_SCHEDULE = {
    "refresh_all_summaries": ("app.jobs.summaries.refresh_all_summaries", "5 0 * * *"),
    "top_up_spares": ("app.jobs.spares.top_up_spares", "*/15 * * * *"),
    "sweep_reminders": ("app.notify.sweep.sweep_reminders", "*/15 * * * *"),
    "reconcile_billing": ("app.jobs.billing.reconcile_billing", "40 2 * * *"),
    "remind_trials_ending": ("app.jobs.billing.remind_trials_ending", "10 7 * * *"),
}


def test_periodic_jobs_are_the_documented_ones_on_cron_strings(ctx):
    scheduler = CronScheduler(connection=get_redis())
    register_schedule(scheduler)
    jobs = scheduler.get_jobs()
    assert len(jobs) == len(EXPECTED_SCHEDULE)
    assert {job.name: (job.func_name, job.cron, job.interval, job.queue_name) for job in jobs} == \
        {name: (func, cron, None, QUEUE_NAME) for name, (func, cron) in EXPECTED_SCHEDULE.items()}
    by_name = {job.name: job for job in jobs}
    nightly, quarterly = by_name["refresh_all_summaries"].next_enqueue_time, by_name["top_up_spares"].next_enqueue_time
    assert (nightly.hour, nightly.minute, nightly.second) == (0, 5, 0)
    assert quarterly.minute % 15 == 0 and quarterly.second == 0
    assert timedelta(0) < quarterly - datetime.now(quarterly.tzinfo) <= timedelta(minutes=15)


def test_a_new_client_queues_a_top_up_that_replaces_the_spare_it_took(http, factory, db, ctx):
    def ready():
        with db.engine.connect() as conn:
            return len(spares.list_spares(conn)[0])

    w = factory.world()
    http.login(w.consultant.email)
    wanted = ctx.config["SPARE_SCHEMAS"]
    top_up_spares()
    assert ready() == wanted
    queue().empty()
    resp = http.submit("/clients/new", {"name": unique("Spare Taker Ltd"), "slug": ""})
    assert resp.status_code == 302
    assert ready() == wanted - 1  # the new client's schema was a renamed spare
    queued = queue().jobs
    assert [job.func_name for job in queued] == ["app.jobs.spares.top_up_spares"]

    SimpleWorker([queue()], connection=queue().connection).work(burst=True)
    queued[0].refresh()
    assert queued[0].is_finished and queued[0].return_value() == {"built": 1, "dropped": 0, "ready": wanted}
    assert ready() == wanted


def test_client_creation_still_succeeds_when_the_top_up_cannot_be_queued(http, factory, app):
    w = factory.world()
    http.login(w.consultant.email)
    good = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    app.extensions.pop("isopath_redis", None)
    try:
        resp = http.submit("/clients/new", {"name": unique("No Queue Ltd"), "slug": ""})
    finally:
        app.config["REDIS_URL"] = good
        app.extensions.pop("isopath_redis", None)
    assert resp.status_code == 302
    assert http.get(resp.headers["Location"]).status_code == 200
