"""The webhook never loses or doubles an event: signatures, replays, order, parallel duplicates, crashes,
and the nightly reconciliation that repairs what changed behind the app's back."""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from app.jobs.billing import reconcile_billing
from app.models import Account, BillingEvent
from billing_world import *  # noqa: F401,F403
from billing_world import SECRET, deliver, fresh_account, run_jobs, subscribe, subscriptions_of


def _events(db, event_id=None, account_id=None):
    db.session.expire_all()
    q = select(func.count()).select_from(BillingEvent)
    if event_id:
        q = q.where(BillingEvent.event_id == event_id)
    if account_id:
        q = q.where(BillingEvent.account_id == account_id)
    return db.session.scalar(q)


def _subscribed(bhttp, bfactory, standin, plan="solo"):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    return w, subscribe(bhttp, standin, w.account.id, plan)


def test_forged_stale_and_unsigned_requests_get_400_and_change_nothing(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin)
    before = _events(bdb)
    standin.set(sub["id"], status="canceled")
    event = standin.event("customer.subscription.deleted", sub)
    assert deliver(bhttp, event, secret="whsec_someone_else").status_code == 400
    assert deliver(bhttp, event, timestamp=int(time.time()) - 301).status_code == 400  # past the 5-minute tolerance
    unsigned = bhttp.client.post("/billing/webhook", json=event)
    assert unsigned.status_code == 400
    garbage = bhttp.client.post("/billing/webhook", data=b"\x00not json", headers={"Stripe-Signature": "t=1,v1=00"})
    assert garbage.status_code == 400
    assert _events(bdb) == before
    assert fresh_account(w.account.id).subscription_status == "active"
    assert deliver(bhttp, event).status_code == 200  # the genuine one, signed with the endpoint's secret
    assert fresh_account(w.account.id).subscription_status == "canceled"


def test_a_replayed_event_has_no_second_effect(bhttp, bfactory, bdb, standin, mailbox):
    w, sub = _subscribed(bhttp, bfactory, standin)
    standin.set(sub["id"], price="price_firm_month")
    event = standin.event("customer.subscription.updated", sub)
    first = deliver(bhttp, event)
    assert first.status_code == 200 and first.get_json() == {"received": True, "applied": True}
    mailbox.deliver()

    def to_firm():
        return [m for m in mailbox.to(w.owner.email) if m["Subject"] == "ISOpath: your subscription changed"
                and "plan: Solo → Firm (monthly)" in m.get_payload(decode=True).decode()]

    assert len(to_firm()) == 1
    again = deliver(bhttp, event)
    assert again.status_code == 200 and again.get_json() == {"received": True, "applied": False}
    mailbox.deliver()
    assert len(to_firm()) == 1
    assert _events(bdb, event["id"]) == 1
    stored = bdb.session.get(BillingEvent, event["id"])
    assert (stored.account_id, stored.type) == (w.account.id, "customer.subscription.updated")
    assert "plan: Solo → Firm (monthly)" in stored.detail


