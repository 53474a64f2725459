"""What a consultancy's subscription allows: plans by active clients, the trial, grace and read-only.

Plain rules over plain values (no Flask, no SQLAlchemy), so the entitlement checks, the billing page,
the webhook sync and the nightly reconciliation all read one set of rules. Prices are not here: the
Stripe price ids come from configuration and are looked up by (plan, interval).

Read-only never deletes anything: it only stops changes. Reading and export always work.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

TRIAL_DAYS = 14
TRIAL_PLAN = "practice"  # a new consultancy tries the product with the Practice limits, no card
DEFAULT_GRACE_DAYS = 14  # as long as Stripe's Smart Retries window (8 tries within 2 weeks)
DORMANT_DAYS = 60  # an active client with no activity this long is worth archiving (it frees a slot)
INTERVALS = ("month", "year")


@dataclass(frozen=True)
class Plan:
    key: str
    name: str
    client_limit: int | None  # None: unlimited

    @property
    def limit_text(self) -> str:
        return "unlimited active clients" if self.client_limit is None else f"up to {self.client_limit} active clients"


PLANS = (
    Plan("solo", "Solo", 5),
    Plan("practice", "Practice", 25),
    Plan("firm", "Firm", 100),
    Plan("enterprise", "Enterprise", None),
)
PLAN_BY_KEY = {p.key: p for p in PLANS}


def plan_for(key: str | None) -> Plan:
    """The plan of that key; an unknown or missing key (the old default "trial") means the trial's plan."""
    return PLAN_BY_KEY.get(key or "", PLAN_BY_KEY[TRIAL_PLAN])


def smallest_plan_for(active_clients: int) -> Plan:
    """The cheapest plan with room for this many active clients."""
    for plan in PLANS:
        if plan.client_limit is None or active_clients <= plan.client_limit:
            return plan
    return PLANS[-1]


# --- price ids from configuration ----------------------------------------------------------------

def parse_price_ids(text: str) -> dict[tuple[str, str], str]:
    """`solo:month=price_1,solo:year=price_2,…` into {(plan, interval): price id}; refused when malformed."""
    prices: dict[tuple[str, str], str] = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, sep, price = part.partition("=")
        plan, sep2, interval = key.strip().partition(":")
        if not sep or not sep2 or plan not in PLAN_BY_KEY or interval not in INTERVALS or not price.strip():
            raise ValueError(f"price ids look like solo:month=price_123 (got {part!r})")
        prices[(plan, interval)] = price.strip()
    return prices


def plan_of_price(prices: dict[tuple[str, str], str], price_id: str | None) -> tuple[str, str] | None:
    """(plan, interval) that a Stripe price id stands for, or None for a price we do not sell."""
    for key, value in prices.items():
        if value == price_id:
            return key
    return None


# --- status and entitlement ----------------------------------------------------------------------

WRITABLE, READ_ONLY = "writable", "read_only"

# Stripe subscription statuses that give full access; past_due gets the grace period.
PAID_STATUSES = ("active", "trialing")
LIVE_STATUSES = ("active", "trialing", "past_due", "incomplete", "unpaid")  # a subscription that still exists


@dataclass(frozen=True)
class Standing:
    """Where a consultancy stands: whether its data may change and what to tell the owner."""

    access: str  # WRITABLE or READ_ONLY
    reason: str  # trial, active, grace, trial_over, past_due_over, canceled, incomplete
    message: str
    days_left: int | None = None  # of the trial or of the grace period

    @property
    def writable(self) -> bool:
        return self.access == WRITABLE


def trial_end_for(created_at: datetime) -> datetime:
    return created_at + timedelta(days=TRIAL_DAYS)


