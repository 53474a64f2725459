"""Demo internal audits for a client at or past the internal-audit stage: a programme over four processes, two
completed audits covering clauses 4–10 with three minors (each with its corrective action) and two opportunities
for improvement, drawn for each client from what auditors of small service firms find, every line rated with the
evidence an auditor writes down. Past the internal audit, the minors
are closed as the demo's other findings are."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

from workflows.stages import STAGE_KEYS

from . import clock
from .extensions import db
from .models import Stage, User
from .refusal import Refusal
from .workspace import operations as ops
from .workspace.operations import internal_audits as audit_ops

PROCESSES = [  # name, owner ("staff" / "director"), risk, importance, recent changes, previous results
    ("Sales and quoting", "staff", "high", "Every engagement starts here; most complaints trace back to a quote",
     "New quote template since spring", "Gap analysis: quotes not reviewed before sending"),
    ("Service delivery", "staff", "high", "What clients pay for; on-time delivery is the main KPI",
     "Two new team members", ""),
    ("Purchasing and suppliers", "director", "medium", "Freelancers deliver a third of the work", "", ""),
    ("People and competence", "director", "low", "", "", "No findings at the gap analysis"),
]
# What internal auditors of small service firms find, one entry per clause: (evidence, notes, action). Each
# client's audits raise three of the minors and two of the opportunities, with its own figures ({n} of {m}).
MINORS = {
    "7.2": ("Training records of {m} staff sampled: {n} new starters have no induction record",
            "Induction done informally", "Add the induction to the starter checklist and record the missing ones"),
    "8.4.1": ("Supplier list seen: {n} of {m} freelancers were never evaluated",
              "Evaluation criteria exist but are not applied",
              "Evaluate the remaining freelancers against the criteria; make it part of onboarding"),
    "9.1.3": ("KPI sheet of the last quarter reviewed: on-time delivery fell two months running, no analysis "
              "recorded", "", "Add a monthly analysis line to the KPI report and review trends at the team meeting"),
    "7.5.3.2": ("{m} controlled documents sampled at the desks: {n} printed copies were superseded versions", "",
                "Withdraw superseded printouts and mark printed copies as uncontrolled"),
    "8.5.1": ("{m} job files sampled: {n} had no completed checklist before release to the client",
              "Checklist used by some of the team only", "Make the release checklist a required step in the job tracker"),
    "10.2.1": ("Nonconformity log reviewed: {n} of {m} entries have a correction but no cause recorded", "",
               "Record a cause for every entry and check the log at the monthly review"),
    "6.2.2": ("Quality objectives seen: {n} of {m} have no owner or completion date",
              "Set at the kick-off, not revisited", "Give every objective an owner, a date and how it is evaluated"),
}
OPPORTUNITIES = {
    "7.1.6": ("Know-how wiki walked through with the delivery lead",
              "Opportunity: add the lessons from closed complaints to it"),
    "8.2.1": ("{m} client e-mails sampled; all answered within a day",
              "Opportunity: a shared inbox would keep answers going during holidays"),
    "9.1.2": ("Feedback requested after every job; {n} replies in the last quarter",
              "Opportunity: ask the clients who did not reply by phone once a quarter"),
    "7.4": ("Team meeting notes of the last {n} weeks: quality on the agenda every week",
            "Opportunity: share the KPI sheet with the freelancers too"),
    "8.7.1": ("Nonconforming work held and labelled before rework; the team knows the rule",
              "Opportunity: log the held items so their causes can be counted"),
}


def findings_of(rng: random.Random) -> dict[str, tuple]:
    """clause → (rating, evidence, notes, finding kind, action) of one client's audits: three minors and two
    opportunities drawn from the pools, each with its own figures."""
    chosen = {}
    for clause in rng.sample(sorted(MINORS), 3):
        evidence, notes, action = MINORS[clause]
        m = rng.randint(6, 12)
        chosen[clause] = ("partly", evidence.format(m=m, n=rng.randint(2, m // 2)), notes, "system_nonconformity",
                          action)
    for clause in rng.sample(sorted(OPPORTUNITIES), 2):
        evidence, notes = OPPORTUNITIES[clause]
        chosen[clause] = ("conforming", evidence.format(m=rng.randint(8, 15), n=rng.randint(6, 14)), notes,
                          "opportunity", None)
    return chosen


EVIDENCE = ["Procedure and its last review seen", "Interviewed the process owner", "Records of the last 3 months sampled",
            "Walked through the tool with the team", "Minutes of the last meeting seen"]


def _at(day) -> datetime:
    return datetime.combine(day, time(10), timezone.utc)


def _plan(title: str, clauses: str, procs, day, candidates, as_consultant):
    """The audit with the first impartial candidate as auditor (a conflict is refused, as in the app)."""
    for auditor in candidates:
        try:
            with db.session.begin_nested():
                return audit_ops.plan_audit(audit_ops.AuditForm(
                    title=title, clauses=clauses, planned_on=day.isoformat(), auditees="Process owners",
                    process_ids=[p.id for p in procs]), auditor, as_consultant), auditor
        except Refusal:
            continue
    return None, None


def seed_internal_audits(stage_index: int, staff: User, director_id: int | None, consultant: User | None,
                         seed: int, independent: User | None = None) -> None:
    """Called by app/demo.py inside the client's tenant scope; does something for clients at or past the
    internal audit only. `independent`, tried as auditor first, is someone of the consultancy who did none of
    the client's work (the consultant who did the gap analysis cannot audit those clauses impartially)."""
    if stage_index < STAGE_KEYS.index("internal_audit") or audit_ops.programme() is not None:
        return  # not there yet, or seeded already (before the internal-audit gate of a client past it)
    rng = random.Random(seed)
    director = (db.session.get(User, director_id) if director_id else None) or staff
    as_consultant, as_staff = ops.Actor.of(consultant), ops.Actor.of(staff)
    stage = db.session.get(Stage, "internal_audit")
    begin = (stage.entered_at or stage.planned_start).date() if (stage.entered_at or stage.planned_start) else \
        clock.today() - timedelta(days=30)
    first, second = min(begin + timedelta(days=5), clock.today()), min(begin + timedelta(days=12), clock.today())
    owners = {"staff": staff, "director": director}
    with clock.frozen_at(_at(begin)):
        audit_ops.save_programme(audit_ops.ProgrammeForm(
            begin.isoformat(), (begin + timedelta(days=365)).isoformat(),
            "Every clause and process before stage 2; then yearly, high-risk processes every year",
            ["interviews", "record_sampling", "walkthrough"]), director, as_consultant)
        procs = [audit_ops.save_process(None, audit_ops.ProcessForm(n, risk, True, imp, chg, prev), owners[o],
                                        as_consultant) for n, o, risk, imp, chg, prev in PROCESSES]
    candidates = [u for u in (independent, consultant, director) if u is not None]
    found = findings_of(rng)
    for title, clauses, scope, day in (("Context, leadership, planning and support", "4, 5, 6, 7", procs[3:], first),
                                       ("Operation, evaluation and improvement", "8, 9, 10", procs[:3], second)):
        with clock.frozen_at(_at(day - timedelta(days=10))):
            audit, auditor = _plan(title, clauses, scope, day, candidates, as_consultant)
        if audit is None:
            continue
        as_auditor = ops.Actor.of(auditor)
        with clock.frozen_at(_at(day)):
            for line in audit.lines:
                rating, evidence, notes, kind, action = found.get(line.clause, ("conforming", rng.choice(EVIDENCE),
                                                                                 "", None, None))
                audit_ops.rate_line(audit, line.clause, rating, evidence, notes, as_auditor)
                if kind:
                    finding = audit_ops.finding_from_line(audit, line.clause, kind,
                                                          "minor" if kind == "system_nonconformity" else None,
                                                          as_auditor)
                    said = ("Requirement not fully met" if kind == "system_nonconformity" else "Opportunity")
                    ops.update_record(finding, replace(ops.RecordForm.of(finding),
                                                       statement=f"{said} ({line.clause}): {evidence.lower()}"),
                                      as_auditor)
                    if kind == "system_nonconformity":  # open with its action: the demo's closures carry evidence
                        ops.add_action(finding, action, staff, (day + timedelta(days=30)).isoformat(), as_staff)
            audit_ops.save_report(audit, audit_ops.ReportForm(
                f"Audit of clauses {clauses} by interviews and record sampling.",
                "The system conforms to ISO 9001 and the client's own procedures and is effectively implemented in "
                "the areas audited, with the minor nonconformities listed.",
                "Committed process owners; records easy to find; KPIs discussed openly.",
                f"{director.name} (top management), process owners — {day.isoformat()}"), as_auditor)
            audit_ops.complete_audit(audit, as_auditor)
