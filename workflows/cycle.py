"""The three-year certification cycle after the certification decision (ISO/IEC 17021-1 9.1.3, 9.6).

A certificate is issued for three years from the decision. The certification body audits again:
surveillance 1 no later than 12 months after the decision, surveillance 2 in the calendar year after
surveillance 1, and recertification early enough for a new decision before the certificate expires. A
surveillance audit missed or held late puts the certificate at risk of suspension; an expired certificate
cannot be recertified, only certified again from a new stage 1.

Before each external audit the client needs its own internal audit (9.2) and a management review (9.3)
held after it, so the cycle proposes both dates and the preparation that follows from them. Everything
here is plain dates in, plain dates out.
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from .errors import WorkflowError

EXTERNAL_AUDITS = ("surveillance_1", "surveillance_2", "recertification")
AUDIT_LABELS = {
    "stage_1": "Stage 1 audit",
    "stage_2": "Stage 2 audit",
    "surveillance_1": "Surveillance audit 1",
    "surveillance_2": "Surveillance audit 2",
    "recertification": "Recertification audit",
}
AUDIT_KINDS = tuple(AUDIT_LABELS)
AUDIT_RESULTS = {
    "passed": "Passed, no nonconformity",
    "minor": "Minor nonconformities",
    "major": "Major nonconformities",
    "concerns": "Areas of concern (stage 1)",
}

CERTIFICATE_YEARS = 3
# The body needs time after a recertification audit to review it and decide before expiry.
RECERTIFICATION_LEAD = timedelta(days=90)
INTERNAL_AUDIT_LEAD = timedelta(weeks=8)  # before an external audit: time to correct what it finds
MANAGEMENT_REVIEW_LEAD = timedelta(weeks=4)  # after the internal audit, before the external one
SOON = timedelta(days=60)


class CycleError(WorkflowError):
    pass


@dataclass(frozen=True)
class ResponseRules:
    """A certification body's deadlines after an audit (the consultancy may set them per body)."""

    major_days: int = 90  # major nonconformity corrected and verified
    minor_days: int = 30  # minor nonconformity: correction plan accepted
    stage_2_repeat_months: int = 6  # majors not verified by then: stage 2 is repeated


DEFAULT_RULES = ResponseRules()
RULE_LIMITS = {"major_days": (1, 365), "minor_days": (1, 365), "stage_2_repeat_months": (1, 24)}
RULE_LABELS = {"major_days": "Major: corrected and verified within (days)",
               "minor_days": "Minor: correction plan within (days)",
               "stage_2_repeat_months": "Stage 2 repeated if majors are not verified within (months)"}


def body_key(name: str | None) -> str:
    """How a certification body's name is matched: “ BSI ”, “bsi” and “B S I”? The first two are one body;
    case and runs of spaces never make a second body."""
    return " ".join((name or "").split()).casefold()


def check_rules(values: dict[str, str]) -> ResponseRules:
    """Rules typed on the consultancy's page: whole numbers within RULE_LIMITS, every error named at once."""
    out, errors = {}, []
    for name, (low, high) in RULE_LIMITS.items():
        text = (values.get(name) or "").strip()
        if not (text.isascii() and text.isdigit()) or not low <= int(text[:6]) <= high:
            errors.append(f"{RULE_LABELS[name]}: a whole number from {low} to {high}.")
        else:
            out[name] = int(text)
    if errors:
        raise CycleError(" ".join(errors), status=422)
    return ResponseRules(**out)


def stage_2_repeat_by(stage_2_on: date, rules: ResponseRules = DEFAULT_RULES) -> date:
    """After this day with majors from stage 2 still unverified, the body repeats stage 2."""
    return add_months(stage_2_on, rules.stage_2_repeat_months)


@dataclass(frozen=True)
class Stage2Repeat:
    """Majors from stage 2 the body has not yet verified, and the day after which it repeats stage 2."""
    by: date
    days_left: int  # negative once the day has passed
    majors: int

    @property
    def text(self) -> str:
        majors = f"{self.majors} major nonconformit{'y' if self.majors == 1 else 'ies'} from stage 2"
        if self.days_left < 0:
            return (f"{majors} not verified by the certification body by {self.by:%d %b %Y}: "
                    f"it repeats stage 2 unless it agrees otherwise.")
        return (f"{majors} must be verified by the certification body by {self.by:%d %b %Y} "
                f"({self.days_left} day{'s' if self.days_left != 1 else ''} left), or it repeats stage 2.")


