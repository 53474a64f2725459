"""Redis or PostgreSQL unreachable: logins go on without Redis; without PostgreSQL a friendly 503, never a 500.

The servers stay up: each test builds a second app whose URL points at a closed loopback port.
"""
from __future__ import annotations

import logging

import pytest

from auth_browsers import Browser
from conftest import PASSWORD, free_port, make_config, unique


@pytest.fixture(scope="module")
def app_without_redis(service_urls, smtp_server):
    from app import create_app

    controller, _ = smtp_server
    urls = dict(service_urls, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    return create_app(make_config(urls, controller.port, PROPAGATE_EXCEPTIONS=False))


@pytest.fixture(scope="module")
def app_without_database(service_urls):
    from app import create_app

    urls = dict(service_urls, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{free_port()}/isopath")
    # As in production: an error inside an error handler reaches the 500 handler instead of the test.
    return create_app(make_config(urls, PROPAGATE_EXCEPTIONS=False))


def test_with_redis_down_login_works_and_the_limiter_says_it_is_off(factory, app_without_redis, caplog):
    w = factory.world()
    browser = Browser(app_without_redis)
    with caplog.at_level(logging.WARNING, logger="isopath.security"):
        assert browser.submit("/login", {"email": w.staff.email, "password": "wrong-password-1"}).status_code == 401
        resp = browser.submit("/login", {"email": w.staff.email, "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/c/{w.client.slug}/"
    assert browser.get(f"/c/{w.client.slug}/").status_code == 200
    warnings = [r.getMessage() for r in caplog.records if r.name == "isopath.security"]
    assert warnings and "Redis unreachable" in warnings[0] and "letting requests through" in warnings[0]


def test_with_redis_down_reset_mails_and_sign_ups_still_work(factory, app_without_redis, mailbox):
    user = factory.user()
    assert Browser(app_without_redis).submit("/forgot", {"email": user.email}).status_code == 302
    assert mailbox.last_to(user.email)
    resp = Browser(app_without_redis).submit("/signup", {"consultancy": "No Redis Ltd", "name": "Nora",
                                                         "email": f"{unique('nora')}@x.example", "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def _is_friendly_503(resp) -> bool:
    body = resp.get_data(as_text=True)
    return (resp.status_code == 503 and resp.headers.get("Retry-After") == "30"
            and "ISOpath is temporarily unavailable" in body and "Nothing you entered was saved" in body)


def test_with_the_database_down_logging_in_gets_a_friendly_503(factory, app_without_database):
    user = factory.user()
    browser = Browser(app_without_database)
    assert browser.get("/login").status_code == 200  # the form itself needs no database
    resp = browser.submit("/login", {"email": user.email, "password": PASSWORD})
    assert _is_friendly_503(resp), resp.get_data(as_text=True)[:3000]


def test_with_the_database_down_a_logged_in_user_gets_a_friendly_503(factory, app, app_without_database):
    w = factory.world()
    healthy = Browser(app)
    healthy.login(w.staff.email)
    cookie = healthy.client.get_cookie("session").value  # logged in before the database went away
    browser = Browser(app_without_database)
    browser.client.set_cookie("session", cookie)
    for url in ("/login", f"/c/{w.client.slug}/", f"/c/{w.client.slug}/tasks", "/", "/no-such-page"):
        resp = browser.get(url)
        assert _is_friendly_503(resp), (url, resp.status_code, resp.get_data(as_text=True)[:3000])
    resp = browser.get(f"/c/{w.client.slug}/tasks", headers={"HX-Request": "true"})
    assert resp.status_code == 503
    # An anonymous visitor of a workspace URL is sent to log in first (that needs no database).
    resp = Browser(app_without_database).get(f"/c/{w.client.slug}/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_with_the_database_down_healthz_still_names_it(app_without_database):
    resp = Browser(app_without_database).get("/healthz")
    assert resp.status_code == 503 and resp.get_json()["database"].startswith("down")


def test_a_database_that_never_answers_gives_the_503_after_the_connect_timeout(service_urls, factory):
    import socket
    import threading
    import time

    from app import create_app
    from app.config import Config

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nobody ever answers
    try:
        port = silent.getsockname()[1]
        config = Config(env={"ISOPATH_ENV": "test", "SECRET_KEY": "test-secret", "REDIS_URL": service_urls["REDIS_URL"],
                             "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/isopath",
                             "DATABASE_CONNECT_TIMEOUT": "2"},
                        TESTING=True, PROPAGATE_EXCEPTIONS=False)
        browser = Browser(create_app(config))
        user = factory.user()
        outcome = {}

        def log_in():
            started = time.monotonic()
            outcome["response"] = browser.submit("/login", {"email": user_email, "password": PASSWORD})
            outcome["seconds"] = time.monotonic() - started

        user_email = user.email
        thread = threading.Thread(target=log_in, daemon=True)
        thread.start()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the request hung on a database that never answers"
        assert _is_friendly_503(outcome["response"]) and outcome["seconds"] < 15
    finally:
        silent.close()
