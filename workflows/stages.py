"""The five stages every client walks through on the way to certification.

The order is fixed here because gates, locking and progress all depend on it;
what happens *inside* a stage (tasks, documents, gate criteria) is template data.
"""

from __future__ import annotations

from dataclasses import dataclass

INITIAL_AUDIT = "initial_audit"
SYSTEM_DESIGN = "system_design"
IMPLEMENTATION = "implementation"
INTERNAL_AUDIT = "internal_audit"
CERTIFICATION_AUDIT = "certification_audit"


@dataclass(frozen=True)
class Stage:
    key: str
    label: str


STAGES: tuple[Stage, ...] = (
    Stage(INITIAL_AUDIT, "Initial audit (gap analysis)"),
    Stage(SYSTEM_DESIGN, "System design"),
    Stage(IMPLEMENTATION, "Implementation"),
    Stage(INTERNAL_AUDIT, "Internal audit"),
    Stage(CERTIFICATION_AUDIT, "Certification audit"),
)

STAGE_KEYS: tuple[str, ...] = tuple(s.key for s in STAGES)
FIRST_STAGE: str = STAGE_KEYS[0]
LAST_STAGE: str = STAGE_KEYS[-1]

_INDEX = {key: i for i, key in enumerate(STAGE_KEYS)}
_LABEL = {s.key: s.label for s in STAGES}


def is_stage(key: object) -> bool:
    return key in _INDEX


def stage_index(key: str) -> int:
    """Position of the stage, 0 for the initial audit. Unknown keys raise ValueError."""
    try:
        return _INDEX[key]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown stage {key!r}; expected one of {', '.join(STAGE_KEYS)}") from None


def stage_label(key: str) -> str:
    stage_index(key)  # same error for unknown keys everywhere
    return _LABEL[key]


def next_stage(key: str) -> str | None:
    """The stage entered when this stage's gate is passed; None after certification."""
    i = stage_index(key)
    return STAGE_KEYS[i + 1] if i + 1 < len(STAGE_KEYS) else None


def previous_stage(key: str) -> str | None:
    i = stage_index(key)
    return STAGE_KEYS[i - 1] if i > 0 else None


def is_before(a: str, b: str) -> bool:
    """True when stage `a` comes strictly before stage `b`."""
    return stage_index(a) < stage_index(b)
