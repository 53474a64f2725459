"""In real headless Chromium: Back and Forward after htmx updates show what is true now, not a snapshot —
a task's new status in the list and on its page, and filters that match the list they are shown with."""
import pytest
from playwright.sync_api import expect

from conftest import PASSWORD

from .conftest import log_in

pytestmark = pytest.mark.browser


@pytest.fixture()
def fresh_client(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        w = Factory(db).world()
        return {"slug": w.client.slug, "staff": w.staff.email}


def _status_in_list(page, title):
    """The status a task's row of the list shows: its inline status select (client staff may change it)."""
    row = page.locator("#task-table tbody tr", has=page.get_by_role("link", name=title, exact=True))
    return row.locator("select.status-select")


def _traverse(page, step):
    """Back or Forward over an htmx history entry: htmx keeps no snapshot (historyCacheSize 0), so the popstate
    makes it reload the page from the server. Wait for that reload's load event, not for the address (which
    changes at once, before the reload): the checks that follow then read the page the server sent, however
    slow the machine is."""
    with page.expect_event("load", timeout=30_000):
        step()


def test_back_and_forward_show_a_status_changed_in_place(page, fresh_client):
    c = fresh_client
    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.goto(f"/c/{c['slug']}/tasks")
    first = page.locator("#task-table tbody tr a").first
    title = first.inner_text()
    expect(_status_in_list(page, title)).to_have_value("todo")
    first.click()
    page.wait_for_url("**/tasks/*")
    page.select_option("#status-select", "in_progress")
    page.click("#status button[type=submit]")
    expect(page.locator("#status .badge")).to_have_text("In progress")  # swapped in place, no navigation

    page.go_back()
    page.wait_for_url(f"**/c/{c['slug']}/tasks")
    expect(_status_in_list(page, title)).to_have_value("in_progress")
    page.go_forward()
    page.wait_for_url("**/tasks/*")
    expect(page.locator("#status .badge")).to_have_text("In progress")
    expect(page.locator("#status-select")).to_have_value("in_progress")


def test_back_and_forward_over_filters_keep_the_filter_box_and_the_list_in_step(page, fresh_client):
    c = fresh_client
    log_in(page, c["staff"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    page.goto(f"/c/{c['slug']}/tasks")
    rows = page.locator("#task-table tbody tr")
    everything = rows.count()
    page.select_option("#stage", "implementation")
    page.wait_for_url("**/tasks?*stage=implementation*")  # htmx pushed the query: the address says it all
    expect(rows.first.locator("td").nth(2)).to_have_text("Implementation")  # after the selection box and the title
    filtered = rows.count()
    assert 0 < filtered < everything
    page.select_option("#status", "todo")
    page.wait_for_url("**/tasks?*status=todo*")

    _traverse(page, page.go_back)
    assert "stage=implementation" in page.url and "status=todo" not in page.url
    expect(page.locator("#status")).to_have_value("")
    expect(page.locator("#stage")).to_have_value("implementation")
    expect(rows).to_have_count(filtered)
    _traverse(page, page.go_back)
    expect(page.locator("#stage")).to_have_value("")
    expect(rows).to_have_count(everything)
    assert "stage=" not in page.url
    _traverse(page, page.go_forward)
    expect(page.locator("#stage")).to_have_value("implementation")
    expect(rows).to_have_count(filtered)
    _traverse(page, page.go_forward)
    expect(page.locator("#status")).to_have_value("todo")
    expect(page.locator("#stage")).to_have_value("implementation")
