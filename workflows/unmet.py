"""An unmet criterion: what a gate or a closing rule names when something is missing (code, message, refs)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UnmetCriterion:
    code: str
    message: str
    refs: tuple[Any, ...] = ()  # task/document keys, finding ids or the stage key

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "refs": list(self.refs)}
