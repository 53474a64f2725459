"""Management review (ISO 9001 9.3): the inputs of 9.3.2, when a review may close, its outputs (9.3.3) and the
date of the next one.

A review is held asynchronously: it opens on a date, the named participants add their input over days, and top
management closes it with the outputs, a conclusion on the system's suitability, adequacy and effectiveness
(9.3.1) and the next review's date. Closing needs every input to have content or an explicit "nothing to
report"; a closed review is a record and never changes again.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import INVALID_INPUT, TransitionError


@dataclass(frozen=True)
class ReviewInput:
    key: str
    clause: str
    label: str
    hint: str  # where ISOpath looks for the pre-fill, shown beside an empty input


# 9.3.2 a–f, in the standard's order (c has seven parts). Keys are stable: they are stored per input.
INPUTS: tuple[ReviewInput, ...] = (
    ReviewInput("a", "9.3.2 a", "Status of actions from previous management reviews",
                "The actions decided in earlier reviews and their tasks."),
    ReviewInput("b", "9.3.2 b", "Changes in external and internal issues relevant to the QMS",
                "The context analysis (4.1, 4.2) and the scope."),
    ReviewInput("c1", "9.3.2 c 1", "Customer satisfaction and feedback from relevant interested parties",
                "Customer KPIs, complaints and compliments."),
    ReviewInput("c2", "9.3.2 c 2", "Extent to which quality objectives have been met",
                "The quality objectives and their KPIs."),
    ReviewInput("c3", "9.3.2 c 3", "Process performance and conformity of products and services",
                "Process KPIs and their latest results."),
    ReviewInput("c4", "9.3.2 c 4", "Nonconformities and corrective actions",
                "The findings register and its corrective actions."),
    ReviewInput("c5", "9.3.2 c 5", "Monitoring and measurement results",
                "Every KPI's latest measurement against its target."),
    ReviewInput("c6", "9.3.2 c 6", "Audit results",
                "Internal audits, the gap analysis and the certification body's audits."),
    ReviewInput("c7", "9.3.2 c 7", "Performance of external providers",
                "Supplier evaluations and supplier findings."),
    ReviewInput("d", "9.3.2 d", "Adequacy of resources",
                "Capacity, competence gaps and tools."),
    ReviewInput("e", "9.3.2 e", "Effectiveness of actions taken to address risks and opportunities",
                "The risk register and the actions on it."),
    ReviewInput("f", "9.3.2 f", "Opportunities for improvement",
                "Opportunities for improvement recorded as findings."),
)
INPUT_KEYS: tuple[str, ...] = tuple(i.key for i in INPUTS)
_BY_KEY = {i.key: i for i in INPUTS}

# The outputs of 9.3.3, each an action with an owner and a due date.
OUTPUT_KINDS: dict[str, str] = {
    "improvement": "Opportunity for improvement (9.3.3 a)",
    "change": "Change needed to the QMS (9.3.3 b)",
    "resources": "Resource needed (9.3.3 c)",
}

FORMATS: dict[str, str] = {"async": "Asynchronous (a channel, over days)", "meeting": "Meeting"}
STATUSES: dict[str, str] = {"open": "Open for input", "closed": "Closed"}

CONCLUSION_MIN = 20  # characters: a statement on suitability, adequacy and effectiveness, not "ok"
# A review is at least yearly in practice (auditors expect one within 12 months); a next date further out is a slip.
NEXT_REVIEW_MAX = timedelta(days=366)

# Until internal audits are their own records, the internal audit counts as completed when the template's task
# that is the audit itself is done (the programme, the report and the corrective actions are other tasks).
INTERNAL_AUDIT_TASK_KEYS: tuple[str, ...] = ("conduct_internal_audits",)


def input_of(key: str) -> ReviewInput:
    try:
        return _BY_KEY[key]
    except KeyError:
        raise TransitionError(f"A management review has no input {key!r}", status=INVALID_INPUT) from None


@dataclass(frozen=True)
class InputState:
    """One input as the rules see it: the text (the pre-fill as edited), whether anyone added to it, and
    whether it was marked "nothing to report"."""

    key: str
    text: str = ""
    contributions: int = 0
    nothing_to_report: bool = False

    @property
    def complete(self) -> bool:
        return self.nothing_to_report or bool(self.text.strip()) or self.contributions > 0


def missing_inputs(inputs: Iterable[InputState]) -> list[ReviewInput]:
    """The 9.3.2 inputs still empty, in the standard's order; an input absent from `inputs` counts as empty."""
    given = {i.key: i for i in inputs}
    return [ri for ri in INPUTS if ri.key not in given or not given[ri.key].complete]


