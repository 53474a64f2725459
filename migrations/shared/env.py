"""Alembic environment for the shared (public) schema."""
from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from app import models  # noqa: F401  (registers every shared table on the metadata)
from tenants.base import SharedModel

config = context.config
target_metadata = SharedModel.metadata


def run(connection):
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif config.attributes.get("connection") is not None:
    run(config.attributes["connection"])
else:
    with create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool).connect() as conn:
        run(conn)
        conn.commit()
