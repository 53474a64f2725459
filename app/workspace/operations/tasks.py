"""Tasks: status, assignment, due date and comments."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select, update

import workflows as wf
from workflows import reminders as rules
from workflows.stages import stage_label

from ... import clock
from ...extensions import db
from ...models import Stage, Task, TaskComment, User
from ...notify.events import announce
from ...refusal import Refusal
from .common import Actor, log
from .state import client_state, current_stage_key, lock_gate_state, settings, template

COMMENT_MAX = 10_000


def append_task(stage: Stage, **fields) -> Task:
    """A new task at the end of `stage` (lists order tasks by one position across stages: room is made there)."""
    position = db.session.scalar(select(func.coalesce(func.max(Task.position), 0)).where(Task.stage == stage.key))
    db.session.execute(update(Task).where(Task.position > position).values(position=Task.position + 1))
    task = Task(stage=stage.key, position=position + 1, **fields)
    db.session.add(task)
    db.session.flush()
    return task


def ensure_open(task: Task) -> None:
    """A task of a stage whose gate has passed is signed off as it is: a conflict (409) until the stage is reopened.

    Takes the gate lock first (as approvals and reopenings do), so a change cannot slip in beside an approval
    that is being decided, and re-reads the task under it.
    """
    lock_gate_state()
    db.session.refresh(task)
    try:
        wf.check_stage_open(task.stage, db.session.get(Stage, task.stage).status, "tasks")
    except wf.WorkflowError as err:
        raise Refusal.of(err) from err


def ensure_workable(task: Task) -> None:
    """`ensure_open`, and a task of a stage the client has not reached is locked: a conflict (409) too."""
    ensure_open(task)
    if not wf.stage_unlocked(current_stage_key(), task.stage):
        raise Refusal(f"“{task.title}” belongs to {stage_label(task.stage)}, which is locked until the "
                      f"client reaches it.", 409)


def set_task_status(task: Task, status: str, reason: str | None, actor: Actor, *, by_consultant: bool = False) -> None:
    """Change a task's status. Not applicable needs a reason referring to the scope (workflows.not_applicable);
    marked by client staff it is a proposal that closes the task only once a consultant approves it."""
    ensure_workable(task)  # a locked stage is a conflict (409); bad input below is 422
    current = wf.TaskState(task.key, task.stage, task.required, task.status, task.title)
    try:
        wf.check_task_transition(client_state(), current, status, reason, template=template())
    except wf.TransitionError as err:
        raise Refusal(str(err), 422, field="status") from err
    if status == task.status and (status != "not_applicable" or reason == task.not_applicable_reason):
        return
    labels = wf.TASK_STATUS_LABELS
    before = {"status": task.status, "not_applicable_reason": task.not_applicable_reason}
    task.status = status
    task.not_applicable_reason = reason.strip() if status == "not_applicable" else None
    approved = status == "not_applicable" and wf.approved_on_marking(by_consultant)
    task.na_proposed_by_id = actor.id if status == "not_applicable" else None
    task.na_approved_by_id = actor.id if approved else None
    task.na_approved_at = clock.now() if approved else None
    task.completed_at = clock.now() if status == "done" else None
    task.completed_by_id = actor.id if status == "done" else None
    log(actor, "task.status", "task", task.id,
        f"“{task.title}”: {labels[before['status']]} → {labels[status]}"
        + (f" ({task.not_applicable_reason})" if status == "not_applicable" else ""),
        before, {"status": task.status, "not_applicable_reason": task.not_applicable_reason})


def approve_not_applicable(task: Task, actor: Actor) -> None:
    """A consultant approves the not-applicable decision client staff proposed: from now on it closes the task."""
    ensure_workable(task)
    try:
        wf.check_na_approval(task.status, task.na_approved_at is not None, task.title)
    except wf.TransitionError as err:
        raise Refusal(str(err), err.status) from err
    task.na_approved_by_id, task.na_approved_at = actor.id, clock.now()
    log(actor, "task.na_approved", "task", task.id,
        f"“{task.title}”: not applicable approved ({task.not_applicable_reason})",
        {"na_approved_by_id": None}, {"na_approved_by_id": actor.id})


def not_applicable_decisions() -> list[Task]:
    """Every task marked not applicable, in plan order: the list the scope document carries (4.3)."""
    return list(db.session.scalars(select(Task).where(Task.status == "not_applicable").order_by(Task.position)))


def assign_task(task: Task, assignee: User | None, actor: Actor) -> None:
    ensure_open(task)
    new_id = assignee.id if assignee else None
    if new_id == task.assignee_id:
        return
    before = {"assignee_id": task.assignee_id}
    task.assignee_id = new_id
    log(actor, "task.assigned", "task", task.id,
        f"“{task.title}” assigned to {assignee.name}" if assignee else f"“{task.title}” unassigned",
        before, {"assignee_id": new_id})
    if assignee is not None:
        announce("task_assigned", f"task/{task.id}", "workspace.task", actor_id=actor.id, to=(assignee.id,),
                 link_values={"task_id": task.id}, title=task.title)


def set_due_date(task: Task, due_on: date | None, actor: Actor) -> None:
    """A due date within a few years of the plan (workflows.check_plan_date; 422 on `due_on` otherwise)."""
    ensure_open(task)
    if due_on == task.due_on:
        return
    if due_on is not None:
        s = settings()
        try:
            wf.check_plan_date(due_on, s.start_on, s.target_on, clock.today())
        except wf.PlanError as err:
            raise Refusal.of(err, field="due_on") from err
    before = {"due_on": task.due_on.isoformat() if task.due_on else None}
    task.due_on = due_on
    log(actor, "task.due", "task", task.id,
        f"“{task.title}” due {due_on:%d %b %Y}" if due_on else f"“{task.title}”: due date removed",
        before, {"due_on": due_on.isoformat() if due_on else None})


def add_comment(task: Task, body: str, actor: Actor) -> TaskComment:
    body = (body or "").strip()
    if not body:
        raise Refusal("Write a comment first.", 422, field="body")
    if len(body) > COMMENT_MAX:
        raise Refusal("Keep comments under 10,000 characters.", 422, field="body")
    comment = TaskComment(task=task, author_id=actor.id, author_name=actor.name, body=body)
    db.session.add(comment)
    db.session.flush()
    log(actor, "task.comment", "task", task.id, f"Comment on “{task.title}”", None, {"comment_id": comment.id})
    if task.assignee_id is not None:  # told to the assignee (not if they wrote it themselves)
        announce("task_comment", f"task/{task.id}/comment/{comment.id}", "workspace.task", actor_id=actor.id,
                 to=(task.assignee_id,), link_values={"task_id": task.id}, fragment=f"comment-{comment.id}",
                 title=task.title, excerpt=rules.excerpt(body))
    return comment


def change_each(tasks: list[Task], change) -> tuple[list[Task], list[Task], list[tuple[Task, Refusal]]]:
    """Apply `change(task)` (one of the operations above, rules and log entry included) to each task on its own
    savepoint: a refused task keeps nothing of its attempt and the others go on. Returns (changed, already so,
    refused with why); the caller still commits once."""
    changed, unchanged, refusals = [], [], []
    for task in tasks:
        try:
            with db.session.begin_nested():
                before = (task.status, task.assignee_id, task.due_on)
                change(task)
        except Refusal as err:
            refusals.append((task, err))
            continue
        (changed if (task.status, task.assignee_id, task.due_on) != before else unchanged).append(task)
    return changed, unchanged, refusals
