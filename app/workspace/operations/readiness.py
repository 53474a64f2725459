"""The client's readiness items with the rows they stand for, its projected certification date, and its
implementation KPIs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import literal, select, union_all

import workflows as wf
from workflows.projection import RECENT_WEEKS

from ... import clock
from ...extensions import db
from ...models import Document, Finding, Stage, Task
from .state import client_state, settings, stages, template


@dataclass(frozen=True)
class ReadinessReport:
    readiness: wf.Readiness
    projection: wf.Projection | None  # None without a target date
    task_ids: dict[str, int]  # task key → row id, for the links
    document_ids: dict[str, int]


def readiness(state: wf.ClientState | None = None) -> wf.Readiness:
    return wf.readiness(template(), state or client_state())


def _completed_since(since) -> list:
    """When each readiness item completed since `since`: required tasks done, required documents approved,
    major findings closed, gates approved (not-applicable tasks carry no date and add no pace)."""
    query = union_all(
        select(Task.completed_at.label("at")).where(Task.required, Task.status == "done", Task.completed_at >= since),
        select(Document.approved_at).where(Document.required, Document.status == "approved",
                                           Document.approved_at >= since),
        select(Finding.closed_at).where(Finding.severity == "major", Finding.closed_at >= since),
        select(Stage.passed_at).where(Stage.status == "passed", Stage.passed_at >= since),
    )
    return [at.date() for at in db.session.scalars(select(query.subquery().c.at))]


def projection(ready: wf.Readiness) -> wf.Projection | None:
    s = settings()
    if s is None or s.target_on is None:
        return None
    today = clock.today()
    since = clock.now() - timedelta(weeks=RECENT_WEEKS + 1)
    return wf.project_certification(len(ready.missing), _completed_since(since), today, s.target_on, s.start_on)


def readiness_report(state: wf.ClientState | None = None, links: bool = True) -> ReadinessReport:
    """The readiness items and the projection; with `links`, the row ids the item-by-item page links to."""
    ready = readiness(state)
    ids: dict[str, dict[str, int]] = {"task": {}, "document": {}}
    rows = union_all(select(literal("task"), Task.key, Task.id), select(literal("document"), Document.key, Document.id))
    for kind, key, row_id in db.session.execute(rows) if links else ():  # both kinds in one round trip
        ids[kind][key] = row_id
    return ReadinessReport(readiness=ready, projection=projection(ready), task_ids=ids["task"],
                           document_ids=ids["document"])


def implementation_kpis(state: wf.ClientState | None = None) -> wf.ImplementationKpis:
    """Progress, time in the current stage, overdue tasks and open findings, read live from the tables."""
    state = state or client_state()
    current = next(st for st in stages() if st.key == state.current_stage)
    planned = {st.key: (st.planned_start.date() if st.planned_start else None,
                        st.planned_end.date() if st.planned_end else None) for st in stages()}
    due = db.session.execute(select(Task.status, Task.due_on)).all()
    return wf.implementation_kpis(state, clock.today(), due, current.entered_at.date() if current.entered_at else None,
                                  planned)
