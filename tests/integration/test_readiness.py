"""Readiness traced item by item, the projected certification date, and the overview's KPI block, through HTTP."""
import math
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from html import unescape

import pytest
from sqlalchemy import func, select

import tenants
import workflows as wf
from app import clock
from app.models import ClientSummary, Document, Finding, Task, WorkspaceSettings
from app.workspace import operations as ops
from gate_evidence_helpers import meet_gate_evidence

TODAY = datetime(2026, 5, 20, 9, 0, tzinfo=timezone.utc)
SETUP = ops.Actor(None, "setup")
ITEM = re.compile(r'<li class="(met|unmet)" data-kind="(\w+)" data-ref="([^"]+)" data-points="(\d+)">\s*'
                  r'(?:<a href="([^"]+)">)?')


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(TODAY):
        yield


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def page_items(html: str) -> list[tuple]:
    """(in place, kind, ref, points, link) of every item on the readiness page, top to bottom."""
    return [(m[0] == "met", m[1], m[2], int(m[3]), unescape(m[4]) if m[4] else None) for m in ITEM.findall(html)]


def score_on(html: str, element_id: str) -> int:
    return int(re.search(rf'id="{element_id}"[^>]*>(\d+)', html).group(1))


def gap_analysis_done_with_two_majors(db, client, weeks_ago=(1, 2, 3)):
    """Acme Logistics' case: the initial audit's tasks done and its document approved, two major findings
    open. The gate (which does not look at findings) reads "Everything is in place"."""
    with inside(db, client):
        majors = [ops.raise_finding("initial_audit", "major", title, "9.2", "", SETUP).id
                  for title in ("No internal audits", "No document control")]
        tasks = db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)
                                   .order_by(Task.position)).all()
        for i, task in enumerate(tasks):
            with clock.frozen_at(TODAY - timedelta(weeks=weeks_ago[i % len(weeks_ago)])):
                ops.set_task_status(task, "done", None, SETUP)
        for doc in db.session.scalars(select(Document).where(Document.stage == "initial_audit")):
            ops.set_document_status(doc, "approved", SETUP, role="top_management")
        meet_gate_evidence("initial_audit")
        ops.save(client)
    return majors


def _counts(db, client) -> tuple[int, int, int]:
    """(required tasks, required documents, required items in place) of the client's pinned template."""
    with inside(db, client):
        tasks = db.session.scalar(select(func.count()).select_from(Task).where(Task.required))
        docs = db.session.scalar(select(func.count()).select_from(Document).where(Document.required))
        done = db.session.scalar(select(func.count()).select_from(Task).where(Task.required, Task.status == "done"))
        approved = db.session.scalar(select(func.count()).select_from(Document)
                                     .where(Document.required, Document.status == "approved"))
    return tasks, docs, done + approved


def test_the_readiness_page_lists_every_item_and_the_score_is_their_points(http, db, factory):
    w = factory.world()
    majors = gap_analysis_done_with_two_majors(db, w.client)
    http.login(w.consultant.email)
    html = http.get(f"/c/{w.client.slug}/readiness").get_data(as_text=True)
    items = page_items(html)
    with inside(db, w.client):
        tasks = {t.key: (t.id, t.stage) for t in db.session.scalars(select(Task).where(Task.required))}
        docs = {d.key: (d.id, d.stage) for d in db.session.scalars(select(Document).where(Document.required))}
    base = f"/c/{w.client.slug}"
    # exactly the client's required tasks and documents, its two majors, five gates and the decision
    assert sorted(ref for _, kind, ref, _, _ in items if kind == "task") == sorted(tasks)
    assert sorted(ref for _, kind, ref, _, _ in items if kind == "document") == sorted(docs)
    assert [(ok, ref, link) for ok, kind, ref, _, link in items if kind == "finding"] == \
        [(False, str(i), f"{base}/findings#finding-{i}") for i in majors]
    assert [ref for _, kind, ref, _, _ in items if kind == "gate"] == list(wf.STAGE_KEYS)
    assert [(ok, ref) for ok, kind, ref, _, _ in items if kind == "decision"] == [(False, "certification_audit")]
    # in place: exactly the initial audit's tasks and its required document
    assert {(kind, ref) for ok, kind, ref, _, _ in items if ok} == \
        {("task", k) for k, (_, stage) in tasks.items() if stage == "initial_audit"} | \
        {("document", k) for k, (_, stage) in docs.items() if stage == "initial_audit"}
    # every item links to its row
    for ok, kind, ref, points, link in items:
        if kind == "task":
            assert link == f"{base}/tasks/{tasks[ref][0]}" and points == 1
        elif kind == "document":
            assert link == f"{base}/documents#doc-{docs[ref][0]}" and points == 1
        elif kind in ("gate", "decision"):
            assert link == f"{base}/gates" and points == 3
    # the score is the share of points on the page, and the overview shows the same number
    earned = sum(points for ok, _, _, points, _ in items if ok)
    total = sum(points for _, _, _, points, _ in items)
    assert (score_on(html, "earned-points"), score_on(html, "total-points")) == (earned, total)
    assert score_on(html, "score") == round(100 * earned / total)
    overview = http.get(f"{base}/").get_data(as_text=True)
    assert score_on(overview, "readiness-link") == round(100 * earned / total)
    assert f'href="{base}/readiness"' in overview


