"""Creating and dropping client schemas.

`provision_schema` runs inside the caller's transaction, so creating a client
(registry row + schema + tables + revision stamp) is one atomic step: if any
part fails nothing is left behind — no orphan schema, no registry row.

By default (`method="fast"`) a spare schema built ahead of time at the current
head is renamed (`spares`); with none free, the tables come from the tenant
track rendered as SQL once per head revision (`fastpath`, also `method="sql"`).
`method="migrations"` runs the revisions one by one, as upgrades do. All give
the same catalog (a test compares them).
"""
from sqlalchemy import delete, insert, text

from .names import is_tenant_schema_name
from .fastpath import provision_fast
from .migrate import migrate_schema_in_transaction
from .registry import tenant_schemas
from .spares import claim

METHODS = ("fast", "sql", "migrations")


def provision_schema(conn, schema: str, *, method: str = "fast", location=None, revision: str = "head") -> str:
    """Create `schema` at the current tenant revision (or `revision`); returns that revision.

    A revision other than head (restoring an archive taken at an older one)
    always goes through the migrations: the rendered SQL exists for head only.
    """
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}")
    if method == "fast" and revision == "head":
        claimed = claim(conn, schema, location=location)
        if claimed is not None:
            return claimed
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    if method in ("fast", "sql") and revision == "head":
        return provision_fast(conn, schema, location=location)
    conn.execute(insert(tenant_schemas).values(schema_name=schema))
    return migrate_schema_in_transaction(conn, schema, revision, location=location)


def drop_schema(conn, schema: str) -> None:
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    conn.execute(delete(tenant_schemas).where(tenant_schemas.c.schema_name == schema))