def stage_2_repeat_risk(stage_2_held_on: date | None, unverified_majors: int, certified: bool, today: date,
                        rules: ResponseRules = DEFAULT_RULES) -> Stage2Repeat | None:
    """The warning a client at risk of a repeated stage 2 gets: stage 2 held, majors from it the body has not
    verified, no certificate yet; None otherwise."""
    if stage_2_held_on is None or unverified_majors <= 0 or certified:
        return None
    by = stage_2_repeat_by(stage_2_held_on, rules)
    return Stage2Repeat(by, (by - today).days, unverified_majors)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day where it has no such day (31 Jan → 28 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def certificate_expiry(decided_on: date) -> date:
    """The last day of a certificate decided on `decided_on`: the day before its third anniversary (a
    decision on 29 February expires on 27 February, the day before the anniversary that year has)."""
    return add_months(decided_on, 12 * CERTIFICATE_YEARS) - timedelta(days=1)


def response_deadline(audit_on: date, grade: str, rules: ResponseRules = DEFAULT_RULES) -> date:
    """When the body expects the answer to a finding of `grade` raised at an audit on `audit_on`."""
    if grade == "major":
        return audit_on + timedelta(days=rules.major_days)
    if grade == "minor":
        return audit_on + timedelta(days=rules.minor_days)
    raise CycleError(f"Only major and minor nonconformities have a response deadline, not {grade!r}.")


@dataclass(frozen=True)
class CycleAudit:
    kind: str
    due_by: date  # the latest date the body may hold it
    earliest: date | None  # not before (surveillance 2 belongs to its calendar year)
    planned_on: date | None
    held_on: date | None
    status: str  # held, held_late, planned, due, overdue
    internal_audit_by: date  # proposed: the client's internal audit before it
    management_review_by: date  # proposed: the management review after that audit, before this one

    @property
    def label(self) -> str:
        return AUDIT_LABELS[self.kind]

    @property
    def target(self) -> date:
        """The date the preparation works back from: the planned date, else the latest allowed."""
        return self.planned_on or self.due_by


@dataclass(frozen=True)
class Cycle:
    decided_on: date
    expires_on: date
    audits: list[CycleAudit]
    status: str  # valid, at_risk (an audit overdue or held late), expired

    @property
    def next_audit(self) -> CycleAudit | None:
        return next((a for a in self.audits if a.held_on is None), None)


def _status(due_by: date, planned_on: date | None, held_on: date | None, today: date) -> str:
    if held_on is not None:
        return "held_late" if held_on > due_by else "held"
    if today > due_by:
        return "overdue"
    return "planned" if planned_on is not None else "due"


def _audit(kind: str, due_by: date, earliest: date | None, planned: dict, held: dict, today: date) -> CycleAudit:
    planned_on, held_on = planned.get(kind), held.get(kind)
    target = planned_on or due_by
    return CycleAudit(kind, due_by, earliest, planned_on, held_on, _status(due_by, planned_on, held_on, today),
                      internal_audit_by=target - INTERNAL_AUDIT_LEAD, management_review_by=target - MANAGEMENT_REVIEW_LEAD)


def check_audit_dates(kind: str, planned_on: date | None, held_on: date | None, today: date,
                      decided_on: date | None = None) -> None:
    """Dates a person typed for an audit: not held in the future, a cycle audit not before the decision."""
    if kind not in AUDIT_LABELS:
        raise CycleError(f"There is no audit called {kind!r}.", status=404)
    if held_on is not None and held_on > today:
        raise CycleError("An audit cannot have been held in the future: leave “held on” empty and set the "
                         "planned date instead.", status=422)
    if kind in EXTERNAL_AUDITS:
        if decided_on is None:
            raise CycleError("Surveillance and recertification audits follow the certification decision: record "
                             "the decision first.", status=409)
        for day in (planned_on, held_on):
            if day is not None and day <= decided_on:
                raise CycleError(f"{AUDIT_LABELS[kind]} comes after the certification decision of "
                                 f"{decided_on.isoformat()}.", status=422)


def cycle(decided_on: date, today: date, planned: dict[str, date] | None = None,
          held: dict[str, date] | None = None, expires_on: date | None = None) -> Cycle:
    """The cycle of a certificate decided on `decided_on`, with what is planned and held so far (by kind).

    Surveillance 2's window follows surveillance 1 as it happened: held late in the next year, surveillance 2
    moves to the year after that, never two surveillance audits in one calendar year.
    """
    planned, held = planned or {}, held or {}
    expires_on = expires_on or certificate_expiry(decided_on)
    s1_due = add_months(decided_on, 12)
    s1_year = (held.get("surveillance_1") or planned.get("surveillance_1") or s1_due).year
    s2_earliest = date(s1_year + 1, 1, 1)
    s2_due = min(date(s1_year + 1, 12, 31), expires_on - RECERTIFICATION_LEAD)
    audits = [
        _audit("surveillance_1", s1_due, None, planned, held, today),
        _audit("surveillance_2", s2_due, s2_earliest, planned, held, today),
        _audit("recertification", expires_on - RECERTIFICATION_LEAD, None, planned, held, today),
    ]
    if today > expires_on and held.get("recertification") is None:
        status = "expired"
    elif any(a.status in ("overdue", "held_late") for a in audits):
        status = "at_risk"
    else:
        status = "valid"
    return Cycle(decided_on, expires_on, audits, status)


@dataclass(frozen=True)
class Preparation:
    title: str
    due_on: date
    clause: str


def preparation(audit: CycleAudit) -> list[Preparation]:
    """What the client does before an external audit, latest dates worked back from it."""
    target = audit.target
    return [
        Preparation(f"Run the internal audit before the {audit.label.lower()}", audit.internal_audit_by, "9.2"),
        Preparation("Close or plan corrective action for the internal audit's findings",
                    audit.management_review_by - timedelta(days=7), "10.2"),
        Preparation(f"Hold the management review before the {audit.label.lower()}", audit.management_review_by, "9.3"),
        Preparation("Send the certification body changes to scope, sites, headcount and key documents",
                    target - timedelta(weeks=2), "4.3"),
        Preparation("Check last audit's nonconformities are closed and their effectiveness verified",
                    target - timedelta(weeks=1), "10.2"),
    ]


def countdown(due: date, today: date) -> str:
    """“in 12 days”, “today”, “3 days overdue”."""
    days = (due - today).days
    if days > 1:
        return f"in {days} days"
    if days == 1:
        return "tomorrow"
    if days == 0:
        return "today"
    return f"{-days} day{'s' if days != -1 else ''} overdue"
