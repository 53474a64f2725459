"""Binding a session to one client's schema, per transaction, failing closed.

Two mechanisms, each scoped to the current transaction only:

* ORM and Core statements: the transaction's `Connection` gets
  `schema_translate_map={"tenant": <schema>}`. The session creates a fresh
  `Connection` object for every transaction, so the option dies with it and is
  never left on a pooled DBAPI connection.
* `text()` SQL: `search_path` set with `SET LOCAL` (`set_local_search_path`),
  which PostgreSQL discards at commit or rollback.

Both are (re)applied in the session's `after_begin` event from a context
variable, so a commit inside a request keeps the same tenant for the next
transaction of that request and nothing else. With no tenant bound the engine's
default map points the placeholder at a schema that never exists, and the
resulting error is raised as `NoTenantBound` — a tenant query can never fall
through to another client's data.
"""
import contextvars
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import scoped_session

from .names import TENANT_PLACEHOLDER, is_tenant_schema_name
from .search_path import set_local_search_path

UNBOUND_SCHEMA = "no_tenant_bound"

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("isopath_tenant", default=None)


class NoTenantBound(RuntimeError):
    """A tenant table was queried while no client schema was bound."""


def current_schema() -> str | None:
    return _current.get()


def _apply(connection, schema: str) -> None:
    connection.execution_options(schema_translate_map={TENANT_PLACEHOLDER: schema})
    set_local_search_path(connection, schema)


def _after_begin(session, transaction, connection):
    schema = _current.get()
    if schema is not None:
        _apply(connection, schema)


def _handle_error(context):
    orig = context.original_exception
    if orig is not None and f"{UNBOUND_SCHEMA}." in str(orig):
        return NoTenantBound("a tenant table was queried with no client bound to this session")
    return None


def install(engine, session_factory) -> None:
    """Wire the binding into an engine and a session factory (once, at start-up)."""
    engine.update_execution_options(schema_translate_map={TENANT_PLACEHOLDER: UNBOUND_SCHEMA})
    if not event.contains(engine, "handle_error", _handle_error):
        event.listen(engine, "handle_error", _handle_error)
    if not event.contains(session_factory, "after_begin", _after_begin):
        event.listen(session_factory, "after_begin", _after_begin)


def bind_tenant(session, schema: str):
    """Bind `schema` for the rest of this context; returns a token for `unbind_tenant`.

    If the session is already inside a transaction (say, the user was loaded
    first), the binding is applied to that transaction's connection at once.
    """
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    bound = _current.get()
    if bound is not None and bound != schema:
        # One session must never hold two clients' objects: primary keys repeat across schemas.
        raise RuntimeError(f"session already bound to {bound}; leave that scope first")
    token = _current.set(schema)
    real = session() if isinstance(session, scoped_session) else session
    if real.in_transaction():
        _apply(real.connection(), schema)
    return token


def unbind_tenant(session, token) -> None:
    """End the binding: roll back what is uncommitted and drop this client's objects.

    Primary keys repeat across schemas, so no tenant object may stay in the
    identity map once the scope ends; shared objects (users, the client row)
    stay attached and simply reload.
    """
    real = session() if isinstance(session, scoped_session) else session
    try:
        real.rollback()
        for obj in list(real.identity_map.values()):
            if getattr(obj, "__table__", None) is not None and obj.__table__.schema == TENANT_PLACEHOLDER:
                real.expunge(obj)
    finally:
        _current.reset(token)


@contextmanager
def tenant_scope(session, schema: str):
    """Work on one client from a job or CLI command, exactly as a request does.

    Commit inside the block; what is left uncommitted at the end is rolled back.
    """
    token = bind_tenant(session, schema)
    try:
        yield session
    finally:
        unbind_tenant(session, token)
