"""How far a client has come: task progress per stage and overall, and the
readiness score for certification shown in the portfolio.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .stages import STAGE_KEYS
from .state import ClientState, TaskState, is_stage_passed
from .template import Template

# readiness parameters (see its docstring)
CURRENT_STAGE_SHARE = 0.9
MAJOR_FINDING_PENALTY = 10


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


@dataclass(frozen=True)
class Readiness:
    """The readiness score and where it comes from, so a screen can explain it."""

    score: int  # 0–100
    earned: int  # points from passed stages and the current stage's tasks, before penalties
    open_majors: int
    penalty: int  # points taken off for the open major findings


def readiness(template: Template, state: ClientState) -> Readiness:
    """Readiness for certification, an integer from 0 to 100.

        weight(s)  = summed default duration of stage s's required tasks in the
                     template, divided by the total over all stages (equal
                     weights if the template has no durations)
        earned     = Σ weight(s) over passed stages
                     + weight(current) × 0.9 × stage_progress(current)
                       (only while the current stage's gate is not yet passed)
        score      = round(100 × earned − 10 × open major findings), clamped to 0–100

    Longer stages weigh more, so finishing implementation moves the score more
    than finishing the gap analysis. The current stage can earn at most 90 % of
    its weight from tasks: the rest comes with the gate approval, so "all tasks
    done, gate not approved" never reads as 100. Every open major finding, in
    any stage, costs 10 points, since any one of them would stop certification.
    """
    durations = {s.key: sum(t.duration_days for t in s.required_tasks) for s in template.stages}
    total = sum(durations.values())
    if total <= 0:
        durations = {key: 1 for key in STAGE_KEYS}
        total = len(STAGE_KEYS)
    weight = {key: durations.get(key, 0) / total for key in STAGE_KEYS}

    earned = sum(weight[key] for key in STAGE_KEYS if is_stage_passed(state, key))
    current = state.current_stage
    if not is_stage_passed(state, current):
        earned += weight[current] * CURRENT_STAGE_SHARE * _fraction(state.tasks_in(current))

    majors = sum(1 for f in state.findings if f.is_open_major)
    points = round(100 * earned)
    penalty = MAJOR_FINDING_PENALTY * majors
    return Readiness(score=max(0, min(100, points - penalty)), earned=points, open_majors=majors, penalty=penalty)
