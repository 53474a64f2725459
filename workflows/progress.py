"""How far a client has come: task progress per stage and overall (the readiness
score, traced item by item, is in `workflows.readiness`)."""

from __future__ import annotations

from collections.abc import Iterable

from .stages import STAGE_KEYS
from .state import ClientState, TaskState


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
