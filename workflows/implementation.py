"""Implementation KPIs, computed from the client's state rather than typed: progress per stage
and overall, days in the current stage against the plan, overdue tasks, open findings by grade."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from .lifecycle import is_overdue
from .progress import overall_progress, stage_progress
from .state import ClientState
from .vocabulary import FINDING_SEVERITIES, OPEN_FINDING_STATUSES


@dataclass(frozen=True)
class StageTime:
    stage: str
    days_in: int | None  # days since the client entered the stage; None without a date
    days_planned: int | None  # the plan's length of the stage
    planned_end: date | None

    @property
    def days_over(self) -> int:
        """Days beyond the plan's length of the stage (0 while within it or without dates)."""
        if self.days_in is None or self.days_planned is None:
            return 0
        return max(0, self.days_in - self.days_planned)


@dataclass(frozen=True)
class ImplementationKpis:
    overall: int  # % of required tasks finished
    per_stage: dict[str, int]
    stage_time: StageTime
    overdue_tasks: int
    open_findings: dict[str, int]  # every grade, in the vocabulary's order, zeros included


def implementation_kpis(state: ClientState, today: date, due_dates: Iterable[tuple[str, date | None]],
                        entered_on: date | None, planned: Mapping[str, tuple[date | None, date | None]]
                        ) -> ImplementationKpis:
    """`due_dates`: (status, due date) per task; `entered_on`: when the client entered its current stage;
    `planned`: per stage its planned (start, end)."""
    start, end = planned.get(state.current_stage, (None, None))
    entered = entered_on or start
    time = StageTime(state.current_stage, (today - entered).days if entered else None,
                     (end - start).days if start and end else None, end)
    open_findings = {grade: 0 for grade in FINDING_SEVERITIES}
    for f in state.findings:
        if f.status in OPEN_FINDING_STATUSES:
            open_findings[f.severity] += 1
    return ImplementationKpis(
        overall=round(100 * overall_progress(state)),
        per_stage={key: round(100 * value) for key, value in stage_progress(state).items()},
        stage_time=time,
        overdue_tasks=sum(1 for status, due in due_dates if is_overdue(status, due, today)),
        open_findings=open_findings,
    )
