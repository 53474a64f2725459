"""What changes between two versions of a template, stage by stage: the
basis for applying a newer version to a running client (see
``workflows.upgrade``) and for describing it to a consultant.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from .model import Template


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
    # names of the GateCriteria fields that differ (a criterion switched on or off, a minimum changed)
    gate_criteria_changed: tuple[str, ...] = ()
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
                gate_criteria_changed=_changed_fields(old_gate, new_gate) if old_gate and new_gate else (),
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
