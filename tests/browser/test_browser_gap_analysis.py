"""In real headless Chromium: the consultant rates a checklist item with htmx (the row and the progress change in
place), a gap rated "not conforming" becomes a finding in one step, and the page passes axe-core."""
import pytest
from axe_playwright_python.sync_playwright import Axe

from conftest import PASSWORD

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def fresh_client(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        return {"slug": w.client.slug, "consultant": w.consultant.email}


def test_a_gap_rated_not_conforming_becomes_a_finding(page, fresh_client):
    c = fresh_client
    log_in(page, c["consultant"], PASSWORD)
    page.wait_for_url("**/")  # the portfolio
    page.goto(f"/c/{c['slug']}/")
    page.click("nav.subnav >> text=Gap analysis")
    page.wait_for_url(f"**/c/{c['slug']}/gap-analysis")
    item = page.locator("#item-7-1-6")
    item.get_by_label("Not conforming").check()
    item.locator("textarea[name=notes]").fill("Only the owner knows how the rota software is set up")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads instead of swapping the row
    item.locator("button:has-text('Save 7.1.6')").click()
    page.wait_for_selector("#item-7-1-6 .badge.bad:has-text('Not conforming')")
    assert page.evaluate("window.__sameDocument") is True
    assert "1 of 65" in " ".join(page.locator("#gap-progress").inner_text().split())
    assert "7.1.6 Organizational knowledge" in page.locator("#gap-report").inner_text()

    page.locator("#item-7-1-6-severity").select_option("major")
    page.click("#item-7-1-6 button:has-text('Raise a finding')")
    page.wait_for_selector("#item-7-1-6 a:has-text('Finding #')")
    assert page.evaluate("window.__sameDocument") is True
    page.click("#item-7-1-6 a:has-text('Finding #')")
    page.wait_for_url("**/findings#finding-*")
    row = page.locator("#finding-table tbody tr").first
    assert "7.1.6 Organizational knowledge: Missing" in row.inner_text()
    assert row.locator(".clause").inner_text() == "7.1.6"

    page.goto(f"/c/{c['slug']}/gap-analysis")
    violations = [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert violations == []