def test_the_contradiction_is_gone(http, db, factory):
    # Before: 16 % progress, readiness 0 and "Everything is in place" on one screen.
    w = factory.world()
    gap_analysis_done_with_two_majors(db, w.client)
    http.login(w.consultant.email)
    overview = http.get(f"/c/{w.client.slug}/").get_data(as_text=True)
    assert "Everything is in place" in overview  # the gate box is right: this gate does not look at findings
    db.session.rollback()
    summary = db.session.get(ClientSummary, w.client.id)
    score = score_on(overview, "readiness-link")
    assert score > 0 and summary.readiness == score  # the portfolio shows the same number
    tasks, docs, in_place = _counts(db, w.client)
    with inside(db, w.client):
        done = db.session.scalar(select(func.count()).select_from(Task).where(Task.required, Task.status == "done"))
    assert summary.overall_progress == round(100 * done / tasks)  # the initial audit's required tasks
    assert score == round(100 * in_place / (tasks + docs + 5 * 3 + 3 + 2 * 3))  # 5 gates, the decision, 2 majors
    why = re.search(r'class="small muted readiness-why">(.*?)</p>', overview, re.S).group(1)
    assert "2 open major findings" in why and "any one of which would stop certification" in why
    page = http.get(f"/c/{w.client.slug}/readiness").get_data(as_text=True)
    missing_first_stage = [(kind, ref) for ok, kind, ref, _, _ in page_items(page.split('id="stage-system_design"')[0])
                           if not ok]
    assert [kind for kind, _ in missing_first_stage] == ["finding", "finding", "gate"]


def test_projection_beside_the_target_date(http, db, factory):
    w = factory.world()
    gap_analysis_done_with_two_majors(db, w.client)  # 10 items completed over the last 3 weeks
    with inside(db, w.client):
        s = db.session.get(WorkspaceSettings, 1)
        s.start_on, s.target_on = (TODAY - timedelta(weeks=20)).date(), (TODAY + timedelta(weeks=40)).date()
        missing = len(ops.readiness().missing)
        ops.save(w.client)
    completed = _counts(db, w.client)[2]  # the initial audit's tasks and document, all in the last 6 weeks
    pace = completed / 6
    projected = TODAY.date() + timedelta(days=math.ceil(missing / pace * 7))
    weeks_late = round((projected - (TODAY + timedelta(weeks=40)).date()).days / 7)
    needed = math.ceil(missing / 40)
    assert 1 <= weeks_late <= 26  # said in weeks
    http.login(w.staff.email)
    for url in (f"/c/{w.client.slug}/", f"/c/{w.client.slug}/readiness"):
        html = unescape(http.get(url).get_data(as_text=True))
        block = re.sub(r"\s+", " ", html.split('id="projection"')[1].split("</p>\n</div>")[0])
        assert (TODAY + timedelta(weeks=40)).strftime("%d %b %Y") in block
        assert projected.strftime("%d %b %Y") in block
        assert f"About {weeks_late} weeks late at the current pace" in block
        assert f"complete {needed} required items a week" in block
        assert f"{missing} required items left; {pace:.1f} a week completed over the last 6 weeks" in block


