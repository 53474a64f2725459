"""The app against localstripe (PyPI), a stateful fake of Stripe run by this test module on loopback.

localstripe keeps customers, plans, subscriptions and invoices, and delivers webhooks signed as Stripe signs
them; here it delivers them to the app served on a loopback port, so the whole path runs as in production:
Stripe's state changes, a signed event arrives, the app verifies it and syncs the consultancy from Stripe.
It also previews the next invoice (`POST /v1/invoices/create_preview`, which the billing page shows). What
localstripe lacks (prices, Checkout and Portal sessions, `proration_behavior` on an update and so prorations in
the preview, any event for a subscription update) the stand-in of tests/stripe_standin.py covers in the other
billing tests.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app.billing.invoices import next_invoice
from app.billing.stripe_api import stripe_client
from app.extensions import db as _db
from app.jobs.billing import reconcile_billing
from app.models import Account, BillingEvent
from app.subscriptions import live_subscription
from conftest import Factory, free_port, make_config, worker_folder

SECRET = "whsec_localstripe_isopath"


def _wait_for_port(port: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"localstripe did not listen on {port}")


@pytest.fixture(scope="module")
def localstripe():
    port = free_port()
    exe = Path(sys.executable).with_name("localstripe")
    folder = worker_folder("localstripe")
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "localstripe.log", "w")  # what it received and delivered
    proc = subprocess.Popen([str(exe), "--port", str(port), "--from-scratch"], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


@pytest.fixture(scope="module")
def ls_app(service_urls, smtp_server, localstripe, app):
    from app import create_app

    controller, _ = smtp_server
    return create_app(make_config(service_urls, controller.port, STRIPE_API_KEY="sk_test_localstripe",
                                  STRIPE_API_BASE=localstripe, STRIPE_WEBHOOK_SECRET=SECRET,
                                  STRIPE_PRICES="solo:month=plan_solo_month,firm:month=plan_firm_month"))


@pytest.fixture(scope="module")
def served(ls_app, localstripe):
    """The app on a loopback port, registered with localstripe as the webhook endpoint."""
    server = make_server("127.0.0.1", free_port(), ls_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/billing/webhook"
    with ls_app.app_context():
        stripe_client().v1.products.create(params={"id": "prod_isopath", "name": "ISOpath", "type": "service"})
        for plan, amount in (("solo", 1900), ("firm", 14900)):
            stripe_client().v1.plans.create(params={"id": f"plan_{plan}_month", "product": "prod_isopath",
                                                    "amount": amount, "currency": "eur", "interval": "month"})
    answer = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "sk_test_localstripe:",
                             "-d", f"url={url}", "-d", f"secret={SECRET}", f"{localstripe}/_config/webhooks/isopath"],
                            capture_output=True, text=True, timeout=10)
    assert answer.stdout == "200"
    yield url
    server.shutdown()


def _until(check, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _db.session.rollback()
        if check():
            return True
        time.sleep(0.25)
    return False


def test_a_subscription_at_localstripe_reaches_the_app_by_its_signed_webhook(ls_app, served):
    with ls_app.app_context():
        w = Factory(_db).world()
        client = stripe_client().v1
        customer = client.customers.create(params={"name": w.account.name, "email": w.owner.email})
        account = _db.session.get(Account, w.account.id)
        account.stripe_customer_id = customer.id
        _db.session.commit()
        card = client.payment_methods.create(params={"type": "card", "card": {
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"}})
        client.payment_methods.attach(card.id, params={"customer": customer.id})
        client.customers.update(customer.id, params={"invoice_settings": {"default_payment_method": card.id}})
        sub = client.subscriptions.create(params={"customer": customer.id,
                                                  "items": [{"plan": "plan_solo_month", "quantity": 1}]})
        assert sub.status == "active"

        assert _until(lambda: _db.session.get(Account, w.account.id).subscription_status == "active")
        account = _db.session.get(Account, w.account.id)
        assert (account.plan, account.billing_interval) == ("solo", "month")
        events = _db.session.scalars(select(BillingEvent).where(BillingEvent.account_id == w.account.id)).all()
        assert events and all(e.event_id.startswith("evt_") for e in events)
        assert "customer.subscription.created" in {e.type for e in events}

        # The next invoice, as the billing page shows it: localstripe's own preview (POST /v1/invoices/create_preview).
        upcoming = next_invoice(account, live_subscription(w.account.id))
        assert upcoming.available and (upcoming.amount, upcoming.currency) == (1900, "eur")
        assert upcoming.amount_text == "19.00 EUR" and upcoming.date is not None and upcoming.lines

        # Changed at Stripe with no event to tell (localstripe sends none for an update): the nightly
        # reconciliation finds it and repairs the consultancy.
        item = sub.to_dict()["items"]["data"][0]["id"]
        client.subscriptions.update(sub.id, params={"items": [{"id": item, "plan": "plan_firm_month"}]})
        result = reconcile_billing()
        assert w.account.id not in result["failed"]
        assert "plan: Solo → Firm (monthly)" in result["repaired"][w.account.id]
        _db.session.expire_all()
        assert _db.session.get(Account, w.account.id).plan == "firm"
