"""Tenancy core: one PostgreSQL schema per client.

The rest of the app needs four things from here: the declarative bases
(`SharedModel` for the public schema, `TenantModel` for per-client tables),
`install()` once at start-up, `bind_tenant`/`unbind_tenant` per request, and
`tenant_scope` for jobs and CLI commands. Provisioning and migrations over all
schemas live in `provisioning` and `migrate`, the migration tracks themselves
(locations, heads, revisions) in `tracks`, and the one function that sets
`search_path` in `search_path`.

The names below load on first use, so that `tenants.migrate` and
`tenants.tracks` (the schema commands) do not pay for the ORM.
"""
from importlib import import_module

_EXPORTS = {
    "TENANT_PLACEHOLDER": "names",
    "schema_name_for": "names",
    "SharedModel": "base",
    "TenantModel": "base",
    "NoTenantBound": "binding",
    "bind_tenant": "binding",
    "current_schema": "binding",
    "install": "binding",
    "tenant_scope": "binding",
    "unbind_tenant": "binding",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value
