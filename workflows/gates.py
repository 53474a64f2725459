"""Gate rules: pure functions from a client's state to "open / blocked by …".

Each stage has an exit gate. Passing it enters the next stage; passing the
certification-audit gate means the client is certified (the client then stays
in that last stage with its sign-off recorded). Which checks a gate applies is
template data (`GateCriteria`); this module only knows how to run them.

The client's state comes from `workflows.state` (progress and readiness are in
`workflows.progress`); every function here returns new objects and never
mutates its input.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import INVALID_INPUT, TransitionError, WorkflowError
from .gate_evidence import (GAP_ITEMS_UNRATED, MR_INPUTS_INCOMPLETE, MR_NOT_AFTER_INTERNAL_AUDIT,  # noqa: F401
                            OPERATING_DAYS_SHORT, RECORD_INSTANCES_SHORT, evidence_unmet, management_review_unmet,
                            operating_window)
from .not_applicable import check_na_reason
from .stages import is_before, next_stage, stage_index, stage_label
from .state import ClientState, TaskState, check_stage, is_certified, is_stage_passed
from .template import Template
from .unmet import UnmetCriterion
from .vocabulary import APPROVED_DOCUMENT_STATUS, TASK_STATUSES

# Codes of unmet criteria (stable: the app may translate or style by code).
TASK_NOT_DONE = "task_not_done"
DOCUMENT_NOT_APPROVED = "document_not_approved"
OPEN_MAJOR_FINDING = "open_major_finding"
SIGNOFF_MISSING = "signoff_missing"
CERTIFICATION_DECISION_MISSING = "certification_decision_missing"
STAGE_NOT_CURRENT = "stage_not_current"
AUDIT_COVERAGE_INCOMPLETE = "audit_coverage_incomplete"
AUDIT_NC_WITHOUT_CA = "audit_nc_without_ca"


# --------------------------------------------------------------------------
# Evaluating a gate
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class GateResult:
    """`passed`: every criterion the gate applies is met, sign-off included.
    `ready_for_signoff`: everything is met except (possibly) the consultant's sign-off.
    """

    stage: str
    passed: bool
    ready_for_signoff: bool
    unmet: list[UnmetCriterion] = field(default_factory=list)

    @property
    def awaiting_signoff(self) -> bool:
        """The "gate awaiting approval" state shown in the portfolio."""
        return self.ready_for_signoff and not self.passed

    @property
    def blocking(self) -> list[UnmetCriterion]:
        """Unmet criteria other than the sign-off itself."""
        return [u for u in self.unmet if u.code != SIGNOFF_MISSING]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "passed": self.passed,
            "ready_for_signoff": self.ready_for_signoff,
            "unmet": [u.to_dict() for u in self.unmet],
        }


class GateBlocked(WorkflowError):
    """A gate action was refused because the gate is not ready; `unmet` lists every
    criterion still open (sign-off excluded) and `result` is the whole evaluation.

    The default message names them all; an action other than approval can give
    its own wording in `message` (see check_gate_request).
    """

    def __init__(self, result: GateResult, message: str | None = None):
        self.result = result
        self.unmet = result.blocking
        if message is None:
            label = stage_label(result.stage)
            message = f"The gate of “{label}” is blocked: " + "; ".join(u.message for u in self.unmet)
        super().__init__(message)


def _ordered(items: Iterable[Any], template_order: dict[str, int]) -> list[Any]:
    # Template order first, then client-specific items in the order given.
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (template_order.get(pair[1].key, len(template_order)), pair[0]))
    return [item for _, item in indexed]


_DECISION_MESSAGES = {
    None: "The certification body's decision has not been recorded",
    "pending": "The certification body's decision is still pending",
    "not_certified": "The certification body decided not to certify; a new decision is needed",
}


def evaluate_gate(template: Template, state: ClientState, stage_key: str) -> GateResult:
    """Check the exit gate of `stage_key` for this client; every unmet criterion is named.

    Tasks and documents come from the client's state (its `required` flags win,
    so a consultant can relax one for one client); a required task or document
    of the template that the client's state lacks counts as not done, so a gap
    in the data can never open a gate. Open major findings count when targeted
    at this stage or any earlier one (their target stage, by default the stage
    that can remedy them): a gap-analysis finding is not forgotten because the
    client moved on, nor does "no internal audits yet" hold implementation.
    The criteria of evidence over time are `evidence_unmet`'s. A stage the client has not reached yet is
    reported with `stage_not_current`, alongside its other criteria so the app
    can preview what is left.
    """
    check_stage(stage_key, "evaluate_gate")
    stage = template.stage(stage_key)
    gate = stage.gate
    label = stage.label
    unmet: list[UnmetCriterion] = []

    if is_before(state.current_stage, stage_key):
        unmet.append(
            UnmetCriterion(
                STAGE_NOT_CURRENT,
                f"Stage “{label}” has not been entered yet; the client is in “{stage_label(state.current_stage)}”",
                (stage_key,),
            )
        )

    if gate.required_tasks_done:
        template_tasks = {t.key: t for t in stage.tasks}
        order = {key: i for i, key in enumerate(template_tasks)}
        state_keys = {t.key for t in state.tasks}
        for t in stage.required_tasks:
            if t.key not in state_keys:
                unmet.append(
                    UnmetCriterion(
                        TASK_NOT_DONE,
                        f"Required task “{t.title}” is not done (it is missing from the client's task list)",
                        (t.key,),
                    )
                )
        for t in _ordered(state.tasks_in(stage_key), order):
            if t.required and not t.finished:
                title = t.title or (template_tasks[t.key].title if t.key in template_tasks else t.key)
                why = ("is marked not applicable but waits for a consultant's approval" if t.awaiting_na_approval
                       else "is not done")
                unmet.append(UnmetCriterion(TASK_NOT_DONE, f"Required task “{title}” {why}", (t.key,)))

    if gate.required_documents_approved:
        template_docs = {d.key: d for d in stage.documents}
        order = {key: i for i, key in enumerate(template_docs)}
        state_keys = {d.key for d in state.documents}
        for d in stage.required_documents:
            if d.key not in state_keys:
                unmet.append(
                    UnmetCriterion(
                        DOCUMENT_NOT_APPROVED,
                        f"Required {d.kind} “{d.title}” is not approved (it is missing from the client's documents)",
                        (d.key,),
                    )
                )
        for d in _ordered(state.documents_in(stage_key), order):
            if d.required and d.status != APPROVED_DOCUMENT_STATUS:
                tmpl = template_docs.get(d.key)
                title = d.title or (tmpl.title if tmpl else d.key)
                kind = tmpl.kind if tmpl else "document"
                unmet.append(
                    UnmetCriterion(
                        DOCUMENT_NOT_APPROVED,
                        f"Required {kind} “{title}” is not approved (status: {d.status.replace('_', ' ')})",
                        (d.key,),
                    )
                )

    if gate.no_open_major_findings:
        for f in state.findings:
            # Held only by majors the stage (or an earlier one) can remedy: its target stage, by default the
            # stage it was raised in.
            if f.is_open_major and not is_before(stage_key, f.holds_from):
                suffix = f" — “{f.title}”" if f.title else ""
                target = (f" (to be remedied in “{stage_label(f.target_stage)}”)"
                          if f.target_stage not in (None, stage_key) else "")
                unmet.append(UnmetCriterion(OPEN_MAJOR_FINDING, f"Major finding #{f.id} is open{suffix}{target}",
                                            (f.id,)))

    unmet.extend(evidence_unmet(template, state, stage_key))

    if gate.certification_decision and state.certification_decision != "certified":
        unmet.append(
            UnmetCriterion(
                CERTIFICATION_DECISION_MISSING, _DECISION_MESSAGES[state.certification_decision], (stage_key,)
            )
        )

    unmet.extend(management_review_unmet(gate, state, stage_key))

    if gate.audit_coverage_complete:
        unmet += [UnmetCriterion(AUDIT_COVERAGE_INCOMPLETE, f"Internal audit programme: {m}", (stage_key,))
                  for m in state.audit_uncovered]
    if gate.all_audit_ncs_have_ca:
        unmet += [UnmetCriterion(AUDIT_NC_WITHOUT_CA, f"Internal-audit nonconformity {m} has no corrective action",
                                 (stage_key,)) for m in state.audit_ncs_without_ca]

    if gate.consultant_signoff and stage_key not in state.signoffs:
        unmet.append(UnmetCriterion(SIGNOFF_MISSING, f"Consultant sign-off for “{label}” is missing", (stage_key,)))

    return GateResult(
        stage=stage_key,
        passed=not unmet,
        ready_for_signoff=all(u.code == SIGNOFF_MISSING for u in unmet),
        unmet=unmet,
    )


# --------------------------------------------------------------------------
# Transitions
# --------------------------------------------------------------------------


def approve_gate(template: Template, state: ClientState, stage_key: str) -> ClientState:
    """Record the consultant's sign-off and enter the next stage.

    Raises TransitionError when the stage is not the current one (or is
    already approved) and GateBlocked, listing every other unmet criterion,
    when the gate is not ready. Who approved, when and with what comment is
    for the app to store alongside.
    """
    check_stage(stage_key, "approve_gate")
    if stage_key != state.current_stage:
        raise TransitionError(
            f"Cannot approve the gate of “{stage_label(stage_key)}”: "
            f"the client is in “{stage_label(state.current_stage)}”"
        )
    if stage_key in state.signoffs:
        raise TransitionError(f"The gate of “{stage_label(stage_key)}” is already approved")
    result = evaluate_gate(template, state, stage_key)
    if result.blocking:
        raise GateBlocked(result)
    return replace(
        state,
        current_stage=next_stage(stage_key) or stage_key,  # the last gate leaves the client certified in place
        signoffs=state.signoffs | {stage_key},
    )


def check_gate_request(template: Template, state: ClientState, stage_key: str, *, pending: bool) -> GateResult:
    """May the client ask the consultant to review (and sign off) this stage's gate?

    Only the current stage's gate, only once at a time (`pending`: a review is
    already waiting), and only when the gate is ready for sign-off, so the
    consultant is never asked to look at a gate that would be refused anyway.
    Returns the gate's evaluation; raises TransitionError (409) for the first
    two, GateBlocked (409) naming every criterion still open for the last.
    """
    check_stage(stage_key, "check_gate_request")
    if stage_key != state.current_stage:
        raise TransitionError(
            "Only the current stage's gate can be reviewed; the client is in "
            f"{stage_label(state.current_stage)}."
        )
    if pending:
        raise TransitionError("A review of this gate is already waiting for the consultant.")
    result = evaluate_gate(template, state, stage_key)
    if not result.ready_for_signoff:
        unmet = "; ".join(u.message for u in result.blocking)
        raise GateBlocked(result, f"The gate can't be reviewed yet: {unmet}.")
    return result


def reopen_stage(state: ClientState, stage_key: str, reason: str) -> ClientState:
    """Send the client back to a passed stage; sign-offs from that stage on are withdrawn.

    A reason is mandatory (the app logs it with the user): without one the
    TransitionError has status 422; a stage not yet passed gives 409.
    Reopening a stage of a certified client also clears the recorded
    certification decision, so the certification gate needs a fresh one.
    """
    check_stage(stage_key, "reopen_stage")
    label = stage_label(stage_key)
    if not isinstance(reason, str) or not reason.strip():
        raise TransitionError(f"Reopening “{label}” needs a reason", status=INVALID_INPUT)
    if not is_stage_passed(state, stage_key):
        raise TransitionError(f"“{label}” has not been passed, so it cannot be reopened")
    index = stage_index(stage_key)
    return replace(
        state,
        current_stage=stage_key,
        signoffs=frozenset(s for s in state.signoffs if stage_index(s) < index),
        certification_decision=None if is_certified(state) else state.certification_decision,
    )


def can_work_on(state: ClientState, stage_key: str) -> bool:
    """Tasks of the current and earlier stages can be worked on; later stages are locked."""
    return stage_unlocked(state.current_stage, stage_key)


def stage_unlocked(current_stage: str, stage_key: str) -> bool:
    """`can_work_on` for a caller that knows only the client's current stage."""
    check_stage(stage_key, "can_work_on")
    return not is_before(current_stage, stage_key)


