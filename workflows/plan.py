"""Turning a template into dated tasks between a start date and a target
certification date.

Stages get consecutive windows proportional to their tasks' summed default
durations; inside a window the tasks run one after another, each stretched or
squeezed by the same factor. Dates are calendar days (no working-day
calendar): consultants plan in weeks and months, and clients move dates by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from .errors import PlanError
from .stages import STAGE_KEYS, stage_index
from .template import StageTemplate, TaskTemplate, Template

# Below this, even a tiny firm cannot run the system long enough to have
# records for the certification body (and a CB rarely books stage 1 and 2 faster).
MIN_PLAN_DAYS = 30


@dataclass(frozen=True)
class PlannedTask:
    key: str
    stage: str
    title: str
    role: str
    required: bool
    duration_days: int  # the template's default, before scaling
    start_date: dt.date
    due_date: dt.date


@dataclass(frozen=True)
class StageWindow:
    stage: str
    label: str
    start_date: dt.date
    end_date: dt.date  # also the next stage's start date (a shared boundary, as on a Gantt chart)

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days


def _as_date(value: dt.date, name: str) -> dt.date:
    # datetime is a subclass of date; a time of day would leak into arithmetic.
    if isinstance(value, dt.datetime):
        return value.date()
    if not isinstance(value, dt.date):
        raise PlanError(f"{name} must be a date, not {value!r}")
    return value


def _selected_stages(template: Template, from_stage: str | None) -> list[StageTemplate]:
    if from_stage is None:
        return list(template.stages)
    first = stage_index(from_stage)
    return [s for s in template.stages if s.key in STAGE_KEYS and stage_index(s.key) >= first]


def _tasks(stage: StageTemplate, include_optional: bool) -> list[TaskTemplate]:
    return [t for t in stage.tasks if include_optional or t.required]


def _check_dates(start_date: dt.date, target_date: dt.date) -> tuple[dt.date, dt.date, int]:
    start = _as_date(start_date, "start_date")
    target = _as_date(target_date, "target_date")
    days = (target - start).days
    if days <= 0:
        raise PlanError(f"The target date ({target.isoformat()}) must be after the start date ({start.isoformat()})")
    if days < MIN_PLAN_DAYS:
        raise PlanError(
            f"Only {days} days between {start.isoformat()} and {target.isoformat()}: "
            f"a realistic certification plan needs at least {MIN_PLAN_DAYS}"
        )
    return start, target, days


def _rounded_share(total: int, part: int, whole: int) -> int:
    # Integer round-half-up of total * part / whole; monotone in `part`, exact at part == whole.
    return (2 * total * part + whole) // (2 * whole)


def _windows(stages: list[StageTemplate], start: dt.date, days: int, include_optional: bool) -> list[StageWindow]:
    weights = [sum(t.duration_days for t in _tasks(s, include_optional)) for s in stages]
    if sum(weights) == 0:
        weights = [1] * len(stages)  # no durations at all: split evenly
    whole = sum(weights)
    windows, cumulative = [], 0
    for stage, weight in zip(stages, weights, strict=True):
        begin = start + dt.timedelta(days=_rounded_share(days, cumulative, whole))
        cumulative += weight
        end = start + dt.timedelta(days=_rounded_share(days, cumulative, whole))
        windows.append(StageWindow(stage.key, stage.label, begin, end))
    return windows


def stage_windows(
    template: Template,
    start_date: dt.date,
    target_date: dt.date,
    *,
    from_stage: str | None = None,
    include_optional: bool = True,
) -> list[StageWindow]:
    """Planned start and end of each stage; the last ends on the target date.

    `from_stage` re-plans a running client from its current stage onwards.
    """
    start, _, days = _check_dates(start_date, target_date)
    stages = _selected_stages(template, from_stage)
    if not stages:
        return []
    return _windows(stages, start, days, include_optional)


def plan_tasks(
    template: Template,
    start_date: dt.date,
    target_date: dt.date,
    *,
    from_stage: str | None = None,
    include_optional: bool = True,
) -> list[PlannedTask]:
    """Every task with a start and due date, in template order.

    Due dates never decrease along the list, fall inside their stage's window
    (after its start when the window has at least one day) and the last task of
    each stage is due on the window's end. Short windows can give several
    tasks the same due date.
    """
    start, _, days = _check_dates(start_date, target_date)
    stages = _selected_stages(template, from_stage)
    planned: list[PlannedTask] = []
    for stage, window in zip(stages, _windows(stages, start, days, include_optional), strict=True):
        tasks = _tasks(stage, include_optional)
        whole = sum(t.duration_days for t in tasks)
        elapsed, previous_due = 0, window.start_date
        for task in tasks:
            elapsed += task.duration_days
            # Ceiling so that a task is never due on the day its stage starts.
            offset = -(-window.days * elapsed // whole) if whole else window.days
            due = window.start_date + dt.timedelta(days=offset)
            planned.append(
                PlannedTask(
                    key=task.key,
                    stage=stage.key,
                    title=task.title,
                    role=task.role,
                    required=task.required,
                    duration_days=task.duration_days,
                    start_date=previous_due,
                    due_date=due,
                )
            )
            previous_due = due
    return planned


_Dated = TypeVar("_Dated", PlannedTask, StageWindow)


def shift_dates(planned: list[_Dated], days: int | dt.timedelta) -> list[_Dated]:
    """The same plan (tasks or stage windows) moved by `days`, negative to bring it forward."""
    delta = days if isinstance(days, dt.timedelta) else dt.timedelta(days=days)
    shifted = []
    for item in planned:
        changes = {
            f.name: getattr(item, f.name) + delta for f in fields(item) if isinstance(getattr(item, f.name), dt.date)
        }
        shifted.append(replace(item, **changes))
    return shifted
