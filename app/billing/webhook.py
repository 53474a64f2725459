"""`POST /billing/webhook`: Stripe's events, verified, applied once, in any order.

The signature is checked on the raw body with the endpoint secret; anything unsigned, forged or older than
Stripe's 5-minute tolerance gets 400 and changes nothing. The event id is recorded under its unique key in the
same transaction as its effect: a replay finds the id and does nothing, and a crash before the commit loses
nothing (Stripe retries). The effect itself is always "sync this consultancy from Stripe now" under the
consultancy's row lock, so `updated` before `created`, or the same event twice at once, cannot roll it back.

Stripe wants an answer quickly: the request does only the verification, the state sync and the record. What
follows from the event (the owners' mails, the quantity pushed to Stripe) is an RQ job queued after the commit,
so a retried event, which finds its id recorded, queues nothing a second time.
"""
from __future__ import annotations

import logging

import stripe
from flask import request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import csrf, db
from ..models import Account, BillingEvent
from ..subscriptions import billing_enabled
from . import sync
from .notices import notice_after_commit
from .stripe_api import webhook_secret
from .views import bp

log = logging.getLogger(__name__)
TOLERANCE_SECONDS = 300  # Stripe's own default: a captured request replayed later is refused

HANDLED = {"checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
           "customer.subscription.deleted", "invoice.paid", "invoice.payment_failed",
           "customer.subscription.trial_will_end"}


@bp.post("/billing/webhook")
@csrf.exempt  # Stripe cannot hold a CSRF token: the signature on the raw body authenticates the request instead
def webhook():
    secret = webhook_secret()
    if not billing_enabled() or not secret:
        return {"error": "billing is off"}, 404
    payload = request.get_data(cache=False)
    try:
        event = stripe.Webhook.construct_event(payload, request.headers.get("Stripe-Signature"), secret,
                                               tolerance=TOLERANCE_SECONDS)
    except (ValueError, stripe.SignatureVerificationError):
        return {"error": "invalid signature or payload"}, 400
    try:
        applied = apply_event(event.to_dict())
    except stripe.StripeError:
        # Nothing was recorded (the transaction rolled back): answering non-2xx makes Stripe send it again.
        db.session.rollback()
        log.warning("Stripe unreachable while applying event %s; Stripe will retry it", event.id, exc_info=True)
        return {"error": "could not sync from Stripe now; retry"}, 503
    return {"received": True, "applied": applied}, 200


def _account_for(obj: dict) -> Account | None:
    customer = obj.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    if customer:
        found = db.session.scalar(select(Account).where(Account.stripe_customer_id == customer))
        if found is not None:
            return found
    # A Checkout session names the consultancy it was opened for (client_reference_id), before we know its customer.
    reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("account_id")
    if reference and str(reference).isdigit():
        return db.session.get(Account, int(reference))
    return None


def apply_event(event: dict) -> bool:
    """Apply one verified event once; False when it was seen already (nothing changes then)."""
    obj = (event.get("data") or {}).get("object") or {}
    account = _account_for(obj)
    if account is not None:
        account = sync.lock_account(account.id)
    if db.session.get(BillingEvent, event["id"]) is not None:
        db.session.rollback()
        return False
    changes: list[str] = []
    if account is not None and event["type"] in HANDLED:
        if event["type"] == "checkout.session.completed":
            sync.complete_checkout(account, obj)
        changes = sync.sync_account(account)
        _follow_up_later(account, event, changes)
    try:
        sync.record(event["id"], event["type"], account.id if account is not None else None, changes)
        db.session.commit()
    except IntegrityError:  # the same event at once for a consultancy we could not lock: the other one won
        db.session.rollback()
        return False
    return True


def _follow_up_later(account: Account, event: dict, changes: list[str]) -> None:
    """The slow part (the owners' mails, the quantity push to Stripe) as an RQ job queued once this commits."""
    obj = event["data"]["object"]
    notice_after_commit(account.id, event["type"], changes, obj.get("trial_end"))
    sync.quantity_follows(account.id)  # a subscription that began with fewer clients than are active now
