"""What ISOpath tells whom, and when: the kinds of message, the due/overdue ladder, working days, the
idempotency key of each message and the local time a digest goes out.

Plain Python (no Flask, no SQLAlchemy) so the sweep, the event hooks and the tests share one set of rules.
A new kind of message is one entry in `KINDS` (a new source of due dates, one in `due_dates.SOURCES`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from . import due_dates
from .errors import INVALID_INPUT, WorkflowError
from .message_kinds import (ASSIGNEE, CLIENT_ADMINS, CONSULTANTS, REQUESTER_AND_ADMINS, TOP_MANAGEMENT, USER,  # noqa: F401
                            Kind)

IMMEDIATELY, DIGEST, OFF = "immediately", "digest", "off"
DELIVERIES = (IMMEDIATELY, DIGEST, OFF)
DELIVERY_LABELS = {IMMEDIATELY: "At once", DIGEST: "In my daily digest", OFF: "Off"}

KINDS = [
    Kind("gate_review_requested", "A gate review is requested", False, CONSULTANTS,
         "{client}: gate review requested for {stage}",
         "{actor} asked you to review the {stage} gate of {client}."),
    Kind("gate_approved", "A gate is approved", True, REQUESTER_AND_ADMINS,
         "{client}: the {stage} gate is approved",
         "{actor} approved the {stage} gate of {client}."),
    Kind("gate_sent_back", "A gate is sent back", True, REQUESTER_AND_ADMINS,
         "{client}: the {stage} gate was sent back",
         "{actor} sent the {stage} gate of {client} back: {reasons}"),
    Kind("task_assigned", "A task is assigned to me", False, ASSIGNEE,
         "{client}: task assigned to you: {title}",
         "{actor} assigned you the task “{title}” at {client}."),
    Kind("task_comment", "Someone comments on my task", False, ASSIGNEE,
         "{client}: {actor} commented on “{title}”",
         "{actor} commented on your task “{title}” at {client}: {excerpt}"),
    Kind("document_waiting", "A document waits for my approval", False, CONSULTANTS,
         "{client}: “{title}” waits for your approval",
         "{actor} put “{title}” of {client} in review: it waits for your approval."),
    Kind("finding_raised", "A finding is raised at my client", False, CLIENT_ADMINS,
         "{client}: {severity} finding raised: {title}",
         "{actor} raised a {severity} finding at {client}: “{title}”{clause}."),
    *due_dates.MESSAGE_KINDS,  # the due-soon and overdue messages of every source of due dates
    Kind("task_escalated", "A task at my client is long overdue", True, CLIENT_ADMINS,
         "{client}: “{title}” is {days} days overdue — certification at risk",
         "“{title}” at {client} is {days} days overdue; left undone, it holds up the gate and the "
         "certification audit."),
    Kind("gate_waiting", "A gate review is waiting for me", False, CONSULTANTS,
         "{client}: the {stage} gate has waited {days} working days",
         "The {stage} gate review of {client} has waited {days} working days for you."),
    Kind("morning_brief", "My morning brief", False, USER,
         "Your morning brief: {count} clients need you",
         "{count} of your clients need you today.", is_digest=True),
    Kind("daily_digest", "My daily digest", False, USER,
         "Your ISOpath digest: {updates}",
         "What happened since your last digest: {updates}.", is_digest=True),
    Kind("weekly_digest", "The weekly digest of my client", False, CLIENT_ADMINS,
         "{client}: your week in ISOpath",
         "Where {client} stands this week.", is_digest=True),
    Kind("invitation", "Invitations", True, USER, "{client}: you are invited", "You are invited."),
    Kind("password_reset", "Password resets", True, USER, "Reset your password", "Reset your password."),
]
KIND_BY_KEY = {k.key: k for k in KINDS}
# Kinds the preferences page offers; invitations and resets go to addresses without preferences.
PREFERENCE_KINDS = [k for k in KINDS if k.key not in ("invitation", "password_reset")]


def kind(key: str) -> Kind:
    try:
        return KIND_BY_KEY[key]
    except KeyError:
        raise WorkflowError(f"There is no kind of message “{key}”.", status=INVALID_INPUT) from None


def delivery(kind_key: str, chosen: str | None) -> str:
    """How a kind reaches a person: their choice, at once when they made none; a mandatory kind is never off."""
    k = kind(kind_key)
    if chosen not in DELIVERIES:
        chosen = IMMEDIATELY
    if k.mandatory and chosen == OFF or k.is_digest and chosen == DIGEST:
        return IMMEDIATELY
    return chosen


def choices(kind_key: str) -> tuple[str, ...]:
    """What the preferences page offers for a kind: a digest goes at once or not at all."""
    return (IMMEDIATELY, OFF) if kind(kind_key).is_digest else DELIVERIES


def check_preference(kind_key: str, chosen: str) -> None:
    k = kind(kind_key)
    if chosen not in choices(kind_key):
        raise WorkflowError(f"Choose one of: {', '.join(DELIVERY_LABELS[c] for c in choices(kind_key))}.",
                            status=INVALID_INPUT)
    if k.mandatory and chosen == OFF:
        raise WorkflowError(f"“{k.label}” can't be turned off: it decides what happens to the project.",
                            status=INVALID_INPUT)


def excerpt(text: str, limit: int = 140) -> str:
    """The start of a comment, on one line, for a mail's first line."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def wording(kind_key: str, **fields) -> tuple[str, str]:
    """(subject, first line) of a message of this kind."""
    k = kind(kind_key)
    return k.subject.format(**fields), k.wording.format(**fields)


