"""management reviews (9.3): reviews, their 9.3.2 inputs, participants' contributions and 9.3.3 actions

Revision ID: b8e4d2a61c93
Revises: e5c1a8f04b71
Create Date: 2026-12-03 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'b8e4d2a61c93'
down_revision = 'e5c1a8f04b71'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('management_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='open', nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('opened_by_name', sa.String(length=200), nullable=False),
    sa.Column('format', sa.String(length=20), server_default='async', nullable=False),
    sa.Column('channel', sa.String(length=300), server_default='', nullable=False),
    sa.Column('participants', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('data_cutoff_on', sa.Date(), nullable=False),
    sa.Column('inputs_complete', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('conclusion', sa.Text(), server_default='', nullable=False),
    sa.Column('next_review_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_by_name', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_management_reviews_status_valid')),
    sa.CheckConstraint("status <> 'closed' OR (closed_on IS NOT NULL AND next_review_on IS NOT NULL)",
                       name=op.f('ck_management_reviews_closed_has_dates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_reviews'))
    )
    op.create_index(op.f('ix_management_reviews_next_review_on'), 'management_reviews', ['next_review_on'],
                    unique=False)
    op.create_table('management_review_inputs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=4), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Text(), server_default='', nullable=False),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.Column('nothing_to_report', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('updated_by_name', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['review_id'], ['management_reviews.id'],
                            name=op.f('fk_management_review_inputs_review_id_management_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_inputs')),
    sa.UniqueConstraint('review_id', 'key', name=op.f('uq_management_review_inputs_review_id_key'))
    )
    op.create_index(op.f('ix_management_review_inputs_review_id'), 'management_review_inputs', ['review_id'],
                    unique=False)
    op.create_table('management_review_contributions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('input_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('author_name', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['input_id'], ['management_review_inputs.id'],
                            name=op.f('fk_management_review_contributions_input_id_management_review_inputs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_contributions'))
    )
    op.create_index(op.f('ix_management_review_contributions_input_id'), 'management_review_contributions',
                    ['input_id'], unique=False)
    op.create_table('management_review_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('improvement', 'change', 'resources')",
                       name=op.f('ck_management_review_actions_kind_valid')),
    sa.ForeignKeyConstraint(['review_id'], ['management_reviews.id'],
                            name=op.f('fk_management_review_actions_review_id_management_reviews'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_management_review_actions_task_id_tasks'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_actions'))
    )
    op.create_index(op.f('ix_management_review_actions_review_id'), 'management_review_actions', ['review_id'],
                    unique=False)


def downgrade():
    op.drop_table('management_review_actions')
    op.drop_table('management_review_contributions')
    op.drop_table('management_review_inputs')
    op.drop_table('management_reviews')
