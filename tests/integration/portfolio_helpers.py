"""Putting clients into the states the portfolio and the cross-client KPI views tell apart, through the
operations (the real path, one `save` each), and reading the portfolio's table back from the HTML."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta
from html import unescape

from sqlalchemy import select

import tenants
import workflows as wf
from app import clock
from app.models import ClientSummary, Document, Kpi, Stage, Task
from app.workspace import operations as ops
from workflows import kpi as wk
from gate_evidence_helpers import meet_gate_evidence

SETUP = ops.Actor(None, "setup")


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def required_ids(db, client, stage=None):
    with inside(db, client):
        q = select(Task).where(Task.required).order_by(Task.position)
        if stage:
            q = q.where(Task.stage == stage)
        return [t.id for t in db.session.scalars(q)]


def finish(db, client, n):
    """The first `n` required tasks of the current stage done."""
    ids = required_ids(db, client, "initial_audit")[:n]
    with inside(db, client):
        for task_id in ids:
            ops.set_task_status(db.session.get(Task, task_id), "done", None, SETUP)
        ops.save(client)


def make_late(db, client, n):
    """`n` open tasks due yesterday."""
    with inside(db, client):
        tasks = db.session.scalars(select(Task).order_by(Task.position).limit(n)).all()
        for task in tasks:
            ops.set_due_date(task, clock.today() - timedelta(days=1), SETUP)
        ops.save(client)


def await_approval(db, client):
    """The initial audit's work done and its documents approved; the client asks for the gate review."""
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)):
            ops.set_task_status(task, "done", None, SETUP)
        for doc in db.session.scalars(select(Document).where(Document.stage == "initial_audit")):
            ops.set_document_status(doc, "approved", SETUP, role="top_management")
        meet_gate_evidence("initial_audit")
        ops.request_gate_review("initial_audit", "All in", SETUP)
        ops.save(client)


def slip(db, client, days):
    """The current stage's planned end `days` days ago (as if the plan had been made that way)."""
    with inside(db, client):
        stage = db.session.scalars(select(Stage).where(Stage.status == "current")).one()
        stage.planned_end = clock.now() - timedelta(days=days)
        ops.save(client)


def add_kpi(db, client, key, first_periods_back=0):
    """A library KPI for the client, counted from `first_periods_back` periods before the current one."""
    with inside(db, client):
        kpi = ops.add_from_library(key, None, set(), SETUP)
        period = wk.period_containing(clock.today(), kpi.frequency)
        for _ in range(first_periods_back):
            period = period.previous()
        kpi.first_period = period.key
        ops.save(client)
        return kpi.id


def measure(db, client, kpi_id, value, periods_back=0):
    with inside(db, client):
        kpi = db.session.get(Kpi, kpi_id)
        period = wk.period_containing(clock.today(), kpi.frequency)
        for _ in range(periods_back):
            period = period.previous()
        ops.record_measurement(kpi, period.key, str(value), "", SETUP)
        ops.save(client)


def set_next_audit(db, client, day):
    """The next external audit's date (the certification body's booking, entered elsewhere)."""
    db.session.get(ClientSummary, client.id).next_audit_on = day
    db.session.commit()


def table_rows(body: str) -> list[tuple]:
    """(name, stage, progress, readiness, overdue, gate, red KPIs, behind plan, target, last activity) per row."""
    table = re.search(r'<table class="data" id="client-list">.*?<tbody>(.*?)</tbody>', body, re.S)
    if not table:
        return []
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S):
        cells = [unescape(re.sub(r"<[^>]+>", " ", td)) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        name = unescape(re.search(r"<strong>(.*?)</strong>", tr).group(1))
        rows.append((name, *(" ".join(c.split()) for c in cells[1:])))
    return rows


def names(http, url="/") -> list[str]:
    resp = http.get(url)
    assert resp.status_code == 200, (url, resp.status_code)
    return [r[0] for r in table_rows(resp.get_data(as_text=True))]


def summary_line(body: str) -> str:
    found = re.search(r'<p class="small muted list-summary" id="list-summary">(.*?)</p>', body, re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split()) if found else ""


def progress_of(template: wf.Template, done: int) -> int:
    required = sum(1 for s in template.stages for t in s.tasks if t.required)
    return round(100 * done / required)
