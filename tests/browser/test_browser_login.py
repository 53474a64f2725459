"""In real headless Chromium: the demo consultant logs in and opens a client."""
import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def test_consultant_logs_in_and_opens_a_client(page):
    log_in(page, "consultant@northwind.example")
    page.wait_for_url("**/")
    assert page.locator("h1").inner_text() == "Portfolio"
    rows = page.locator("#client-list tbody tr")
    assert rows.count() >= 8
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
