"""Reading template data (a TOML file or a JSON snapshot, as plain dicts)
into the model: structure and types only. Whether the result makes sense
(known clauses, roles, stage order …) is `validate`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ..errors import TemplateError
from .model import Clause, DocumentTemplate, GateCriteria, StageTemplate, TaskTemplate, Template
from .validate import check_template

_MISSING = object()

_TASK_FIELDS = {f.name for f in fields(TaskTemplate)}
_TASK_REQUIRED = {"key", "title", "role", "duration_days"}
_DOCUMENT_FIELDS = {f.name for f in fields(DocumentTemplate)}
_DOCUMENT_REQUIRED = {"key", "title", "kind"}
_GATE_FIELDS = {f.name for f in fields(GateCriteria)}

_EXPECTED = {
    "str": "a string",
    "int": "an integer",
    "bool": "true or false",
    "str_list": "a list of strings",
    "list": "a list",
}


def _placeholder(kind: str) -> Any:
    return {"str": "", "int": 0, "bool": False, "str_list": (), "list": []}[kind]


class _Reader:
    """Collects every structural problem instead of stopping at the first,
    so a consultant fixing a file sees the whole list at once."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def table(self, data: Any, where: str, required: set[str], optional: set[str]) -> bool:
        if not isinstance(data, Mapping):
            self.problems.append(f"{where}: expected a table/object, got {type(data).__name__}")
            return False
        for name in sorted(required - set(data)):
            self.problems.append(f"{where}: missing {name!r}")
        for name in sorted(set(data) - required - optional):
            self.problems.append(f"{where}: unknown field {name!r}")
        return True

    def get(self, data: Mapping, name: str, kind: str, where: str, default: Any = _MISSING) -> Any:
        if name not in data:
            return default if default is not _MISSING else _placeholder(kind)
        value = data[name]
        if kind == "str" and isinstance(value, str):
            return value
        # bool is a subclass of int; `duration_days = true` must not pass as 1
        if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            return value
        if kind == "bool" and isinstance(value, bool):
            return value
        if kind == "str_list" and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        if kind == "list" and isinstance(value, (list, tuple)):
            return list(value)
        self.problems.append(f"{where}: {name!r} must be {_EXPECTED[kind]}, got {value!r}")
        return _placeholder(kind)


def _read_task(r: _Reader, data: Any, where: str) -> TaskTemplate | None:
    if not r.table(data, where, _TASK_REQUIRED, _TASK_FIELDS - _TASK_REQUIRED):
        return None
    return TaskTemplate(
        key=r.get(data, "key", "str", where),
        title=r.get(data, "title", "str", where),
        guidance=r.get(data, "guidance", "str", where, ""),
        clauses=r.get(data, "clauses", "str_list", where, ()),
        role=r.get(data, "role", "str", where),
        duration_days=r.get(data, "duration_days", "int", where),
        required=r.get(data, "required", "bool", where, True),
        allow_not_applicable=r.get(data, "allow_not_applicable", "bool", where, True),
    )


def _read_document(r: _Reader, data: Any, where: str) -> DocumentTemplate | None:
    if not r.table(data, where, _DOCUMENT_REQUIRED, _DOCUMENT_FIELDS - _DOCUMENT_REQUIRED):
        return None
    return DocumentTemplate(
        key=r.get(data, "key", "str", where),
        title=r.get(data, "title", "str", where),
        kind=r.get(data, "kind", "str", where),
        clauses=r.get(data, "clauses", "str_list", where, ()),
        required=r.get(data, "required", "bool", where, True),
    )


# Gate criteria that are not true/false switches; every other criterion is a bool.
_GATE_KINDS = {"min_operating_days": "int", "operating_from": "str", "min_record_instances": "counts"}


def _read_counts(r: _Reader, data: Mapping, name: str, where: str) -> tuple[tuple[str, int], ...]:
    """A table of record key -> minimum count (`{ kpi_reports = 2 }`), kept in the order written."""
    if name not in data:
        return ()
    value = data[name]
    if not isinstance(value, Mapping):
        r.problems.append(f"{where}: {name!r} must be a table of record key = minimum count, got {value!r}")
        return ()
    counts = []
    for key, count in value.items():
        if not isinstance(count, int) or isinstance(count, bool):
            r.problems.append(f"{where}: {name!r} {key!r} must be a whole number of instances, got {count!r}")
        else:
            counts.append((str(key), count))
    return tuple(counts)