# ---- working days -------------------------------------------------------------------------------------
WEEKEND = (5, 6)  # Saturday, Sunday


def is_working_day(day: date, weekend: tuple[int, ...] = WEEKEND) -> bool:
    return day.weekday() not in weekend


def working_days_between(start: date, end: date, weekend: tuple[int, ...] = WEEKEND) -> int:
    """Working days after `start` up to and including `end` (a request on Friday has waited 1 on Monday)."""
    if end <= start:
        return 0
    full_weeks, rest = divmod((end - start).days, 7)
    count = full_weeks * (7 - len(weekend))
    for i in range(1, rest + 1):
        if is_working_day(start + timedelta(days=full_weeks * 7 + i), weekend):
            count += 1
    return count


def add_working_days(start: date, days: int, weekend: tuple[int, ...] = WEEKEND) -> date:
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_working_day(day, weekend):
            days -= 1
    return day


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def weekend_of(working_days: str | None) -> tuple[int, ...]:
    """A client's days off from its working days as stored ("01234": Monday to Friday; None: the default)."""
    if not working_days:
        return WEEKEND
    return tuple(d for d in range(7) if str(d) not in working_days)


def parse_working_days(chosen: list[str]) -> str:
    """The stored form of the weekdays ticked on a form (each "0" … "6"); at least one."""
    days = sorted({c for c in chosen if c in {str(d) for d in range(7)}})
    if len(days) != len(set(chosen)) or not days:
        raise WorkflowError("Tick at least one working day.", status=INVALID_INPUT)
    return "".join(days)


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    """The IANA time zones a person, client or consultancy may choose, by name."""
    return tuple(sorted(available_timezones() - {"localtime", "Factory"}))


def check_time_zone(zone: str | None) -> str | None:
    """A time zone as chosen on a form ("" or None: the default); refused unless it is one of `time_zones`."""
    zone = (zone or "").strip()
    if not zone:
        return None
    if zone not in time_zones():
        raise WorkflowError("Choose a time zone from the list.", status=INVALID_INPUT)
    return zone


def working_days_label(working_days: str | None) -> str:
    days = working_days or "01234"
    if days == "01234":
        return "Monday to Friday"
    return ", ".join(WEEKDAY_NAMES[int(d)] for d in days)


# ---- the due / overdue ladder ------------------------------------------------------------------------
LEAD_DAYS = (7, 1)  # reminders before the due date
MAX_LEAD_DAYS, MAX_RUNGS = 60, 4


def lead_days_of(stored: str | None) -> tuple[int, ...]:
    """A consultancy's lead days as stored ("14,7,1"; None or unreadable: the standard 7 and 1)."""
    try:
        return parse_lead_days(stored) if stored else LEAD_DAYS
    except WorkflowError:
        return LEAD_DAYS


