"""The cycle as the client works it: a body's response rules as typed, the three-year calendar with the
proposed internal audit and management review, the preparation tasks with their keys, and the stale task rule."""
from datetime import date, datetime, timedelta, timezone

import pytest

from workflows import cycle as wc
from workflows import cycle_plan as cp
from workflows import nonconformity as nc


def test_body_names_match_without_case_or_extra_spaces():
    assert wc.body_key("  Bureau   Veritas ") == wc.body_key("bureau veritas") == "bureau veritas"
    assert wc.body_key(None) == wc.body_key("   ") == ""


def test_rules_typed_are_whole_numbers_in_range_and_every_error_is_named():
    assert wc.check_rules({"major_days": "60", "minor_days": "14", "stage_2_repeat_months": "3"}) == \
        wc.ResponseRules(60, 14, 3)
    with pytest.raises(wc.CycleError) as err:
        wc.check_rules({"major_days": "0", "minor_days": "²", "stage_2_repeat_months": "25"})
    assert err.value.status == 422
    for label in wc.RULE_LABELS.values():
        assert label in str(err.value)
    with pytest.raises(wc.CycleError):
        wc.check_rules({"major_days": "9" * 5000, "minor_days": "30", "stage_2_repeat_months": "6"})


def test_a_bodys_own_rules_set_the_deadlines():
    strict = wc.ResponseRules(major_days=60, minor_days=14, stage_2_repeat_months=3)
    assert wc.response_deadline(date(2027, 1, 10), "major", strict) == date(2027, 3, 11)
    assert wc.response_deadline(date(2027, 1, 10), "minor", strict) == date(2027, 1, 24)
    assert wc.response_deadline(date(2027, 1, 10), "major") == date(2027, 4, 10)  # the default 90 days
    assert wc.stage_2_repeat_by(date(2027, 8, 31)) == date(2028, 2, 29)  # six months, to the month's end
    assert wc.stage_2_repeat_by(date(2027, 8, 31), strict) == date(2027, 11, 30)


def test_the_stage_2_repeat_warning_only_with_unverified_majors_and_no_certificate():
    held, today = date(2027, 8, 31), date(2028, 2, 1)
    risk = wc.stage_2_repeat_risk(held, 2, False, today)
    assert (risk.by, risk.days_left, risk.majors) == (date(2028, 2, 29), 28, 2)
    assert risk.text == ("2 major nonconformities from stage 2 must be verified by the certification body by "
                         "29 Feb 2028 (28 days left), or it repeats stage 2.")
    late = wc.stage_2_repeat_risk(held, 1, False, date(2028, 3, 1))
    assert late.days_left == -1 and late.text.startswith("1 major nonconformity from stage 2 not verified")
    assert wc.stage_2_repeat_risk(held, 1, False, date(2028, 2, 28)).text.endswith("(1 day left), or it repeats stage 2.")
    assert wc.stage_2_repeat_risk(None, 2, False, today) is None  # stage 2 not held
    assert wc.stage_2_repeat_risk(held, 0, False, today) is None  # nothing unverified
    assert wc.stage_2_repeat_risk(held, 2, True, today) is None  # certified: decided, nothing to repeat


def test_the_calendar_of_a_certificate_in_its_first_surveillance_year():
    found = wc.cycle(date(2026, 8, 3), today=date(2026, 12, 3))
    events = cp.calendar(found, date(2026, 12, 3), stage_2_on=date(2026, 7, 18))
    assert [e.on for e in events] == sorted(e.on for e in events)
    kinds = [e.kind for e in events]
    assert kinds[:2] == ["stage_2", "decision"]
    assert kinds.count("internal_audit") == kinds.count("management_review") == 3
    assert kinds[-1] == "expiry" and events[-1].on == date(2029, 8, 2)
    s1 = next(e for e in events if e.kind == "surveillance_1")
    assert (s1.on, s1.status) == (date(2027, 8, 3), cp.DUE)
    ia = next(e for e in events if e.kind == "internal_audit" and e.audit == "surveillance_1")
    mr = next(e for e in events if e.kind == "management_review" and e.audit == "surveillance_1")
    assert ia.on < mr.on < s1.on


