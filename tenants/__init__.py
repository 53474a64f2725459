"""Tenancy core: one PostgreSQL schema per client.

The rest of the app needs four things from here: the declarative bases
(`SharedModel` for the public schema, `TenantModel` for per-client tables),
`install()` once at start-up, `bind_tenant`/`unbind_tenant` per request, and
`tenant_scope` for jobs and CLI commands. Provisioning and migrations over all
schemas live in `provisioning` and `migrate`.
"""
from .base import TENANT_PLACEHOLDER, SharedModel, TenantModel, schema_name_for
from .binding import (
    NoTenantBound,
    bind_tenant,
    current_schema,
    install,
    tenant_scope,
    unbind_tenant,
)

__all__ = [
    "TENANT_PLACEHOLDER",
    "SharedModel",
    "TenantModel",
    "schema_name_for",
    "NoTenantBound",
    "bind_tenant",
    "current_schema",
    "install",
    "tenant_scope",
    "unbind_tenant",
]
