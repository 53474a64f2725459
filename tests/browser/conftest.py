"""End-to-end harness: the app on a real port, driven by Debian's Chromium through Playwright.

Playwright never downloads a browser here: it drives the system `chromium`
through its executable path. Where none is installed the browser tests are
skipped with the command that installs it.
"""
import os
import shutil
import threading

import pytest

from conftest import free_port

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = os.path.join(os.path.dirname(__file__), "..", "..", "instance", "screenshots")


def chromium_path():
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def live_server(app):
    from werkzeug.serving import make_server

    from app.demo import seed_demo

    with app.app_context():
        seed_demo()
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        pytest.skip("browser tests need Debian's Chromium: run `apt-get install -y chromium` (or set CHROMIUM_PATH)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        yield pg
    finally:
        os.makedirs(SCREENSHOTS, exist_ok=True)
        pg.screenshot(path=os.path.join(SCREENSHOTS, f"{request.node.name}.png"), full_page=True)
        context.close()


def log_in(page, email, password="demo-pass-2026"):
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
