"""Moving a running client to a newer version of its template.

A client is pinned to the template version it started with; when the
consultant applies a newer version, `plan_upgrade` decides, item by item, what
changes in that client's workspace. The rules protect work already done:

- new tasks and documents are added only to the current and upcoming stages
  (a passed stage was signed off as it was; what it would have gained is
  listed as skipped), due inside their stage's planned window;
- changed tasks are reworded only while still open (to do / in progress), and
  changed documents only until approved: finished work keeps the wording it
  was done under;
- removed tasks go only if nobody has touched them (still to do, no evidence,
  no comments), removed documents only while still a draft; the rest is kept
  and listed with the reason.

Only the fields that differ between the two template versions are copied, so
anything the consultant adjusted for this one client survives the upgrade.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import PlanError
from .lifecycle import is_open_task
from .plan import plan_tasks, stage_windows
from .stages import is_before
from .template import DocumentTemplate, TaskTemplate, Template, diff_templates
from .vocabulary import APPROVED_DOCUMENT_STATUS

# What a client's task or document row takes over from the template (duration only shapes the plan).
TASK_FIELDS = ("title", "guidance", "clauses", "role", "required", "allow_not_applicable")
DOCUMENT_FIELDS = ("title", "kind", "clauses", "required")
FIELD_LABELS = {
    "title": "wording",
    "guidance": "guidance",
    "clauses": "clauses",
    "role": "role",
    "duration_days": "duration",
    "required": "required/optional",
    "allow_not_applicable": "“not applicable” allowed",
    "kind": "document/record",
}
# How a consultant reads a gate criterion that a new version turns on, off or changes.
GATE_CRITERION_LABELS = {
    "required_tasks_done": "required tasks done",
    "required_documents_approved": "required documents approved",
    "no_open_major_findings": "no open major findings",
    "consultant_signoff": "consultant sign-off",
    "certification_decision": "certification body's decision",
    "mr_inputs_complete": "management review with every 9.3.2 input",
    "mr_after_internal_audit": "management review held after the internal audit",
    "audit_coverage_complete": "internal audit programme covers every clause and process",
    "all_audit_ncs_have_ca": "corrective action for every internal-audit nonconformity",
    "all_gap_items_rated": "every gap-analysis item rated",
    "min_operating_days": "days of operation",
    "operating_from": "operating period's start",
    "min_record_instances": "record instances within the operating period",
}


@dataclass(frozen=True)
class ClientItem:
    """A task or document as the client has it."""

    key: str
    stage: str
    status: str
    has_evidence: bool = False
    has_comments: bool = False


@dataclass(frozen=True)
class Item:
    key: str
    stage: str
    title: str
    reason: str = ""


@dataclass(frozen=True)
class Addition:
    stage: str
    template: TaskTemplate | DocumentTemplate
    start_date: dt.date | None = None  # tasks only
    due_date: dt.date | None = None

    @property
    def key(self) -> str:
        return self.template.key


@dataclass(frozen=True)
class Update:
    key: str
    stage: str
    title: str
    changes: Mapping[str, Any]  # field -> new value (clauses as a list)


@dataclass(frozen=True)
class Upgrade:
    old: tuple[str, int]
    new: tuple[str, int]
    tasks_added: tuple[Addition, ...] = ()
    tasks_skipped: tuple[Item, ...] = ()  # new in a stage the client has passed
    tasks_updated: tuple[Update, ...] = ()
    tasks_unchanged: tuple[Item, ...] = ()  # changed in the template, but already finished here
    tasks_removed: tuple[Item, ...] = ()
    tasks_kept: tuple[Item, ...] = ()  # removed from the template, kept because of the work on them
    documents_added: tuple[Addition, ...] = ()
    documents_skipped: tuple[Item, ...] = ()
    documents_updated: tuple[Update, ...] = ()
    documents_unchanged: tuple[Item, ...] = ()
    documents_removed: tuple[Item, ...] = ()
    documents_kept: tuple[Item, ...] = ()

    def counts(self) -> dict[str, int]:
        return {
            name: len(getattr(self, name))
            for name in (
                "tasks_added", "tasks_skipped", "tasks_updated", "tasks_unchanged", "tasks_removed", "tasks_kept",
                "documents_added", "documents_skipped", "documents_updated", "documents_unchanged",
                "documents_removed", "documents_kept",
            )
        }

    @property
    def changes_anything(self) -> bool:
        return bool(
            self.tasks_added or self.tasks_updated or self.tasks_removed
            or self.documents_added or self.documents_updated or self.documents_removed
        )


def _task_leave_reason(item: ClientItem) -> str | None:
    """Why a task removed from the template stays with this client; None when it can go."""
    if item.status != "todo":
        return {"in_progress": "in progress", "done": "done", "not_applicable": "marked not applicable"}.get(
            item.status, item.status
        )
    if item.has_evidence:
        return "has evidence"
    if item.has_comments:
        return "has comments"
    return None


def _document_leave_reason(item: ClientItem) -> str | None:
    return None if item.status == "draft" else item.status.replace("_", " ")


def _task_is_open(item: ClientItem) -> bool:
    return is_open_task(item.status)


def _document_is_open(item: ClientItem) -> bool:
    return item.status != APPROVED_DOCUMENT_STATUS


def _closed_reason(status: str) -> str:
    return status.replace("_", " ")


def _values(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    out = {}
    for name in names:
        value = getattr(obj, name)
        out[name] = list(value) if isinstance(value, tuple) else value
    return out


@dataclass
class _Side:
    """The plan for one kind of item (tasks or documents)."""

    added: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)
    removed: list = field(default_factory=list)
    kept: list = field(default_factory=list)


def _plan_side(
    old_items: dict[str, tuple[str, Any]],
    new_items: dict[str, tuple[str, Any]],
    fields_changed: dict[str, tuple[str, ...]],
    copied: tuple[str, ...],
    client: dict[str, ClientItem],
    current_stage: str,
    is_open,
    leave_reason,
    place,
) -> _Side:
    side = _Side()
    passed = lambda stage: is_before(stage, current_stage)  # noqa: E731  (stages are passed in order)
    for key, (stage, item) in new_items.items():
        mine = client.get(key)
        if mine is None:
            if passed(stage):
                side.skipped.append(Item(key, stage, item.title, "stage already passed"))
            else:
                side.added.append(place(stage, item))
            continue
        if key in old_items:
            names = [f for f in fields_changed.get(key, ()) if f in copied]
        else:
            names = list(copied)  # kept from an earlier version and back in the template: take it over whole
        moves = mine.stage != stage and not passed(stage) and is_open(mine)
        if not names and not moves:
            continue
        if not is_open(mine):
            # The client keeps the wording it worked under, so name it by that (the old template's) title.
            title = old_items[key][1].title if key in old_items else item.title
            side.unchanged.append(Item(key, mine.stage, title, _closed_reason(mine.status)))
            continue
        changes = _values(item, names)
        if moves:
            changes["stage"] = stage
        side.updated.append(Update(key, changes.get("stage", mine.stage), item.title, changes))
    for key, (stage, item) in old_items.items():
        mine = client.get(key)
        if key in new_items or mine is None:
            continue
        reason = leave_reason(mine)
        if reason is None:
            side.removed.append(Item(key, mine.stage, item.title))
        else:
            side.kept.append(Item(key, mine.stage, item.title, reason))
    return side


def _placer(new: Template, start_on, target_on, windows: Mapping[str, tuple[dt.date, dt.date]], today: dt.date):
    """Dates for a new task: where the planner would put it, scaled into the stage's actual
    window (which the consultant may have shifted), and never before today unless the window is over."""
    fresh_tasks: dict[str, Any] = {}
    fresh_windows: dict[str, Any] = {}
    if start_on and target_on:
        try:
            fresh_tasks = {p.key: p for p in plan_tasks(new, start_on, target_on)}
            fresh_windows = {w.stage: w for w in stage_windows(new, start_on, target_on)}
        except PlanError:
            pass

    def scale(d: dt.date, fresh, begin: dt.date, end: dt.date) -> dt.date:
        share = (d - fresh.start_date).days / fresh.days if fresh.days else 1.0
        return begin + dt.timedelta(days=round(share * (end - begin).days))

    def place(stage: str, item: Any) -> Addition:
        if not isinstance(item, TaskTemplate):
            return Addition(stage, item)
        fresh = fresh_windows.get(stage)
        actual = windows.get(stage) or ((fresh.start_date, fresh.end_date) if fresh else None)
        if actual is None:
            return Addition(stage, item)
        begin, end = actual
        planned = fresh_tasks.get(item.key)
        if planned is not None and fresh is not None:
            start, due = scale(planned.start_date, fresh, begin, end), scale(planned.due_date, fresh, begin, end)
        else:
            start, due = begin, end
        earliest = min(max(begin, today), end)
        due = min(max(due, earliest), end)
        start = min(max(start, begin), due)
        return Addition(stage, item, start, due)

    return place


def plan_upgrade(
    old: Template,
    new: Template,
    *,
    current_stage: str,
    tasks: Iterable[ClientItem],
    documents: Iterable[ClientItem],
    start_on: dt.date | None = None,
    target_on: dt.date | None = None,
    windows: Mapping[str, tuple[dt.date, dt.date]] | None = None,
    today: dt.date | None = None,
) -> Upgrade:
    """What applying `new` to a client pinned to `old` does to that client's tasks and documents.

    `windows` are the client's planned stage windows (start, end); `start_on` and
    `target_on` its plan dates. Without them, added tasks get no dates.
    """
    diff = diff_templates(old, new)
    task_fields = {k: v for s in diff.stages for k, v in s.task_fields_changed.items()}
    document_fields = {k: v for s in diff.stages for k, v in s.document_fields_changed.items()}
    place = _placer(new, start_on, target_on, windows or {}, today or dt.date.today())
    t = _plan_side(
        {x.key: (s, x) for s, x in old.iter_tasks()},
        {x.key: (s, x) for s, x in new.iter_tasks()},
        task_fields, TASK_FIELDS, {c.key: c for c in tasks}, current_stage,
        _task_is_open, _task_leave_reason, place,
    )
    d = _plan_side(
        {x.key: (s, x) for s, x in old.iter_documents()},
        {x.key: (s, x) for s, x in new.iter_documents()},
        document_fields, DOCUMENT_FIELDS, {c.key: c for c in documents}, current_stage,
        _document_is_open, _document_leave_reason, place,
    )
    return Upgrade(
        old=(old.key, old.version),
        new=(new.key, new.version),
        tasks_added=tuple(t.added), tasks_skipped=tuple(t.skipped), tasks_updated=tuple(t.updated),
        tasks_unchanged=tuple(t.unchanged), tasks_removed=tuple(t.removed), tasks_kept=tuple(t.kept),
        documents_added=tuple(d.added), documents_skipped=tuple(d.skipped), documents_updated=tuple(d.updated),
        documents_unchanged=tuple(d.unchanged), documents_removed=tuple(d.removed), documents_kept=tuple(d.kept),
    )


# --------------------------------------------------------------------------
# Describing a new version to a consultant
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    kind: str  # "added", "removed", "changed", "moved"
    item: str  # "task", "document", "gate"
    stage: str
    key: str
    title: str
    fields: tuple[str, ...] = ()  # for "changed": what differs, as FIELD_LABELS words

    @property
    def detail(self) -> str:
        return ", ".join(self.fields)


def describe_changes(old: Template, new: Template) -> list[Change]:
    """Every task, document and gate change from `old` to `new`, stage by stage, in template order."""
    diff = diff_templates(old, new)
    changes: list[Change] = []
    for s in diff.stages:
        if s.gate_criteria_changed:
            # The gate is named by its stage; what it now checks differently is the detail.
            changes.append(Change("changed", "gate", s.stage, s.stage, new.stage(s.stage).label,
                                  tuple(GATE_CRITERION_LABELS.get(f, f) for f in s.gate_criteria_changed)))
        for item, added, removed, changed, lookup_new, lookup_old in (
            ("task", s.tasks_added, s.tasks_removed, s.task_fields_changed, new.find_task, old.find_task),
            ("document", s.documents_added, s.documents_removed, s.document_fields_changed,
             new.find_document, old.find_document),
        ):
            changes += [Change("added", item, s.stage, k, lookup_new(k).title) for k in added]
            changes += [
                Change("changed", item, s.stage, k, lookup_new(k).title, tuple(FIELD_LABELS.get(f, f) for f in fs))
                for k, fs in changed.items()
            ]
            changes += [Change("removed", item, s.stage, k, lookup_old(k).title) for k in removed]
    for item, moves, lookup in (("task", diff.tasks_moved, new.find_task),
                                ("document", diff.documents_moved, new.find_document)):
        changes += [Change("moved", item, m.to_stage, m.key, lookup(m.key).title, (m.from_stage,)) for m in moves]
    return changes
