"""Gates that check evidence, through HTTP: findings held at their target stage, record instances counted in
the operating window, the gap checklist rated; evidence files on a document version and a record instance;
and the migration that gave existing findings their target stage."""
import io
from contextlib import contextmanager

from sqlalchemy import select, text

import tenants
import workflows as wf
from app import clock
from app.models import ActivityEntry, Attachment, Document, DocumentVersion, Finding, RecordEntry, Stage, Task
from app.workspace import operations as ops
from app.workspace.operations.evidence import storage_used

SETUP = ops.Actor(None, "setup")
V2 = wf.load_template("iso9001-2015", 2)  # the tests here set the criteria they are about themselves


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def text_of(resp) -> str:
    return resp.get_data(as_text=True)


def complete(db, client, stage):
    with inside(db, client):
        for task in db.session.scalars(select(Task).where(Task.stage == stage, Task.required)):
            ops.set_task_status(task, "done", None, SETUP)
        for doc in db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", SETUP, role="top_management")
        ops.save(client)


def advance_to(db, client, stage, consultant):
    """Pass every gate before `stage` (each stage's work done first)."""
    while True:
        with inside(db, client):
            current = ops.current_stage_key()
        if current == stage:
            return
        complete(db, client, current)
        with inside(db, client):
            ops.approve_gate(current, "", ops.Actor(consultant.id, "Consultant"))
            ops.save(client)


def with_gate(db, client, stage, **criteria):
    """Pin the client to a copy of its template whose `stage` gate has these criteria (a client on version 2,
    whose gates apply none of them, so that each test sees only its own)."""
    with inside(db, client):
        s = ops.settings()
        data = dict(s.template_snapshot)
        data["stages"] = [dict(st, gate={**st["gate"], **criteria}) if st["key"] == stage else st
                          for st in data["stages"]]
        s.template_snapshot, s.template_version = data, s.template_version + 100
        db.session.commit()


def raise_major(http, slug, **fields):
    form = {"title": "No internal audits yet", "source": "gap_analysis", "kind": "system_nonconformity",
            "severity": "major", "stage": "initial_audit", "clause": "9.2", **fields}
    resp = http.submit(f"/c/{slug}/findings", form)
    assert resp.status_code == 303, text_of(resp)
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def approve(http, slug, stage):
    return http.submit(f"/c/{slug}/gates/{stage}/approve", {"comment": "checked"}, follow_redirects=True)


# --- target stage -------------------------------------------------------------------------------

def test_a_major_holds_only_the_gate_of_the_stage_that_can_remedy_it(http, factory, db):
    w = factory.world(template=V2)
    slug = w.client.slug
    http.login(w.consultant.email)
    audits = raise_major(http, slug)
    with inside(db, w.client):
        assert db.session.get(Finding, audits).target_stage == "internal_audit"
    page = text_of(http.get(f"/c/{slug}/findings/{audits}"))
    assert "To be remedied in <strong>Internal audit</strong>: while open it holds the Internal audit gate" in page

    advance_to(db, w.client, "implementation", w.consultant)
    complete(db, w.client, "implementation")
    gates = text_of(http.get(f"/c/{slug}/gates"))
    assert "a later stage will remedy (they do not hold this gate)" in gates and "— Internal audit" in gates
    resp = approve(http, slug, "implementation")
    assert "Implementation gate approved" in text_of(resp) or "approved" in text_of(resp)
    with inside(db, w.client):
        assert db.session.get(Stage, "implementation").status == "passed"

    # At the internal audit it holds the gate, and says so.
    complete(db, w.client, "internal_audit")
    resp = approve(http, slug, "internal_audit")
    assert f"Major finding #{audits} is open" in text_of(resp)
    with inside(db, w.client):
        assert db.session.get(Stage, "internal_audit").status == "current"


def test_the_consultant_moves_the_target_never_before_the_stage_raised_in(http, factory, db):
    w = factory.world(template=V2)
    slug = w.client.slug
    http.login(w.consultant.email)
    audits = raise_major(http, slug)
    url = f"/c/{slug}/findings/{audits}/target-stage"
    assert http.submit(url, {"target_stage": "implementation"}, form_url=f"/c/{slug}/findings/{audits}").status_code == 303
    with inside(db, w.client):
        assert db.session.get(Finding, audits).target_stage == "implementation"
        entry = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "finding.target_stage")).one()
        assert (entry.before, entry.after) == ({"target_stage": "internal_audit"}, {"target_stage": "implementation"})
    # Now it holds the implementation gate.
    advance_to(db, w.client, "implementation", w.consultant)
    complete(db, w.client, "implementation")
    resp = approve(http, slug, "implementation")
    assert f"Major finding #{audits} is open" in text_of(resp) and "(to be remedied in “Implementation”)" not in \
        text_of(resp)

    later = raise_major(http, slug, title="Supplier never evaluated", stage="implementation", clause="8.4.1")
    resp = http.submit(f"/c/{slug}/findings/{later}/target-stage", {"target_stage": "system_design"},
                       form_url=f"/c/{slug}/findings/{later}")
    assert resp.status_code == 422 and "raised in “Implementation”" in text_of(resp)
    resp = http.submit(f"/c/{slug}/findings/{later}/target-stage", {"target_stage": "somewhere"},
                       form_url=f"/c/{slug}/findings/{later}")
    assert resp.status_code == 422
    with inside(db, w.client):
        assert db.session.get(Finding, later).target_stage == "implementation"
    http.logout()
    http.login(w.client_admin.email)
    assert http.submit(url, {"target_stage": "certification_audit"},
                       form_url=f"/c/{slug}/findings/{audits}").status_code == 403
    page = text_of(http.get(f"/c/{slug}/findings/{audits}"))
    assert "To be remedied in <strong>Implementation</strong>" in page and 'name="target_stage"' not in page


