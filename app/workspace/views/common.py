"""What the workspace's views share: the actor, refusals shown on the page they came from, the people
who work on the client, and the task page that the task and evidence views both answer with."""
from __future__ import annotations

from flask import current_app, flash, g, redirect, url_for
from flask_login import current_user
from sqlalchemy import or_, select

import workflows as wf
from workflows.stages import STAGE_KEYS

from ... import clock
from ...extensions import db, htmx
from ...models import AccountMember, ClientConsultant, ClientMember, CorrectiveAction, Task, User
from ...permissions import CONSULTANT_ROLES, WRITER_ROLES, may_change, may_request_gate_review
from ...refusal import Refusal
from ...templating import render
from .. import operations as ops


def actor() -> ops.Actor:
    return ops.Actor.of(current_user)


def refused(err: Refusal, endpoint: str):
    """An invalid change from a list page: nothing changed; show why on that page with the status that fits."""
    db.session.rollback()
    flash(str(err), "error")
    page = current_app.view_functions[endpoint]()
    return (page[0] if isinstance(page, tuple) else page), err.status


def people() -> dict[int, User]:
    """Who can be assigned: the client's members and its consultants (by id → user)."""
    member_ids = select(ClientMember.user_id).where(ClientMember.client_id == g.client.id)
    consultant_ids = select(ClientConsultant.user_id).where(ClientConsultant.client_id == g.client.id)
    owner_ids = select(AccountMember.user_id).where(AccountMember.account_id == g.client.account_id,
                                                    AccountMember.role == "owner")
    users = db.session.scalars(select(User).where(or_(User.id.in_(member_ids), User.id.in_(consultant_ids),
                                                      User.id.in_(owner_ids))).order_by(User.name)).all()
    return {u.id: u for u in users}


FILTERS = ("q", "stage", "status", "assignee", "clause", "view")  # of the task list, kept across a bulk action


def row_context() -> dict:
    """What a row of the task list needs besides its task (the whole list, and one row re-rendered alone)."""
    current = ops.current_stage_key()
    return {"people": people(), "statuses": wf.TASK_STATUS_LABELS, "today": clock.today(),
            "can_write": may_change(*WRITER_ROLES),
            "unlocked": {key for key in STAGE_KEYS if wf.stage_unlocked(current, key)}}


def may_request() -> bool:
    """Whether the user may ask for a gate review of this client (app/permissions.py decides)."""
    return g.client.archived_at is None and \
        may_request_gate_review(g.client_role, ops.settings().staff_may_request_reviews)


def client_admin_names() -> list[str]:
    """Who at the client can ask for a gate review, by name (shown to those who can't)."""
    return db.session.scalars(select(User.name).join(ClientMember, ClientMember.user_id == User.id)
                              .where(ClientMember.client_id == g.client.id, ClientMember.role == "client_admin")
                              .order_by(User.name)).all()


# --- the task page ---------------------------------------------------------------------------

def task_page(task: Task, status: int = 200, error: str | None = None, block: str | None = None, **extra):
    # A task of a passed stage is signed off as it is: read-only (comments apart) until the stage is reopened.
    stage = next(st for st in ops.stages() if st.key == task.stage)  # the five are held for the request
    can_write = may_change(*WRITER_ROLES)
    return render("workspace/task.html", block, client=g.client, task=task, people=people(),
                  statuses=wf.TASK_STATUS_LABELS, locked=not wf.stage_unlocked(ops.current_stage_key(), task.stage),
                  signed_off=stage if stage.status == "passed" else None, error=error,
                  can_write=can_write, can_change=can_write and stage.status != "passed",
                  is_consultant=g.client_role in CONSULTANT_ROLES,
                  corrective_action=db.session.scalar(select(CorrectiveAction)
                                                      .where(CorrectiveAction.task_id == task.id)),
                  today=clock.today(), **extra), status


def after_task_change(task: Task, block: str, message: str):
    ops.save(g.client)
    if htmx:
        return task_page(task, block=block)
    flash(message, "success")
    return redirect(url_for("workspace.task", task_id=task.id))


def task_refused(task: Task, err: Refusal, block: str, **extra):
    db.session.rollback()
    task = db.session.get(Task, task.id)
    return task_page(task, err.status, str(err), block=block if htmx else None, **extra)
