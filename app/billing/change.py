"""`POST /billing/plan`: a consultancy that subscribes already changes plan or billing interval in the app.

Refused (409) when the plan's limit is below the active clients now, with the reason. Otherwise the
subscription's price changes at Stripe, prorated, and the answer is applied at once, so the page shows the new
plan before Stripe's webhook arrives (which then finds nothing left to change). The Stripe call carries an
idempotency key made from the subscription and the number of plan changes recorded before: a double click
waits on the consultancy's row lock and then finds the plan changed already; a retry after a lost answer
reaches Stripe with the same key and gets the same answer back.
"""
from __future__ import annotations

import logging

import stripe
from flask import flash, g, redirect, url_for
from flask_login import login_required
from sqlalchemy import func, select

import workflows.billing as wb

from ..extensions import db
from ..models import BillingEvent
from ..subscriptions import active_client_count, live_subscription
from . import sync
from .notices import notice_after_commit
from .stripe_api import stripe_client
from .views import _back, bp, chosen_plan

log = logging.getLogger(__name__)
PLAN_CHANGED = "plan.changed"  # the billing event recorded for each change made here


def refusal_for(target: wb.Plan, active_clients: int) -> str | None:
    if target.client_limit is None or active_clients <= target.client_limit:
        return None
    extra = active_clients - target.client_limit
    return (f"The {target.name} plan allows {target.client_limit} active clients and you have {active_clients}. "
            f"Archive {extra} client{'s' if extra != 1 else ''} first (archiving keeps everything), or choose a "
            "larger plan.")


@bp.post("/billing/plan")
@login_required
def change_plan():
    plan, interval, price = chosen_plan()
    if price is None:
        return _back("Choose one of the plans listed, monthly or yearly.", 422)
    account = sync.lock_account(g.account.id)  # a double click: the second waits here, then finds it done
    sub = live_subscription(account.id)
    if sub is None:
        return _back("Your consultancy has no subscription to change: subscribe first.", 409)
    target = wb.plan_for(plan)
    if sub.price_id == price:
        db.session.rollback()
        flash(f"Your consultancy is on {target.name}, billed {interval}ly, already: nothing changed.", "info")
        return redirect(url_for("billing.index"), 303)
    refused = refusal_for(target, active_client_count(account.id))
    if refused:
        return _back(refused, 409)
    done = db.session.scalar(select(func.count()).select_from(BillingEvent).where(
        BillingEvent.account_id == account.id, BillingEvent.type == PLAN_CHANGED))
    key = f"plan-{sub.stripe_subscription_id}-{done + 1}-{price}"
    subscriptions = stripe_client().v1.subscriptions
    try:
        item = sync._item(subscriptions.retrieve(sub.stripe_subscription_id).to_dict())
        updated = subscriptions.update(sub.stripe_subscription_id, params={
            # The same key must always carry the same parameters (Stripe refuses a reuse that differs), so the
            # quantity is not sent here: it follows the active clients by its own job.
            "items": [{"id": item["id"], "price": price}],
            "proration_behavior": "create_prorations"}, options={"idempotency_key": key}).to_dict()
    except stripe.StripeError:
        log.exception("plan change for account %s failed", account.id)
        return _back("Stripe could not be reached just now, so your plan is unchanged. Try again in a minute.", 503)
    changes = sync.apply_subscriptions(account, [updated])
    sync.record(f"{key}-applied", PLAN_CHANGED, account.id, changes)
    notice_after_commit(account.id, "customer.subscription.updated", changes)
    sync.quantity_follows(account.id)
    db.session.commit()
    flash(f"Your plan is now {target.name}, billed {interval}ly. Stripe prorates the difference on the next "
          "invoice.", "success")
    return redirect(url_for("billing.index"), 303)
