"""Document control (ISO 9001 7.5): the register, versions, who approves, periodic review, acknowledgement.

A **document** (policy, procedure, playbook) is maintained: it has versions, draft → in review → approved
(effective) → superseded or obsolete, with exactly one effective version, and an approved version never
changes (a change is a new draft). A **record** (KPI report, training record, minutes) is retained: dated
instances that accrue. Pure rules: every ``check_*`` returns when the change is allowed and otherwise raises
TransitionError whose `status` says why (422 bad input, 403 not this user, 409 the version's state).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import INVALID_INPUT, NOT_ALLOWED, TransitionError

DRAFT, IN_REVIEW, APPROVED, SUPERSEDED, OBSOLETE = "draft", "in_review", "approved", "superseded", "obsolete"
VERSION_STATUSES: tuple[str, ...] = (DRAFT, IN_REVIEW, APPROVED, SUPERSEDED, OBSOLETE)
VERSION_STATUS_LABELS: dict[str, str] = {
    DRAFT: "Draft", IN_REVIEW: "In review", APPROVED: "Approved (effective)", SUPERSEDED: "Superseded",
    OBSOLETE: "Obsolete",
}
WORKING_STATUSES = (DRAFT, IN_REVIEW)  # a version still being written or reviewed
ENDED_STATUSES = (SUPERSEDED, OBSOLETE)  # kept read-only for the retention period

# The moves a person may make (superseding is the effect of approving the next version, never a choice).
_MOVES = {
    DRAFT: (IN_REVIEW, APPROVED, OBSOLETE),
    IN_REVIEW: (DRAFT, APPROVED, OBSOLETE),
    APPROVED: (OBSOLETE,),  # withdraw the document; its text stays as it was approved
}

DOCUMENT_KINDS = {"document": "Document to maintain", "record": "Record to retain"}
ORIGINS = {"internal": "Internal", "external": "External"}
TOP_MANAGEMENT = "top_management"
APPROVER_ROLES = {TOP_MANAGEMENT: "Top management", "client_admin": "Client admin",
                  "consultant": "Consultant or client admin"}
# Policy, objectives, scope and the management review's outputs: top management approves them (5.1.1, 5.2,
# 6.2, 4.3, 9.3.3), never the consultant — a certification body tests exactly that.
TOP_MANAGEMENT_DOCUMENTS = frozenset({"quality_policy", "quality_objectives", "qms_scope",
                                      "management_review_minutes"})
# Core documents are reviewed more often (the default policy: yearly, the others every three years).
CORE_DOCUMENTS = TOP_MANAGEMENT_DOCUMENTS | {"context_analysis", "risk_register", "process_map"}
DEFAULT_REVIEW_MONTHS_CORE = 12
DEFAULT_REVIEW_MONTHS_OTHER = 36
MAX_REVIEW_MONTHS = 60
REVIEW_SOON_DAYS = 30  # "due" this many days before the date; "overdue" after it


def default_approver_role(document_key: str) -> str:
    return TOP_MANAGEMENT if document_key in TOP_MANAGEMENT_DOCUMENTS else "consultant"


def check_register_entry(document_key: str, identifier: str, title: str, kind: str, approver_role: str,
                         origin: str) -> None:
    """Are these register fields usable? 422 naming the first that is not."""
    if not identifier.strip():
        raise TransitionError("Give the document an identifier (for example QP-01).", status=INVALID_INPUT)
    if not title.strip():
        raise TransitionError("Give the document a title.", status=INVALID_INPUT)
    if kind not in DOCUMENT_KINDS:
        raise TransitionError("Choose whether this is a document to maintain or a record to retain.",
                              status=INVALID_INPUT)
    if approver_role not in APPROVER_ROLES:
        raise TransitionError("Choose who approves this document.", status=INVALID_INPUT)
    if document_key in TOP_MANAGEMENT_DOCUMENTS and approver_role != TOP_MANAGEMENT:
        raise TransitionError("The policy, objectives, scope and management review outputs are approved by the "
                              "client's top management; that can't be changed.", status=INVALID_INPUT)
    if origin not in ORIGINS:
        raise TransitionError("Choose whether the document is internal or external.", status=INVALID_INPUT)


def check_approval(approver_role: str, may_approve: bool, title: str) -> None:
    """May this user approve a version of “title”? `may_approve`: whether their role is among those the
    document's approver role names (app/permissions.py). 403 with the reason otherwise."""
    if may_approve:
        return
    if approver_role == TOP_MANAGEMENT:
        raise TransitionError(f"“{title}” is approved by the client's top management, not by the consultant or "
                              "the client's admin: ask top management to approve it.", status=NOT_ALLOWED)
    who = {"client_admin": "the client's admin or top management",
           "consultant": "a consultant, the client's admin or top management"}[approver_role]
    raise TransitionError(f"Only {who} can approve “{title}”; you can send it for review.", status=NOT_ALLOWED)


