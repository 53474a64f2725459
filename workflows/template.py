"""Certification templates: a standard's clauses and, per stage, the tasks,
documents/records and gate criteria a consultant runs a client through.

Everything standard-specific is data (``templates/<key>/v<N>.toml``) so that
ISO 14001 or ISO 45001 arrive as further files, not code. Templates are
immutable: every edit of a consultancy's copy returns a new version, which is
what lets each client stay pinned to the snapshot it started with.

The dict layout produced by ``Template.to_dict`` is the same as the TOML file
layout, so a JSON snapshot and a shipped file are read by one parser.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from importlib import resources
from typing import Any

from .errors import TemplateError
from .stages import STAGE_KEYS, is_stage

DEFAULT_TEMPLATE = "iso9001-2015"

# Roles are product-wide (who can act in ISOpath), not per standard.
ROLES: tuple[str, ...] = ("consultant", "client_admin", "staff")
DOCUMENT_KINDS: tuple[str, ...] = ("document", "record")

# Keys end up in URLs, file paths and DB columns: keep them plain.
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
# Dotted clause numbers ("7.1.5"); letters allowed for annexes ("A.1").
_CLAUSE_RE = re.compile(r"^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$")
_VERSION_FILE_RE = re.compile(r"^v([1-9][0-9]*)\.toml$")


def _as_tuple(value: Any) -> tuple:
    # A lone string would otherwise be split into characters by tuple().
    if isinstance(value, str):
        return (value,)
    return tuple(value)


# --------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------


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


@dataclass(frozen=True)
class DocumentTemplate:
    key: str
    title: str
    kind: str = "document"  # "document" is maintained, "record" is retained evidence
    clauses: tuple[str, ...] = ()
    required: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "clauses", _as_tuple(self.clauses))


@dataclass(frozen=True)
class GateCriteria:
    """Which checks a stage's exit gate applies (see ``workflows.gates``)."""

    required_tasks_done: bool = True
    required_documents_approved: bool = True
    no_open_major_findings: bool = True
    consultant_signoff: bool = True
    certification_decision: bool = False


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
        d["stages"] = [_stage_to_dict(s) for s in self.stages]
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Template:
        """Parse and validate; raises TemplateError naming every problem."""
        template = _parse_template(data)
        problems = validate_template(template)
        if problems:
            raise TemplateError(problems)
        return template


def _task_to_dict(t: TaskTemplate) -> dict[str, Any]:
    return {
        "key": t.key,
        "title": t.title,
        "guidance": t.guidance,
        "clauses": list(t.clauses),
        "role": t.role,
        "duration_days": t.duration_days,
        "required": t.required,
        "allow_not_applicable": t.allow_not_applicable,
    }


def _document_to_dict(d: DocumentTemplate) -> dict[str, Any]:
    return {
        "key": d.key,
        "title": d.title,
        "kind": d.kind,
        "clauses": list(d.clauses),
        "required": d.required,
    }


def _stage_to_dict(s: StageTemplate) -> dict[str, Any]:
    return {
        "key": s.key,
        "label": s.label,
        "gate": {f.name: getattr(s.gate, f.name) for f in fields(GateCriteria)},
        "tasks": [_task_to_dict(t) for t in s.tasks],
        "documents": [_document_to_dict(d) for d in s.documents],
    }


# --------------------------------------------------------------------------
# Parsing (structure and types); semantic checks live in validate_template
# --------------------------------------------------------------------------

_MISSING = object()


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
        expected = {
            "str": "a string",
            "int": "an integer",
            "bool": "true or false",
            "str_list": "a list of strings",
            "list": "a list",
        }[kind]
        self.problems.append(f"{where}: {name!r} must be {expected}, got {value!r}")
        return _placeholder(kind)


def _placeholder(kind: str) -> Any:
    return {"str": "", "int": 0, "bool": False, "str_list": (), "list": []}[kind]


_TASK_FIELDS = {f.name for f in fields(TaskTemplate)}
_DOCUMENT_FIELDS = {f.name for f in fields(DocumentTemplate)}
_GATE_FIELDS = {f.name for f in fields(GateCriteria)}


def _read_task(r: _Reader, data: Any, where: str) -> TaskTemplate | None:
    if not r.table(
        data, where, {"key", "title", "role", "duration_days"}, _TASK_FIELDS - {"key", "title", "role", "duration_days"}
    ):
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
    if not r.table(data, where, {"key", "title", "kind"}, _DOCUMENT_FIELDS - {"key", "title", "kind"}):
        return None
    return DocumentTemplate(
        key=r.get(data, "key", "str", where),
        title=r.get(data, "title", "str", where),
        kind=r.get(data, "kind", "str", where),
        clauses=r.get(data, "clauses", "str_list", where, ()),
        required=r.get(data, "required", "bool", where, True),
    )