def parse_lead_days(typed: str) -> tuple[int, ...]:
    """ "14, 7, 1" → (14, 7, 1): one to four whole numbers of days, 0 (the due day) to 60, each once."""
    parts = [p.strip() for p in (typed or "").replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise WorkflowError("Give at least one number of days, e.g. “7, 1”.", status=INVALID_INPUT)
    if not all(p.isdigit() for p in parts):
        raise WorkflowError("Give whole numbers of days separated by commas, e.g. “7, 1”.", status=INVALID_INPUT)
    days = [int(p) for p in parts]
    if len(days) > MAX_RUNGS or len(set(days)) != len(days):
        raise WorkflowError(f"Give up to {MAX_RUNGS} different numbers of days.", status=INVALID_INPUT)
    if any(d > MAX_LEAD_DAYS for d in days):
        raise WorkflowError(f"Reminders go at most {MAX_LEAD_DAYS} days before the due date.", status=INVALID_INPUT)
    return tuple(sorted(days, reverse=True))


def format_lead_days(days: tuple[int, ...]) -> str:
    return ",".join(str(d) for d in days)
OVERDUE_EVERY = 7  # overdue: the day after, then weekly, not daily
ESCALATE_AFTER = 14  # days overdue before the client admin hears of it
GATE_WAIT_WORKING_DAYS = 2  # a gate review waiting longer than this reminds its consultants


@dataclass(frozen=True)
class Step:
    kind: str  # task_due, task_overdue or task_escalated
    window: str  # part of the idempotency key: d7, d1, o1, o2, …, e1, e2, …
    days: int  # days left (task_due) or days overdue


def due_steps(due_on: date, today: date, lead_days: tuple[int, ...] = LEAD_DAYS,
              weekend: tuple[int, ...] = WEEKEND) -> list[Step]:
    """The messages an item due on `due_on` calls for today: at most one to its owner, one escalation.

    Each rung of the ladder has a date; today's message is the latest rung already reached. A rung that
    fell on a weekend (or a sweep that was lost) is therefore sent on the next working day, once, since
    its window is in the key. Nothing on weekends.
    """
    if not is_working_day(today, weekend):
        return []
    left = (due_on - today).days
    steps = []
    if left >= 0:
        reached = [d for d in sorted(lead_days) if left <= d]
        if reached:
            steps.append(Step("task_due", f"d{reached[0]}", left))
        return steps
    overdue = -left
    steps.append(Step("task_overdue", f"o{(overdue - 1) // OVERDUE_EVERY + 1}", overdue))
    if overdue >= ESCALATE_AFTER:
        steps.append(Step("task_escalated", f"e{(overdue - ESCALATE_AFTER) // OVERDUE_EVERY + 1}", overdue))
    return steps


def when_due(days_left: int) -> str:
    return "today" if days_left == 0 else "tomorrow" if days_left == 1 else f"in {days_left} days"


def gate_wait_step(requested_on: date, today: date, weekend: tuple[int, ...] = WEEKEND) -> Step | None:
    """A gate review waiting more than two working days reminds its consultants, then every working week."""
    if not is_working_day(today, weekend):
        return None
    waited = working_days_between(requested_on, today, weekend)
    if waited <= GATE_WAIT_WORKING_DAYS:
        return None
    return Step("gate_waiting", f"w{(waited - GATE_WAIT_WORKING_DAYS - 1) // 5 + 1}", waited)


# ---- exactly once --------------------------------------------------------------------------------------
def idempotency_key(kind_key: str, obj: str, window: str, recipient_id: int) -> str:
    """One message: its kind, the object (e.g. ``c12/task/7``), the due window or period, the recipient."""
    kind(kind_key)
    for part in (obj, window):
        if not part or ":" in part:
            raise WorkflowError(f"“{part}” can't be part of a message key.", status=INVALID_INPUT)
    key = f"{kind_key}:{obj}:{window}:{recipient_id}"
    if len(key) > 255:
        raise WorkflowError("A message key is at most 255 characters.", status=INVALID_INPUT)
    return key


# ---- when a digest goes out ----------------------------------------------------------------------------
DIGEST_HOUR = 7
DIGEST_WINDOW_MINUTES = 90
QUIET_START, QUIET_END = time(1, 0), time(3, 0)  # daylight saving skips or doubles these hours


def _offset_seconds(recipient: str, window_minutes: int) -> int:
    digest = hashlib.sha256(recipient.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (window_minutes * 60)


def digest_send_at(day: date, tz: str, recipient: str, hour: int = DIGEST_HOUR,
                   window_minutes: int = DIGEST_WINDOW_MINUTES) -> datetime:
    """The UTC moment the digest of local `day` goes out to `recipient`: the local morning hour plus a
    deterministic offset within the window (never every mail at 07:00:00), never between 01:00 and 03:00.
    """
    if not 0 < window_minutes <= 180:
        raise WorkflowError("The sending window is 1 to 180 minutes.", status=INVALID_INPUT)
    start = datetime.combine(day, time(hour))
    end = start + timedelta(minutes=window_minutes)
    quiet = (datetime.combine(day, QUIET_START), datetime.combine(day, QUIET_END))
    if start < quiet[1] and end > quiet[0] or end.date() != day:
        raise WorkflowError("Digests are not sent between 01:00 and 03:00 or past midnight.",
                            status=INVALID_INPUT)
    wall = start + timedelta(seconds=_offset_seconds(recipient, window_minutes))
    zone = ZoneInfo(tz)
    # Wall-clock time first, then to UTC: a digest at 07:40 local stays at 07:40 on a daylight-saving day.
    # fold=0 takes the first of a doubled hour; a skipped hour maps forward, so each day has one moment.
    return wall.replace(tzinfo=zone).astimezone(timezone.utc)


def digest_due(moment: datetime, tz: str, recipient: str, hour: int = DIGEST_HOUR,
               window_minutes: int = DIGEST_WINDOW_MINUTES) -> date | None:
    """The local day whose digest is due for `recipient` at UTC `moment` (its send time has passed), or None.
    The day is the period in the digest's idempotency key: two sweeps on one day send one digest."""
    local_day = moment.astimezone(ZoneInfo(tz)).date()
    if moment >= digest_send_at(local_day, tz, recipient, hour, window_minutes):
        return local_day
    return None


# ---- the consultant's morning brief --------------------------------------------------------------------
STALE_AFTER_DAYS = 21  # "no activity for three weeks"


@dataclass(frozen=True)
class BriefClient:
    name: str
    slug: str
    gates_waiting: int = 0
    overdue_tasks: int = 0
    red_kpis: int = 0
    missing_kpis: int = 0
    days_quiet: int | None = None  # days since the last activity (or since the client began); None: unknown
    overdue_dates: int = 0  # overdue for them of the other sources of due dates (reviews, audits, deadlines)


@dataclass(frozen=True)
class BriefRow:
    client: BriefClient
    reasons: tuple[str, ...]
    score: int


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def brief_rows(clients: list[BriefClient]) -> list[BriefRow]:
    """The clients that need their consultant, most urgent first; those with nothing to say are left out."""
    rows = []
    for c in clients:
        reasons, score = [], 0
        if c.gates_waiting:
            reasons.append(_plural(c.gates_waiting, "gate review waiting for you", "gate reviews waiting for you"))
            score += 1000 * c.gates_waiting
        if c.overdue_tasks:
            reasons.append(_plural(c.overdue_tasks, "overdue task", "overdue tasks"))
            score += 100 + 10 * c.overdue_tasks
        if c.overdue_dates:
            reasons.append(_plural(c.overdue_dates, "other deadline overdue", "other deadlines overdue"))
            score += 100 + 10 * c.overdue_dates
        if c.red_kpis:
            reasons.append(_plural(c.red_kpis, "KPI in the red", "KPIs in the red"))
            score += 50 + 5 * c.red_kpis
        if c.missing_kpis:
            reasons.append(_plural(c.missing_kpis, "KPI measurement missing", "KPI measurements missing"))
            score += 20 + 2 * c.missing_kpis
        if c.days_quiet is not None and c.days_quiet >= STALE_AFTER_DAYS:
            reasons.append(f"no activity for {c.days_quiet} days")
            score += 10
        if reasons:
            rows.append(BriefRow(c, tuple(reasons), score))
    return sorted(rows, key=lambda r: (-r.score, r.client.name.lower(), r.client.slug))
