"""Test fixtures: real PostgreSQL, real Redis, a real SMTP server on loopback.

With TEST_DATABASE_URL / TEST_REDIS_URL unset, the embedded servers under
`instance/` are used (the same ones `dev.py run` uses, in a database of their
own) and stopped at the end unless another process still uses them.

Isolation: the test database is emptied once per session; tests then create
what they need with unique names (throwaway clients and schemas) rather than
recreating the database per test.

The suite runs on several pytest-xdist workers (pyproject's addopts). Each
worker has a database, a Redis database number, an upload folder and a
migration cache of its own (`WORKER` below), so that no worker sees another's
schemas, throttling counters or files; the embedded servers are shared, started
once by the controlling process before the workers attach.
"""
from __future__ import annotations

import itertools
import os
import re
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-9"
# "gw0", "gw1", … under pytest-xdist; "" in a plain run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0


def _for_worker_db(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False) if WORKER else url


def _for_worker_redis(url: str) -> str:
    """The worker's own Redis database number: counted up from the given one, down where that runs past 15."""
    match = re.search(r"(/|db=)(\d+)$", url)
    base = int(match.group(2)) if match else 0
    number = base + WORKER_INDEX if base + WORKER_INDEX <= 15 else base - WORKER_INDEX
    return (url[:match.start(2)] + str(number)) if match else f"{url.rstrip('/')}/{number}"


def worker_folder(name: str) -> Path:
    return ROOT / "instance" / (f"{name}-{WORKER}" if WORKER else name)


_controller_services = None


def pytest_configure(config):
    """Under xdist, the controlling process starts the embedded servers the workers will share."""
    global _controller_services
    uses_embedded = not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL"))
    if WORKER or not uses_embedded or not getattr(config.option, "numprocesses", None):
        return
    from app.config import INSTANCE
    from app.embedded import Services

    _controller_services = Services(INSTANCE)
    _controller_services.postgres_url("postgres")
    _controller_services.redis_url()


def pytest_collection_modifyitems(config, items):
    """Which worker runs what (`--dist loadgroup`): a module's tests on one worker, as `--dist loadfile` would
    place them, and all the browser tests on one, since each worker that runs any seeds the demo for its
    live server first (most of a minute)."""
    for item in items:
        group = "browser" if item.path.parent.name == "browser" else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_unconfigure(config):
    global _controller_services
    if _controller_services is not None:
        _controller_services.stop()
        _controller_services = None


# --- servers ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def service_urls():
    from app.config import INSTANCE
    from app.embedded import Services

    services = Services(INSTANCE)
    try:
        given = os.environ.get("TEST_DATABASE_URL")
        db_url = _for_worker_db(given) if given else services.postgres_url(f"isopath_test_{WORKER}" if WORKER
                                                                           else "isopath_test")
        redis_url = _for_worker_redis(os.environ.get("TEST_REDIS_URL") or services.redis_url(db=1))
        _empty_database(db_url)
        import redis

        r = redis.Redis.from_url(redis_url)
        r.flushdb()
        r.close()
        yield {"DATABASE_URL": db_url, "REDIS_URL": redis_url}
    finally:
        services.stop()


