"""`/billing`: the owner's page for the consultancy's plan, its active-client meter, Checkout and the Portal.

Owners only; anyone else gets 404 (a consultant does not learn the page exists). With billing off (no Stripe
key) the page says so and nothing is limited.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import stripe
from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import workflows.billing as wb

from .. import clock
from ..accounts import mailed_link
from ..extensions import db
from ..models import CheckoutIntent, Client, ClientSummary
from ..permissions import ACCOUNT_OWNERS, current_account
from ..subscriptions import billing_enabled, entitlement, live_subscription, trial_ends_at
from ..templating import render
from .invoices import history, next_invoice
from .stripe_api import price_ids, stripe_client
from .sync import lock_account, wanted_quantity

log = logging.getLogger(__name__)
bp = Blueprint("billing", __name__)
INTENT_REUSE = timedelta(hours=23)  # Stripe keeps an idempotency key 24 h; a Checkout session lives 24 h


@bp.app_context_processor
def _billing_banner():
    """The consultancy's standing above every page of it, when it is not simply paid up (or billing is off)."""
    if not billing_enabled() or not current_user.is_authenticated:
        return {}
    client = g.get("client")
    if client is not None:
        account, role = client.account, g.get("client_role")
    else:
        current = current_account()
        if current is None:
            return {}
        account, role = current
    ent = entitlement(account)
    if ent.standing.writable and ent.standing.reason != "grace":
        return {}
    return {"billing_banner": {"message": ent.standing.message, "level": "warn" if ent.standing.writable else "bad",
                               "owner": role in ACCOUNT_OWNERS}}


def _owner_only():
    current = current_account()
    if current is None or current[1] not in ACCOUNT_OWNERS:
        abort(404)  # the same answer whether the page exists for them or not
    g.account, g.account_role = current


@dataclass(frozen=True)
class MeterRow:
    client: Client
    last_activity_at: datetime | None
    dormant: bool


def meter(account_id: int) -> list[MeterRow]:
    """Every active client counts this period; those with no activity for 60 days are flagged dormant."""
    now = clock.now()
    rows = db.session.execute(select(Client, ClientSummary.last_activity_at)
                              .outerjoin(ClientSummary, ClientSummary.client_id == Client.id)
                              .where(Client.account_id == account_id, Client.archived_at.is_(None))
                              .order_by(ClientSummary.last_activity_at.asc().nulls_first(), Client.name)).all()
    return [MeterRow(c, last, wb.is_dormant(last, c.created_at or now, now)) for c, last in rows]


def _open_intent(account_id: int) -> CheckoutIntent | None:
    return db.session.scalar(select(CheckoutIntent).where(CheckoutIntent.account_id == account_id,
                                                          CheckoutIntent.completed_at.is_(None),
                                                          CheckoutIntent.closed_at.is_(None)))


@bp.get("/billing")
@login_required
def index():
    _owner_only()
    account = g.account
    ent = entitlement(account)
    sub = live_subscription(account.id) if ent.enabled else None
    intent = _open_intent(account.id) if ent.enabled else None
    waiting = intent is not None and intent.stripe_session_id is not None and sub is None
    invoices, invoices_ok = history(account) if ent.enabled else ([], True)
    upcoming = next_invoice(account, sub) if ent.enabled else None
    prices = price_ids() if ent.enabled else {}
    return render("billing/index.html", ent=ent, sub=sub, waiting=waiting, invoices=invoices,
                  invoices_ok=invoices_ok, upcoming=upcoming, rows=meter(account.id), plans=wb.PLANS, prices=prices,
                  trial_end=trial_ends_at(account), status_label=wb.status_label(account.subscription_status),
                  suggested=wb.smallest_plan_for(ent.active_clients), moment_of=_moment)


def _moment(seconds):
    return datetime.fromtimestamp(seconds, tz=clock.now().tzinfo) if seconds else None


