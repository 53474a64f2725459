"""work items: the open work waiting for each person, one row per (client, kind, item, person)

Revision ID: b7e2c4d91a30
Revises: 65bb24417795
Create Date: 2026-12-01 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'b7e2c4d91a30'
down_revision = '65bb24417795'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'work_items',
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('ref_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("kind IN ('gate_review', 'document_approval', 'task')",
                           name=op.f('ck_work_items_kind_valid')),
        sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_work_items_client_id_clients'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_work_items_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('client_id', 'kind', 'ref_id', 'user_id', name=op.f('pk_work_items')),
    )
    # "My work" reads one person's rows; the primary key (leading client_id) serves the per-client rebuild.
    op.create_index(op.f('ix_work_items_user_id'), 'work_items', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_work_items_user_id'), table_name='work_items')
    op.drop_table('work_items')
