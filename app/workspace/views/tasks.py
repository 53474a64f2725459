"""Tasks: the filtered list, one task's page, and its status, assignee, due date and comments."""
from __future__ import annotations

import re
from datetime import date

from flask import flash, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

import workflows as wf
from workflows.search import like_pattern, search_parts
from workflows.stages import STAGE_KEYS

from ... import clock
from ...extensions import db, htmx
from ...inputs import parse_id
from ...models import Task
from ...permissions import CONSULTANT_ROLES, WRITER_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import FILTERS, actor, after_task_change, people, refused, row_context, task_page, task_refused



@bp.get("/tasks")
def tasks():
    f = {k: (request.args.get(k) or "").strip() for k in FILTERS}
    # The list shows no guidance: leave the long text in the database. Plain rows, not tasks the session
    # tracks: 200 ORM objects cost more to load and to let go (the tenant binding expunges each) than to draw.
    q = select(Task.id, Task.key, Task.title, Task.stage, Task.clauses, Task.required, Task.assignee_id,
               Task.due_on, Task.status).order_by(Task.position)
    if f["view"] == "mine":
        q = q.where(Task.assignee_id == current_user.id)
    elif f["view"] == "overdue":
        q = q.where(Task.status.in_(wf.OPEN_TASK_STATUSES), Task.due_on < clock.today())
    if f["stage"] in STAGE_KEYS:
        q = q.where(Task.stage == f["stage"])
    if f["status"] in wf.TASK_STATUS_LABELS:
        q = q.where(Task.status == f["status"])
    if f["assignee"] == "none":
        q = q.where(Task.assignee_id.is_(None))
    elif parse_id(f["assignee"]) is not None:
        q = q.where(Task.assignee_id == parse_id(f["assignee"]))
    if f["clause"]:
        # The clause itself or any of its sub-clauses (9.1 finds 9.1.2).
        sub = r"(^|,)" + re.escape(f["clause"]) + r"\."
        q = q.where(or_(Task.clauses.contains([f["clause"]]), func.array_to_string(Task.clauses, ",").regexp_match(sub)))
    for alternatives in search_parts(f["q"]):  # every part typed, in any of its synonyms; % and _ literal
        q = q.where(or_(*(column.ilike(like_pattern(term), escape="\\") for term in alternatives
                          for column in (Task.title, Task.guidance))))
    rows = db.session.execute(q).all()
    clauses = sorted({c for t in db.session.scalars(select(Task.clauses)) for c in t},
                     key=lambda c: [int(p) for p in c.split(".")])
    return render("workspace/tasks.html", "results", client=g.client, tasks=rows, filters=f, clauses=clauses,
                  current=ops.current_stage_key(), **row_context())


@bp.get("/tasks/<int:task_id>")
def task(task_id):
    return task_page(db.get_or_404(Task, task_id))


@bp.post("/tasks/<int:task_id>/status")
@requires(*WRITER_ROLES)
def task_status(task_id):
    task = db.get_or_404(Task, task_id)
    status = request.form.get("status", "")
    from_list = request.form.get("from") == "list"  # the list's inline select: answer with its row
    try:
        ops.set_task_status(task, status, request.form.get("reason"), actor(),
                            by_consultant=may_change(*CONSULTANT_ROLES))
    except Refusal as err:
        if not from_list:
            return task_refused(task, err, "status")
        if not htmx:
            return refused(err, "workspace.tasks")
        db.session.rollback()
        return _row(db.session.get(Task, task.id), str(err)), err.status
    message = f"Status set to {wf.TASK_STATUS_LABELS[status]}."
    if status == "not_applicable" and task.na_approved_at is None:
        message += " A consultant approves the decision before it closes the task."
    if not from_list:
        return after_task_change(task, "status", message)
    ops.save(g.client)
    if htmx:
        return _row(task)
    flash(f"“{task.title}”: {message[0].lower()}{message[1:]}", "success")
    return redirect(url_for("workspace.tasks") + f"#task-{task.id}", 303)


@bp.post("/tasks/<int:task_id>/approve-not-applicable")
@requires(*CONSULTANT_ROLES)
def task_approve_not_applicable(task_id):
    task = db.get_or_404(Task, task_id)
    try:
        ops.approve_not_applicable(task, actor())
    except Refusal as err:
        return task_refused(task, err, "status")
    return after_task_change(task, "status", "Not-applicable decision approved: it now closes the task.")


def _row(task: Task, error: str | None = None):
    return render("workspace/_task_row.html", t=task, row_error=error, **row_context())


@bp.post("/tasks/<int:task_id>/assignee")
@requires(*WRITER_ROLES)
def task_assignee(task_id):
    task = db.get_or_404(Task, task_id)
    raw = request.form.get("assignee_id", "")
    assignee = people().get(parse_id(raw))
    if raw and assignee is None:
        return task_refused(task, Refusal("Choose someone who works on this client.", 422, field="assignee_id"),
                            "details")
    try:
        ops.assign_task(task, assignee, actor())
    except Refusal as err:
        return task_refused(task, err, "details")
    return after_task_change(task, "details", "Assignee updated.")


@bp.post("/tasks/<int:task_id>/due")
@requires(*WRITER_ROLES)
def task_due(task_id):
    task = db.get_or_404(Task, task_id)
    raw = request.form.get("due_on", "").strip()
    try:
        due = date.fromisoformat(raw) if raw else None
    except ValueError:
        return task_refused(task, Refusal("Enter the due date as YYYY-MM-DD.", 422, field="due_on"), "details",
                            due_draft=raw)
    try:
        ops.set_due_date(task, due, actor())
    except Refusal as err:
        return task_refused(task, err, "details", due_draft=raw)
    return after_task_change(task, "details", "Due date updated.")


@bp.post("/tasks/<int:task_id>/comments")
@requires(*WRITER_ROLES)
def task_comment(task_id):
    task = db.get_or_404(Task, task_id)
    try:
        ops.add_comment(task, request.form.get("body", ""), actor())
    except Refusal as err:
        return task_refused(task, err, "comments", draft=request.form.get("body", ""))
    return after_task_change(task, "comments", "Comment added.")
