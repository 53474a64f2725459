"""The nightly billing reconciliation: every consultancy with a Stripe customer compared with Stripe.

Webhooks can be lost for good (Stripe keeps undelivered events for 30 days only), and anyone with dashboard
access can change a subscription behind the app's back: this re-syncs each consultancy under its row lock, one
transaction each, repairs status, plan and quantity, cancels at Stripe what is read-only here, and records every
repair as a billing event ("reconcile-…").
"""
import logging


from ..billing.sync import reconcile_account, subscriptions_for_reconciliation
from ..extensions import db
from ..subscriptions import billing_enabled

log = logging.getLogger(__name__)


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
