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
from conftest import BILLING_WEBHOOK_SECRET, Factory, HttpClient, deliver_queued_mail
from stripe_standin import StripeStandIn

SECRET = BILLING_WEBHOOK_SECRET  # the `billing_app` and `standin` fixtures are tests/conftest.py's, one per process


def running_standin() -> StripeStandIn:
    """The stand-in of this test process (the role and CSRF tables check their billing cases against it)."""
    return StripeStandIn.running[0]


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


@pytest.fixture()
def mailbox(smtp_server, app, billing_app):
    """The loopback SMTP server's mailbox; reading it first runs the billing jobs queued (the owners' notices
    follow a webhook as RQ jobs), then sends the mail queued, as the worker would."""
    _, box = smtp_server
    box.messages.clear()

    def work():
        with billing_app.app_context():
            run_jobs()
        deliver_queued_mail(app)

    box.deliver = work
    return box


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


__all__ = ["running_standin", "bdb", "bfactory", "bhttp", "mailbox", "SECRET", "deliver", "run_jobs", "fresh_account",
           "subscriptions_of", "subscribe"]