# --- evidence over time -------------------------------------------------------------------------

def test_the_gate_refuses_on_too_few_record_instances_and_passes_once_enough_are_recorded(http, factory, db):
    w = factory.world(template=V2)
    slug = w.client.slug
    with_gate(db, w.client, "implementation", min_record_instances={"kpi_reports": 2})
    http.login(w.consultant.email)
    advance_to(db, w.client, "implementation", w.consultant)
    complete(db, w.client, "implementation")
    today = clock.today().isoformat()
    resp = approve(http, slug, "implementation")
    assert (f"2 of “Monthly KPI and objectives reports” needed since {today}; 0 recorded") in text_of(resp)
    with inside(db, w.client):
        reports = db.session.scalar(select(Document.id).where(Document.key == "kpi_reports"))
    page = f"/c/{slug}/documents/{reports}"
    assert http.submit(f"{page}/records", {"occurred_on": today, "note": "KPI report, month 1"},
                       form_url=page).status_code == 303
    resp = approve(http, slug, "implementation")
    assert f"1 recorded ({today})" in text_of(resp)
    assert "2 of “Monthly KPI and objectives reports”" in text_of(http.get(f"/c/{slug}/gates"))
    assert http.submit(f"{page}/records", {"occurred_on": today, "note": "KPI report, month 2"},
                       form_url=page).status_code == 303
    approve(http, slug, "implementation")
    with inside(db, w.client):
        assert db.session.get(Stage, "implementation").status == "passed"


def test_the_operating_period_holds_the_gate(http, factory, db):
    w = factory.world(template=V2)
    with_gate(db, w.client, "implementation", min_operating_days=56)
    http.login(w.consultant.email)
    advance_to(db, w.client, "implementation", w.consultant)
    complete(db, w.client, "implementation")
    resp = approve(http, w.client.slug, "implementation")
    assert "At least 56 days of operation needed since “Implementation” began on" in text_of(resp)
    assert "0 so far" in text_of(resp)


def test_gate_one_names_the_unrated_gap_items(http, factory, db):
    w = factory.world(template=V2)
    slug = w.client.slug
    with_gate(db, w.client, "initial_audit", all_gap_items_rated=True)
    complete(db, w.client, "initial_audit")
    http.login(w.consultant.email)
    resp = approve(http, slug, "initial_audit")
    with inside(db, w.client):
        items = [i.clause for i in ops.gap_checklist().items()]
    assert f"{len(items)} of {len(items)} gap-analysis checklist items are not rated: clauses 4.1" in text_of(resp)
    with inside(db, w.client):
        for clause in items[:-1]:
            ops.rate_gap_item(clause, "conforming", "documented", "", "", None, SETUP)
        ops.save(w.client)
    resp = approve(http, slug, "initial_audit")
    assert f"1 of {len(items)} gap-analysis checklist items is not rated: clause {items[-1]}" in text_of(resp)
    with inside(db, w.client):
        ops.rate_gap_item(items[-1], "conforming", "documented", "", "", None, SETUP)
        ops.save(w.client)
    approve(http, slug, "initial_audit")
    with inside(db, w.client):
        assert db.session.get(Stage, "initial_audit").status == "passed"


# --- evidence on documents and records ----------------------------------------------------------

def _attach(http, url, content: bytes, name: str, form_url: str):
    return http.submit(url, {"file": (io.BytesIO(content), name)}, form_url=form_url,
                       content_type="multipart/form-data")


