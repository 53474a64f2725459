"""The plan: planned against actual per stage, shifting open work, applying a newer template version."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from sqlalchemy import func, select

import workflows as wf
from workflows.stages import STAGE_KEYS, stage_label

from ... import clock
from ...extensions import db
from ...library import store as library
from ...models import Task
from ...permissions import CONSULTANT_ROLES, may_change, requires
from ...refusal import Refusal
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import actor, refused


def _newer_template():
    """The latest version of the client's template — one of the consultancy's own copies, or a standard
    template shipped with a newer release — when it is newer than the version the client is pinned to;
    None otherwise. It is applied only when a consultant chooses to."""
    s = ops.settings()
    latest = library.latest_row(g.client.account_id, s.template_key, with_data=False)
    if latest is None:
        # Not a copy of this consultancy (copies never take a standard's key): a shipped template.
        try:
            shipped = wf.load_template(s.template_key)
        except wf.TemplateError:
            return None
        return shipped if shipped.version > s.template_version else None
    if latest.version <= s.template_version:
        return None
    return library.as_template(library.latest_row(g.client.account_id, s.template_key))


@bp.get("/plan")
def plan():
    stages = ops.stages()
    actual_done = dict(db.session.execute(select(Task.stage, func.max(Task.completed_at)).group_by(Task.stage)).all())
    due = dict(db.session.execute(select(Task.stage, func.max(Task.due_on)).group_by(Task.stage)).all())
    s = ops.settings()
    today = clock.today()
    span_end = max([s.target_on] + [d for d in due.values() if d] + [today])
    newer = _newer_template()
    update = None
    if newer is not None:
        update = {"template": newer, "changes": wf.describe_changes(ops.template(), newer),
                  "effect": ops.preview_template(newer)}
    return render("workspace/plan.html", client=g.client, stages=stages, settings=s, due=due,
                  actual_done=actual_done, span=(s.start_on, span_end), today=today,
                  can_shift=may_change(*CONSULTANT_ROLES), error=None, update=update)


@bp.post("/plan/apply-template")
@requires(*CONSULTANT_ROLES)
def plan_apply_template():
    newer = _newer_template()
    if newer is None:
        return refused(Refusal("There is no newer version of this client's template to apply.", 409),
                       "workspace.plan")
    if request.form.get("version", "").strip() != str(newer.version):
        # The consultant reviewed another version than the latest: show them what they would really apply.
        return refused(Refusal(f"Version {newer.version} was saved after you opened this page. "
                               "Review its changes below, then apply it.", 409), "workspace.plan")
    try:
        result = ops.apply_template(newer, actor())
    except Refusal as err:
        return refused(err, "workspace.plan")
    ops.save(g.client)
    counts = result.counts()
    documents = counts["documents_added"] + counts["documents_updated"] + counts["documents_removed"]
    done = [f"{n} {word if n == 1 else word + 's'}{what}" for n, word, what in (
        (counts["tasks_added"], "task", " added"), (counts["tasks_updated"], "task", " reworded"),
        (counts["tasks_removed"], "task", " removed"), (documents, "document change", "")) if n]
    flash(f"Version {newer.version} applied: {', '.join(done) if done else 'nothing in the plan needed changing'}. "
          "The activity log lists what was kept and why.", "success")
    return redirect(url_for("workspace.plan"), 303)


@bp.post("/plan/shift")
@requires(*CONSULTANT_ROLES)
def plan_shift():
    stage = request.form.get("stage", "")
    try:
        days = wf.check_shift_days(request.form.get("days", ""))
        ops.shift_plan(days, stage if stage in STAGE_KEYS else None, actor())
    except wf.WorkflowError as err:
        return refused(Refusal.of(err, field="days"), "workspace.plan")
    except Refusal as err:
        return refused(err, "workspace.plan")
    ops.save(g.client)
    flash(f"Open tasks{' of ' + stage_label(stage) if stage in STAGE_KEYS else ''} moved by {days} days.", "success")
    return redirect(url_for("workspace.plan"), 303)
