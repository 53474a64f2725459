"""Fixtures for billing tests: an app with billing on, pointed at the loopback Stripe stand-in.

The app uses the real `stripe` library (StripeClient with base_addresses on loopback); webhooks are signed
exactly as Stripe signs them. Import the fixtures into a test module with
`from billing_world import *  # noqa: F401,F403`.
"""
from __future__ import annotations

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.extensions import db as _db
from app.jobs import queue
from app.models import Account, BillingSubscription
from conftest import Factory, HttpClient, make_config
from stripe_standin import StripeStandIn

SECRET = "whsec_test_isopath_billing"
PRICES = {("solo", "month"): 1900, ("solo", "year"): 19000, ("practice", "month"): 4900,
          ("practice", "year"): 49000, ("firm", "month"): 14900, ("firm", "year"): 149000,
          ("enterprise", "month"): 39900, ("enterprise", "year"): 399000}


@pytest.fixture(scope="module")
def standin():
    server = StripeStandIn().start()
    for (plan, interval), amount in PRICES.items():
        server.price(plan, interval, amount)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def billing_app(service_urls, smtp_server, standin, app):  # `app` first: it brings the database to head
    from app import create_app

    controller, _ = smtp_server
    prices = ",".join(f"{plan}:{interval}=price_{plan}_{interval}" for plan, interval in PRICES)
    return create_app(make_config(service_urls, controller.port, STRIPE_API_KEY="sk_test_isopath",
                                  STRIPE_API_BASE=standin.base, STRIPE_WEBHOOK_SECRET=SECRET, STRIPE_PRICES=prices))


@pytest.fixture()
def bdb(billing_app, standin):
    standin.reset()
    with billing_app.app_context():
        queue().empty()
        yield _db
        _db.session.rollback()


@pytest.fixture()
def bfactory(bdb):
    return Factory(bdb)


@pytest.fixture()
def bhttp(billing_app):
    return HttpClient(billing_app.test_client())


def deliver(http: HttpClient, event: dict, secret: str = SECRET, timestamp: int | None = None):
    """POST a signed event to the webhook, as Stripe does."""
    payload, header = StripeStandIn.sign(event, secret, timestamp)
    return http.client.post("/billing/webhook", data=payload, content_type="application/json",
                            headers={"Stripe-Signature": header})


def run_jobs() -> None:
    SimpleWorker([queue()], connection=queue().connection).work(burst=True, logging_level="WARNING")


def fresh_account(account_id: int) -> Account:
    _db.session.expire_all()
    return _db.session.get(Account, account_id)


def subscriptions_of(account_id: int) -> list[BillingSubscription]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(BillingSubscription).where(BillingSubscription.account_id == account_id)
                                    .order_by(BillingSubscription.id)))


def subscribe(http: HttpClient, standin: StripeStandIn, account_id: int, plan: str = "solo",
              interval: str = "month") -> dict:
    """The owner (logged in on `http`) subscribes through Checkout and pays; the webhook lands. The subscription."""
    resp = http.submit("/billing/checkout", {"plan": plan, "interval": interval}, form_url="/billing")
    assert resp.status_code == 303, resp.get_data(as_text=True)
    session_id = resp.headers["Location"].rsplit("/", 1)[1]
    session = standin.pay_checkout(session_id)
    assert deliver(http, standin.event("checkout.session.completed", session)).status_code == 200
    return standin.subscriptions[session["subscription"]]


__all__ = ["standin", "billing_app", "bdb", "bfactory", "bhttp", "SECRET", "deliver", "run_jobs", "fresh_account",
           "subscriptions_of", "subscribe"]
