"""Starting a client: pin the template and generate the plan."""
from __future__ import annotations

from datetime import date

import workflows as wf
from workflows.stages import STAGE_KEYS

from ... import clock
from ...extensions import db
from ...models import Stage, Task, WorkspaceSettings
from ...refusal import Refusal
from .common import Actor, log, midnight
from .documents import register_document


def start_workspace(template: wf.Template, start_on: date, target_on: date, actor: Actor) -> None:
    """Pin the template and generate the plan: tasks with due dates, documents, stage windows."""
    try:
        planned = wf.plan_tasks(template, start_on, target_on)
        windows = {w.stage: w for w in wf.stage_windows(template, start_on, target_on)}
    except wf.PlanError as err:
        raise Refusal(str(err), 422, field="target_on") from err
    db.session.add(WorkspaceSettings(id=1, start_on=start_on, target_on=target_on, template_key=template.key,
                                     template_version=template.version, template_snapshot=template.to_dict()))
    for position, key in enumerate(STAGE_KEYS):
        w = windows.get(key)
        db.session.add(Stage(key=key, position=position, status="current" if position == 0 else "upcoming",
                             entered_at=clock.now() if position == 0 else None,
                             planned_start=midnight(w.start_date) if w else None,
                             planned_end=midnight(w.end_date) if w else None))
    db.session.flush()
    for position, p in enumerate(planned):
        t = template.find_task(p.key)
        db.session.add(Task(key=p.key, stage=p.stage, position=position, title=t.title, guidance=t.guidance,
                            clauses=list(t.clauses), role=t.role, required=t.required,
                            allow_not_applicable=t.allow_not_applicable, start_on=p.start_date, due_on=p.due_date))
    counts = {"document": 0, "record": 0}
    for stage in template.stages:
        for d in stage.documents:
            counts[d.kind] += 1
            register_document(d, stage.key, template, actor, number=counts[d.kind])
    log(actor, "plan.created", "plan", None,
        f"Plan created from {template.name} v{template.version}: {len(planned)} tasks, "
        f"{start_on:%d %b %Y} → {target_on:%d %b %Y}")
