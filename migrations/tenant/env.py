"""Alembic environment for the tenant track: autogenerate and offline SQL only.

Applying revisions goes through `tenants.migrate` (one transaction per schema,
registry stamped alongside). Autogenerate compares the models, with their
placeholder schema stripped, against one reference schema.
"""
from alembic import context
from sqlalchemy import MetaData

from app import models  # noqa: F401  (registers every tenant table on the metadata)
from tenants.base import TenantModel
from tenants.search_path import set_local_search_path

config = context.config
REFERENCE = config.attributes.get("reference_schema", "client_0")


def unqualified_metadata():
    md = MetaData(naming_convention=TenantModel.metadata.naming_convention)
    for table in TenantModel.metadata.sorted_tables:
        table.to_metadata(md, schema=None)
    return md


def include_object(obj, name, type_, reflected, compare_to):
    # The per-schema version table is Alembic's own, not a model.
    return not (type_ == "table" and name == "alembic_version")


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=unqualified_metadata(),
                      literal_binds=True, version_table_schema=config.attributes.get("version_table_schema"))
    with context.begin_transaction():
        context.run_migrations()
else:
    conn = config.attributes["connection"]
    set_local_search_path(conn, REFERENCE, public=False)  # the reference alone: never compared with public
    context.configure(connection=conn, target_metadata=unqualified_metadata(), version_table_schema=REFERENCE,
                      include_object=include_object, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
