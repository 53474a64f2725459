"""Billing for a user: the page, Checkout, the limits, and read-only that never locks data away.

Against real PostgreSQL/Redis/SMTP and the real `stripe` library talking to a loopback stand-in for Stripe.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

import tenants
from app import clock
from app.billing.stripe_api import STRIPE_API_VERSION
from app.models import Account, CheckoutIntent, Client, Task
from billing_world import *  # noqa: F401,F403
from billing_world import deliver, fresh_account, run_jobs, subscribe, subscriptions_of


def _clients(account_id, db):
    return db.session.scalar(select(func.count(Client.id)).where(Client.account_id == account_id))


def _new_client(http, name):
    return http.submit("/clients/new", {"name": name, "slug": "", "template": "standard:iso9001-2015",
                                        "start_on": clock.today().isoformat(),
                                        "target_on": (clock.today() + timedelta(days=180)).isoformat(),
                                        "consultants": []}, form_url="/clients/new")


# --- billing off (the default: no Stripe key) ---------------------------------------------------

def test_with_no_stripe_keys_billing_is_off_and_nothing_is_limited(http, factory, db):
    w = factory.world()
    account = db.session.get(Account, w.account.id)
    account.plan = "solo"
    db.session.commit()
    for n in range(5):
        factory.client(account, name=f"Extra {n} {account.id}")
    http.login(w.owner.email)
    page = http.get("/billing")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Billing is off" in body and "no plan limits apply" in body and "Active clients now: <strong>6</strong>" in body
    resp = _new_client(http, f"Seventh {account.id}")
    assert resp.status_code == 302  # beyond Solo's 5: still allowed, billing is off
    assert _clients(account.id, db) == 7
    assert http.client.post("/billing/webhook", data=b"{}").status_code == 404


def test_billing_page_is_for_owners_only(http, factory):
    w = factory.world()
    for user in (w.consultant, w.client_admin, w.staff):
        http.login(user.email)
        assert http.get("/billing").status_code == 404, user.name
        http.logout()
    assert http.get("/billing").status_code == 302  # anonymous: to the login page


# --- billing on ---------------------------------------------------------------------------------

def test_a_new_consultancy_is_on_a_fourteen_day_trial_with_practice_limits(bhttp, bfactory, bdb):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    body = bhttp.get("/billing").get_data(as_text=True)
    assert 'id="plan-name">Practice<' in body and 'id="status">Free trial<' in body
    assert 'id="clients-used">1 / 25<' in body
    assert 'id="trial-left">14<' in body
    assert "Continue to payment" in body and f"/c/{w.client.slug}/" in body
    # The top bar links the owner to it; a consultant has no such link.
    assert 'href="/billing"' in bhttp.get("/").get_data(as_text=True)
    bhttp.logout()
    bhttp.login(w.consultant.email)
    assert 'href="/billing"' not in bhttp.get("/").get_data(as_text=True)


def test_double_click_on_subscribe_makes_one_checkout_session_and_waits_for_the_webhook(bhttp, bfactory, bdb, standin,
                                                                                       mailbox):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    first = bhttp.submit("/billing/checkout", {"plan": "practice", "interval": "year"}, form_url="/billing")
    second = bhttp.submit("/billing/checkout", {"plan": "practice", "interval": "year"}, form_url="/billing")
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert first.headers["Location"].startswith("https://checkout.stripe.com/c/pay/cs_test")
    assert len(standin.sessions) == 1 and len(standin.customers) == 1
    intents = bdb.session.scalars(select(CheckoutIntent).where(CheckoutIntent.account_id == w.account.id)).all()
    assert len(intents) == 1 and intents[0].idempotency_key.startswith(f"checkout-{w.account.id}-")
    assert [k for m, p, k in standin.requests if p == "/v1/checkout/sessions"] == [intents[0].idempotency_key]
    assert "Waiting for payment confirmation" in bhttp.get("/billing").get_data(as_text=True)

    session = standin.pay_checkout(intents[0].stripe_session_id)
    mailbox.deliver()
    assert mailbox.to(w.owner.email) == []  # nothing is mailed before Stripe confirms
    assert deliver(bhttp, standin.event("checkout.session.completed", session)).status_code == 200
    mailbox.deliver()
    started = mailbox.last_to(w.owner.email)
    assert started["Subject"] == "ISOpath: your subscription changed"
    assert "status: Free trial → Active" in started.get_payload(decode=True).decode() and "Practice (yearly)" in started.get_payload(decode=True).decode()
    body = bhttp.get("/billing").get_data(as_text=True)
    assert "Waiting for payment confirmation" not in body
    assert 'id="plan-name">Practice<' in body and 'id="status">Active<' in body and "Open the Customer Portal" in body
    assert "ISO-0001" in body  # the invoice, linked to Stripe's hosted page
    account = fresh_account(w.account.id)
    assert (account.plan, account.billing_interval, account.subscription_status) == ("practice", "year", "active")
    assert [s.status for s in subscriptions_of(w.account.id)] == ["active"]
    # Subscribed already: a second Checkout is refused, the Portal opens instead.
    again = bhttp.submit("/billing/checkout", {"plan": "firm", "interval": "month"}, form_url="/billing")
    assert again.status_code == 409 and "Customer Portal" in again.get_data(as_text=True)
    portal = bhttp.submit("/billing/portal", {}, form_url="/billing")
    assert portal.status_code == 303 and portal.headers["Location"].startswith("https://billing.stripe.com/p/session/")


def test_stripe_down_at_checkout_charges_nothing_and_the_retry_reuses_the_key(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    standin.fail_next = 3  # the first call (creating the customer) and the library's two retries
    down = bhttp.submit("/billing/checkout", {"plan": "solo", "interval": "month"}, form_url="/billing")
    assert down.status_code == 503 and "Nothing was charged" in down.get_data(as_text=True)
    assert standin.sessions == {}
    retry = bhttp.submit("/billing/checkout", {"plan": "solo", "interval": "month"}, form_url="/billing")
    assert retry.status_code == 303
    keys = [k for m, p, k in standin.requests if p == "/v1/checkout/sessions"]
    intents = bdb.session.scalars(select(CheckoutIntent).where(CheckoutIntent.account_id == w.account.id)
                                  .order_by(CheckoutIntent.id)).all()
    # The failed attempt's intent is closed (Stripe would replay its failure under that key); the retry has its own.
    assert [(i.closed_at is not None, i.stripe_session_id is not None) for i in intents] == [(True, False), (False, True)]
    assert keys == [intents[1].idempotency_key] and len(standin.sessions) == 1 and len(standin.customers) == 1
    assert standin.versions == {STRIPE_API_VERSION}  # the one pinned version, on every call


def test_an_unknown_plan_is_refused_with_the_page_kept(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    resp = bhttp.submit("/billing/checkout", {"plan": "gold", "interval": "week"}, form_url="/billing")
    assert resp.status_code == 422
    assert "Choose one of the plans listed" in resp.get_data(as_text=True)
    assert standin.sessions == {}


def test_limit_reached_is_refused_and_an_upgrade_lifts_it(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    account = bdb.session.get(Account, w.account.id)
    for n in range(4):
        bfactory.client(account, name=f"Solo client {n} {account.id}")
    bhttp.login(w.owner.email)
    sub = subscribe(bhttp, standin, w.account.id, "solo")
    assert fresh_account(w.account.id).plan == "solo"

    refused = _new_client(bhttp, f"Sixth {w.account.id}")
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "Your Solo plan allows 5 active clients and you have 5. Upgrade to Practice" in text
    assert "/billing" in text
    assert _clients(w.account.id, bdb) == 5

    # Archiving frees a slot; unarchiving is a re-activation, refused the same way while the plan is full.
    assert bhttp.submit(f"/c/{w.client.slug}/settings/archive", {},
                        form_url=f"/c/{w.client.slug}/settings").status_code == 303
    assert _new_client(bhttp, f"Fifth again {w.account.id}").status_code == 302
    back = bhttp.submit(f"/c/{w.client.slug}/settings/unarchive", {}, form_url=f"/c/{w.client.slug}/settings")
    assert back.status_code == 409 and "Your Solo plan allows 5 active clients" in back.get_data(as_text=True)

    standin.set(sub["id"], price="price_practice_month")
    assert deliver(bhttp, standin.event("customer.subscription.updated", sub)).status_code == 200
    assert fresh_account(w.account.id).plan == "practice"
    assert _new_client(bhttp, f"Sixth {w.account.id}").status_code == 302
    assert bhttp.submit(f"/c/{w.client.slug}/settings/unarchive", {},
                        form_url=f"/c/{w.client.slug}/settings").status_code == 303
    run_jobs()  # the quantity follows the active clients
    assert standin.subscriptions[sub["id"]]["items"]["data"][0]["quantity"] == 7
    assert subscriptions_of(w.account.id)[0].quantity == 7


def test_payment_failure_grace_read_only_then_paid_writable_again(bhttp, bfactory, bdb, standin, mailbox):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    sub = subscribe(bhttp, standin, w.account.id, "solo")
    tasks_before = _tasks(w.client, bdb)

    standin.set(sub["id"], status="past_due")
    invoice = standin.invoice(sub["customer"], sub, "open")
    assert deliver(bhttp, standin.event("invoice.payment_failed", invoice)).status_code == 200
    mailbox.deliver()
    mail = mailbox.last_to(w.owner.email)
    assert mail["Subject"] == "ISOpath: a payment failed"
    page = bhttp.get("/")
    assert "The last payment failed. Update your payment details within 14 days" in page.get_data(as_text=True)
    ok = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": f"Renamed {w.client.id}"},
                      form_url=f"/c/{w.client.slug}/settings")
    assert ok.status_code in (302, 303)  # still writable in the grace period

    account = bdb.session.get(Account, w.account.id)
    account.past_due_since = clock.now() - timedelta(days=15)  # the grace period has run out
    bdb.session.commit()
    refused = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": "Nope"},
                           form_url=f"/c/{w.client.slug}/settings")
    assert refused.status_code == 409
    assert "Payment is overdue, so your consultancy is read-only" in refused.get_data(as_text=True)
    assert _new_client(bhttp, f"Blocked {w.account.id}").status_code == 409
    # Reading and export still work, for the owner and the client's staff.
    assert bhttp.get(f"/c/{w.client.slug}/").status_code == 200
    assert bhttp.get("/portfolio.csv").status_code == 200
    assert "read-only" in bhttp.get("/").get_data(as_text=True)
    bhttp.logout()
    bhttp.login(w.staff.email)
    staff_page = bhttp.get(f"/c/{w.client.slug}/tasks")
    assert staff_page.status_code == 200 and 'id="billing-banner"' in staff_page.get_data(as_text=True)
    bhttp.logout()
    bhttp.login(w.owner.email)

    standin.set(sub["id"], status="active")
    paid = standin.invoice(sub["customer"], sub, "paid")
    assert deliver(bhttp, standin.event("invoice.paid", paid)).status_code == 200
    assert fresh_account(w.account.id).past_due_since is None
    again = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": f"Back {w.client.id}"},
                         form_url=f"/c/{w.client.slug}/settings")
    assert again.status_code in (302, 303)
    assert _tasks(w.client, bdb) == tasks_before  # nothing was removed at any step


def test_cancel_is_read_only_with_export_and_resubscribing_restores_everything(bhttp, bfactory, bdb, standin, mailbox):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    sub = subscribe(bhttp, standin, w.account.id, "solo")
    tasks_before, clients_before = _tasks(w.client, bdb), _clients(w.account.id, bdb)

    standin.set(sub["id"], status="canceled")
    assert deliver(bhttp, standin.event("customer.subscription.deleted", sub)).status_code == 200
    mailbox.deliver()
    assert "Canceled" in mailbox.last_to(w.owner.email).get_payload(decode=True).decode()
    refused = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": "Nope"},
                           form_url=f"/c/{w.client.slug}/settings")
    assert refused.status_code == 409 and "Your subscription has ended" in refused.get_data(as_text=True)
    assert bhttp.get("/portfolio.csv").status_code == 200
    assert bhttp.get(f"/c/{w.client.slug}/tasks").status_code == 200
    body = bhttp.get("/billing").get_data(as_text=True)
    assert 'id="status">Canceled<' in body and "Continue to payment" in body

    subscribe(bhttp, standin, w.account.id, "practice")
    assert [s.status for s in subscriptions_of(w.account.id)] == ["canceled", "active"]
    ok = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": f"Again {w.client.id}"},
                      form_url=f"/c/{w.client.slug}/settings")
    assert ok.status_code in (302, 303)
    assert (_tasks(w.client, bdb), _clients(w.account.id, bdb)) == (tasks_before, clients_before)


def test_the_meter_flags_dormant_clients_with_a_one_click_archive(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    quiet = bfactory.client(bdb.session.get(Account, w.account.id), name=f"Quiet Co {w.account.id}")
    summary = quiet.summary
    summary.last_activity_at = clock.now() - timedelta(days=61)
    bdb.session.commit()
    bhttp.login(w.owner.email)
    body = bhttp.get("/billing").get_data(as_text=True)
    assert f'id="meter-{quiet.id}"' in body
    row = body.split(f'id="meter-{quiet.id}"')[1].split("</tr>")[0]
    assert "Dormant" in row and f"/c/{quiet.slug}/settings/archive" in row
    other = body.split(f'id="meter-{w.client.id}"')[1].split("</tr>")[0]
    assert "Dormant" not in other and "archive" not in other
    resp = bhttp.submit(f"/c/{quiet.slug}/settings/archive", {}, form_url="/billing")
    assert resp.status_code == 303
    bdb.session.expire_all()
    assert bdb.session.get(Client, quiet.id).archived_at is not None
    assert 'id="clients-used">1 / 25<' in bhttp.get("/billing").get_data(as_text=True)


def test_another_consultancys_owner_sees_nothing_of_this_billing(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    subscribe(bhttp, standin, w.account.id, "firm")
    bhttp.logout()
    other = bfactory.world()
    bhttp.login(other.owner.email)
    body = bhttp.get("/billing").get_data(as_text=True)
    assert w.client.name not in body and w.client.slug not in body and "ISO-0001" not in body
    assert 'id="plan-name">Practice<' in body and 'id="status">Free trial<' in body
    assert bhttp.submit("/billing/portal", {}, form_url="/billing").status_code == 409  # no customer of theirs


def _tasks(client, db):
    with tenants.tenant_scope(db.session, client.schema_name):
        count = db.session.scalar(select(func.count(Task.id)))
        db.session.rollback()
    return count
