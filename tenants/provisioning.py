"""Creating and dropping client schemas.

`provision_schema` runs inside the caller's transaction, so creating a client
(registry row + schema + tables + revision stamp) is one atomic step: if any
part fails nothing is left behind — no orphan schema, no registry row.
"""
from sqlalchemy import delete, insert, text

from .base import is_tenant_schema_name
from .migrate import migrate_schema_in_transaction
from .registry import tenant_schemas


def provision_schema(conn, schema: str) -> str:
    """Create `schema` at the current tenant revision; returns that revision."""
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    conn.execute(insert(tenant_schemas).values(schema_name=schema))
    return migrate_schema_in_transaction(conn, schema, "head")


def drop_schema(conn, schema: str) -> None:
    if not is_tenant_schema_name(schema):
        raise ValueError(f"not a client schema: {schema!r}")
    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    conn.execute(delete(tenant_schemas).where(tenant_schemas.c.schema_name == schema))
