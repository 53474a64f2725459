"""The internal audit at /c/<slug>/audits: the programme and its processes, the coverage matrix, an audit's
checklist from the gap analysis's questions, lines rated with evidence, a finding from a line in one step, the
report on screen and as PDF, completion, impartiality refused with the reason, the authored-documents warning,
and what the gate criteria read."""
from __future__ import annotations

import re
import shutil
import subprocess
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

import tenants
from app import clock
from app.models import AuditLine, AuditProcess, Document, DocumentVersion, Finding, InternalAudit, Task, User
from app.workspace import operations as ops
from app.workspace.operations import internal_audits as audit_ops

URL = "/c/{slug}/audits"


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield
    db.session.rollback()


def count(db, client, table: str) -> int:
    with inside(db, client):
        return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def pdf_text(data: bytes) -> str:
    assert shutil.which("pdftotext"), "poppler's pdftotext is installed on this machine"
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()


@pytest.fixture
def world(factory):
    return factory.world()


def post(http, w, path, **data):
    token = http.csrf(URL.format(slug=w.client.slug))
    return http.client.post(URL.format(slug=w.client.slug) + path, data={"csrf_token": token, **data})


def add_process(http, w, name, owner, risk="medium", **extra):
    return post(http, w, "/processes", name=name, owner_id=str(owner.id), risk=risk, in_scope="1", **extra)


def process_id(db, w, name) -> int:
    with inside(db, w.client):
        return db.session.scalar(select(AuditProcess.id).where(AuditProcess.name == name))


def plan(http, w, auditor, clauses="8.4, 9.2", processes=(), **extra):
    day = (clock.today() + timedelta(days=14)).isoformat()
    data = {"title": "Purchasing and audits", "clauses": clauses, "planned_on": day, "auditor_id": str(auditor.id),
            "auditees": "Sam Staff", **extra}
    token = http.csrf(URL.format(slug=w.client.slug))
    return http.client.post(URL.format(slug=w.client.slug),
                            data={"csrf_token": token, **data, "process_ids": [str(p) for p in processes]})


def latest_audit(db, w) -> tuple[int, list[str]]:
    with inside(db, w.client):
        a = db.session.scalars(select(InternalAudit).order_by(InternalAudit.id.desc())).first()
        return (a.id, [ln.clause for ln in a.lines]) if a else (None, [])


def rate(http, w, audit_id, clause, rating="conforming", evidence="Sampled 5 purchase orders", **extra):
    return post(http, w, f"/{audit_id}/lines/{clause}", rating=rating, evidence=evidence, **extra)


# --- the programme and the matrix -------------------------------------------------------------------

def test_programme_processes_and_the_coverage_matrix(http, db, world):
    http.login(world.consultant.email)
    page = http.get(URL.format(slug=world.client.slug))
    assert page.status_code == 200 and "Internal audits" in page.get_data(as_text=True)
    assert 'href="/c/%s/audits"' % world.client.slug in page.get_data(as_text=True)  # the Audits tab
    start, end = clock.today(), clock.today() + timedelta(days=300)
    resp = post(http, world, "/programme", period_start=start.isoformat(), period_end=end.isoformat(),
                methods=["interviews", "record_sampling"], manager_id=str(world.client_admin.id),
                notes="Every process before stage 2")
    assert resp.status_code == 303
    assert add_process(http, world, "Sales and quoting", world.staff, "high",
                       importance="Most complaints start here").status_code == 303
    assert add_process(http, world, "Service delivery", world.client_admin).status_code == 303
    assert plan(http, world, world.consultant, "4, 5, 6, 7", [process_id(db, world, "Sales and quoting")]).status_code == 303
    body = http.get(URL.format(slug=world.client.slug)).get_data(as_text=True)
    assert "Interviews, Record sampling" in body and "High risk" in body and "Most complaints start here" in body
    matrix = body[body.index('id="coverage-matrix"'):body.index("</table>", body.index('id="coverage-matrix"'))]
    assert matrix.count(">Planned<") == 4 and ">Done<" not in matrix
    assert "Process “Service delivery” has not been audited" in body
    assert "Clause 10:" in body


