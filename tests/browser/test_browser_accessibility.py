"""axe-core (bundled by axe-playwright-python, no network) over the main pages of a consultant and of client
staff: no serious or critical violation. Issue #15 widens this to every page of every role."""
import pytest
from axe_playwright_python.sync_playwright import Axe

from .conftest import log_in

pytestmark = pytest.mark.browser

PAGES = ["/", "/c/acme-logistics/", "/c/acme-logistics/tasks", "/c/acme-logistics/gates",
         "/c/acme-logistics/documents", "/c/acme-logistics/findings", "/c/acme-logistics/readiness",
         "/c/acme-logistics/kpis"]


def _serious(page) -> list:
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("email", ["owner@northwind.example", "staff@acme-logistics.example"])
def test_main_pages_have_no_serious_accessibility_violation(page, email):
    log_in(page, email)
    page.wait_for_load_state()
    found = {}
    for path in PAGES if email.startswith("owner") else PAGES[1:]:
        page.goto(path)
        serious = _serious(page)
        if serious:
            found[path] = serious
    page.goto(f"{PAGES[1]}tasks")
    page.locator("#task-table a").first.click()
    page.wait_for_url("**/tasks/*")
    if _serious(page):
        found["a task"] = _serious(page)
    assert found == {}
