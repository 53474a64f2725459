"""The next invoice on /billing (Stripe's own preview) and changing plan in the app, against the loopback
stand-in for Stripe through the real `stripe` library."""
from __future__ import annotations

import threading

from sqlalchemy import select

from app.models import Account, BillingEvent
from billing_world import *  # noqa: F401,F403
from billing_world import fresh_account, run_jobs, subscribe, subscriptions_of


def _subscribed(bhttp, bfactory, standin, plan="solo", interval="month"):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    return w, subscribe(bhttp, standin, w.account.id, plan, interval)


def _previews(standin):
    return [p for m, p, k in standin.requests if p == "/v1/invoices/create_preview"]


def test_the_page_shows_the_next_invoice_date_and_amount_from_stripes_preview(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin, "practice")
    body = bhttp.get("/billing").get_data(as_text=True)
    assert _previews(standin)  # asked of Stripe, not computed here
    end = sub["items"]["data"][0]["current_period_end"] + 3600
    from datetime import datetime, timezone
    assert 'id="next-invoice-amount">49.00 EUR<' in body
    assert f'id="next-invoice-date">{datetime.fromtimestamp(end, tz=timezone.utc):%d %b %Y}<' in body
    preview = body.split('id="invoice-preview"')[1].split("</table>")[0]
    assert "1 × prod_practice" in preview and "49.00 EUR" in preview and "Amount due" in preview


def test_stripe_unreachable_the_page_renders_and_says_the_amount_is_unavailable(bhttp, bfactory, bdb, standin):
    _subscribed(bhttp, bfactory, standin)
    standin.fail_next = 20  # the invoice list and the preview, with the library's retries
    page = bhttp.get("/billing")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'id="next-invoice-amount">unavailable<' in body
    assert "The amount is unavailable: Stripe could not be reached just now" in body
    assert "Invoices could not be loaded from Stripe just now" in body
    standin.fail_next = 0


def test_change_plan_prorates_at_stripe_with_one_key_and_the_page_shows_it(bhttp, bfactory, bdb, standin, mailbox):
    w, sub = _subscribed(bhttp, bfactory, standin, "solo")
    run_jobs()
    mailbox.deliver()
    mailbox.messages.clear()
    resp = bhttp.submit("/billing/plan", {"plan": "firm", "interval": "year"}, form_url="/billing")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/billing")
    updates = [(f, k) for (m, p, f), (_, _, k) in zip(standin.forms, standin.requests)
               if m == "POST" and p == f"/v1/subscriptions/{sub['id']}"]
    assert len(updates) == 1
    form, key = updates[0]
    assert form["items[0][price]"] == "price_firm_year" and form["proration_behavior"] == "create_prorations"
    assert key and key.startswith(f"plan-{sub['id']}-1-")
    account = fresh_account(w.account.id)
    assert (account.plan, account.billing_interval) == ("firm", "year")
    assert [(s.price_id, s.status) for s in subscriptions_of(w.account.id)] == [("price_firm_year", "active")]
    body = bhttp.get("/billing").get_data(as_text=True)
    assert 'id="plan-name">Firm<' in body and "Your plan is now Firm, billed yearly" in body
    preview = body.split('id="invoice-preview"')[1].split("</table>")[0]
    assert "Proration" in preview and "Unused time on 1 × prod_solo" in preview
    # The owners hear of it once, from the job that follows the change.
    run_jobs()
    mailbox.deliver()
    changed = [m for m in mailbox.to(w.owner.email) if m["Subject"] == "ISOpath: your subscription changed"]
    assert len(changed) == 1 and "plan: Solo → Firm (yearly)" in changed[0].get_payload(decode=True).decode()
    assert mailbox.to(w.consultant.email) == []
    recorded = bdb.session.scalars(select(BillingEvent).where(BillingEvent.account_id == w.account.id,
                                                              BillingEvent.type == "plan.changed")).all()
    assert len(recorded) == 1


