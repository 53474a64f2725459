"""client_kpi_latest: the range of each row's recent values kept with them

The cross-client KPI view's shared y axis took the minimum and maximum of every shown client's recent values
by unnesting 2,000 arrays (24,000 elements) per page view. Each row now carries its own range, written with
the row; the view unnests only the arrays that reach back before its window.

Revision ID: b7e2d4f9a1c3
Revises: a4c7e9b2d816
Create Date: 2026-12-03 09:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'b7e2d4f9a1c3'
down_revision = 'a4c7e9b2d816'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('client_kpi_latest', sa.Column('recent_low', sa.Float(), nullable=True))
    op.add_column('client_kpi_latest', sa.Column('recent_high', sa.Float(), nullable=True))
    op.execute("UPDATE client_kpi_latest SET recent_low = (SELECT min(v) FROM unnest(recent_values) AS v), "
               "recent_high = (SELECT max(v) FROM unnest(recent_values) AS v)")


def downgrade():
    op.drop_column('client_kpi_latest', 'recent_high')
    op.drop_column('client_kpi_latest', 'recent_low')
