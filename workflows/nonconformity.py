"""Nonconformity and corrective action (ISO 9001 8.7, 10.2; ISO/IEC 17021-1 for the grades).

A finding is the nonconformity record: where it came from (`SOURCES`), what kind it is (`KINDS`), and for a
nonconformity its grade, major or minor. The record grows as the client deals with it: the reaction
(correction, containment, the customer informed, a concession), the evaluation (is corrective action needed,
the root cause, similar problems elsewhere), corrective actions with an owner and a due date, and the
verification of each action's effectiveness by someone other than its owner.

Closing: a major or a minor needs a root cause, a corrective action (all of them completed, the last one not
found ineffective), evidence and, for a major, an effective verification; a nonconforming output also the
correction made (8.7.2). An observation or an opportunity for improvement closes on a decision (the closing
note). `closure_unmet` names every criterion not met, as `gates.evaluate_gate` does for a gate.

Ageing: an open record with no update for `STALE_AFTER` is stale; a minor that is overdue (an action past its
due date, or the certification body's response deadline passed) is proposed for escalation to major, which a
consultant confirms or declines with a reason. Plain values in, plain values out.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from .errors import INVALID_INPUT, TransitionError
from .gates import UnmetCriterion

SOURCES: dict[str, str] = {
    "gap_analysis": "Gap analysis",
    "internal_audit": "Internal audit",
    "cb_stage_1": "Certification body, stage 1",
    "cb_stage_2": "Certification body, stage 2",
    "cb_surveillance": "Certification body, surveillance",
    "customer_complaint": "Customer complaint",
    "kpi_breach": "KPI breach",
    "stale_item": "Stale item",
    "supplier": "Supplier",
    "management_review": "Management review",
}
# Findings of the certification body carry its reference, response deadline, submission and acceptance.
CB_SOURCES: dict[str, str] = {"cb_stage_1": "stage_1", "cb_stage_2": "stage_2", "cb_surveillance": "surveillance"}

KINDS: dict[str, str] = {
    "nonconforming_output": "Nonconforming output (8.7)",
    "system_nonconformity": "System nonconformity (10.2)",
    "complaint": "Complaint",
    "observation": "Observation",
    "opportunity": "Opportunity for improvement",
}
NONCONFORMITY_KINDS: tuple[str, ...] = ("nonconforming_output", "system_nonconformity", "complaint")
GRADES: dict[str, str] = {
    "major": "Major — affects the system's ability to achieve its intended results",
    "minor": "Minor — does not affect the system's ability to achieve its intended results",
}
CAUSE_METHODS: dict[str, str] = {
    "five_whys": "Five whys",
    "category": "Cause category",
    "free_text": "Description",
}
CAUSE_CATEGORIES: dict[str, str] = {
    "method": "Method or procedure",
    "people": "People: competence or awareness",
    "resources": "Resources, tools or infrastructure",
    "information": "Information or communication",
    "supplier": "Supplier or external provider",
    "planning": "Planning or workload",
    "measurement": "Monitoring or measurement",
}
VERIFICATION_RESULTS: dict[str, str] = {"effective": "Effective", "not_effective": "Not effective"}
CB_VERIFICATION_METHODS: dict[str, str] = {
    "document_review": "Document review",
    "follow_up_visit": "Follow-up visit",
    "next_audit": "At the next audit",
}
ESCALATION_DECISIONS: dict[str, str] = {"confirmed": "Escalated to major", "declined": "Kept as minor"}

STALE_AFTER = timedelta(days=60)

# Codes of unmet closing criteria (stable, like the gate codes).
CAUSE_MISSING = "cause_missing"
ACTION_MISSING = "action_missing"
ACTION_OPEN = "action_open"
ACTION_NOT_EFFECTIVE = "action_not_effective"
EVIDENCE_MISSING = "evidence_missing"
VERIFICATION_MISSING = "verification_missing"
CORRECTION_MISSING = "correction_missing"
DECISION_MISSING = "decision_missing"


def kind_of(kind: str | None, severity: str) -> str:
    """The record's kind; a finding recorded before kinds existed reads as its severity says."""
    if kind in KINDS:
        return kind
    return severity if severity in ("observation", "opportunity") else "system_nonconformity"


