"""Outgoing mail over SMTP (`SMTP_URL`), or to the console log in development.

Pages hand their mail to the worker (`queue_mail`): an SMTP server that is slow or down then never holds up a
page, and a failed delivery is retried. Only with Redis unreachable is the mail sent from the request itself.
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Retry

from .jobs import MAIL_QUEUE
from .redis_conn import get_redis

log = logging.getLogger("isopath.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    deliver(msg)


def deliver(msg: EmailMessage) -> None:
    """Hand one message to the SMTP server; SMTP errors propagate (the job decides on a retry)."""
    connection = Connection()
    try:
        connection.send(msg)
    finally:
        connection.close()


class Connection:
    """One SMTP connection for several messages (a send job's batch), opened for the first one."""

    def __init__(self):
        self._smtp = None

    def send(self, msg: EmailMessage) -> None:
        url = current_app.config["SMTP_URL"]
        if not url:
            log.info("mail (no SMTP_URL set, not sent)\nTo: %s\nSubject: %s\n\n%s", msg["To"], msg["Subject"],
                     msg.get_body(("plain",)).get_content() if msg.is_multipart() else msg.get_content())
            return
        if self._smtp is None:
            self._smtp = _connect(url)
        try:
            self._smtp.send_message(msg)
        except smtplib.SMTPServerDisconnected:
            self._smtp = None
            raise

    def close(self) -> None:
        if self._smtp is not None:
            smtp, self._smtp = self._smtp, None
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _connect(url: str) -> smtplib.SMTP:
    parts = urlparse(url)
    smtp_cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    smtp = smtp_cls(parts.hostname or "127.0.0.1", parts.port or (465 if parts.scheme == "smtps" else 25), timeout=10)
    try:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def mail_queue() -> Queue:
    return Queue(MAIL_QUEUE, connection=get_redis())


def queue_mail(to: str, subject: str, body: str) -> None:
    """Send a mail from the worker; from here and now if Redis can't take it (a slow page beats a lost mail)."""
    try:
        # Retried for a while (a mail server restarting); kept no longer than an invitation lives once it failed.
        mail_queue().enqueue(send_mail, to, subject, body, retry=Retry(max=3, interval=[30, 120, 600]),
                             job_timeout=120, result_ttl=0, failure_ttl=7 * 86400)
    except RedisError:
        log.warning("could not queue a mail to %s (Redis unreachable): sending it now", to, exc_info=True)
        send_mail(to, subject, body)
