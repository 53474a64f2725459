"""axe-core (bundled by axe-playwright-python, no network) over every page each role reaches: a consultant
(the consultancy's owner), a client admin, client staff, and someone logged out (login, sign-up, forgotten
password, a reset link, an invitation). No serious or critical violation, and none of the moderate ones
already fixed (ALSO_REFUSED).

"Every page" is found by following the links each role sees, one page per route (the app's own URL map
says which route a link leads to), from where that role lands."""
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe

from conftest import PASSWORD

from .conftest import log_in

pytestmark = pytest.mark.browser

NOT_PAGES = {"auth.logout", "workspace.task_download", "portfolio.portfolio_csv", "workspace.gap_analysis_csv",
             "workspace.gap_analysis_pdf", "workspace.document_version_file", "workspace.document_record_file",
             "workspace.evidence_pack_zip",
             "static"}  # not pages: downloads
MAX_PAGES = 40


# Moderate, but fixed once (issue #15) and kept fixed: a page without its <main>, a table header with no text.
ALSO_REFUSED = {"landmark-one-main", "empty-table-header"}


def _serious(page) -> list:
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical") or v["id"] in ALSO_REFUSED]


def _endpoint(app, path):
    try:
        return app.url_map.bind("localhost").match(path, method="GET")[0]
    except Exception:  # a 404, a POST-only route, another site: not a page to check
        return None


def _check_every_page(app, page, start: list[str]) -> tuple[set, dict]:
    """Visit one page per route reachable through links from `start`; (routes visited, violations by path)."""
    queue, seen, found = list(start), set(), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        endpoint = _endpoint(app, urlsplit(path).path)
        if endpoint is None or endpoint in NOT_PAGES or endpoint.startswith("health.") or endpoint in seen:
            continue
        seen.add(endpoint)
        page.goto(path)
        page.wait_for_load_state()
        serious = _serious(page)
        if serious:
            found[path] = serious
        for href in page.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))"):
            parts = urlsplit(href)
            if not parts.netloc and href.startswith("/"):
                queue.append(href)
    return seen, found


@pytest.fixture()
def client_admin_world(app):
    from app.accounts import invite
    from app.extensions import db
    from app.security import make_reset_token
    from conftest import Factory, unique

    with app.app_context():
        w = Factory(db).world()
        issued = invite(w.owner, w.account, f"{unique('invitee')}@tests.example", "staff", client=w.client)
        db.session.commit()
        return {"slug": w.client.slug, "client_admin": w.client_admin.email,
                "reset": f"/reset/{make_reset_token(w.staff)}", "invite": f"/invite/{issued.token}"}


def test_every_page_of_a_consultant_has_no_serious_accessibility_violation(app, page):
    log_in(page, "owner@northwind.example")
    page.wait_for_load_state()
    seen, found = _check_every_page(app, page, ["/", "/c/acme-logistics/", "/c/acme-logistics/tasks"])
    assert {"portfolio.index", "portfolio.team", "portfolio.new_client", "library.index", "workspace.overview",
            "workspace.tasks", "workspace.task", "workspace.documents", "workspace.findings", "workspace.gates",
            "workspace.plan", "workspace.activity", "workspace.people", "workspace.gap_analysis"} <= seen
    assert found == {}


def test_every_page_of_client_staff_has_no_serious_accessibility_violation(app, page):
    log_in(page, "staff@acme-logistics.example")
    page.wait_for_load_state()
    seen, found = _check_every_page(app, page, ["/c/acme-logistics/", "/c/acme-logistics/tasks"])
    assert {"workspace.overview", "workspace.task", "workspace.gates", "workspace.activity"} <= seen
    assert found == {}


def test_every_page_of_a_client_admin_has_no_serious_accessibility_violation(app, page, client_admin_world):
    c = client_admin_world
    log_in(page, c["client_admin"], PASSWORD)
    page.wait_for_url(f"**/c/{c['slug']}/")
    seen, found = _check_every_page(app, page, [f"/c/{c['slug']}/", f"/c/{c['slug']}/tasks"])
    assert {"workspace.overview", "workspace.task", "workspace.gates", "workspace.people"} <= seen
    assert found == {}


def test_logged_out_pages_have_no_serious_accessibility_violation(app, page, client_admin_world):
    c = client_admin_world
    seen, found = _check_every_page(app, page, ["/login", "/signup", "/forgot", c["reset"], c["invite"]])
    assert {"auth.login", "auth.signup", "auth.forgot", "auth.reset", "auth.invitation"} <= seen
    assert found == {}
