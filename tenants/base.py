"""Declarative bases for the two kinds of tables.

Tenant tables carry the placeholder schema "tenant"; at run time the bound
client's schema is substituted through SQLAlchemy's `schema_translate_map`, so
the statement cache holds one entry per statement, not one per client.
"""
from sqlalchemy.orm import DeclarativeBase

from .names import shared_metadata, tenant_metadata


class SharedModel(DeclarativeBase):
    """Tables in the shared (public) schema: accounts, users, the client registry."""

    metadata = shared_metadata


class TenantModel(DeclarativeBase):
    """Tables that exist once per client schema."""

    metadata = tenant_metadata
