"""Background jobs on a real Redis, run by RQ's SimpleWorker (no fork)."""
from datetime import date, timedelta

from rq import SimpleWorker
from sqlalchemy import select, update

import tenants
from app.jobs import queue
from app.jobs.schedule import SCHEDULE
from app.jobs.summaries import refresh_all_summaries
from app.models import ClientSummary, Task


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


def test_periodic_jobs_are_declared_with_cron_strings(ctx):
    from rq.cron import CronScheduler

    from app.redis_conn import get_redis

    assert SCHEDULE and all(len(cron.split()) == 5 for _, cron, _ in SCHEDULE)
    scheduler = CronScheduler(connection=get_redis())
    from app.jobs.schedule import register_schedule

    register_schedule(scheduler)
    assert {job.name for job in scheduler.get_jobs()} == {func.__name__ for func, _, _ in SCHEDULE}
