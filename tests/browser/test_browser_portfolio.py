"""In real headless Chromium, under the CSP: the portfolio's filters swap only the list through htmx and put
every choice in the address bar; the same address loaded afresh shows the same list and the form as chosen."""
import pytest

from .conftest import log_in

pytestmark = pytest.mark.browser


def _stages(page):
    return page.locator("#client-list tbody tr td:nth-child(2)").all_inner_texts()


def test_filters_swap_the_list_and_live_in_the_url(page):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    log_in(page, "owner@northwind.example")
    page.goto("/")
    everyone = page.locator("#client-list tbody tr").count()
    assert everyone == 12
    marker = page.evaluate("() => { window.__kept = 'yes'; return window.__kept; }")  # a full load would lose it

    page.select_option("#stage", "initial_audit")
    page.wait_for_url("**stage=initial_audit**")
    page.wait_for_function("() => document.querySelectorAll('#client-list tbody tr').length < 12"
                           " || document.getElementById('no-match')")
    stages = _stages(page)
    assert stages and set(stages) == {"Initial audit (gap analysis)"}
    assert page.evaluate("() => window.__kept") == marker  # htmx swapped the list, the page stayed

    page.fill("#q", "acme")
    page.wait_for_url("**q=acme**")
    page.wait_for_function("() => document.querySelectorAll('#client-list tbody tr').length === 1"
                           " || document.getElementById('no-match')")
    # The export link is part of the swapped list: it exports what is shown.
    assert page.get_attribute("#portfolio-export", "href") == "/portfolio.csv?q=acme&stage=initial_audit"
    filtered_url = page.url
    page.goto(filtered_url)  # the address alone rebuilds the list and the form
    assert page.input_value("#q") == "acme" and page.input_value("#stage") == "initial_audit"
    assert page.locator("#client-list tbody tr").count() == 1
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