def _days_until(moment: datetime, now: datetime) -> int:
    """Whole days left, counting a part day as one (the trial ends on the 14th day, not before)."""
    seconds = (moment - now).total_seconds()
    return max(0, int(-(-seconds // 86400)))


def standing(status: str | None, now: datetime, trial_ends_at: datetime | None = None,
             past_due_since: datetime | None = None, grace_days: int = DEFAULT_GRACE_DAYS) -> Standing:
    """The entitlement from the subscription's status (None: no subscription yet, the free trial).

    `past_due` keeps everything writable for `grace_days` from the first failed payment, then the
    consultancy is read-only until a payment succeeds; canceled or never paid after the trial is read-only.
    """
    if status in PAID_STATUSES:
        if status == "trialing" and trial_ends_at is not None:
            return Standing(WRITABLE, "trial", "Trial", _days_until(trial_ends_at, now))
        return Standing(WRITABLE, "active", "Subscription active")
    if status == "past_due":
        since = past_due_since or now
        grace_end = since + timedelta(days=grace_days)
        if now < grace_end:
            left = _days_until(grace_end, now)
            return Standing(WRITABLE, "grace",
                            f"The last payment failed. Update your payment details within {left} "
                            f"day{'s' if left != 1 else ''} to keep changing your clients' systems.", left)
        return Standing(READ_ONLY, "past_due_over",
                        "Payment is overdue, so your consultancy is read-only: everything is kept, and reading and "
                        "export still work. Update your payment details to make changes again.")
    if status in ("canceled", "unpaid", "incomplete_expired"):
        return Standing(READ_ONLY, "canceled",
                        "Your subscription has ended, so your consultancy is read-only: everything is kept, and "
                        "reading and export still work. Subscribe again to make changes.")
    if status == "incomplete":
        # The first payment is being confirmed: the trial (if any) still holds meanwhile.
        if trial_ends_at is not None and now < trial_ends_at:
            return Standing(WRITABLE, "trial", "Trial (waiting for payment confirmation)",
                            _days_until(trial_ends_at, now))
        return Standing(READ_ONLY, "incomplete",
                        "Waiting for payment confirmation: your consultancy is read-only until the payment goes "
                        "through. Everything is kept.")
    # No subscription: the free trial.
    if trial_ends_at is None or now < trial_ends_at:
        left = _days_until(trial_ends_at, now) if trial_ends_at is not None else None
        return Standing(WRITABLE, "trial", "Trial", left)
    return Standing(READ_ONLY, "trial_over",
                    "Your trial has ended, so your consultancy is read-only: everything is kept, and reading and "
                    "export still work. Subscribe to make changes.")


@dataclass(frozen=True)
class Room:
    """Whether one more client may be active, and why not."""

    allowed: bool
    message: str = ""


def room_for_one_more(plan: Plan, active_clients: int, current: Standing) -> Room:
    """May a client be created or re-activated, with `active_clients` active now?"""
    if not current.writable:
        return Room(False, current.message)
    if plan.client_limit is not None and active_clients >= plan.client_limit:
        bigger = next((p for p in PLANS if p.client_limit is None or p.client_limit > active_clients), None)
        upgrade = f" Upgrade to {bigger.name} ({bigger.limit_text})" if bigger else " Upgrade your plan"
        return Room(False, f"Your {plan.name} plan allows {plan.client_limit} active clients and you have "
                           f"{active_clients}.{upgrade}, or archive a client you no longer work with "
                           "(archiving keeps everything).")
    return Room(True)


def is_dormant(last_activity_at: datetime | None, created_at: datetime, now: datetime,
               days: int = DORMANT_DAYS) -> bool:
    """No activity for `days` (a client never touched counts from its creation)."""
    return (last_activity_at or created_at) <= now - timedelta(days=days)


def status_label(status: str | None) -> str:
    return {None: "Free trial", "trialing": "Trial", "active": "Active", "past_due": "Payment overdue",
            "canceled": "Canceled", "unpaid": "Unpaid", "incomplete": "Waiting for payment confirmation",
            "incomplete_expired": "Payment not completed"}.get(status, status or "Free trial")
