"""The template data model: a standard's clauses and, per stage, its tasks,
documents/records and gate criteria.

Templates are immutable: every edit of a consultancy's copy returns a new
version (see `edit`), which is what lets each client stay pinned to the
snapshot it started with. The dict layout of ``Template.to_dict`` is the TOML
file layout, so a JSON snapshot and a shipped file are read by one parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

# Roles are product-wide (who can act in ISOpath), not per standard.
ROLES: tuple[str, ...] = ("consultant", "client_admin", "staff")
DOCUMENT_KINDS: tuple[str, ...] = ("document", "record")

# Keys end up in URLs, file paths and DB columns: keep them plain.
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
KEY_RULE = "must be lowercase letters, digits, '.', '_' or '-'"


def is_valid_key(value: Any) -> bool:
    """Whether `value` can be a template, task or document key (see KEY_RULE)."""
    return isinstance(value, str) and bool(_KEY_RE.match(value))


def _as_tuple(value: Any) -> tuple:
    # A lone string would otherwise be split into characters by tuple().
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@dataclass(frozen=True)
class Clause:
    number: str
    title: str

    @property
    def parent(self) -> str | None:
        """ "7.1.5" -> "7.1"; top-level numbers have no parent."""
        head, sep, _ = self.number.rpartition(".")
        return head if sep else None


@dataclass(frozen=True)
class TaskTemplate:
    key: str
    title: str
    guidance: str = ""
    clauses: tuple[str, ...] = ()
    role: str = "consultant"
    duration_days: int = 1
    required: bool = True
    # Some tasks can never be declared not applicable (e.g. management review);
    # for all others n/a is allowed with a written reason.
    allow_not_applicable: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "clauses", _as_tuple(self.clauses))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "guidance": self.guidance,
            "clauses": list(self.clauses),
            "role": self.role,
            "duration_days": self.duration_days,
            "required": self.required,
            "allow_not_applicable": self.allow_not_applicable,
        }


@dataclass(frozen=True)
class DocumentTemplate:
    key: str
    title: str
    kind: str = "document"  # "document" is maintained, "record" is retained evidence
    clauses: tuple[str, ...] = ()
    required: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "clauses", _as_tuple(self.clauses))

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "kind": self.kind,
            "clauses": list(self.clauses),
            "required": self.required,
        }


@dataclass(frozen=True)
class GateCriteria:
    """Which checks a stage's exit gate applies (see ``workflows.gates``)."""

    required_tasks_done: bool = True
    required_documents_approved: bool = True
    no_open_major_findings: bool = True
    consultant_signoff: bool = True
    certification_decision: bool = False
    # Management review (9.3): every 9.3.2 input given, and a review closed after the internal audit.
    mr_inputs_complete: bool = False
    mr_after_internal_audit: bool = False

    # The internal audit (9.2): every clause 4–10 and in-scope process covered by a completed audit; every
    # nonconformity an internal audit found has a corrective action. Off unless a template version sets them.
    audit_coverage_complete: bool = False
    all_audit_ncs_have_ca: bool = False

    # -- evidence over time (see workflows.gates; defaults apply none of these) --
    # Gate 1: every item of the gap-analysis checklist rated.
    all_gap_items_rated: bool = False
    # Days the system has operated: counted from the day `operating_from` (a stage key; "" = this stage) was
    # entered until today.
    min_operating_days: int = 0
    operating_from: str = ""
    # (record key, minimum number of its instances dated within that operating window), in template order.
    min_record_instances: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        value = self.min_record_instances
        if isinstance(value, Mapping):
            value = value.items()
        object.__setattr__(self, "min_record_instances", tuple(tuple(pair) for pair in value))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        d["min_record_instances"] = dict(self.min_record_instances)
        return d


@dataclass(frozen=True)
class StageTemplate:
    key: str
    label: str
    tasks: tuple[TaskTemplate, ...] = ()
    documents: tuple[DocumentTemplate, ...] = ()
    gate: GateCriteria = field(default_factory=GateCriteria)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tasks", tuple(self.tasks))
        object.__setattr__(self, "documents", tuple(self.documents))

    @property
    def required_tasks(self) -> tuple[TaskTemplate, ...]:
        return tuple(t for t in self.tasks if t.required)

    @property
    def required_documents(self) -> tuple[DocumentTemplate, ...]:
        return tuple(d for d in self.documents if d.required)

    @property
    def total_duration_days(self) -> int:
        return sum(t.duration_days for t in self.tasks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "gate": self.gate.to_dict(),
            "tasks": [t.to_dict() for t in self.tasks],
            "documents": [d.to_dict() for d in self.documents],
        }


@dataclass(frozen=True)
class Template:
    key: str
    version: int
    name: str
    standard: str
    clauses: tuple[Clause, ...] = ()
    stages: tuple[StageTemplate, ...] = ()
    standard_title: str = ""
    # (key, version) of the template this one was copied from; None for shipped ones.
    based_on: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "clauses", tuple(self.clauses))
        object.__setattr__(self, "stages", tuple(self.stages))
        if self.based_on is not None:
            object.__setattr__(self, "based_on", tuple(self.based_on))

    # -- look-ups ----------------------------------------------------------

    def stage(self, key: str) -> StageTemplate:
        for s in self.stages:
            if s.key == key:
                return s
        raise KeyError(f"Template {self.key} v{self.version} has no stage {key!r}")

    def has_stage(self, key: str) -> bool:
        return any(s.key == key for s in self.stages)

    def clause(self, number: str) -> Clause | None:
        return next((c for c in self.clauses if c.number == number), None)

    @property
    def clause_numbers(self) -> tuple[str, ...]:
        return tuple(c.number for c in self.clauses)

    def iter_tasks(self) -> Iterator[tuple[str, TaskTemplate]]:
        """(stage key, task) in template order."""
        for s in self.stages:
            for t in s.tasks:
                yield s.key, t

    def iter_documents(self) -> Iterator[tuple[str, DocumentTemplate]]:
        for s in self.stages:
            for d in s.documents:
                yield s.key, d

    def find_task(self, key: str) -> TaskTemplate | None:
        return next((t for _, t in self.iter_tasks() if t.key == key), None)

    def stage_of_task(self, key: str) -> str | None:
        return next((s for s, t in self.iter_tasks() if t.key == key), None)

    def find_document(self, key: str) -> DocumentTemplate | None:
        return next((d for _, d in self.iter_documents() if d.key == key), None)

    def stage_of_document(self, key: str) -> str | None:
        return next((s for s, d in self.iter_documents() if d.key == key), None)

    # -- serialisation -----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dict (lists, not tuples), same layout as the TOML files."""
        d: dict[str, Any] = {
            "key": self.key,
            "version": self.version,
            "name": self.name,
            "standard": self.standard,
            "standard_title": self.standard_title,
        }
        if self.based_on is not None:
            d["based_on"] = {"key": self.based_on[0], "version": self.based_on[1]}
        d["clauses"] = [{"number": c.number, "title": c.title} for c in self.clauses]
        d["stages"] = [s.to_dict() for s in self.stages]
        return d
