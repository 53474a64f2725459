"""account_kpis: each consultancy's own KPI library (copies of the standard definitions and its own).

No data step: a consultancy without rows reads the standard library, and its copy is made on its first edit.

Revision ID: 8d2f4b6a1c93
Revises: d81f0c3a5e27
Create Date: 2026-12-02 06:40:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '8d2f4b6a1c93'
down_revision = 'd81f0c3a5e27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'account_kpis',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('area', sa.String(length=20), nullable=False),
        sa.Column('numerator', sa.String(length=300), nullable=False),
        sa.Column('denominator', sa.String(length=300), nullable=False),
        sa.Column('unit', sa.String(length=40), nullable=False),
        sa.Column('direction', sa.String(length=10), nullable=False),
        sa.Column('frequency', sa.String(length=10), nullable=False),
        sa.Column('target', sa.Float(), nullable=False),
        sa.Column('amber', sa.Float(), nullable=False),
        sa.Column('red', sa.Float(), nullable=False),
        sa.Column('clauses', postgresql.ARRAY(sa.String(length=12)), nullable=False),
        sa.Column('minimum', sa.Float(), nullable=True),
        sa.Column('maximum', sa.Float(), nullable=True),
        sa.Column('never_zero_target', sa.Boolean(), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('based_on_key', sa.String(length=80), nullable=True),
        sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("direction IN ('higher', 'lower')", name=op.f('ck_account_kpis_direction_valid')),
        sa.CheckConstraint("frequency IN ('weekly', 'monthly', 'quarterly', 'yearly')",
                           name=op.f('ck_account_kpis_frequency_valid')),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_kpis_account_id_accounts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_account_kpis_updated_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_kpis')),
        # Also the index of "this consultancy's library" (leading account_id).
        sa.UniqueConstraint('account_id', 'key', name=op.f('uq_account_kpis_account_id_key')),
    )
    # A client holds each KPI name once, so the library does too, whatever the case.
    op.create_index('uq_account_kpis_name', 'account_kpis', ['account_id', sa.text('lower(name)')], unique=True)


def downgrade():
    op.drop_index('uq_account_kpis_name', table_name='account_kpis')
    op.drop_table('account_kpis')
