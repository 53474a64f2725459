"""The billing page in Chromium, with billing on (the loopback Stripe stand-in): trial, then subscribed with an
invoice, the next invoice previewed, the plan change form and a dormant client flagged; no serious accessibility violation; readable on a phone."""
import os
import threading
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from werkzeug.serving import make_server

from app import clock
from app.extensions import db as _db
from app.models import Account
from conftest import PASSWORD, Factory, HttpClient, free_port
from integration.billing_world import subscribe

from .conftest import SCREENSHOTS, log_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def billing_server(billing_app):
    server = make_server("127.0.0.1", free_port(), billing_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


def _serious(page) -> list:
    result = Axe().run(page)
    return [(v["id"], [n["target"] for n in v["nodes"]]) for v in result.response["violations"]
            if v["impact"] in ("serious", "critical")]


def _shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOTS, f"{name}.png"), full_page=True)


def test_the_owner_reads_the_billing_page_on_trial_and_subscribed(browser, billing_app, billing_server, standin):
    with billing_app.app_context():
        factory = Factory(_db)
        w = factory.world()
        quiet = factory.client(_db.session.get(Account, w.account.id), name="Harbour Joinery Ltd")
        quiet.summary.last_activity_at = clock.now() - timedelta(days=75)
        _db.session.commit()
        owner_email, account_id, quiet_id = w.owner.email, w.account.id, quiet.id
    context = browser.new_context(base_url=billing_server, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    log_in(page, owner_email, password=PASSWORD)
    page.goto("/billing")
    assert page.locator("#plan-name").inner_text() == "Practice"
    assert page.locator("#trial-left").inner_text() == "14"
    assert page.locator(f"#meter-{quiet_id} .badge").inner_text() == "Dormant"
    assert _serious(page) == []
    _shot(page, "billing-trial")

    with billing_app.app_context():
        http = HttpClient(billing_app.test_client())
        http.login(owner_email, password=PASSWORD)
        subscribe(http, standin, account_id, "practice", "year")
    page.goto("/billing")
    assert page.locator("#status").inner_text() == "Active"
    assert page.locator("#invoices a").count() == 1
    assert page.locator("#next-invoice-amount").inner_text() == "980.00 EUR"  # two active clients at 490.00 a year
    assert page.locator("#invoice-preview tbody tr").count() == 1
    assert page.locator("#change-plan input[name=plan]:checked").get_attribute("value") == "practice"
    assert _serious(page) == []
    _shot(page, "billing-subscribed")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/billing")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone ({width}px)"
    _shot(page, "billing-phone")
    context.close()
