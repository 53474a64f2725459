"""The consultant's portfolio: worst first (a gate awaiting approval, then the most overdue work, then the least
progress, then the name), and every figure of every row as the plan says, also after a change."""
from __future__ import annotations

import re
from collections import namedtuple
from contextlib import contextmanager
from datetime import timedelta
from html import unescape

from sqlalchemy import func, select

import tenants
import workflows as wf
from app import clock
from app.models import Document, GateReview, Task
from app.workspace import operations as ops
from conftest import unique
from workflows.stages import stage_label

SETUP = ops.Actor(None, "setup")
Plain = namedtuple("Plain", "stage required status due_on")  # a task's figures, outside the client's scope


@contextmanager
def inside(db, client):
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def _required(db, client, stage=None):
    with inside(db, client):
        q = select(Task).where(Task.required).order_by(Task.position)
        if stage:
            q = q.where(Task.stage == stage)
        return [t.id for t in db.session.scalars(q)]


def finish(db, client, n):
    """The first `n` required tasks of the current stage done."""
    ids = _required(db, client, "initial_audit")[:n]
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
            ops.set_document_status(doc, "approved", SETUP, may_approve=True)
        ops.request_gate_review("initial_audit", "All in", SETUP)
        ops.save(client)


# --- what the plan says a row shows -----------------------------------------------------------------

def readiness(tasks: list, documents: list) -> int:
    """The readiness score as documented (workflows/readiness.py), for a client with nothing passed and no
    major finding: 1 point per required task finished and per required document approved, over those plus
    3 points for each of the five gates and the certification decision."""
    required_docs = [d for d in documents if d.required]
    earned = sum(1 for t in tasks if t.required and t.status in wf.FINISHED_TASK_STATUSES) + \
        sum(1 for d in required_docs if d.status == "approved")
    return round(100 * earned / (sum(1 for t in tasks if t.required) + len(required_docs) + 6 * 3))


def expected_row(db, client) -> tuple:
    today = clock.today()
    with inside(db, client):
        stage = ops.current_stage_key()
        tasks = [Plain(t.stage, t.required, t.status, t.due_on) for t in db.session.scalars(select(Task))]
        documents = [Plain(d.stage, d.required, d.status, None) for d in db.session.scalars(select(Document))]
        pending = db.session.scalar(select(func.count()).select_from(GateReview).where(
            GateReview.stage == stage, GateReview.status == "requested"))
        target = ops.settings().target_on
    required = [t for t in tasks if t.required]
    done = [t for t in required if t.status in wf.FINISHED_TASK_STATUSES]
    overdue = sum(1 for t in tasks if t.status in wf.OPEN_TASK_STATUSES and t.due_on < today)
    return (client.name, stage_label(stage), f"{round(100 * len(done) / len(required))}%",
            str(readiness(tasks, documents)), str(overdue),
            "Awaiting approval" if pending else "—", target.strftime("%d %b %Y"))


def portfolio_rows(http) -> list[tuple]:
    """(name, stage, progress, readiness, overdue, gate, target, last activity) per row, top to bottom."""
    resp = http.get("/")
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    table = re.search(r'<table class="data" id="client-list">.*?<tbody>(.*?)</tbody>', body, re.S)
    assert table, "no client list on the portfolio"
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S):
        cells = [unescape(re.sub(r"<[^>]+>", " ", td)) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        name = unescape(re.search(r"<strong>(.*?)</strong>", tr).group(1))
        rows.append((name, *(" ".join(c.split()) for c in cells[1:])))
    return rows


def test_worst_first_with_every_figure_from_the_plan_and_after_a_change(http, factory, db):
    owner = factory.user("Olivia Owner")
    account = factory.account(owner)
    consultant = factory.consultant(account)
    prefix = unique("Portfolio")
    clients = {n: factory.client(account, [consultant], name=f"{prefix} {n}")
               for n in ("Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf")}
    staff = factory.member(clients["Echo"], "staff")
    finish(db, clients["Alpha"], 2)  # the most progress
    make_late(db, clients["Bravo"], 1)
    make_late(db, clients["Charlie"], 2)  # the most overdue work
    await_approval(db, clients["Delta"])  # waiting for the consultant: first, whatever else
    # Echo, Foxtrot, Golf: alike (nothing done, nothing late), so by name.
    order = ["Delta", "Charlie", "Bravo", "Echo", "Foxtrot", "Golf", "Alpha"]

    http.login(consultant.email)
    rows = portfolio_rows(http)
    assert [r[0] for r in rows] == [clients[n].name for n in order]
    assert [r[:7] for r in rows] == [expected_row(db, clients[n]) for n in order]
    # The figures are real, not zeros everywhere: spot-check them against the plan in plain numbers.
    required = len(_required(db, clients["Alpha"]))
    first_stage = len(_required(db, clients["Alpha"], "initial_audit"))
    by_name = {r[0]: r for r in rows}
    assert by_name[clients["Alpha"].name][2] == f"{round(200 / required)}%"
    assert by_name[clients["Delta"].name][2] == f"{round(100 * first_stage / required)}%"
    assert (by_name[clients["Charlie"].name][4], by_name[clients["Bravo"].name][4]) == ("2", "1")
    assert by_name[clients["Golf"].name][2:6] == ("0%", "0", "0", "—")
    http.logout()

    # Echo's staff finish a task: Echo's row follows at once, and it moves behind the clients with none done.
    http.login(staff.email)
    echo = clients["Echo"]
    task_id = _required(db, echo, "initial_audit")[0]
    url = f"/c/{echo.slug}/tasks/{task_id}"
    assert http.submit(f"{url}/status", {"status": "done"}, form_url=url).status_code == 302
    http.logout()
    http.login(consultant.email)
    rows = portfolio_rows(http)
    order = ["Delta", "Charlie", "Bravo", "Foxtrot", "Golf", "Echo", "Alpha"]
    assert [r[0] for r in rows] == [clients[n].name for n in order]
    assert [r[:7] for r in rows] == [expected_row(db, clients[n]) for n in order]
    echo_row = next(r for r in rows if r[0] == echo.name)
    assert echo_row[2] == f"{round(100 / required)}%" and echo_row[2] != "0%"
    assert re.fullmatch(r"just now|[1-5] minutes? ago", echo_row[7]), echo_row[7]
