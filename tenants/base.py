"""Declarative bases for the two kinds of tables.

Tenant tables carry the placeholder schema "tenant"; at run time the bound
client's schema is substituted through SQLAlchemy's `schema_translate_map`, so
the statement cache holds one entry per statement, not one per client.
"""
import re

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

TENANT_PLACEHOLDER = "tenant"

# Constraint names are explicit so that Alembic migrations and a schema built
# any other way come out identical.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class SharedModel(DeclarativeBase):
    """Tables in the shared (public) schema: accounts, users, the client registry."""

    metadata = MetaData(naming_convention=NAMING)


class TenantModel(DeclarativeBase):
    """Tables that exist once per client schema."""

    metadata = MetaData(schema=TENANT_PLACEHOLDER, naming_convention=NAMING)


_SCHEMA_RE = re.compile(r"^client_[0-9]+$")


def schema_name_for(client_id: int) -> str:
    """Schema names derive from the numeric id, never from user input."""
    return f"client_{int(client_id)}"


def is_tenant_schema_name(name: str) -> bool:
    return bool(_SCHEMA_RE.match(name))
