"""The rules of reminders: kinds, the due/overdue ladder, working days, keys, digest send times (DST too)."""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from workflows import reminders as r
from workflows.errors import WorkflowError

MON = date(2026, 12, 7)  # a Monday


def test_every_kind_is_one_entry_with_unique_key_and_wording_that_formats():
    keys = [k.key for k in r.KINDS]
    assert len(keys) == len(set(keys))
    fields = dict(client="Acme", stage="Initial audit", actor="Ann", reasons="x", title="T", when="today",
                  days=3, count=2, updates="2 updates", excerpt="Hi", severity="major", clause="")
    for k in r.KINDS:
        subject, line = r.wording(k.key, **fields)
        assert subject and line
    assert r.wording("gate_sent_back", **fields)[0] == "Acme: the Initial audit gate was sent back"
    assert {k.key for k in r.KINDS if k.mandatory} == {"gate_approved", "gate_sent_back", "task_escalated",
                                                       "invitation", "password_reset"}


def test_mandatory_kinds_are_never_off_and_choices_are_checked():
    assert r.delivery("gate_approved", "off") == "immediately"
    assert r.delivery("task_assigned", "off") == "off"
    assert r.delivery("task_assigned", "digest") == "digest"
    assert r.delivery("task_assigned", None) == "immediately"
    assert r.delivery("task_assigned", "bogus") == "immediately"
    r.check_preference("task_assigned", "off")
    with pytest.raises(WorkflowError, match="can't be turned off") as err:
        r.check_preference("gate_sent_back", "off")
    assert err.value.status == 422
    with pytest.raises(WorkflowError, match="Choose one of"):
        r.check_preference("task_assigned", "sometimes")
    with pytest.raises(WorkflowError, match="no kind"):
        r.delivery("nonsense", "off")


@pytest.mark.parametrize("due_in, expected", [
    (10, []), (8, []), (7, [("task_due", "d7", 7)]), (3, [("task_due", "d7", 3)]), (2, [("task_due", "d7", 2)]),
    (1, [("task_due", "d1", 1)]), (0, [("task_due", "d1", 0)]),
    (-1, [("task_overdue", "o1", 1)]), (-7, [("task_overdue", "o1", 7)]), (-8, [("task_overdue", "o2", 8)]),
    (-13, [("task_overdue", "o2", 13)]),
    (-14, [("task_overdue", "o2", 14), ("task_escalated", "e1", 14)]),
    (-15, [("task_overdue", "o3", 15), ("task_escalated", "e1", 15)]),
    (-21, [("task_overdue", "o3", 21), ("task_escalated", "e2", 21)]),
])
def test_the_ladder_on_a_working_day(due_in, expected):
    today = MON + timedelta(days=2)  # a Wednesday
    steps = r.due_steps(today + timedelta(days=due_in), today)
    assert [(s.kind, s.window, s.days) for s in steps] == expected


def test_overdue_is_weekly_not_daily_the_window_repeats_within_a_week():
    due = MON
    windows = [tuple(s.window for s in r.due_steps(due, due + timedelta(days=n))) for n in range(1, 16)]
    # One key per week: the sweep sends o1 once, o2 once, whatever the days in between.
    assert sorted({w[0] for w in windows if w}) == ["o1", "o2", "o3"]


def test_no_reminders_on_weekends_and_a_weekend_rung_comes_on_monday():
    due = MON + timedelta(days=6)  # Sunday: the 7-day rung falls on the Sunday before
    assert r.due_steps(due, due - timedelta(days=7)) == []  # Sunday
    assert r.due_steps(due, due - timedelta(days=8)) == []  # Saturday, 8 days before: no rung yet anyway
    monday = due - timedelta(days=6)
    assert [(s.kind, s.window, s.days) for s in r.due_steps(due, monday)] == [("task_due", "d7", 6)]
    assert r.due_steps(MON, MON + timedelta(days=5)) == []  # overdue on a Saturday: nothing until Monday


def test_lead_days_are_configurable():
    assert [s.window for s in r.due_steps(MON + timedelta(days=14), MON, lead_days=(14, 3))] == ["d14"]
    assert [s.window for s in r.due_steps(MON + timedelta(days=3), MON, lead_days=(14, 3))] == ["d3"]


def test_working_days():
    fri, sat, sun = MON - timedelta(days=3), MON - timedelta(days=2), MON - timedelta(days=1)
    assert [r.is_working_day(d) for d in (fri, sat, sun, MON)] == [True, False, False, True]
    assert r.working_days_between(fri, MON) == 1
    assert r.working_days_between(fri, fri) == 0
    assert r.working_days_between(MON, fri) == 0
    assert r.working_days_between(MON, MON + timedelta(days=14)) == 10
    assert r.working_days_between(fri, MON + timedelta(days=1)) == 2
    assert r.working_days_between(sat, MON + timedelta(days=7)) == 6
    assert r.add_working_days(fri, 2) == MON + timedelta(days=1)
    assert r.add_working_days(MON, 5) == MON + timedelta(days=7)
    for start in (fri, sat, sun, MON):
        for n in range(12):
            assert r.working_days_between(start, r.add_working_days(start, n)) == n


def test_a_gate_review_reminds_after_two_working_days_then_weekly():
    fri = MON - timedelta(days=3)
    assert r.gate_wait_step(fri, MON + timedelta(days=1)) is None  # 2 working days: not yet
    step = r.gate_wait_step(fri, MON + timedelta(days=2))
    assert (step.kind, step.window, step.days) == ("gate_waiting", "w1", 3)
    assert r.gate_wait_step(fri, MON + timedelta(days=5)) is None  # Saturday
    assert r.gate_wait_step(fri, MON + timedelta(days=8)).window == "w1"  # 7 working days
    assert r.gate_wait_step(fri, MON + timedelta(days=9)).window == "w2"  # 8 working days


