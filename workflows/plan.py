"""Turning a template into dated tasks between a start date and a target
certification date.

Stages get consecutive windows proportional to their tasks' summed default
durations; inside a window the tasks run one after another, each stretched or
squeezed by the same factor. Dates are calendar days (no working-day
calendar): consultants plan in weeks and months, and clients move dates by hand.

Once a client is running, `shift_plan` moves what is still ahead of it when a
project slips or speeds up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, fields, replace
from typing import TypeVar

from .errors import PlanError
from .stages import STAGE_KEYS, stage_index
from .template import StageTemplate, TaskTemplate, Template
from .lifecycle import is_open_task
from .vocabulary import STAGE_STATUSES, TASK_STATUSES

# Below this, even a tiny firm cannot run the system long enough to have
# records for the certification body: about three months of operation before
# stage 2, plus the gap analysis, system design and the CB's booking lead time.
MIN_PLAN_DAYS = 120
# Below this a plan is possible but tight: the client is warned, not refused.
ADVISED_PLAN_DAYS = 180


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


def check_plan_window(start_date: dt.date, target_date: dt.date) -> tuple[dt.date, dt.date, int]:
    """(start, target, days between) if the target is at least MIN_PLAN_DAYS after the start, else PlanError."""
    start = _as_date(start_date, "start_date")
    target = _as_date(target_date, "target_date")
    days = (target - start).days
    if days <= 0:
        raise PlanError(f"The target date ({target.isoformat()}) must be after the start date ({start.isoformat()})")
    if days < MIN_PLAN_DAYS:
        raise PlanError(
            f"Only {days} days between {start.isoformat()} and {target.isoformat()}: "
            f"allow at least {MIN_PLAN_DAYS} days between the start and the target certification date — "
            "the system has to run for about three months before the stage 2 audit"
        )
    return start, target, days


def plan_length_warning(start_date: dt.date, target_date: dt.date) -> str | None:
    """A warning for a plan that is allowed but shorter than ADVISED_PLAN_DAYS; None when long enough.

    Assumes the window passed `check_plan_window` (a refused plan gets no warning, it gets the refusal).
    """
    days = (_as_date(target_date, "target_date") - _as_date(start_date, "start_date")).days
    if MIN_PLAN_DAYS <= days < ADVISED_PLAN_DAYS:
        return (f"This plan leaves only {days} days to certification. Most small firms need about "
                f"{ADVISED_PLAN_DAYS} days: check that the certification body can book stage 1 and stage 2 in time "
                "and that the team can keep the records going for three months before stage 2.")
    return None


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
    start, _, days = check_plan_window(start_date, target_date)
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
    start, _, days = check_plan_window(start_date, target_date)
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


# --------------------------------------------------------------------------
# Moving a running client's plan
# --------------------------------------------------------------------------

MAX_SHIFT_DAYS = 365
_SHIFT_DAYS_MESSAGE = f"Enter a number of days between -{MAX_SHIFT_DAYS} and {MAX_SHIFT_DAYS} (not 0)."


@dataclass(frozen=True)
class TaskDates:
    """A client's task as far as its dates are concerned."""

    key: Hashable  # whatever the caller uses to find the row again (a key or an id)
    stage: str
    status: str
    start_on: dt.date | None = None
    due_on: dt.date | None = None

    def __post_init__(self) -> None:
        stage_index(self.stage)
        if self.status not in TASK_STATUSES:
            raise ValueError(f"task {self.key!r}: unknown status {self.status!r}")


@dataclass(frozen=True)
class StageDates:
    """A client's stage and its planned window (dates or datetimes; both shift alike)."""

    key: str
    status: str  # see STAGE_STATUSES
    planned_start: dt.date | None = None
    planned_end: dt.date | None = None

    def __post_init__(self) -> None:
        stage_index(self.key)
        if self.status not in STAGE_STATUSES:
            raise ValueError(f"stage {self.key!r}: unknown status {self.status!r}")


@dataclass(frozen=True)
class PlanShift:
    """What moves: only the tasks and stages whose dates change, with their new dates."""

    days: int
    stage: str | None
    tasks: tuple[TaskDates, ...] = ()
    stages: tuple[StageDates, ...] = ()

    @property
    def moved(self) -> int:
        """How many tasks moved (what the consultant is told)."""
        return len(self.tasks)


_Dated = TypeVar("_Dated", PlannedTask, StageWindow, TaskDates, StageDates)


def shift_dates(planned: Iterable[_Dated], days: int | dt.timedelta) -> list[_Dated]:
    """The same items with every date moved by `days` (negative to bring them forward).

    No rules and no limits: this is the arithmetic (used for fresh plans and by
    shift_plan); what may move in a running client's plan is shift_plan's job.
    Dates that are None stay None.
    """
    delta = days if isinstance(days, dt.timedelta) else dt.timedelta(days=days)
    shifted = []
    for item in planned:
        changes = {
            f.name: getattr(item, f.name) + delta for f in fields(item) if isinstance(getattr(item, f.name), dt.date)
        }
        shifted.append(replace(item, **changes))
    return shifted


