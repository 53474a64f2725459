"""The plan: shifting open work, new start and target dates, and moving a client to a newer version of its
template on purpose."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

import tenants
import workflows as wf
from workflows.stages import STAGE_KEYS, stage_label

from ... import clock
from ...extensions import db
from ...models import Attachment, Client, Document, Stage, Task, TaskComment, WorkspaceSettings
from ...refusal import Refusal
from .common import Actor, log
from .documents import register_document
from .state import current_stage_key, settings, template


def _dated_plan() -> tuple[dict, dict]:
    """The client's tasks by id and stages by key, as rows and as what the plan rules see."""
    tasks = {t.id: t for t in db.session.scalars(select(Task))}
    stages = {st.key: st for st in db.session.scalars(select(Stage))}
    return tasks, stages


def _rules_view(tasks: dict, stages: dict) -> tuple[list, list]:
    return ([wf.TaskDates(t.id, t.stage, t.status, t.start_on, t.due_on) for t in tasks.values()],
            [wf.StageDates(st.key, st.status, st.planned_start, st.planned_end) for st in stages.values()])


def _move(shift: wf.PlanShift, tasks: dict, stages: dict) -> None:
    for moved in shift.tasks:
        tasks[moved.key].start_on, tasks[moved.key].due_on = moved.start_on, moved.due_on
    for moved in shift.stages:
        stages[moved.key].planned_start, stages[moved.key].planned_end = moved.planned_start, moved.planned_end


def shift_plan(days: int, stage_key: str | None, actor: Actor) -> int:
    """Move the dates of open tasks (of one stage, or all) by `days` (workflows.shift_plan); returns how many moved."""
    tasks, stages = _dated_plan()
    try:
        shift = wf.shift_plan(*_rules_view(tasks, stages), days, stage_key)
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="days") from err
    _move(shift, tasks, stages)
    n = shift.moved
    log(actor, "plan.shifted", "plan", stage_key,
        f"{n} open task{'s' if n != 1 else ''}{' of ' + stage_label(stage_key) if stage_key else ''} "
        f"moved by {days:+d} days", None, {"days": days, "stage": stage_key, "tasks": n})
    return n


# --- the client's start and target dates ------------------------------------------------

def preview_dates(start_on: date, target_on: date) -> wf.Replan:
    """What moving the client's dates would do (workflows.replan); nothing is written."""
    return _replan(settings(), *_dated_plan(), start_on, target_on)


def _replan(s: WorkspaceSettings, tasks: dict, stages: dict, start_on: date, target_on: date) -> wf.Replan:
    try:
        return wf.replan(*_rules_view(tasks, stages), s.start_on, s.target_on, start_on, target_on, clock.today())
    except wf.DatesError as err:
        raise Refusal.of(err, field=err.field) from err
    except wf.WorkflowError as err:
        raise Refusal.of(err, field="target_on") from err


def change_dates(start_on: date, target_on: date, seen: tuple[date | None, date | None], actor: Actor) -> wf.Replan:
    """Give the client new start and target dates, moving open work with the target (the preview, applied).

    `seen` are the dates the preview was made from: when someone changed them since, nothing is applied (409),
    so nobody confirms a shift they were not shown.
    """
    s = db.session.scalars(select(WorkspaceSettings).with_for_update()
                           .execution_options(populate_existing=True)).one()
    if (s.start_on, s.target_on) != seen:
        raise Refusal(f"Someone changed the plan's dates to {_day(s.start_on)} – {_day(s.target_on)} since you "
                      "saw the preview. Check the preview again before applying.", 409)
    tasks, stages = _dated_plan()
    change = _replan(s, tasks, stages, start_on, target_on)
    if change.shift is not None:
        _move(change.shift, tasks, stages)
    old_start, old_target = s.start_on, s.target_on
    s.start_on, s.target_on = start_on, target_on
    parts = [f"{what} {_day(old)} → {_day(new)}"
             for what, old, new in (("start", old_start, start_on), ("target", old_target, target_on)) if old != new]
    n = change.moved
    moved = f"{n} open task{'s' if n != 1 else ''} moved by {change.days:+d} days" if change.shift else "no task moved"
    log(actor, "plan.dates_changed", "plan", None, f"Plan dates changed: {', '.join(parts)}; {moved}",
        {"start_on": _iso(old_start), "target_on": _iso(old_target)},
        {"start_on": _iso(start_on), "target_on": _iso(target_on), "days": change.days, "tasks": n})
    return change


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _day(d: date | None) -> str:
    return f"{d:%d %b %Y}" if d else "none"


# --- applying a newer template version ----------------------------------------------------

