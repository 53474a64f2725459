"""portfolio: days behind plan and stale KPIs in client_summaries; client_kpi_latest, each client's latest value
of each library KPI (the cross-client views read it, never the tenant schemas)

Revision ID: 3c1f6a9e2b70
Revises: c4e1d2a7b9f3
Create Date: 2026-12-02 02:45:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '3c1f6a9e2b70'
down_revision = 'c4e1d2a7b9f3'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('client_summaries', sa.Column('days_behind_plan', sa.Integer(), server_default='0', nullable=False))
    op.add_column('client_summaries', sa.Column('stale_kpis', sa.Integer(), server_default='0', nullable=False))
    # The portfolio sorts and filters on these in SQL; the default order's leading columns get an index.
    op.create_index('ix_client_summaries_worst_first', 'client_summaries',
                    [sa.text('gate_awaiting_approval DESC'), sa.text('overdue_tasks DESC'), 'overall_progress'])
    op.create_table(
        'client_kpi_latest',
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('library_key', sa.String(length=80), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('unit', sa.String(length=40), nullable=False),
        sa.Column('direction', sa.String(length=10), nullable=False),
        sa.Column('period', sa.String(length=10), nullable=True),
        sa.Column('value', sa.Float(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('recent_periods', postgresql.ARRAY(sa.String(length=10)), nullable=False),
        sa.Column('recent_values', postgresql.ARRAY(sa.Float()), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_client_kpi_latest_client_id_clients'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('client_id', 'library_key', name=op.f('pk_client_kpi_latest')),
    )
    op.create_index('ix_client_kpi_latest_library_key', 'client_kpi_latest', ['library_key'])


def downgrade():
    op.drop_index('ix_client_kpi_latest_library_key', table_name='client_kpi_latest')
    op.drop_table('client_kpi_latest')
    op.drop_index('ix_client_summaries_worst_first', table_name='client_summaries')
    op.drop_column('client_summaries', 'stale_kpis')
    op.drop_column('client_summaries', 'days_behind_plan')
