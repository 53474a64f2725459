"""A client's state as the rules see it: where the client stands and the
status of its tasks, documents and findings.

These are snapshots the app builds from its tables. They check their own
values on construction, so a gate can never be evaluated over a status or
stage that does not exist; every rule returns new objects and never mutates
them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date

from .stages import FIRST_STAGE, LAST_STAGE, is_before, stage_index
from .template import Template
from .vocabulary import (
    CERTIFICATION_DECISIONS,
    DOCUMENT_STATUSES,
    FINDING_SEVERITIES,
    FINDING_STATUSES,
    FINISHED_TASK_STATUSES,
    OPEN_FINDING_STATUSES,
    TASK_STATUSES,
)


def check_stage(key: str, what: str) -> None:
    """ValueError naming `what` when `key` is not one of the five stages."""
    try:
        stage_index(key)
    except ValueError:
        raise ValueError(f"{what}: unknown stage {key!r}") from None


@dataclass(frozen=True)
class TaskState:
    key: str
    stage: str
    required: bool = True
    status: str = "todo"
    title: str | None = None  # the client's wording, if it differs from the template
    # A not-applicable decision proposed by client staff counts only once a consultant approves it.
    na_approved: bool = True

    def __post_init__(self) -> None:
        check_stage(self.stage, f"task {self.key!r}")
        if self.status not in TASK_STATUSES:
            raise ValueError(f"task {self.key!r}: unknown status {self.status!r}")

    @property
    def finished(self) -> bool:
        if self.status == "not_applicable":
            return self.na_approved
        return self.status in FINISHED_TASK_STATUSES

    @property
    def awaiting_na_approval(self) -> bool:
        return self.status == "not_applicable" and not self.na_approved


@dataclass(frozen=True)
class DocumentState:
    key: str
    stage: str
    required: bool = True
    status: str = "draft"
    title: str | None = None

    def __post_init__(self) -> None:
        check_stage(self.stage, f"document {self.key!r}")
        if self.status not in DOCUMENT_STATUSES:
            raise ValueError(f"document {self.key!r}: unknown status {self.status!r}")


@dataclass(frozen=True)
class FindingState:
    id: Hashable
    stage: str  # the stage in which the finding was raised
    severity: str
    status: str = "open"
    title: str | None = None
    # The stage that can remedy it (see workflows.findings_target); None: the stage it was raised in.
    target_stage: str | None = None

    def __post_init__(self) -> None:
        check_stage(self.stage, f"finding {self.id!r}")
        if self.target_stage is not None:
            check_stage(self.target_stage, f"finding {self.id!r} target")
        if self.severity not in FINDING_SEVERITIES:
            raise ValueError(f"finding {self.id!r}: unknown severity {self.severity!r}")
        if self.status not in FINDING_STATUSES:
            raise ValueError(f"finding {self.id!r}: unknown status {self.status!r}")

    @property
    def is_open_major(self) -> bool:
        return self.severity == "major" and self.status in OPEN_FINDING_STATUSES

    @property
    def holds_from(self) -> str:
        """The first stage whose gate this finding holds while it is an open major."""
        return self.target_stage or self.stage


@dataclass(frozen=True)
class ClientState:
    current_stage: str
    tasks: tuple[TaskState, ...] = ()
    documents: tuple[DocumentState, ...] = ()
    findings: tuple[FindingState, ...] = ()
    signoffs: frozenset[str] = frozenset()  # stages whose gate a consultant approved
    certification_decision: str | None = None  # None: nothing recorded yet
    # Management review (9.3): whether a review has every input given, when the latest one closed, and when the
    # internal audit was completed (None: not yet).
    management_review_inputs_complete: bool = False
    management_review_closed_on: date | None = None
    internal_audit_completed_on: date | None = None

    # -- evidence over time, for the gate criteria of that name (the app loads them only when its
    # template's gates ask; see GateCriteria) --
    gap_items: tuple[str, ...] = ()  # clauses of the gap-analysis checklist, in checklist order
    gap_rated: frozenset[str] = frozenset()  # those of them rated
    stage_entered: tuple[tuple[str, date], ...] = ()  # (stage key, day entered); a dict is accepted
    record_instances: tuple[tuple[str, tuple[date, ...]], ...] = ()  # (record key, instance dates); a dict too
    today: date | None = None

    # The internal-audit programme, as the gate names it: what no completed audit has covered yet, and the
    # internal-audit nonconformities without a corrective action ("#12 title"). Empty: nothing missing.
    audit_uncovered: tuple[str, ...] = ()
    audit_ncs_without_ca: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Accept lists and sets from callers; store immutable copies.
        check_stage(self.current_stage, "current_stage")
        object.__setattr__(self, "gap_items", tuple(self.gap_items))
        object.__setattr__(self, "gap_rated", frozenset(self.gap_rated))
        entered = self.stage_entered.items() if isinstance(self.stage_entered, Mapping) else self.stage_entered
        object.__setattr__(self, "stage_entered", tuple((k, d) for k, d in entered))
        for key, _ in self.stage_entered:
            check_stage(key, "stage_entered")
        instances = (self.record_instances.items() if isinstance(self.record_instances, Mapping)
                     else self.record_instances)
        object.__setattr__(self, "record_instances", tuple((k, tuple(ds)) for k, ds in instances))
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "documents", tuple(self.documents))
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "signoffs", frozenset(self.signoffs))
        object.__setattr__(self, "audit_uncovered", tuple(self.audit_uncovered))
        object.__setattr__(self, "audit_ncs_without_ca", tuple(self.audit_ncs_without_ca))
        for key in self.signoffs:
            check_stage(key, "signoffs")
        if self.certification_decision is not None and self.certification_decision not in CERTIFICATION_DECISIONS:
            raise ValueError(f"unknown certification decision {self.certification_decision!r}")

    def tasks_in(self, stage_key: str) -> tuple[TaskState, ...]:
        return tuple(t for t in self.tasks if t.stage == stage_key)

    def documents_in(self, stage_key: str) -> tuple[DocumentState, ...]:
        return tuple(d for d in self.documents if d.stage == stage_key)

    def entered_on(self, stage_key: str) -> date | None:
        return next((d for k, d in self.stage_entered if k == stage_key), None)

    def instances_of(self, record_key: str) -> tuple[date, ...]:
        return next((ds for k, ds in self.record_instances if k == record_key), ())


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
    check_stage(stage_key, "is_stage_passed")
    return is_before(stage_key, state.current_stage) or (
        stage_key == state.current_stage and stage_key in state.signoffs
    )
