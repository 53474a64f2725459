"""What a digest says: the weekly digest of a client admin, and the notices held for a daily digest.

Plain Python, like `reminders`: the sweep gathers the figures, these rules decide what is worth a mail.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from .reminders import WEEKEND, is_working_day

MAX_LINES = 10  # items named per section; the rest are counted
MAX_HELD = 50  # held notices named in one daily digest; the rest are counted, the app has them all


@dataclass(frozen=True)
class WeekAtClient:
    """A client's week as its admin sees it."""
    client: str
    stage: str  # the current stage's name
    stage_progress: int  # percent
    gate_waiting: bool  # the current stage's gate review waits for the consultant
    overdue_tasks: int
    overdue: tuple[tuple[str, date], ...] = ()  # (title, due on) of assigned overdue tasks
    due_this_week: tuple[tuple[str, date], ...] = ()  # tasks and every other source of due dates
    red_kpis: tuple[str, ...] = field(default=())
    # Overdue of the other sources of due dates (workflows/due_dates.py): reviews, audits, the body's deadlines.
    other_overdue: tuple[tuple[str, date], ...] = ()


def week_key(day: date) -> str:
    """The period of a weekly digest's key: the ISO week, e.g. 2026-W50."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_end(day: date) -> date:
    return day + timedelta(days=6 - day.weekday())


def weekly_due(day: date, weekend: tuple[int, ...] = WEEKEND) -> bool:
    """A weekly digest goes out on the first working day of its week (Monday for most clients); a sweep lost
    that morning is healed by the day's later sweeps, and the week in its key makes it once."""
    if not is_working_day(day, weekend):
        return False
    monday = day - timedelta(days=day.weekday())
    return all(not is_working_day(monday + timedelta(days=i), weekend) for i in range(day.weekday()))


def _named(items, more_than: int | None = None) -> list[str]:
    lines = [f"{title} (due {due.strftime('%-d %b')})" for title, due in items[:MAX_LINES]]
    total = more_than if more_than is not None else len(items)
    if total > len(lines):
        lines.append(f"and {total - len(lines)} more")
    return lines


def weekly_sections(week: WeekAtClient) -> list[tuple[str, list[str]]]:
    """(heading, lines) of the weekly digest; [] when there is nothing to say: nothing is sent."""
    sections = []
    if week.overdue_tasks or week.overdue:
        count = max(week.overdue_tasks, len(week.overdue))
        sections.append((f"{count} overdue task{'s' if count != 1 else ''}",
                         _named(list(week.overdue), count) or ["Not assigned to anyone yet"]))
    if week.other_overdue:
        n = len(week.other_overdue)
        sections.append((f"{n} other deadline{'s' if n != 1 else ''} overdue", _named(list(week.other_overdue))))
    if week.due_this_week:
        n = len(week.due_this_week)
        sections.append((f"{n} item{'s' if n != 1 else ''} due this week", _named(list(week.due_this_week))))
    if week.gate_waiting:
        sections.append(("Gate", [f"The {week.stage} gate review is waiting for your consultant."]))
    if week.red_kpis:
        n = len(week.red_kpis)
        sections.append((f"{n} KPI{'s' if n != 1 else ''} in the red", list(week.red_kpis[:MAX_LINES])))
    if sections and not week.gate_waiting:
        sections.append(("Gate", [f"Current stage: {week.stage}, {week.stage_progress}% done."]))
    return sections


def held_lines(held: list[tuple[str, str, str]]) -> tuple[tuple[str, str], ...]:
    """(text, link) of the notices a daily digest carries: (client, message, link), oldest first."""
    lines = tuple((message, link) for _client, message, link in held[:MAX_HELD])
    if len(held) > MAX_HELD:
        lines += ((f"and {len(held) - MAX_HELD} more in ISOpath", ""),)
    return lines
