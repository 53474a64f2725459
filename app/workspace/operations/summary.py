"""The portfolio's summary row, and the one commit of a change to a client.

`save` is how a view or job ends its unit of work: it brings the summary row
and the client's "My work" rows up to date in the same transaction, so neither
the portfolio nor anyone's list can disagree with the data they index, and
commits once.
"""
from __future__ import annotations

from sqlalchemy import func, select

import workflows as wf
from workflows import due_dates as dd
from workflows import kpi as wk

from ... import clock
from ...extensions import db
from ...models import ActivityEntry, Client, ClientSummary, Task
from ...notify.events import record_announced
from .certification import client_cycle, external_audits, next_audit
from .cycle import stale_items_count
from .due_items import dated_items
from .kpi_latest import write_latest
from .kpis import kpi_rows
from .state import client_state, pending_review, settings, stages, template
from .work_items import refresh_work_items, reviewers


def refresh_summary(client: Client, dated: list | None = None) -> ClientSummary:
    """Bring the client's summary row up to date; `dated`: its dated items (`due_items.dated_items`), when the
    caller has read them."""
    state = client_state()
    today = clock.today()
    open_statuses = wf.OPEN_TASK_STATUSES
    # The counts in one round trip.
    overdue, open_tasks, last, stale = db.session.execute(select(
        select(func.count()).select_from(Task).where(Task.status.in_(open_statuses), Task.due_on < today)
        .scalar_subquery(),
        select(func.count()).select_from(Task).where(Task.status.in_(open_statuses)).scalar_subquery(),
        select(func.max(ActivityEntry.at)).scalar_subquery(),
        stale_items_count())).one()
    summary = db.session.get(ClientSummary, client.id) or ClientSummary(client_id=client.id)
    summary.stage = state.current_stage
    summary.stage_progress = round(100 * wf.stage_progress(state).get(state.current_stage, 0))
    summary.overall_progress = round(100 * wf.overall_progress(state))
    summary.readiness = wf.readiness(template(), state).score
    summary.overdue_tasks = overdue
    summary.overdue_items = dd.overdue_count((item.due_on for _, item in (dated_items() if dated is None else dated)),
                                             today)
    summary.open_tasks = open_tasks
    summary.gate_awaiting_approval = pending_review(state.current_stage) is not None
    summary.target_certification_on = settings().target_on
    audits = external_audits()
    summary.next_audit_on, summary.next_audit_kind = next_audit(audits)
    found = client_cycle(audits, today)
    summary.certificate_expires_on = found.expires_on if found else None
    summary.stale_items = stale
    summary.last_activity_at = last
    kpis = kpi_rows()
    summary.red_kpis = sum(1 for row in kpis if row.position.is_red)
    summary.stale_kpis = sum(1 for row in kpis if row.position.status == wk.MISSING)
    current = next((st for st in stages() if st.status == "current"), None)
    summary.days_behind_plan = wf.days_behind_plan(current.planned_end if current else None, today,
                                                   finished=current is None)
    write_latest(client, kpis)
    db.session.add(summary)
    return summary


def refresh_indexes(client: Client) -> None:
    """Everything in the shared schema that mirrors the client's schema: its summary and its work items."""
    dated = dated_items()
    refresh_summary(client, dated)
    refresh_work_items(client, dated)


def save(client: Client) -> None:
    """Commit the change together with up-to-date shared rows (views and jobs only)."""
    db.session.flush()
    refresh_indexes(client)
    record_announced(client, reviewers)  # the notices of the change, in its transaction
    db.session.commit()