def test_programme_and_process_refusals_keep_what_was_typed(http, db, world):
    http.login(world.consultant.email)
    resp = post(http, world, "/programme", period_start="2026-13-40", period_end="", methods=["interviews"],
                manager_id=str(world.client_admin.id), notes="Kept note")
    assert resp.status_code == 422 and "is not a date" in resp.get_data(as_text=True)
    assert "Kept note" in resp.get_data(as_text=True)
    resp = add_process(http, world, "Sales", world.staff, "high")
    assert resp.status_code == 422 and "Say why the process is high risk" in resp.get_data(as_text=True)
    resp = add_process(http, world, "x" * 300, world.staff)
    assert resp.status_code == 422 and "at most 200 characters" in resp.get_data(as_text=True)
    assert add_process(http, world, "Sales", world.staff).status_code == 303
    resp = add_process(http, world, "sales", world.staff)
    assert resp.status_code == 409 and "already has a process" in resp.get_data(as_text=True)
    assert count(db, world.client, "audit_processes") == 1 and count(db, world.client, "audit_programmes") == 0


# --- an audit, its checklist and ratings ---------------------------------------------------------------

def test_an_audits_checklist_is_the_gap_analysis_questions_for_its_clauses(http, db, world):
    http.login(world.consultant.email)
    assert plan(http, world, world.consultant).status_code == 303
    audit_id, clauses = latest_audit(db, world)
    assert clauses == ["8.4.1", "8.4.2", "8.4.3", "9.2.1", "9.2.2"]
    page = http.get(URL.format(slug=world.client.slug) + f"/{audit_id}").get_data(as_text=True)
    checklist = ops.gap_checklist()
    assert checklist.item("8.4.1").questions[0] in page
    assert "IA-001" in page and "0 of 5 checklist lines rated" in page


def test_bad_audit_plans_are_refused_and_nothing_is_planned(http, db, world):
    http.login(world.consultant.email)
    resp = plan(http, world, world.consultant, clauses="8.4, 12")
    assert resp.status_code == 422 and "“12” is not a clause" in resp.get_data(as_text=True)
    assert "Purchasing and audits" in resp.get_data(as_text=True)  # the title typed comes back
    resp = plan(http, world, world.consultant, planned_on="")
    assert resp.status_code == 422 and "Give the date" in resp.get_data(as_text=True)
    assert count(db, world.client, "internal_audits") == 0


def test_rating_lines_needs_evidence_and_a_known_line(http, db, world):
    http.login(world.consultant.email)
    plan(http, world, world.consultant)
    audit_id, _ = latest_audit(db, world)
    resp = rate(http, world, audit_id, "8.4.1", evidence="")
    assert resp.status_code == 422 and "Say what evidence you saw" in resp.get_data(as_text=True)
    resp = rate(http, world, audit_id, "8.4.1", rating="great")
    assert resp.status_code == 422
    assert rate(http, world, audit_id, "7.1.6").status_code == 404
    assert rate(http, world, audit_id, "8.4.1", notes="Kept\x00").status_code == 422
    http.logout()
    http.login(world.staff.email)
    assert rate(http, world, audit_id, "8.4.1").status_code == 303
    with inside(db, world.client):
        line = db.session.scalar(select(AuditLine).where(AuditLine.clause == "8.4.1"))
        assert (line.rating, line.evidence, line.rated_by_name) == ("conforming", "Sampled 5 purchase orders",
                                                                    world.staff.name)
        assert db.session.get(InternalAudit, audit_id).status == "in_progress"
    http.logout()
    http.login(world.auditor.email)  # the read-only role
    assert rate(http, world, audit_id, "8.4.2").status_code == 403


# --- a finding from a line --------------------------------------------------------------------------

def test_a_finding_from_a_line_in_one_step(http, db, world):
    http.login(world.consultant.email)
    plan(http, world, world.consultant)
    audit_id, _ = latest_audit(db, world)
    resp = post(http, world, f"/{audit_id}/lines/8.4.2/finding", kind="system_nonconformity", grade="minor")
    assert resp.status_code == 409 and "Rate 8.4.2" in resp.get_data(as_text=True)
    rate(http, world, audit_id, "8.4.2", "partly", "Two of five suppliers never evaluated")
    resp = post(http, world, f"/{audit_id}/lines/8.4.2/finding", kind="system_nonconformity", grade="minor")
    assert resp.status_code == 303
    with inside(db, world.client):
        line = db.session.scalar(select(AuditLine).where(AuditLine.clause == "8.4.2"))
        f = db.session.get(Finding, line.finding_id)
        assert (f.source, f.severity, f.kind) == ("internal_audit", "minor", "system_nonconformity")
        assert f.clause.startswith("8.4") and f.evidence == "Two of five suppliers never evaluated"
        assert "IA-001" in f.title and "checklist line 8.4.2" in f.description
        finding_id, finding_title = f.id, f.title
    page = http.get(URL.format(slug=world.client.slug) + f"/{audit_id}").get_data(as_text=True)
    assert f'href="/c/{world.client.slug}/findings/{finding_id}"' in page
    resp = post(http, world, f"/{audit_id}/lines/8.4.2/finding", kind="observation", grade="")
    assert resp.status_code == 409 and "already has finding" in resp.get_data(as_text=True)
    rate(http, world, audit_id, "9.2.1", "conforming", "Programme seen")
    resp = post(http, world, f"/{audit_id}/lines/9.2.1/finding", kind="opportunity", grade="")
    assert resp.status_code == 303
    with inside(db, world.client):
        assert db.session.scalar(select(func.count(Finding.id)).where(Finding.source == "internal_audit")) == 2
        # the gate's criterion names the minor without an action, not the opportunity
        assert audit_ops.ncs_without_action() == (f"#{finding_id} “{finding_title}”",)


