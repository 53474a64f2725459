"""Schema names, constraint naming and the two metadata collections: SQLAlchemy Core only.

Kept apart from the declarative bases (`base`) so that the schema commands —
status and upgrades over thousands of schemas — load without the ORM.
"""
import re

from sqlalchemy import MetaData

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

shared_metadata = MetaData(naming_convention=NAMING)
tenant_metadata = MetaData(schema=TENANT_PLACEHOLDER, naming_convention=NAMING)

_SCHEMA_RE = re.compile(r"^client_[0-9]+$")


def schema_name_for(client_id: int) -> str:
    """Schema names derive from the numeric id, never from user input."""
    return f"client_{int(client_id)}"


def is_tenant_schema_name(name: str) -> bool:
    return bool(_SCHEMA_RE.match(name))
