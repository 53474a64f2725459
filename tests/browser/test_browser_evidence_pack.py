"""In real headless Chromium: a consultant opens the evidence pack from the Documents page, sees what it holds
and what is missing, downloads the ZIP; no serious accessibility violation, desktop or a 390 px phone."""
import io
import os
import zipfile

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from conftest import PASSWORD

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def client(app):
    import tenants
    from app.extensions import db
    from app.models import Task
    from app.workspace import operations as ops
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        with tenants.tenant_scope(db.session, w.client.schema_name):
            task = db.session.scalars(select(Task).where(Task.clauses != []).order_by(Task.position)).first()
            ops.add_attachment(task, FileStorage(io.BytesIO(b"%PDF-1.4 scope evidence"), "Signed scope.pdf"),
                               ops.Actor(w.consultant.id, w.consultant.name), app.config["UPLOAD_ROOT"],
                               w.client.schema_name, 10 << 20)
            ops.save(w.client)
        return {"slug": w.client.slug, "consultant": w.consultant.email}


def _serious(page) -> list:
    return [v["id"] for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]


def test_consultant_reviews_and_downloads_the_evidence_pack(browser, live_server, page, client):
    log_in(page, client["consultant"], PASSWORD)
    page.goto(f"/c/{client['slug']}/documents")
    page.click("text=Evidence pack for the auditor")
    page.wait_for_url("**/evidence-pack")
    assert "required document with no effective version" in page.locator("#missing").inner_text()
    assert "Signed scope.pdf" in page.locator("main").inner_text()
    assert _serious(page) == []
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "evidence-pack-desktop.png"), full_page=True)
    with page.expect_download() as info:
        page.click("text=Download the pack (ZIP)")
    names = zipfile.ZipFile(info.value.path()).namelist()
    assert names[0] == "00 Index of the evidence pack.pdf" and any(n.endswith("Signed scope.pdf") for n in names)

    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    small = phone.new_page()
    try:
        log_in(small, client["consultant"], PASSWORD)
        small.goto(f"/c/{client['slug']}/evidence-pack")
        assert small.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0
        assert _serious(small) == []
        small.screenshot(path=os.path.join(SCREENSHOTS, "evidence-pack-phone.png"), full_page=True)
    finally:
        phone.close()
