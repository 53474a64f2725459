"""Stripe Checkout, the Customer Portal, the webhook endpoint and the sync behind them (`sync`).

The blueprint is `app.billing.views.bp`; `webhook` adds its route to it. Nothing is imported here, so that
client creation can import `app.billing.sync` without pulling in the views.
"""
