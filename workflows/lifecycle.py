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
from .stages import STAGE_KEYS
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


def check_close_finding(status: str, finding_id: Hashable) -> None:
    """Can the finding be closed? Not when it already is (409): closing records who and when, once."""
    if status not in FINDING_STATUSES:
        raise ValueError(f"finding {finding_id!r}: unknown status {status!r}")
    if status not in OPEN_FINDING_STATUSES:
        raise TransitionError(f"Finding #{finding_id} is already closed.")


def check_certification_decision(decision: str | None) -> None:
    """Is `decision` one the certification body can make (CERTIFICATION_DECISIONS)? Otherwise 422."""
    if decision not in CERTIFICATION_DECISIONS:
        raise TransitionError("Choose the certification body's decision.", status=INVALID_INPUT)
