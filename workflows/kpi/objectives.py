"""Quality objectives (ISO 9001 6.2): planned so that it is clear what will be
done, with what resources, by whom, by when, and how the results will be
evaluated (6.2.2 a–e). A vague objective is a common certification-body
finding, so the check names every part that is missing; the status comes
from the KPIs that measure the objective.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .thresholds import AT_RISK, MISSING, OFF_TRACK, ON_TRACK

# 6.2.2 a–e, in the standard's order, with the question each part answers.
PLAN_PARTS: tuple[tuple[str, str, str], ...] = (
    ("what", "a", "what will be done"),
    ("resources", "b", "what resources will be required"),
    ("responsible", "c", "who will be responsible"),
    ("due_date", "d", "when it will be completed"),
    ("evaluation", "e", "how the results will be evaluated"),
)
NOT_MEASURED = "not_measured"
OBJECTIVE_STATUS_LABELS: dict[str, str] = {
    ON_TRACK: "On track",
    AT_RISK: "At risk",
    OFF_TRACK: "Off track",
    NOT_MEASURED: "Not measured yet",
}
MIN_WORDS = 3  # "Improve." is not a plan; three words is the least that says what


@dataclass(frozen=True)
class Objective:
    title: str
    what: str = ""
    resources: str = ""
    responsible: str = ""
    due_date: date | None = None
    evaluation: str = ""


@dataclass(frozen=True)
class PlanGap:
    part: str  # the field name
    letter: str  # 6.2.2 a..e, or "" for measurability (6.2.1 b)
    message: str


def check_objective(objective: Objective, *, linked_kpis: int = 0) -> list[PlanGap]:
    """Every part of the 6.2.2 plan that is missing or too vague, in order;
    an empty list is a complete plan."""
    gaps = []
    if len((objective.title or "").split()) < MIN_WORDS:
        gaps.append(PlanGap("title", "", "Say what the objective is in a few words, e.g. “Deliver 95 % of jobs on time”"))
    for part, letter, question in PLAN_PARTS:
        value = getattr(objective, part)
        if part == "due_date":
            if value is None:
                gaps.append(PlanGap(part, letter, f"6.2.2 {letter}: missing {question}"))
            continue
        if not (value or "").strip():
            gaps.append(PlanGap(part, letter, f"6.2.2 {letter}: missing {question}"))
        elif part == "what" and len(value.split()) < MIN_WORDS:
            gaps.append(PlanGap(part, letter, f"6.2.2 {letter}: too vague about {question}"))
    if linked_kpis == 0:
        gaps.append(PlanGap("kpis", "", "6.2.1 b: not measurable yet — link at least one KPI"))
    return gaps


def objective_status(kpi_statuses: Iterable[str | None]) -> str:
    """The worst of its KPIs: any off track → off track; any at risk or
    missing → at risk; all on track → on track; nothing judged yet → not
    measured."""
    statuses = [s for s in kpi_statuses if s is not None]
    if not statuses:
        return NOT_MEASURED
    if OFF_TRACK in statuses:
        return OFF_TRACK
    if AT_RISK in statuses or MISSING in statuses:
        return AT_RISK
    return ON_TRACK
