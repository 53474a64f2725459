"""Billing tables in the shared schema: the consultancy's Stripe subscription and its Checkout intents."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from tenants.base import SharedModel

# Statuses of a subscription that still exists at Stripe (workflows.billing.LIVE_STATUSES).
LIVE_SUBSCRIPTION = "status IN ('active', 'trialing', 'past_due', 'incomplete', 'unpaid')"


class BillingSubscription(SharedModel):
    """A Stripe subscription of a consultancy, as last synced from Stripe (Stripe is the truth)."""

    __tablename__ = "billing_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    stripe_subscription_id: Mapped[str] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(40))
    price_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    trial_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    synced_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    # At most one live subscription per consultancy: a second one is a double charge.
    __table_args__ = (Index("uq_billing_subscriptions_one_live", "account_id", unique=True,
                            postgresql_where=text(LIVE_SUBSCRIPTION)),)


class CheckoutIntent(SharedModel):
    """An owner's wish to subscribe or change plan, with the idempotency key its Stripe call carries.

    The key is made before the first call and kept here, so a double click or a retry reaches Stripe with the
    same key and gets the same Checkout session back.
    """

    __tablename__ = "checkout_intents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    plan: Mapped[str] = mapped_column(String(40))
    interval: Mapped[str] = mapped_column(String(10))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    # One open intent per consultancy: the page's "waiting for payment confirmation" is about that one.
    __table_args__ = (Index("uq_checkout_intents_one_open", "account_id", unique=True,
                            postgresql_where=text("completed_at IS NULL AND closed_at IS NULL")),)


__all__ = ["BillingSubscription", "CheckoutIntent", "LIVE_SUBSCRIPTION"]
