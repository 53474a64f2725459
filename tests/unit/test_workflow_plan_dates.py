"""Dates typed into a running plan stay within a few years of it; a shift never overflows the calendar."""
import datetime as dt

import pytest

from workflows import (
    PLAN_DATE_MARGIN_YEARS,
    PlanError,
    StageDates,
    TaskDates,
    check_plan_date,
    plan_date_bounds,
    shift_plan,
)

START = dt.date(2026, 1, 5)
TARGET = dt.date(2026, 12, 1)
TODAY = dt.date(2026, 3, 1)


def test_the_margin_is_a_few_years():
    assert PLAN_DATE_MARGIN_YEARS == 5


def test_bounds_reach_the_margin_beyond_the_earliest_and_latest_of_start_target_and_today():
    assert plan_date_bounds(START, TARGET, TODAY) == (dt.date(2021, 1, 5), dt.date(2031, 12, 1))
    # A client running late: today is after the target, and the bounds follow today.
    assert plan_date_bounds(START, TARGET, dt.date(2027, 6, 1))[1] == dt.date(2032, 5, 31)
    # Without plan dates, today alone anchors them.
    assert plan_date_bounds(None, None, TODAY) == (dt.date(2021, 3, 1), dt.date(2031, 3, 1))


def test_bounds_never_overflow_the_calendar():
    assert plan_date_bounds(dt.date(1, 1, 3), dt.date(9999, 12, 1), TODAY) == (dt.date.min, dt.date.max)


@pytest.mark.parametrize("value", [START, TARGET, dt.date(2021, 1, 5), dt.date(2031, 12, 1), dt.date(2029, 2, 28)])
def test_dates_within_the_bounds_are_accepted(value):
    assert check_plan_date(value, START, TARGET, TODAY) == value


@pytest.mark.parametrize("value", [dt.date(9999, 12, 31), dt.date(1, 1, 1), dt.date(2021, 1, 4), dt.date(2031, 12, 2)])
def test_dates_outside_are_refused_with_the_accepted_range(value):
    with pytest.raises(PlanError) as refused:
        check_plan_date(value, START, TARGET, TODAY)
    assert refused.value.status == 422
    assert str(refused.value) == (f"The due date must be between 05 Jan 2021 and 01 Dec 2031 (within 5 years of "
                                  f"this client's plan); {value.isoformat()} is outside.")


def test_the_message_names_what_is_checked():
    with pytest.raises(PlanError, match="^The decision date must be between"):
        check_plan_date(dt.date(9999, 12, 31), START, TARGET, TODAY, what="The decision date")


def test_a_datetime_is_checked_as_its_date():
    assert check_plan_date(dt.datetime(2026, 5, 1, 13, 0), START, TARGET, TODAY) == dt.date(2026, 5, 1)


def test_a_shift_past_the_calendar_names_the_dates_instead_of_overflowing():
    tasks = [TaskDates(1, "initial_audit", "todo", dt.date(2026, 1, 5), dt.date(9999, 12, 31)),
             TaskDates(2, "initial_audit", "todo", dt.date(2026, 1, 5), dt.date(2026, 2, 1))]
    stages = [StageDates("initial_audit", "current", dt.date(2026, 1, 5), dt.date(2026, 2, 1))]
    with pytest.raises(PlanError) as refused:
        shift_plan(tasks, stages, 30)
    assert refused.value.status == 422
    assert str(refused.value) == ("The plan can't move by +30 days: open tasks are dated 9999-12-31. "
                                  "Correct those dates first.")
    with pytest.raises(PlanError, match="dated 0001-01-01"):
        shift_plan([TaskDates(1, "initial_audit", "todo", dt.date(1, 1, 1), dt.date(1, 1, 20))], stages, -30)
    # Moving the other way stays inside the calendar and is fine.
    moved = shift_plan(tasks, stages, -30)
    assert {t.key: t.due_on for t in moved.tasks} == {1: dt.date(9999, 12, 1), 2: dt.date(2026, 1, 2)}
