"""The outbox: every message claimed once by its idempotency key, then sent by a job, exactly once.

`claim` inserts the message under its key in the caller's transaction (INSERT … ON CONFLICT DO NOTHING): a
second sweep, a retry or a parallel sweep finds the key taken and claims nothing. The send job is enqueued
only after that transaction commits. `send_message` locks the row, sends, and marks it sent; a claim whose
job was lost (a killed worker, Redis down at enqueue) is found by `resend_stale` and sent once.
"""
from __future__ import annotations

import hashlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email import policy
from email.message import EmailMessage

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import select

from workflows import reminders as rules

from .. import clock
from ..bulk import insert_rows
from ..accounts import mailed_link
from ..extensions import db
from ..mail import Connection, deliver, mail_queue
from ..models import RemindersSent
from ..transaction import after_commit

log = logging.getLogger("isopath.notify")
STALE_AFTER = timedelta(minutes=15)  # a claim this old and never sent lost its job
SEND_BATCH = 50  # messages per send job (and per SMTP connection)
MAX_ATTEMPTS = 6  # a message the mail server keeps refusing is left to an operator (RQ's failed jobs)
RETRY_INTERVALS = [30, 120, 600]  # seconds: a mail server restarting
# Headers up to RFC 5322's hard limit: folded at 78, a long List-Unsubscribe URL came out as encoded words
# that no mail client reads as a link.
MAIL_POLICY = policy.default.clone(max_line_length=998)


@dataclass(frozen=True)
class Message:
    key: str
    kind: str
    user_id: int
    email: str
    client_id: int | None
    subject: str
    line: str  # the first line: what happened
    link: str  # absolute, on BASE_URL
    link_label: str
    details: tuple[str, ...] = ()  # further lines (the morning brief's rows are passed as `rows` instead)
    rows: tuple = ()  # (client name, link, reasons) of a brief
    sections: tuple = ()  # (heading, lines) of a weekly digest
    held: tuple = ()  # (text, link) of the notices a digest carries
    carries: tuple[int, ...] = ()  # ids of the held notices this digest delivers (no longer pending once claimed)
    hold: bool = False  # for a person who takes this kind in their digest: the key is claimed, nothing mailed

    def content(self) -> dict:
        """What the message says, kept with its claim; the send job composes the mail from it."""
        content = dict(line=self.line, link=self.link, link_label=self.link_label)
        for name in ("details", "rows", "sections", "held"):  # most messages have none of these
            if getattr(self, name):
                content[name] = list(getattr(self, name))
        return content


# ---- signed one-click unsubscribe ------------------------------------------------------------------------
def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="isopath-unsubscribe")


