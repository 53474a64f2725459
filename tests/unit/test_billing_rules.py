"""The subscription rules: plans, trial, grace, read-only and the room for one more active client."""
from datetime import datetime, timedelta, timezone

import pytest

from workflows import billing as b

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


def test_plans_and_their_limits():
    assert [(p.key, p.client_limit) for p in b.PLANS] == [("solo", 5), ("practice", 25), ("firm", 100),
                                                         ("enterprise", None)]
    assert b.plan_for(None).key == "practice"
    assert b.plan_for("trial").key == "practice"
    assert b.plan_for("firm").name == "Firm"
    assert b.PLAN_BY_KEY["enterprise"].limit_text == "unlimited active clients"
    assert b.PLAN_BY_KEY["solo"].limit_text == "up to 5 active clients"


@pytest.mark.parametrize("count, plan", [(0, "solo"), (5, "solo"), (6, "practice"), (25, "practice"),
                                         (26, "firm"), (100, "firm"), (101, "enterprise"), (5000, "enterprise")])
def test_smallest_plan_for(count, plan):
    assert b.smallest_plan_for(count).key == plan


def test_price_ids_from_configuration():
    prices = b.parse_price_ids(" solo:month=price_a, solo:year=price_b ,firm:month=price_c,")
    assert prices == {("solo", "month"): "price_a", ("solo", "year"): "price_b", ("firm", "month"): "price_c"}
    assert b.plan_of_price(prices, "price_b") == ("solo", "year")
    assert b.plan_of_price(prices, "price_x") is None
    assert b.parse_price_ids("") == {}


@pytest.mark.parametrize("text", ["solo=price_a", "gold:month=price_a", "solo:week=price_a", "solo:month=",
                                  "solo:month"])
def test_malformed_price_ids_are_refused(text):
    with pytest.raises(ValueError, match="solo:month=price_123"):
        b.parse_price_ids(text)


def test_trial_without_subscription_is_writable_until_its_end():
    ends = b.trial_end_for(NOW - timedelta(days=3))
    assert ends == NOW + timedelta(days=11)
    s = b.standing(None, NOW, trial_ends_at=ends)
    assert (s.access, s.reason, s.days_left, s.writable) == ("writable", "trial", 11, True)
    # A part day counts as a day left; the moment it ends, read-only.
    assert b.standing(None, ends - timedelta(hours=1), trial_ends_at=ends).days_left == 1
    over = b.standing(None, ends, trial_ends_at=ends)
    assert (over.access, over.reason) == ("read_only", "trial_over")
    assert "everything is kept" in over.message and "export still work" in over.message


def test_paid_statuses_are_writable():
    assert b.standing("active", NOW).reason == "active"
    trial = b.standing("trialing", NOW, trial_ends_at=NOW + timedelta(days=2))
    assert (trial.access, trial.reason, trial.days_left) == ("writable", "trial", 2)


def test_past_due_has_grace_then_is_read_only():
    since = NOW - timedelta(days=13, hours=23)
    grace = b.standing("past_due", NOW, past_due_since=since)
    assert (grace.access, grace.reason, grace.days_left) == ("writable", "grace", 1)
    assert "within 1 day " in grace.message
    over = b.standing("past_due", NOW, past_due_since=NOW - timedelta(days=14))
    assert (over.access, over.reason) == ("read_only", "past_due_over")
    # The grace period is configurable.
    assert b.standing("past_due", NOW, past_due_since=NOW - timedelta(days=3), grace_days=3).writable is False
    assert b.standing("past_due", NOW, past_due_since=NOW - timedelta(days=3), grace_days=30).days_left == 27
    # A past_due status whose start we never saw starts its grace now, never read-only at once.
    assert b.standing("past_due", NOW).days_left == 14


@pytest.mark.parametrize("status", ["canceled", "unpaid", "incomplete_expired"])
def test_ended_subscriptions_are_read_only(status):
    s = b.standing(status, NOW, trial_ends_at=NOW + timedelta(days=5))
    assert (s.access, s.reason) == ("read_only", "canceled")


def test_incomplete_keeps_the_trial_while_it_lasts():
    assert b.standing("incomplete", NOW, trial_ends_at=NOW + timedelta(days=1)).writable is True
    s = b.standing("incomplete", NOW, trial_ends_at=NOW - timedelta(days=1))
    assert (s.access, s.reason) == ("read_only", "incomplete")


def test_room_for_one_more_client():
    solo, active = b.PLAN_BY_KEY["solo"], b.standing("active", NOW)
    assert b.room_for_one_more(solo, 4, active) == b.Room(True)
    full = b.room_for_one_more(solo, 5, active)
    assert full.allowed is False
    assert full.message == ("Your Solo plan allows 5 active clients and you have 5. Upgrade to Practice "
                            "(up to 25 active clients), or archive a client you no longer work with "
                            "(archiving keeps everything).")
    assert b.room_for_one_more(b.PLAN_BY_KEY["enterprise"], 10_000, active).allowed is True
    over = b.standing("canceled", NOW)
    assert b.room_for_one_more(b.PLAN_BY_KEY["enterprise"], 0, over) == b.Room(False, over.message)


def test_dormant_clients():
    created = NOW - timedelta(days=400)
    assert b.is_dormant(NOW - timedelta(days=60), created, NOW) is True
    assert b.is_dormant(NOW - timedelta(days=59), created, NOW) is False
    assert b.is_dormant(None, NOW - timedelta(days=61), NOW) is True
    assert b.is_dormant(None, NOW - timedelta(days=1), NOW) is False


def test_status_labels():
    assert b.status_label(None) == "Free trial"
    assert b.status_label("past_due") == "Payment overdue"
    assert b.status_label("paused") == "paused"