def chosen_plan() -> tuple[str, str, str | None]:
    """For the owner's plan forms (subscribe, change plan): the plan and interval asked for and their Stripe
    price (None if not one offered). Anyone but an owner, or billing off: 404."""
    _owner_only()
    if not entitlement(g.account).enabled:
        abort(404)
    plan, interval = request.form.get("plan", ""), request.form.get("interval", "")
    return plan, interval, price_ids().get((plan, interval))


def _back(message: str, status: int):
    db.session.rollback()
    flash(message, "error")
    page = index()
    return page, status


@bp.post("/billing/checkout")
@login_required
def checkout():
    """Subscribe (or change plan) through Stripe Checkout; a double click reaches Stripe with one key."""
    plan, interval, price = chosen_plan()
    if price is None:
        return _back("Choose one of the plans listed, monthly or yearly.", 422)
    account = lock_account(g.account.id)  # two clicks at once: the second waits, then finds the first's intent
    if live_subscription(account.id) is not None:
        return _back("Your consultancy has a subscription already: change its plan under Change plan on this "
                     "page.", 409)
    intent = _open_intent(account.id)
    same = (intent is not None and (intent.plan, intent.interval) == (plan, interval)
            and intent.created_at > clock.now() - INTENT_REUSE)
    if same and intent.url:
        db.session.rollback()
        return redirect(intent.url, 303)
    if not same:
        if intent is not None:
            intent.closed_at = clock.now()  # another choice replaces it
            db.session.flush()
        intent = CheckoutIntent(account_id=account.id, plan=plan, interval=interval,
                                idempotency_key=f"checkout-{account.id}-{secrets.token_hex(16)}")
        db.session.add(intent)
    # The key is stored before the first call: a second click (or a retry) while the first is still talking
    # to Stripe sends the same key, and Stripe answers with the same Checkout session.
    db.session.commit()
    try:
        session = _create_session(lock_account(account.id), intent, price)
    except stripe.StripeError:
        log.exception("Checkout session for account %s failed", account.id)
        # Stripe keeps a failed call's answer under its key for 24 h: the next try needs an intent of its own.
        db.session.rollback()
        failed = db.session.get(CheckoutIntent, intent.id)
        failed.closed_at = clock.now()
        db.session.commit()
        return _back("Stripe could not be reached just now. Nothing was charged; try again in a minute.", 503)
    intent = db.session.get(CheckoutIntent, intent.id)
    intent.stripe_session_id, intent.url = session["id"], session["url"]
    db.session.commit()
    return redirect(session["url"], 303)


def _create_session(account, intent: CheckoutIntent, price: str) -> dict:
    client = stripe_client().v1
    if not account.stripe_customer_id:
        customer = client.customers.create(
            params={"name": account.name, "email": current_user.email, "metadata": {"account_id": str(account.id)}},
            options={"idempotency_key": f"customer-{intent.idempotency_key}"})
        account.stripe_customer_id = customer.id
        db.session.commit()
    session = client.checkout.sessions.create(params={
        "mode": "subscription", "customer": account.stripe_customer_id, "client_reference_id": str(account.id),
        "line_items": [{"price": price, "quantity": wanted_quantity(account.id)}],
        "subscription_data": {"metadata": {"account_id": str(account.id)}},
        "metadata": {"account_id": str(account.id), "intent": str(intent.id)},
        "success_url": mailed_link("billing.index") + "?checkout=done",
        "cancel_url": mailed_link("billing.index") + "?checkout=canceled",
    }, options={"idempotency_key": intent.idempotency_key})
    return session.to_dict()


@bp.post("/billing/portal")
@login_required
def portal():
    """Payment details, invoices and cancelling, in Stripe's Customer Portal."""
    _owner_only()
    if not entitlement(g.account).enabled:
        abort(404)
    if not g.account.stripe_customer_id:
        return _back("Subscribe first: the Customer Portal manages an existing subscription.", 409)
    try:
        session = stripe_client().v1.billing_portal.sessions.create(params={
            "customer": g.account.stripe_customer_id, "return_url": mailed_link("billing.index")})
    except stripe.StripeError:
        log.exception("Portal session for account %s failed", g.account.id)
        return _back("Stripe could not be reached just now; try again in a minute.", 503)
    return redirect(session.url, 303)
