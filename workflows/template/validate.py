"""Whether a template makes sense, and which of its standard's clauses its
tasks serve.

Validation names every problem as a sentence (not only the first), so a
consultant editing a copy, or a developer editing a shipped file, sees the
whole list at once.
"""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from ..errors import TemplateError
from ..stages import STAGE_KEYS, is_before, is_stage
from .model import DOCUMENT_KINDS, KEY_RULE, ROLES, GateCriteria, Template, is_valid_key

# Dotted clause numbers ("7.1.5"); letters allowed for annexes ("A.1").
_CLAUSE_RE = re.compile(r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$")


def check_template(t: Template) -> Template:
    """`t` itself when valid; otherwise TemplateError naming every problem."""
    problems = validate_template(t)
    if problems:
        raise TemplateError(problems)
    return t


def validate_template(t: Template) -> list[str]:
    """Every semantic problem in the template, as human sentences; [] when valid."""
    problems: list[str] = []
    if not is_valid_key(t.key):
        problems.append(f"Template key {t.key!r} {KEY_RULE}")
    if not isinstance(t.version, int) or isinstance(t.version, bool) or t.version < 1:
        problems.append(f"Template version must be a positive integer, not {t.version!r}")
    if not str(t.name).strip():
        problems.append("Template name is empty")
    if not str(t.standard).strip():
        problems.append("Template standard is empty")
    if t.based_on is not None:
        if len(t.based_on) != 2 or not isinstance(t.based_on[0], str) or not isinstance(t.based_on[1], int):
            problems.append(f"based_on must be (template key, version), not {t.based_on!r}")

    known_clauses: set[str] = set()
    for c in t.clauses:
        if not isinstance(c.number, str) or not _CLAUSE_RE.match(c.number):
            problems.append(f"Clause number {c.number!r} is not a dotted clause number")
        if c.number in known_clauses:
            problems.append(f"Duplicate clause {c.number}")
        known_clauses.add(c.number)
        if not str(c.title).strip():
            problems.append(f"Clause {c.number} has no title")

    _validate_stage_list(t, problems)

    task_stage: dict[str, str] = {}
    document_stage: dict[str, str] = {}
    for s in t.stages:
        if not str(s.label).strip():
            problems.append(f"Stage {s.key!r} has no label")
        for task in s.tasks:
            name = f"Task {task.key!r}"
            _check_key(task.key, name, problems)
            if task.key in task_stage:
                problems.append(f"Duplicate task key {task.key!r} (stages {task_stage[task.key]!r} and {s.key!r})")
            task_stage.setdefault(task.key, s.key)
            if not str(task.title).strip():
                problems.append(f"{name} has no title")
            _check_clause_refs(task.clauses, name, known_clauses, problems)
            if task.role not in ROLES:
                problems.append(f"{name} has unknown role {task.role!r}; expected one of {', '.join(ROLES)}")
            if (
                not isinstance(task.duration_days, int)
                or isinstance(task.duration_days, bool)
                or task.duration_days <= 0
            ):
                problems.append(f"{name} must have a positive duration in days, not {task.duration_days!r}")
            for flag in ("required", "allow_not_applicable"):
                if not isinstance(getattr(task, flag), bool):
                    problems.append(f"{name}: {flag} must be true or false")
        for doc in s.documents:
            name = f"Document {doc.key!r}"
            _check_key(doc.key, name, problems)
            if doc.key in document_stage:
                problems.append(
                    f"Duplicate document key {doc.key!r} (stages {document_stage[doc.key]!r} and {s.key!r})"
                )
            document_stage.setdefault(doc.key, s.key)
            if not str(doc.title).strip():
                problems.append(f"{name} has no title")
            if doc.kind not in DOCUMENT_KINDS:
                problems.append(f"{name} has unknown kind {doc.kind!r}; expected 'document' or 'record'")
            _check_clause_refs(doc.clauses, name, known_clauses, problems)
            if not isinstance(doc.required, bool):
                problems.append(f"{name}: required must be true or false")
        for f in fields(GateCriteria):
            if f.name not in _GATE_NOT_BOOL and not isinstance(getattr(s.gate, f.name), bool):
                problems.append(f"Stage {s.key!r} gate: {f.name} must be true or false")
        _validate_evidence_criteria(t, s, problems)
    return problems


# Gate criteria of evidence over time (checked by _validate_evidence_criteria, not as switches).
_GATE_NOT_BOOL = ("min_operating_days", "operating_from", "min_record_instances")


def _validate_evidence_criteria(t: Template, s, problems: list[str]) -> None:
    where = f"Stage {s.key!r} gate"
    gate = s.gate
    days = gate.min_operating_days
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        problems.append(f"{where}: min_operating_days must be a whole number of days (0 or more), not {days!r}")
    if gate.operating_from:
        if not is_stage(gate.operating_from):
            problems.append(f"{where}: operating_from {gate.operating_from!r} is not a stage")
        elif is_stage(s.key) and is_before(s.key, gate.operating_from):
            problems.append(f"{where}: operating_from must be this stage or an earlier one, "
                            f"not {gate.operating_from!r}")
    # A record counted by a gate must exist by then: in this stage or an earlier one.
    records = {}
    for stage in t.stages:
        records.update({d.key: d.kind for d in stage.documents})
        if stage.key == s.key:
            break
    seen: set[str] = set()
    for key, count in gate.min_record_instances:
        if key in seen:
            problems.append(f"{where}: min_record_instances lists {key!r} more than once")
        seen.add(key)
        if key not in records:
            problems.append(f"{where}: min_record_instances names {key!r}, which is no record of this or an "
                            "earlier stage")
        elif records[key] != "record":
            problems.append(f"{where}: min_record_instances names {key!r}, a document: only records have "
                            "dated instances")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            problems.append(f"{where}: min_record_instances {key!r} must be at least 1, not {count!r}")


def _validate_stage_list(t: Template, problems: list[str]) -> None:
    seen: list[str] = []
    for s in t.stages:
        if not is_stage(s.key):
            problems.append(f"Unknown stage {s.key!r}; stages are {', '.join(STAGE_KEYS)}")
        elif s.key in seen:
            problems.append(f"Duplicate stage {s.key!r}")
        else:
            seen.append(s.key)
    for key in STAGE_KEYS:
        if key not in seen:
            problems.append(f"Stage {key!r} is missing")
    if len(seen) == len(STAGE_KEYS) and tuple(seen) != STAGE_KEYS:
        problems.append(f"Stages must be in the order {', '.join(STAGE_KEYS)}")


def _check_key(key: Any, name: str, problems: list[str]) -> None:
    if not is_valid_key(key):
        problems.append(f"{name}: key {KEY_RULE}")


def _check_clause_refs(refs: tuple[str, ...], name: str, known: set[str], problems: list[str]) -> None:
    for ref in refs:
        if ref not in known:
            problems.append(f"{name} refers to unknown clause {ref!r}")
    if len(set(refs)) != len(refs):
        problems.append(f"{name} lists a clause more than once")


def clause_coverage(t: Template) -> dict[str, list[str]]:
    """Clause number -> keys of the tasks that serve it, in clause-list order.

    A task serving a sub-clause also serves its parent (work on 7.1.6 is work
    on 7.1), but not the other way round: a task tagged 7.5 says nothing about
    7.5.3 in particular, so each sub-clause still needs its own task.
    """
    coverage: dict[str, list[str]] = {c.number: [] for c in t.clauses}
    for _, task in t.iter_tasks():
        for ref in task.clauses:
            number: str | None = ref
            while number:
                served = coverage.get(number)
                if served is not None and task.key not in served:
                    served.append(task.key)
                head, sep, _ = number.rpartition(".")
                number = head if sep else None
    return coverage


def uncovered_clauses(t: Template) -> list[str]:
    """Clauses in the template's clause list that no task serves."""
    return [number for number, tasks in clause_coverage(t).items() if not tasks]
