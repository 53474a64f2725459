"""A target with its amber and red thresholds, and what a value means against
them.

A KPI is either better higher (satisfaction, on-time delivery) or better lower
(response time, complaints). The target is what the client aims for; the
amber threshold is where "on track" ends and the red threshold where "at risk"
ends. Amber may equal the target (anything short of it is at risk). The three
numbers change together: a new target comes with its own thresholds, so a
period's status always uses the setting that was in force for it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import KpiError

HIGHER, LOWER = "higher", "lower"
DIRECTIONS: tuple[str, ...] = (HIGHER, LOWER)
DIRECTION_LABELS: dict[str, str] = {HIGHER: "Higher is better", LOWER: "Lower is better"}

ON_TRACK, AT_RISK, OFF_TRACK, MISSING = "on_track", "at_risk", "off_track", "missing"
STATUSES: tuple[str, ...] = (ON_TRACK, AT_RISK, OFF_TRACK, MISSING)
STATUS_LABELS: dict[str, str] = {
    ON_TRACK: "On track",
    AT_RISK: "At risk",
    OFF_TRACK: "Off track",
    MISSING: "Missing",
}
# What needs a consultant's eye: counted as a client's red KPIs.
RED_STATUSES: tuple[str, ...] = (OFF_TRACK, MISSING)


def check_direction(direction: str) -> str:
    if direction not in DIRECTIONS:
        raise KpiError(f"Unknown direction {direction!r}: choose higher or lower")
    return direction


@dataclass(frozen=True)
class Thresholds:
    direction: str
    target: float
    amber: float
    red: float

    def better(self, a: float, b: float) -> bool:
        """Whether `a` is strictly better than `b` for this direction."""
        return a > b if self.direction == HIGHER else a < b

    def status_of(self, value: float) -> str:
        if self.better(self.red, value):
            return OFF_TRACK
        if self.better(self.amber, value):
            return AT_RISK
        return ON_TRACK


def check_thresholds(
    direction: str,
    target: float,
    amber: float,
    red: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    never_zero_target: bool = False,
) -> Thresholds:
    """The setting, or a KpiError naming every inconsistency."""
    check_direction(direction)
    problems = []
    for name, value in (("target", target), ("amber threshold", amber), ("red threshold", red)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
            raise KpiError(f"The {name} must be a number")
        if minimum is not None and value < minimum:
            problems.append(f"the {name} {value:g} is below the lowest possible value {minimum:g}")
        if maximum is not None and value > maximum:
            problems.append(f"the {name} {value:g} is above the highest possible value {maximum:g}")
    if direction == HIGHER and not target >= amber >= red:
        problems.append("higher is better, so the target must be at least the amber threshold, and amber at least red")
    if direction == LOWER and not target <= amber <= red:
        problems.append("lower is better, so the target must be at most the amber threshold, and amber at most red")
    if never_zero_target and target == 0:
        problems.append("this KPI never has a zero target: an empty log means nobody is looking")
    if problems:
        message = "; ".join(problems)
        raise KpiError(message[0].upper() + message[1:])
    return Thresholds(direction, float(target), float(amber), float(red))
