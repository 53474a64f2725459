"""Logout ends the session on the server: copied session and remember cookies stop working."""
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from auth_browsers import Browser
from conftest import PASSWORD


def _browser_with(app, name: str, value: str) -> Browser:
    """Another browser that holds only one copied cookie."""
    other = Browser(app)
    other.client.set_cookie(name, value)
    return other


def test_a_copied_session_cookie_no_longer_opens_the_workspace_after_logout(factory, app):
    w = factory.world()
    http = Browser(app)
    http.login(w.staff.email)
    workspace = f"/c/{w.client.slug}/"
    copied = http.client.get_cookie("session").value
    assert _browser_with(app, "session", copied).get(workspace).status_code == 200  # the copy works...
    assert http.logout().status_code == 302
    resp = _browser_with(app, "session", copied).get(workspace)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")  # ...until logout


def test_a_copied_remember_cookie_no_longer_opens_the_workspace_after_logout(factory, app):
    w = factory.world()
    http = Browser(app)
    assert http.submit("/login", {"email": w.staff.email, "password": PASSWORD, "remember": "y"}).status_code == 302
    workspace = f"/c/{w.client.slug}/tasks"
    copied = http.client.get_cookie("remember_token").value
    assert _browser_with(app, "remember_token", copied).get(workspace).status_code == 200
    http.logout()
    resp = _browser_with(app, "remember_token", copied).get(workspace)
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    # Logging in again works, with a new token.
    http.login(w.staff.email)
    assert http.get(workspace).status_code == 200


def test_the_remember_cookie_lasts_remember_days_not_a_year(factory, app):
    assert app.config["REMEMBER_DAYS"] == 14
    user = factory.user()
    http = Browser(app)
    resp = http.submit("/login", {"email": user.email, "password": PASSWORD, "remember": "y"})
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    expires = parsedate_to_datetime(next(p.split("=", 1)[1] for p in cookie.split("; ") if p.startswith("Expires=")))
    lifetime = expires - datetime.now(timezone.utc)
    assert timedelta(days=14) - timedelta(minutes=5) < lifetime <= timedelta(days=14)


def test_remember_days_comes_from_the_environment():
    from app.config import Config

    config = Config(env={"ISOPATH_ENV": "test", "REMEMBER_DAYS": "30"})
    assert config.REMEMBER_COOKIE_DURATION == timedelta(days=30)