def test_a_double_click_on_change_plan_changes_it_once(billing_app, bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin, "solo")
    token = bhttp.csrf("/billing")
    answers, start = [], threading.Barrier(2)

    def click():
        start.wait()
        answers.append(bhttp.client.post("/billing/plan", data={"plan": "practice", "interval": "month",
                                                                "csrf_token": token}))

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [a.status_code for a in answers] == [303, 303]
    updates = [p for m, p, k in standin.requests if m == "POST" and p == f"/v1/subscriptions/{sub['id']}"]
    assert len(updates) == 1
    assert len(standin.subscriptions[sub["id"]].get("_prorations", [])) == 2  # one credit, one charge
    bdb.session.expire_all()
    assert len(bdb.session.scalars(select(BillingEvent).where(BillingEvent.account_id == w.account.id,
                                                              BillingEvent.type == "plan.changed")).all()) == 1
    # And clicking once more, later, still changes nothing.
    again = bhttp.submit("/billing/plan", {"plan": "practice", "interval": "month"}, form_url="/billing")
    assert again.status_code == 303
    assert "on Practice, billed monthly, already" in bhttp.get("/billing").get_data(as_text=True)
    assert len([p for m, p, k in standin.requests if m == "POST" and p == f"/v1/subscriptions/{sub['id']}"]) == 1


def test_a_plan_below_the_active_clients_is_refused_with_the_reason(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin, "practice")
    account = bdb.session.get(Account, w.account.id)
    for n in range(5):
        bfactory.client(account, name=f"More {n} {account.id}")
    resp = bhttp.submit("/billing/plan", {"plan": "solo", "interval": "month"}, form_url="/billing")
    assert resp.status_code == 409
    body = resp.get_data(as_text=True)
    assert "The Solo plan allows 5 active clients and you have 6. Archive 1 client first" in body
    assert 'name="plan" value="solo"' in body  # the page is kept, with its forms
    assert not [p for m, p, k in standin.requests if m == "POST" and p == f"/v1/subscriptions/{sub['id']}"]
    assert fresh_account(w.account.id).plan == "practice"
    bad = bhttp.submit("/billing/plan", {"plan": "gold", "interval": "week"}, form_url="/billing")
    assert bad.status_code == 422 and "Choose one of the plans listed" in bad.get_data(as_text=True)


def test_change_plan_without_a_subscription_or_with_stripe_down_changes_nothing(bhttp, bfactory, bdb, standin):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    none = bhttp.submit("/billing/plan", {"plan": "firm", "interval": "month"}, form_url="/billing")
    assert none.status_code == 409 and "no subscription to change" in none.get_data(as_text=True)
    bhttp.logout()
    w, sub = _subscribed(bhttp, bfactory, standin, "solo")
    token = bhttp.csrf("/billing")
    standin.fail_next = 3  # the subscription's retrieve and the library's two retries
    down = bhttp.client.post("/billing/plan", data={"plan": "firm", "interval": "month", "csrf_token": token})
    standin.fail_next = 0
    assert down.status_code == 503 and "your plan is unchanged" in down.get_data(as_text=True)
    assert fresh_account(w.account.id).plan == "solo"
    assert bhttp.submit("/billing/plan", {"plan": "firm", "interval": "month"}, form_url="/billing").status_code == 303
    assert fresh_account(w.account.id).plan == "firm"


def test_change_plan_is_the_owners_alone(bhttp, bfactory, bdb, standin):
    w, sub = _subscribed(bhttp, bfactory, standin, "solo")
    bhttp.logout()
    other = bfactory.world()
    # A consultant: 404; another consultancy's owner changes only their own (which has no subscription): 409.
    for user, status in ((w.consultant, 404), (other.owner, 409)):
        bhttp.login(user.email)
        token = bhttp.csrf("/")
        resp = bhttp.client.post("/billing/plan", data={"plan": "firm", "interval": "month", "csrf_token": token})
        assert resp.status_code == status, user.email
        assert fresh_account(w.account.id).plan == "solo"
        bhttp.logout()
    assert standin.subscriptions[sub["id"]]["items"]["data"][0]["price"]["id"] == "price_solo_month"
