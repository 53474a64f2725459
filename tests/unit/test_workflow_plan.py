import datetime as dt

import pytest
from workflow_helpers import template  # noqa: F401  (fixtures)

from workflows import (
    ADVISED_PLAN_DAYS,
    MAX_SHIFT_DAYS,
    MIN_PLAN_DAYS,
    STAGE_KEYS,
    PlanError,
    PlanShift,
    StageDates,
    TaskDates,
    TaskTemplate,
    add_task,
    check_plan_window,
    check_shift_days,
    copy_template,
    load_template,
    plan_length_warning,
    plan_tasks,
    shift_dates,
    shift_plan,
    stage_windows,
)

START = dt.date(2025, 1, 6)
TARGET = dt.date(2025, 9, 30)


def test_stage_windows_are_consecutive_and_fill_the_period(template):
    windows = stage_windows(template, START, TARGET)
    assert [w.stage for w in windows] == list(STAGE_KEYS)
    assert windows[0].start_date == START and windows[-1].end_date == TARGET
    for earlier, later in zip(windows, windows[1:], strict=False):
        assert earlier.end_date == later.start_date
    assert sum(w.days for w in windows) == (TARGET - START).days


def test_stage_windows_are_proportional_to_task_durations(template):
    windows = {w.stage: w for w in stage_windows(template, START, TARGET)}
    total_days = (TARGET - START).days
    total_duration = sum(s.total_duration_days for s in template.stages)
    for stage in template.stages:
        expected = total_days * stage.total_duration_days / total_duration
        assert abs(windows[stage.key].days - expected) <= 1
    assert max(windows.values(), key=lambda w: w.days).stage == "implementation"


def test_planned_tasks_are_monotone_and_inside_their_window(template):
    planned = plan_tasks(template, START, TARGET)
    assert [p.key for p in planned] == [t.key for _, t in template.iter_tasks()]
    windows = {w.stage: w for w in stage_windows(template, START, TARGET)}
    dues = [p.due_date for p in planned]
    assert dues == sorted(dues)
    for p in planned:
        window = windows[p.stage]
        assert window.start_date <= p.start_date <= p.due_date <= window.end_date
        assert p.due_date > window.start_date  # windows here are long enough
    for stage in STAGE_KEYS:
        assert [p for p in planned if p.stage == stage][-1].due_date == windows[stage].end_date
    assert planned[-1].due_date == TARGET
    first = planned[0]
    assert (first.title, first.role, first.required) == (
        "Hold the kick-off meeting with top management",
        "consultant",
        True,
    )


def test_tasks_run_sequentially_within_a_stage(template):
    planned = [p for p in plan_tasks(template, START, TARGET) if p.stage == "system_design"]
    for earlier, later in zip(planned, planned[1:], strict=False):
        assert later.start_date == earlier.due_date


def test_shortest_allowed_plan_is_still_ordered(template):
    target = START + dt.timedelta(days=MIN_PLAN_DAYS)
    planned = plan_tasks(template, START, target)
    dues = [p.due_date for p in planned]
    assert dues == sorted(dues) and dues[-1] == target and dues[0] >= START


@pytest.mark.parametrize(
    "target, message",
    [
        (START, "must be after the start date"),
        (START - dt.timedelta(days=10), "must be after the start date"),
        (START + dt.timedelta(days=MIN_PLAN_DAYS - 1), "allow at least 120 days"),
    ],
)
def test_unrealistic_dates_are_refused(template, target, message):
    with pytest.raises(PlanError, match=message):
        plan_tasks(template, START, target)
    with pytest.raises(PlanError, match=message):
        stage_windows(template, START, target)


def test_plan_length_thresholds():
    assert (MIN_PLAN_DAYS, ADVISED_PLAN_DAYS) == (120, 180)


@pytest.mark.parametrize("days, refused, warned", [
    (60, True, False), (119, True, False), (120, False, True), (179, False, True), (180, False, False),
    (270, False, False),
])
def test_a_short_plan_is_refused_and_a_tight_one_warned(days, refused, warned):
    target = START + dt.timedelta(days=days)
    if refused:
        with pytest.raises(PlanError, match=f"Only {days} days .*allow at least 120 days") as err:
            check_plan_window(START, target)
        assert err.value.status == 422
    else:
        assert check_plan_window(START, target)[2] == days
    warning = plan_length_warning(START, target)
    assert (warning is not None) is warned
    if warned:
        assert f"only {days} days" in warning and "180 days" in warning


def test_non_dates_are_refused(template):
    with pytest.raises(PlanError, match="must be a date"):
        plan_tasks(template, "2025-01-06", TARGET)


def test_datetimes_are_treated_as_dates(template):
    planned = plan_tasks(template, dt.datetime(2025, 1, 6, 15, 30), dt.datetime(2025, 9, 30, 9, 0))
    assert planned == plan_tasks(template, START, TARGET)


def test_shift_dates_moves_everything_and_leaves_the_original(template):
    planned = plan_tasks(template, START, TARGET)
    later = shift_dates(planned, 14)
    assert all(b.due_date - a.due_date == dt.timedelta(days=14) for a, b in zip(planned, later, strict=True))
    assert all(b.start_date - a.start_date == dt.timedelta(days=14) for a, b in zip(planned, later, strict=True))
    assert planned[0].start_date == START
    earlier = shift_dates(planned, dt.timedelta(days=-7))
    assert earlier[-1].due_date == TARGET - dt.timedelta(days=7)
    windows = shift_dates(stage_windows(template, START, TARGET), 3)
    assert windows[0].start_date == START + dt.timedelta(days=3)


