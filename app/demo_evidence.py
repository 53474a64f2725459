"""Demo: the evidence template v3's gates read, made where a consultant and the client would make it in the
replayed history (app/demo_history.py). The gap checklist is rated item by item from the day the gap findings
are raised (a clause with a major is not conforming, with a minor partly; 8.3 not applicable where the sector
excludes it); during implementation the monthly KPI report is recorded at the end of the first and second month
and the customer-satisfaction results halfway. Called inside the client's tenant scope, as events of the
replay's timeline; never commits."""
from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from workflows import gap_analysis as gap

from .demo_texts import na_reason
from .extensions import db
from .models import Document
from .workspace import operations as ops

# Days after entering implementation each record instance is dated (then the next working day).
RECORDS = (("kpi_reports", 29, "Monthly KPI and objectives report, month 1: on-time delivery {a}%, "
                               "two complaints, objectives on track"),
           ("customer_satisfaction_results", 45, "Customer survey: {b} replies, average 4.{c} of 5; two "
                                                 "suggestions passed to the service review"),
           ("kpi_reports", 57, "Monthly KPI and objectives report, month 2: on-time delivery {d}%, one complaint "
                               "closed, objectives on track"))
EVIDENCE = {gap.CONFORMING: "Seen in place and in use: {what}", gap.PARTLY: "In practice but not consistent: {what}",
            gap.NOT_CONFORMING: "Not in place: {what}"}


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def gap_plan(findings: list[dict], excludes_83: bool, rng: random.Random) -> list[tuple[str, str]]:
    """(clause, rating) for every checklist item, in checklist order."""
    worst = {}
    for f in findings:
        rating = {"major": gap.NOT_CONFORMING, "minor": gap.PARTLY}.get(f.get("grade"), gap.CONFORMING)
        worst[f["clause"]] = max(worst.get(f["clause"], gap.CONFORMING), rating,
                                 key=(gap.CONFORMING, gap.PARTLY, gap.NOT_CONFORMING).index)
    plan = []
    for item in gap.load_checklist(gap.DEFAULT_CHECKLIST).items():
        if excludes_83 and item.clause.startswith("8.3."):
            plan.append((item.clause, gap.NOT_APPLICABLE))
            continue
        found = [r for c, r in worst.items() if item.clause == c or item.clause.startswith(c + ".")]
        # A small firm before its QMS: most of it happens, little is written down.
        plan.append((item.clause, found[0] if found else rng.choice((gap.CONFORMING, gap.PARTLY, gap.PARTLY))))
    return plan


def rate_gap_items(plan: list[tuple[str, str]], scope: str, actor: ops.Actor) -> None:
    """One working day's share of the checklist, rated by the consultant."""
    checklist = gap.load_checklist(gap.DEFAULT_CHECKLIST)
    for clause, rating in plan:
        item = checklist.item(clause)
        outcome = gap.OUTCOMES_BY_RATING[rating][0] if gap.OUTCOMES_BY_RATING[rating] else None
        evidence = "" if rating == gap.NOT_APPLICABLE else EVIDENCE[rating].format(what=item.title.lower())
        ops.rate_gap_item(clause, rating, outcome, "", evidence,
                          na_reason(scope) if rating == gap.NOT_APPLICABLE else None, actor)


def record_days(entered: date, last_day: date) -> list[tuple[str, date, str]]:
    """(record key, day, note template) of the implementation records dated by `last_day`."""
    return [(key, day, note) for key, offset, note in RECORDS
            if (day := _weekday(entered + timedelta(days=offset))) <= last_day]


def add_record(key: str, day: date, note: str, rng: random.Random, actor: ops.Actor) -> None:
    doc = db.session.scalar(select(Document).where(Document.key == key))
    if doc is not None:
        ops.add_record_entry(doc, day, note.format(a=rng.randint(91, 97), b=rng.randint(11, 24),
                                                   c=rng.randint(1, 6), d=rng.randint(92, 98)), actor)
