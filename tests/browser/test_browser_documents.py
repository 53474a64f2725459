"""In real headless Chromium: staff write the quality policy's version, the consultant may not approve it, top
management does; the document page passes axe-core and fits a phone."""
import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

import tenants
from app.models import Document
from conftest import PASSWORD

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def policy_client(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        factory = Factory(db)
        w = factory.world()
        top = factory.member(w.client, "top_management")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            doc_id = db.session.scalar(select(Document.id).where(Document.key == "quality_policy"))
        return {"slug": w.client.slug, "doc": doc_id, "staff": w.staff.email, "consultant": w.consultant.email,
                "top": top.email}


def _serious(page):
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_a_policy_version_goes_from_draft_to_approved_by_top_management(page, browser, live_server, policy_client):
    c = policy_client
    url = f"/c/{c['slug']}/documents/{c['doc']}"
    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.goto(url)
    page.click("summary:has-text('Edit draft version 1')")
    page.fill("textarea[name=body]", "We deliver what we promise, on time, and learn from every complaint.")
    page.fill("input[name=change_reason]", "First issue of the policy")
    page.click("button:has-text('Save draft')")
    page.click("button:has-text('Send for review')")
    assert "In review" in page.locator("#versions").inner_text()
    page.click("form[action='/logout'] button")

    log_in(page, c["consultant"], PASSWORD)
    page.goto(url)
    versions = page.locator("#versions")
    assert versions.locator("button:has-text('Approve')").count() == 0
    assert "Approved by top management, not by the consultant" in versions.inner_text()
    page.click("form[action='/logout'] button")

    log_in(page, c["top"], PASSWORD)
    page.goto(url)
    assert _serious(page) == []
    page.click("#versions button:has-text('Approve')")
    effective = page.locator("#effective").inner_text()
    assert "v1" in effective and "We deliver what we promise" in effective
    assert "Next review due" in page.locator("#review").inner_text()
    assert _serious(page) == []
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "document-page-desktop.png"), full_page=True)

    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    small = phone.new_page()
    try:
        log_in(small, c["top"], PASSWORD)
        small.goto(url)
        assert small.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        small.screenshot(path=os.path.join(SCREENSHOTS, "document-page-phone.png"), full_page=True)
    finally:
        phone.close()
