"""A real worker process (`python -m app.jobs.worker --burst`, an RQ worker) sends a batch of queued messages to a
loopback SMTP server, is SIGKILLed in the middle of the batch — while the mail server holds one message before
accepting it — and another worker finishes: every message arrives exactly once (the claimed-but-unsent one is
found stale and sent once; those sent are not sent again)."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from app.mail import mail_queue
from app.models import RemindersSent
from app.notify.outbox import Message, claim, resend_stale
from conftest import ROOT, free_port, unique, worker_folder

BATCH = 30
HOLD_AT = 10  # the mail server holds the 10th message at RCPT TO, before it has accepted anything


class HoldingInbox:
    def __init__(self):
        self.keys, self.rcpts = Counter(), 0
        self.holding = threading.Event()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        self.rcpts += 1
        if self.rcpts == HOLD_AT:
            self.holding.set()
            await asyncio.sleep(30)  # the worker dies meanwhile; this message was never accepted
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.keys[message_from_bytes(envelope.content)["X-ISOpath-Key"]] += 1
        return "250 OK"


@pytest.fixture()
def holding_smtp():
    inbox = HoldingInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield inbox, controller.port
    controller.stop()


def _worker(app, smtp_port) -> subprocess.Popen:
    env = {**os.environ, "ISOPATH_ENV": "test", "SECRET_KEY": "test-secret", "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}", "UPLOAD_ROOT": str(worker_folder("test-uploads")),
           "CACHE_DIR": str(worker_folder("test-cache")), "EXPORTS_DIR": str(worker_folder("test-exports"))}
    return subprocess.Popen([sys.executable, "-m", "app.jobs.worker", "--burst"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_worker_killed_mid_batch_leaves_every_message_delivered_exactly_once(app, db, holding_smtp):
    inbox, port = holding_smtp
    tag = unique("kill").replace("-", "_")
    keys = [f"task_due:{tag}/{i}:d7:0" for i in range(BATCH)]
    with app.app_context():
        mail_queue().empty()
        for i, key in enumerate(keys):
            claim(Message(key, "task_due", None, f"k{i}@kill.example", None, f"Kill {i}", "A message",
                          "http://127.0.0.1/", "Open"))
        db.session.commit()  # the claims, then (after the commit) one send job each
        assert mail_queue().count == BATCH
    first = _worker(app, port)
    try:
        assert inbox.holding.wait(120), "the worker never reached the held message"
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    finally:
        if first.poll() is None:
            first.kill()
    assert sum(inbox.keys.values()) == HOLD_AT - 1
    with app.app_context():
        db.session.rollback()
        unsent = db.session.scalar(select(func.count()).select_from(RemindersSent).where(
            RemindersSent.key.in_(keys), RemindersSent.sent_at.is_(None)))
        assert unsent == BATCH - (HOLD_AT - 1)  # the held one: claimed, its attempt lost with the worker
        # The sweep finds the claims never sent once they are stale (here: at once) and queues them again.
        assert resend_stale(older_than=timedelta(0)) >= unsent
    second = _worker(app, port)
    try:
        assert second.wait(180) == 0
    finally:
        if second.poll() is None:
            second.kill()
    assert {k: inbox.keys[k] for k in keys} == {k: 1 for k in keys}
    with app.app_context():
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(RemindersSent).where(
            RemindersSent.key.in_(keys), RemindersSent.sent_at.is_(None))) == 0
