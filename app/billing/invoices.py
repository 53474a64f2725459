"""The consultancy's invoices as Stripe has them: the history, and a preview of the next one.

The preview is Stripe's own (`POST /v1/invoices/create_preview`, the successor of `GET /v1/invoices/upcoming`):
what Stripe will charge at the next renewal, prorations included, so the page never computes a price itself.
Stripe being unreachable never breaks the page: it says the amount is unavailable.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

import stripe

from .stripe_api import stripe_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    quantity: int | None
    amount: int  # in the currency's smallest unit
    proration: bool = False


@dataclass(frozen=True)
class NextInvoice:
    """The next invoice: `available` False when Stripe could not be asked (the page says so)."""

    available: bool
    date: datetime | None = None
    amount: int | None = None
    currency: str = ""
    lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def amount_text(self) -> str:
        return f"{self.amount / 100:,.2f} {self.currency.upper()}" if self.amount is not None else "unavailable"


def _moment(seconds) -> datetime | None:
    return datetime.fromtimestamp(seconds, tz=timezone.utc) if seconds else None


def history(account) -> tuple[list[dict], bool]:
    """The consultancy's invoices from Stripe, newest first; (rows, whether Stripe answered)."""
    if not account.stripe_customer_id:
        return [], True
    try:
        found = stripe_client().v1.invoices.list(params={"customer": account.stripe_customer_id, "limit": 24})
    except stripe.StripeError:
        log.warning("invoices of account %s could not be read from Stripe", account.id, exc_info=True)
        return [], False
    return [i.to_dict() for i in found.data], True


def _line(line: dict) -> InvoiceLine:
    parent = (line.get("parent") or {}).get("subscription_item_details") or {}
    return InvoiceLine(description=line.get("description") or "Subscription", quantity=line.get("quantity"),
                       amount=int(line.get("amount") or 0),
                       proration=bool(parent.get("proration") or line.get("proration")))


def next_invoice(account, sub) -> NextInvoice | None:
    """Stripe's preview of the live subscription's next invoice; None when no invoice will come."""
    if sub is None or not account.stripe_customer_id or sub.cancel_at_period_end:
        return None
    try:
        preview = stripe_client().v1.invoices.create_preview(params={
            "customer": account.stripe_customer_id, "subscription": sub.stripe_subscription_id}).to_dict()
    except stripe.InvalidRequestError:
        # Stripe answers 4xx when nothing is to be invoiced (a subscription ending, say): no next invoice.
        log.info("no upcoming invoice for account %s", account.id, exc_info=True)
        return None
    except stripe.StripeError:
        log.warning("the next invoice of account %s could not be previewed", account.id, exc_info=True)
        return NextInvoice(False, date=sub.current_period_end)
    lines = [_line(line) for line in (preview.get("lines") or {}).get("data") or []]
    when = _moment(preview.get("next_payment_attempt") or preview.get("period_end")) or sub.current_period_end
    amount = preview.get("amount_due")
    if amount is None:
        amount = preview.get("total")
    return NextInvoice(True, date=when, amount=amount, currency=preview.get("currency") or "", lines=lines)