def _read_gate(r: _Reader, data: Any, where: str) -> GateCriteria:
    if not r.table(data, where, set(), _GATE_FIELDS):
        return GateCriteria()
    defaults = GateCriteria()
    return GateCriteria(**{name: r.get(data, name, "bool", where, getattr(defaults, name)) for name in _GATE_FIELDS})


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


def _parse_template(data: Any) -> Template:
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


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def validate_template(t: Template) -> list[str]:
    """Every semantic problem in the template, as human sentences; [] when valid."""
    problems: list[str] = []
    if not isinstance(t.key, str) or not _KEY_RE.match(t.key):
        problems.append(f"Template key {t.key!r} must be lowercase letters, digits, '.', '_' or '-'")
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
            if not isinstance(getattr(s.gate, f.name), bool):
                problems.append(f"Stage {s.key!r} gate: {f.name} must be true or false")
    return problems


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
    if not isinstance(key, str) or not _KEY_RE.match(key):
        problems.append(f"{name}: key must be lowercase letters, digits, '.', '_' or '-'")


def _check_clause_refs(refs: tuple[str, ...], name: str, known: set[str], problems: list[str]) -> None:
    for ref in refs:
        if ref not in known:
            problems.append(f"{name} refers to unknown clause {ref!r}")
    if len(set(refs)) != len(refs):
        problems.append(f"{name} lists a clause more than once")


# --------------------------------------------------------------------------
# Clause coverage
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# Loading shipped templates
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateInfo:
    key: str
    version: int
    name: str
    standard: str


def _templates_root():
    return resources.files(__package__).joinpath("templates")


def _versions_on_disk(key: str) -> list[int]:
    folder = _templates_root().joinpath(key)
    if not folder.is_dir():
        return []
    versions = []
    for entry in folder.iterdir():
        m = _VERSION_FILE_RE.match(entry.name)
        if m and entry.is_file():
            versions.append(int(m.group(1)))
    return sorted(versions)


def _template_keys_on_disk() -> list[str]:
    return sorted(e.name for e in _templates_root().iterdir() if e.is_dir() and _KEY_RE.match(e.name))


@cache
def _load_file(key: str, version: int) -> Template:
    # Cached: templates are immutable and are read on most workspace requests.
    text = _templates_root().joinpath(key, f"v{version}.toml").read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise TemplateError(f"templates/{key}/v{version}.toml is not valid TOML: {exc}") from exc
    template = Template.from_dict(data)
    if (template.key, template.version) != (key, version):
        raise TemplateError(
            f"templates/{key}/v{version}.toml declares {template.key} v{template.version}; "
            "the folder name and file name must match the key and version inside"
        )
    return template


def available_templates() -> list[TemplateInfo]:
    """Every shipped template version, sorted by key then version."""
    infos = []
    for key in _template_keys_on_disk():
        for version in _versions_on_disk(key):
            t = _load_file(key, version)
            infos.append(TemplateInfo(t.key, t.version, t.name, t.standard))
    return infos


def load_template(key: str = DEFAULT_TEMPLATE, version: int | None = None) -> Template:
    """A shipped template; the latest version when `version` is None."""
    if not isinstance(key, str) or not _KEY_RE.match(key):
        # Also keeps a key taken from a URL from walking the file system.
        raise TemplateError(f"Invalid template key {key!r}")
    versions = _versions_on_disk(key)
    if not versions:
        known = ", ".join(_template_keys_on_disk()) or "none"
        raise TemplateError(f"No template {key!r}; available: {known}")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise TemplateError(f"Template {key!r} has no version {version!r}; available: {', '.join(map(str, versions))}")
    return _load_file(key, version)


# --------------------------------------------------------------------------
# Editing a consultancy's copy (each edit returns a new version)
# --------------------------------------------------------------------------


def _checked(t: Template) -> Template:
    problems = validate_template(t)
    if problems:
        raise TemplateError(problems)
    return t


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
    if not isinstance(key, str) or not _KEY_RE.match(key):
        raise TemplateError(f"Template key {key!r} must be lowercase letters, digits, '.', '_' or '-'")
    if key == t.key:
        raise TemplateError(f"A copy needs a key of its own, not {key!r}")
    if not isinstance(name, str) or not name.strip():
        raise TemplateError("A copy needs a name")
    return _checked(replace(t, key=key, name=name.strip(), version=1, based_on=(t.key, t.version)))


def _insert(items: tuple, item: Any, position: int | None) -> tuple:
    items = list(items)
    if position is None:
        items.append(item)
    else:
        items.insert(position, item)
    return tuple(items)


