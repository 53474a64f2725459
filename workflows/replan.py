"""Changing a running client's start and target certification dates.

A new target date moves the open work by the same number of days, through
`shift_plan` (so finished tasks and passed stages keep their dates, as they do
on the Plan page); a new start date is recorded as it is and moves nothing,
since work already planned or done does not start again. The dates are
checked as every typed date of a plan is (`check_plan_date`), and the window
between them as a fresh plan's is (`check_plan_window`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import PlanError
from .lifecycle import is_open_task
from .plan import (
    MAX_SHIFT_DAYS,
    PlanShift,
    StageDates,
    TaskDates,
    check_plan_date,
    check_plan_window,
    plan_length_warning,
    shift_plan,
)


class DatesError(PlanError):
    """A refused date change, naming the form field it is about (`start_on` or `target_on`)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Replan:
    """What a change of the client's dates does, before it is applied (the preview) and after."""

    start_on: dt.date | None  # the dates now
    target_on: dt.date | None
    new_start_on: dt.date
    new_target_on: dt.date
    shift: PlanShift | None  # None when the target date stays
    finished_tasks: int  # they keep their dates

    @property
    def days(self) -> int:
        """How far the open work moves (the change of the target date)."""
        return self.shift.days if self.shift else 0

    @property
    def moved(self) -> int:
        return self.shift.moved if self.shift else 0

    @property
    def warning(self) -> str | None:
        """Set when the new dates are allowed but tight (under ADVISED_PLAN_DAYS)."""
        return plan_length_warning(self.new_start_on, self.new_target_on)


def replan(tasks: Iterable[TaskDates], stages: Iterable[StageDates], start_on: dt.date | None,
           target_on: dt.date | None, new_start_on: dt.date, new_target_on: dt.date, today: dt.date) -> Replan:
    """The effect of moving the client's dates to `new_start_on` – `new_target_on` (nothing is changed).

    Refused with DatesError (422): a date further than PLAN_DATE_MARGIN_YEARS from the plan and today, a target
    less than MIN_PLAN_DAYS after the start, a target moved by more than MAX_SHIFT_DAYS at once, and a change
    that changes nothing.
    """
    for value, field, what in ((new_start_on, "start_on", "The start date"),
                               (new_target_on, "target_on", "The target certification date")):
        try:
            check_plan_date(value, start_on, target_on, today, what=what)
        except PlanError as err:
            raise DatesError(str(err), field) from None
    try:
        check_plan_window(new_start_on, new_target_on)
    except PlanError as err:
        raise DatesError(f"{err}.", "target_on") from None
    if (new_start_on, new_target_on) == (start_on, target_on):
        raise DatesError("These are the client's dates already: change the start or the target date.", "start_on")
    days = (new_target_on - target_on).days if target_on is not None else 0
    if abs(days) > MAX_SHIFT_DAYS:
        raise DatesError(f"The target date can move by at most {MAX_SHIFT_DAYS} days at a time; "
                         f"this moves it by {days:+d}. Check the year, or move it in steps.", "target_on")
    tasks = list(tasks)
    shift = shift_plan(tasks, stages, days) if days else None
    finished = sum(1 for t in tasks if not is_open_task(t.status))
    return Replan(start_on, target_on, new_start_on, new_target_on, shift, finished)
