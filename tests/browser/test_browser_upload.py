"""In real headless Chromium: a file over the limit is refused before anything is sent, and the evidence card
shows one error at a time — a new choice of file or the server's refusal replaces the last message."""
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.models import Task
from conftest import PASSWORD

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def staff_task(app):
    import tenants
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        with tenants.tenant_scope(db.session, w.client.schema_name):
            task_id = db.session.scalars(select(Task.id).where(Task.stage == "initial_audit")
                                         .order_by(Task.position)).first()
        return {"url": f"/c/{w.client.slug}/tasks/{task_id}", "staff": w.staff.email}


def test_an_over_large_file_is_refused_in_the_browser_and_errors_do_not_pile_up(page, staff_task, app, tmp_path):
    log_in(page, staff_task["staff"], PASSWORD)
    page.wait_for_load_state()
    page.goto(staff_task["url"])
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and "/attachments" in r.url else None)
    errors = page.locator("#evidence [role=alert]")

    limit = app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    big = tmp_path / "scan-of-everything.pdf"
    with open(big, "wb") as f:
        f.truncate(limit + 1)
    page.set_input_files("#file", str(big))
    expect(page.locator("#evidence-error")).to_contain_text(f"larger than {app.config['MAX_UPLOAD_MB']} MB")
    page.click("#evidence button[type=submit]")
    page.wait_for_timeout(500)
    assert sent == []  # nothing went over the wire

    page.set_input_files("#file", {"name": "setup.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90"})
    expect(page.locator("#evidence-error")).to_have_text("")  # the size message went with the big file
    page.click("#evidence button[type=submit]")
    expect(page.locator("#evidence-error")).to_contain_text("setup.exe")
    expect(errors).to_have_count(1)
    page.set_input_files("#file", str(big))
    expect(page.locator("#evidence-error")).to_contain_text(f"larger than {app.config['MAX_UPLOAD_MB']} MB")
    expect(page.locator("#evidence-error")).not_to_contain_text("setup.exe")
    expect(errors).to_have_count(1)
    assert len(sent) == 1
