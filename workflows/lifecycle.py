"""Rules for a client's day-to-day records: which tasks are open or overdue,
how a document's status may change, raising and closing findings, and the
certification body's decision.

Each ``check_*`` function returns when the change is allowed and otherwise
raises TransitionError whose `status` says why (422 bad input, 403 not this
user, 409 conflicts with the record's state; see `workflows.errors`). The
messages are written for the user who tried, so the app can show them as
they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable

from .errors import INVALID_INPUT, NOT_ALLOWED, TransitionError
from .stages import CERTIFICATION_AUDIT, STAGE_KEYS, stage_label
from .vocabulary import (
    APPROVED_DOCUMENT_STATUS,
    CERTIFICATION_DECISIONS,
    DOCUMENT_STATUSES,
    FINDING_SEVERITIES,
    FINDING_STATUSES,
    OPEN_FINDING_STATUSES,
    OPEN_TASK_STATUSES,
)


def is_open_task(status: str) -> bool:
    """Work still to be done: to do or in progress (done and not applicable are finished).

    Queries over the app's tables use OPEN_TASK_STATUSES for the same test.
    """
    return status in OPEN_TASK_STATUSES


def is_overdue(status: str, due_on: dt.date | None, today: dt.date) -> bool:
    """An open task whose due date is before `today` (due today is not overdue yet).

    Finished work is never overdue, and a task without a due date cannot be.
    """
    return is_open_task(status) and due_on is not None and due_on < today


def check_document_transition(current_status: str, new_status: str, may_approve: bool) -> bool:
    """May a user set a document from `current_status` to `new_status`?

    Any move between the document statuses is allowed, except that approving
    needs `may_approve` (a consultant or the client's admin): approval is what
    opens a gate. Returns whether the status actually changes (False: nothing
    to record). Refused: an unknown status (422), approval without the right (403).
    """
    if new_status not in DOCUMENT_STATUSES:
        raise TransitionError("Choose a valid document status.", status=INVALID_INPUT)
    if new_status == APPROVED_DOCUMENT_STATUS and not may_approve:
        raise TransitionError("Only a consultant or the client's admin can approve documents.", status=NOT_ALLOWED)
    return new_status != current_status


def check_new_finding(stage: str | None, severity: str | None, title: str | None) -> None:
    """Can a finding be raised with these values? Each refusal is 422.

    The severity decides whether the finding blocks gates, and the title is
    how everyone refers to it, so neither may be left out; the stage is where
    it was raised (it blocks that stage's gate and all later ones).
    """
    if severity not in FINDING_SEVERITIES:
        raise TransitionError("Choose a severity.", status=INVALID_INPUT)
    if not (title or "").strip():
        raise TransitionError("Describe the finding in a short title.", status=INVALID_INPUT)
    if stage not in STAGE_KEYS:
        raise TransitionError("Choose a stage.", status=INVALID_INPUT)


def check_close_finding(status: str, finding_id: Hashable, note: str | None) -> None:
    """Can the finding be closed with this closing note? Not when it already is (409): closing records who,
    when and how it was remedied, once; and not without saying how (422), since a closed major reopens gates."""
    _check_finding_status(status, finding_id)
    if status not in OPEN_FINDING_STATUSES:
        raise TransitionError(f"Finding #{finding_id} is already closed.")
    if not (note or "").strip():
        raise TransitionError(f"Say how finding #{finding_id} was remedied before closing it.", status=INVALID_INPUT)


def check_reopen_finding(status: str, finding_id: Hashable, reason: str | None) -> None:
    """Can a closed finding be reopened? Only a closed one (409), and only with a reason (422): reopening a
    major puts a hold on gates again, so everyone must be able to read why."""
    _check_finding_status(status, finding_id)
    if status in OPEN_FINDING_STATUSES:
        raise TransitionError(f"Finding #{finding_id} is open already.")
    if not (reason or "").strip():
        raise TransitionError(f"Say why finding #{finding_id} is reopened.", status=INVALID_INPUT)


def _check_finding_status(status: str, finding_id: Hashable) -> None:
    if status not in FINDING_STATUSES:
        raise ValueError(f"finding {finding_id!r}: unknown status {status!r}")


def check_stage_open(stage_key: str, stage_status: str, what: str = "tasks") -> None:
    """May the tasks or documents (`what`) of this stage still change? Not once its gate has passed (409):
    the consultant signed off on them as they are, so they change only by reopening the stage (with a reason),
    never silently under a gate that still says "Passed". Locked stages the client has not reached yet are
    `gates.stage_unlocked`'s rule.
    """
    if stage_status == "passed":
        raise TransitionError(f"The {stage_label(stage_key)} gate has passed; reopen the stage to change its "
                              f"{what} (a consultant can, on the Gates page, giving a reason).")


def check_certification_stage(current_stage: str, certification_passed: bool) -> None:
    """May the certification body's decision be recorded now? Only in the certification audit stage, before
    its gate has passed (409 otherwise): earlier there is no audit to decide on, and after certification the
    decision changes only by reopening the stage."""
    if current_stage != CERTIFICATION_AUDIT:
        raise TransitionError(f"The certification body's decision is recorded in the "
                              f"{stage_label(CERTIFICATION_AUDIT)} stage; the client is in "
                              f"{stage_label(current_stage)}.")
    if certification_passed:
        check_stage_open(CERTIFICATION_AUDIT, "passed", "decision")


def check_certification_decision(decision: str | None) -> None:
    """Is `decision` one the certification body can make (CERTIFICATION_DECISIONS)? Otherwise 422."""
    if decision not in CERTIFICATION_DECISIONS:
        raise TransitionError("Choose the certification body's decision.", status=INVALID_INPUT)
