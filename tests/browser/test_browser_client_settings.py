"""In real headless Chromium: an owner re-dates a client through the preview, archives it (every page read-only,
with the banner) and unarchives it; the settings page has no serious accessibility violation."""
import os
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe

from app import clock
from app.clients import create_client
from conftest import PASSWORD, unique

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def client(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        client = create_client(w.account, "Harbourview Dental Care", unique("harbourview"), consultants=[w.consultant],
                               start_on=clock.today(), target_on=clock.today() + timedelta(days=180))
        return {"slug": client.slug, "owner": w.owner.email, "target": clock.today() + timedelta(days=180)}


def test_owner_redates_archives_and_unarchives_a_client(page, client):
    log_in(page, client["owner"], PASSWORD)
    page.goto(f"/c/{client['slug']}/")
    page.click("nav.subnav >> text=Settings")
    page.wait_for_url("**/settings")
    serious = [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []

    new_target = client["target"] + timedelta(days=28)
    page.fill("#target_on", new_target.isoformat())
    page.click("text=Preview the change")
    preview = page.locator("#dates-preview")
    assert "move by +28 days" in preview.inner_text()
    assert f"{new_target:%d %b %Y}" in preview.inner_text()
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "client-settings-preview.png"), full_page=True)
    page.click("#apply-dates button")
    page.wait_for_selector("text=Plan dates saved")
    assert page.input_value("#target_on") == new_target.isoformat()

    page.click("#archive button")
    page.wait_for_selector("#archived-banner")
    page.click("nav.subnav >> text=Tasks")
    assert "unarchive to change anything" in page.locator("#archived-banner").inner_text()
    page.screenshot(path=os.path.join(SCREENSHOTS, "client-archived-tasks.png"), full_page=True)
    page.goto("/")
    assert "Harbourview Dental Care" not in page.locator("main").inner_text()
    page.click("#archived-link")
    assert "Harbourview Dental Care" in page.locator("#client-list").inner_text()

    page.click("text=Harbourview Dental Care")
    page.click("nav.subnav >> text=Settings")
    page.click("#archive button")
    page.wait_for_selector("text=is active again")
    assert page.locator("#archived-banner").count() == 0
