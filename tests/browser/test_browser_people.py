"""The People and Team pages in Chromium: inviting, the pending list with its expiry, changing a role and the
removal confirmation, all through plain forms."""
import os

import pytest

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


def _shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_a_consultant_administers_a_clients_people(page):
    log_in(page, "consultant@northwind.example")
    page.goto("/c/acme-logistics/people")
    page.fill("input[name=email]", "new.hire@acme-logistics.example")
    page.select_option("#role", "staff")
    page.click("text=Send invitation")
    assert page.locator(".flash.success").inner_text().startswith("Invitation sent to new.hire@")
    row = page.locator("#pending-invitations tr", has_text="new.hire@acme-logistics.example")
    assert "UTC" in row.locator("[data-expires]").inner_text()
    member = page.locator("#client-members tr", has_text="staff@acme-logistics.example")
    member.locator("select").select_option("auditor")
    member.locator("text=Change").click()
    assert "is now Auditor (read-only)" in page.locator(".flash.success").inner_text()
    _shot(page, "people-page")
    page.locator("#client-members tr", has_text="staff@acme-logistics.example").locator("text=Remove…").click()
    assert page.locator("h2", has_text="Remove").is_visible()
    assert "keeps their name" in page.content() or "stays as it is" in page.content()
    _shot(page, "people-remove-confirmation")


def test_an_owner_sees_the_team_and_the_hand_over_form(page):
    log_in(page, "owner@northwind.example")
    page.goto("/team")
    page.fill("input[name=email]", "second.consultant@northwind.example")
    page.click("text=Send invitation")
    assert page.locator("#pending-invitations").is_visible()
    _shot(page, "team-page")
    page.locator("#team-members tr", has_text="consultant@northwind.example").first.locator("text=Remove…").click()
    page.click("button.btn.danger")  # nobody chosen to take over: refused, the form stays
    assert page.locator(".error-box").inner_text().startswith("Choose who takes over")
    _shot(page, "team-remove-hand-over")
