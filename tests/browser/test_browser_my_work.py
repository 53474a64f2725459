"""My work and the task list's inline status and bulk actions, in a browser (htmx and the select-all box)."""
import os
import re

import pytest

from app.models import WORK_KINDS

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


def test_my_work_lists_what_waits_and_links_into_the_client(page):
    log_in(page, "consultant@northwind.example")
    page.wait_for_load_state()
    count = page.locator(".topnav a[href='/my-work'] .nav-count")  # the bell has a count of its own
    assert count.count() == 1
    page.click(".topnav a[href='/my-work']")
    page.wait_for_url("**/my-work")
    items = page.locator("li.work-item")
    assert items.count() == int(re.sub(r"\D", "", count.inner_text()))
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, "my-work.png"), full_page=True)
    first = items.first
    kind, slug = first.get_attribute("data-kind"), first.get_attribute("data-client")
    first.locator("a.work-title").click()
    page.wait_for_url(f"**/c/{slug}/**")
    assert kind in WORK_KINDS  # approvals, tasks and every other source of due dates


def test_inline_status_and_select_all_on_the_task_list(page):
    log_in(page, "staff@acme-logistics.example")
    page.wait_for_load_state()
    page.goto("/c/acme-logistics/tasks?view=mine")
    row = page.locator("#task-table tbody tr:has(select.status-select)").first
    row_id = row.get_attribute("id")
    select = page.locator(f"#{row_id} select.status-select")
    new = "in_progress" if select.input_value() != "in_progress" else "todo"
    select.select_option(new)
    page.locator(f"#{row_id} select.status-{new}").wait_for()  # the row swapped in by htmx
    page.reload()
    assert page.locator(f"#{row_id} select.status-select").input_value() == new  # saved, not only swapped
    page.check("#select-all")
    boxes = page.locator("input[data-select-one]")
    assert boxes.count() > 0 and all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    boxes.first.uncheck()
    assert not page.is_checked("#select-all")
    page.screenshot(path=os.path.join(SCREENSHOTS, "task-list-bulk.png"), full_page=True)
    page.check("#select-all")  # all of "mine" again, then mark them done in one go
    page.click("button[value=done]")
    page.wait_for_load_state()
    report = page.locator(".flash").first.inner_text()
    assert re.match(r"\d+ tasks? marked done", report), report  # locked stages' tasks are reported as refused
    assert page.url.endswith("/c/acme-logistics/tasks?view=mine")
