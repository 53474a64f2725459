"""What follows a billing event, and the nightly jobs: the webhook answers before the slow work (RQ jobs after
commit), a crash between the effect and the answer is not applied twice, a local expiry cancels at Stripe, a
subscription deleted at Stripe behind the app's back ends here too, and the owners' mails."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import request_finished
from sqlalchemy import func, select

from app import clock
from app.jobs import queue
from app.jobs.billing import reconcile_billing, remind_trials_ending
from app.models import Account, BillingEvent, Client
from billing_world import *  # noqa: F401,F403
from billing_world import deliver, fresh_account, run_jobs, subscribe, subscriptions_of


def _subscribed(bhttp, bfactory, standin, plan="solo"):
    w = bfactory.world()
    bhttp.login(w.owner.email)
    sub = subscribe(bhttp, standin, w.account.id, plan)
    run_jobs()
    return w, sub


def _stripe_writes(standin, sub_id):
    return [(m, p) for m, p, k in standin.requests if p.startswith(f"/v1/subscriptions/{sub_id}") and m != "GET"]


def _subjects(mailbox, email):
    return [m["Subject"] for m in mailbox.to(email)]


def test_the_webhook_answers_before_the_mails_and_the_quantity_push(bhttp, bfactory, bdb, standin, mailbox):
    w, sub = _subscribed(bhttp, bfactory, standin)
    mailbox.deliver()
    mailbox.messages.clear()
    bfactory.client(bdb.session.get(Account, w.account.id), name=f"Second {w.account.id}")  # no quantity push
    queue().empty()
    standin.set(sub["id"], status="past_due")
    event = standin.event("invoice.payment_failed", standin.invoice(sub["customer"], sub, "open"))
    writes = len(_stripe_writes(standin, sub["id"]))
    assert deliver(bhttp, event).status_code == 200
    # Answered with the state synced and recorded, and nothing else done yet: the rest waits in RQ.
    assert fresh_account(w.account.id).subscription_status == "past_due"
    assert len(_stripe_writes(standin, sub["id"])) == writes
    assert sorted(job.func_name for job in queue().jobs) == [  # the owners' notice and the quantity push
        "app.billing.notices.owner_notice", "app.billing.sync.update_quantity"]
    assert mailbox.messages == []
    run_jobs()
    assert standin.subscriptions[sub["id"]]["items"]["data"][0]["quantity"] == 2
    assert _subjects(mailbox, w.owner.email) == ["ISOpath: a payment failed"]


def test_a_crash_after_the_commit_and_before_the_answer_is_not_applied_twice(billing_app, bhttp, bfactory, bdb,
                                                                              standin, mailbox):
    w, sub = _subscribed(bhttp, bfactory, standin)
    mailbox.deliver()
    mailbox.messages.clear()
    standin.set(sub["id"], price="price_firm_month")
    event = standin.event("customer.subscription.updated", sub)
    crashed = []

    def crash(sender, response, **extra):  # the process dies once the effect committed, before Stripe hears
        if not crashed:
            crashed.append(response.status_code)
            raise RuntimeError("worker killed before answering")

    request_finished.connect(crash, billing_app)
    try:
        with pytest.raises(RuntimeError, match="worker killed"):
            deliver(bhttp, event)
    finally:
        request_finished.disconnect(crash, billing_app)
    assert crashed == [200]
    assert fresh_account(w.account.id).plan == "firm"  # the effect stands, with its event id
    bdb.session.expire_all()
    assert bdb.session.get(BillingEvent, event["id"]) is not None
    queued = queue().count
    retry = deliver(bhttp, event)  # Stripe got no answer, so it sends the event again
    assert retry.status_code == 200 and retry.get_json() == {"received": True, "applied": False}
    assert queue().count == queued  # nothing more to do for it
    assert bdb.session.scalar(select(func.count()).select_from(BillingEvent)
                              .where(BillingEvent.event_id == event["id"])) == 1
    assert _subjects(mailbox, w.owner.email) == ["ISOpath: your subscription changed"]


def test_grace_over_the_nightly_job_cancels_at_stripe_records_it_and_tells_the_owners(bhttp, bfactory, bdb, standin,
                                                                                      mailbox):
    w, sub = _subscribed(bhttp, bfactory, standin)
    standin.set(sub["id"], status="past_due")
    assert deliver(bhttp, standin.event("invoice.payment_failed", standin.invoice(sub["customer"], sub, "open"))
                   ).status_code == 200
    assert reconcile_billing()["repaired"].get(w.account.id) is None  # within the grace period: nothing to do
    assert standin.subscriptions[sub["id"]]["status"] == "past_due"
    mailbox.deliver()
    mailbox.messages.clear()

    account = bdb.session.get(Account, w.account.id)
    account.past_due_since = clock.now() - timedelta(days=15)  # BILLING_GRACE_DAYS (14) have passed
    bdb.session.commit()
    repaired = reconcile_billing()["repaired"][w.account.id]
    assert "canceled at Stripe: the consultancy is read-only" in repaired
    assert standin.subscriptions[sub["id"]]["status"] == "canceled"
    cancels = [k for m, p, k in standin.requests if m == "DELETE" and p == f"/v1/subscriptions/{sub['id']}"]
    assert cancels == [f"cancel-expired-{sub['id']}"]
    recorded = bdb.session.scalars(select(BillingEvent).where(BillingEvent.account_id == w.account.id,
                                                              BillingEvent.type == "reconciliation")).all()
    assert len(recorded) == 1 and "canceled at Stripe" in recorded[0].detail
    assert fresh_account(w.account.id).subscription_status == "canceled"
    mail = [m for m in mailbox.to(w.owner.email) if m["Subject"] == "ISOpath: your subscription changed"]
    assert len(mail) == 1 and "nothing more is charged" in mail[0].get_payload(decode=True).decode()
    # The next night: nothing live to cancel, nothing repaired, nothing mailed.
    assert reconcile_billing()["repaired"].get(w.account.id) is None
    assert len([1 for m, p, k in standin.requests if m == "DELETE"]) == 1


@pytest.mark.parametrize("how", ["canceled", "deleted"])
def test_a_subscription_ended_at_stripe_behind_the_apps_back_is_found_at_night(bhttp, bfactory, bdb, standin, how):
    w, sub = _subscribed(bhttp, bfactory, standin)
    clients_before = bdb.session.scalar(select(func.count(Client.id)).where(Client.account_id == w.account.id))
    if how == "canceled":
        standin.set(sub["id"], status="canceled")  # in Stripe's dashboard, and the webhook never arrived
    else:
        standin.delete(sub["id"])  # gone altogether: Stripe's list no longer names it
    result = reconcile_billing()
    assert w.account.id not in result["failed"]
    assert "status: Active → Canceled" in result["repaired"][w.account.id]
    assert [s.status for s in subscriptions_of(w.account.id)] == ["canceled"]
    refused = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": "Nope"},
                           form_url=f"/c/{w.client.slug}/settings")
    assert refused.status_code == 409 and "Your subscription has ended" in refused.get_data(as_text=True)
    assert bhttp.get("/portfolio.csv").status_code == 200  # export still works
    assert bhttp.get(f"/c/{w.client.slug}/").status_code == 200

    subscribe(bhttp, standin, w.account.id, "practice")  # resubscribing restores everything
    assert fresh_account(w.account.id).subscription_status == "active"
    ok = bhttp.submit(f"/c/{w.client.slug}/settings/name", {"name": f"Again {w.client.id}"},
                      form_url=f"/c/{w.client.slug}/settings")
    assert ok.status_code in (302, 303)
    assert bdb.session.scalar(select(func.count(Client.id)).where(Client.account_id == w.account.id)) == clients_before


def test_owners_on_the_free_trial_are_reminded_three_days_before_it_ends_once(bhttp, bfactory, bdb, standin,
                                                                             mailbox):
    soon, later, paying = bfactory.world(), bfactory.world(), bfactory.world()
    for world, days in ((soon, 2), (later, 10), (paying, 2)):
        account = bdb.session.get(Account, world.account.id)
        account.trial_ends_at = clock.now() + timedelta(days=days)
    bdb.session.commit()
    bhttp.login(paying.owner.email)
    subscribe(bhttp, standin, paying.account.id)
    run_jobs()
    mailbox.deliver()
    mailbox.messages.clear()

    result = remind_trials_ending()
    assert soon.account.id in result["reminded"]
    assert later.account.id not in result["reminded"] and paying.account.id not in result["reminded"]
    mail = [m for m in mailbox.to(soon.owner.email) if m["Subject"] == "Your ISOpath trial ends soon"]
    assert len(mail) == 1 and "ends on" in mail[0].get_payload(decode=True).decode()
    assert mailbox.to(soon.consultant.email) == [] and mailbox.to(later.owner.email) == []
    assert soon.account.id not in remind_trials_ending()["reminded"]  # the next day: not again
    assert len([m for m in mailbox.to(soon.owner.email) if m["Subject"] == "Your ISOpath trial ends soon"]) == 1
