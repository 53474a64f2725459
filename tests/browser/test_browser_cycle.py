"""In real headless Chromium, on the demo data: the consultant's audit calendar across the portfolio, the
certified demo client's three-year calendar with its preparation tasks already generated (a second click
creates nothing), and the certification body deadlines page; axe-core finds nothing serious, and at a phone's
390 px no page is wider than the screen. Screenshots for review."""
import os

import pytest
from axe_playwright_python.sync_playwright import Axe

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CONSULTANT = "consultant@northwind.example"


def _serious(page) -> list:
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


def _shoot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_the_audit_calendar_and_a_clients_cycle_with_its_preparation(page):
    log_in(page, CONSULTANT)
    page.wait_for_load_state()
    page.get_by_role("link", name="Calendar").click()
    page.wait_for_url("**/calendar")
    assert _serious(page) == []
    certified = page.locator(".calendar-event[data-kind=surveillance_1]").first
    assert certified.count() == 1
    _shoot(page, "cycle-portfolio-calendar")
    certified.get_by_role("link").click()
    page.wait_for_url("**/certification")
    assert page.locator("#calendar .calendar-event[data-kind=decision]").count() == 1
    assert page.locator("#calendar .calendar-event[data-kind=internal_audit]").count() == 3
    assert "All 7 preparation tasks are on the task list." in page.inner_text("#preparation-list + form")
    assert page.locator("#preparation-list a").count() == 7
    assert _serious(page) == []
    _shoot(page, "cycle-client-certification")
    page.goto("/response-rules")
    assert "Any other body" in page.inner_text("#rules-table")
    page.fill("#r-body", "BSI")
    page.fill("#r-minor_days", "21")
    page.click("button:has-text('Save deadlines')")
    page.wait_for_url("**/response-rules#bodies")
    assert "BSI: majors within 90 days, minors within 21 days" in page.inner_text(".flashes")
    assert _serious(page) == []
    _shoot(page, "cycle-response-rules")


def test_the_cycle_pages_fit_a_phone(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    phone = context.new_page()
    phone.set_default_timeout(10_000)
    try:
        log_in(phone, CONSULTANT)
        phone.wait_for_load_state()
        phone.goto("/calendar")
        link = phone.locator(".calendar-event[data-kind=surveillance_1] a").first.get_attribute("href")
        for path, name in (("/calendar", "calendar"), (link, "certification"), ("/response-rules", "rules"),
                           ("/", "portfolio")):
            phone.goto(path)
            wide = phone.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
            assert wide <= 0, f"{path} is {wide}px wider than the phone"
            assert _serious(phone) == []
            _shoot(phone, f"phone-cycle-{name}")
    finally:
        context.close()
