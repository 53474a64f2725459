"""In real headless Chromium: staff complete the last task with evidence, the consultant approves the gate."""
import pytest
from sqlalchemy import select

import tenants
from app.models import Document, Task
from app.workspace import operations as ops
from conftest import PASSWORD
from gate_evidence_helpers import meet_gate_evidence

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def almost_ready_client(app):
    """A client whose initial-audit gate lacks only one required task."""
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        actor = ops.Actor(w.consultant.id, "Consultant")
        with tenants.tenant_scope(db.session, w.client.schema_name):
            tasks = db.session.scalars(select(Task).where(Task.stage == "initial_audit", Task.required)
                                       .order_by(Task.position)).all()
            for task in tasks[:-1]:
                ops.set_task_status(task, "done", None, actor)
            for doc in db.session.scalars(select(Document).where(Document.stage == "initial_audit")):
                ops.set_document_status(doc, "approved", actor, role="top_management")
            meet_gate_evidence("initial_audit")
            last = tasks[-1]
            last.assignee_id = w.staff.id
            ops.save(w.client)
            info = {"slug": w.client.slug, "task_id": last.id, "task_title": last.title,
                    "staff": w.staff.email, "consultant": w.consultant.email}
    return info


def test_staff_completes_task_with_evidence_and_consultant_approves_gate(page, almost_ready_client, tmp_path):
    c = almost_ready_client
    evidence = tmp_path / "gap-analysis-report.pdf"
    evidence.write_bytes(b"%PDF-1.4\n% gap analysis report\n")

    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.click("text=Tasks")
    page.click("text=Mine")
    page.get_by_role("link", name=c["task_title"], exact=True).click()
    page.wait_for_url(f"**/tasks/{c['task_id']}")
    page.set_input_files("input[type=file]", str(evidence))
    page.click("#evidence button[type=submit]")
    page.wait_for_selector("#evidence a:has-text('gap-analysis-report.pdf')")  # swapped in place by htmx
    page.select_option("#status-select", "done")
    page.click("#status button[type=submit]")
    page.wait_for_selector("#status .badge.status-done")
    page.click("form[action='/logout'] button")

    log_in(page, c["consultant"], PASSWORD)
    page.goto(f"/c/{c['slug']}/")
    assert "Ready for review" in page.locator("#current-gate").inner_text()
    page.click("text=Review and approve")
    page.fill("#comment-initial_audit", "Gap report reviewed with the owner")
    page.click("#gate-initial_audit button:has-text('Approve gate')")
    page.wait_for_selector("text=gate approved")
    page.click("nav.subnav >> text=Overview")
    current = page.locator("#stage-line li.current")
    assert current.get_attribute("data-stage") == "system_design"
    assert page.locator("#stage-line li.passed").count() == 1
