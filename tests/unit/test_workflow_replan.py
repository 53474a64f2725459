"""workflows.replan: new start and target dates move open work with the target, through shift_plan."""
import datetime as dt

import pytest

import workflows as wf

TODAY = dt.date(2026, 3, 2)
START, TARGET = dt.date(2026, 3, 2), dt.date(2026, 9, 1)
TASKS = [wf.TaskDates(1, "initial_audit", "done", dt.date(2026, 3, 2), dt.date(2026, 3, 9)),
         wf.TaskDates(2, "initial_audit", "in_progress", dt.date(2026, 3, 9), dt.date(2026, 3, 20)),
         wf.TaskDates(3, "system_design", "todo", dt.date(2026, 3, 20), dt.date(2026, 4, 10))]
STAGES = [wf.StageDates("initial_audit", "current", dt.date(2026, 3, 2), dt.date(2026, 3, 20)),
          wf.StageDates("system_design", "upcoming", dt.date(2026, 3, 20), dt.date(2026, 9, 1))]


def test_a_later_target_moves_open_tasks_and_stages_ahead_by_the_same_days():
    change = wf.replan(TASKS, STAGES, START, TARGET, START, TARGET + dt.timedelta(days=14), TODAY)
    assert (change.days, change.moved, change.finished_tasks) == (14, 2, 1)
    assert {t.key: t.due_on for t in change.shift.tasks} == {2: dt.date(2026, 4, 3), 3: dt.date(2026, 4, 24)}
    assert {s.key: (s.planned_start, s.planned_end) for s in change.shift.stages} == {
        "initial_audit": (dt.date(2026, 3, 2), dt.date(2026, 4, 3)),  # the current stage keeps its start
        "system_design": (dt.date(2026, 4, 3), dt.date(2026, 9, 15))}


def test_a_new_start_alone_moves_nothing():
    change = wf.replan(TASKS, STAGES, START, TARGET, START + dt.timedelta(days=7), TARGET, TODAY)
    assert change.shift is None and change.moved == 0 and change.days == 0


@pytest.mark.parametrize("start,target,field,words", [
    (START, START, "target_on", "must be after the start date"),
    (START, START + dt.timedelta(days=119), "target_on", "allow at least 120 days"),
    (dt.date(9999, 12, 31), TARGET, "start_on", "The start date must be between"),
    (START, dt.date(1, 1, 1), "target_on", "The target certification date must be between"),
    (START, TARGET + dt.timedelta(days=366), "target_on", "at most 365 days"),
    (START, TARGET, "start_on", "dates already"),
])
def test_impossible_changes_are_refused_naming_the_field(start, target, field, words):
    with pytest.raises(wf.DatesError) as refused:
        wf.replan(TASKS, STAGES, START, TARGET, start, target, TODAY)
    assert refused.value.field == field and words in str(refused.value) and refused.value.status == 422


def test_moving_the_target_into_a_tight_plan_warns_but_is_allowed():
    tight = wf.replan(TASKS, STAGES, START, TARGET, START, START + dt.timedelta(days=150), TODAY)
    assert tight.days == -33 and "only 150 days" in tight.warning
    assert wf.replan(TASKS, STAGES, START, TARGET, START, TARGET + dt.timedelta(days=7), TODAY).warning is None
