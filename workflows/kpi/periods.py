"""Measurement periods, keyed the way people write them: ``2026-03`` (month),
``2026-Q1`` (quarter), ``2026-W14`` (ISO week) and ``2026`` (year).

A measurement is unique per KPI and period key, so a period is never skipped
or counted twice however dates fall: every sequence below steps period by
period, never by adding days to a date. Weeks are ISO 8601 weeks (Monday
first, week 1 holds the year's first Thursday), so some years have 53.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ..errors import KpiError

WEEKLY, MONTHLY, QUARTERLY, YEARLY = "weekly", "monthly", "quarterly", "yearly"
FREQUENCIES: tuple[str, ...] = (WEEKLY, MONTHLY, QUARTERLY, YEARLY)
FREQUENCY_LABELS: dict[str, str] = {WEEKLY: "Weekly", MONTHLY: "Monthly", QUARTERLY: "Quarterly", YEARLY: "Yearly"}

# A sequence longer than this is a typo in a year, not a plan (10 years of weeks fit).
MAX_SEQUENCE = 600

_PATTERNS = (
    (re.compile(r"^(\d{4})-W(\d{2})$"), WEEKLY),
    (re.compile(r"^(\d{4})-Q([1-4])$"), QUARTERLY),
    (re.compile(r"^(\d{4})-(\d{2})$"), MONTHLY),
    (re.compile(r"^(\d{4})$"), YEARLY),
)
_MIN_YEAR, _MAX_YEAR = 1900, 2999


def weeks_in_year(year: int) -> int:
    """52 or 53: 28 December always falls in a year's last ISO week."""
    return date(year, 12, 28).isocalendar()[1]


def _count(frequency: str, year: int) -> int:
    return {WEEKLY: weeks_in_year(year), MONTHLY: 12, QUARTERLY: 4, YEARLY: 1}[frequency]


def check_frequency(frequency: str) -> str:
    if frequency not in FREQUENCIES:
        raise KpiError(f"Unknown frequency {frequency!r}: choose one of {', '.join(FREQUENCIES)}")
    return frequency


@dataclass(frozen=True, order=True)
class Period:
    """One period of one frequency; `index` is the week, month or quarter
    number (1 for a year). Periods of one frequency sort in time order."""

    frequency: str
    year: int
    index: int = 1

    def __post_init__(self) -> None:
        check_frequency(self.frequency)
        if not _MIN_YEAR <= self.year <= _MAX_YEAR:
            raise KpiError(f"Year {self.year} is out of range")
        if not 1 <= self.index <= _count(self.frequency, self.year):
            raise KpiError(f"{self.year} has no {self.frequency[:-2]} {self.index}")

    @property
    def key(self) -> str:
        if self.frequency == WEEKLY:
            return f"{self.year}-W{self.index:02d}"
        if self.frequency == MONTHLY:
            return f"{self.year}-{self.index:02d}"
        if self.frequency == QUARTERLY:
            return f"{self.year}-Q{self.index}"
        return f"{self.year}"

    def __str__(self) -> str:
        return self.key

    @property
    def label(self) -> str:
        """How a screen names it: "Mar 2026", "Q1 2026", "Week 14, 2026", "2026"."""
        if self.frequency == MONTHLY:
            return f"{self.start:%b} {self.year}"
        if self.frequency == QUARTERLY:
            return f"Q{self.index} {self.year}"
        if self.frequency == WEEKLY:
            return f"Week {self.index}, {self.year}"
        return str(self.year)

    @property
    def start(self) -> date:
        if self.frequency == WEEKLY:
            return date.fromisocalendar(self.year, self.index, 1)
        if self.frequency == MONTHLY:
            return date(self.year, self.index, 1)
        if self.frequency == QUARTERLY:
            return date(self.year, 3 * self.index - 2, 1)
        return date(self.year, 1, 1)

    @property
    def end(self) -> date:
        """The period's last day (inclusive)."""
        return self.next().start - timedelta(days=1)

    def next(self) -> Period:
        if self.index < _count(self.frequency, self.year):
            return Period(self.frequency, self.year, self.index + 1)
        return Period(self.frequency, self.year + 1, 1)

    def previous(self) -> Period:
        if self.index > 1:
            return Period(self.frequency, self.year, self.index - 1)
        return Period(self.frequency, self.year - 1, _count(self.frequency, self.year - 1))

    def is_future(self, today: date) -> bool:
        """Not begun yet on `today`: nothing can have been measured in it."""
        return self.start > today

    def is_over(self, today: date) -> bool:
        return self.end < today

    def due_date(self, grace_days: int) -> date:
        """The last day a value may arrive before the period counts as missing."""
        return self.end + timedelta(days=grace_days)


def parse_period(key: str, frequency: str | None = None) -> Period:
    """A period from its key; with `frequency`, the key must be of it."""
    text = (key or "").strip().upper()
    for pattern, freq in _PATTERNS:
        m = pattern.match(text)
        if m:
            year = int(m.group(1))
            index = int(m.group(2)) if m.lastindex and m.lastindex > 1 else 1
            period = Period(freq, year, index)
            if frequency is not None and freq != check_frequency(frequency):
                raise KpiError(
                    f"{period.key} is a {FREQUENCY_LABELS[freq].lower()} period; "
                    f"this KPI is measured {FREQUENCY_LABELS[frequency].lower()}"
                )
            return period
    raise KpiError(f"{key!r} is not a period: write 2026-03, 2026-Q1, 2026-W14 or 2026")


def period_containing(day: date, frequency: str) -> Period:
    check_frequency(frequency)
    if frequency == WEEKLY:
        iso = day.isocalendar()
        return Period(WEEKLY, iso[0], iso[1])
    if frequency == MONTHLY:
        return Period(MONTHLY, day.year, day.month)
    if frequency == QUARTERLY:
        return Period(QUARTERLY, day.year, (day.month - 1) // 3 + 1)
    return Period(YEARLY, day.year)


def periods_between(first: Period, last: Period) -> list[Period]:
    """Every period from `first` to `last`, both included, in order; empty
    when `last` comes before `first`."""
    if first.frequency != last.frequency:
        raise KpiError(f"{first.key} and {last.key} are periods of different frequencies")
    periods: list[Period] = []
    current = first
    while current <= last:
        if len(periods) >= MAX_SEQUENCE:
            raise KpiError(f"{first.key} to {last.key} spans more than {MAX_SEQUENCE} periods")
        periods.append(current)
        current = current.next()
    return periods
