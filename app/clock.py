"""The one clock: timezone-aware, in UTC, and controllable.

Summaries, views, jobs and the demo read the time here and nowhere else, so
"today" is the same date everywhere (server-local `date.today()` and a UTC
timestamp disagree around midnight) and a test or the demo generator can set
the time for everything at once with `frozen_at`.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

_override: ContextVar = ContextVar("isopath_clock", default=None)


def now() -> datetime:
    """The current moment, timezone-aware, in UTC."""
    fixed = _override.get()
    return fixed() if fixed is not None else datetime.now(timezone.utc)


def today(tz: str | None = None) -> date:
    """Today's date in UTC, or in the IANA time zone `tz` (a recipient's or a client's)."""
    moment = now()
    return (moment.astimezone(ZoneInfo(tz)) if tz else moment).date()


@contextmanager
def frozen_at(moment):
    """Run the block at `moment` (a timezone-aware datetime, or a callable returning one)."""
    if not callable(moment):
        if moment.tzinfo is None:
            raise ValueError("the clock keeps timezone-aware moments only")
        fixed = moment
        moment = lambda: fixed  # noqa: E731
    token = _override.set(moment)
    try:
        yield
    finally:
        _override.reset(token)
