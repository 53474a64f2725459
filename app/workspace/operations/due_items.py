"""The "My work" rows of every source of due dates but tasks (workflows/due_dates.py): document reviews,
records due for a period, effectiveness checks, internal audits, management reviews, certification audits, the certification body's
response deadlines and the day it repeats stage 2, one query each, for the people the source names.

Part of `refresh_work_items` (same transaction as the change): an audit completed or a check recorded is gone
from everyone's list in the commit that did it. A date further ahead than `due_dates.HORIZON_DAYS` waits (the
nightly repair brings it in), so a document due for review in three years is not "work" yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import and_, func, select

import workflows as wf
from workflows import documents as wd
from workflows import due_dates as dd
from workflows.cycle import AUDIT_LABELS

from ... import clock
from ...extensions import db
from ...models import (CorrectiveAction, Document, ExternalAudit, Finding, InternalAudit, ManagementReview,
                       RecordEntry, Task, User)
from .certification import external_audits
from .corrective_actions import open_cb_deadlines
from .cycle import stage_2_repeat

TITLE_MAX = 300  # work_items.title


@dataclass(frozen=True)
class DueItem:
    """One dated item of a source, before it is given to its people."""

    kind: str
    ref_id: int
    title: str
    stage: str
    due_on: date | None = None
    since: object = None  # waiting since (a management review open for input has no due date)
    named: int | None = None  # the person it names (owner, auditor), if they still have a login
    not_for: int | None = None  # who may not do it (an action's owner never checks its effectiveness)
    parent_id: int | None = None


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= TITLE_MAX else flat[:TITLE_MAX - 1] + "…"


def _document_reviews(horizon: date) -> list[DueItem]:
    rows = db.session.execute(
        select(Document.id, Document.title, Document.stage, Document.review_due_on, User.id)
        .outerjoin(User, User.id == Document.owner_id)  # an owner whose login was deleted: the consultants see it
        .where(Document.kind == "document", Document.review_due_on <= horizon))
    return [DueItem("document_review", i, _short(t), s, due_on=d, named=u) for i, t, s, d, u in rows]


def _records_due(horizon: date) -> list[DueItem]:
    latest = (select(RecordEntry.document_id, func.max(RecordEntry.occurred_on).label("latest"))
              .group_by(RecordEntry.document_id).subquery())
    rows = db.session.execute(
        select(Document.id, Document.title, Document.stage, Document.record_frequency, Document.expected_since,
               latest.c.latest, User.id)
        .outerjoin(latest, latest.c.document_id == Document.id)
        .outerjoin(User, User.id == Document.owner_id)
        .where(Document.record_frequency.is_not(None)))
    out = []
    for i, title, stage, frequency, since, last, owner in rows:
        due = wd.record_due(frequency, last, since or clock.today())
        if due <= horizon:
            out.append(DueItem("record_due", i, _short(title), stage, due_on=due, named=owner))
    return out


def _effectiveness_checks(horizon: date) -> list[DueItem]:
    rows = db.session.execute(
        select(CorrectiveAction.id, CorrectiveAction.finding_id, CorrectiveAction.description, CorrectiveAction.verify_on,
               CorrectiveAction.owner_id, func.coalesce(Finding.target_stage, Finding.stage))
        .join(Finding, Finding.id == CorrectiveAction.finding_id)
        # A closed finding takes no result any more (corrective_actions.verify_action): nothing waits.
        .where(CorrectiveAction.verify_on <= horizon, CorrectiveAction.result.is_(None), Finding.status == "open"))
    return [DueItem("effectiveness_check", i, _short(f"Action #{i} on finding #{f}: {text}"), stage,
                    due_on=d, not_for=owner, parent_id=f) for i, f, text, d, owner, stage in rows]


def _internal_audits(horizon: date) -> list[DueItem]:
    rows = db.session.execute(
        select(InternalAudit.id, InternalAudit.reference, InternalAudit.title, InternalAudit.planned_on, User.id)
        .outerjoin(User, User.id == InternalAudit.auditor_id)
        .where(InternalAudit.status != "completed", InternalAudit.planned_on <= horizon))
    return [DueItem("internal_audit", i, _short(f"{ref} {t}"), wf.INTERNAL_AUDIT, due_on=d, named=u)
            for i, ref, t, d, u in rows]


def _management_reviews(horizon: date) -> list[DueItem]:
    """The review open for input (waiting since it opened), else the next review the last one planned.

    Closing a review makes the next one a task for whoever closed it (management_reviews.close_review): while
    that task is open, its assignee is reminded by it, not twice."""
    next_task = and_(Task.key == func.concat("mr_", ManagementReview.id, "_next"),
                     Task.status.in_(wf.OPEN_TASK_STATUSES))
    latest = db.session.execute(select(ManagementReview.id, ManagementReview.status, ManagementReview.opened_on,
                                       ManagementReview.next_review_on, Task.assignee_id)
                                .outerjoin(Task, next_task)
                                .order_by(ManagementReview.opened_on.desc(), ManagementReview.id.desc()).limit(1)).first()
    if latest is None:
        return []
    rid, status, opened_on, next_on, tasked = latest
    if status == "open":
        since = datetime.combine(opened_on, time(), tzinfo=timezone.utc)
        return [DueItem("management_review", rid, f"Management review of {opened_on.isoformat()}: open for input",
                        wf.INTERNAL_AUDIT, since=since)]
    if next_on is None or next_on > horizon:
        return []
    return [DueItem("management_review", rid, "Hold the next management review", wf.INTERNAL_AUDIT, due_on=next_on,
                    not_for=tasked)]


def _external_audits(horizon: date) -> list[DueItem]:
    rows = db.session.execute(select(ExternalAudit.id, ExternalAudit.kind, ExternalAudit.planned_on)
                              .where(ExternalAudit.held_on.is_(None), ExternalAudit.planned_on <= horizon))
    return [DueItem("external_audit", i, AUDIT_LABELS[k], wf.CERTIFICATION_AUDIT, due_on=d) for i, k, d in rows]


def _cb_responses(horizon: date) -> list[DueItem]:
    # The countdown the finding shows (corrective_actions.ageing): open, graded, not yet answered.
    return [DueItem("cb_response", f.id, _short(f"Finding #{f.id}: {f.title}"), f.target_stage or f.stage,
                    due_on=a.response_due) for f, a in open_cb_deadlines() if a.response_due <= horizon]


def _stage_2_repeat(horizon: date) -> list[DueItem]:
    audits = external_audits()
    risk = stage_2_repeat(audits)
    if risk is None or risk.by > horizon:
        return []
    return [DueItem("stage_2_repeat", audits["stage_2"].id,
                    f"{risk.majors} stage 2 major{'s' if risk.majors != 1 else ''} to be verified by the body",
                    wf.CERTIFICATION_AUDIT, due_on=risk.by)]


FINDERS = {"document_review": _document_reviews, "record_due": _records_due, "effectiveness_check": _effectiveness_checks,
           "internal_audit": _internal_audits, "management_review": _management_reviews,
           "external_audit": _external_audits, "cb_response": _cb_responses, "stage_2_repeat": _stage_2_repeat}


def dated_items() -> list[tuple[str, DueItem]]:
    """(kind, item) of every source but tasks, due within the horizon or already late: one read for the
    work items and the summary's count of late ones."""
    horizon = clock.today() + timedelta(days=dd.HORIZON_DAYS)
    return [(kind, item) for kind, find in FINDERS.items() for item in find(horizon)]


