"""The sign-off pages in a browser: a gate sent back says so on the client's overview and gates page, staff
are told who can ask for the review, a passed stage's task and documents are read-only, and the findings
form asks for a severity."""
import os

import pytest
from sqlalchemy import select

import tenants
from app.extensions import db
from app.models import Document, Task
from app.workspace import operations as ops
from capa_helpers import meet_closing_rule
from conftest import PASSWORD, Factory
from gate_evidence_helpers import meet_gate_evidence

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


def _shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"signoffs-{name}.png"), full_page=True)


def _complete(client, stage):
    actor = ops.Actor(None, "setup")
    with tenants.tenant_scope(db.session, client.schema_name):
        for task in db.session.scalars(select(Task).where(Task.stage == stage, Task.required)):
            ops.set_task_status(task, "done", None, actor)
        for doc in db.session.scalars(select(Document).where(Document.stage == stage)):
            ops.set_document_status(doc, "approved", actor, role="top_management")
        meet_gate_evidence(stage)
        ops.save(client)


@pytest.fixture()
def sent_back_client(app):
    """A client past its first gate whose second the consultant sent back."""
    with app.app_context():
        w = Factory(db).world()
        consultant = ops.Actor(w.consultant.id, w.consultant.name)
        _complete(w.client, "initial_audit")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            ops.approve_gate("initial_audit", "Gap report agreed", consultant)
            ops.save(w.client)
        _complete(w.client, "system_design")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            ops.request_gate_review("system_design", "All in", ops.Actor(w.client_admin.id, w.client_admin.name))
            ops.send_back_gate("system_design", "The quality policy is not signed by the managing director.\n"
                                                "Objectives lack targets for 2027.", consultant)
            ops.raise_finding("system_design", "minor", "Objectives have no targets", "6.2", "", consultant)
            closed = ops.raise_finding("initial_audit", "major", "No supplier evaluation", "8.4.1", "", consultant)
            db.session.flush()
            meet_closing_rule(closed)
            ops.close_finding(closed, "Suppliers evaluated; records filed under 8.4", consultant)
            task_id = db.session.scalars(select(Task.id).where(Task.stage == "initial_audit")
                                         .order_by(Task.position)).first()
            ops.save(w.client)
        return {"slug": w.client.slug, "task_id": task_id, "staff": w.staff.email, "consultant": w.consultant.email,
                "admin_name": w.client_admin.name}


def test_sent_back_gate_staff_and_signed_off_stage_in_the_browser(page, sent_back_client):
    c = sent_back_client
    slug, task_id = c["slug"], c["task_id"]

    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{slug}/")
    page.goto(f"/c/{slug}/")
    gate = page.locator("#current-gate")
    assert "Sent back on" in gate.inner_text() and "not signed by the managing director" in gate.inner_text()
    assert gate.get_by_role("link", name="Request review").count() == 0
    assert c["admin_name"] in gate.inner_text()
    _shot(page, "staff-overview-sent-back")
    page.goto(f"/c/{slug}/gates")
    assert "Sent back on" in page.locator("#gate-system_design").inner_text()
    _shot(page, "staff-gates-sent-back")
    page.goto(f"/c/{slug}/tasks/{task_id}")
    assert "signed off and read-only" in page.locator("#signed-off").inner_text()
    assert page.locator("#status-select").count() == 0
    _shot(page, "staff-task-signed-off")
    page.goto(f"/c/{slug}/documents")
    assert page.locator(".signed-off").count() == 1
    _shot(page, "staff-documents")

    page.click("form[action='/logout'] button")
    log_in(page, c["consultant"], PASSWORD)
    page.wait_for_url("**/")
    page.goto(f"/c/{slug}/gates")
    page.locator("#review-requests input[name=staff_may_request]").check()
    page.locator("#review-requests button").click()
    page.locator(".flashes").wait_for()
    assert "staff can now request gate reviews" in page.locator(".flashes").inner_text()
    _shot(page, "consultant-gates")
    page.goto(f"/c/{slug}/findings")
    assert page.locator("#f-severity").input_value() == ""
    assert "Suppliers evaluated; records filed under 8.4" in page.locator("#finding-table").inner_text()
    _shot(page, "consultant-findings")
