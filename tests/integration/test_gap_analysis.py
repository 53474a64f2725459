"""The gap analysis at /c/<slug>/gap-analysis: rating items (with and without htmx), N/A only where the standard
allows it, a gap becoming a finding or a task with its clause, the report as CSV and as PDF, and bad input."""
from __future__ import annotations

import csv
import io
import shutil
import subprocess
from contextlib import contextmanager

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select, text

import tenants
from app.models import Finding, GapRating, Task, TaskComment

URL = "/c/{slug}/gap-analysis"


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield
    db.session.rollback()


def ratings(db, client) -> dict:
    with inside(db, client):
        return {r.clause: (r.rating, r.outcome, r.notes, r.evidence, r.justification, r.rated_by_name)
                for r in db.session.scalars(select(GapRating))}


def activity(db, client) -> int:
    with inside(db, client):
        return db.session.execute(text("SELECT count(*) FROM activity_log")).scalar()


@pytest.fixture
def world(factory):
    return factory.world()


def rate(http, w, clause, token=None, **data):
    url = URL.format(slug=w.client.slug)
    token = token or http.csrf(url)
    return http.client.post(f"{url}/{clause}", data={"csrf_token": token, **data})


def pdf_text(data: bytes) -> str:
    """The PDF's text as poppler's pdftotext reads it, or pypdf where poppler-utils is not installed."""
    if shutil.which("pdftotext"):
        return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True,
                              check=True).stdout.decode()
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_checklist_page_lists_every_item_grouped_by_clause(http, world):
    http.login(world.consultant.email)
    resp = http.get(URL.format(slug=world.client.slug))
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.count('<article class="gap-item') == 65
    assert body.count('class="gap-heading"') == 19
    assert '<h2 id="group-7-title">7 Support</h2>' in body
    assert "0 <span class=\"muted\">of 65</span>" in body
    assert body.count('value="not_applicable"') == 9  # 7.1.5.2, 8.3.1–8.3.6, 8.5.3, 8.5.5
    assert "Whose departure would hurt most" in body
    assert 'href="/c/%s/gap-analysis"' % world.client.slug in body  # the workspace tab


def test_a_consultant_rates_an_item(http, db, world):
    http.login(world.consultant.email)
    resp = rate(http, world, "7.1.6", rating="partly", notes="Know-how sits with Ann only", evidence="Wiki, 3 pages")
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/gap-analysis#item-7-1-6")
    assert ratings(db, world.client) == {"7.1.6": ("partly", "needs_documenting", "Know-how sits with Ann only",
                                                   "Wiki, 3 pages", None, world.consultant.name)}
    body = http.get(URL.format(slug=world.client.slug)).get_data(as_text=True)
    assert "7.1.6 rated partly." in body
    assert "1 <span class=\"muted\">of 65</span>" in body
    assert '<td class="num">1/14</td>' in body and '<td class="num">50%</td>' in body  # group 7: partly = ½
    with inside(db, world.client):
        assert db.session.execute(text("SELECT summary FROM activity_log ORDER BY id DESC LIMIT 1")).scalar() == \
            "Gap analysis 7.1.6 Organizational knowledge: partly (complies, needs documenting)"
    # Rated again: the same row, now sorted into "must be redesigned".
    assert rate(http, world, "7.1.6", rating="not_conforming", outcome="redesign").status_code == 303
    assert ratings(db, world.client)["7.1.6"][:3] == ("not_conforming", "redesign", "")