def unsubscribe_token(user_id: int, kind_key: str) -> str:
    return _signer().dumps([user_id, kind_key])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, kind) of a link we signed; None for a tampered or made-up one."""
    try:
        user_id, kind_key = _signer().loads(token or "")
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(user_id, int) or kind_key not in rules.KIND_BY_KEY:
        return None
    return user_id, kind_key


# ---- claim and compose ----------------------------------------------------------------------------------
def claim(message: Message) -> bool:
    """Record the message under its key in the current transaction; False if the key was already claimed.
    The send job is queued once the transaction commits (a rolled-back change sends nothing)."""
    return message.key in claim_many([message])


def claim_many(messages: list[Message]) -> set[str]:
    """`claim` for many messages in one statement (the sweep's batches); returns the keys this call claimed.
    What a message says is kept as data, not as mail: rendering waits for the send job (a first sweep at
    2,000 clients claims some 130,000 messages; a digest's held notice is never mailed on its own)."""
    if not messages:
        return set()
    now = clock.now()
    rows = [dict(key=m.key, kind=m.kind, user_id=m.user_id, client_id=m.client_id, to_email=m.email,
                 subject=m.subject[:300], content=m.content(), claimed_at=now, held=m.hold) for m in messages]
    claimed = set(insert_rows(RemindersSent.__table__, rows, skip_conflicts_on="key", returning="key"))
    to_send = [m.key for m in messages if m.key in claimed and not m.hold]
    if to_send:
        after_commit(enqueue_all, to_send)
    return claimed


def _composed(row: RemindersSent) -> tuple[str, str, str | None]:
    """Text, HTML and unsubscribe link of a claimed message (as claimed, for rows kept with their bodies)."""
    if row.content is None:
        return row.body_text or "", row.body_html or "", row.unsubscribe_url
    kind = rules.kind(row.kind)
    message = Message(row.key, row.kind, row.user_id, row.to_email, row.client_id, row.subject, **row.content)
    unsubscribe = None if kind.mandatory else mailed_link(
        "notify.unsubscribe", token=unsubscribe_token(row.user_id, kind.key))
    context = dict(message=message, kind=kind, unsubscribe=unsubscribe, settings_link=mailed_link("notify.settings"))
    # The templates alone, not Flask's page context (no logged-in user in a job): mail needs none of it.
    env = current_app.jinja_env
    return (env.get_template("notify/mail.txt").render(**context), env.get_template("notify/mail.html").render(**context),
            unsubscribe)


def enqueue_all(keys: list[str]) -> None:
    """One job per SEND_BATCH messages (sent over one SMTP connection; RQ costs some twenty Redis round trips
    per job), queued in one pipelined round trip per thousand jobs (a sweep queues thousands)."""
    intervals = current_app.config.get("MAIL_RETRY_INTERVALS", RETRY_INTERVALS)
    queue = mail_queue()
    batches = [keys[i:i + SEND_BATCH] for i in range(0, len(keys), SEND_BATCH)]
    try:
        for i in range(0, len(batches), 1000):
            queue.enqueue_many([Queue.prepare_data(send_messages, (batch,), job_id=batch_job_id(batch),
                                                   timeout=120 + 10 * len(batch), result_ttl=0,
                                                   failure_ttl=7 * 86400,
                                                   retry=Retry(max=len(intervals), interval=intervals))
                                for batch in batches[i:i + 1000]])
    except RedisError:  # the claims stay unsent: the next sweep finds them stale and queues them again
        log.warning("could not queue %d messages (Redis unreachable)", len(keys), exc_info=True)


def job_id(key: str) -> str:
    """RQ job ids take letters, digits, - and _ only: a digest of the key (one job per message)."""
    return "msg-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def batch_job_id(keys: list[str]) -> str:
    return job_id(keys[0]) if len(keys) == 1 else "msgs-" + hashlib.sha256("\n".join(keys).encode()).hexdigest()[:40]


def enqueue_send(key: str) -> None:
    intervals = current_app.config.get("MAIL_RETRY_INTERVALS", RETRY_INTERVALS)
    try:
        mail_queue().enqueue(send_message, key, job_id=job_id(key), retry=Retry(max=len(intervals),
                                                                                  interval=intervals),
                             job_timeout=120, result_ttl=0, failure_ttl=7 * 86400)
    except RedisError:  # the claim stays unsent: the next sweep finds it stale and queues it again
        log.warning("could not queue message %s (Redis unreachable)", key, exc_info=True)


# ---- send ------------------------------------------------------------------------------------------------
def _mime(row: RemindersSent) -> EmailMessage:
    msg = EmailMessage(policy=MAIL_POLICY)
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = row.to_email
    msg["Subject"] = row.subject
    # One Message-ID per message key: a copy sent again after a crash between the server's "250" and our
    # commit is the same message to the mail servers and clients that drop duplicates by Message-ID.
    msg["Message-ID"] = f"<{job_id(row.key)}@isopath>"
    msg["X-ISOpath-Key"] = row.key  # lets an operator (and the tests) tell one message from another
    text, html, unsubscribe = _composed(row)
    if unsubscribe:
        # RFC 8058: a mail client may POST "List-Unsubscribe=One-Click" to the URL, without a login.
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def _permanent(err: smtplib.SMTPException) -> bool:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in err.recipients.values())
    return isinstance(err, smtplib.SMTPResponseException) and 500 <= err.smtp_code < 600


def send_messages(keys: list[str]) -> str:
    """The send job of a batch: each message as `send_message` does, over one SMTP connection. Trouble with one
    raises and the job is retried whole; those already sent are not sent again (their rows say so)."""
    connection = Connection()
    try:
        outcomes = [send_message(key, connection) for key in keys]
    finally:
        connection.close()
    return f"{outcomes.count('sent')} of {len(keys)} sent"


def send_message(key: str, connection: Connection | None = None) -> str:
    """The send job: send the claimed message unless it went out already; SMTP trouble raises (RQ retries
    with backoff), a permanent refusal (5xx) is recorded and not retried."""
    row = db.session.scalar(select(RemindersSent).where(RemindersSent.key == key).with_for_update())
    if row is None or row.sent_at is not None or row.failed_at is not None or row.held:
        db.session.rollback()
        return "nothing to send"
    row.attempts += 1
    try:
        connection.send(_mime(row)) if connection is not None else deliver(_mime(row))
    except smtplib.SMTPException as err:
        if not _permanent(err):
            db.session.commit()  # the attempt is counted; the lock goes with the commit
            raise
        row.failed_at, row.error = clock.now(), str(err)[:500]
        db.session.commit()
        log.warning("message %s refused for good: %s", key, err)
        return "refused"
    except OSError:
        db.session.commit()
        raise
    row.sent_at = clock.now()
    db.session.commit()
    return "sent"


def resend_stale(older_than: timedelta = STALE_AFTER) -> int:
    """Queue again every claim never sent for longer than `older_than`: its job was lost. The send job
    re-checks under the row lock, so a job that was only slow still sends once."""
    cutoff = clock.now() - older_than
    keys = db.session.scalars(select(RemindersSent.key).where(
        RemindersSent.sent_at.is_(None), RemindersSent.failed_at.is_(None), RemindersSent.claimed_at < cutoff,
        RemindersSent.held.is_(False),
        RemindersSent.attempts < MAX_ATTEMPTS)
        .order_by(RemindersSent.claimed_at)).all()
    db.session.rollback()
    for key in keys:
        enqueue_send(key)
    return len(keys)