def test_the_calendar_of_a_decision_on_29_february():
    found = wc.cycle(date(2028, 2, 29), today=date(2028, 3, 1))
    events = {e.kind: e for e in cp.calendar(found, date(2028, 3, 1))}
    assert events["surveillance_1"].on == date(2029, 2, 28)
    assert events["expiry"].on == date(2031, 2, 27)


def test_the_calendar_shows_a_surveillance_held_late_and_one_overdue():
    late = wc.cycle(date(2026, 3, 15), today=date(2027, 6, 1), held={"surveillance_1": date(2027, 4, 20)})
    events = {e.kind: e for e in cp.calendar(late, date(2027, 6, 1))}
    assert (events["surveillance_1"].on, events["surveillance_1"].status) == (date(2027, 4, 20), cp.LATE)
    missed = wc.cycle(date(2026, 3, 15), today=date(2027, 4, 1))
    events = {e.kind: e for e in cp.calendar(missed, date(2027, 4, 1))}
    assert events["surveillance_1"].status == cp.LATE
    held = wc.cycle(date(2026, 3, 15), today=date(2027, 4, 1), held={"surveillance_1": date(2027, 2, 1)})
    assert {e.kind: e for e in cp.calendar(held, date(2027, 4, 1))}["surveillance_1"].status == cp.DONE


def test_the_calendar_of_an_expired_certificate():
    found = wc.cycle(date(2026, 3, 15), today=date(2029, 3, 20),
                     held={"surveillance_1": date(2027, 2, 1), "surveillance_2": date(2028, 2, 1)})
    events = {e.kind: e for e in cp.calendar(found, date(2029, 3, 20))}
    assert found.status == "expired"
    assert events["expiry"].status == cp.LATE and events["recertification"].status == cp.LATE


def test_preparation_tasks_have_one_key_each_per_audit_and_work_back_from_it():
    found = wc.cycle(date(2026, 8, 3), today=date(2026, 12, 3))
    tasks = cp.preparation_tasks(found.next_audit)
    assert [t.key for t in tasks] == [f"prep_surveillance_1_{i}" for i in range(1, 8)]
    assert len({t.key for t in tasks}) == len(tasks) and all(len(t.key) <= 80 for t in tasks)
    assert all(t.due_on <= found.next_audit.target for t in tasks)
    by_clause = {t.clause: t for t in tasks}
    assert by_clause["9.2"].due_on == found.next_audit.internal_audit_by
    assert by_clause["9.3"].due_on == found.next_audit.management_review_by
    assert {"9.2", "9.3", "6.2", "7.5", "10.2", "4.3"} <= set(by_clause)
    assert all(t.guidance for t in tasks)
    # A planned date moves the dates, not the keys: generating again after planning creates nothing new.
    planned = wc.cycle(date(2026, 8, 3), today=date(2026, 12, 3), planned={"surveillance_1": date(2027, 6, 1)})
    again = cp.preparation_tasks(planned.next_audit)
    assert [t.key for t in again] == [t.key for t in tasks]
    assert again[0].due_on == date(2027, 6, 1) - timedelta(weeks=8)


NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)


def test_an_open_task_untouched_for_sixty_days_is_stale():
    assert nc.is_stale_task("todo", None, NOW - timedelta(days=60), NOW)
    assert nc.is_stale_task("in_progress", date(2026, 9, 1), NOW - timedelta(days=90), NOW)
    assert not nc.is_stale_task("todo", None, NOW - timedelta(days=59, hours=23), NOW)
    assert not nc.is_stale_task("done", None, NOW - timedelta(days=400), NOW)
    assert not nc.is_stale_task("not_applicable", None, NOW - timedelta(days=400), NOW)


def test_a_task_counts_from_its_start_date_not_from_before_it():
    created_long_ago = NOW - timedelta(days=300)
    assert not nc.is_stale_task("todo", date(2027, 1, 10), created_long_ago, NOW)  # not started yet
    assert not nc.is_stale_task("todo", date(2026, 11, 1), created_long_ago, NOW)  # started 32 days ago
    assert nc.is_stale_task("todo", date(2026, 10, 4), created_long_ago, NOW)  # started 60 days ago