def test_htmx_saves_one_row_and_swaps_the_progress(http, db, world):
    http.login(world.client_admin.email)
    url = URL.format(slug=world.client.slug)
    token = http.csrf(url)
    resp = http.client.post(f"{url}/4.1", data={"csrf_token": token, "rating": "conforming"},
                            headers={"HX-Request": "true"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert body.startswith('<article class="gap-item gap-conforming" id="item-4-1">')
    assert '<span class="badge ok">Conforming</span> <span class="small muted">Complies and documented</span>' in body
    assert 'id="gap-progress" hx-swap-oob="true"' in body and 'id="gap-report" hx-swap-oob="true"' in body
    assert ratings(db, world.client)["4.1"][:2] == ("conforming", "documented")


def test_not_applicable_is_refused_where_the_standard_does_not_allow_it(http, db, world):
    http.login(world.consultant.email)
    before = activity(db, world.client)
    resp = rate(http, world, "7.1.5.1", rating="not_applicable", notes="We keep what I typed",
                justification="We measure nothing that matters here")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "7.1.5.1 General cannot be not applicable: ISO 9001 allows excluding only design and development" in body
    assert "We keep what I typed</textarea>" in body
    assert ratings(db, world.client) == {} and activity(db, world.client) == before


def test_not_applicable_with_a_justification_where_allowed(http, db, world):
    http.login(world.consultant.email)
    resp = rate(http, world, "8.3.1", rating="not_applicable", justification="n/a")
    assert resp.status_code == 422
    assert "Say why 8.3.1 does not apply, in at least 20 characters" in resp.get_data(as_text=True)
    reason = "We clean to the client's own specification; scope statement 4.3 excludes design."
    assert rate(http, world, "8.3.1", rating="not_applicable", justification=reason).status_code == 303
    assert ratings(db, world.client)["8.3.1"] == ("not_applicable", None, "", "", reason, world.consultant.name)


def test_a_gap_becomes_a_finding_with_its_clause(http, db, world):
    http.login(world.consultant.email)
    rate(http, world, "7.1.6", rating="not_conforming", notes="Only Ann knows the payroll set-up")
    url = URL.format(slug=world.client.slug)
    token = http.csrf(url)
    resp = http.client.post(f"{url}/7.1.6/finding", data={"csrf_token": token, "severity": ""})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Choose a severity." in body
    assert '<input type="radio" name="rating" value="not_conforming" checked>' in body  # the rating as stored
    assert "Only Ann knows the payroll set-up</textarea>" in body
    resp = http.client.post(f"{url}/7.1.6/finding", data={"csrf_token": token, "severity": "major"})
    assert resp.status_code == 303
    with inside(db, world.client):
        f = db.session.scalars(select(Finding)).one()
        assert (f.clause, f.severity, f.stage, f.status, f.title) == \
            ("7.1.6", "major", "initial_audit", "open", "7.1.6 Organizational knowledge: Missing")
        assert f.description == ("Raised from the gap analysis: 7.1.6 Organizational knowledge rated not conforming "
                                 "— missing.\nTo be remedied in: Implementation.\n"
                                 "Notes: Only Ann knows the payroll set-up")
        assert db.session.scalars(select(GapRating.finding_id)).one() == f.id
        finding_id = f.id
    page = http.get(url).get_data(as_text=True)
    assert f'<a href="/c/{world.client.slug}/findings#finding-{finding_id}">Finding #{finding_id}</a>' in page
    again = http.client.post(f"{url}/7.1.6/finding", data={"csrf_token": token, "severity": "minor"})
    assert again.status_code == 409
    assert f"7.1.6 Organizational knowledge already has finding #{finding_id}." in again.get_data(as_text=True)


def test_a_subclause_finding_keeps_its_own_clause_now_the_template_has_it(http, db, world):
    # Template v2 lists every numbered subclause; before it, 7.1.5.2 fell back to 7.1.5.
    http.login(world.owner.email)
    rate(http, world, "7.1.5.2", rating="partly")
    url = URL.format(slug=world.client.slug)
    resp = http.client.post(f"{url}/7.1.5.2/finding", data={"csrf_token": http.csrf(url), "severity": "minor"})
    assert resp.status_code == 303
    with inside(db, world.client):
        assert db.session.scalars(select(Finding.clause)).one() == "7.1.5.2"


def test_only_a_gap_becomes_a_finding_or_a_task(http, db, world):
    http.login(world.consultant.email)
    rate(http, world, "4.2", rating="conforming")
    url = URL.format(slug=world.client.slug)
    token = http.csrf(url)
    for action, data in (("finding", {"severity": "minor"}), ("task", {})):
        resp = http.client.post(f"{url}/4.2/{action}", data={"csrf_token": token, **data})
        assert resp.status_code == 409
        assert "4.2 Understanding the needs and expectations of interested parties is not rated as a gap" in \
            resp.get_data(as_text=True)
        assert http.client.post(f"{url}/4.3/{action}", data={"csrf_token": token, **data}).status_code == 409
    with inside(db, world.client):
        assert db.session.scalar(select(func.count(Finding.id))) == 0


def test_a_gap_becomes_a_task_in_the_stage_that_remedies_it(http, db, world):
    http.login(world.client_admin.email)
    rate(http, world, "9.2.2", rating="not_conforming", notes="No audit programme yet")
    url = URL.format(slug=world.client.slug)
    token = http.csrf(url)
    resp = http.client.post(f"{url}/9.2.2/task", data={"csrf_token": token})
    assert resp.status_code == 303
    with inside(db, world.client):
        task = db.session.scalars(select(Task).where(Task.key == "gap_9_2_2")).one()
        assert (task.stage, task.clauses, task.title, task.status, task.required, task.allow_not_applicable) == \
            ("internal_audit", ["9.2.2"], "Close the gap on 9.2.2 Audit programme", "todo", True, False)
        assert task.guidance.startswith("Questions from the gap analysis:\n- Is there an audit programme")
        comment = db.session.scalars(select(TaskComment).where(TaskComment.task_id == task.id)).one()
        assert comment.body.endswith("To be remedied in: Internal audit.\nNotes: No audit programme yet")
        positions = [t.stage for t in db.session.scalars(select(Task).order_by(Task.position))]
        assert positions == sorted(positions, key=["initial_audit", "system_design", "implementation",
                                                   "internal_audit", "certification_audit"].index)
        task_id = task.id
    assert f'href="/c/{world.client.slug}/tasks/{task_id}">Task in Internal audit</a>' in http.get(url).get_data(
        as_text=True)
    again = http.client.post(f"{url}/9.2.2/task", data={"csrf_token": token})
    assert again.status_code == 409


def test_staff_read_the_gap_analysis_but_do_not_rate(http, db, world):
    http.login(world.consultant.email)
    rate(http, world, "5.3", rating="partly", notes="RACI on the wall")
    http.logout()
    http.login(world.staff.email)
    body = http.get(URL.format(slug=world.client.slug)).get_data(as_text=True)
    assert "RACI on the wall" in body and 'name="rating"' not in body
    resp = rate(http, world, "5.3", rating="conforming")
    assert resp.status_code == 403
    assert ratings(db, world.client)["5.3"][0] == "partly"


def test_the_report_as_csv(http, db, world):
    http.login(world.consultant.email)
    rate(http, world, "8.2.1", rating="partly", outcome="redesign", notes="=HYPERLINK(\"x\") complaints by mail")
    rate(http, world, "8.3.1", rating="not_applicable", justification="Only to the client's own specifications.")
    resp = http.get(URL.format(slug=world.client.slug) + ".csv")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert resp.headers["Content-Disposition"].startswith(f'attachment; filename="gap-analysis-{world.client.slug}-')
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
    assert rows[0] == ["Clause", "Requirement", "Clause group", "Rating", "Outcome", "Notes", "Evidence",
                       "Justification (not applicable)", "Rated by", "Rated at", "Finding", "Task"]
    assert len(rows) == 66
    by_clause = {r[0]: r for r in rows[1:]}
    assert by_clause["8.2.1"][:9] == ["8.2.1", "Customer communication", "8 Operation", "Partly", "Must be redesigned",
                                      "'=HYPERLINK(\"x\") complaints by mail", "", "", world.consultant.name]
    assert by_clause["8.3.1"][3:8] == ["Not applicable", "", "", "", "Only to the client's own specifications."]
    assert by_clause["4.1"][3:] == ["Not rated", "", "", "", "", "", "", "", ""]


def test_the_report_as_pdf(http, db, world):
    http.login(world.consultant.email)
    rate(http, world, "6.1.1", rating="not_conforming", notes="No risk register at all")
    rate(http, world, "7.5.2", rating="partly", notes="Files named final_v3")
    rate(http, world, "4.1", rating="conforming")
    resp = http.get(URL.format(slug=world.client.slug) + ".pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.data.startswith(b"%PDF-")
    words = " ".join(pdf_text(resp.data).split())
    assert "Gap analysis" in words and world.client.name in words
    assert "3 of 65 items rated" in words
    assert "50% overall score" in words  # (1 + ½ + 0) / 3
    assert ("Complies, needs documenting (1) Requirement Notes Follow-up "
            "7.5.2 Creating and updating Files named final_v3") in words
    assert "Missing (1) Requirement Notes Follow-up 6.1.1 Determining risks and opportunities No risk register at all" \
        in words
    assert "Must be redesigned (0) Nothing." in words


def test_hostile_input_changes_nothing(http, db, world):
    http.login(world.consultant.email)
    rate(http, world, "4.3", rating="conforming", notes="Scope agreed")
    before = (ratings(db, world.client), activity(db, world.client))
    url = URL.format(slug=world.client.slug)
    token = http.csrf(url)
    cases = [("4.3", {"rating": "partly", "notes": "bad\x00note"}, 422),
             ("4.3", {"rating": "partly", "notes": "n" * 5_001}, 422),
             ("4.3", {"rating": "partly", "evidence": "e" * 5_001}, 422),
             ("4.3", {"rating": "splendid"}, 422),
             ("4.3", {"rating": "conforming", "outcome": "missing"}, 422),
             ("8.3.2", {"rating": "not_applicable", "justification": "j" * 2_001}, 422),
             ("11.1", {"rating": "conforming"}, 404),
             ("7.1.5", {"rating": "conforming"}, 404),  # a heading: its subclauses are rated
             ("4.3%00", {"rating": "conforming"}, 404),
             ("x" * 300, {"rating": "conforming"}, 404)]
    for clause, data, status in cases:
        resp = http.client.post(f"{url}/{clause}", data={"csrf_token": token, **data})
        assert resp.status_code == status, (clause, data, resp.status_code)
    over_long = http.client.post(f"{url}/4.3", data={"csrf_token": token, "rating": "partly", "notes": "n" * 5_001})
    assert "Notes can be at most 5,000 characters long (5,001 given)." in over_long.get_data(as_text=True)
    for clause in ("11.1/finding", "11.1/task", "7.1.5/task"):
        assert http.client.post(f"{url}/{clause}", data={"csrf_token": token, "severity": "minor"}).status_code == 404
    assert (ratings(db, world.client), activity(db, world.client)) == before
