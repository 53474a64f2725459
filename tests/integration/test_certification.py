"""The certification page through HTTP: application data, stage 1 and 2, the certificate, the three-year cycle
with its preparation, who may change what, bad input kept and refused, and the portfolio's next audit."""
import re
from contextlib import contextmanager
from datetime import date, datetime, timezone
from html import unescape

import pytest
from sqlalchemy import func, select

import tenants
from app import clock
from app.models import ActivityEntry, CertificationRecord, ClientSummary, ExternalAudit, WorkspaceSettings

TODAY = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def frozen():
    with clock.frozen_at(TODAY):
        yield


@contextmanager
def inside(db, client):
    db.session.rollback()
    with tenants.tenant_scope(db.session, client.schema_name):
        yield


def certified(db, client, on=date(2026, 3, 15)):
    with inside(db, client):
        s = db.session.get(WorkspaceSettings, 1)
        s.certification_decision, s.certification_decided_on, s.certification_body = "certified", on, "BSI"
        db.session.commit()


def audits(db, client) -> dict:
    with inside(db, client):
        return {a.kind: (a.planned_on, a.held_on, a.result, a.reference)
                for a in db.session.scalars(select(ExternalAudit))}


def next_audit(db, client):
    db.session.rollback()
    return db.session.get(ClientSummary, client.id).next_audit_on


def url(w, path=""):
    return f"/c/{w.client.slug}/certification{path}"


