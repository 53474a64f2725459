"""Target history: a KPI's targets are never overwritten.

Each change is a new setting (target with its thresholds) effective from a
period, with a reason. The setting in force for a period is the latest change
effective on or before it. The KPI's first setting applies from the beginning,
whatever period it was recorded for, so values imported from before the KPI
was set up are judged against the target it started with, and a change dated
back before that still ends the first target where it says. Two changes
effective from the same period: the one recorded later wins, the earlier
stays in the history.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import KpiError
from .periods import Period
from .thresholds import Thresholds

MAX_REASON = 500


@dataclass(frozen=True)
class TargetSetting:
    effective_from: Period
    thresholds: Thresholds
    reason: str = ""
    # Order of recording (an id or a timestamp): breaks ties on one period.
    sequence: int = 0

    @property
    def target(self) -> float:
        return self.thresholds.target


def check_target_change(
    history: Iterable[TargetSetting], effective_from: Period, reason: str, *, frequency: str
) -> str:
    """The cleaned reason for a change, or a KpiError: a change needs a reason,
    and its period must be of the KPI's frequency."""
    if effective_from.frequency != frequency:
        raise KpiError(f"{effective_from.key} is not a {frequency} period")
    reason = (reason or "").strip()
    if not reason and any(True for _ in history):
        raise KpiError("Say why the target changes: the reason is kept with the history")
    if len(reason) > MAX_REASON:
        raise KpiError(f"The reason is too long (at most {MAX_REASON} characters)")
    return reason


def ordered(history: Iterable[TargetSetting]) -> list[TargetSetting]:
    return sorted(history, key=lambda s: (s.effective_from, s.sequence))


def target_for(history: Iterable[TargetSetting], period: Period) -> TargetSetting | None:
    """The setting in force for `period`; None only when there is none at all."""
    settings = list(history)
    if not settings:
        return None
    first = min(settings, key=lambda s: s.sequence)
    in_force = first
    for setting in ordered(s for s in settings if s is not first):
        if setting.effective_from <= period:
            in_force = setting
    return in_force


def target_steps(history: Iterable[TargetSetting], periods: list[Period]) -> list[TargetSetting | None]:
    """The setting in force for each of `periods` (a chart's target line)."""
    settings = ordered(history)
    return [target_for(settings, p) for p in periods]
