"""Stripe is the truth: every webhook and the nightly reconciliation mean "sync this consultancy from Stripe now".

The caller holds the consultancy's row lock (`lock_account`), so two events for one consultancy apply one after
the other and arrival order never matters: whatever arrives, the subscription is fetched afresh and applied.
Nothing here commits; the webhook and the jobs commit once, with the event id in the same transaction.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

import stripe
from sqlalchemy import func, select

import workflows.billing as wb

from .. import clock
from ..extensions import db
from ..jobs import queue
from ..models import Account, BillingEvent, BillingSubscription, CheckoutIntent
from ..subscriptions import active_client_count, billing_enabled, entitlement, forget, live_subscription
from ..transaction import after_commit
from .notices import notice_after_commit
from .stripe_api import price_ids, stripe_client

log = logging.getLogger(__name__)


def lock_account(account_id: int) -> Account | None:
    """The consultancy's row, locked until the transaction ends (serialises its syncs and checkouts)."""
    return db.session.scalar(select(Account).where(Account.id == account_id).with_for_update()
                             .execution_options(populate_existing=True))


def _moment(seconds) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=timezone.utc) if seconds else None


def _item(sub: dict) -> dict:
    items = (sub.get("items") or {}).get("data") or [{}]
    return items[0]


def _price_id(item: dict) -> str | None:
    price = item.get("price") or item.get("plan") or {}  # localstripe and older API versions: a plan
    return price.get("id") if isinstance(price, dict) else price


def fetch_subscriptions(account: Account) -> list[dict]:
    if not account.stripe_customer_id:
        return []
    found = stripe_client().v1.subscriptions.list(params={"customer": account.stripe_customer_id, "status": "all",
                                                          "limit": 20})
    return [s.to_dict() for s in found.data]


def sync_account(account: Account) -> list[str]:
    """Fetch the consultancy's subscriptions from Stripe and apply them; what changed, in words."""
    subs = fetch_subscriptions(account)
    return apply_subscriptions(account, subs + _missing_live(account, {s["id"] for s in subs}))


def _missing_live(account: Account, listed: set[str]) -> list[dict]:
    """A subscription live here that Stripe's list did not name: asked for by id, and ended if Stripe has none.

    (Deleted in the dashboard, or its customer deleted: without this the consultancy would stay "active" here.)
    """
    found = []
    rows = db.session.scalars(select(BillingSubscription).where(BillingSubscription.account_id == account.id,
                                                                BillingSubscription.status.in_(wb.LIVE_STATUSES)))
    for row in rows:
        if row.stripe_subscription_id in listed:
            continue
        try:
            found.append(stripe_client().v1.subscriptions.retrieve(row.stripe_subscription_id).to_dict())
        except stripe.InvalidRequestError as err:
            if err.http_status != 404:
                raise
            found.append({"id": row.stripe_subscription_id, "status": "canceled", "created": 0,
                          "cancel_at_period_end": False, "trial_end": None,
                          "items": {"data": [{"price": {"id": row.price_id}, "quantity": row.quantity}]}})
    return found


def apply_subscriptions(account: Account, subs: list[dict]) -> list[str]:
    changes: list[str] = []
    live = sorted((s for s in subs if s["status"] in wb.LIVE_STATUSES), key=lambda s: s.get("created") or 0)
    for extra in live[:-1]:
        # Two live subscriptions would charge twice: keep the newest, cancel the others at Stripe.
        stripe_client().v1.subscriptions.cancel(extra["id"], options={"idempotency_key": f"cancel-extra-{extra['id']}"})
        extra["status"] = "canceled"
        changes.append(f"canceled a second live subscription ({extra['id']})")
    # Ended ones first, so a new live row never meets the old one in the one-live-subscription index.
    for sub in sorted(subs, key=lambda s: s["status"] in wb.LIVE_STATUSES):
        changes += _store(account, sub)
    current = live[-1] if live else max(subs, key=lambda s: s.get("created") or 0, default=None)
    changes += _apply_to_account(account, current)
    forget(account.id)
    return changes


def _store(account: Account, sub: dict) -> list[str]:
    row = db.session.scalar(select(BillingSubscription)
                            .where(BillingSubscription.stripe_subscription_id == sub["id"]))
    item = _item(sub)
    values = {"status": sub["status"], "price_id": _price_id(item), "quantity": item.get("quantity") or 1,
              "current_period_end": _moment(item.get("current_period_end") or sub.get("current_period_end")),
              "trial_end": _moment(sub.get("trial_end")), "cancel_at_period_end": bool(sub.get("cancel_at_period_end"))}
    if row is None:
        row = BillingSubscription(account_id=account.id, stripe_subscription_id=sub["id"], **values)
        db.session.add(row)
        db.session.flush()
        return [f"subscription {sub['id']} recorded ({sub['status']})"]
    changed = [f"{key.replace('_', ' ')}: {getattr(row, key)} → {value}" for key, value in values.items()
               if key in ("status", "quantity", "price_id") and getattr(row, key) != value]
    for key, value in values.items():
        setattr(row, key, value)
    row.synced_at = clock.now()
    db.session.flush()
    return changed


