"""In real headless Chromium, under the app's Content-Security-Policy: the main pages and their htmx
interactions report no CSP violation, and the account switcher works without an inline handler."""
import pytest

from conftest import PASSWORD

from .conftest import log_in

pytestmark = pytest.mark.browser

# Runs before any of the page's own scripts (through the DevTools protocol, which the CSP does not govern).
WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.effectiveDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.documentURI);
});
"""


@pytest.fixture()
def watched(page):
    """The page, recording every CSP violation: the DOM event and Chromium's console report."""
    reports = []
    page.add_init_script(WATCH)
    page.on("console", lambda msg: reports.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.on("pageerror", lambda err: reports.append(f"page error: {err}"))

    def violations():
        return reports + page.evaluate("window.__csp || []")

    page.csp_violations = violations
    return page


def _visit(page, path, seen):
    response = page.goto(path)
    assert response.status == 200, path
    assert "script-src 'self'" in response.headers["content-security-policy"], path
    seen += page.csp_violations()


def test_main_pages_and_htmx_run_without_a_csp_violation(watched):
    page, seen = watched, []
    _visit(page, "/login", seen)
    log_in(page, "owner@northwind.example")
    page.wait_for_url("**/")
    for path in ("/", "/team", "/templates/", "/c/acme-logistics/", "/c/acme-logistics/plan",
                 "/c/acme-logistics/gates", "/c/acme-logistics/documents", "/c/acme-logistics/findings",
                 "/c/acme-logistics/people", "/c/acme-logistics/activity"):
        _visit(page, path, seen)
    _visit(page, "/c/acme-logistics/activity", seen)
    with page.expect_response(lambda r: "/activity?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.locator("#who").press_sequentially("Olivia")
    page.wait_for_load_state()
    seen += page.csp_violations()

    _visit(page, "/c/acme-logistics/tasks", seen)
    indicator = page.locator("#task-filters .htmx-indicator")
    assert indicator.evaluate("el => getComputedStyle(el).opacity") == "0"  # our CSS, not htmx's <style>
    total = page.locator("#task-results p.small").inner_text()
    with page.expect_response(lambda r: "/tasks?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.locator("#q").press_sequentially("audit")
    page.wait_for_function("t => document.querySelector('#task-results p.small').innerText !== t", arg=total)
    assert "q=audit" in page.url  # hx-push-url
    page.locator("#task-table tbody a").first.click()
    page.wait_for_url("**/tasks/*")
    seen += page.csp_violations()
    assert seen == []

    # The watch works: an inline handler is refused, and reported.
    ran = page.evaluate("""() => { const b = document.createElement('button');
        b.setAttribute('onclick', 'window.__ran = true'); document.body.append(b); b.click(); return !!window.__ran; }""")
    page.wait_for_function("window.__csp.length > 0")
    assert ran is False and any("script-src" in v for v in page.csp_violations())


@pytest.fixture()
def two_accounts(app):
    from app.extensions import db
    from conftest import Factory

    with app.app_context():
        f = Factory(db)
        user = f.user("Two Hats")
        first, second = f.account(user, name="Alpha Advisers"), f.account(user, name="Beta Auditing")
        return {"email": user.email, "first": first.name, "second": second.name, "second_id": str(second.id)}


def test_account_switcher_submits_on_change_under_the_csp(watched, two_accounts):
    page = watched
    log_in(page, two_accounts["email"], PASSWORD)
    page.wait_for_url("**/")
    switch = page.locator("#account-switch")
    assert switch.evaluate("el => el.getAttribute('onchange')") is None
    with page.expect_navigation():
        switch.select_option(two_accounts["second_id"])
    assert page.locator("#account-switch option:checked").inner_text() == two_accounts["second"]
    assert page.csp_violations() == []


def test_template_library_edits_in_place_under_the_csp(watched, two_accounts):
    page = watched
    log_in(page, two_accounts["email"], PASSWORD)
    page.wait_for_url("**/")
    page.goto("/templates/")
    page.click("#standard-templates >> text=Make a copy")
    page.fill("input[name=name]", "Alpha way")
    page.click("button:has-text('Make the copy')")
    page.wait_for_selector("#workbench")
    first = page.locator("li.tmpl-task").first
    with page.expect_response(lambda r: "/edit" in r.url and r.request.headers.get("hx-request") == "true"):
        first.get_by_role("link", name="Edit").click()
    editing = page.locator("li.tmpl-task.editing")
    editing.locator("input[name=title]").fill("Agree the scope with the client (CSP check)")
    editing.get_by_role("button", name="Save as version 2").click()  # an htmx POST: CSRF header from app.js
    page.wait_for_selector("li.tmpl-task >> text=Agree the scope with the client (CSP check)")
    assert page.csp_violations() == []
