"""Security headers on every response, no-store for logged-in users, and the production configuration:
it refuses to start without SECRET_KEY or BASE_URL, sets secure cookies and sends HSTS."""
import re
from pathlib import Path

import pytest

from app.config import Config

ROOT = Path(__file__).resolve().parents[2]


def _csp(resp) -> dict:
    policy = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_every_page_sends_the_security_headers(http):
    resp = http.get("/login")
    csp = _csp(resp)
    assert csp["script-src"] == ["'self'"] and csp["default-src"] == ["'self'"]
    assert csp["style-src-elem"] == ["'self'"] and csp["object-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"]
    assert resp.headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"
    assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in resp.headers  # development and tests run on plain http
    assert "no-store" not in resp.headers.get("Cache-Control", "")  # nobody is logged in yet
    assert "Content-Security-Policy" in http.get("/no-such-page").headers


def test_pages_for_a_logged_in_user_are_never_stored(http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    for url in ("/", f"/c/{w.client.slug}/", f"/c/{w.client.slug}/tasks", "/no-such-page"):
        assert http.get(url).headers["Cache-Control"] == "no-store", url
    partial = http.get(f"/c/{w.client.slug}/tasks?q=x", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and partial.headers["Cache-Control"] == "no-store"
    assert "no-store" not in http.get("/static/css/app.css").headers.get("Cache-Control", "")


def test_templates_hold_no_inline_script_or_event_handler():
    """script-src 'self' blocks them: behaviour lives in app/static/js/app.js (a JSON data block is data, not a script)."""
    found = []
    for path in sorted((ROOT / "app" / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", r"\son[a-z]+\s*=", r"javascript:", r"\bhx-on\b", r"<style"):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text, re.I)]
    assert found == []


def test_htmx_is_told_not_to_inject_its_indicator_styles(http, factory):
    w = factory.world()
    http.login(w.consultant.email)
    page = http.get(f"/c/{w.client.slug}/tasks").get_data(as_text=True)
    assert '"includeIndicatorStyles": false' in page
    css = (ROOT / "app" / "static" / "css" / "app.css").read_text()
    assert ".htmx-request .htmx-indicator" in css  # the styles it would have injected are ours instead


# --- production ---------------------------------------------------------------------------------

PRODUCTION = {"ISOPATH_ENV": "production", "SECRET_KEY": "s3cret-for-tests", "BASE_URL": "https://isopath.example/"}


@pytest.mark.parametrize("missing", ["SECRET_KEY", "BASE_URL"])
def test_production_refuses_to_start_without(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    with pytest.raises(RuntimeError, match=missing):
        Config(env=env)


@pytest.mark.parametrize("name,value", [("BASE_URL", "isopath.example"), ("BASE_URL", "ftp://isopath.example"),
                                        ("BASE_URL", "https://isopath.example/?next=x"), ("PROXY_HOPS", "one"),
                                        ("PROXY_HOPS", "-1")])
def test_bad_settings_are_refused_with_their_name(name, value):
    with pytest.raises(RuntimeError, match=name):
        Config(env={**PRODUCTION, name: value})


def test_production_settings():
    config = Config(env={**PRODUCTION, "TRUSTED_HOSTS": "isopath-internal.example, .isopath.example"})
    assert config.BASE_URL == "https://isopath.example"
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
    assert config.SESSION_COOKIE_HTTPONLY and config.REMEMBER_COOKIE_HTTPONLY
    assert config.TRUSTED_HOSTS == ["isopath.example", "isopath-internal.example", ".isopath.example"]
    assert config.PROXY_HOPS == 0 and config.HSTS
    assert Config(env={**PRODUCTION, "PROXY_HOPS": "1"}).PROXY_HOPS == 1


def test_development_defaults():
    config = Config(env={"PORT": "5055"})
    assert config.BASE_URL == "http://127.0.0.1:5055"
    assert config.TRUSTED_HOSTS == ["127.0.0.1", "localhost"]
    assert not config.SESSION_COOKIE_SECURE and not config.HSTS and config.PROXY_HOPS == 0


def test_production_app_sends_hsts_secure_cookies_and_the_other_headers(service_urls, app):
    from app import create_app
    from app.extensions import db

    production = create_app(Config(env={**PRODUCTION, **service_urls}))
    try:
        client = production.test_client()
        resp = client.get("/login", base_url="https://isopath.example")
        assert resp.status_code == 200
        assert resp.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert _csp(resp)["script-src"] == ["'self'"]
        assert resp.headers["Permissions-Policy"] == "camera=(), microphone=(), geolocation=()"
        assert resp.headers["X-Frame-Options"] == "DENY" and resp.headers["X-Content-Type-Options"] == "nosniff"
        cookie = resp.headers["Set-Cookie"]
        assert cookie.startswith("session=") and "Secure" in cookie and "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        # Loopback names are trusted in development only.
        assert client.get("/login", base_url="https://127.0.0.1").status_code == 400
    finally:
        with production.app_context():
            db.engine.dispose()
