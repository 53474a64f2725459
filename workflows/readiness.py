"""Readiness for certification, traced item by item.

The score is derived from a list of items — every required task and document,
every major finding, each gate approval and the certification body's decision —
each worth some points and either in place or missing. A screen that shows the
score can show the same list, so the number and the page can never disagree.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from .stages import LAST_STAGE, STAGE_KEYS, stage_label
from .state import ClientState, is_stage_passed
from .template import Template
from .vocabulary import APPROVED_DOCUMENT_STATUS, DOCUMENT_STATUS_LABELS, TASK_STATUS_LABELS

# Kinds of item (stable: the app links each kind to its page).
TASK = "task"
DOCUMENT = "document"
FINDING = "finding"
GATE = "gate"
DECISION = "decision"

# Points per kind. A gate approval, the decision and a major finding weigh more than one task or
# document: each of them alone decides whether the certificate is issued.
POINTS = {TASK: 1, DOCUMENT: 1, FINDING: 3, GATE: 3, DECISION: 3}


@dataclass(frozen=True)
class ReadinessItem:
    kind: str
    ref: Hashable  # task or document key, finding id, or the stage key for a gate or the decision
    stage: str
    title: str
    in_place: bool
    why: str  # what earned the points, or what is missing

    @property
    def points(self) -> int:
        return POINTS[self.kind]


@dataclass(frozen=True)
class Readiness:
    items: tuple[ReadinessItem, ...]

    @property
    def earned(self) -> int:
        return sum(i.points for i in self.items if i.in_place)

    @property
    def total(self) -> int:
        return sum(i.points for i in self.items)

    @property
    def score(self) -> int:
        """round(100 × points earned / points possible), 0–100."""
        return round(100 * self.earned / self.total) if self.total else 0

    @property
    def missing(self) -> tuple[ReadinessItem, ...]:
        return tuple(i for i in self.items if not i.in_place)

    @property
    def open_majors(self) -> tuple[ReadinessItem, ...]:
        return tuple(i for i in self.missing if i.kind == FINDING)

    def in_stage(self, stage_key: str) -> tuple[ReadinessItem, ...]:
        return tuple(i for i in self.items if i.stage == stage_key)


def _in_template_order(rows, template_keys: dict) -> list:
    """The template's order (its dict keys), then the client's own additions in the order given."""
    order = {key: i for i, key in enumerate(template_keys)}
    return sorted(rows, key=lambda r: order.get(r.key, len(order)))


def _task_items(template: Template, state: ClientState, stage_key: str) -> list[ReadinessItem]:
    stage = template.stage(stage_key)
    titles = {t.key: t.title for t in stage.tasks}
    present = {t.key for t in state.tasks}
    items = [ReadinessItem(TASK, t.key, stage_key, t.title, False, "missing from the client's task list")
             for t in stage.required_tasks if t.key not in present]
    for t in _in_template_order(state.tasks_in(stage_key), titles):
        if t.required:
            why = "marked not applicable" if t.status == "not_applicable" else TASK_STATUS_LABELS[t.status].lower()
            items.append(ReadinessItem(TASK, t.key, stage_key, t.title or titles.get(t.key, t.key), t.finished, why))
    return items


def _document_items(template: Template, state: ClientState, stage_key: str) -> list[ReadinessItem]:
    stage = template.stage(stage_key)
    titles = {d.key: d.title for d in stage.documents}
    present = {d.key for d in state.documents}
    items = [ReadinessItem(DOCUMENT, d.key, stage_key, d.title, False, "missing from the client's documents")
             for d in stage.required_documents if d.key not in present]
    for d in _in_template_order(state.documents_in(stage_key), titles):
        if d.required:
            approved = d.status == APPROVED_DOCUMENT_STATUS
            items.append(ReadinessItem(DOCUMENT, d.key, stage_key, d.title or titles.get(d.key, d.key), approved,
                                       DOCUMENT_STATUS_LABELS[d.status].lower()))
    return items


def _finding_items(state: ClientState, stage_key: str) -> list[ReadinessItem]:
    return [ReadinessItem(FINDING, f.id, stage_key, f.title or f"Major finding #{f.id}", not f.is_open_major,
                          "open: it would stop certification" if f.is_open_major else "closed")
            for f in state.findings if f.severity == "major" and f.stage == stage_key]


def _gate_items(state: ClientState, stage_key: str) -> list[ReadinessItem]:
    label = stage_label(stage_key)
    items = []
    if stage_key == LAST_STAGE:
        decided = state.certification_decision == "certified"
        items.append(ReadinessItem(DECISION, stage_key, stage_key, "Certification body's decision", decided,
                                   "certified" if decided else "not recorded as certified yet"))
    passed = is_stage_passed(state, stage_key)
    items.append(ReadinessItem(GATE, stage_key, stage_key, f"{label} gate approved", passed,
                               "approved by the consultant" if passed else "not approved yet"))
    return items


def readiness(template: Template, state: ClientState) -> Readiness:
    """Every item certification needs, stage by stage, each in place or missing.

    Required tasks count when done or not applicable, required documents when
    approved, a major finding (raised in any stage) once closed, a gate once the
    consultant approved it, and the last stage's decision once it is
    "certified". The client's own `required` flags win over the template's. The
    score is the share of points in place, so "all tasks done, gate not
    approved" never reads as 100, and an open major finding holds the score
    down until it is closed.
    """
    items: list[ReadinessItem] = []
    for key in STAGE_KEYS:
        items += _task_items(template, state, key)
        items += _document_items(template, state, key)
        items += _finding_items(state, key)
        items += _gate_items(state, key)
    return Readiness(items=tuple(items))
