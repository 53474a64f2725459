"""Gate rules: pure functions from a client's state to "open / blocked by …".

Each stage has an exit gate. Passing it enters the next stage; passing the
certification-audit gate means the client is certified (the client then stays
in that last stage with its sign-off recorded). Which checks a gate applies is
template data (`GateCriteria`); this module only knows how to run them.

The state objects are snapshots the app builds from its tables; every function
here returns new objects and never mutates its input.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import TransitionError, WorkflowError
from .stages import FIRST_STAGE, LAST_STAGE, STAGE_KEYS, is_before, next_stage, stage_index, stage_label
from .template import Template

TASK_STATUSES: tuple[str, ...] = ("todo", "in_progress", "done", "not_applicable")
# Not applicable counts as finished: the reason given is the evidence.
TASK_FINISHED: frozenset[str] = frozenset({"done", "not_applicable"})
DOCUMENT_STATUSES: tuple[str, ...] = ("draft", "in_review", "approved", "obsolete")
FINDING_SEVERITIES: tuple[str, ...] = ("major", "minor", "observation", "opportunity")
FINDING_STATUSES: tuple[str, ...] = ("open", "closed")
CERTIFICATION_DECISIONS: tuple[str | None, ...] = (None, "certified", "not_certified", "pending")

# Codes of unmet criteria (stable: the app may translate or style by code).
TASK_NOT_DONE = "task_not_done"
DOCUMENT_NOT_APPROVED = "document_not_approved"
OPEN_MAJOR_FINDING = "open_major_finding"
SIGNOFF_MISSING = "signoff_missing"
CERTIFICATION_DECISION_MISSING = "certification_decision_missing"
STAGE_NOT_CURRENT = "stage_not_current"

# readiness parameters (see its docstring)
CURRENT_STAGE_SHARE = 0.9
MAJOR_FINDING_PENALTY = 10


def _check_stage(key: str, what: str) -> None:
    try:
        stage_index(key)
    except ValueError:
        raise ValueError(f"{what}: unknown stage {key!r}") from None


# --------------------------------------------------------------------------
# Client state
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskState:
    key: str
    stage: str
    required: bool = True
    status: str = "todo"
    title: str | None = None  # the client's wording, if it differs from the template

    def __post_init__(self) -> None:
        _check_stage(self.stage, f"task {self.key!r}")
        if self.status not in TASK_STATUSES:
            raise ValueError(f"task {self.key!r}: unknown status {self.status!r}")

    @property
    def finished(self) -> bool:
        return self.status in TASK_FINISHED


@dataclass(frozen=True)
class DocumentState:
    key: str
    stage: str
    required: bool = True
    status: str = "draft"
    title: str | None = None

    def __post_init__(self) -> None:
        _check_stage(self.stage, f"document {self.key!r}")
        if self.status not in DOCUMENT_STATUSES:
            raise ValueError(f"document {self.key!r}: unknown status {self.status!r}")


@dataclass(frozen=True)
class FindingState:
    id: Hashable
    stage: str  # the stage in which the finding was raised
    severity: str
    status: str = "open"
    title: str | None = None

    def __post_init__(self) -> None:
        _check_stage(self.stage, f"finding {self.id!r}")
        if self.severity not in FINDING_SEVERITIES:
            raise ValueError(f"finding {self.id!r}: unknown severity {self.severity!r}")
        if self.status not in FINDING_STATUSES:
            raise ValueError(f"finding {self.id!r}: unknown status {self.status!r}")

    @property
    def is_open_major(self) -> bool:
        return self.severity == "major" and self.status == "open"


@dataclass(frozen=True)
class ClientState:
    current_stage: str
    tasks: tuple[TaskState, ...] = ()
    documents: tuple[DocumentState, ...] = ()
    findings: tuple[FindingState, ...] = ()
    signoffs: frozenset[str] = frozenset()  # stages whose gate a consultant approved
    certification_decision: str | None = None

    def __post_init__(self) -> None:
        # Accept lists and sets from callers; store immutable copies.
        _check_stage(self.current_stage, "current_stage")
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "documents", tuple(self.documents))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "signoffs", frozenset(self.signoffs))
        for key in self.signoffs:
            _check_stage(key, "signoffs")
        if self.certification_decision not in CERTIFICATION_DECISIONS:
            raise ValueError(f"unknown certification decision {self.certification_decision!r}")

    def tasks_in(self, stage_key: str) -> tuple[TaskState, ...]:
        return tuple(t for t in self.tasks if t.stage == stage_key)

    def documents_in(self, stage_key: str) -> tuple[DocumentState, ...]:
        return tuple(d for d in self.documents if d.stage == stage_key)


def new_client_state(template: Template, current_stage: str = FIRST_STAGE) -> ClientState:
    """State of a client just started on `template`: every task to do, every document in draft."""
    return ClientState(
        current_stage=current_stage,
        tasks=tuple(TaskState(t.key, s, t.required, "todo") for s, t in template.iter_tasks()),
        documents=tuple(DocumentState(d.key, s, d.required, "draft") for s, d in template.iter_documents()),
    )


def is_certified(state: ClientState) -> bool:
    return LAST_STAGE in state.signoffs


def is_stage_passed(state: ClientState, stage_key: str) -> bool:
    """Whether the client is past this stage's gate (the last stage: certified)."""
    _check_stage(stage_key, "is_stage_passed")
    return is_before(stage_key, state.current_stage) or (
        stage_key == state.current_stage and stage_key in state.signoffs
    )


