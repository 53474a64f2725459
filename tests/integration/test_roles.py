"""Who may change what: every state-changing route with every role, against the expected table in
state_changes.py (the spec, written out rather than read from app/permissions.py).

The allowed roles get the route's success status and the change happens; every other member gets 403 (404 for
client staff on consultancy pages, which they have no access to at all) and nothing in the database changes —
not a row of the shared schema, not a row of the client's schema. Each refused request is one that an allowed
role would have got through at that moment. Outsiders (other clients, other consultancies, unassigned
consultants) are test_isolation.py's.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from app import permissions
from state_changes import (ACCOUNT_MEMBERS, ACCOUNT_OWNERS, ACKNOWLEDGERS, TOP_MANAGEMENT, BILLING, CONSULTANTS, MANAGERS, PUBLIC, ROLE_CASES, ROLES,
                           SETTINGS, SIGNED, WRITERS, Outside, build_team, changed_tables, send, setting_for,
                           state_changing_rules)


@pytest.fixture(scope="module")
def team(app):
    return build_team(app)


def test_every_state_changing_route_has_an_entry(app):
    listed = {case.rule for case in ROLE_CASES + BILLING + PUBLIC} | set(SIGNED)
    routes = state_changing_rules(app)
    assert sorted(routes - listed) == [], "state-changing routes without an entry in state_changes.py"
    assert sorted(listed - routes) == [], "entries in state_changes.py for routes that no longer exist"
    for case in ROLE_CASES + BILLING:
        assert case.allowed and case.allowed <= set(ROLES), case.id


def test_the_role_sets_are_the_ones_the_table_expects():
    # The HTTP test below is what counts; this says at once which set moved.
    assert set(permissions.CONSULTANT_ROLES) == CONSULTANTS
    assert set(permissions.WRITER_ROLES) == WRITERS
    assert set(permissions.CLIENT_MANAGERS) == MANAGERS
    assert set(permissions.EVIDENCE_PACK_ROLES) == MANAGERS
    assert set(permissions.CLIENT_SETTINGS_ROLES) == SETTINGS
    assert set(permissions.ACCOUNT_MEMBERS) == ACCOUNT_MEMBERS
    assert set(permissions.ACCOUNT_OWNERS) == ACCOUNT_OWNERS
    assert set(permissions.ACKNOWLEDGERS) == ACKNOWLEDGERS
    assert set(permissions.DOCUMENT_APPROVERS["top_management"]) == TOP_MANAGEMENT


@pytest.fixture(scope="module")
def billing_team(billing_app):
    return build_team(billing_app)


@pytest.mark.parametrize("case", ROLE_CASES, ids=lambda case: case.id)
def test_exactly_the_allowed_roles_change_anything(app, team, case):
    _exactly_the_allowed_roles(app, team, case)


@pytest.mark.parametrize("case", BILLING, ids=lambda case: case.id)
def test_exactly_the_owners_use_billing(billing_app, billing_team, case):
    _exactly_the_allowed_roles(billing_app, billing_team, case)


def _exactly_the_allowed_roles(app, team, case):
    outside = Outside(app)
    setting = outside(setting_for, case, team)
    # The refused first, each on a request that would succeed; then every allowed role, one after the other.
    order = [r for r in ROLES if r not in case.allowed] + [r for r in ROLES if r in case.allowed]
    outcome = {}
    for role in order:
        browser, token = team.browsers[role]
        s = replace(setting, http=browser)
        req = outside(case.prepare, s)
        before = outside.fingerprint(s.schema)
        resp = send(browser, token, req)
        if role in case.allowed:
            assert resp.status_code == req.ok, f"{role}: POST {req.url} -> {resp.status_code}, expected {req.ok}"
            assert outside(req.done), f"{role}: POST {req.url} answered {resp.status_code} but did not do it"
        else:
            expected = case.denied_status(role)
            assert resp.status_code == expected, f"{role}: POST {req.url} -> {resp.status_code}, expected {expected}"
            assert not outside(req.done), f"{role} was refused, yet POST {req.url} did it"
            assert changed_tables(before, outside.fingerprint(s.schema)) == [], f"{role}'s refused request changed"
        outcome[role] = resp.status_code
    assert {r for r, status in outcome.items() if status < 400} == case.allowed
