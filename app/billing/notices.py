"""The owners' billing mails: trial ending, payment failed, subscription changed.

Composed and queued by the RQ job that follows a billing event (`owner_notice`, queued after the commit by
`notice_after_commit`) or by the daily trial reminder (`app.jobs.billing.remind_trials_ending`), never inside
the webhook's request: the webhook answers Stripe quickly.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..jobs import queue
from ..mail import queue_mail
from ..models import Account, AccountMember, User
from ..subscriptions import grace_days
from ..transaction import after_commit

log = logging.getLogger(__name__)

TRIAL_ENDING = "Your ISOpath trial ends soon"
PAYMENT_FAILED = "ISOpath: a payment failed"
CHANGED = "ISOpath: your subscription changed"


def trial_ending(account: Account, ends: datetime | None) -> tuple[str, str]:
    return TRIAL_ENDING, ((f"The trial of {account.name} ends on {ends:%d %B %Y}." if ends else
                           f"The trial of {account.name} ends soon.") +
                          "\n\nSubscribe on the Billing page to keep changing your clients' quality systems; "
                          "nothing is deleted if you don't, and reading and export keep working.\n")


def payment_failed(account: Account, grace_days: int) -> tuple[str, str]:
    return PAYMENT_FAILED, (f"Stripe could not collect the payment for {account.name}.\n\nUpdate your payment "
                            f"details on the Billing page within {grace_days} days of the first failure to keep "
                            "changing your clients' systems. After that your consultancy becomes read-only: nothing "
                            "is deleted, and reading and export keep working.\n")


def changed(account: Account, on: datetime, changes: list[str]) -> tuple[str, str]:
    return CHANGED, (f"The subscription of {account.name} changed on {on:%d %B %Y}:\n\n"
                     + "\n".join(f"- {c}" for c in changes) + "\n")


def send_to_owners(account: Account, mail: tuple[str, str]) -> int:
    """Queue the mail to every owner of the consultancy; how many."""
    subject, body = mail
    emails = owner_emails(account.id)
    for email in emails:
        queue_mail(email, subject, body)
    return len(emails)


def owner_emails(account_id: int) -> list[str]:
    return list(db.session.scalars(select(User.email).join(AccountMember, AccountMember.user_id == User.id)
                                   .where(AccountMember.account_id == account_id, AccountMember.role == "owner")
                                   .order_by(User.email)))


def wants_notice(kind: str, changes: list[str]) -> bool:
    return kind in ("customer.subscription.trial_will_end", "invoice.payment_failed") or bool(changes)


def notice_after_commit(account_id: int, kind: str, changes: list[str], trial_end=None) -> None:
    """Once the transaction commits, queue the owners' mail for this event (if it calls for one)."""
    if wants_notice(kind, changes):
        after_commit(_enqueue_notice, account_id, kind, list(changes), trial_end)


def _enqueue_notice(account_id: int, kind: str, changes: list[str], trial_end) -> None:
    try:
        queue().enqueue(owner_notice, account_id, kind, changes, trial_end, job_timeout=120,
                        retry=Retry(max=3, interval=[30, 120, 600]), failure_ttl=7 * 86400)
    except RedisError:  # the change is committed: a slow answer beats a lost mail
        log.warning("could not queue the billing notice for account %s: sending it now", account_id, exc_info=True)
        owner_notice(account_id, kind, changes, trial_end)


def owner_notice(account_id: int, kind: str, changes: list[str], trial_end=None) -> int:
    """RQ job after a billing event: the mail the owners get for it; how many were queued."""
    account = db.session.get(Account, account_id)
    if account is None:
        return 0
    if kind == "customer.subscription.trial_will_end":
        mail = trial_ending(account, datetime.fromtimestamp(trial_end, tz=timezone.utc) if trial_end else None)
    elif kind == "invoice.payment_failed":
        mail = payment_failed(account, grace_days())
    elif changes:  # a subscription started, changed plan or status, or ended
        mail = changed(account, clock.now(), changes)
    else:
        return 0
    sent = send_to_owners(account, mail)
    db.session.rollback()
    return sent
