"""Editing a consultancy's copy of a template.

Every edit returns a new, validated version (the input is never changed), so
clients already pinned to the old version keep it. Keys never change: clients'
records refer to them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import fields, replace
from typing import Any

from ..errors import TemplateError
from .model import KEY_RULE, DocumentTemplate, GateCriteria, StageTemplate, TaskTemplate, Template, is_valid_key
from .parse import parse_document, parse_task
from .validate import check_template

_TASK_EDITABLE = {f.name for f in fields(TaskTemplate)} - {"key"}
_DOCUMENT_EDITABLE = {f.name for f in fields(DocumentTemplate)} - {"key"}
_GATE_FIELDS = {f.name for f in fields(GateCriteria)}


def _with_stage(t: Template, stage_key: str, **changes: Any) -> Template:
    stages = tuple(replace(s, **changes) if s.key == stage_key else s for s in t.stages)
    return replace(t, stages=stages, version=t.version + 1)


def _require_stage(t: Template, stage_key: str) -> StageTemplate:
    try:
        return t.stage(stage_key)
    except KeyError:
        raise TemplateError(f"Unknown stage {stage_key!r}; stages are {', '.join(s.key for s in t.stages)}") from None


def copy_template(t: Template, key: str, name: str) -> Template:
    """A consultancy's own copy: version 1 under a new key, remembering its origin."""
    if not is_valid_key(key):
        raise TemplateError(f"Template key {key!r} {KEY_RULE}")
    if key == t.key:
        raise TemplateError(f"A copy needs a key of its own, not {key!r}")
    if not isinstance(name, str) or not name.strip():
        raise TemplateError("A copy needs a name")
    return check_template(replace(t, key=key, name=name.strip(), version=1, based_on=(t.key, t.version)))


def _insert(items: tuple, item: Any, position: int | None) -> tuple:
    items = list(items)
    if position is None:
        items.append(item)
    else:
        items.insert(position, item)
    return tuple(items)


def _coerce_task(task: TaskTemplate | Mapping[str, Any]) -> TaskTemplate:
    return task if isinstance(task, TaskTemplate) else parse_task(task)


def _coerce_document(doc: DocumentTemplate | Mapping[str, Any]) -> DocumentTemplate:
    return doc if isinstance(doc, DocumentTemplate) else parse_document(doc)


def _with_changes(item: TaskTemplate | DocumentTemplate, changes: dict[str, Any]) -> dict[str, Any]:
    # As a dict for the parser, so edits get the same type checks as files.
    return {**item.to_dict(), **{k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}}


def add_task(
    t: Template, stage_key: str, task: TaskTemplate | Mapping[str, Any], position: int | None = None
) -> Template:
    """New version with `task` appended to the stage (or inserted at `position`)."""
    stage = _require_stage(t, stage_key)
    task = _coerce_task(task)
    existing = t.stage_of_task(task.key)
    if existing is not None:
        raise TemplateError(f"Task key {task.key!r} already exists in stage {existing!r}")
    return check_template(_with_stage(t, stage_key, tasks=_insert(stage.tasks, task, position)))


def remove_task(t: Template, task_key: str) -> Template:
    stage_key = t.stage_of_task(task_key)
    if stage_key is None:
        raise TemplateError(f"No task {task_key!r} in template {t.key} v{t.version}")
    stage = t.stage(stage_key)
    return check_template(_with_stage(t, stage_key, tasks=tuple(x for x in stage.tasks if x.key != task_key)))


def _edit_fields(kind: str, editable: set[str], changes: dict[str, Any]) -> None:
    if not changes:
        raise TemplateError(f"No changes given for the {kind}")
    if "key" in changes:
        raise TemplateError(f"A {kind}'s key cannot change (clients' records refer to it); remove it and add a new one")
    unknown = sorted(set(changes) - editable)
    if unknown:
        raise TemplateError(f"Unknown {kind} field(s): {', '.join(unknown)}; editable: {', '.join(sorted(editable))}")


def update_task(t: Template, task_key: str, **changes: Any) -> Template:
    """Reword or re-parameterise a task. Returns `t` itself when nothing actually changes."""
    _edit_fields("task", _TASK_EDITABLE, changes)
    stage_key = t.stage_of_task(task_key)
    if stage_key is None:
        raise TemplateError(f"No task {task_key!r} in template {t.key} v{t.version}")
    old = t.find_task(task_key)
    new = parse_task(_with_changes(old, changes))
    if new == old:
        return t
    stage = t.stage(stage_key)
    tasks = tuple(new if x.key == task_key else x for x in stage.tasks)
    return check_template(_with_stage(t, stage_key, tasks=tasks))


