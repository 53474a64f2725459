"""In real headless Chromium: the demo consultant logs in and opens a client."""
import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_consultant_logs_in_and_opens_a_client(page):
    log_in(page, "consultant@northwind.example")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Portfolio"
    rows = page.locator("#client-list tbody tr")
    assert rows.count() == 10  # the demo's 12 clients but the two (every sixth) without a consultant
    page.click("text=Acme Logistics")
    page.wait_for_url("**/c/acme-logistics/")
    assert page.locator("h1").inner_text() == "Acme Logistics"
    assert page.locator("#stage-line li").count() == 5
    assert page.locator("#stage-line li.current").count() == 1


def test_staff_cannot_open_another_client(page):
    log_in(page, "staff@acme-logistics.example")
    page.wait_for_url("**/c/acme-logistics/")
    response = page.goto("/c/brightside-dental/")
    assert response.status == 404
    assert "Brightside" not in page.content()


def test_on_a_phone_the_workspace_fits_the_screen_and_keeps_its_navigation(page):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "owner@northwind.example")
    page.wait_for_url("**/")
    page.goto("/c/acme-logistics/")
    # Nothing wider than the screen: the page never scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for link in ("Portfolio", "Templates", "Team"):
        assert page.locator("nav.topnav").get_by_role("link", name=link).is_visible()
    # The five stages are stacked: each one starts below the previous one.
    tops = page.locator("#stage-line li").evaluate_all("items => items.map(li => li.getBoundingClientRect().top)")
    assert len(tops) == 5 and tops == sorted(tops) and len(set(tops)) == 5
    page.locator("nav.topnav").get_by_role("link", name="Team").click()
    page.wait_for_url("**/team")
    assert page.locator("h1").inner_text() == "Team"
