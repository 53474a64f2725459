"""Provisioning by replaying the tenant track's SQL, generated once per head revision.

Running the tenant track in-process for every new client costs a migration
context, one round trip per DDL statement and one version-table write per
revision — and grows with the history. Instead the very same revision scripts
are rendered once with Alembic's offline mode (`as_sql`, as `alembic upgrade
head --sql` would) and the resulting script is sent to PostgreSQL in one round
trip per new schema.

Why this and not a snapshot: the SQL is generated from the revisions
themselves and keyed by the script directory and its head revision, so a new
migration changes the head and therefore the SQL — there is no second
definition of the schema to keep in step. `pg_dump -s` of a template schema
would need a pg_dump binary matching the server (the embedded server is newer
than Debian's client) and a template schema kept current; `metadata.create_all`
would miss what only migrations create (triggers, functions, data).
`tests/integration/test_tenancy_scale.py` compares the catalog of a schema
built this way with one built by the migrations, object by object.

A revision that cannot be rendered offline (one that reads data through
`op.get_bind()`, say) makes this module fall back to running the migrations,
with a warning — slower, never different.
"""
from __future__ import annotations

import io
import logging
import threading

from sqlalchemy import insert, text

from .names import is_tenant_schema_name
from .migrate import migrate_schema_in_transaction
from .registry import tenant_schemas
from .search_path import restore_search_path, set_local_search_path
from .tracks import tenant_script

log = logging.getLogger(__name__)

_lock = threading.Lock()  # web servers may provision from several threads; render once
_rendered: dict[tuple[str, str], str | None] = {}


def render_upgrade_sql(script, head: str) -> str:
    """The tenant track from base to `head` as one SQL script with unqualified names."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    buf = io.StringIO()
    ctx = MigrationContext.configure(
        dialect_name="postgresql",
        # 'named' so that '%' in SQL literals is written as is; pyformat would double it.
        dialect_opts={"paramstyle": "named"},
        opts={"as_sql": True, "output_buffer": buf, "literal_binds": True, "script": script,
              "transactional_ddl": False, "fn": lambda rev, context: script._upgrade_revs(head, None)},
    )
    with Operations.context(ctx):
        ctx.run_migrations()
    return buf.getvalue()


def provisioning_sql(location=None) -> tuple[str, str | None]:
    """(head revision, SQL that builds a schema at that head) — None when the track can't be rendered."""
    script = tenant_script(location)
    head = script.get_current_head()
    key = (script.dir, head)
    with _lock:
        if key not in _rendered:
            try:
                _rendered[key] = render_upgrade_sql(script, head)
            except Exception as exc:  # fall back to the migrations, loudly
                log.warning("tenant track can't be rendered as SQL (%s); provisioning runs the migrations", exc)
                _rendered[key] = None
        return head, _rendered[key]


def provision_fast(conn, schema: str, location=None) -> str:
    """Create the tables of an existing, empty `schema` and stamp it, inside the caller's transaction.

    Stamps both the schema's own `alembic_version` (written by the rendered SQL)
    and the registry row, in that same transaction. Returns the revision.
    """
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    head, sql = provisioning_sql(location)
    if sql is None:
        conn.execute(insert(tenant_schemas).values(schema_name=schema))
        return migrate_schema_in_transaction(conn, schema, "head", location=location)
    previous_path = set_local_search_path(conn, schema)
    # The driver's own cursor, without parameters: psycopg then sends the whole
    # multi-statement script as is, in one round trip, inside this transaction.
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(sql)
    restore_search_path(conn, previous_path)
    conn.execute(insert(tenant_schemas).values(schema_name=schema, revision=head, upgraded_at=text("now()")))
    return head