def _coerce_task(task: TaskTemplate | Mapping[str, Any]) -> TaskTemplate:
    if isinstance(task, TaskTemplate):
        return task
    r = _Reader()
    parsed = _read_task(r, task, "task")
    if r.problems or parsed is None:
        raise TemplateError(r.problems)
    return parsed


def _coerce_document(doc: DocumentTemplate | Mapping[str, Any]) -> DocumentTemplate:
    if isinstance(doc, DocumentTemplate):
        return doc
    r = _Reader()
    parsed = _read_document(r, doc, "document")
    if r.problems or parsed is None:
        raise TemplateError(r.problems)
    return parsed


def add_task(
    t: Template, stage_key: str, task: TaskTemplate | Mapping[str, Any], position: int | None = None
) -> Template:
    """New version with `task` appended to the stage (or inserted at `position`)."""
    stage = _require_stage(t, stage_key)
    task = _coerce_task(task)
    existing = t.stage_of_task(task.key)
    if existing is not None:
        raise TemplateError(f"Task key {task.key!r} already exists in stage {existing!r}")
    return _checked(_with_stage(t, stage_key, tasks=_insert(stage.tasks, task, position)))


def remove_task(t: Template, task_key: str) -> Template:
    stage_key = t.stage_of_task(task_key)
    if stage_key is None:
        raise TemplateError(f"No task {task_key!r} in template {t.key} v{t.version}")
    stage = t.stage(stage_key)
    return _checked(_with_stage(t, stage_key, tasks=tuple(x for x in stage.tasks if x.key != task_key)))


_TASK_EDITABLE = _TASK_FIELDS - {"key"}
_DOCUMENT_EDITABLE = _DOCUMENT_FIELDS - {"key"}


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
    # Re-read through the parser so edits get the same type checks as files.
    new = _coerce_task(
        {**_task_to_dict(old), **{k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}}
    )
    if new == old:
        return t
    stage = t.stage(stage_key)
    return _checked(_with_stage(t, stage_key, tasks=tuple(new if x.key == task_key else x for x in stage.tasks)))


def add_document(
    t: Template, stage_key: str, document: DocumentTemplate | Mapping[str, Any], position: int | None = None
) -> Template:
    stage = _require_stage(t, stage_key)
    document = _coerce_document(document)
    existing = t.stage_of_document(document.key)
    if existing is not None:
        raise TemplateError(f"Document key {document.key!r} already exists in stage {existing!r}")
    return _checked(_with_stage(t, stage_key, documents=_insert(stage.documents, document, position)))


def remove_document(t: Template, document_key: str) -> Template:
    stage_key = t.stage_of_document(document_key)
    if stage_key is None:
        raise TemplateError(f"No document {document_key!r} in template {t.key} v{t.version}")
    stage = t.stage(stage_key)
    return _checked(_with_stage(t, stage_key, documents=tuple(d for d in stage.documents if d.key != document_key)))


def update_document(t: Template, document_key: str, **changes: Any) -> Template:
    """Retitle or re-parameterise a document. Returns `t` itself when nothing actually changes."""
    _edit_fields("document", _DOCUMENT_EDITABLE, changes)
    stage_key = t.stage_of_document(document_key)
    if stage_key is None:
        raise TemplateError(f"No document {document_key!r} in template {t.key} v{t.version}")
    old = t.find_document(document_key)
    new = _coerce_document(
        {**_document_to_dict(old), **{k: list(v) if isinstance(v, tuple) else v for k, v in changes.items()}}
    )
    if new == old:
        return t
    stage = t.stage(stage_key)
    return _checked(
        _with_stage(t, stage_key, documents=tuple(new if d.key == document_key else d for d in stage.documents))
    )


def update_gate(t: Template, stage_key: str, **changes: Any) -> Template:
    """Switch a stage's gate checks on or off. Returns `t` itself when nothing changes."""
    stage = _require_stage(t, stage_key)
    if not changes:
        raise TemplateError("No changes given for the gate")
    unknown = sorted(set(changes) - _GATE_FIELDS)
    if unknown:
        raise TemplateError(f"Unknown gate criteria: {', '.join(unknown)}; known: {', '.join(sorted(_GATE_FIELDS))}")
    bad = sorted(k for k, v in changes.items() if not isinstance(v, bool))
    if bad:
        raise TemplateError(f"Gate criteria must be true or false: {', '.join(bad)}")
    gate = replace(stage.gate, **changes)
    if gate == stage.gate:
        return t
    return _checked(_with_stage(t, stage_key, gate=gate))