def preview_template(new: wf.Template) -> wf.Upgrade:
    """What applying `new` would change for this client; nothing is written."""
    s = settings()
    windows = {st.key: (st.planned_start.date(), st.planned_end.date())
               for st in db.session.scalars(select(Stage)) if st.planned_start and st.planned_end}
    with_evidence = set(db.session.scalars(select(Attachment.task_id).distinct()))
    with_comments = set(db.session.scalars(select(TaskComment.task_id).distinct()))
    tasks = [wf.ClientItem(key, stage, status, task_id in with_evidence, task_id in with_comments)
             for task_id, key, stage, status in db.session.execute(select(Task.id, Task.key, Task.stage, Task.status))]
    documents = [wf.ClientItem(*row) for row in db.session.execute(select(Document.key, Document.stage,
                                                                          Document.status))]
    return wf.plan_upgrade(template(), new, current_stage=current_stage_key(), tasks=tasks, documents=documents,
                           start_on=s.start_on, target_on=s.target_on, windows=windows, today=clock.today())


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _titles(items, reasons: bool = True) -> str:
    return ", ".join(f"“{i.title}”" + (f" ({i.reason})" if reasons and i.reason else "") for i in items)


def apply_template(new: wf.Template, actor: Actor) -> wf.Upgrade:
    """Move the client to a newer version of its template, keeping the work already done (see workflows.upgrade)."""
    # Locked so that two consultants applying at once can't both add the same tasks: the second sees the new version.
    s = db.session.scalars(select(WorkspaceSettings).with_for_update()
                           .execution_options(populate_existing=True)).one()
    if new.key != s.template_key:
        raise Refusal(f"“{new.name}” is not the template this client follows.", 409)
    if new.version <= s.template_version:
        raise Refusal(f"The client is already on version {s.template_version} of {new.name}.", 409)
    plan = preview_template(new)
    tasks = {t.key: t for t in db.session.scalars(select(Task))}
    for add in plan.tasks_added:
        t = add.template
        db.session.add(Task(key=t.key, stage=add.stage, title=t.title, guidance=t.guidance, clauses=list(t.clauses),
                            role=t.role, required=t.required, allow_not_applicable=t.allow_not_applicable,
                            start_on=add.start_date, due_on=add.due_date))
    for update in plan.tasks_updated:
        for name, value in update.changes.items():
            setattr(tasks[update.key], name, value)
    for item in plan.tasks_removed:
        db.session.delete(tasks[item.key])
    documents = {d.key: d for d in db.session.scalars(select(Document))}
    for add in plan.documents_added:
        d = add.template
        register_document(d, add.stage, new, actor)
    for update in plan.documents_updated:
        for name, value in update.changes.items():
            setattr(documents[update.key], name, value)
    for item in plan.documents_removed:
        db.session.delete(documents[item.key])
    db.session.flush()
    # Task lists are ordered by position: follow the new template, with tasks it no longer has at their stage's end.
    order = {t.key: i for i, (_, t) in enumerate(new.iter_tasks())}
    stage_order = {key: i for i, key in enumerate(STAGE_KEYS)}
    for position, task in enumerate(sorted(db.session.scalars(select(Task)),
                                           key=lambda t: (stage_order.get(t.stage, 99), order.get(t.key, len(order)),
                                                          t.position))):
        task.position = position
    before = {"template_version": s.template_version}
    s.template_snapshot, s.template_version = new.to_dict(), new.version
    client = db.session.scalar(select(Client).where(Client.schema_name == tenants.current_schema()))
    if client is not None:
        client.template_version = new.version
    counts = plan.counts()
    parts = [_count(counts[name], *words) for name, words in (
        ("tasks_added", ("task added", "tasks added")), ("tasks_updated", ("task reworded", "tasks reworded")),
        ("tasks_removed", ("task removed", "tasks removed")),
        ("documents_added", ("document added", "documents added")),
        ("documents_updated", ("document updated", "documents updated")),
        ("documents_removed", ("document removed", "documents removed")),
    ) if counts[name]]
    summary = (f"{new.name} v{before['template_version']} → v{new.version} applied: "
               f"{', '.join(parts) if parts else 'nothing to change in the plan'}.")
    if plan.tasks_skipped or plan.documents_skipped:
        summary += (f" Not added, stage already passed: "
                    f"{_titles(plan.tasks_skipped + plan.documents_skipped, reasons=False)}.")
    if plan.tasks_kept or plan.documents_kept:
        summary += f" Kept although removed from the template: {_titles(plan.tasks_kept + plan.documents_kept)}."
    if plan.tasks_unchanged or plan.documents_unchanged:
        summary += f" Finished work keeps its wording: {_titles(plan.tasks_unchanged + plan.documents_unchanged)}."
    log(actor, "plan.template_applied", "plan", None, summary, before, {
        "template_key": new.key, "template_version": new.version, **counts,
        "tasks": {"added": [a.key for a in plan.tasks_added], "updated": [u.key for u in plan.tasks_updated],
                  "removed": [i.key for i in plan.tasks_removed], "skipped": [i.key for i in plan.tasks_skipped],
                  "kept": {i.key: i.reason for i in plan.tasks_kept},
                  "unchanged": {i.key: i.reason for i in plan.tasks_unchanged}},
        "documents": {"added": [a.key for a in plan.documents_added],
                      "updated": [u.key for u in plan.documents_updated],
                      "removed": [i.key for i in plan.documents_removed],
                      "skipped": [i.key for i in plan.documents_skipped],
                      "kept": {i.key: i.reason for i in plan.documents_kept},
                      "unchanged": {i.key: i.reason for i in plan.documents_unchanged}},
    })
    return plan