def add_document(
    t: Template, stage_key: str, document: DocumentTemplate | Mapping[str, Any], position: int | None = None
) -> Template:
    stage = _require_stage(t, stage_key)
    document = _coerce_document(document)
    existing = t.stage_of_document(document.key)
    if existing is not None:
        raise TemplateError(f"Document key {document.key!r} already exists in stage {existing!r}")
    return check_template(_with_stage(t, stage_key, documents=_insert(stage.documents, document, position)))


def remove_document(t: Template, document_key: str) -> Template:
    stage_key = t.stage_of_document(document_key)
    if stage_key is None:
        raise TemplateError(f"No document {document_key!r} in template {t.key} v{t.version}")
    stage = t.stage(stage_key)
    documents = tuple(d for d in stage.documents if d.key != document_key)
    return check_template(_with_stage(t, stage_key, documents=documents))


def update_document(t: Template, document_key: str, **changes: Any) -> Template:
    """Retitle or re-parameterise a document. Returns `t` itself when nothing actually changes."""
    _edit_fields("document", _DOCUMENT_EDITABLE, changes)
    stage_key = t.stage_of_document(document_key)
    if stage_key is None:
        raise TemplateError(f"No document {document_key!r} in template {t.key} v{t.version}")
    old = t.find_document(document_key)
    new = parse_document(_with_changes(old, changes))
    if new == old:
        return t
    stage = t.stage(stage_key)
    documents = tuple(new if d.key == document_key else d for d in stage.documents)
    return check_template(_with_stage(t, stage_key, documents=documents))


def update_gate(t: Template, stage_key: str, **changes: Any) -> Template:
    """Switch a stage's gate checks on or off (or set its evidence-over-time criteria). Returns `t` itself when
    nothing changes."""
    stage = _require_stage(t, stage_key)
    if not changes:
        raise TemplateError("No changes given for the gate")
    unknown = sorted(set(changes) - _GATE_FIELDS)
    if unknown:
        raise TemplateError(f"Unknown gate criteria: {', '.join(unknown)}; known: {', '.join(sorted(_GATE_FIELDS))}")
    # The criteria of evidence over time (days, a stage, record counts) are checked by check_template.
    bad = sorted(k for k, v in changes.items()
                 if k not in ("min_operating_days", "operating_from", "min_record_instances")
                 and not isinstance(v, bool))
    if bad:
        raise TemplateError(f"Gate criteria must be true or false: {', '.join(bad)}")
    gate = replace(stage.gate, **changes)
    if gate == stage.gate:
        return t
    return check_template(_with_stage(t, stage_key, gate=gate))


# -- input helpers for editing screens ----------------------------------------

_CLAUSE_SPLIT_RE = re.compile(r"[\s,;]+")


def parse_clause_refs(text: str, t: Template) -> tuple[str, ...]:
    """"4.1, 7.1.5; 9.2" -> ("4.1", "7.1.5", "9.2"), in the order typed, repeats dropped.

    Raises TemplateError naming every number the template's standard does not have,
    so a typo is caught before it becomes a task that serves no requirement.
    """
    refs = tuple(dict.fromkeys(r.strip(".") for r in _CLAUSE_SPLIT_RE.split(text or "") if r.strip(".")))
    unknown = [r for r in refs if t.clause(r) is None]
    if unknown:
        listed = ", ".join(unknown)
        plural = "s" if len(unknown) > 1 else ""
        raise TemplateError(
            f"{t.standard} has no clause{plural} {listed}: use clause numbers such as 4.1, 7.1.5 or 9.2"
        )
    return refs


def derive_key(text: str, taken: Iterable[str], sep: str = "_", max_length: int = 60) -> str:
    """A key made from a title or name ("Client onboarding call" -> "client_onboarding_call"),
    with a number added when it is taken ("…_2", "…_3")."""
    taken = set(taken)
    ascii_text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", sep, ascii_text).strip(sep)[:max_length].strip(sep) or "item"
    key, n = base, 2
    while key in taken:
        suffix = f"{sep}{n}"
        key = base[: max_length - len(suffix)].strip(sep) + suffix
        n += 1
    return key