def test_overview_names_red_and_missing_kpis_and_objectives_at_risk(http, db, factory):
    w = factory.world()
    with inside(db, w.client):
        late = ops.add_from_library("on_time_delivery", None, set(), SETUP)
        fine = ops.add_from_library("csat", None, set(), SETUP)
        silent = ops.add_from_library("complaints_per_100_jobs", None, set(), SETUP)
        db.session.flush()
        for kpi in (late, fine, silent):
            kpi.first_period = "2026-02"
        for period in ("2026-02", "2026-03", "2026-04"):
            ops.record_measurement(late, period, "70", "", SETUP)
            ops.record_measurement(fine, period, "93", "", SETUP)
        at_risk = ops.save_objective(None, ops.ObjectiveForm(title="Deliver on time", kpi_ids=(late.id,)), SETUP)
        ops.save_objective(None, ops.ObjectiveForm(title="Delighted customers", kpi_ids=(fine.id,)), SETUP)
        db.session.flush()
        ids = late.id, fine.id, silent.id, at_risk.id
        ops.save(w.client)
    http.login(w.staff.email)
    html = http.get(f"/c/{w.client.slug}/").get_data(as_text=True)
    block = html.split('id="kpi-attention"')[1].split('class="card"')[0]
    # by name: complaints (no value for any period), then on-time delivery (70 % against a red line of 80 %)
    assert re.findall(r'data-kpi="(\d+)"', block) == [str(ids[2]), str(ids[0])]
    assert f'/kpis/{ids[0]}"' in block and f'/kpis/{ids[2]}"' in block and f'/kpis/{ids[1]}"' not in block
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))
    assert "Complaints per 100 jobs Missing Apr 2026 not measured · 3 periods missing" in text
    assert "On-time service delivery Off track Apr 2026: 70 %" in text
    assert "Deliver on time Off track" in text and "Delighted customers" not in text
    assert re.findall(r'data-objective="(\d+)"', block) == [str(ids[3])]
    assert f"/objectives#objective-{ids[3]}" in block


def test_overview_without_kpis_says_what_to_do(http, factory):
    w = factory.world()
    http.login(w.client_admin.email)
    block = http.get(f"/c/{w.client.slug}/").get_data(as_text=True).split('id="kpi-attention"')[1]
    assert "No KPIs yet" in block and f"/c/{w.client.slug}/kpis/new" in block
    http.logout()
    http.login(w.staff.email)
    block = http.get(f"/c/{w.client.slug}/").get_data(as_text=True).split('id="kpi-attention"')[1]
    assert "No KPIs yet" in block and "/kpis/new" not in block.split('class="card"')[0]


def test_the_kpi_page_computes_the_implementation_kpis(http, db, factory):
    w = factory.world()
    gap_analysis_done_with_two_majors(db, w.client)
    with inside(db, w.client):
        ops.raise_finding("initial_audit", "minor", "Supplier list", "8.4", "", SETUP)
        overdue = db.session.scalars(select(Task).where(Task.stage == "system_design").order_by(Task.position)).first()
        overdue.due_on = (TODAY - timedelta(days=3)).date()
        state = ops.client_state()
        expected = wf.implementation_kpis(state, TODAY.date(), db.session.execute(select(Task.status, Task.due_on)).all(),
                                          None, {})
        ops.save(w.client)
    http.login(w.staff.email)
    html = http.get(f"/c/{w.client.slug}/kpis").get_data(as_text=True)
    section = html.split('id="implementation"')[1]
    assert re.search(r'id="impl-overall">(\d+)%', section).group(1) == str(expected.overall)
    assert re.search(r'id="impl-overdue"><a [^>]*>(\d+)<', section).group(1) == "1" == str(expected.overdue_tasks)
    assert re.findall(r'data-grade="(\w+)"><span class="badge[^"]*">(\d+)<', section) == \
        [("major", "2"), ("minor", "1"), ("observation", "0"), ("opportunity", "0")]
    assert 'aria-valuenow="100"' in section.split('data-stage="initial_audit"')[1].split("data-stage")[0]
    assert re.search(r'id="impl-days">(\d+)<', section)


def test_outsiders_get_404_on_the_readiness_page(http, factory):
    a, b = factory.world(), factory.world()
    sibling = factory.client(a.account, [a.consultant])
    sibling_staff = factory.member(sibling, "staff")
    for user in (sibling_staff, b.consultant):
        http.login(user.email)
        resp = http.get(f"/c/{a.client.slug}/readiness")
        assert resp.status_code == 404 and a.client.name not in resp.get_data(as_text=True)
        http.logout()
    http.login(a.auditor.email)
    assert http.get(f"/c/{a.client.slug}/readiness").status_code == 200
