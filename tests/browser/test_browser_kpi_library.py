"""In real headless Chromium: a consultant edits the consultancy's KPI library (a threshold on the wrong side
is refused with the form kept, then saved), sees what differs from the standard library, and the pages pass
axe-core; the list and the edit page are screenshot for review."""
import os

import pytest
from axe_playwright_python.sync_playwright import Axe

from conftest import PASSWORD

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def consultant(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        return Factory(db).world().consultant.email


def _serious(page) -> list:
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_a_consultant_edits_the_kpi_library(page, consultant):
    log_in(page, consultant, PASSWORD)
    page.wait_for_load_state()
    page.goto("/templates/")
    page.get_by_role("link", name="KPI library").click()
    page.wait_for_url("**/library/kpis/")
    assert _serious(page) == []
    page.locator("#kpi-csat").get_by_role("link", name="Edit Customer satisfaction (CSAT)").click()
    page.wait_for_url("**/library/kpis/csat")
    assert "does not change the KPI at the 0 clients" in page.inner_text("#copies-note")
    page.fill("input[name=name]", "Client satisfaction")
    page.fill("input[name=amber]", "95")
    page.click("button:has-text('Save')")
    page.wait_for_load_state()
    assert "Higher is better, so the target must be at least the amber threshold" in page.inner_text("form.stack")
    assert page.input_value("input[name=name]") == "Client satisfaction"  # what was typed is kept
    assert page.input_value("input[name=amber]") == "95"
    assert _serious(page) == []
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "kpi_library_edit_refused.png"), full_page=True)
    page.fill("input[name=amber]", "86")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/library/kpis/#kpi-csat")
    assert "Client satisfaction saved." in page.inner_text(".flashes")
    assert "Amber threshold: 85 → 86" in page.inner_text("#differences")
    assert _serious(page) == []
    page.screenshot(path=os.path.join(SCREENSHOTS, "kpi_library_list.png"), full_page=True)
    page.goto("/library/kpis/csat")
    assert "Name: standard Customer satisfaction (CSAT), yours Client satisfaction" in page.inner_text(
        "#standard-definition")
    page.screenshot(path=os.path.join(SCREENSHOTS, "kpi_library_edit.png"), full_page=True)
    page.goto("/library/kpis/new")
    assert _serious(page) == []
