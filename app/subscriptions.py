"""What a consultancy's plan allows now: the active-client limit, the trial, grace and read-only.

The one low module every entitlement check reads (permissions, client creation and unarchiving, the workspace
and portfolio blueprints, the billing page, jobs); the rules themselves are `workflows.billing`. With no Stripe
key configured (the embedded default) billing is off: no limits, nothing read-only.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_request_context, request
from sqlalchemy import func, select

import workflows.billing as wb

from . import clock
from .extensions import db
from .models import Account, BillingSubscription, Client
from .refusal import Refusal

BILLING_PATH = "/billing"  # the upgrade link in refusals (a plain path: refusals are text)


def billing_enabled() -> bool:
    return bool(current_app.config.get("STRIPE_API_KEY"))


def grace_days() -> int:
    return int(current_app.config.get("BILLING_GRACE_DAYS") or wb.DEFAULT_GRACE_DAYS)


def active_client_count(account_id: int) -> int:
    return db.session.scalar(select(func.count(Client.id)).where(Client.account_id == account_id,
                                                                 Client.archived_at.is_(None))) or 0


def live_subscription(account_id: int) -> BillingSubscription | None:
    return db.session.scalar(select(BillingSubscription).where(BillingSubscription.account_id == account_id,
                                                               BillingSubscription.status.in_(wb.LIVE_STATUSES)))


def trial_ends_at(account: Account):
    return account.trial_ends_at or wb.trial_end_for(account.created_at or clock.now())


@dataclass(frozen=True)
class Entitlement:
    """A consultancy's entitlement as the pages and checks need it."""

    enabled: bool
    plan: wb.Plan
    standing: wb.Standing
    active_clients: int

    @property
    def writable(self) -> bool:
        return not self.enabled or self.standing.writable

    @property
    def limit(self) -> int | None:
        return self.plan.client_limit if self.enabled else None


_OFF = wb.Standing(wb.WRITABLE, "off", "Billing is off")


def entitlement(account: Account) -> Entitlement:
    """Read afresh (the standing changes with the clock and with every webhook); cached per request."""
    cache = _request_cache()
    if account.id in cache:
        return cache[account.id]
    count = active_client_count(account.id)
    if not billing_enabled():
        result = Entitlement(False, wb.plan_for(account.plan), _OFF, count)
    else:
        sub = live_subscription(account.id)
        status = sub.status if sub is not None else (account.subscription_status or None)
        trial_end = (sub.trial_end if sub is not None and sub.trial_end else trial_ends_at(account))
        result = Entitlement(True, wb.plan_for(account.plan),
                             wb.standing(status, clock.now(), trial_end, account.past_due_since, grace_days()), count)
    cache[account.id] = result
    return result


def forget(account_id: int) -> None:
    """Drop the request's cached entitlement after a change (a client created, a webhook applied)."""
    _request_cache().pop(account_id, None)


def _request_cache() -> dict:
    # The request's own WSGI environ: an app context (and its `g`) may outlive one request, as in tests.
    return request.environ.setdefault("isopath.entitlements", {}) if has_request_context() else {}


def read_only_reason(account_id: int) -> str | None:
    """Why the consultancy's clients may not change now (None: they may). Never deletes, never hides."""
    if not billing_enabled():
        return None  # asked on every change and by every form: no query at all while billing is off
    account = db.session.get(Account, account_id)
    if account is None:
        return None
    ent = entitlement(account)
    return None if ent.writable else ent.standing.message


def check_room_for_client(account: Account) -> None:
    """Refuse (409) creating or re-activating a client beyond the plan's limit or while read-only.

    Takes the account's row lock, so two creations at once cannot both take the last slot.
    """
    if not billing_enabled():
        return
    db.session.execute(select(Account.id).where(Account.id == account.id).with_for_update())
    forget(account.id)
    ent = entitlement(account)
    room = wb.room_for_one_more(ent.plan, ent.active_clients, ent.standing)
    if not room.allowed:
        raise Refusal(f"{room.message} Change your plan on the Billing page: {BILLING_PATH}", 409)
