"""One unit of work per request or job: operations never commit.

The view or job commits once. Side effects that must not happen for a change
that is rolled back — mail, job enqueues — are registered with `after_commit`
and run only once the transaction has committed; a rollback discards them.
Callbacks run outside the transaction and must not use the session.
"""
from __future__ import annotations

import logging
from functools import partial

from sqlalchemy import event

from .extensions import db

log = logging.getLogger(__name__)
_KEY = "isopath_after_commit"


def after_commit(fn, *args, **kwargs) -> None:
    """Run `fn(*args, **kwargs)` once the current transaction commits; never if it rolls back.

    Pass plain values: after the commit the session can load nothing more for the callback.
    """
    session = db.session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still discards the callback
    session.info.setdefault(_KEY, []).append(partial(fn, *args, **kwargs))


def _run(session) -> None:
    pending = session.info.pop(_KEY, [])
    for callback in pending:
        try:
            callback()
        except Exception:  # the change is committed: a failed side effect is logged, never undoes it
            log.exception("after-commit callback %r failed", callback)


def _discard(session, previous_transaction) -> None:
    if not previous_transaction.nested:  # a savepoint rolled back leaves the outer change standing
        session.info.pop(_KEY, None)


def install() -> None:
    """Wire the hooks into the app's session (once, at start-up)."""
    if not event.contains(db.session, "after_commit", _run):
        event.listen(db.session, "after_commit", _run)
        event.listen(db.session, "after_soft_rollback", _discard)