def _apply_to_account(account: Account, sub: dict | None) -> list[str]:
    if sub is None:
        return []
    changes = []
    status = sub["status"]
    if account.subscription_status != status:
        changes.append(f"status: {wb.status_label(account.subscription_status)} → {wb.status_label(status)}")
        account.subscription_status = status
    chosen = wb.plan_of_price(price_ids(), _price_id(_item(sub)))
    if chosen is not None and (account.plan, account.billing_interval) != chosen:
        changes.append(f"plan: {wb.plan_for(account.plan).name} → {wb.plan_for(chosen[0]).name} ({chosen[1]}ly)")
        account.plan, account.billing_interval = chosen
    if status == "past_due" and account.past_due_since is None:
        account.past_due_since = clock.now()  # the grace period counts from the first failure we hear of
    elif status != "past_due":
        account.past_due_since = None
    if sub.get("trial_end"):
        account.trial_ends_at = _moment(sub["trial_end"])
    return changes


def record(event_id: str, type_: str, account_id: int | None, changes: list[str]) -> None:
    db.session.add(BillingEvent(event_id=event_id, type=type_, account_id=account_id,
                                detail="; ".join(changes) or None))
    db.session.flush()


def complete_checkout(account: Account, session: dict) -> None:
    intent = db.session.scalar(select(CheckoutIntent).where(CheckoutIntent.account_id == account.id,
                                                            CheckoutIntent.stripe_session_id == session.get("id")))
    if intent is not None and intent.completed_at is None:
        intent.completed_at = clock.now()
    if not account.stripe_customer_id and session.get("customer"):
        account.stripe_customer_id = session["customer"]


def wanted_quantity(account_id: int) -> int:
    return max(1, active_client_count(account_id))  # Stripe bills per unit; an empty consultancy pays for one


def update_quantity(account_id: int) -> str:
    """RQ job: the live subscription's quantity follows the active-client count (Stripe prorates)."""
    account = lock_account(account_id)
    sub = live_subscription(account_id) if account is not None else None
    if sub is None:
        db.session.rollback()
        return "no live subscription"
    count = wanted_quantity(account_id)
    if sub.quantity == count:
        db.session.rollback()
        return "quantity already right"
    client = stripe_client().v1.subscriptions
    item = _item(client.retrieve(sub.stripe_subscription_id).to_dict())
    updated = client.update(sub.stripe_subscription_id,
                            params={"items": [{"id": item["id"], "quantity": count}],
                                    "proration_behavior": "create_prorations"},
                            options={"idempotency_key": f"quantity-{sub.stripe_subscription_id}-{sub.quantity}-{count}"})
    changes = _store(account, updated.to_dict())
    record(f"quantity-{sub.stripe_subscription_id}-{clock.now():%Y%m%d%H%M%S%f}", "quantity.updated", account_id,
           changes)
    db.session.commit()
    return f"quantity {count}"


def subscriptions_for_reconciliation() -> list[int]:
    return list(db.session.scalars(select(Account.id).where(Account.stripe_customer_id.is_not(None))
                                   .order_by(Account.id)))


def reconcile_account(account_id: int) -> list[str]:
    """Compare one consultancy with Stripe and repair: status, plan, quantity; a local expiry cancels at Stripe."""
    account = lock_account(account_id)
    if account is None:
        return []
    changes = sync_account(account)
    sub = live_subscription(account_id)
    ent = entitlement(account)
    if sub is not None and ent.enabled and not ent.standing.writable:
        # Read-only here must never be charged there.
        canceled = stripe_client().v1.subscriptions.cancel(
            sub.stripe_subscription_id, options={"idempotency_key": f"cancel-expired-{sub.stripe_subscription_id}"})
        changes += apply_subscriptions(account, [canceled.to_dict()])
        changes.append("canceled at Stripe: the consultancy is read-only")
        notice_after_commit(account_id, "reconciliation", [f"{ent.standing.message}", "The subscription at Stripe "
                                                           "is canceled, so nothing more is charged."])
    elif sub is not None and sub.quantity != wanted_quantity(account_id):
        changes.append(f"quantity to {wanted_quantity(account_id)} (was {sub.quantity})")
        after_commit(_queue_quantity, account_id)
    if changes:
        record(f"reconcile-{account_id}-{clock.now():%Y%m%d%H%M%S%f}", "reconciliation", account_id, changes)
    return changes


def _queue_quantity(account_id: int) -> None:
    queue().enqueue(update_quantity, account_id, job_timeout=60)


def quantity_follows(account_id: int) -> None:
    """A client was created, archived or unarchived: once that commits, bring the subscription's quantity along."""
    if billing_enabled():
        after_commit(_queue_quantity, account_id)


def events_of(account_id: int, limit: int = 20) -> list[BillingEvent]:
    return list(db.session.scalars(select(BillingEvent).where(BillingEvent.account_id == account_id)
                                   .order_by(BillingEvent.received_at.desc()).limit(limit)))


def event_count(event_id: str) -> int:
    return db.session.scalar(select(func.count()).select_from(BillingEvent).where(BillingEvent.event_id == event_id))
