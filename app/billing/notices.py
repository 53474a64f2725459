"""The owners' billing mails: trial ending, payment failed, subscription changed.

Composed and queued by the RQ job that follows a billing event (`app.jobs.billing.follow_up_event`) or by the
nightly trial reminder, never inside the webhook's request: the webhook answers Stripe quickly.
"""
from __future__ import annotations

from datetime import datetime

from ..mail import queue_mail
from ..models import Account
from .sync import owner_emails

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