def _read_gate(r: _Reader, data: Any, where: str) -> GateCriteria:
    """A stage's gate table. Besides the switches (`required_tasks_done`, `no_open_major_findings` …), the
    criteria of evidence over time, all off unless written:

        [stages.gate]                       # in [[stages]] key = "initial_audit"
        all_gap_items_rated = true          # every gap-analysis checklist item rated

        [stages.gate]                       # in [[stages]] key = "implementation"
        min_operating_days = 56             # at least 8 weeks since the stage was entered
        operating_from = "implementation"   # optional: count from when that (this or an earlier) stage
                                            # was entered; default: this stage
        min_record_instances = { kpi_reports = 2, customer_satisfaction_results = 1 }
                                            # record key = instances dated in that window, at least
    """
    if not r.table(data, where, set(), _GATE_FIELDS):
        return GateCriteria()
    defaults = GateCriteria()
    values: dict[str, Any] = {}
    for name in _GATE_FIELDS:
        kind = _GATE_KINDS.get(name, "bool")
        if kind == "counts":
            values[name] = _read_counts(r, data, name, where)
        else:
            values[name] = r.get(data, name, kind, where, getattr(defaults, name))
    return GateCriteria(**values)


def _read_stage(r: _Reader, data: Any, where: str) -> StageTemplate | None:
    if not r.table(data, where, {"key", "label"}, {"gate", "tasks", "documents"}):
        return None
    key = r.get(data, "key", "str", where)
    where = f"stage {key!r}" if key else where
    tasks = [_read_task(r, t, f"{where} task #{i + 1}") for i, t in enumerate(r.get(data, "tasks", "list", where, []))]
    documents = [
        _read_document(r, d, f"{where} document #{i + 1}")
        for i, d in enumerate(r.get(data, "documents", "list", where, []))
    ]
    return StageTemplate(
        key=key,
        label=r.get(data, "label", "str", where),
        tasks=tuple(t for t in tasks if t is not None),
        documents=tuple(d for d in documents if d is not None),
        gate=_read_gate(r, data["gate"], f"{where} gate") if "gate" in data else GateCriteria(),
    )


def parse_template(data: Any) -> Template:
    """The template `data` describes, unvalidated; TemplateError lists every structural problem."""
    r = _Reader()
    if not r.table(
        data, "template", {"key", "version", "name", "standard", "clauses", "stages"}, {"standard_title", "based_on"}
    ):
        raise TemplateError(r.problems)
    based_on = None
    if "based_on" in data:
        if r.table(data["based_on"], "based_on", {"key", "version"}, set()):
            based_on = (
                r.get(data["based_on"], "key", "str", "based_on"),
                r.get(data["based_on"], "version", "int", "based_on"),
            )
    clauses = []
    for i, c in enumerate(r.get(data, "clauses", "list", "template", [])):
        where = f"clause #{i + 1}"
        if r.table(c, where, {"number", "title"}, set()):
            clauses.append(Clause(r.get(c, "number", "str", where), r.get(c, "title", "str", where)))
    stages = [_read_stage(r, s, f"stage #{i + 1}") for i, s in enumerate(r.get(data, "stages", "list", "template", []))]
    template = Template(
        key=r.get(data, "key", "str", "template"),
        version=r.get(data, "version", "int", "template"),
        name=r.get(data, "name", "str", "template"),
        standard=r.get(data, "standard", "str", "template"),
        standard_title=r.get(data, "standard_title", "str", "template", ""),
        clauses=tuple(clauses),
        stages=tuple(s for s in stages if s is not None),
        based_on=based_on,
    )
    if r.problems:
        raise TemplateError(r.problems)
    return template


def _parse_one(read, data: Any, where: str):
    r = _Reader()
    parsed = read(r, data, where)
    if r.problems or parsed is None:
        raise TemplateError(r.problems)
    return parsed


def parse_task(data: Any) -> TaskTemplate:
    """One task from a dict (an editing form's fields); TemplateError lists every problem."""
    return _parse_one(_read_task, data, "task")


def parse_document(data: Any) -> DocumentTemplate:
    """One document from a dict; TemplateError lists every problem."""
    return _parse_one(_read_document, data, "document")


def read_template(data: Any) -> Template:
    """A template from its dict layout (a JSON snapshot or a shipped file), parsed and validated;
    raises TemplateError naming every problem."""
    return check_template(parse_template(data))