def check_version_transition(current: str, new: str, number: int) -> bool:
    """May version `number` move from `current` to `new`? Returns whether anything changes.

    An approved version is immutable: it can only be withdrawn (obsolete) or superseded by approving the next
    version (409, offering a new draft); superseded and obsolete versions never change again (409)."""
    if new not in VERSION_STATUSES or new == SUPERSEDED:
        raise TransitionError("Choose a valid version status.", status=INVALID_INPUT)
    if new == current:
        return False
    if current in ENDED_STATUSES:
        raise TransitionError(f"Version {number} is {VERSION_STATUS_LABELS[current].lower()} and is kept as it "
                              "was; start a new draft to change the document.")
    if new not in _MOVES[current]:
        raise TransitionError(f"Version {number} is approved and can't change; start a new draft instead "
                              "(the approved version stays effective until the new one is approved).")
    return True


def check_version_edit(status: str, number: int) -> None:
    """May the text of version `number` be edited? Only a draft's (409 otherwise, offering a new draft)."""
    if status == DRAFT:
        return
    if status == IN_REVIEW:
        raise TransitionError(f"Version {number} is in review; send it back to draft to change it.")
    raise TransitionError(f"Version {number} is {VERSION_STATUS_LABELS[status].lower()} and can't change; "
                          "start a new draft instead.")


def check_new_version(body: str, has_file: bool, change_reason: str, has_working_version: bool) -> None:
    """Can a new version be started with this content? Text or a file (422), a reason (422), and not while
    another version is still a draft or in review (409: finish or withdraw that one first)."""
    if has_working_version:
        raise TransitionError("A version of this document is already a draft or in review; change that one "
                              "or withdraw it first.")
    if not body.strip() and not has_file:
        raise TransitionError("Write the document's text or upload its file: a version can't be empty.",
                              status=INVALID_INPUT)
    if not change_reason.strip():
        raise TransitionError("Say what changed and why (the change reason).", status=INVALID_INPUT)


def summary_status(version_statuses: Iterable[str]) -> str:
    """The register's status from its versions (oldest first), as the gates read it: approved while one is
    effective, else the newest working version's state, obsolete when all are ended, draft with none."""
    statuses = list(version_statuses)
    if APPROVED in statuses:
        return APPROVED
    for status in reversed(statuses):
        if status in WORKING_STATUSES:
            return status
    return OBSOLETE if statuses else DRAFT


# --- periodic review ------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReviewPolicy:
    core_months: int = DEFAULT_REVIEW_MONTHS_CORE
    other_months: int = DEFAULT_REVIEW_MONTHS_OTHER

    def months_for(self, document_key: str) -> int:
        return self.core_months if document_key in CORE_DOCUMENTS else self.other_months


