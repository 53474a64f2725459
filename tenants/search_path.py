"""The one place that sets `search_path`, always for the current transaction only.

`set_config(…, is_local => true)` is `SET LOCAL` as a function call, so the value
can be a bound parameter: PostgreSQL drops it at commit or rollback and nothing
is ever left on a pooled connection. SQLAlchemy Core only, so that the schema
commands, which must not load the ORM, can use it.

Set, work, put back (within the same transaction):

    previous = set_local_search_path(conn, schema)   # '"client_7", public'
    ...                                              # unqualified names resolve in client_7
    restore_search_path(conn, previous)

Restoring is needed only when the transaction goes on with other work after
that (a caller's transaction, say); otherwise its end restores the path anyway.
"""
from __future__ import annotations

from sqlalchemy import text

# Reads the old value and sets the new one in a single round trip; the target
# list is evaluated left to right, so the first column is the value as it was.
_SET_LOCAL = text("SELECT current_setting('search_path'), set_config('search_path', :path, true)")


def quote_schema(name: str) -> str:
    """`name` as a double-quoted identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def set_local_search_path(conn, *schemas: str, public: bool = True) -> str:
    """Make `schemas` (then `public`, unless `public=False`) the search path until this transaction ends.

    Each schema is written double-quoted, `public` bare: `set_local_search_path(conn, "client_7")`
    sets `"client_7", public`; `set_local_search_path(conn, "client_0", public=False)` sets
    `"client_0"` alone. Returns the previous value, exactly as PostgreSQL reports it (already
    quoted, e.g. `"$user", public`): pass it to `restore_search_path` to put it back.
    """
    if not schemas:
        raise ValueError("set_local_search_path needs at least one schema")
    path = ", ".join([quote_schema(s) for s in schemas] + (["public"] if public else []))
    return _set(conn, path)


def restore_search_path(conn, previous: str) -> None:
    """Put back a value returned by `set_local_search_path`, verbatim, for the rest of the transaction."""
    _set(conn, previous)


def _set(conn, path: str) -> str:
    return conn.execute(_SET_LOCAL, {"path": path}).first()[0]
