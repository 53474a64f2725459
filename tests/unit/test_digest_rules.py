"""The rules of digests, lead days and working days (workflows/digests.py, workflows/reminders.py)."""
from datetime import date

import pytest

from workflows import digests as d
from workflows import reminders as r
from workflows.errors import WorkflowError

MON = date(2026, 12, 14)


def test_a_digest_kind_is_never_held_for_a_digest_and_mandatory_kinds_never_off():
    assert r.delivery("weekly_digest", "digest") == r.IMMEDIATELY
    assert r.delivery("task_assigned", "digest") == r.DIGEST
    assert r.delivery("gate_approved", "off") == r.IMMEDIATELY
    assert r.choices("morning_brief") == (r.IMMEDIATELY, r.OFF)
    with pytest.raises(WorkflowError):
        r.check_preference("daily_digest", "digest")
    r.check_preference("gate_approved", "digest")


def test_the_weekly_digest_goes_on_the_first_working_day_of_the_week():
    assert d.weekly_due(MON) and not d.weekly_due(date(2026, 12, 15))
    tue_to_sat = r.weekend_of("12345")
    assert tue_to_sat == (0, 6)
    assert not d.weekly_due(MON, tue_to_sat) and d.weekly_due(date(2026, 12, 15), tue_to_sat)
    assert not d.weekly_due(date(2026, 12, 19))  # a Saturday
    assert d.week_key(MON) == "2026-W51" and d.week_key(date(2027, 1, 3)) == "2026-W53"


def test_a_weekly_digest_with_nothing_to_say_is_empty():
    calm = d.WeekAtClient("Acme", "Initial audit", 40, False, 0)
    assert d.weekly_sections(calm) == []
    busy = d.WeekAtClient("Acme", "Initial audit", 40, False, 12,
                          overdue=tuple((f"Task {i}", MON) for i in range(12)), red_kpis=("Complaints",))
    sections = dict(d.weekly_sections(busy))
    assert sections["12 overdue tasks"][-1] == "and 2 more" and len(sections["12 overdue tasks"]) == 11
    assert sections["1 KPI in the red"] == ["Complaints"] and "Current stage" in sections["Gate"][0]


def test_lead_days_are_validated_and_stored_in_order():
    assert r.parse_lead_days("1, 7;14") == (14, 7, 1)
    assert r.lead_days_of(None) == (7, 1) and r.lead_days_of("14,3") == (14, 3)
    assert r.lead_days_of("rubbish") == (7, 1)
    for bad in ("", "7, 7", "a week", "61", "1,2,3,4,5", "-1"):
        with pytest.raises(WorkflowError):
            r.parse_lead_days(bad)
    assert r.format_lead_days((14, 7, 1)) == "14,7,1"


def test_working_days_from_a_form():
    assert r.parse_working_days(["4", "0", "1", "2", "3"]) == "01234"
    assert r.weekend_of(None) == r.WEEKEND
    for bad in ([], ["7"], ["0", "x"]):
        with pytest.raises(WorkflowError):
            r.parse_working_days(bad)
