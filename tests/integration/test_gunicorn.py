"""The production server for real: gunicorn with the shipped gunicorn.conf.py, as a subprocess on loopback."""
import os
import runpy
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _production_env(service_urls, port, tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ISOPATH_ENV", "SECRET_KEY", "BASE_URL", "PROXY_HOPS",
                                                             "TRUSTED_HOSTS", "FORWARDED_ALLOW_IPS", "WEB_CONCURRENCY")}
    env.update(ISOPATH_ENV="production", SECRET_KEY="gunicorn-test-secret", BASE_URL=f"http://127.0.0.1:{port}",
               DATABASE_URL=service_urls["DATABASE_URL"], REDIS_URL=service_urls["REDIS_URL"],
               UPLOAD_ROOT=str(tmp_path / "uploads"), CACHE_DIR=str(tmp_path / "cache"), **extra)
    return env


def _start(env, port, tmp_path):
    log = open(tmp_path / "gunicorn.log", "wb")
    proc = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                             "--workers", "2", "wsgi:app"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log


def _get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_gunicorn_serves_the_app_with_production_settings(app, service_urls, tmp_path):
    port = free_port()
    proc, log = _start(_production_env(service_urls, port, tmp_path), port, tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "gunicorn.log").read_text()
            try:
                status, headers, body = _get(f"{base}/healthz")
                break
            except (OSError, urllib.error.URLError):  # refused, or accepted while the workers still boot
                assert time.time() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.2)
        assert status == 200 and b'"status":"ok"' in body.replace(b" ", b"")
        status, headers, body = _get(f"{base}/login")
        assert status == 200 and b'name="password"' in body
        assert headers["Strict-Transport-Security"].startswith("max-age=")
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "Secure" in headers["Set-Cookie"]
        # No version banner: gunicorn names itself, without its version.
        assert headers.get_all("Server") == ["gunicorn"]
    finally:
        _stop(proc)
        log.close()
    assert proc.returncode == 0, (tmp_path / "gunicorn.log").read_text()


def test_gunicorn_refuses_to_start_in_production_without_base_url(app, service_urls, tmp_path):
    port = free_port()
    env = _production_env(service_urls, port, tmp_path)
    del env["BASE_URL"]
    proc, log = _start(env, port, tmp_path)
    try:
        proc.wait(timeout=60)
    finally:
        _stop(proc)
        log.close()
    assert proc.returncode != 0
    assert "BASE_URL must be set outside development" in (tmp_path / "gunicorn.log").read_text()


@pytest.mark.parametrize("hops,allowed", [("", []), ("0", []), ("1", ["127.0.0.1", "::1"])])
def test_gunicorn_believes_forwarded_headers_only_with_proxy_hops(monkeypatch, hops, allowed):
    from gunicorn.config import Config as GunicornConfig

    monkeypatch.delenv("FORWARDED_ALLOW_IPS", raising=False)
    monkeypatch.setenv("PROXY_HOPS", hops)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = GunicornConfig()
    config.set("forwarded_allow_ips", settings["forwarded_allow_ips"])
    assert config.forwarded_allow_ips == allowed
    assert settings["timeout"] == 30 and settings["workers"] >= 1