def is_nonconformity(kind: str) -> bool:
    return kind in NONCONFORMITY_KINDS


def severity_for(kind: str | None, grade: str | None) -> str:
    """The stored severity (what the gates read) for a kind and a grade; refuses a grade that does not fit.

    A nonconformity is graded major or minor, always chosen; an observation or an opportunity has no grade.
    """
    if kind not in KINDS:
        raise TransitionError("Choose what kind of finding this is.", status=INVALID_INPUT)
    if is_nonconformity(kind):
        if grade not in GRADES:
            raise TransitionError(f"Grade the {_noun(kind)}: major or minor.", status=INVALID_INPUT)
        return grade
    if grade:
        raise TransitionError(f"An {_noun(kind)} has no grade: only nonconformities are major or minor.",
                              status=INVALID_INPUT)
    return kind


def _noun(kind: str) -> str:
    return KINDS[kind].split(" (")[0].lower()


def check_source(source: str | None) -> None:
    if source not in SOURCES:
        raise TransitionError("Choose where the finding comes from.", status=INVALID_INPUT)


@dataclass(frozen=True)
class ActionState:
    """One corrective action as the closing rule sees it."""

    id: int
    done: bool
    result: str | None = None  # the verification's result, if recorded
    has_evidence: bool = False  # an evidence file on its task


@dataclass(frozen=True)
class RecordState:
    """A finding as the closing rule sees it."""

    id: int
    kind: str
    severity: str
    root_cause: str = ""
    correction: str = ""
    evidence_note: str = ""  # closure evidence: what shows the action worked (records, samples)
    actions: tuple[ActionState, ...] = ()


def closure_unmet(record: RecordState, note: str | None) -> list[UnmetCriterion]:
    """Every criterion the record does not yet meet for closing with `note` (empty: it may close)."""
    unmet: list[UnmetCriterion] = []
    ref = (record.id,)
    if not (note or "").strip():
        what = "the decision taken" if not is_nonconformity(record.kind) else "the result of the corrective action"
        unmet.append(UnmetCriterion(DECISION_MISSING, f"Say {what} in the closing note", ref))
    if not is_nonconformity(record.kind):
        return unmet
    if not record.root_cause.strip():
        unmet.append(UnmetCriterion(CAUSE_MISSING, "Record the root cause", ref))
    if record.kind == "nonconforming_output" and not record.correction.strip():
        unmet.append(UnmetCriterion(CORRECTION_MISSING, "Describe the correction made to the nonconforming output "
                                                         "(8.7.2)", ref))
    if not record.actions:
        unmet.append(UnmetCriterion(ACTION_MISSING, "Plan at least one corrective action", ref))
    open_ = [a.id for a in record.actions if not a.done]
    if open_:
        unmet.append(UnmetCriterion(ACTION_OPEN, "Complete corrective action" + ("s " if len(open_) > 1 else " ")
                                    + ", ".join(f"#{i}" for i in open_), tuple(open_)))
    if record.actions and record.actions[-1].result == "not_effective":
        unmet.append(UnmetCriterion(ACTION_NOT_EFFECTIVE, f"Corrective action #{record.actions[-1].id} was not "
                                    "effective: plan a new action", (record.actions[-1].id,)))
    if not record.evidence_note.strip() and not any(a.has_evidence for a in record.actions):
        unmet.append(UnmetCriterion(EVIDENCE_MISSING, "Give the closure evidence (a note, or a file on an "
                                    "action's task)", ref))
    if record.severity == "major" and not any(a.result == "effective" for a in record.actions):
        unmet.append(UnmetCriterion(VERIFICATION_MISSING, "Verify a corrective action as effective (a major "
                                    "needs it)", ref))
    return unmet


