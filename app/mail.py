"""Outgoing mail over SMTP (`SMTP_URL`), or to the console log in development."""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

from flask import current_app

log = logging.getLogger("isopath.mail")


def send_mail(to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    url = current_app.config["SMTP_URL"]
    if not url:
        log.info("mail (no SMTP_URL set, not sent)\nTo: %s\nSubject: %s\n\n%s", to, subject, body)
        return
    parts = urlparse(url)
    smtp_cls = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    with smtp_cls(parts.hostname or "127.0.0.1", parts.port or (465 if parts.scheme == "smtps" else 25), timeout=10) as smtp:
        if parts.scheme == "smtp+starttls":
            smtp.starttls()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(msg)
