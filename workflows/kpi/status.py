"""What a KPI's measurements say: the status of each period against the
target in force for it, the trend over the last three periods, and the KPI's
current position (its latest due period, missing periods, the next one due).

A period without a value is *missing* once it is over and its grace days have
passed; before that it is simply not due yet (status None).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from .periods import Period, period_containing, periods_between
from .targets import TargetSetting, ordered, target_for
from .thresholds import MISSING, RED_STATUSES

IMPROVING, WORSENING, STEADY = "improving", "worsening", "steady"
TREND_LABELS: dict[str, str] = {IMPROVING: "Improving", WORSENING: "Worsening", STEADY: "Steady"}
TREND_WINDOW = 3
STEADY_SHARE = 0.01  # a change under 1 % of the value is noise, not a trend
DEFAULT_GRACE_DAYS = 10


def period_status(
    period: Period,
    value: float | None,
    history: Iterable[TargetSetting],
    today: date,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> str | None:
    """on_track / at_risk / off_track against the setting in force, missing,
    or None (no value yet and not yet due, or no target at all)."""
    if value is None:
        return MISSING if period.due_date(grace_days) < today else None
    setting = target_for(history, period)
    return setting.thresholds.status_of(value) if setting else None


def trend(values: list[float | None], direction: str) -> str | None:
    """Over the last three periods (oldest first; a missing value breaks the
    window): the least-squares slope of three evenly spaced points is half the
    change from the first to the last, so its sign is the trend — improving
    or worsening for the KPI's direction, steady when the change is under
    STEADY_SHARE of the larger value. None when fewer than three periods have
    values."""
    window = values[-TREND_WINDOW:]
    if len(window) < TREND_WINDOW or any(v is None for v in window):
        return None
    change = window[-1] - window[0]
    if abs(change) < STEADY_SHARE * max(abs(window[0]), abs(window[-1]), 1.0):
        return STEADY
    return IMPROVING if (change > 0) == (direction == "higher") else WORSENING


@dataclass(frozen=True)
class PeriodResult:
    period: Period
    value: float | None
    setting: TargetSetting | None
    status: str | None


@dataclass(frozen=True)
class KpiPosition:
    """A KPI as its list row and detail page show it."""

    periods: tuple[PeriodResult, ...]  # first measured period .. the current one
    latest: PeriodResult | None  # latest period that has a value or is missing
    missing: tuple[Period, ...]
    next_due: Period
    next_due_date: date
    trend: str | None

    @property
    def status(self) -> str | None:
        return self.latest.status if self.latest else None

    @property
    def is_red(self) -> bool:
        return self.status in RED_STATUSES

    @property
    def latest_value(self) -> PeriodResult | None:
        return next((r for r in reversed(self.periods) if r.value is not None), None)


def kpi_position(
    frequency: str,
    direction: str,
    values: Mapping[Period, float],
    history: Iterable[TargetSetting],
    today: date,
    *,
    first_period: Period | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> KpiPosition:
    """Every period from the first measured (or `first_period`, the KPI's start,
    if earlier) up to the one containing today, judged; no period skipped."""
    settings = ordered(history)
    current = period_containing(today, frequency)
    starts = [p for p in values if p <= current] + ([first_period] if first_period else [])
    first = min(starts) if starts else current
    results = [
        PeriodResult(p, values.get(p), target_for(settings, p), period_status(p, values.get(p), settings, today, grace_days))
        for p in periods_between(first, current)
    ]
    judged = [r for r in results if r.value is not None or r.status == MISSING]
    after = current.next()
    not_due = [r.period for r in results if r.value is None and r.status != MISSING]
    next_due = not_due[0] if not_due else after
    return KpiPosition(
        periods=tuple(results),
        latest=judged[-1] if judged else None,
        missing=tuple(r.period for r in results if r.status == MISSING),
        next_due=next_due,
        next_due_date=next_due.due_date(grace_days),
        trend=trend([r.value for r in (judged or [])], direction) if judged else None,
    )