def test_replan_from_the_current_stage(template):
    today = dt.date(2025, 4, 1)
    planned = plan_tasks(template, today, TARGET, from_stage="internal_audit")
    assert {p.stage for p in planned} == {"internal_audit", "certification_audit"}
    windows = stage_windows(template, today, TARGET, from_stage="internal_audit")
    assert windows[0].start_date == today and windows[-1].end_date == TARGET


def test_optional_tasks_can_be_left_out(template):
    t = add_task(
        copy_template(template, "acme", "Acme"),
        "implementation",
        TaskTemplate("team_lunch", "Team lunch", "", ("7.3",), "staff", 1, False),
    )
    keys = {p.key for p in plan_tasks(t, START, TARGET, include_optional=False)}
    assert "team_lunch" not in keys and "quality_policy" in keys


# ------------------------------------------------- moving a running client --

SHIFT_MESSAGE = "Enter a number of days between -365 and 365 (not 0)."


def d(day, month=3):
    return dt.date(2025, month, day)


@pytest.fixture
def running():
    """A client in implementation: one task of each status, some without dates."""
    tasks = [
        TaskDates("policy", "system_design", "done", d(1), d(5)),
        TaskDates("late_design", "system_design", "in_progress", d(2), d(6)),
        TaskDates("training", "implementation", "todo", d(10), d(20)),
        TaskDates("suppliers", "implementation", "in_progress", None, d(25)),
        TaskDates("unplanned", "implementation", "todo", d(12), None),
        TaskDates("design_dev", "implementation", "not_applicable", d(10), d(15)),
        TaskDates("programme", "internal_audit", "todo", d(1, 5), d(10, 5)),
    ]
    stages = [
        StageDates("initial_audit", "passed", d(1, 1), d(1, 2)),
        StageDates("system_design", "passed", d(1, 2), d(1, 3)),
        StageDates("implementation", "current", d(1, 3), d(1, 5)),
        StageDates("internal_audit", "upcoming", d(1, 5), d(1, 6)),
        StageDates("certification_audit", "upcoming", None, None),
    ]
    return tasks, stages


def test_shift_moves_open_dated_tasks_and_what_is_ahead(running):
    tasks, stages = running
    shift = shift_plan(tasks, stages, 14)
    assert isinstance(shift, PlanShift) and (shift.days, shift.stage, shift.moved) == (14, None, 4)
    assert shift.tasks == (
        TaskDates("late_design", "system_design", "in_progress", d(16), d(20)),
        TaskDates("training", "implementation", "todo", d(24), d(3, 4)),
        TaskDates("suppliers", "implementation", "in_progress", None, d(8, 4)),
        TaskDates("programme", "internal_audit", "todo", d(15, 5), d(24, 5)),
    )
    # The current stage keeps the start it actually had; passed stages and undated ones do not move.
    assert shift.stages == (
        StageDates("implementation", "current", d(1, 3), d(15, 5)),
        StageDates("internal_audit", "upcoming", d(15, 5), d(15, 6)),
    )
    assert tasks[1].due_on == d(6)  # the input is left alone


def test_shift_of_one_stage_only(running):
    tasks, stages = running
    shift = shift_plan(tasks, stages, -7, "implementation")
    assert (shift.stage, shift.moved) == ("implementation", 2)
    assert [(t.key, t.start_on, t.due_on) for t in shift.tasks] == [
        ("training", d(3), d(13)),
        ("suppliers", None, d(18)),
    ]
    assert shift.stages == (StageDates("implementation", "current", d(1, 3), d(24, 4)),)


def test_shift_of_a_passed_stage_moves_only_its_open_tasks(running):
    tasks, stages = running
    shift = shift_plan(tasks, stages, 3, "system_design")
    assert [(t.key, t.due_on) for t in shift.tasks] == [("late_design", d(9))]
    assert shift.stages == ()


def test_shift_keeps_datetimes_as_datetimes():
    stage = StageDates("internal_audit", "upcoming", dt.datetime(2025, 5, 1), dt.datetime(2025, 6, 1))
    shift = shift_plan([], [stage], 1)
    assert shift.stages == (StageDates("internal_audit", "upcoming", dt.datetime(2025, 5, 2), dt.datetime(2025, 6, 2)),)
    assert shift.moved == 0


@pytest.mark.parametrize("days", [0, 366, -366, "0", "abc", "", "1.5", 2.0, True, None])
def test_shift_needs_a_whole_number_of_days_within_a_year(running, days):
    with pytest.raises(PlanError) as exc:
        shift_plan(*running, days)
    assert (str(exc.value), exc.value.status) == (SHIFT_MESSAGE, 422)


@pytest.mark.parametrize("days, expected", [(1, 1), (-1, -1), (365, 365), (-365, -365), (" 21 ", 21), ("-30", -30)])
def test_shift_days_from_a_form_or_a_number(days, expected):
    assert MAX_SHIFT_DAYS == 365
    assert check_shift_days(days) == expected


def test_shift_refuses_unknown_stages_and_statuses(running):
    with pytest.raises(ValueError, match="Unknown stage 'stage_two'"):
        shift_plan(*running, 5, "stage_two")
    with pytest.raises(ValueError, match="task 'x': unknown status 'finished'"):
        TaskDates("x", "implementation", "finished")
    with pytest.raises(ValueError, match="stage 'implementation': unknown status 'open'"):
        StageDates("implementation", "open")
