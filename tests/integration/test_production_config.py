"""Production configuration: no start without SECRET_KEY, and the cookies it serves are Secure."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import Config
from conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
SITE = "https://isopath.example"


def production_env(service_urls, **extra) -> dict:
    # BASE_URL too: production may come to require it; what is tested here is SECRET_KEY and the cookies.
    return {"ISOPATH_ENV": "production", "DATABASE_URL": service_urls["DATABASE_URL"],
            "REDIS_URL": service_urls["REDIS_URL"], "BASE_URL": SITE, **extra}


@pytest.mark.parametrize("secret", [None, ""])
def test_production_refuses_to_configure_without_a_secret_key(service_urls, secret):
    env = production_env(service_urls)
    if secret is not None:
        env["SECRET_KEY"] = secret
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        Config(env=env)


def test_development_alone_runs_without_one(service_urls):
    # The contrast that makes the refusal above mean something: same settings, development, no SECRET_KEY.
    config = Config(env={**production_env(service_urls), "ISOPATH_ENV": "development"})
    assert config.SECRET_KEY == "dev-only-not-secret" and config.SESSION_COOKIE_SECURE is False


def test_the_production_app_does_not_start_without_a_secret_key(service_urls):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(production_env(service_urls))
    started = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                             text=True, timeout=120)
    assert started.returncode != 0
    assert "SECRET_KEY must be set outside development" in started.stderr
    served = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, capture_output=True, text=True,
                            env={**env, "SECRET_KEY": "a-long-production-secret-for-tests"}, timeout=120)
    assert served.returncode == 0, served.stderr[-2000:]


def test_production_configuration_makes_every_cookie_secure(service_urls):
    config = Config(env=production_env(service_urls, SECRET_KEY="a-long-production-secret-for-tests"))
    assert config.SECRET_KEY == "a-long-production-secret-for-tests"
    assert (config.SESSION_COOKIE_SECURE, config.SESSION_COOKIE_HTTPONLY, config.SESSION_COOKIE_SAMESITE) == \
        (True, True, "Lax")
    assert (config.REMEMBER_COOKIE_SECURE, config.REMEMBER_COOKIE_HTTPONLY, config.REMEMBER_COOKIE_SAMESITE) == \
        (True, True, "Lax")


def test_the_production_app_serves_only_secure_cookies(service_urls, factory):
    user = factory.user("Prod User")
    app = create_app(Config(env=production_env(service_urls, SECRET_KEY="a-long-production-secret-for-tests")))
    browser = app.test_client()
    page = browser.get("/login", base_url=SITE)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = browser.post("/login", base_url=SITE, headers={"Referer": f"{SITE}/login"},
                        data={"email": user.email, "password": PASSWORD, "remember": "y", "csrf_token": token})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    cookies = {c.split("=", 1)[0]: c for c in resp.headers.getlist("Set-Cookie")}
    assert {"session", "remember_token"} <= set(cookies)
    for name, cookie in cookies.items():
        flags = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax"} <= flags, f"{name}: {cookie}"