def test_before_certification_the_page_explains_the_cycle_and_offers_stage_1_and_2(db, http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    html = http.get(url(w)).get_data(as_text=True)
    assert "Not certified yet" in html
    assert 'id="audit-stage_1"' in html and 'id="audit-stage_2"' in html
    assert 'id="audit-surveillance_1"' not in html
    assert "Recorded once the body has decided to certify." in html


def test_a_consultant_records_the_application(db, http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(url(w, "/application"), {"body": "LRQA", "accreditation": "UKAS 001", "sector": "IAF 35",
                                                "headcount": "14", "sites": "2",
                                                "scope_statement": "Commercial cleaning services"})
    assert (resp.status_code, resp.headers["Location"]) == (303, url(w) + "#application")
    with inside(db, w.client):
        row = db.session.get(CertificationRecord, 1)
        assert (row.accreditation, row.sector, row.headcount, row.sites, row.scope_statement) == (
            "UKAS 001", "IAF 35", 14, 2, "Commercial cleaning services")
        assert db.session.get(WorkspaceSettings, 1).certification_body == "LRQA"
        assert db.session.scalar(select(ActivityEntry.summary).where(
            ActivityEntry.action == "certification.application")) == "Certification application data updated (LRQA)"


@pytest.mark.parametrize("field,value,message", [
    ("headcount", "0", "The headcount is a whole number from 1 to 1,000,000."),
    ("headcount", "99999999999999999999", "The headcount is a whole number from 1 to 1,000,000."),
    ("sites", "two", "The number of sites is a whole number from 1 to 10,000."),
    ("body", "B" * 201, "The certification body can be at most 200 characters long (201 given)."),
])
def test_bad_application_data_is_refused_and_what_was_typed_stays(db, http, factory, field, value, message):
    w = factory.world()
    http.login(w.client_admin.email)
    data = {"body": "LRQA", "accreditation": "UKAS 001", "headcount": "14", "sites": "2",
            "scope_statement": "Kept scope", field: value}
    resp = http.submit(url(w, "/application"), data)
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert message in html
    assert "Kept scope" in html and f'value="{value}"' in html
    with inside(db, w.client):
        assert db.session.get(CertificationRecord, 1) is None


def test_stage_1_planned_sets_the_portfolios_next_audit_and_held_in_the_future_is_refused(db, http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    assert http.submit(url(w, "/audits/stage_1"), {"planned_on": "2027-01-20", "reference": "A-1"}).status_code == 303
    assert audits(db, w.client) == {"stage_1": (date(2027, 1, 20), None, None, "A-1")}
    assert next_audit(db, w.client) == date(2027, 1, 20)
    overview = http.get(f"/c/{w.client.slug}/").get_data(as_text=True)
    card = overview.split('id="next-external-audit"')[1].split("</div>\n    </div>")[0]
    assert "20 Jan 2027" in card and "in 50 days" in card

    resp = http.submit(url(w, "/audits/stage_2"), {"planned_on": "2027-03-01", "held_on": "2026-12-05",
                                                    "notes": "typed notes"})
    html = unescape(resp.get_data(as_text=True))
    assert resp.status_code == 422
    assert "An audit cannot have been held in the future" in html and "typed notes" in html
    resp = http.submit(url(w, "/audits/stage_2"), {"result": "minor"})
    assert resp.status_code == 422
    assert "give the date it was held on" in unescape(resp.get_data(as_text=True))
    resp = http.submit(url(w, "/audits/stage_2"), {"held_on": "2026-11-20", "result": "concerns"})
    assert resp.status_code == 422
    assert "Areas of concern are what a stage 1 audit reports" in unescape(resp.get_data(as_text=True))
    resp = http.submit(url(w, "/audits/stage_2"), {"planned_on": "9999-12-31"})
    assert resp.status_code == 422
    assert "too far from today" in unescape(resp.get_data(as_text=True))
    assert set(audits(db, w.client)) == {"stage_1"}
    assert http.submit(url(w, "/audits/stage_9"), {"planned_on": "2027-01-20"}, form_url=url(w)).status_code == 404


def test_surveillance_before_the_decision_is_a_conflict(db, http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    resp = http.submit(url(w, "/audits/surveillance_1"), {"planned_on": "2027-02-01"}, form_url=url(w))
    assert resp.status_code == 409
    assert "record the decision first" in unescape(resp.get_data(as_text=True))
    resp = http.submit(url(w, "/certificate"), {"certificate_number": "Q-1"}, form_url=url(w))
    assert resp.status_code == 409
    assert audits(db, w.client) == {}


def test_after_the_decision_the_cycle_and_its_preparation_show(db, http, factory):
    w = factory.world()
    certified(db, w.client)
    http.login(w.consultant.email)
    assert http.submit(url(w, "/certificate"), {"certificate_number": "Q-77", "certificate_scope": "Cleaning"}
                       ).status_code == 303
    with inside(db, w.client):
        row = db.session.get(CertificationRecord, 1)
        assert (row.certificate_number, row.issued_on, row.expires_on) == ("Q-77", date(2026, 3, 15),
                                                                           date(2029, 3, 14))
    assert http.submit(url(w, "/audits/surveillance_1"), {"planned_on": "2027-02-24"}).status_code == 303
    html = unescape(http.get(url(w)).get_data(as_text=True))
    rows = re.findall(r'<tr data-audit="(\w+)">.*?</tr>', html, re.S)
    assert rows == ["surveillance_1", "surveillance_2", "recertification"]
    assert 'id="cycle-status">Certificate valid' in html
    s1 = re.search(r'<tr data-audit="surveillance_1">(.*?)</tr>', html, re.S).group(1)
    assert "15 Mar 2027" in s1 and "24 Feb 2027" in s1 and "Planned" in s1 and "in 85 days" in s1
    assert "30 Dec 2026" in s1 and "27 Jan 2027" in s1  # internal audit and management review by
    assert "Before the surveillance audit 1" in html
    assert "Run the internal audit before the surveillance audit 1" in html
    assert next_audit(db, w.client) == date(2027, 2, 24)


def test_a_missed_surveillance_audit_puts_the_certificate_at_risk(db, http, factory):
    w = factory.world()
    certified(db, w.client, on=date(2025, 10, 1))
    http.login(w.staff.email)
    html = unescape(http.get(url(w)).get_data(as_text=True))
    assert 'id="cycle-status">Certificate at risk' in html
    assert "Overdue" in re.search(r'<tr data-audit="surveillance_1">(.*?)</tr>', html, re.S).group(1)


def test_staff_and_auditors_read_but_change_nothing(db, http, factory):
    w = factory.world()
    for person in (w.staff, w.auditor):
        http.login(person.email)
        html = http.get(url(w)).get_data(as_text=True)
        assert "Certification body and application" in html
        assert 'action="/c/' not in html.split('id="application"')[1].split("</section>")[0]
        resp = http.submit(url(w, "/application"), {"body": "Sneaky"}, form_url=url(w))
        assert resp.status_code == 403
        http.logout()
    with inside(db, w.client):
        assert db.session.get(WorkspaceSettings, 1).certification_body is None
        assert db.session.scalar(select(func.count()).select_from(ExternalAudit)) == 0
