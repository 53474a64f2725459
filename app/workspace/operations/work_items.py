"""The "My work" index: one client's open work items per person, rebuilt from its schema.

Tasks, gate reviews and document approvals here; every other source of due dates in due_items.py.
Called by `summary.save` (and the nightly repair), so the rows change in the same transaction as the work
they index: a task marked done is gone from its assignee's list in the same commit, and a rolled-back change
leaves the list as it was. Rebuilding the client's rows whole (delete, then insert) is what makes it exact:
nothing has to know which rows a change touched.
"""
from __future__ import annotations

from sqlalchemy import delete, insert, select, true

import workflows as wf
from workflows import due_dates as dd
from workflows.stages import stage_label

from ... import clock
from ...extensions import db
from ...models import (AccountMember, Client, ClientConsultant, ClientMember, ClientSummary, Document, GateReview, Task,
                       User, WorkItem)
from .due_items import dated_items, due_item_rows
from .state import current_stage_key


def reviewers(client: Client, roles: dict[int, str] | None = None) -> list[int]:
    """Who reviews gates and approves documents for the client: its assigned consultants who are still in the
    consultancy, or, for a client nobody is assigned to, the consultancy's owners (someone must see it).
    `roles`: the consultancy's members and their roles, when the caller has read them."""
    if roles is None:
        roles = account_roles(client)
    assigned = db.session.scalars(select(ClientConsultant.user_id).where(ClientConsultant.client_id == client.id))
    chosen = sorted(uid for uid in assigned if uid in roles)
    return chosen or sorted(uid for uid, role in roles.items() if role == "owner")


def account_roles(client: Client) -> dict[int, str]:
    members = select(AccountMember.user_id, AccountMember.role).where(AccountMember.account_id == client.account_id)
    return dict(db.session.execute(members).all())


def refresh_work_items(client: Client, dated: list | None = None) -> int:
    """Rebuild the client's rows of `work_items` from its schema (bound); returns how many there are now.
    `dated`: the client's dated items (`due_items.dated_items`), when the caller has read them."""
    # Two changes to one client committing at once would both delete the old rows and both insert new ones
    # (a duplicate key for the second). Its summary row, which every save writes last, is the client's lock:
    # the second waits for the first's commit, then reads (READ COMMITTED: each statement afresh) what it did.
    db.session.execute(select(ClientSummary.client_id).where(ClientSummary.client_id == client.id)
                       .with_for_update())
    db.session.execute(delete(WorkItem).where(WorkItem.client_id == client.id))
    current = current_stage_key()
    rows = []
    tasks = db.session.execute(
        select(Task.id, Task.title, Task.stage, Task.due_on, Task.assignee_id)
        .join(User, User.id == Task.assignee_id)  # an assignee whose login was deleted waits for nothing
        .where(Task.status.in_(wf.OPEN_TASK_STATUSES)))
    for t in tasks:
        if wf.stage_unlocked(current, t.stage):  # a locked stage's task can't be worked on yet
            rows.append(_row(client, "task", t.id, t.assignee_id, t.title, t.stage, due_on=t.due_on))
    consultancy = account_roles(client)
    people = reviewers(client, consultancy)
    members = dict(db.session.execute(select(ClientMember.user_id, ClientMember.role)
                                      .where(ClientMember.client_id == client.id)).all())
    # The policy, objectives, scope and review minutes wait for the client's top management, not the consultant
    # (while the client has nobody in that role, its reviewers see them, so that someone invites them).
    top = sorted(uid for uid, role in members.items() if role == "top_management")
    if top:
        docs = db.session.execute(select(Document.id, Document.title, Document.stage, Document.updated_at)
                                  .where(Document.status == "in_review", Document.approver_role == "top_management"))
        for d in docs:
            rows += [_row(client, "document_approval", d.id, uid, d.title, d.stage, since=d.updated_at) for uid in top]
    if people:
        reviews = db.session.execute(select(GateReview.id, GateReview.stage, GateReview.requested_at)
                                     .where(GateReview.status == "requested"))
        for r in reviews:
            title = f"Gate review: {stage_label(r.stage)}"
            rows += [_row(client, "gate_review", r.id, uid, title, r.stage, since=r.requested_at) for uid in people]
        docs = db.session.execute(select(Document.id, Document.title, Document.stage, Document.updated_at)
                                  .where(Document.status == "in_review",
                                         Document.approver_role != "top_management" if top else true()))
        for d in docs:
            rows += [_row(client, "document_approval", d.id, uid, d.title, d.stage, since=d.updated_at)
                     for uid in people]
    # Every other source of due dates (workflows/due_dates.py), for the people each names.
    rows += due_item_rows(dated_items() if dated is None else dated, people, members, set(consultancy),
                          lambda *a, **kw: _row(client, *a, **kw))
    if rows:
        db.session.execute(insert(WorkItem), rows)
    return len(rows)


def _row(client: Client, kind: str, ref_id: int, user_id: int, title: str, stage: str, due_on=None, since=None,
         parent_id=None):
    return {"client_id": client.id, "kind": kind, "ref_id": ref_id, "user_id": user_id, "title": title,
            "stage": stage, "due_on": due_on, "waiting_since": since, "parent_id": parent_id}


LATE_KINDS = tuple(k for k in dd.DUE_ITEM_KINDS if k != "task")  # tasks have a list of their own


def late_dated_items(client: Client, limit: int = 8) -> list:
    """The client's dated items other than tasks past their date, each once (however many people it waits
    for), longest late first: from its work items, which every save rebuilds, in one query."""
    return db.session.execute(
        select(WorkItem.kind, WorkItem.ref_id, WorkItem.title, WorkItem.stage, WorkItem.due_on, WorkItem.parent_id)
        .where(WorkItem.client_id == client.id, WorkItem.kind.in_(LATE_KINDS), WorkItem.due_on < clock.today())
        .distinct().order_by(WorkItem.due_on, WorkItem.kind, WorkItem.ref_id).limit(limit)).all()