def check_close(record: RecordState, note: str | None) -> None:
    """Refuse (409, every unmet criterion named) a record that may not close yet."""
    unmet = closure_unmet(record, note)
    if unmet:
        err = TransitionError(f"Finding #{record.id} cannot close yet: "
                              + "; ".join(u.message[0].lower() + u.message[1:] for u in unmet) + ".")
        err.unmet = unmet  # type: ignore[attr-defined]
        raise err


def check_verifier(owner_id: int | None, verifier_id: int | None, owner_name: str = "") -> None:
    """Effectiveness is verified by someone other than the action's owner (409 otherwise)."""
    if owner_id is not None and owner_id == verifier_id:
        raise TransitionError(f"You own this action{' (' + owner_name + ')' if owner_name else ''}: its effectiveness "
                              "must be verified by someone else (10.2.1 d).")


def check_verification(result: str | None, planned_on: date | None, method: str, criteria: str,
                       action_done: bool) -> None:
    """A verification plan needs a date, a method and success criteria; a result needs the action done."""
    if result is not None and result not in VERIFICATION_RESULTS:
        raise TransitionError("Choose whether the action was effective.", status=INVALID_INPUT)
    if not method.strip():
        raise TransitionError("Say how effectiveness will be checked (e.g. sample the next 10 jobs).",
                              status=INVALID_INPUT)
    if not criteria.strip():
        raise TransitionError("Give the success criteria: what result shows the action worked.",
                              status=INVALID_INPUT)
    if result is None and planned_on is None:
        raise TransitionError("Give the date of the planned check.", status=INVALID_INPUT)
    if result is not None and not action_done:
        raise TransitionError("Complete the action before verifying its effectiveness.")


def is_stale(status: str, last_update: datetime, now: datetime) -> bool:
    """An open record with no update for STALE_AFTER (seed 002: a ticket left 60 days is a nonconformity)."""
    return status == "open" and now - last_update >= STALE_AFTER


STALE_TASK_STATUSES = ("todo", "in_progress")


def is_stale_task(status: str, start_on: date | None, last_update: datetime, now: datetime) -> bool:
    """A task open (to do or in progress) with no update for STALE_AFTER, counted from its last update or its
    start date, whichever is later: a task planned to start later is not stale for being untouched ahead."""
    if status not in STALE_TASK_STATUSES:
        return False
    if start_on is not None and start_on > now.date():
        return False
    since = last_update
    if start_on is not None:
        since = max(since, datetime.combine(start_on, time(0), tzinfo=last_update.tzinfo))
    return now - since >= STALE_AFTER


def response_audit(source: str | None) -> str | None:
    """The external audit a certification-body finding was raised at (its kind prefix), or None."""
    return CB_SOURCES.get(source or "")


def is_overdue(status: str, action_due: list[date | None], action_done: list[bool],
               response_due: date | None, submitted_on: date | None, today: date) -> bool:
    """Open, with an action not completed past its due date or the body's deadline passed unanswered."""
    if status != "open":
        return False
    late_action = any(due is not None and due < today and not done for due, done in zip(action_due, action_done))
    late_response = response_due is not None and submitted_on is None and response_due < today
    return late_action or late_response


def escalation_proposed(severity: str, overdue: bool, decision: str | None) -> bool:
    """An overdue minor is proposed for escalation to major until a consultant decides."""
    return severity == "minor" and overdue and decision is None


def check_escalation(severity: str, proposed: bool, decision: str | None, reason: str) -> None:
    if decision not in ESCALATION_DECISIONS:
        raise TransitionError("Confirm or decline the escalation.", status=INVALID_INPUT)
    if severity != "minor":
        raise TransitionError("Only a minor nonconformity can be escalated to major.")
    if not proposed:
        raise TransitionError("This minor is not overdue: there is no escalation to decide.")
    if not reason.strip():
        raise TransitionError("Give the reason for the decision on the escalation.", status=INVALID_INPUT)
