"""The registry of client schemas and the revision each one is at.

Written in the same transaction as each schema's migration, so reading it is one
indexed query however many schemas exist — the status of 2,000 schemas never
needs a connection, a migration context or a catalog scan per schema.
"""
from sqlalchemy import Column, DateTime, String, Table, Text, func

from .names import shared_metadata

tenant_schemas = Table(
    "tenant_schemas",
    shared_metadata,  # SharedModel's: migrations and autogenerate see it
    Column("schema_name", String(63), primary_key=True),
    Column("revision", String(64), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("upgraded_at", DateTime(timezone=True), nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_error_at", DateTime(timezone=True), nullable=True),
)
