"""Every dated piece of work a client owes: one entry per source of due dates, each a row of "My work"
(`work_items.kind`) and a due-soon and an overdue message on the reminder ladder (`reminders.due_steps`).

Plain Python. A new source of due dates is one entry in `SOURCES`; the app finds its rows
(app/workspace/operations/due_items.py) and its page (app/notify/due_links.py).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .message_kinds import ASSIGNEE, CLIENT_ADMINS, CONSULTANTS, TOP_MANAGEMENT, Kind

ITEM_KIND_MAX = 20  # work_items.kind is String(20)
# How far ahead a dated item is work already: as far as any consultancy's first reminder goes
# (reminders.MAX_LEAD_DAYS; tasks are listed whatever their date, as they always were).
HORIZON_DAYS = 60


@dataclass(frozen=True)
class DueSource:
    item_kind: str  # the work item's kind (<= 20 characters), also the object in its messages' keys
    label: str  # the group on My work
    what: str  # one item of it, in a list of late work ("document review")
    hint: str  # the group's one line on My work
    recipients: tuple[str, ...]  # ASSIGNEE: the person the item names (assignee, owner, auditor)
    unnamed: str | None  # who gets it instead when it names nobody (None: nobody, as for an unassigned task)
    due: Kind
    overdue: Kind
    escalates: bool = False  # long overdue goes to the client admins too (tasks: `task_escalated`)

    def message_kind(self, step_kind: str) -> str | None:
        """The kind of message a step of the ladder (task_due, task_overdue, task_escalated) is for this source."""
        return {"task_due": self.due.key, "task_overdue": self.overdue.key,
                "task_escalated": "task_escalated" if self.escalates else None}[step_kind]


def _source(item_kind, label, what, hint, recipients, unnamed, due, overdue, escalates=False, prefix=None) -> DueSource:
    """`due` and `overdue`: (preference label, subject, first line) of its two messages."""
    prefix = prefix or item_kind
    return DueSource(item_kind, label, what, hint, recipients, unnamed,
                     Kind(f"{prefix}_due", due[0], False, ",".join(recipients), due[1], due[2]),
                     Kind(f"{prefix}_overdue", overdue[0], False, ",".join(recipients), overdue[1], overdue[2]),
                     escalates)


SOURCES = [
    _source("task", "Tasks assigned to you", "task",
            "Open tasks of the stages your clients are working on, by due date.",
            (ASSIGNEE,), None,
            ("A task of mine is due soon", "{client}: “{title}” is due {when}",
             "Your task “{title}” at {client} is due {when}."),
            ("A task of mine is overdue", "{client}: “{title}” is overdue",
             "Your task “{title}” at {client} is {days} days overdue."), escalates=True),
    _source("document_review", "Document reviews", "document review",
            "Documents due for their periodic review (7.5.2), by due date.",
            (ASSIGNEE,), CONSULTANTS,
            ("A document I look after is due for review", "{client}: “{title}” is due for review {when}",
             "“{title}” at {client} is due for its periodic review {when}."),
            ("A document review of mine is overdue", "{client}: the review of “{title}” is overdue",
             "The periodic review of “{title}” at {client} is {days} days overdue.")),
    _source("record_due", "Records due", "record",
            "Records kept every month, quarter or year whose next instance is due (7.5.3).",
            (ASSIGNEE,), CONSULTANTS,
            ("A record I keep is due soon", "{client}: the next “{title}” is due {when}",
             "The next instance of “{title}” at {client} is due {when}."),
            ("A record I keep is overdue", "{client}: the next “{title}” is overdue",
             "The next instance of “{title}” at {client} is {days} days overdue: add it to the register.")),
    _source("effectiveness_check", "Effectiveness checks", "effectiveness check",
            "Corrective actions whose effectiveness is to be verified (10.2.1 d), by planned date.",
            (CONSULTANTS,), None,
            ("An effectiveness check is due soon", "{client}: effectiveness check due {when}: {title}",
             "The effectiveness check of “{title}” at {client} is planned {when}."),
            ("An effectiveness check is overdue", "{client}: effectiveness check overdue: {title}",
             "The effectiveness check of “{title}” at {client} is {days} days overdue; record its result.")),
    _source("internal_audit", "Internal audits", "internal audit",
            "Internal audits planned and not completed (9.2), by planned date.",
            (ASSIGNEE,), CONSULTANTS,
            ("An internal audit I conduct is coming up", "{client}: internal audit “{title}” is planned {when}",
             "The internal audit “{title}” at {client} is planned {when}."),
            ("An internal audit of mine is overdue", "{client}: internal audit “{title}” is overdue",
             "The internal audit “{title}” at {client} was planned {days} days ago and is not completed.")),
    _source("management_review", "Management reviews", "management review",
            "Management reviews open for input, and the next review due (9.3).",
            (TOP_MANAGEMENT, CONSULTANTS), None,
            ("The management review is due soon", "{client}: the management review is due {when}",
             "The next management review of {client} is due {when}."),
            ("The management review is overdue", "{client}: the management review is overdue",
             "The management review of {client} is {days} days overdue (9.3.1: at planned intervals).")),
    _source("external_audit", "Certification audits", "certification audit",
            "Audits by the certification body planned and not yet held, by date.",
            (CONSULTANTS, CLIENT_ADMINS), None,
            ("A certification audit is coming up", "{client}: {title} is {when}",
             "The {title} of {client} by the certification body is {when}."),
            ("A certification audit is not recorded as held", "{client}: {title} not recorded as held",
             "The {title} of {client} was planned {days} days ago; record that it was held and its result.")),
    _source("cb_response", "Certification body deadlines", "response to the certification body",
            "The certification body's response deadlines for its nonconformities, soonest first.",
            (CONSULTANTS, CLIENT_ADMINS), None,
            ("A certification body deadline is near",
             "{client}: response to the certification body due {when}: {title}",
             "The response to the certification body on “{title}” at {client} is due {when}."),
            ("A certification body deadline has passed",
             "{client}: response to the certification body overdue: {title}",
             "The response to the certification body on “{title}” at {client} is {days} days overdue.")),
    _source("stage_2_repeat", "Stage 2 at risk", "verification of the stage 2 majors",
            "Majors from stage 2 the certification body has not verified, by the day it would repeat stage 2.",
            (CONSULTANTS, CLIENT_ADMINS), None,
            ("Stage 2 would be repeated soon", "{client}: stage 2 repeated unless its majors are verified {when}",
             "The certification body repeats stage 2 of {client} unless its majors are verified {when}."),
            ("Stage 2 majors were not verified in time",
             "{client}: stage 2 majors not verified in time",
             "The majors from stage 2 of {client} were due to be verified {days} days ago: the certification body "
             "repeats stage 2 unless it agrees otherwise.")),
]
SOURCE_BY_KIND = {s.item_kind: s for s in SOURCES}
DUE_ITEM_KINDS = tuple(SOURCE_BY_KIND)
# The message kinds of the due-date sources, in the order the preferences page lists them.
MESSAGE_KINDS = [k for s in SOURCES for k in (s.due, s.overdue)]


def overdue_count(due_dates: Iterable[date | None], today: date) -> int:
    """How many dated items are past their date: due before today (an item only waiting since a day, with no
    due date, such as a management review open for input, is not late)."""
    return sum(1 for due in due_dates if due is not None and due < today)
