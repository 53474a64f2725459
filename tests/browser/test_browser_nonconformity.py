"""In real headless Chromium: staff raise a nonconformity from an internal audit, plan and complete the corrective
action; the same person is refused when verifying it; the consultant verifies it effective and closes the finding.
The finding page passes axe-core and fits a phone."""
import os

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
                "consultant": w.consultant.email}


def _serious(page) -> list:
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def _flash(page) -> str:
    page.locator(".flashes").wait_for()
    return page.locator(".flashes").inner_text()


def test_a_finding_walks_to_verified_closure_by_a_second_user(page, browser, live_server, world):
    slug = world["slug"]
    log_in(page, world["staff"], PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/c/{slug}/findings")
    page.fill("#f-title", "Delivery notes released unsigned")
    page.select_option("#f-source", "internal_audit")
    page.select_option("#f-kind", "system_nonconformity")
    page.select_option("#f-severity", "minor")
    page.fill("#f-clause", "8.5.1")
    page.fill("#f-evidence", "3 of 10 notes unsigned (DN-104, DN-107, DN-110)")
    page.click("text=Record finding")
    page.wait_for_url("**/findings/*")
    assert "recorded" in _flash(page)
    finding_url = page.url

    page.fill("#r-root_cause", "The delivery app has no sign-off step")
    page.fill("#r-closure_evidence", "The last 20 delivery notes are signed")
    page.click("text=Save record")
    assert "Record saved." in _flash(page)
    page.fill("#a-desc", "Add a sign-off step to the delivery app")
    page.select_option("#a-owner", str(world["staff_id"]))
    page.fill("#a-due", "2030-01-15")
    page.click("text=Add action (becomes a task)")
    assert "its task is on the task list" in _flash(page)
    page.click("text=/Mark action #\\d+ completed/")
    assert "completed" in _flash(page)

    # The owner tries to verify their own action: refused, with the reason, what was typed kept.
    page.locator("details summary").first.click()
    page.fill("input[name=verify_method]", "Sample the next 20 deliveries")
    page.fill("input[name=verify_criteria]", "All 20 signed")
    page.select_option("select[name=result]", "effective")
    page.click("text=Save verification")
    assert "must be verified by someone else" in page.locator(".error-box").inner_text()
    assert page.locator("input[name=verify_method]").input_value() == "Sample the next 20 deliveries"
    page.context.clear_cookies()

    # The consultant, a second person, verifies it and closes the finding.
    log_in(page, world["consultant"], PASSWORD)
    page.wait_for_url("**/")
    page.goto(finding_url)
    page.locator("details summary").first.click()
    page.fill("input[name=verify_method]", "Sample the next 20 deliveries")
    page.fill("input[name=verify_criteria]", "All 20 signed")
    page.select_option("select[name=result]", "effective")
    page.fill("input[name=result_note]", "20 of 20 signed")
    page.click("text=Save verification")
    assert "recorded" in _flash(page)
    assert "Everything the closing rule needs is in place." in page.inner_text("#closing")
    assert _serious(page) == []
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "finding-record.png"), full_page=True)
    page.fill("#close-note", "Sign-off step live; 20 of 20 signed since")
    page.click("text=Close finding")
    assert "closed" in _flash(page)
    assert "Closed" in page.inner_text("#closing")
    assert _serious(page) == []

    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844}, is_mobile=True)
    small = phone.new_page()
    try:
        log_in(small, world["consultant"], PASSWORD)
        small.wait_for_url("**/")
        small.goto(finding_url)
        assert small.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        small.screenshot(path=os.path.join(SCREENSHOTS, "phone-finding-record.png"), full_page=True)
    finally:
        phone.close()
