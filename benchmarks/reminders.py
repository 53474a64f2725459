#!/usr/bin/env python3
"""The reminder sweep at 2,000 clients × 100 tasks, sending through real RQ workers, and duplicates after a kill.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/isopath_bench .venv/bin/python benchmarks/reminders.py
    .venv/bin/python benchmarks/reminders.py --clients 20 --messages 200     # a quick run that proves it works

The sweep reads only shared tables (`clients`, `work_items`, `client_summaries`, `client_members`, `users`), so
the clients here are registry rows with their summary and "My work" rows bulk-inserted as `save()` writes them,
without client schemas (the tenancy benchmark measures those). Each client has a client admin and 5 staff; its
100 open tasks are assigned to the staff with due dates from 60 days ago to 120 days ahead.

Figures printed (nothing asserted; targets in the README's Performance section):
  1. a sweep that finds and claims everything due now (and queues one send job per message);
  2. a second sweep with nothing new;
  3. --messages queued messages sent by two `rq` worker processes to a loopback SMTP server (messages/s);
  4. a worker SIGKILLed in the middle of a batch, the sweep's stale-claim re-queue, another worker: the number
     of messages the SMTP server received more than once (by their X-ISOpath-Key header).
"""
from __future__ import annotations

import argparse
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import drop_database, line, prepare_database, redis_for  # noqa: E402  (benchmarks/ is on sys.path)
from pages import free_port  # noqa: E402

WORKER = ["-m", "app.jobs.worker", "--burst"]  # the worker production runs, until the queue is empty


class Inbox:
    """A loopback SMTP server that counts what it receives per message key."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.keys = Counter()
        self.lock = threading.Lock()
        inbox = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                key = message_from_bytes(envelope.content)["X-ISOpath-Key"]
                with inbox.lock:
                    inbox.keys[key] += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
        self.controller.start()

    @property
    def total(self) -> int:
        with self.lock:
            return sum(self.keys.values())


def seed(db, clients: int, rng: random.Random) -> None:
    from sqlalchemy import insert, text

    from app import clock
    from app.models import Account, Client, ClientConsultant, ClientMember, ClientSummary, User, WorkItem

    today = clock.today()
    account_id = db.session.execute(insert(Account).values(name="Bench Quality Partners").returning(Account.id)).scalar()
    consultants = db.session.execute(insert(User).returning(User.id), [
        {"email": f"consultant{i}@bench.example", "name": f"Consultant {i}", "time_zone": "Europe/Berlin"}
        for i in range(max(1, clients // 250))]).scalars().all()
    for n in range(clients):
        cid = db.session.execute(insert(Client).values(
            account_id=account_id, slug=f"bench-client-{n}", name=f"Bench Client {n:04d}",
            schema_name=f"bench_client_{n}").returning(Client.id)).scalar()
        people = db.session.execute(insert(User).returning(User.id), [
            {"email": f"c{n}-p{i}@bench.example", "name": f"Person {i} of {n}"} for i in range(6)]).scalars().all()
        db.session.execute(insert(ClientMember), [{"client_id": cid, "user_id": uid,
                                                   "role": "client_admin" if i == 0 else "staff"}
                                                  for i, uid in enumerate(people)])
        db.session.execute(insert(ClientConsultant).values(client_id=cid, user_id=rng.choice(consultants)))
        db.session.execute(insert(ClientSummary).values(client_id=cid, overdue_tasks=rng.randint(0, 5),
                                                        red_kpis=rng.randint(0, 2)))
        db.session.execute(insert(WorkItem), [
            {"client_id": cid, "kind": "task", "ref_id": t, "user_id": people[1 + t % 5], "title": f"Task {t}",
             "stage": "implementation", "due_on": today + timedelta(days=rng.randint(-60, 120))}
            for t in range(1, 101)])
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def run_workers(env: dict, count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, *WORKER], cwd=ROOT, env=env) for _ in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
    url, admin, name, services, version = prepare_database(args)
    redis_url, services = redis_for(services)
    inbox = Inbox()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "ISOPATH_ENV": "development",
           "SMTP_URL": f"smtp://127.0.0.1:{inbox.controller.port}"}
    os.environ.update(env)
    from sqlalchemy import func, select, update

    from app import create_app
    from app.cli import upgrade_all
    from app.extensions import db
    from app.mail import mail_queue
    from app.models import RemindersSent
    from app.notify.outbox import Message, claim, resend_stale
    from app.notify.sweep import sweep_reminders

    app = create_app()
    try:
        with app.app_context():
            upgrade_all(db.engine, spare_schemas=0, cache_dir=app.config["CACHE_DIR"], quiet=True)
            mail_queue().empty()
            line("PostgreSQL", version)
            started = time.perf_counter()
            seed(db, args.clients, random.Random(17))
            line(f"seed {args.clients} clients x 100 tasks", f"{time.perf_counter() - started:.1f} s")

            started = time.perf_counter()
            result = sweep_reminders()
            line(f"sweep finding and claiming everything due ({result['claimed']} messages)",
                 f"{time.perf_counter() - started:.2f} s")
            started = time.perf_counter()
            again = sweep_reminders()
            line(f"sweep with nothing new ({again['claimed']} claimed)", f"{time.perf_counter() - started:.2f} s")

            # Sending: the sweep's messages first make room for exactly --messages queued ones.
            mail_queue().empty()
            db.session.execute(update(RemindersSent).values(sent_at=func.now()))
            db.session.commit()
            for i in range(args.messages):
                claim(Message(f"task_due:bench/{i}:d7:0", "task_due", None, f"m{i}@bench.example", None,
                              f"Bench message {i}", "A message", "http://127.0.0.1/", "Open"))
                if i % 1000 == 999:
                    db.session.commit()
            db.session.commit()
            started = time.perf_counter()
            for worker in run_workers(env, 2):
                worker.wait()
            took = time.perf_counter() - started
            line(f"send {args.messages} queued messages, 2 rq workers, loopback SMTP",
                 f"{args.messages / took:.0f} messages/s ({took:.1f} s, {inbox.total} received)")

            # Kill a worker mid-batch, heal with the sweep's re-queue of stale claims, count duplicates.
            inbox.keys.clear()
            for i in range(args.messages // 4):
                claim(Message(f"task_due:kill/{i}:d7:0", "task_due", None, f"k{i}@bench.example", None,
                              f"Kill message {i}", "A message", "http://127.0.0.1/", "Open"))
            db.session.commit()
            [victim] = run_workers(env, 1)
            while inbox.total < args.messages // 16 and victim.poll() is None:
                time.sleep(0.01)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            before = inbox.total
            resend_stale(older_than=timedelta(0))  # as the sweep does once the timeout has passed
            for worker in run_workers(env, 1):
                worker.wait()
            unsent = db.session.scalar(select(func.count()).select_from(RemindersSent).where(
                RemindersSent.key.like("task_due:kill/%"), RemindersSent.sent_at.is_(None)))
            duplicates = sum(n - 1 for n in inbox.keys.values() if n > 1)
            line(f"after SIGKILL at {before} sent, re-queue and rerun: unsent / duplicates",
                 f"{unsent} / {duplicates} (of {args.messages // 4})")
    finally:
        inbox.controller.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if not args.keep:
            drop_database(admin, name)
        if services:
            services.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