def check_shift_days(days: int | str) -> int:
    """The number of days a plan may be moved by, from a form field or an int.

    Anything but a whole number from -365 to 365 other than 0 is refused with
    PlanError (422): a year either way covers any real delay, and 0 would log
    a change that changes nothing.
    """
    if isinstance(days, bool):
        raise PlanError(_SHIFT_DAYS_MESSAGE)
    if isinstance(days, str):
        try:
            days = int(days.strip())
        except ValueError:
            raise PlanError(_SHIFT_DAYS_MESSAGE) from None
    if not isinstance(days, int) or not -MAX_SHIFT_DAYS <= days <= MAX_SHIFT_DAYS or days == 0:
        raise PlanError(_SHIFT_DAYS_MESSAGE)
    return days


def shift_plan(
    tasks: Iterable[TaskDates], stages: Iterable[StageDates], days: int | str, stage_key: str | None = None
) -> PlanShift:
    """Move a running client's plan by `days` (all stages, or only `stage_key`).

    Only what is still ahead moves. Tasks: the open ones (to do, in progress)
    with a due date; their start date moves with them. Stages: those not yet
    passed with a planned end move their end; an upcoming stage also moves its
    start, while the current stage keeps the start it actually had. Finished
    tasks and passed stages keep their dates: they record what happened.
    `days` is checked by check_shift_days (PlanError, 422).
    """
    days = check_shift_days(days)
    if stage_key is not None:
        stage_index(stage_key)
    delta = dt.timedelta(days=days)

    def selected(stage: str) -> bool:
        return stage_key is None or stage == stage_key

    moving_tasks = [t for t in tasks if selected(t.stage) and is_open_task(t.status) and t.due_on is not None]
    moved_stages = []
    try:
        for s in stages:
            if not selected(s.key) or s.status == "passed" or s.planned_end is None:
                continue
            start = s.planned_start + delta if s.planned_start is not None and s.status == "upcoming" else s.planned_start
            moved_stages.append(replace(s, planned_start=start, planned_end=s.planned_end + delta))
        moved_tasks = tuple(shift_dates(moving_tasks, delta))
    except OverflowError:
        # Only dates stored before check_plan_date existed can be this far out (9999-12-31, 0001-01-01).
        far = sorted({d for t in moving_tasks for d in (t.start_on, t.due_on) if d and (d.year < 10 or d.year > 9990)})
        raise PlanError(f"The plan can't move by {days:+d} days: open tasks are dated "
                        f"{', '.join(d.isoformat() for d in far) or 'too far away'}. Correct those dates first.") from None
    return PlanShift(days, stage_key, moved_tasks, tuple(moved_stages))


# --------------------------------------------------------------------------
# Dates typed into a running client's plan
# --------------------------------------------------------------------------

# How far from the plan (its start, its target, today) a typed date may be: further away it is a slip of the
# keyboard (9999-12-31, 0001-01-01), which would also leave a date that no shift of the plan can move.
PLAN_DATE_MARGIN_YEARS = 5


def _years_from(day: dt.date, years: int) -> dt.date:
    try:
        return day + dt.timedelta(days=round(365.25 * years))
    except OverflowError:
        return dt.date.max if years > 0 else dt.date.min


def plan_date_bounds(start_on: dt.date | None, target_on: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The earliest and latest date a task's due date (or another date of the plan) may take:
    PLAN_DATE_MARGIN_YEARS before the earliest and after the latest of start, target and today."""
    anchors = [_as_date(d, "date") for d in (start_on, target_on, today) if d is not None]
    return _years_from(min(anchors), -PLAN_DATE_MARGIN_YEARS), _years_from(max(anchors), PLAN_DATE_MARGIN_YEARS)


def check_plan_date(value: dt.date, start_on: dt.date | None, target_on: dt.date | None, today: dt.date,
                    what: str = "The due date") -> dt.date:
    """`value` if it lies within plan_date_bounds, else PlanError (422) saying which dates are accepted."""
    value = _as_date(value, "value")
    earliest, latest = plan_date_bounds(start_on, target_on, today)
    if not earliest <= value <= latest:
        raise PlanError(f"{what} must be between {earliest:%d %b %Y} and {latest:%d %b %Y} "
                        f"(within {PLAN_DATE_MARGIN_YEARS} years of this client's plan); "
                        f"{value.isoformat()} is outside.")
    return value


def days_behind_plan(planned_end: dt.date | None, today: dt.date, finished: bool = False) -> int:
    """How many days the current stage has run past its planned end (0 while on plan, when it has no
    planned end, or when every stage is passed): the portfolio's "slipping against plan"."""
    if finished or planned_end is None:
        return 0
    return max(0, (today - _as_date(planned_end, "planned_end")).days)