# --- report, PDF, completion ----------------------------------------------------------------------------

def test_report_pdf_and_completion(http, db, world):
    http.login(world.consultant.email)
    plan(http, world, world.consultant, clauses="9.2")
    audit_id, clauses = latest_audit(db, world)
    rate(http, world, audit_id, "9.2.1", "conforming", "Programme and schedule seen")
    resp = post(http, world, f"/{audit_id}/complete")
    assert resp.status_code == 409 and "1 checklist line is not rated (9.2.2)" in resp.get_data(as_text=True)
    assert "the report has no conclusion" in resp.get_data(as_text=True)
    rate(http, world, audit_id, "9.2.2", "partly", "One audit report not distributed")
    post(http, world, f"/{audit_id}/lines/9.2.2/finding", kind="system_nonconformity", grade="minor")
    assert post(http, world, f"/{audit_id}/report", summary="Audit of the audit process",
                conclusion="The system conforms and is effectively implemented, with one minor.",
                positives="Auditors well prepared", distribution="Top management, 2026-12-10").status_code == 303
    pdf = http.get(URL.format(slug=world.client.slug) + f"/{audit_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    words = re.sub(r"\s+", " ", pdf_text(pdf.data))
    for expected in ("Internal audit report IA-001", world.client.name, "effectively implemented",
                     "Auditors well prepared", "Top management, 2026-12-10", "9.2.2", "Minor",
                     "One audit report not distributed", "internal audit report"):
        assert expected in words, expected
    assert post(http, world, f"/{audit_id}/complete").status_code == 303
    with inside(db, world.client):
        a = db.session.get(InternalAudit, audit_id)
        assert (a.status, a.completed_on) == ("completed", clock.today())
        # The management review's gate criterion reads the completed audit (no audit task was done).
        assert ops.client_state().internal_audit_completed_on == clock.today()
    resp = rate(http, world, audit_id, "9.2.1", "partly")
    assert resp.status_code == 409 and "completed" in resp.get_data(as_text=True)
    assert post(http, world, f"/{audit_id}/report", conclusion="Changed").status_code == 409


def test_coverage_completes_with_completed_audits_over_everything(http, db, world):
    http.login(world.consultant.email)
    add_process(http, world, "Delivery", world.client_admin)
    pid = process_id(db, world, "Delivery")
    with inside(db, world.client):
        assert len(audit_ops.gate_fields()["audit_uncovered"]) == 8  # seven clause groups and the process
    plan(http, world, world.consultant, clauses="4, 5, 6, 7, 8, 9, 10", processes=[pid])
    audit_id, clauses = latest_audit(db, world)
    with inside(db, world.client):
        a = db.session.get(InternalAudit, audit_id)
        for line in a.lines:  # rated directly: 65 requests would say nothing more than one
            line.rating, line.evidence, line.rated_by_name, line.rated_at = "conforming", "Seen", "C", clock.now()
        a.conclusion = "Conforms"
        ops.save(world.client)
    assert post(http, world, f"/{audit_id}/complete").status_code == 303
    with inside(db, world.client):
        assert audit_ops.gate_fields() == {"audit_uncovered": (), "audit_ncs_without_ca": ()}
    body = http.get(URL.format(slug=world.client.slug)).get_data(as_text=True)
    assert "Every clause and process covered" in body


# --- impartiality -------------------------------------------------------------------------------------

def test_an_auditor_cannot_audit_their_own_process(http, db, world):
    http.login(world.consultant.email)
    add_process(http, world, "Purchasing", world.staff)
    before = count(db, world.client, "activity_log")
    resp = plan(http, world, world.staff, processes=[process_id(db, world, "Purchasing")])
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "cannot audit this scope impartially: they own the process “Purchasing”" in body
    assert count(db, world.client, "internal_audits") == 0 and count(db, world.client, "activity_log") == before


def test_an_auditor_cannot_audit_tasks_they_completed_nor_rate_them(http, db, world):
    with inside(db, world.client):
        task = db.session.scalars(select(Task).order_by(Task.position)).first()
        task.status, task.completed_by_id, task.clauses = "done", world.client_admin.id, ["8.4.1"]
        title = task.title
        ops.save(world.client)
    http.login(world.consultant.email)
    resp = plan(http, world, world.client_admin)
    assert resp.status_code == 422 and f"they completed the task “{title}” (8.4.1)" in resp.get_data(as_text=True)
    assert plan(http, world, world.staff).status_code == 303
    audit_id, _ = latest_audit(db, world)
    http.logout()
    http.login(world.client_admin.email)  # not the auditor, and not impartial either
    resp = rate(http, world, audit_id, "8.4.1")
    assert resp.status_code == 422 and "cannot audit this scope impartially" in resp.get_data(as_text=True)
    with inside(db, world.client):
        assert db.session.scalar(select(AuditLine.rating).where(AuditLine.clause == "8.4.1")) is None


def test_a_consultant_auditing_documents_they_wrote_is_warned_with_colleagues(http, db, world):
    with inside(db, world.client):
        doc = db.session.scalars(select(Document).order_by(Document.id)).first()
        doc.clauses = ["8.4"]
        doc_title = doc.title
        db.session.add(DocumentVersion(document_id=doc.id, number=99, body="Written", change_reason="x",
                                       created_by_id=world.consultant.id, created_by_name="Consultant"))
        ops.save(world.client)
    colleague = db.session.get(User, world.other_consultant.id)
    colleague.name = "Cleo Colleague"
    db.session.commit()
    http.login(world.consultant.email)
    resp = plan(http, world, world.consultant)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'id="authored-warning"' in body
    assert doc_title in body and "Cleo Colleague" in body and "Olivia Owner" in body
    assert count(db, world.client, "internal_audits") == 0
    assert plan(http, world, world.consultant, confirm_authored="1").status_code == 303
    assert count(db, world.client, "internal_audits") == 1


# --- the gate reads the programme ---------------------------------------------------------------------

def test_client_state_reads_the_programme_only_when_the_template_asks(http, db, world, factory):
    import workflows as wf
    from app.workspace.operations import state as state_ops

    pinned = factory.world(template=wf.load_template("iso9001-2015", 2))
    with inside(db, pinned.client):
        assert ops.client_state().audit_uncovered == ()  # version 2 sets neither criterion
    with inside(db, world.client):  # version 3 sets both
        state = ops.client_state()
        assert len(state.audit_uncovered) == 7
        result = state_ops.wf.evaluate_gate(state_ops.template(), state, "internal_audit")
        assert "Internal audit programme: Clause 4: " in " ".join(u.message for u in result.unmet)


# --- demo ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stage_index", [3, 4])
def test_demo_internal_audits_are_credible(db, world, stage_index):
    from app.demo_audits import seed_internal_audits

    with inside(db, world.client):
        seed_internal_audits(stage_index, db.session.get(User, world.staff.id), None,
                             db.session.get(User, world.consultant.id), 7)
        ops.save(world.client)
    with inside(db, world.client):
        audits = audit_ops.audits()
        assert [a.status for a in audits] == ["completed", "completed"]
        assert all(ln.rating and ln.evidence for a in audits for ln in a.lines)
        assert audit_ops.programme_coverage().complete
        found = db.session.scalars(select(Finding).where(Finding.source == "internal_audit")).all()
        assert sorted(f.severity for f in found) == ["minor", "minor", "minor", "opportunity", "opportunity"]
        minors = [f for f in found if f.severity == "minor"]
        assert all(f.actions for f in minors) and audit_ops.ncs_without_action() == ()
        # Open with their actions planned: the demo closes only findings whose closure carries evidence.
        assert all(f.status == "open" for f in minors)


def test_demo_internal_audits_wait_for_the_stage(db, world):
    from app.demo_audits import seed_internal_audits

    with inside(db, world.client):
        seed_internal_audits(2, db.session.get(User, world.staff.id), None, None, 7)
        assert audit_ops.audits() == [] and audit_ops.programme() is None
