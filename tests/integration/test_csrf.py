"""Every state-changing route refuses a request without the session's CSRF token — as a plain form post and as
an htmx request without the X-CSRFToken header — with the "Form expired" page (400), and changes nothing;
the very same request with the token then succeeds, so each refusal is the token's doing.

The routes and their requests are state_changes.py's; a POST rule of the app with no entry there fails
test_every_state_changing_route_is_checked. Runs with CSRF protection on whatever the test configuration says.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import Factory, HttpClient
from app.extensions import db as _db
from state_changes import (BILLING, LOGGED_IN, PUBLIC, ROLE_CASES, SIGNED, Outside, build_team, changed_tables, send,
                           setting_for, state_changing_rules)

# Routes that may take a POST without the token, each with the reason: Stripe's webhook authenticates by its
# signature instead (state_changes.SIGNED says where that check is tested).
CSRF_EXEMPT: dict[str, str] = {
    **SIGNED,
    # RFC 8058 one-click: the mail client POSTs with no session; a signed token for one user and one kind is
    # the proof (tampered and foreign tokens refused: test_notifications.py::test_unsubscribe_works_without_…).
    "/unsubscribe/<token>": "one-click unsubscribe from a mail, signed per user and kind",
}


def _one_case_per_route():
    seen, cases = set(), []
    for case in ROLE_CASES + BILLING + PUBLIC:
        if case.rule not in seen and case.rule not in CSRF_EXEMPT:
            seen.add(case.rule)
            cases.append(case)
    return cases


CASES = _one_case_per_route()


@pytest.fixture(scope="module", autouse=True)
def csrf_protection_on(app):
    keys = ("WTF_CSRF_ENABLED", "WTF_CSRF_CHECK_DEFAULT")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update({k: True for k in keys})
    yield
    app.config.update(saved)


@pytest.fixture(scope="module")
def team(app):
    return build_team(app)


def test_every_state_changing_route_is_checked(app):
    routes = state_changing_rules(app)
    assert sorted(routes - {case.rule for case in CASES} - set(CSRF_EXEMPT)) == []
    assert sorted(set(CSRF_EXEMPT) - routes) == [], "exemptions for routes that no longer exist"


def _browser_for(case, team, outside):
    """Who sends it: an allowed member of the team, else a browser of its own (public forms, logout)."""
    if case.area != "public":
        role = "owner" if "owner" in case.allowed else sorted(case.allowed)[0]
        return team.browsers[role]
    browser = HttpClient(outside.app.test_client())
    if case.rule == "/logout":  # someone of their own: logging out must not end a session the module shares
        browser.login(outside(lambda: Factory(_db).user("Leaving Soon").email))
    elif case.allowed == LOGGED_IN:  # a logged-in person's own things: the team's owner, in a session of its own
        browser.login(team.emails["owner"])
    return browser, browser.csrf("/login" if case.allowed != LOGGED_IN else "/")


@pytest.fixture(scope="module")
def billing_team(billing_app):
    keys = ("WTF_CSRF_ENABLED", "WTF_CSRF_CHECK_DEFAULT")
    saved = {k: billing_app.config.get(k) for k in keys}
    billing_app.config.update({k: True for k in keys})
    yield build_team(billing_app)
    billing_app.config.update(saved)


def test_the_signed_webhook_is_exempt_and_nothing_else(billing_app):
    exempt = billing_app.extensions["csrf"]._exempt_views
    # Stripe's webhook (signed by Stripe) and the RFC 8058 one-click unsubscribe (a signed token per user and kind).
    assert exempt == {"app.billing.webhook.webhook", "app.notify.views.unsubscribe"}
    assert set(CSRF_EXEMPT) == {"/billing/webhook", "/unsubscribe/<token>"}


@pytest.mark.parametrize("case", [c for c in CASES if c.area != "billing"], ids=lambda case: case.id)
def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, team, mailbox, case):
    _refused_without_token(app, team, mailbox, case)


@pytest.mark.parametrize("case", BILLING, ids=lambda case: case.id)
def test_a_billing_post_without_the_csrf_token_is_refused(billing_app, billing_team, mailbox, case):
    _refused_without_token(billing_app, billing_team, mailbox, case)


def _refused_without_token(app, team, mailbox, case):
    outside = Outside(app)
    browser, token = _browser_for(case, team, outside)
    s = replace(outside(setting_for, case, team, mailbox), http=browser)
    req = outside(case.prepare, s)
    before = outside.fingerprint(s.schema)
    for how, headers in (("form post", {}), ("htmx request", {"HX-Request": "true"})):
        resp = send(browser, None, req, headers=headers)
        assert resp.status_code == 400 and b"Form expired" in resp.data, f"{how} to {req.url}: {resp.status_code}"
        assert not outside(req.done), f"{how} to {req.url} without a token did it"
        assert changed_tables(before, outside.fingerprint(s.schema)) == [], f"{how} to {req.url} changed"
    wrong = send(browser, token[::-1], req, headers={"HX-Request": "true", "X-CSRFToken": token[::-1]})
    assert wrong.status_code == 400 and not outside(req.done), f"a wrong token was accepted by {req.url}"
    resp = send(browser, token, req)
    assert resp.status_code == req.ok, f"with its token, {req.url} -> {resp.status_code}"
    assert outside(req.done), f"with its token, {req.url} answered {resp.status_code} but did not do it"