def _empty_database(url: str) -> None:
    from app.config import normalise_db_url

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    engine = create_engine(normalise_db_url(url), poolclass=NullPool)
    try:
        engine.connect().close()
    except OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
        admin = create_engine(make_url(normalise_db_url(url)).set(database="postgres"), poolclass=NullPool,
                              isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{engine.url.database}"'))
        admin.dispose()
    with engine.connect() as conn:
        schemas = conn.execute(text(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'client\\_%' OR nspname LIKE 'bench\\_%'")).scalars().all()
    with engine.connect() as conn:
        for name in schemas:  # one transaction each: dropping hundreds at once exhausts the lock table
            with conn.begin():
                conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    """What the loopback SMTP server received. Reading it first delivers the mail the app queued, as its
    worker would (`deliver`, set by the fixture): the suite runs no worker process."""

    messages: list = field(default_factory=list)
    deliver: object = None

    def to(self, address: str):
        if self.deliver is not None:
            self.deliver()
        return [m for m in self.messages if m["To"] == address]

    def last_to(self, address: str, timeout: float = 5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.to(address)
            if found:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no mail to {address}; got {[m['To'] for m in self.messages]}")

    def link_in(self, message, path_prefix: str) -> str:
        body = message.get_payload(decode=True).decode()
        match = re.search(r"https?://[^\s]+(" + re.escape(path_prefix) + r"[^\s]+)", body)
        assert match, f"no {path_prefix} link in: {body}"
        return match.group(1)


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    box = Mailbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            box.messages.append(message_from_bytes(envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, box
    finally:
        controller.stop()


@pytest.fixture()
def mailbox(smtp_server, app):
    _, box = smtp_server
    box.messages.clear()
    box.deliver = lambda: deliver_queued_mail(app)
    return box


def deliver_queued_mail(app) -> None:
    """Send what waits in the mail queue, as the worker does (RQ's SimpleWorker in burst mode, no fork)."""
    from rq import SimpleWorker

    from app.mail import mail_queue

    with app.app_context():
        queue = mail_queue()
        if queue.count:
            SimpleWorker([queue], connection=queue.connection).work(burst=True, logging_level="WARNING")


# --- the app -------------------------------------------------------------------------------

def make_config(urls: dict, smtp_port: int | None = None, **overrides):
    from app.config import Config

    env = {
        "ISOPATH_ENV": "test",
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": urls["DATABASE_URL"],
        "REDIS_URL": urls["REDIS_URL"],
        "UPLOAD_ROOT": str(worker_folder("test-uploads")),
        "CACHE_DIR": str(worker_folder("test-cache")),
        "EXPORTS_DIR": str(worker_folder("test-exports")),
    }
    if smtp_port:
        env["SMTP_URL"] = f"smtp://127.0.0.1:{smtp_port}"
    # Argon2 at its cheapest: hundreds of logins would otherwise spend minutes hashing (test_auth_throttling
    # times logins at the standard cost).
    overrides = {"PASSWORD_HASH_COST": "cheapest", **overrides}
    return Config(env=env, TESTING=True, SERVER_NAME=None, **overrides)


@pytest.fixture(scope="session")
def app(service_urls, smtp_server):
    import shutil

    from app import create_app
    from app.cli import upgrade_all
    from app.extensions import db

    # Client ids restart with the emptied database: files of an earlier session must not reappear.
    shutil.rmtree(worker_folder("test-uploads"), ignore_errors=True)
    controller, _ = smtp_server
    application = create_app(make_config(service_urls, controller.port))
    with application.app_context():
        upgrade_all(db.engine, spare_schemas=application.config["SPARE_SCHEMAS"],
                    cache_dir=application.config["CACHE_DIR"], quiet=True)
    return application


# --- an app with billing on, talking to the loopback Stripe stand-in (tests/stripe_standin.py) ---------------

BILLING_WEBHOOK_SECRET = "whsec_test_isopath_billing"
BILLING_PRICES = {("solo", "month"): 1900, ("solo", "year"): 19000, ("practice", "month"): 4900,
                  ("practice", "year"): 49000, ("firm", "month"): 14900, ("firm", "year"): 149000,
                  ("enterprise", "month"): 39900, ("enterprise", "year"): 399000}


@pytest.fixture(scope="session")
def standin():
    from stripe_standin import StripeStandIn

    server = StripeStandIn().start()
    for (plan, interval), amount in BILLING_PRICES.items():
        server.price(plan, interval, amount)
    StripeStandIn.running.append(server)
    yield server
    StripeStandIn.running.remove(server)
    server.stop()


@pytest.fixture(scope="session")
def billing_app(service_urls, smtp_server, standin, app):  # `app` first: it brings the database to head
    from app import create_app

    controller, _ = smtp_server
    prices = ",".join(f"{plan}:{interval}=price_{plan}_{interval}" for plan, interval in BILLING_PRICES)
    return create_app(make_config(service_urls, controller.port, STRIPE_API_KEY="sk_test_isopath",
                                  STRIPE_API_BASE=standin.base, STRIPE_WEBHOOK_SECRET=BILLING_WEBHOOK_SECRET,
                                  STRIPE_PRICES=prices))


@pytest.fixture()
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture()
def db(ctx):
    from app.extensions import db as _db

    yield _db
    _db.session.rollback()


@pytest.fixture()
def http(app):
    """A browser-like HTTP client with cookies; helpers for CSRF-protected forms."""
    return HttpClient(app.test_client())


class HttpClient:
    _token = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token" content="([^"]+)"')

    def __init__(self, client):
        self.client = client

    def get(self, url, **kw):
        return self.client.get(url, **kw)

    def csrf(self, url: str) -> str:
        """The session's CSRF token, read from a page as a browser would (any page of the session will do)."""
        page = self.client.get(url, follow_redirects=True)
        if page.status_code == 405:  # a POST-only URL: its form lives elsewhere
            page = self.client.get("/", follow_redirects=True)
        assert page.status_code == 200, f"GET {url} -> {page.status_code}"
        m = self._token.search(page.get_data(as_text=True))
        assert m, f"no CSRF token on {url}"
        return m.group(1) or m.group(2)

    def submit(self, url: str, data: dict, form_url: str | None = None, **kw):
        """POST like a browser would: fetch the form page for its CSRF token first."""
        token = self.csrf(form_url or url)
        return self.client.post(url, data={**data, "csrf_token": token}, **kw)

    def login(self, email: str, password: str = PASSWORD):
        resp = self.submit("/login", {"email": email, "password": password})
        assert resp.status_code == 302, f"login failed for {email}: {resp.status_code}"
        return resp

    def logout(self):
        return self.submit("/logout", {}, form_url="/")


# --- factories -----------------------------------------------------------------------------

_seq = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_seq)}"


@dataclass
class World:
    """One consultancy with an owner, a consultant, an unassigned consultant and a client with staff."""

    account: object
    owner: object
    consultant: object
    other_consultant: object
    client: object
    client_admin: object
    staff: object
    auditor: object


@pytest.fixture()
def factory(db):
    return Factory(db)


class Factory:
    def __init__(self, db):
        self.db = db

    def user(self, name="Test User", email=None):
        from app.models import User

        user = User(email=email or f"{unique('user')}@tests.example", name=name, password_hash=_hashed())
        self.db.session.add(user)
        self.db.session.commit()
        return user

    def account(self, owner=None, name=None):
        from app.models import Account, AccountMember

        owner = owner or self.user("Owner")
        account = Account(name=name or unique("Consultancy"))
        self.db.session.add(account)
        self.db.session.flush()
        self.db.session.add(AccountMember(account_id=account.id, user_id=owner.id, role="owner"))
        self.db.session.commit()
        return account

    def consultant(self, account):
        from app.models import AccountMember

        user = self.user("Consultant")
        self.db.session.add(AccountMember(account_id=account.id, user_id=user.id, role="consultant"))
        self.db.session.commit()
        return user

    def client(self, account, consultants=(), name=None, template=None):
        """`template`: the version to pin (a test about something else than v3's gates pins v2); the latest."""
        from app.clients import create_client
        from app.models import Account

        return create_client(self.db.session.get(Account, account.id), name or unique("Client Co"),
                             consultants=list(consultants), template=template)

    def member(self, client, role="staff"):
        from app.models import ClientMember

        user = self.user(role.title())
        self.db.session.add(ClientMember(client_id=client.id, user_id=user.id, role=role))
        self.db.session.commit()
        return user

    def world(self, template=None) -> World:
        owner = self.user("Olivia Owner")
        account = self.account(owner)
        consultant = self.consultant(account)
        other = self.consultant(account)
        client = self.client(account, [consultant], template=template)
        return World(account, owner, consultant, other, client, self.member(client, "client_admin"),
                     self.member(client, "staff"), self.member(client, "auditor"))


_hash_cache = {}


def _hashed():
    # Argon2 is deliberately slow; one hash of the shared test password is enough.
    from app.security import hash_password

    if "h" not in _hash_cache:
        _hash_cache["h"] = hash_password(PASSWORD)
    return _hash_cache["h"]
