"""The periodic billing jobs: the daily reminder of free trials ending and the nightly reconciliation.

(The owners' notice that follows a billing event is `app.billing.notices.owner_notice`, queued after commit.)

The reconciliation compares every consultancy with a Stripe customer with Stripe. Webhooks can be lost for good
(Stripe keeps undelivered events for 30 days only), and anyone with dashboard access can change or delete a
subscription behind the app's back: this re-syncs each consultancy under its row lock, one transaction each,
repairs status, plan and quantity, cancels at Stripe what is read-only here (grace over, trial over), and
records every repair as a billing event ("reconcile-…").
"""
import logging
from datetime import timedelta

from sqlalchemy import func, select

import workflows.billing as wb

from .. import clock
from ..billing import notices
from ..billing.sync import reconcile_account, record, subscriptions_for_reconciliation
from ..extensions import db
from ..models import Account, BillingEvent
from ..subscriptions import billing_enabled, live_subscription

log = logging.getLogger(__name__)
TRIAL_REMINDER_DAYS = 3  # as Stripe's own trial_will_end, three days before


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