def test_idempotency_key_names_kind_object_window_and_recipient():
    assert r.idempotency_key("task_due", "c12/task/7", "d7", 31) == "task_due:c12/task/7:d7:31"
    assert r.idempotency_key("morning_brief", "u31", "2026-12-07", 31) == "morning_brief:u31:2026-12-07:31"
    with pytest.raises(WorkflowError):
        r.idempotency_key("task_due", "c1:x", "d7", 1)
    with pytest.raises(WorkflowError):
        r.idempotency_key("task_due", "c1", "", 1)
    with pytest.raises(WorkflowError):
        r.idempotency_key("task_due", "c" * 300, "d7", 1)


def _local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


def test_digest_time_is_the_local_morning_spread_deterministically_per_recipient():
    day = date(2026, 12, 7)
    times = {who: r.digest_send_at(day, "Europe/Berlin", who) for who in (f"user-{i}" for i in range(200))}
    assert r.digest_send_at(day, "Europe/Berlin", "user-1") == times["user-1"]  # the same every time
    local = [_local(t, "Europe/Berlin") for t in times.values()]
    assert all(t.date() == day and 7 <= t.hour < 9 and (t.hour, t.minute) < (8, 30) for t in local)
    assert len({t.replace(second=0) for t in local}) > 50  # spread, not a stampede at 07:00:00
    assert all(t.tzinfo == timezone.utc for t in times.values())


@pytest.mark.parametrize("tz, day, utc_offset", [
    ("Europe/Berlin", date(2026, 3, 29), 2),  # spring forward at 02:00 that morning
    ("Europe/Berlin", date(2026, 3, 28), 1),
    ("Europe/Berlin", date(2026, 10, 25), 1),  # fall back at 03:00: 02:00–03:00 happens twice
    ("Europe/Berlin", date(2026, 10, 24), 2),
    ("America/New_York", date(2026, 3, 8), -4),
    ("America/New_York", date(2026, 11, 1), -5),
    ("Asia/Kolkata", date(2026, 3, 29), 5.5),
])
def test_digest_on_daylight_saving_days_keeps_its_local_hour(tz, day, utc_offset):
    moment = r.digest_send_at(day, tz, "consultant-7")
    local = _local(moment, tz)
    assert local.date() == day
    assert local.utcoffset() == timedelta(hours=utc_offset)
    offset = r._offset_seconds("consultant-7", r.DIGEST_WINDOW_MINUTES)
    assert (local.hour * 3600 + local.minute * 60 + local.second) == 7 * 3600 + offset


def test_digest_is_due_once_per_local_day_even_on_a_dst_day():
    tz, who = "Europe/Berlin", "consultant-7"
    day = date(2026, 10, 25)
    send = r.digest_send_at(day, tz, who)
    assert r.digest_due(send - timedelta(seconds=1), tz, who) is None
    assert r.digest_due(send, tz, who) == day
    # every quarter-hour sweep of that 25-hour local day names one period only: one key, one mail
    start = datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc)  # local midnight (CEST)
    periods = [r.digest_due(start + timedelta(minutes=15 * i), tz, who) for i in range(100)]
    assert {p for p in periods if p} == {day}
    assert periods[-1] == day
    assert _local(start + timedelta(hours=25), tz).date() == date(2026, 10, 26)


def test_digests_never_go_out_between_one_and_three_or_past_midnight():
    with pytest.raises(WorkflowError, match="01:00 and 03:00"):
        r.digest_send_at(MON, "Europe/Berlin", "x", hour=1)
    with pytest.raises(WorkflowError):
        r.digest_send_at(MON, "Europe/Berlin", "x", hour=0, window_minutes=90)  # 00:00–01:30
    with pytest.raises(WorkflowError):
        r.digest_send_at(MON, "Europe/Berlin", "x", hour=23, window_minutes=90)
    with pytest.raises(WorkflowError):
        r.digest_send_at(MON, "Europe/Berlin", "x", window_minutes=0)
    early = _local(r.digest_send_at(MON, "Europe/Berlin", "x", hour=3), "Europe/Berlin")
    assert early.hour in (3, 4)


def test_the_brief_ranks_clients_by_urgency_and_leaves_out_the_quiet_ones():
    rows = r.brief_rows([
        r.BriefClient("Calm Ltd", "calm", days_quiet=2),
        r.BriefClient("Stale Co", "stale", days_quiet=22),
        r.BriefClient("Late GmbH", "late", overdue_tasks=3, red_kpis=1, days_quiet=1),
        r.BriefClient("Gate AG", "gate", gates_waiting=1, days_quiet=0),
        r.BriefClient("Red Inc", "red", red_kpis=2, missing_kpis=1, days_quiet=5),
    ])
    assert [row.client.slug for row in rows] == ["gate", "late", "red", "stale"]
    assert rows[0].reasons == ("1 gate review waiting for you",)
    assert rows[1].reasons == ("3 overdue tasks", "1 KPI in the red")
    assert rows[2].reasons == ("2 KPIs in the red", "1 KPI measurement missing")
    assert rows[3].reasons == ("no activity for 22 days",)
    assert r.brief_rows([r.BriefClient("Calm Ltd", "calm", days_quiet=20)]) == []
