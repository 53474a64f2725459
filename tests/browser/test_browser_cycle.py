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


@pytest.fixture()
def stage_2_at_risk(app):
    """A client whose stage 2 was held 20 days ago with a major the body has not verified."""
    from datetime import timedelta

    import tenants
    from app import clock
    from app.extensions import db
    from app.workspace import operations as ops
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        setup = ops.Actor(None, "setup")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            held = clock.today() - timedelta(days=20)
            ops.save_audit("stage_2", ops.AuditForm(held_on=held.isoformat(), result="major"), setup)
            ops.raise_finding("certification_audit", "", "No internal audit of sales", "9.2", "", setup,
                              source="cb_stage_2", kind="system_nonconformity", grade="major")
            ops.save(w.client)
        return w.consultant.email, w.client.slug


def test_the_stage_2_warning_on_the_overview_and_the_certification_page(page, stage_2_at_risk):
    from conftest import PASSWORD

    email, slug = stage_2_at_risk
    log_in(page, email, PASSWORD)
    page.wait_for_load_state()
    for path, name in ((f"/c/{slug}/", "cycle-stage-2-at-risk-overview"),
                       (f"/c/{slug}/certification", "cycle-stage-2-at-risk-certification")):
        page.goto(path)
        notice = page.locator("#stage-2-repeat")
        assert notice.count() == 1 and notice.get_attribute("role") == "status"
        text = " ".join(notice.inner_text().split())
        assert text.startswith("Stage 2 at risk. 1 major nonconformity from stage 2 must be verified by the "
                               "certification body by "), text
        assert " days left), or it repeats stage 2." in text, text
        assert _serious(page) == []
        _shoot(page, name)
