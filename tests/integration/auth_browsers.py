"""Browsers of their own for the auth tests: each request outside the test's app context.

A request made while the test holds an app context (the `db` and `factory` fixtures push one) reuses
that context, so `g`, where Flask-Login caches the loaded user, carries over from one request to the
next, whichever client sends it: a logged-out copy of a cookie would look logged in or out for the
wrong reason. Running each request in a fresh thread gives it a context of its own, as a real web
process does.
"""
from __future__ import annotations

import itertools
import os
import threading

from flask.testing import FlaskClient

from conftest import HttpClient

_addresses = itertools.count(1)


def new_address() -> str:
    """An address no other test uses (198.18.0.0/15 is for benchmarks, never routed)."""
    n = next(_addresses) + (os.getpid() % 50) * 1000
    return f"198.{18 + n // 65536 % 2}.{n // 256 % 256}.{n % 256}"


class _OwnThreadClient(FlaskClient):
    def open(self, *args, **kwargs):
        outcome = {}

        def run():
            try:
                outcome["response"] = FlaskClient.open(self, *args, **kwargs)
            except BaseException as exc:  # re-raised in the caller's thread
                outcome["error"] = exc

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]


class Browser(HttpClient):
    """A browser with its own cookies, coming from `address` (REMOTE_ADDR as ProxyFix would leave it)."""

    def __init__(self, app, address: str | None = None):
        client = _OwnThreadClient(app, app.response_class, use_cookies=True)
        self.address = address or new_address()
        client.environ_base["REMOTE_ADDR"] = self.address
        super().__init__(client)
