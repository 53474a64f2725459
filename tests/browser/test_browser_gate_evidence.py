"""In real headless Chromium: evidence attached to a record instance on the document page, and a finding's target
stage moved by the consultant; both pages pass axe-core and fit a phone."""
import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

import tenants
from app import clock
from app.models import Document
from app.workspace import operations as ops
from conftest import PASSWORD

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def evidence_client(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        factory = Factory(db)
        w = factory.world()
        with tenants.tenant_scope(db.session, w.client.schema_name):
            doc = db.session.scalars(select(Document).where(Document.key == "kpi_reports")).one()
            ops.add_record_entry(doc, clock.today(), "KPI report for November", ops.Actor(w.staff.id, "Staff"))
            finding = ops.raise_finding("initial_audit", "major", "No internal audits yet", "9.2", "",
                                        ops.Actor(w.consultant.id, "Consultant"), source="gap_analysis",
                                        kind="system_nonconformity", grade="major")
            ids = {"doc": doc.id, "finding": finding.id}
            ops.save(w.client)
        return {"slug": w.client.slug, **ids, "staff": w.staff.email, "consultant": w.consultant.email}


def _serious(page):
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


def _fits_a_phone(browser, live_server, email, url, shot):
    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    small = phone.new_page()
    try:
        log_in(small, email, PASSWORD)
        small.goto(url)
        assert small.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        small.screenshot(path=os.path.join(SCREENSHOTS, shot), full_page=True)
    finally:
        phone.close()


def test_evidence_on_a_record_instance_and_a_findings_target_stage(page, browser, live_server, evidence_client,
                                                                      tmp_path):
    c = evidence_client
    os.makedirs(SCREENSHOTS, exist_ok=True)
    url = f"/c/{c['slug']}/documents/{c['doc']}"
    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.goto(url)
    sheet = tmp_path / "attendance.csv"
    sheet.write_text("name,present\nAna,yes\n")
    page.locator("#records input[type=file][id^=record-][id$=-file]").first.set_input_files(str(sheet))
    page.locator("#records button:has-text('Attach')").first.click()
    assert "attendance.csv" in page.locator("#records").inner_text()
    assert _serious(page) == []
    page.screenshot(path=os.path.join(SCREENSHOTS, "document-evidence-desktop.png"), full_page=True)
    _fits_a_phone(browser, live_server, c["staff"], url, "document-evidence-phone.png")
    page.click("form[action='/logout'] button")

    furl = f"/c/{c['slug']}/findings/{c['finding']}"
    log_in(page, c["consultant"], PASSWORD)
    page.goto(furl)
    assert "To be remedied in Internal audit" in page.locator("#target-stage").inner_text()
    page.select_option("#target-select", "implementation")
    page.click("#target-stage button:has-text('Move')")
    assert "To be remedied in Implementation" in page.locator("#target-stage").inner_text()
    assert _serious(page) == []
    page.screenshot(path=os.path.join(SCREENSHOTS, "finding-target-desktop.png"), full_page=True)
    _fits_a_phone(browser, live_server, c["consultant"], furl, "finding-target-phone.png")
