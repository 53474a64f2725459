"""The certification cycle laid out as dated events (the client's three-year calendar), and the preparation
tasks generated before an external audit, each with a stable key so that generating twice creates nothing new.

Plain dates in, plain events out; workflows.cycle holds the rules the dates come from.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .cycle import AUDIT_LABELS, Cycle, CycleAudit, preparation

CALENDAR_YEARS = 3
# Status of one calendar event: done (held, decided), late (held after its latest date, or its date passed
# undone), due (ahead).
DONE, LATE, DUE = "done", "late", "due"


@dataclass(frozen=True)
class CalendarEvent:
    on: date
    kind: str  # stage_2, decision, surveillance_1, …, internal_audit, management_review, expiry
    title: str
    status: str
    audit: str | None = None  # the external audit a proposed internal audit or review prepares for


def _audit_status(a: CycleAudit) -> str:
    if a.held_on is not None:
        return LATE if a.status == "held_late" else DONE
    return LATE if a.status == "overdue" else DUE


def calendar(found: Cycle, today: date, stage_2_on: date | None = None) -> list[CalendarEvent]:
    """Stage 2, the decision, each cycle audit (held, planned or latest date) with the internal audit and
    management review proposed before it, and the certificate's expiry; in date order."""
    events: list[CalendarEvent] = []
    if stage_2_on is not None:
        events.append(CalendarEvent(stage_2_on, "stage_2", AUDIT_LABELS["stage_2"], DONE))
    events.append(CalendarEvent(found.decided_on, "decision", "Certification decision", DONE))
    for a in found.audits:
        events.append(CalendarEvent(a.held_on or a.target, a.kind, a.label, _audit_status(a), a.kind))
        if a.held_on is None:
            for kind, day, title in (("internal_audit", a.internal_audit_by, "Internal audit (proposed)"),
                                     ("management_review", a.management_review_by, "Management review (proposed)")):
                events.append(CalendarEvent(day, kind, f"{title} before the {a.label.lower()}",
                                            LATE if day < today else DUE, a.kind))
    events.append(CalendarEvent(found.expires_on, "expiry", "Certificate expires",
                                LATE if found.status == "expired" else DONE if today > found.expires_on else DUE))
    return sorted(events, key=lambda e: (e.on, e.kind))


@dataclass(frozen=True)
class PreparationTask:
    key: str  # unique among the client's tasks: one set per external audit
    title: str
    due_on: date
    clause: str
    guidance: str


PREPARATION_GUIDANCE = {
    "9.2": "Plan the audit against the whole system, auditors independent of the work they audit; report the "
           "findings in time to correct them before the certification body comes.",
    "10.2": "Every nonconformity has its cause, its action and evidence of effectiveness; the body checks this first.",
    "9.3": "Top management reviews the inputs of 9.3.2 (internal audit results, objectives, KPIs, customer "
           "feedback, risks) and records its decisions as outputs (9.3.3).",
    "4.3": "Tell the body of changes to scope, sites, headcount, processes or key people: they change the audit "
           "days and the plan.",
    "6.2": "Check each quality objective's progress and set the next period's targets before the review.",
    "7.5": "Gather the records the body will sample: audit reports, review minutes, KPI reports, training, "
           "supplier evaluations, corrective actions.",
}


def preparation_tasks(audit: CycleAudit) -> list[PreparationTask]:
    """The tasks to generate before `audit`: workflows.cycle.preparation plus the objectives refresh and the
    evidence pack review, keyed `prep_<audit>_<n>` so each exists once per audit."""
    steps = [(p.title, p.due_on, p.clause) for p in preparation(audit)]
    review = audit.management_review_by
    steps.insert(2, ("Refresh the quality objectives and their progress for the management review", review, "6.2"))
    steps.insert(4, (f"Review the evidence pack for the {audit.label.lower()}", audit.target - (audit.target - review) / 2,
                     "7.5"))
    return [PreparationTask(f"prep_{audit.kind}_{i}", title, due_on, clause, PREPARATION_GUIDANCE[clause])
            for i, (title, due_on, clause) in enumerate(steps, start=1)]
