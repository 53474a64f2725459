"""Template v3's gates check evidence, through HTTP: each criterion names itself as unmet on the gates page and in
the refusal until its evidence exists, then the gate can be approved; and a client on version 2 is moved to
version 3 through the plan page, which names the gate criteria that change."""
import html
import re
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select

import tenants
import workflows as wf
from app import clock
from app.models import Client, Document, Finding, InternalAudit, Stage
from app.workspace import operations as ops
from app.workspace.operations import internal_audits as audit_ops
from gate_evidence_helpers import rate_every_gap_item
from test_gate_evidence import complete

SETUP = ops.Actor(None, "setup")
OWNER = ops.Actor(None, "Action owner")  # add_action reads an owner's id and name only
V2 = wf.load_template("iso9001-2015", 2)


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield
        ops.save(db.session.get(Client, client.id))


def text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


def status(db, client, stage) -> str:
    with inside(db, client):
        return db.session.get(Stage, stage).status


def approve(http, slug, stage) -> str:
    return text(http.submit(f"/c/{slug}/gates/{stage}/approve", {"comment": "Checked"}, follow_redirects=True))


def pass_gate(db, client, stage, consultant):
    with inside(db, client):
        ops.approve_gate(stage, "", ops.Actor(consultant.id, "Consultant"))


def add_records(db, client, dated):
    with inside(db, client):
        for key, day in dated:
            doc = db.session.scalar(select(Document).where(Document.key == key))
            ops.add_record_entry(doc, day, f"{doc.title} of {day.isoformat()}", SETUP)


def into_implementation(db, w):
    for stage in ("initial_audit", "system_design"):
        complete(db, w.client, stage)
        if stage == "initial_audit":
            with inside(db, w.client):
                rate_every_gap_item()
        pass_gate(db, w.client, stage, w.consultant)
    complete(db, w.client, "implementation")


