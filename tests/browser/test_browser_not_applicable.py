"""In real headless Chromium: client staff propose that design and development (8.3) does not apply, a consultant
approves it, and the scope statement lists the decision; the task and scope pages pass axe-core and fit a phone."""
import os

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

import tenants
from app.models import Document, Task
from app.workspace import operations as ops
from conftest import PASSWORD
from gate_evidence_helpers import meet_gate_evidence

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def design_client(app):
    from app.extensions import db
    from conftest import Factory

    setup = ops.Actor(None, "setup")
    with app.app_context():
        w = Factory(db).world()
        with tenants.tenant_scope(db.session, w.client.schema_name):
            for task in db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)):
                ops.set_task_status(task, "done", None, setup)
            for doc in db.session.scalars(select(Document).where(Document.stage == "initial_audit")):
                ops.set_document_status(doc, "approved", setup, role="top_management")
            meet_gate_evidence("initial_audit")
            ops.approve_gate("initial_audit", "", setup)
            ops.save(w.client)
            task_id = db.session.scalar(select(Task.id).where(Task.key == "design_and_development"))
            scope_id = db.session.scalar(select(Document.id).where(Document.key == "qms_scope"))
        return {"slug": w.client.slug, "task": task_id, "scope": scope_id, "staff": w.staff.email,
                "consultant": w.consultant.email, "consultant_name": w.consultant.name}


def _serious(page):
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in Axe().run(page).response["violations"]
            if v["impact"] in ("serious", "critical")]


def test_staff_propose_not_applicable_a_consultant_approves_the_scope_lists_it(page, browser, live_server,
                                                                                 design_client):
    c = design_client
    task_url, scope_url = f"/c/{c['slug']}/tasks/{c['task']}", f"/c/{c['slug']}/documents/{c['scope']}"
    reason = "Scope statement: we deliver to the client's specification, no design of our own"
    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.goto(task_url)
    page.select_option("#status-select", "not_applicable")
    page.fill("#reason", "Not relevant")
    page.click("button:has-text('Save status')")
    page.wait_for_selector("#status .error-box")  # htmx swaps the status card in place
    status = page.locator("#status")
    assert "with reference to the scope statement" in status.inner_text()
    assert page.input_value("#reason") == "Not relevant"  # what was typed stays
    page.fill("#reason", reason)
    page.click("button:has-text('Save status')")
    page.wait_for_selector("text=Waiting for a consultant's approval")
    assert page.locator("button:has-text('Approve “not applicable”')").count() == 0
    assert _serious(page) == []
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "task-not-applicable-proposed.png"), full_page=True)
    page.click("form[action='/logout'] button")

    log_in(page, c["consultant"], PASSWORD)
    page.goto(task_url)
    page.click("button:has-text('Approve “not applicable”')")
    page.wait_for_selector("text=Approved by a consultant")
    assert "Waiting for a consultant" not in page.locator("#status").inner_text()
    page.goto(scope_url)
    listed = page.locator("#not-applicable").inner_text()
    assert reason in listed and c["consultant_name"] in listed and "8.3" in listed
    assert _serious(page) == []
    page.screenshot(path=os.path.join(SCREENSHOTS, "scope-not-applicable-decisions.png"), full_page=True)

    phone = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    small = phone.new_page()
    try:
        log_in(small, c["consultant"], PASSWORD)
        for url, name in ((scope_url, "scope-not-applicable-phone.png"), (task_url, "task-not-applicable-phone.png")):
            small.goto(url)
            assert small.evaluate("document.scrollingElement.scrollWidth - window.innerWidth") <= 0, url
            small.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)
    finally:
        phone.close()