# --------------------------------------------------------------------------
# Evaluating a gate
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class UnmetCriterion:
    code: str
    message: str
    refs: tuple[Any, ...] = ()  # task/document keys, finding ids or the stage key

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "refs": list(self.refs)}


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
    """approve_gate was refused; `unmet` lists every criterion still open (sign-off excluded)."""

    def __init__(self, result: GateResult):
        self.result = result
        self.unmet = result.blocking
        label = stage_label(result.stage)
        super().__init__(f"The gate of “{label}” is blocked: " + "; ".join(u.message for u in self.unmet))


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
    in the data can never open a gate. Open major findings count when raised in
    this stage or any earlier one: a gap-analysis finding is not forgotten
    because the client moved on. A stage the client has not reached yet is
    reported with `stage_not_current`, alongside its other criteria so the app
    can preview what is left.
    """
    _check_stage(stage_key, "evaluate_gate")
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
                unmet.append(UnmetCriterion(TASK_NOT_DONE, f"Required task “{title}” is not done", (t.key,)))

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
            if d.required and d.status != "approved":
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
            if f.is_open_major and not is_before(stage_key, f.stage):
                suffix = f" — “{f.title}”" if f.title else ""
                unmet.append(UnmetCriterion(OPEN_MAJOR_FINDING, f"Major finding #{f.id} is open{suffix}", (f.id,)))

    if gate.certification_decision and state.certification_decision != "certified":
        unmet.append(
            UnmetCriterion(
                CERTIFICATION_DECISION_MISSING, _DECISION_MESSAGES[state.certification_decision], (stage_key,)
            )
        )

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
    _check_stage(stage_key, "approve_gate")
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


def reopen_stage(state: ClientState, stage_key: str, reason: str) -> ClientState:
    """Send the client back to a passed stage; sign-offs from that stage on are withdrawn.

    A reason is mandatory (the app logs it with the user). Reopening a stage of
    a certified client also clears the recorded certification decision, so the
    certification gate needs a fresh one.
    """
    _check_stage(stage_key, "reopen_stage")
    label = stage_label(stage_key)
    if not isinstance(reason, str) or not reason.strip():
        raise TransitionError(f"Reopening “{label}” needs a reason")
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
    _check_stage(stage_key, "can_work_on")
    return not is_before(state.current_stage, stage_key)


def check_task_transition(
    state: ClientState,
    task: TaskState,
    new_status: str,
    reason: str | None = None,
    *,
    template: Template | None = None,
) -> TaskState:
    """Validate a task status change and return the updated task.

    Refused (TransitionError): an unknown status; any change to a task of a
    locked stage; not applicable without a reason; not applicable for a
    required task whose template entry has `allow_not_applicable = false`
    (checked only when `template` is given).
    """
    if new_status not in TASK_STATUSES:
        raise TransitionError(f"Unknown task status {new_status!r}; expected one of {', '.join(TASK_STATUSES)}")
    template_task = template.find_task(task.key) if template is not None else None
    title = task.title or (template_task.title if template_task else task.key)
    if not can_work_on(state, task.stage):
        raise TransitionError(
            f"Task “{title}” cannot be changed: stage “{stage_label(task.stage)}” is locked until the client "
            f"reaches it (current stage: “{stage_label(state.current_stage)}”)"
        )
    if new_status == "not_applicable":
        if not isinstance(reason, str) or not reason.strip():
            raise TransitionError(f"Marking “{title}” not applicable needs a reason")
        if task.required and template_task is not None and not template_task.allow_not_applicable:
            raise TransitionError(f"“{title}” is required by the template and cannot be marked not applicable")
    return replace(task, status=new_status)


# --------------------------------------------------------------------------
# Progress and readiness
# --------------------------------------------------------------------------


def _fraction(tasks: Iterable[TaskState]) -> float:
    required = [t for t in tasks if t.required]
    if not required:
        return 1.0  # nothing required is left to do
    return sum(1 for t in required if t.finished) / len(required)


def stage_progress(state: ClientState) -> dict[str, float]:
    """Per stage: (done + not applicable) / required tasks, 0.0–1.0; 1.0 when a stage has none."""
    return {key: _fraction(state.tasks_in(key)) for key in STAGE_KEYS}


def overall_progress(state: ClientState) -> float:
    """(done + not applicable) / required tasks over every stage, 0.0–1.0."""
    return _fraction(state.tasks)


@dataclass(frozen=True)
class Readiness:
    """The readiness score and where it comes from, so a screen can explain it."""

    score: int  # 0–100
    earned: int  # points from passed stages and the current stage's tasks, before penalties
    open_majors: int
    penalty: int  # points taken off for the open major findings


def readiness(template: Template, state: ClientState) -> Readiness:
    """Readiness for certification, an integer from 0 to 100.

        weight(s)  = summed default duration of stage s's required tasks in the
                     template, divided by the total over all stages (equal
                     weights if the template has no durations)
        earned     = Σ weight(s) over passed stages
                     + weight(current) × 0.9 × stage_progress(current)
                       (only while the current stage's gate is not yet passed)
        score      = round(100 × earned − 10 × open major findings), clamped to 0–100

    Longer stages weigh more, so finishing implementation moves the score more
    than finishing the gap analysis. The current stage can earn at most 90 % of
    its weight from tasks: the rest comes with the gate approval, so "all tasks
    done, gate not approved" never reads as 100. Every open major finding, in
    any stage, costs 10 points, since any one of them would stop certification.
    """
    durations = {s.key: sum(t.duration_days for t in s.required_tasks) for s in template.stages}
    total = sum(durations.values())
    if total <= 0:
        durations = {key: 1 for key in STAGE_KEYS}
        total = len(STAGE_KEYS)
    weight = {key: durations.get(key, 0) / total for key in STAGE_KEYS}

    earned = sum(weight[key] for key in STAGE_KEYS if is_stage_passed(state, key))
    current = state.current_stage
    if not is_stage_passed(state, current):
        earned += weight[current] * CURRENT_STAGE_SHARE * _fraction(state.tasks_in(current))

    majors = sum(1 for f in state.findings if f.is_open_major)
    points = round(100 * earned)
    penalty = MAJOR_FINDING_PENALTY * majors
    return Readiness(score=max(0, min(100, points - penalty)), earned=points, open_majors=majors, penalty=penalty)

