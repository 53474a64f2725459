"""gunicorn's settings for ISOpath in production: `gunicorn wsgi:app` reads this file from the working
directory (or pass `-c gunicorn.conf.py`). Command-line options override it; environment variables tune it."""
import multiprocessing
import os

# Behind a reverse proxy on the same machine; set BIND=0.0.0.0:8000 (or a unix:/path) when it is elsewhere.
bind = os.environ.get("BIND", "127.0.0.1:8000")
# Synchronous workers, one request each: 2 per core + 1 unless WEB_CONCURRENCY says otherwise.
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
# A request that takes longer is killed and its worker replaced; uploads are buffered by the proxy.
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then: each database connection's catalog cache grows with the schemas it touches.
max_requests = 2000
max_requests_jitter = 200

# The app believes X-Forwarded-For / -Proto from PROXY_HOPS proxies (werkzeug's ProxyFix). gunicorn must
# agree: with no proxy configured it believes no one's X-Forwarded-Proto either, not even loopback's.
# With proxies, it trusts the addresses in FORWARDED_ALLOW_IPS (default: this machine).
_proxy_hops = int(os.environ.get("PROXY_HOPS") or 0)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1") if _proxy_hops else ""

accesslog = "-"
errorlog = "-"