def test_evidence_on_a_document_version_and_a_record_instance(http, factory, db, app):
    w = factory.world()
    slug = w.client.slug
    with inside(db, w.client):
        policy = db.session.scalar(select(Document.id).where(Document.key == "quality_policy"))
        version = db.session.scalar(select(DocumentVersion.id).where(DocumentVersion.document_id == policy))
        reports = db.session.scalar(select(Document.id).where(Document.key == "kpi_reports"))
    http.login(w.staff.email)
    page = f"/c/{slug}/documents/{policy}"
    signed = b"%PDF-1.4 signed by the managing director\n"
    resp = _attach(http, f"{page}/versions/{version}/evidence", signed, "policy-signed.pdf", page)
    assert resp.status_code == 303
    shown = text_of(http.get(page))
    assert "policy-signed.pdf" in shown and "Evidence for version 1" in shown
    with inside(db, w.client):
        att = db.session.scalars(select(Attachment).where(Attachment.document_version_id == version)).one()
        att_id, path = att.id, ops.attachment_path(att, app.config["UPLOAD_ROOT"], w.client.schema_name)
        assert att.task_id is None and att.uploaded_by_id == w.staff.id
    assert http.get(f"{page}/evidence/{att_id}").data == signed and path.read_bytes() == signed

    # A record instance takes evidence too (an attendance list beside the report).
    rpage = f"/c/{slug}/documents/{reports}"
    assert http.submit(f"{rpage}/records", {"occurred_on": clock.today().isoformat(), "note": "KPI report"},
                       form_url=rpage).status_code == 303
    with inside(db, w.client):
        record = db.session.scalar(select(RecordEntry.id).where(RecordEntry.document_id == reports))
    assert _attach(http, f"{rpage}/records/{record}/evidence", b"name,signed\nAna,yes\n", "attendance.csv",
                   rpage).status_code == 303
    assert "attendance.csv" in text_of(http.get(rpage))

    # Refusals: a program, an unknown type, more than the per-file limit; nothing is stored.
    resp = _attach(http, f"{page}/versions/{version}/evidence", b"MZ\x90\x00 a program", "minutes.pdf", page)
    assert resp.status_code == 422 and "looks like a program" in text_of(resp)
    resp = _attach(http, f"{rpage}/records/{record}/evidence", b"echo hi", "run.sh", rpage)
    assert resp.status_code == 422 and "run.sh" in text_of(resp)
    too_big = b"a" * (app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 10)
    resp = _attach(http, f"{rpage}/records/{record}/evidence", too_big, "huge.pdf", rpage)
    assert resp.status_code == 413 and "larger than" in text_of(resp)
    thirty_mb = b"a" * (30 * 1024 * 1024)  # past the request cap too: refused before the view reads it
    resp = _attach(http, f"{page}/versions/{version}/evidence", thirty_mb, "scan.pdf", page)
    assert resp.status_code == 413 and "larger than" in text_of(resp)
    assert http.submit(f"{page}/versions/{version}/evidence", {}, form_url=page).status_code == 422
    with inside(db, w.client):
        assert db.session.scalar(select(text("count(*)")).select_from(Attachment)) == 2
        assert storage_used() == len(signed) + len(b"name,signed\nAna,yes\n")

    # An evidence file is reached through its own document only.
    assert http.get(f"{rpage}/evidence/{att_id}").status_code == 404
    assert http.submit(f"{rpage}/evidence/{att_id}/delete", {}, form_url=rpage).status_code == 404

    # The auditor reads and downloads but cannot remove; removing is logged and takes the file.
    http.logout()
    http.login(w.auditor.email)
    assert http.get(f"{page}/evidence/{att_id}").status_code == 200
    assert http.submit(f"{page}/evidence/{att_id}/delete", {}, form_url=page).status_code == 403
    http.logout()
    http.login(w.staff.email)
    assert http.submit(f"{page}/evidence/{att_id}/delete", {}, form_url=page).status_code == 303
    assert not path.exists() and http.get(f"{page}/evidence/{att_id}").status_code == 404
    with inside(db, w.client):
        entry = db.session.scalars(select(ActivityEntry).where(ActivityEntry.action == "attachment.deleted")).one()
        assert entry.before["filename"] == "policy-signed.pdf" and entry.before["version_id"] == version


# --- migration ----------------------------------------------------------------------------------

def test_migration_gives_existing_findings_the_stage_their_clause_is_remedied_in(db, factory):
    from tenants.migrate import migrate_schema_in_transaction

    w = factory.world()
    schema = w.client.schema_name
    with db.engine.begin() as conn:
        migrate_schema_in_transaction(conn, schema, "e5c1a8f04b71")
        for clause in ("9.2", "7.5", None):
            conn.execute(text(f'INSERT INTO "{schema}".findings (stage, clause, severity, title, description) '
                              "VALUES ('initial_audit', :c, 'major', 'Gap', '')"), {"c": clause})
        conn.execute(text(f'INSERT INTO "{schema}".findings (stage, clause, severity, title, description) '
                          "VALUES ('internal_audit', '7.5', 'major', 'Audit NC', '')"))
        migrate_schema_in_transaction(conn, schema, "head")
        rows = conn.execute(text(f'SELECT stage, clause, target_stage FROM "{schema}".findings ORDER BY id')).all()
    assert [r.target_stage for r in rows] == ["internal_audit", "system_design", "initial_audit", "internal_audit"]
