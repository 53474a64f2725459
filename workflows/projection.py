"""When the client will be ready at its own pace, beside the plan's target date.

The pace is the number of readiness items (required tasks done, required
documents approved, major findings closed, gates approved) completed per week
over the recent weeks; what is left is the readiness items still missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

RECENT_WEEKS = 6  # long enough to smooth out a holiday week, short enough to follow a change of pace

DONE = "done"
NO_PACE = "no_pace"
ON_TRACK = "on_track"
LATE = "late"


@dataclass(frozen=True)
class Projection:
    status: str  # done / no_pace / on_track / late
    remaining: int
    pace: float  # items completed per week over the recent weeks
    weeks_measured: float
    target_on: date
    projected_on: date | None  # None when done or when nothing was completed recently
    needed_per_week: int | None  # what finishes the rest by the target date; None when done

    @property
    def weeks_late(self) -> int:
        """Whole weeks (at least 1) by which the projected date misses the target; 0 unless late."""
        if self.status != LATE or self.projected_on is None:
            return 0
        return max(1, round((self.projected_on - self.target_on).days / 7))

    @property
    def weeks_ahead(self) -> int:
        if self.status != ON_TRACK or self.projected_on is None:
            return 0
        return max(0, (self.target_on - self.projected_on).days // 7)

    @property
    def verdict(self) -> str:
        """One line for the screen: "on track", "about 6 weeks late at the current pace", …"""
        if self.status == DONE:
            return "every item is in place"
        if self.status == NO_PACE:
            weeks = _weeks(self.weeks_measured)
            return f"no pace yet: nothing was completed in the last {'week' if weeks == '1 week' else weeks}"
        if self.status == LATE:
            late = self.weeks_late
            # past half a year weeks stop meaning much, past two years months do
            if late > 104:
                return f"about {round(late * 7 / 365.25)} years late at the current pace"
            if late > 26:
                return f"about {round(late * 7 / 30.44)} months late at the current pace"
            return f"about {_weeks(late)} late at the current pace"
        ahead = self.weeks_ahead
        return f"on track, about {_weeks(ahead)} ahead" if ahead >= 1 else "on track"

    @property
    def remedy(self) -> str | None:
        """What would bring it back (or keep it on track); None when done."""
        if self.needed_per_week is None:
            return None
        return f"complete {self.needed_per_week} required item{'s' if self.needed_per_week != 1 else ''} a week"


def _weeks(n: float) -> str:
    n = round(n)
    return f"{n} week{'s' if n != 1 else ''}"


def project_certification(remaining: int, completed_on: Iterable[date], today: date, target_on: date,
                          started_on: date | None = None, recent_weeks: int = RECENT_WEEKS) -> Projection:
    """Project the date on which the last of `remaining` items is done at the recent pace.

    pace          = items completed in the last `recent_weeks` weeks (or since the start, if
                    later, but over at least one week) / those weeks
    projected_on  = today + remaining / pace weeks
    needed        = ⌈remaining / weeks left to the target⌉ (all of them when the target has
                    passed, since only finishing now meets it)
    """
    if remaining < 0:
        raise ValueError("remaining items cannot be negative")
    window_start = today - timedelta(weeks=recent_weeks)
    if started_on is not None and started_on > window_start:
        window_start = min(started_on, today - timedelta(weeks=1))
    weeks = (today - window_start).days / 7
    recent = sum(1 for d in completed_on if window_start < d <= today)
    pace = recent / weeks
    if remaining == 0:
        return Projection(DONE, 0, pace, weeks, target_on, None, None)
    days_left = (target_on - today).days
    needed = math.ceil(remaining / (days_left / 7)) if days_left >= 7 else remaining
    if pace == 0:
        return Projection(NO_PACE, remaining, 0.0, weeks, target_on, None, needed)
    projected = today + timedelta(days=math.ceil(remaining / pace * 7))
    status = LATE if projected > target_on else ON_TRACK
    return Projection(status, remaining, pace, weeks, target_on, projected, needed)
