"""Bulk actions on the task list: assign, set a due date or mark done for many tasks in one request.

Each task goes through the same operation as its own form (same roles, same rules, same log entry), so bulk
changes nothing one could not change one by one; what an operation refuses is reported task by task, the
rest is saved in one commit.
"""
from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, request, url_for
from sqlalchemy import select

from ...extensions import db
from ...inputs import parse_id
from ...models import Task
from ...permissions import WRITER_ROLES, requires
from ...refusal import Refusal
from ..blueprint import bp
from .. import operations as ops
from .common import FILTERS, actor, people, refused

BULK_MAX = 1000  # far more than any client's plan; a bigger selection is not one a person made


@bp.post("/tasks/bulk")
@requires(*WRITER_ROLES)
def task_bulk():
    form = request.form
    back = url_for("workspace.tasks", **{k: v for k in FILTERS if (v := form.get(f"filter_{k}", "").strip())})
    try:
        change, verb = _change(form.get("action", ""))
        tasks = _selected(form.getlist("shown") if form.get("all_shown") else form.getlist("task_id"))
    except Refusal as err:
        return refused(err, "workspace.tasks")
    changed, unchanged, refusals = ops.change_each(tasks, change)
    if refusals and not changed:
        db.session.rollback()
        return refused(Refusal(_report(changed, unchanged, refusals, verb), refusals[0][1].status), "workspace.tasks")
    ops.save(g.client)
    flash(_report(changed, unchanged, refusals, verb), "warning" if refusals else "success")
    return redirect(back, 303)


def _change(action: str):
    """The operation the chosen action applies to each task, and the words for the report."""
    who = actor()
    if action == "done":
        return (lambda task: ops.set_task_status(task, "done", None, who)), "marked done"
    if action == "assign":
        raw = request.form.get("assignee_id", "").strip()
        assignee = None if raw == "none" else people().get(parse_id(raw))
        if raw != "none" and assignee is None:
            raise Refusal("Choose who the selected tasks go to (someone who works on this client).", 422,
                          field="assignee_id")
        return (lambda task: ops.assign_task(task, assignee, who)), (f"assigned to {assignee.name}" if assignee
                                                                    else "unassigned")
    if action == "due":
        raw = request.form.get("due_on", "").strip()
        if not raw:
            raise Refusal("Choose the due date to give the selected tasks.", 422, field="due_on")
        try:
            due = date.fromisoformat(raw)
        except ValueError:
            raise Refusal("Enter the due date as YYYY-MM-DD.", 422, field="due_on") from None
        return (lambda task: ops.set_due_date(task, due, who)), f"due {due:%d %b %Y}"
    raise Refusal("Choose what to do with the selected tasks: assign, set a due date or mark done.", 422)


def _selected(raw_ids: list[str]) -> list[Task]:
    """The tasks named by the form, in plan order; refuses the whole request for a selection it can't trust."""
    if not raw_ids:
        raise Refusal("Select at least one task first: tick the boxes in the first column, or “select all”.", 422)
    if len(raw_ids) > BULK_MAX:
        raise Refusal(f"Select at most {BULK_MAX:,} tasks at once.", 422)
    ids = {parse_id(raw) for raw in raw_ids}
    if None in ids:
        raise Refusal("The selection holds something that is not a task of this list; nothing was changed.", 422)
    tasks = db.session.scalars(select(Task).where(Task.id.in_(ids)).order_by(Task.position)).all()
    if len(tasks) != len(ids):
        missing = len(ids) - len(tasks)
        raise Refusal(f"{missing} of the selected tasks {'is' if missing == 1 else 'are'} not in this client's list; "
                      "nothing was changed. Reload the list and select again.", 422)
    return tasks


def _report(changed, unchanged, refusals, verb: str) -> str:
    """ "2 tasks marked done; 1 already so; 1 refused: “X” belongs to … because …" """
    parts = [f"{_n(len(changed))} {verb}"] if changed or not refusals else []
    if unchanged:
        parts.append(f"{len(unchanged)} already so")
    if refusals:
        why = "; ".join((str(err) if task.title in str(err) else f"“{task.title}”: {err}").rstrip(".")
                        for task, err in refusals)
        parts.append(f"{len(refusals)} refused: {why}")
    text = "; ".join(parts)
    return text if text.endswith(".") else text + "."


def _n(count: int) -> str:
    return f"{count} task{'s' if count != 1 else ''}"