def test_updated_before_created_ends_in_stripes_current_state(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    resp = bhttp.submit("/billing/checkout", {"plan": "solo", "interval": "month"}, form_url="/billing")
    session = standin.pay_checkout(resp.headers["Location"].rsplit("/", 1)[1])
    sub = standin.subscriptions[session["subscription"]]
    created = standin.event("customer.subscription.created", {**sub, "status": "incomplete"})
    standin.set(sub["id"], price="price_firm_year")
    updated = standin.event("customer.subscription.updated", sub)
    assert deliver(bhttp, updated).status_code == 200  # the later event first
    assert deliver(bhttp, created).status_code == 200  # its payload is stale; Stripe's state is fetched instead
    assert deliver(bhttp, standin.event("checkout.session.completed", session)).status_code == 200
    account = fresh_account(w.account.id)
    assert (account.plan, account.billing_interval, account.subscription_status) == ("firm", "year", "active")
    assert [(s.stripe_subscription_id, s.status) for s in subscriptions_of(w.account.id)] == [(sub["id"], "active")]


def test_the_same_event_twice_in_parallel_applies_once(billing_app, bfactory, bhttp, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin)
    standin.set(sub["id"], status="past_due")
    event = standin.event("invoice.payment_failed", standin.invoice(sub["customer"], sub, "open"))
    bdb.session.rollback()
    answers, start = [], threading.Barrier(2)

    def post():
        client = billing_app.test_client()
        start.wait()
        answers.append(deliver(type(bhttp)(client), event))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(a.status_code for a in answers) == [200, 200]
    assert sorted(a.get_json()["applied"] for a in answers) == [False, True]
    assert _events(bdb, event["id"]) == 1
    assert [s.status for s in subscriptions_of(w.account.id)] == ["past_due"]


def test_stripe_unreachable_during_an_event_records_nothing_so_the_retry_applies_it(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin)
    standin.set(sub["id"], status="canceled")
    event = standin.event("customer.subscription.deleted", sub)
    standin.fail_next = 3  # the request and the library's two retries
    assert deliver(bhttp, event).status_code == 503
    assert _events(bdb, event["id"]) == 0 and fresh_account(w.account.id).subscription_status == "active"
    assert deliver(bhttp, event).status_code == 200
    assert fresh_account(w.account.id).subscription_status == "canceled"


def test_trial_will_end_mails_the_owners(bhttp, bfactory, bdb, standin, mailbox):
    w, sub = _subscribed(bhttp, bfactory, standin)
    ends = int(time.time()) + 3 * 86400
    standin.set(sub["id"], status="trialing", trial_end=ends)
    assert deliver(bhttp, standin.event("customer.subscription.trial_will_end", sub)).status_code == 200
    mailbox.deliver()
    mail = [m for m in mailbox.to(w.owner.email) if m["Subject"] == "Your ISOpath trial ends soon"]
    assert len(mail) == 1 and "ends on" in mail[0].get_payload(decode=True).decode()
    assert mailbox.to(w.consultant.email) == []


def test_an_event_for_an_unknown_customer_is_recorded_without_effect(bhttp, bdb, standin):
    event = standin.event("invoice.paid", {"id": "in_nobody", "object": "invoice", "customer": "cus_unknown"})
    resp = deliver(bhttp, event)
    assert resp.status_code == 200 and resp.get_json()["applied"] is True
    stored = bdb.session.get(BillingEvent, event["id"])
    assert stored.account_id is None and stored.detail is None


def test_reconciliation_repairs_a_subscription_changed_behind_the_apps_back(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin)
    standin.set(sub["id"], price="price_practice_year", quantity=9)  # someone in Stripe's dashboard
    result = reconcile_billing()
    assert result["failed"] == []
    repaired = result["repaired"][w.account.id]
    assert "plan: Solo → Practice (yearly)" in repaired and "quantity: 9 → 1" not in repaired
    assert "quantity to 1 (was 9)" in repaired
    run_jobs()  # the quantity goes back to the active-client count
    assert standin.subscriptions[sub["id"]]["items"]["data"][0]["quantity"] == 1
    account = fresh_account(w.account.id)
    assert (account.plan, account.billing_interval) == ("practice", "year")
    recorded = bdb.session.scalars(select(BillingEvent).where(BillingEvent.account_id == w.account.id,
                                                              BillingEvent.type == "reconciliation")).all()
    assert len(recorded) == 1 and "Practice" in recorded[0].detail
    assert reconcile_billing()["repaired"].get(w.account.id) is None  # nothing left to repair


def test_reconciliation_cancels_at_stripe_what_is_read_only_here(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin)
    standin.set(sub["id"], status="past_due")
    assert deliver(bhttp, standin.event("customer.subscription.updated", sub)).status_code == 200
    account = bdb.session.get(Account, w.account.id)
    account.past_due_since = account.past_due_since.replace(year=account.past_due_since.year - 1)
    bdb.session.commit()
    repaired = reconcile_billing()["repaired"][w.account.id]
    assert "canceled at Stripe: the consultancy is read-only" in repaired
    assert standin.subscriptions[sub["id"]]["status"] == "canceled"
    assert [s.status for s in subscriptions_of(w.account.id)] == ["canceled"]


def test_a_second_live_subscription_at_stripe_is_canceled_so_no_one_pays_twice(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin)
    second = standin.subscription(sub["customer"], "price_firm_month", 1, created=sub["created"] + 10)
    assert deliver(bhttp, standin.event("customer.subscription.created", second)).status_code == 200
    assert standin.subscriptions[sub["id"]]["status"] == "canceled"
    assert [(s.stripe_subscription_id, s.status) for s in subscriptions_of(w.account.id)] == [
        (sub["id"], "canceled"), (second["id"], "active")]
    assert fresh_account(w.account.id).plan == "firm"


def test_the_webhook_is_the_only_post_without_a_csrf_token(billing_app):
    assert SECRET.startswith("whsec_")
    exempt = {name for name in billing_app.extensions["csrf"]._exempt_views}
    # Besides the webhook only the one-click unsubscribe, which proves itself by a signed token (test_csrf.py).
    assert exempt == {"app.billing.webhook.webhook", "app.notify.views.unsubscribe"}
