"""The Stripe client, with the API version pinned here and only here.

Stripe changes response shapes between API versions (for example where a subscription's period end lives);
pinning the version makes every response look the way `app.billing.sync` reads it, whatever the account's
default version in the Stripe dashboard. Raise it deliberately, together with the code that reads it.
"""
from __future__ import annotations

from flask import current_app
from stripe import StripeClient

import workflows.billing as wb

STRIPE_API_VERSION = "2026-10-28.endive"  # stripe-python 16.1's own version
_KEY = "isopath.stripe"


def stripe_client() -> StripeClient:
    """One client per app (it pools connections); STRIPE_API_BASE points it at a loopback stand-in in tests."""
    held = current_app.extensions.get(_KEY)
    if held is None:
        base = current_app.config.get("STRIPE_API_BASE") or None
        held = StripeClient(current_app.config["STRIPE_API_KEY"], stripe_version=STRIPE_API_VERSION,
                            base_addresses={"api": base} if base else None,
                            # Retries reuse the request's idempotency key, so they never double a charge.
                            max_network_retries=2)
        current_app.extensions[_KEY] = held
    return held


def price_ids() -> dict[tuple[str, str], str]:
    return wb.parse_price_ids(current_app.config.get("STRIPE_PRICES", ""))


def webhook_secret() -> str:
    return current_app.config.get("STRIPE_WEBHOOK_SECRET", "")
