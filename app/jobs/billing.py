"""Billing jobs: the owners' notices after a billing event, the trial reminder, and the nightly reconciliation.

The reconciliation compares every consultancy with a Stripe customer with Stripe. Webhooks can be lost for good
(Stripe keeps undelivered events for 30 days only), and anyone with dashboard access can change or delete a
subscription behind the app's back: this re-syncs each consultancy under its row lock, one transaction each,
repairs status, plan and quantity, cancels at Stripe what is read-only here (grace over, trial over), and
records every repair as a billing event ("reconcile-…").
"""
import logging
from datetime import timedelta

from redis.exceptions import RedisError
from rq import Retry
from sqlalchemy import func, select

import workflows.billing as wb

from .. import clock
from ..billing import notices
from ..billing.sync import _moment, reconcile_account, record, subscriptions_for_reconciliation
from ..extensions import db
from ..models import Account, BillingEvent
from ..subscriptions import billing_enabled, grace_days, live_subscription
from ..transaction import after_commit
from . import queue

log = logging.getLogger(__name__)
TRIAL_REMINDER_DAYS = 3  # as Stripe's own trial_will_end, three days before


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
        mail = notices.trial_ending(account, _moment(trial_end))
    elif kind == "invoice.payment_failed":
        mail = notices.payment_failed(account, grace_days())
    elif changes:  # a subscription started, changed plan or status, or ended
        mail = notices.changed(account, clock.now(), changes)
    else:
        return 0
    sent = notices.send_to_owners(account, mail)
    db.session.rollback()
    return sent


def remind_trials_ending() -> dict:
    """Daily: the owners of a consultancy on the free trial (no card, so no Stripe subscription and no
    `trial_will_end` from Stripe) hear three days ahead that it ends; once per trial (a recorded event)."""
    if not billing_enabled():
        return {"billing": "off"}
    now = clock.now()
    ends = func.coalesce(Account.trial_ends_at, Account.created_at + timedelta(days=wb.TRIAL_DAYS))
    candidates = db.session.execute(select(Account.id, ends).where(
        Account.subscription_status.is_(None), ends > now, ends <= now + timedelta(days=TRIAL_REMINDER_DAYS))
        .order_by(Account.id)).all()
    reminded = []
    for account_id, trial_end in candidates:
        event_id = f"trial-reminder-{account_id}-{trial_end:%Y%m%d}"
        if live_subscription(account_id) is not None or db.session.get(BillingEvent, event_id) is not None:
            continue
        account = db.session.get(Account, account_id)
        record(event_id, "trial.reminder", account_id, [f"trial ends {trial_end:%Y-%m-%d}"])
        db.session.commit()  # recorded first: a reminder missed beats one sent every night
        notices.send_to_owners(account, notices.trial_ending(account, trial_end))
        reminded.append(account_id)
    db.session.rollback()
    return {"reminded": reminded}


def reconcile_billing() -> dict:
    if not billing_enabled():
        return {"billing": "off"}
    repaired, failed = {}, []
    for account_id in subscriptions_for_reconciliation():
        try:
            changes = reconcile_account(account_id)
            db.session.commit()
        except Exception:  # a Stripe error or anything else for one consultancy Stripe cannot answer for must not stop the rest
            db.session.rollback()
            log.exception("billing reconciliation failed for account %s", account_id)
            failed.append(account_id)
            continue
        if changes:
            repaired[account_id] = changes
    return {"repaired": repaired, "failed": failed}