# --------------------------------------------------------------------------
# Input helpers for editing screens
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Diff between two versions (to apply a newer template to a running client)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StageDiff:
    stage: str
    tasks_added: tuple[str, ...] = ()
    tasks_removed: tuple[str, ...] = ()
    tasks_changed: tuple[str, ...] = ()
    documents_added: tuple[str, ...] = ()
    documents_removed: tuple[str, ...] = ()
    documents_changed: tuple[str, ...] = ()
    gate_changed: bool = False
    # key -> names of the fields that differ, for "title reworded, now required"
    task_fields_changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    document_fields_changed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (
            self.tasks_added
            or self.tasks_removed
            or self.tasks_changed
            or self.documents_added
            or self.documents_removed
            or self.documents_changed
            or self.gate_changed
        )


@dataclass(frozen=True)
class Move:
    key: str
    from_stage: str
    to_stage: str


@dataclass(frozen=True)
class TemplateDiff:
    old: tuple[str, int]
    new: tuple[str, int]
    stages: tuple[StageDiff, ...]
    # Same key in another stage: a move, not a remove + add, so the app can keep
    # the client's comments and attachments on the task.
    tasks_moved: tuple[Move, ...] = ()
    documents_moved: tuple[Move, ...] = ()
    clauses_added: tuple[str, ...] = ()
    clauses_removed: tuple[str, ...] = ()
    clauses_retitled: tuple[str, ...] = ()

    def stage(self, key: str) -> StageDiff:
        for s in self.stages:
            if s.stage == key:
                return s
        return StageDiff(key)

    @property
    def is_empty(self) -> bool:
        return all(s.is_empty for s in self.stages) and not (
            self.tasks_moved
            or self.documents_moved
            or self.clauses_added
            or self.clauses_removed
            or self.clauses_retitled
        )


def _changed_fields(old: Any, new: Any) -> tuple[str, ...]:
    return tuple(f.name for f in fields(old) if getattr(old, f.name) != getattr(new, f.name))


def _diff_items(old_items: dict[str, tuple[str, Any]], new_items: dict[str, tuple[str, Any]], stage_keys: list[str]):
    """Per stage: added, removed, changed (with fields); plus moves across stages."""
    added = {s: [] for s in stage_keys}
    removed = {s: [] for s in stage_keys}
    changed: dict[str, dict[str, tuple[str, ...]]] = {s: {} for s in stage_keys}
    moves = []
    for key, (stage, item) in new_items.items():
        if key not in old_items:
            added[stage].append(key)
            continue
        old_stage, old_item = old_items[key]
        if old_stage != stage:
            moves.append(Move(key, old_stage, stage))
        diff = _changed_fields(old_item, item)
        if diff:
            changed[stage][key] = diff
    for key, (stage, _) in old_items.items():
        if key not in new_items:
            removed[stage].append(key)
    return added, removed, changed, tuple(moves)


def diff_templates(old: Template, new: Template) -> TemplateDiff:
    """What changes for a client moving from `old` to `new`, stage by stage.

    A task (or document) whose key moved to another stage is listed in
    `tasks_moved` and not as removed/added; if it also changed, it appears in
    the new stage's `tasks_changed`.
    """
    stage_keys = [s.key for s in new.stages] + [s.key for s in old.stages if not new.has_stage(s.key)]
    t_add, t_rem, t_chg, t_moves = _diff_items(
        {t.key: (s, t) for s, t in old.iter_tasks()}, {t.key: (s, t) for s, t in new.iter_tasks()}, stage_keys
    )
    d_add, d_rem, d_chg, d_moves = _diff_items(
        {d.key: (s, d) for s, d in old.iter_documents()}, {d.key: (s, d) for s, d in new.iter_documents()}, stage_keys
    )
    stages = []
    for key in stage_keys:
        old_gate = old.stage(key).gate if old.has_stage(key) else None
        new_gate = new.stage(key).gate if new.has_stage(key) else None
        stages.append(
            StageDiff(
                stage=key,
                tasks_added=tuple(t_add[key]),
                tasks_removed=tuple(t_rem[key]),
                tasks_changed=tuple(t_chg[key]),
                documents_added=tuple(d_add[key]),
                documents_removed=tuple(d_rem[key]),
                documents_changed=tuple(d_chg[key]),
                gate_changed=old_gate != new_gate,
                task_fields_changed=t_chg[key],
                document_fields_changed=d_chg[key],
            )
        )
    old_clauses = {c.number: c.title for c in old.clauses}
    new_clauses = {c.number: c.title for c in new.clauses}
    return TemplateDiff(
        old=(old.key, old.version),
        new=(new.key, new.version),
        stages=tuple(stages),
        tasks_moved=t_moves,
        documents_moved=d_moves,
        clauses_added=tuple(n for n in new_clauses if n not in old_clauses),
        clauses_removed=tuple(n for n in old_clauses if n not in new_clauses),
        clauses_retitled=tuple(n for n in new_clauses if n in old_clauses and old_clauses[n] != new_clauses[n]),
    )
