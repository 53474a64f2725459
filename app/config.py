"""Configuration from the environment, with safe development defaults."""
import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Local data of this checkout: embedded servers, uploads, caches, the run lock. ISOPATH_INSTANCE points it
# elsewhere (a second, separate set of data; the process tests use one per test).
INSTANCE = Path(os.environ.get("ISOPATH_INSTANCE") or ROOT / "instance").resolve()


def normalise_db_url(url: str) -> str:
    """Accept the usual `postgresql://` spelling and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


# Names a developer's browser uses for the dev server, trusted outside production only.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


def public_base_url(value: str) -> str:
    """BASE_URL checked and without its trailing slash: scheme and host, optionally a path, nothing else."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
            or parts.username or parts.password:
        raise RuntimeError(f"BASE_URL must look like https://isopath.example.com (got {value!r})")
    return value.strip().rstrip("/")


def trusted_hosts(base_url: str, extra: str, development: bool) -> list[str]:
    """The Host names requests may carry: BASE_URL's, those listed in TRUSTED_HOSTS, loopback in development."""
    names = [urlsplit(base_url).hostname]
    names += [name.strip() for name in extra.split(",") if name.strip()]
    if development:
        names += LOOPBACK_HOSTS
    return list(dict.fromkeys(names))


class Config:
    def __init__(self, env=None, **overrides):
        env = os.environ if env is None else env
        self.ENV_NAME = env.get("ISOPATH_ENV", "development")
        self.DEVELOPMENT = self.ENV_NAME in ("development", "test")
        secret = env.get("SECRET_KEY")
        if not secret:
            if not self.DEVELOPMENT:
                raise RuntimeError("SECRET_KEY must be set outside development")
            secret = "dev-only-not-secret"
        self.SECRET_KEY = secret
        self.SQLALCHEMY_DATABASE_URI = normalise_db_url(env.get("DATABASE_URL", ""))
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            "pool_pre_ping": True,
            # Each backend's catalog cache grows with every schema it touches; recycle hourly.
            "pool_recycle": 3600,
        }
        self.REDIS_URL = env.get("REDIS_URL", "")
        self.SMTP_URL = env.get("SMTP_URL", "")
        self.MAIL_FROM = env.get("MAIL_FROM", "ISOpath <no-reply@isopath.example>")
        # Every link the app mails is built on BASE_URL, never on the request's Host header.
        base_url = env.get("BASE_URL", "")
        if not base_url:
            if not self.DEVELOPMENT:
                raise RuntimeError("BASE_URL must be set outside development, e.g. https://isopath.example.com")
            base_url = f"http://127.0.0.1:{env.get('PORT') or '5000'}"
        self.BASE_URL = public_base_url(base_url)
        # Flask answers any other Host with 400 (SecurityError); "." before a name admits its subdomains.
        self.TRUSTED_HOSTS = trusted_hosts(self.BASE_URL, env.get("TRUSTED_HOSTS", ""), self.DEVELOPMENT)
        # Reverse proxies in front of the app whose X-Forwarded-For / -Proto headers are believed.
        self.PROXY_HOPS = _count("PROXY_HOPS", env.get("PROXY_HOPS") or "0")
        # Strict-Transport-Security is sent in production only (a developer's http://127.0.0.1 must stay reachable).
        self.HSTS = not self.DEVELOPMENT
        self.UPLOAD_ROOT = env.get("UPLOAD_ROOT", str(INSTANCE / "uploads"))
        self.MAX_UPLOAD_MB = int(env.get("MAX_UPLOAD_MB", "25"))
        # Werkzeug rejects bodies above this with 413 before a view reads them.
        self.MAX_CONTENT_LENGTH = (self.MAX_UPLOAD_MB + 1) * 1024 * 1024
        self.LOGIN_RATE_LIMIT = int(env.get("LOGIN_RATE_LIMIT", "10"))
        self.LOGIN_RATE_WINDOW = int(env.get("LOGIN_RATE_WINDOW", "900"))
        self.INVITATION_DAYS = int(env.get("INVITATION_DAYS", "7"))
        self.RESET_HOURS = int(env.get("RESET_HOURS", "2"))
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = not self.DEVELOPMENT
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"
        self.REMEMBER_COOKIE_SECURE = not self.DEVELOPMENT
        self.WTF_CSRF_TIME_LIMIT = None  # token lives as long as the session
        # Spare client schemas kept built ahead so that creating a client is a rename (tenants/spares.py).
        self.SPARE_SCHEMAS = int(env.get("SPARE_SCHEMAS") or 5)
        # Remembers each migration track's head by the digest of its files (no Alembic import when idle).
        self.CACHE_DIR = env.get("CACHE_DIR") or str(INSTANCE / "cache")
        # Where `clients export` writes and records archives; `clients drop` checks them.
        self.EXPORTS_DIR = env.get("EXPORTS_DIR") or str(INSTANCE / "exports")
        # Processes and storage (issue #14): the most evidence one client may store, all its files together.
        self.CLIENT_STORAGE_MB = int(env.get("CLIENT_STORAGE_MB") or 2048)
        # --- sessions and throttling of the login forms (app/security.py) ---
        # Argon2's cost: "standard" everywhere; the test suite's own config asks for "cheapest".
        self.PASSWORD_HASH_COST = "standard"
        # After LOGIN_RATE_LIMIT failures for one email from one address, that pair waits
        # LOGIN_RATE_DELAY seconds, doubling per further failure up to LOGIN_RATE_MAX_DELAY; the
        # failures are forgotten LOGIN_RATE_WINDOW seconds after the last one (or at a correct password).
        self.LOGIN_RATE_DELAY = int(env.get("LOGIN_RATE_DELAY", "30"))
        self.LOGIN_RATE_MAX_DELAY = int(env.get("LOGIN_RATE_MAX_DELAY", "900"))
        # Failed logins from one address across all emails per LOGIN_RATE_WINDOW (an office shares one).
        self.LOGIN_RATE_ADDRESS_LIMIT = int(env.get("LOGIN_RATE_ADDRESS_LIMIT", "100"))
        # Per hour: reset mails per email, reset requests per address, sign-ups and invitation
        # acceptances per address.
        self.LOGIN_RATE_RESET_MAILS = int(env.get("LOGIN_RATE_RESET_MAILS", "3"))
        self.LOGIN_RATE_RESET_ADDRESS = int(env.get("LOGIN_RATE_RESET_ADDRESS", "20"))
        self.LOGIN_RATE_SIGNUPS = int(env.get("LOGIN_RATE_SIGNUPS", "10"))
        self.LOGIN_RATE_INVITATIONS = int(env.get("LOGIN_RATE_INVITATIONS", "20"))
        # "Keep me logged in": weeks, not a year; logout ends it everywhere (the login token rotates).
        self.REMEMBER_DAYS = int(env.get("REMEMBER_DAYS", "14"))
        self.REMEMBER_COOKIE_DURATION = timedelta(days=self.REMEMBER_DAYS)
        # A database host that drops packets must not hold requests forever: after this many seconds
        # connecting gives up and the request gets the 503 page (app/factory.py).
        self.DATABASE_CONNECT_TIMEOUT = int(env.get("DATABASE_CONNECT_TIMEOUT", "5"))
        self.SQLALCHEMY_ENGINE_OPTIONS["connect_args"] = {"connect_timeout": self.DATABASE_CONNECT_TIMEOUT}
        self.STRIPE_API_KEY = env.get("STRIPE_API_KEY", "")
        self.STRIPE_API_BASE = env.get("STRIPE_API_BASE", "")
        self.STRIPE_WEBHOOK_SECRET = env.get("STRIPE_WEBHOOK_SECRET", "")
        # Billing (app/subscriptions.py, app/billing/): off while STRIPE_API_KEY is empty. The Stripe price of
        # each plan and interval, as "solo:month=price_…,solo:year=price_…,practice:month=…".
        self.STRIPE_PRICES = env.get("STRIPE_PRICES", "")
        # Days a past-due consultancy stays writable (Stripe's Smart Retries try for 2 weeks by default).
        self.BILLING_GRACE_DAYS = _count("BILLING_GRACE_DAYS", env.get("BILLING_GRACE_DAYS") or "14")
        for key, value in overrides.items():
            setattr(self, key, value)


def _count(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise RuntimeError(f"{name} must be a whole number of 0 or more (got {value!r})")
    return number