def inputs_complete(inputs: Iterable[InputState]) -> bool:
    return not missing_inputs(inputs)


def check_open(status: str) -> None:
    """A closed review is a record: any change is a conflict (409)."""
    if status != "open":
        raise TransitionError("This management review is closed; its record can no longer change.")


def check_opening(opened_on: date, today: date, open_review_exists: bool) -> None:
    """One review open at a time, and it opens today or on a date already past (never ahead)."""
    if open_review_exists:
        raise TransitionError("A management review is already open; close it before opening the next one.")
    if opened_on > today:
        raise TransitionError("A review opens today or on a past date, not ahead.", status=INVALID_INPUT)


def check_next_review(next_on: date | None, closed_on: date) -> None:
    """The next review comes after this one closes and within a year of it."""
    if next_on is None:
        raise TransitionError("Give the date of the next management review.", status=INVALID_INPUT)
    if next_on <= closed_on:
        raise TransitionError(f"The next review ({next_on.isoformat()}) must come after this one closes "
                              f"({closed_on.isoformat()}).", status=INVALID_INPUT)
    if next_on - closed_on > NEXT_REVIEW_MAX:
        raise TransitionError(f"The next review ({next_on.isoformat()}) is more than a year after this one; "
                              "plan it within twelve months.", status=INVALID_INPUT)


def check_closing(status: str, inputs: Iterable[InputState], conclusion: str, next_on: date | None,
                  closed_on: date, opened_on: date, role: str | None, outputs: Mapping[str, int] | None = None) -> None:
    """May the review close now? Only an open review, only by top management, with every input given (each
    missing one named), a conclusion (9.3.1) and a sane next review date. `outputs` counts the actions by kind
    (informative: a review may decide no action)."""
    check_open(status)
    if role != "top_management":
        raise TransitionError("Only the client's top management closes a management review.", status=403)
    missing = missing_inputs(inputs)
    if missing:
        names = "; ".join(f"{ri.clause} {ri.label}" for ri in missing)
        raise TransitionError("Every input needs content or “nothing to report” before the review closes. "
                              f"Still empty: {names}.", status=INVALID_INPUT)
    if len((conclusion or "").strip()) < CONCLUSION_MIN:
        raise TransitionError("Write the conclusion: is the quality management system still suitable, adequate "
                              "and effective, and aligned with the strategic direction?", status=INVALID_INPUT)
    if closed_on < opened_on:
        raise TransitionError("A review closes on or after the day it opened.", status=INVALID_INPUT)
    check_next_review(next_on, closed_on)


def check_output(kind: str, description: str, owner_given: bool, due_on: date | None, today: date) -> None:
    """An output of 9.3.3: a kind from the list, what is to be done, who owns it and a due date not past."""
    if kind not in OUTPUT_KINDS:
        raise TransitionError("Choose whether the action is an improvement, a change to the system or a "
                              "resource need.", status=INVALID_INPUT)
    if not (description or "").strip():
        raise TransitionError("Say what the action is.", status=INVALID_INPUT)
    if not owner_given:
        raise TransitionError("Choose who owns the action.", status=INVALID_INPUT)
    if due_on is None:
        raise TransitionError("Give the date the action is due.", status=INVALID_INPUT)
    if due_on < today:
        raise TransitionError("The action's due date has passed already; give one from today on.",
                              status=INVALID_INPUT)


def held_after_audit(review_closed_on: date | None, audit_completed_on: date | None) -> bool:
    """Whether a closed review came after the internal audit was completed (its results are an input, c 6)."""
    return review_closed_on is not None and audit_completed_on is not None and review_closed_on > audit_completed_on
