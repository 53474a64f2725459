"""The client's overview: stages, the current gate, readiness and its projection, KPIs and objectives that
need attention, overdue work, recent activity."""
from __future__ import annotations

from flask import g, url_for
from sqlalchemy import select

import workflows as wf
from workflows import due_dates as dd
from workflows import kpi as wk

from ... import clock
from ...extensions import db
from ...models import ActivityEntry, Task
from ...notify.links import item_href
from ...permissions import CLIENT_MANAGERS, may_change
from ...templating import render
from ..blueprint import bp
from .. import operations as ops
from .common import client_admin_names, may_request


@bp.get("/")
def overview():
    state = ops.client_state()
    stages = ops.stages()
    current = state.current_stage
    # Plain rows of the columns shown, not whole records (a task's guidance, an entry's before and after).
    overdue_tasks = db.session.execute(select(Task.id, Task.title, Task.due_on, Task.stage)
                                 .where(Task.status.in_(wf.OPEN_TASK_STATUSES), Task.due_on < clock.today())
                                 .order_by(Task.due_on).limit(8)).all()
    activity = db.session.execute(select(ActivityEntry.summary, ActivityEntry.actor_name, ActivityEntry.at)
                                  .order_by(ActivityEntry.at.desc(), ActivityEntry.id.desc()).limit(8)).all()
    # Overdue work, longest late first: tasks and every other dated item past its date (a document review, a
    # record, a check, an audit, a response), each once.
    late = sorted([(t.due_on, t.title, url_for("workspace.task", task_id=t.id), "task", "task", t.stage)
                   for t in overdue_tasks] +
                  [(i.due_on, i.title, item_href(i, g.client.slug), i.kind, dd.SOURCE_BY_KIND[i.kind].what, i.stage)
                   for i in ops.late_dated_items(g.client)], key=lambda row: row[0])[:8]
    can_request = may_request()
    kpis = ops.kpi_rows()
    review, sent_back = ops.review_state(current)
    audits = ops.external_audits()
    return render("workspace/overview.html", client=g.client, stages=stages, progress=wf.stage_progress(state),
                  current=current, gate=ops.gate(current, state), review=review,
                  sent_back=sent_back, can_request=can_request,
                  # Who can ask for the review is named only to those who can't.
                  requesters=[] if can_request else client_admin_names(),
                  late=late, activity=activity, summary=g.client.summary, certified=wf.is_certified(state),
                  report=ops.readiness_report(state, links=False), kpi_count=len(kpis),
                  red_kpis=[row for row in kpis if row.position.is_red],
                  objectives_at_risk=[row for row in ops.objective_rows(kpis)
                                      if row.status in (wk.OFF_TRACK, wk.AT_RISK)],
                  can_manage_kpis=may_change(*CLIENT_MANAGERS), kpi_labels=wk.STATUS_LABELS,
                  cb_deadlines=ops.open_cb_deadlines(audits), stage_2_repeat=ops.stage_2_repeat(audits),
                  stale_findings=ops.stale_count(), today=clock.today())
