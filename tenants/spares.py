"""Spare schemas, built ahead of time, so that provisioning is a rename.

Building a client schema's tables — even from SQL rendered once per head
(`fastpath`) — means tens of DDL statements and about fifty new files, and it
gets slower on a busy disk and on a long-lived pooled connection whose catalog
cache holds thousands of schemas. A spare is built beforehand by that same SQL;
provisioning takes one by renaming it: one catalog row, a few milliseconds,
inside the caller's transaction (a rollback renames it back, so client creation
stays atomic).

Spares are named `client_spare_<tag>_<random>`, the tag being a digest of the
tenant track's location and head revision: a spare built for another head never
matches, so after a deploy that adds a migration the old ones are simply not
used, and `replenish` drops them. The names never match `client_<digits>`, so
status, upgrades and request binding never see a spare.

Renaming is sound because tenant revisions are written unqualified: triggers
reference functions, and defaults reference sequences, by OID. A revision that
wrote the schema's own name into a function body would break that; the catalog
comparison test (spare-provisioned against migrated) would show it.

Keep spares topped up with `flask tenants spares` (also run by `flask db
upgrade`) or from a background job after client creation; with none left,
provisioning falls back to the rendered SQL.
"""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import insert, text

from .fastpath import provisioning_sql
from .registry import tenant_schemas
from .search_path import set_local_search_path
from .tracks import tenant_head, track_head, track_location

PREFIX = "client_spare_"


def current_prefix(location=None, head: str | None = None) -> str:
    """Name prefix of spares built from this track at this head (default: the track's head)."""
    head = head or tenant_head(location)
    tag = hashlib.sha256(f"{track_location('tenant', location)}\0{head}".encode()).hexdigest()[:10]
    return f"{PREFIX}{tag}_"


def _like(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def list_spares(conn, location=None, head: str | None = None) -> tuple[list[str], list[str]]:
    """(spares built for the current head, spares built for any other)."""
    names = conn.execute(text("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE :p ORDER BY 1"),
                         {"p": _like(PREFIX)}).scalars().all()
    prefix = current_prefix(location, head)
    return [n for n in names if n.startswith(prefix)], [n for n in names if not n.startswith(prefix)]


def claim(conn, schema: str, location=None) -> str | None:
    """Rename a spare at the current head to `schema` and register it; None when no spare is free."""
    head = tenant_head(location)
    candidates = conn.execute(
        text("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE :p ORDER BY random() LIMIT 8"),
        {"p": _like(current_prefix(location, head))}).scalars().all()
    for name in candidates:
        # Another transaction may hold it (not yet committed) or have taken it already (committed):
        # the lock tells the first, the re-read the second.
        if not conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:n))"), {"n": name}).scalar():
            continue
        if conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": name}).first() is None:
            continue
        savepoint = conn.begin_nested()
        try:
            conn.execute(text(f'ALTER SCHEMA "{name}" RENAME TO "{schema}"'))
        except Exception:  # e.g. `schema` exists already: let the normal path report it
            savepoint.rollback()
            return None
        savepoint.commit()
        conn.execute(insert(tenant_schemas).values(schema_name=schema, revision=head, upgraded_at=text("now()")))
        return head
    return None


def replenish(engine, count: int, location=None, cache_dir=None) -> tuple[int, int, int]:
    """Drop spares of other heads and build spares until `count` exist; returns (built, dropped, ready).

    Each spare is built in its own short transaction, outside any request.
    With nothing to do it costs one catalog query (and, with `cache_dir`, no Alembic import).
    """
    head = track_head("tenant", location, cache_dir)
    with engine.connect() as conn:
        with conn.begin():
            current, stale = list_spares(conn, location, head)
        if not stale and len(current) >= count:
            return 0, 0, len(current)
        # One builder at a time (a top-up job per new client, the schedule, an upgrade may overlap):
        # the others leave it to the one already at work instead of overshooting `count` together.
        if not conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"), {"k": PREFIX}).scalar():
            conn.rollback()
            return 0, 0, len(current)
        try:
            conn.commit()
            return _replenish_locked(conn, count, location)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": PREFIX})
            conn.commit()


def _replenish_locked(conn, count: int, location) -> tuple[int, int, int]:
    built = dropped = 0
    with conn.begin():
        current, stale = list_spares(conn, location)  # again, under the lock: another builder may have run
    head, sql = provisioning_sql(location)
    for name in stale:
        with conn.begin():
            if conn.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:n))"), {"n": name}).scalar():
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
                dropped += 1
    if sql is None:  # the track can't be rendered as SQL: no spares, provisioning runs the migrations
        return built, dropped, len(current)
    for _ in range(max(0, count - len(current))):
        name = f"{current_prefix(location, head)}{secrets.token_hex(4)}"
        with conn.begin():
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
            set_local_search_path(conn, name)
            with conn.connection.driver_connection.cursor() as cur:
                cur.execute(sql)
        built += 1
    return built, dropped, len(current) + built