def due_item_rows(items: list[tuple[str, DueItem]], consultants: list[int], roles: dict[int, str],
                  consultancy: set[int], row) -> list[dict]:
    """The work_items rows of `items` (`dated_items`), for the client's reviewing consultants, its members by
    role and the consultancy's members; `row` makes one (work_items._row)."""
    # A person named on an item who no longer works on the client (left it, or the consultancy) is not reminded:
    # the item falls to those its source names when nobody is.
    working = set(roles) | consultancy
    top = {uid for uid, role in roles.items() if role == "top_management"}
    groups = {dd.CONSULTANTS: set(consultants), dd.TOP_MANAGEMENT: top,
              dd.CLIENT_ADMINS: {uid for uid, role in roles.items() if role == "client_admin"}}
    out = []
    for kind, item in items:
        source = dd.SOURCE_BY_KIND[kind]
        named = item.named if item.named in working else None
        people = set()
        for group in source.recipients:
            people |= {named} if group == dd.ASSIGNEE else groups[group]
        if named is None and source.unnamed:
            people |= groups[source.unnamed]
        people -= {None, item.not_for}
        out += [row(kind, item.ref_id, uid, item.title, item.stage, due_on=item.due_on, since=item.since,
                    parent_id=item.parent_id) for uid in sorted(people)]
    return out
