"""The client's overview: stages, the current gate, overdue work, recent activity."""
from __future__ import annotations

from flask import g
from sqlalchemy import select

import workflows as wf

from ... import clock
from ...extensions import db
from ...models import ActivityEntry, Task
from ...templating import render
from ..blueprint import bp
from .. import operations as ops


@bp.get("/")
def overview():
    state = ops.client_state()
    stages = ops.stages()
    current = state.current_stage
    overdue = db.session.scalars(select(Task).where(Task.status.in_(wf.OPEN_TASK_STATUSES),
                                                   Task.due_on < clock.today()).order_by(Task.due_on).limit(8)).all()
    activity = db.session.scalars(select(ActivityEntry).order_by(ActivityEntry.at.desc(), ActivityEntry.id.desc())
                                  .limit(8)).all()
    return render("workspace/overview.html", client=g.client, stages=stages, progress=wf.stage_progress(state),
                  current=current, gate=ops.gate(current, state), review=ops.pending_review(current),
                  overdue=overdue, activity=activity, summary=g.client.summary, certified=wf.is_certified(state),
                  readiness=wf.readiness(ops.template(), state))
