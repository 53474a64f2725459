"""In real headless Chromium: the consultant sets up the audit programme with a process and plans an audit; staff
rate a checklist line and raise a finding from it in one step; the finding walks to verified closure (staff own
the action and are refused when verifying it; the consultant verifies and closes it). The programme and audit
pages pass axe-core and fit a phone."""
import os
from datetime import date, timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from conftest import PASSWORD

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def world(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        return {"slug": w.client.slug, "staff": w.staff.email, "staff_id": w.staff.id,
                "admin_id": w.client_admin.id, "consultant": w.consultant.email, "consultant_id": w.consultant.id}


def _serious(page) -> list:
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def _flash(page) -> str:
    page.locator(".flashes").wait_for()
    return page.locator(".flashes").inner_text()


def _shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def test_a_finding_from_an_audit_line_walks_to_verified_closure(page, browser, live_server, world):
    slug = world["slug"]
    log_in(page, world["consultant"], PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/c/{slug}/")
    page.click("nav.subnav >> text=Audits")
    page.wait_for_url("**/audits")
    page.fill("#p-start", date.today().isoformat())
    page.fill("#p-end", (date.today() + timedelta(days=300)).isoformat())
    page.check("input[name=methods][value=interviews]")
    page.check("input[name=methods][value=record_sampling]")
    page.select_option("#p-manager", str(world["admin_id"]))
    page.click("text=Save the programme")
    assert "Audit programme saved." in _flash(page)
    page.fill("#new-name", "Purchasing")
    page.select_option("#new-owner", str(world["admin_id"]))
    page.select_option("#new-risk", "high")
    page.fill("#new-importance", "Late supplies delayed three client projects last year")
    page.click("text=Add the process")
    assert "added to the programme" in _flash(page)

    # The process owner as auditor: refused, with the reason, what was typed kept.
    page.fill("#a-title", "Purchasing")
    page.fill("#a-clauses", "8.4")
    page.check("input[name=process_ids]")
    page.fill("#a-date", (date.today() + timedelta(days=7)).isoformat())
    page.select_option("#a-auditor", str(world["admin_id"]))
    page.click("text=Plan the audit")
    assert "they own the process “Purchasing”" in page.locator(".error-box").inner_text()
    assert page.locator("#a-clauses").input_value() == "8.4"
    page.select_option("#a-auditor", str(world["staff_id"]))
    page.click("text=Plan the audit")
    page.wait_for_url("**/audits/*")
    assert "planned with 3 checklist lines" in _flash(page)
    audit_url = page.url
    page.goto(f"/c/{slug}/audits")
    assert "Planned" in page.inner_text("#coverage-matrix")
    assert _serious(page) == []
    _shot(page, "internal-audits.png")
    page.context.clear_cookies()

    # Staff audit: rate a line with evidence and raise a minor from it in one step.
    log_in(page, world["staff"], PASSWORD)
    page.wait_for_url("**/")
    page.goto(audit_url)
    line = page.locator("#line-8-4-1")
    line.locator("input[value=partly]").check()
    line.locator("textarea[name=evidence]").fill("2 of 6 suppliers have no evaluation on file")
    line.locator("text=Save 8.4.1").click()
    assert "8.4.1 rated partly." in _flash(page)
    line = page.locator("#line-8-4-1")
    line.locator("select[name=grade]").select_option("minor")
    line.locator("text=Raise a finding").click()
    assert "raised from 8.4.1" in _flash(page)
    assert _serious(page) == []
    _shot(page, "internal-audit.png")
    page.locator("#line-8-4-1 >> text=/Finding #\\d+/").click()
    page.wait_for_url("**/findings/*")
    finding_url = page.url
    assert "IA-001" in page.inner_text("main")  # the finding carries the audit it came from

    page.fill("#r-root_cause", "No one was asked to evaluate new suppliers")
    page.fill("#r-closure_evidence", "Every supplier evaluated; the list reviewed")
    page.click("text=Save record")
    assert "Record saved." in _flash(page)
    page.fill("#a-desc", "Evaluate every supplier and add the evaluation to onboarding")
    page.select_option("#a-owner", str(world["staff_id"]))
    page.fill("#a-due", "2030-01-15")
    page.click("text=Add action (becomes a task)")
    assert "its task is on the task list" in _flash(page)
    page.click("text=/Mark action #\\d+ completed/")
    assert "completed" in _flash(page)
    page.locator("details summary").first.click()
    page.fill("input[name=verify_method]", "Check the supplier list")
    page.fill("input[name=verify_criteria]", "All suppliers evaluated")
    page.select_option("select[name=result]", "effective")
    page.click("text=Save verification")
    assert "must be verified by someone else" in page.locator(".error-box").inner_text()
    page.context.clear_cookies()

    # The consultant, a second person, verifies it and closes the finding.
    log_in(page, world["consultant"], PASSWORD)
    page.wait_for_url("**/")
    page.goto(finding_url)
    page.locator("details summary").first.click()
    page.fill("input[name=verify_method]", "Check the supplier list")
    page.fill("input[name=verify_criteria]", "All suppliers evaluated")
    page.select_option("select[name=result]", "effective")
    page.fill("input[name=result_note]", "6 of 6 evaluated")
    page.click("text=Save verification")
    assert "recorded" in _flash(page)
    page.fill("#close-note", "Suppliers evaluated; onboarding updated")
    page.click("text=Close finding")
    assert "closed" in _flash(page)
    page.goto(audit_url)
    assert "closed" in page.inner_text("#audit-findings")

    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    try:
        log_in(small, world["consultant"], PASSWORD)
        small.wait_for_url("**/")
        for url, name in ((f"/c/{slug}/audits", "phone-internal-audits.png"), (audit_url, "phone-internal-audit.png")):
            small.goto(url)
            assert small.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0, url
            _shot(small, name)
    finally:
        phone.close()
