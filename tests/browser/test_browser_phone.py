"""In real headless Chromium at a phone's 390 × 844: no main page is wider than the screen, the workspace
header leaves room for content, its tabs scroll in one row, and the portfolio keeps the columns a consultant
decides by (client, readiness, overdue, gate) on screen."""
import os

import pytest

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
CLIENT = "/c/acme-logistics"
WORKSPACE = ["/", "/gap-analysis", "/tasks", "/documents", "/findings", "/gates", "/plan", "/activity", "/people"]
CONSULTANT_PAGES = ["/", "/templates/", "/team", "/clients/new"] + [CLIENT + p for p in WORKSPACE]


@pytest.fixture()
def phone(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True, has_touch=True)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


def _overflow(page) -> int:
    """How many CSS pixels the page is wider than the screen (0: it fits)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def _shoot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"phone-{name.strip('/').replace('/', '-') or 'home'}.png"))


def _visit_all(page, paths) -> dict:
    wide = {}
    for path in paths:
        page.goto(path)
        assert page.locator("main").count() == 1, path
        _shoot(page, path)
        if _overflow(page) > 0:
            wide[path] = _overflow(page)
    return wide


def test_no_main_page_is_wider_than_a_phone(phone):
    log_in(phone, "owner@northwind.example")
    phone.wait_for_load_state()
    pages = list(CONSULTANT_PAGES)
    phone.goto(CLIENT + "/tasks")
    pages.append(phone.locator("#task-table a").first.get_attribute("href"))
    assert _visit_all(phone, pages) == {}


def test_client_staff_pages_fit_a_phone(phone):
    log_in(phone, "staff@acme-logistics.example")
    phone.wait_for_load_state()
    assert _visit_all(phone, [CLIENT + p for p in WORKSPACE]) == {}


def test_logged_out_pages_fit_a_phone(phone):
    assert _visit_all(phone, ["/login", "/signup", "/forgot"]) == {}


def test_the_workspace_header_is_compact_and_its_tabs_scroll_in_one_row(phone):
    log_in(phone, "owner@northwind.example")
    phone.wait_for_load_state()
    phone.goto(CLIENT + "/gates")
    tabs = phone.locator("nav.subnav")
    box = tabs.bounding_box()
    assert box["y"] + box["height"] <= 260, box  # content starts within the top third of the screen
    tab_tops = {round(t.bounding_box()["y"]) for t in tabs.locator("a").all()}
    assert len(tab_tops) == 1  # one row ...
    assert phone.evaluate("(n => n.scrollWidth > n.clientWidth)(document.querySelector('nav.subnav'))")  # ... that scrolls
    # the current tab is scrolled into view
    active = phone.locator("nav.subnav a.active").bounding_box()
    assert 0 <= active["x"] and active["x"] + active["width"] <= PHONE["width"]


def test_the_portfolio_keeps_client_gate_overdue_and_readiness_on_screen(phone):
    log_in(phone, "owner@northwind.example")
    phone.wait_for_url("**/")
    _shoot(phone, "portfolio")
    for header in ("Client", "Readiness", "Overdue", "Gate"):
        cell = phone.locator("#client-list thead th", has_text=header)
        assert cell.is_visible(), header
        box = cell.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (header, box)
    first_row = phone.locator("#client-list tbody tr").first
    assert first_row.locator("td").first.locator("a").is_visible()
    row_box = first_row.bounding_box()
    assert row_box["x"] + row_box["width"] <= PHONE["width"]