def test_the_initial_audit_gate_waits_for_every_gap_item_rated(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    complete(db, w.client, "initial_audit")
    http.login(w.consultant.email)
    unmet = "65 of 65 gap-analysis checklist items are not rated: clauses 4.1, 4.2"
    assert unmet in text(http.get(f"/c/{slug}/gates"))
    assert unmet in approve(http, slug, "initial_audit") and status(db, w.client, "initial_audit") == "current"
    with inside(db, w.client):
        rate_every_gap_item()
    assert "not rated" not in text(http.get(f"/c/{slug}/gates"))
    approve(http, slug, "initial_audit")
    assert status(db, w.client, "initial_audit") == "passed"


def test_the_implementation_gate_waits_for_eight_weeks_and_the_records_of_them(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    into_implementation(db, w)
    began = clock.today()
    http.login(w.consultant.email)
    unmet = (f"At least 56 days of operation needed since “Implementation” began on {began.isoformat()}; 0 so far",
             f"2 of “Monthly KPI and objectives reports” needed since {began.isoformat()}; 0 recorded",
             f"1 of “Customer satisfaction results” needed since {began.isoformat()}; 0 recorded")
    page = text(http.get(f"/c/{slug}/gates"))
    assert all(u in page for u in unmet), page
    refused = approve(http, slug, "implementation")
    assert all(u in refused for u in unmet) and status(db, w.client, "implementation") == "current"
    with clock.frozen_at(clock.now() + timedelta(days=56)):
        page = text(http.get(f"/c/{slug}/gates"))
        assert "days of operation needed" not in page and unmet[1] in page  # the weeks are up, the records not
        add_records(db, w.client, [("kpi_reports", began + timedelta(days=28)),
                                   ("customer_satisfaction_results", began + timedelta(days=40))])
        page = text(http.get(f"/c/{slug}/gates"))
        assert f"1 recorded ({(began + timedelta(days=28)).isoformat()})" in page
        assert "Customer satisfaction results”" not in page
        add_records(db, w.client, [("kpi_reports", began + timedelta(days=55))])
        assert "needed since" not in text(http.get(f"/c/{slug}/gates"))
        approve(http, slug, "implementation")
    assert status(db, w.client, "implementation") == "passed"


def test_the_internal_audit_gate_waits_for_the_audits_their_actions_and_the_review(http, factory, db):
    w = factory.world()
    slug = w.client.slug
    into_implementation(db, w)
    began = clock.today()
    day = lambda n: clock.now() + timedelta(days=n)  # noqa: E731
    with clock.frozen_at(day(60)):
        add_records(db, w.client, [("kpi_reports", began + timedelta(days=20)),
                                   ("kpi_reports", began + timedelta(days=50)),
                                   ("customer_satisfaction_results", began + timedelta(days=35))])
        pass_gate(db, w.client, "implementation", w.consultant)
        complete(db, w.client, "internal_audit")
        http.login(w.consultant.email)
        unmet = ("Internal audit programme: Clause 4: ",
                 "No management review has every 9.3.2 input given",
                 "A management review must be held after the internal audit: no management review has been "
                 "closed yet")
        page = text(http.get(f"/c/{slug}/gates"))
        assert all(u in page for u in unmet), page
        refused = approve(http, slug, "internal_audit")
        assert all(u in refused for u in unmet) and status(db, w.client, "internal_audit") == "current"
        # One audit over every clause; one line only partly met, raised as a minor.
        with inside(db, w.client):
            consultant = ops.Actor(w.consultant.id, "Consultant")
            audit = audit_ops.plan_audit(audit_ops.AuditForm(
                title="Whole system", clauses="4, 5, 6, 7, 8, 9, 10", planned_on=clock.today().isoformat(),
                auditees="Process owners"), db.session.merge(w.consultant), consultant)
            for line in audit.lines:
                audit_ops.rate_line(audit, line.clause, "partly" if line.clause == "7.2" else "conforming",
                                    "Records sampled", "", consultant)
            minor = audit_ops.finding_from_line(audit, "7.2", "system_nonconformity", "minor", consultant)
            audit_ops.save_report(audit, audit_ops.ReportForm("Every clause", "Conforms but for 7.2", "Open team",
                                                              "Top management"), consultant)
            audit_ops.complete_audit(audit, consultant)
            minor_id, audit_id = minor.id, audit.id
        page = text(http.get(f"/c/{slug}/gates"))
        assert "Internal audit programme" not in page
        assert f"Internal-audit nonconformity #{minor_id} " in page and "has no corrective action" in page
        assert f"Internal-audit nonconformity #{minor_id} " in approve(http, slug, "internal_audit")
        with inside(db, w.client):
            assert db.session.get(InternalAudit, audit_id).status == "completed"
            ops.add_action(db.session.get(Finding, minor_id), "Induction checklist for every new starter", OWNER,
                           (clock.today() + timedelta(days=30)).isoformat(), SETUP)
        assert "has no corrective action" not in text(http.get(f"/c/{slug}/gates"))
    top = factory.member(w.client, "top_management")
    with clock.frozen_at(day(63)):  # the management review, three days after the audit
        with inside(db, w.client):
            review = ops.open_review(clock.today().isoformat(), "meeting", "", [db.session.merge(top)], SETUP)
            for entry in review.inputs:
                ops.save_input(review, entry.key, "", True, SETUP)
            ops.close_review(review, "The system is suitable, adequate and effective.",
                             (clock.today() + timedelta(days=180)).isoformat(), "top_management", SETUP)
        http.login(w.consultant.email)
        page = text(http.get(f"/c/{slug}/gates"))
        assert not any(u in page for u in unmet[1:]), page
        approve(http, slug, "internal_audit")
    assert status(db, w.client, "internal_audit") == "passed"


def test_a_version_2_client_moves_to_version_3_and_sees_the_gates_that_change(http, factory, db):
    w = factory.world(template=V2)
    slug = w.client.slug
    http.login(w.consultant.email)
    plan = " ".join(re.sub(r"<[^>]+>", " ", text(http.get(f"/c/{slug}/plan"))).split())  # the words shown
    assert "Version 3 available" in plan
    for stage, criteria in (("Initial audit (gap analysis)", "every gap-analysis item rated"),
                            ("Implementation", "days of operation, record instances within the operating period"),
                            ("Internal audit", "management review with every 9.3.2 input, management review held "
                                               "after the internal audit, internal audit programme covers every "
                                               "clause and process, corrective action for every internal-audit "
                                               "nonconformity")):
        assert f"gate of “{stage}” · {criteria}" in plan
        assert f"The gate of “{stage}” changes what it checks: {criteria}" in plan
    assert "only the version number moves on" not in plan
    assert http.submit(f"/c/{slug}/plan/apply-template", {"version": "3"}).status_code == 303
    db.session.rollback()
    assert db.session.get(Client, w.client.id).template_version == 3
    complete(db, w.client, "initial_audit")
    assert "65 of 65 gap-analysis checklist items are not rated" in approve(http, slug, "initial_audit")
    assert status(db, w.client, "initial_audit") == "current"