def check_task_transition(
    state: ClientState,
    task: TaskState,
    new_status: str,
    reason: str | None = None,
    *,
    template: Template | None = None,
) -> TaskState:
    """Validate a task status change and return the updated task.

    Refused (TransitionError): any change to a task of a locked stage (status
    409); an unknown status, not applicable without a reason, or not
    applicable for a required task whose template entry has
    `allow_not_applicable = false` (checked only when `template` is given)
    (status 422).
    """
    if new_status not in TASK_STATUSES:
        raise TransitionError(
            f"Unknown task status {new_status!r}; expected one of {', '.join(TASK_STATUSES)}", status=INVALID_INPUT
        )
    template_task = template.find_task(task.key) if template is not None else None
    title = task.title or (template_task.title if template_task else task.key)
    if not can_work_on(state, task.stage):
        raise TransitionError(
            f"Task “{title}” cannot be changed: stage “{stage_label(task.stage)}” is locked until the client "
            f"reaches it (current stage: “{stage_label(state.current_stage)}”)"
        )
    if new_status == "not_applicable":
        check_na_reason(reason if isinstance(reason, str) else None, title)
        if task.required and template_task is not None and not template_task.allow_not_applicable:
            raise TransitionError(
                f"“{title}” is required by the template and cannot be marked not applicable", status=INVALID_INPUT
            )
    return replace(task, status=new_status)