def check_review_policy(core_months: int | None, other_months: int | None) -> ReviewPolicy:
    for months in (core_months, other_months):
        if months is None or not 1 <= months <= MAX_REVIEW_MONTHS:
            raise TransitionError(f"Review intervals are whole months from 1 to {MAX_REVIEW_MONTHS}.",
                                  status=INVALID_INPUT)
    return ReviewPolicy(core_months, other_months)


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` plus whole months, on the last day of a shorter month (31 January + 1 → 28/29 February)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def review_due(document_key: str, kind: str, reviewed_on: dt.date | None, policy: ReviewPolicy) -> dt.date | None:
    """When the document is next due for review: its policy's interval after it became effective or was last
    reviewed. Records are retained, not reviewed (None), and so is a document with nothing effective."""
    if kind != "document" or reviewed_on is None:
        return None
    return add_months(reviewed_on, policy.months_for(document_key))


def review_state(due_on: dt.date | None, today: dt.date) -> str | None:
    """"overdue" after the due date, "due" within REVIEW_SOON_DAYS of it, else None."""
    if due_on is None:
        return None
    if due_on < today:
        return "overdue"
    return "due" if (due_on - today).days <= REVIEW_SOON_DAYS else None


def check_review(has_effective_version: bool, kind: str) -> None:
    """"Reviewed, no change needed" needs an effective version of a document (409)."""
    if kind != "document":
        raise TransitionError("Records are retained as they are; only documents are reviewed.")
    if not has_effective_version:
        raise TransitionError("Only an approved document can be reviewed; approve a version first.")


# --- records and acknowledgement ----------------------------------------------------------------

def check_record_entry(kind: str, occurred_on: dt.date | None, today: dt.date) -> None:
    """A record instance needs a record (409) and a date that is not in the future (422)."""
    if kind != "record":
        raise TransitionError("Only records collect dated instances; a document gets new versions.")
    if occurred_on is None:
        raise TransitionError("Give the date of this record.", status=INVALID_INPUT)
    if occurred_on > today:
        raise TransitionError("A record tells what happened: its date can't be in the future.",
                              status=INVALID_INPUT)


RECORD_FREQUENCIES = {"monthly": "Every month", "quarterly": "Every quarter", "yearly": "Every year"}
_PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "yearly": 12}


def check_record_frequency(kind: str, frequency: str) -> str | None:
    """How often a record's instances are expected ("" for no set rhythm); only records accrue (422)."""
    if not frequency:
        return None
    if frequency not in RECORD_FREQUENCIES:
        raise TransitionError("Choose how often the record is kept from the list.", status=INVALID_INPUT)
    if kind != "record":
        raise TransitionError("Only a record is kept at a frequency; a document has its periodic review instead.",
                              status=INVALID_INPUT)
    return frequency


def period_end(day: dt.date, frequency: str) -> dt.date:
    """The last day of the calendar month, quarter or year that `day` falls in."""
    months = _PERIOD_MONTHS[frequency]
    last_month = (day.month - 1) // months * months + months
    return dt.date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])


def record_due(frequency: str | None, latest: dt.date | None, expected_since: dt.date) -> dt.date | None:
    """When the next instance of a record kept at `frequency` is due: by the end of the period after the one
    its latest instance falls in, and never before the end of the period in which it became expected (a record
    expected from 3 December, monthly, is first due on 31 December). None for a record with no frequency."""
    if frequency is None:
        return None
    first = period_end(expected_since, frequency)
    if latest is None:
        return first
    return max(first, period_end(period_end(latest, frequency) + dt.timedelta(days=1), frequency))


def check_acknowledgement(status: str, needs_acknowledgement: bool, number: int, already: bool) -> None:
    """Confirm reading version `number`: only an effective version that asks for it, once (409)."""
    if not needs_acknowledgement or status != APPROVED:
        raise TransitionError(f"Version {number} does not ask to be acknowledged.")
    if already:
        raise TransitionError(f"You have already acknowledged version {number}.")


def not_acknowledged(expected: dict[int, str], acknowledged: Iterable[int]) -> list[str]:
    """Who of `expected` (user id → name) has not confirmed yet, by name."""
    done = set(acknowledged)
    return sorted(name for uid, name in expected.items() if uid not in done)
