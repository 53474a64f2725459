"""account templates: a consultancy's own template copies, one immutable row per version

Revision ID: 65bb24417795
Revises: 97c3cc5e165c
Create Date: 2026-11-23 22:37:58.669820
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '65bb24417795'
down_revision = '97c3cc5e165c'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'account_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('based_on_key', sa.String(length=80), nullable=True),
        sa.Column('based_on_version', sa.Integer(), nullable=True),
        sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('version >= 1', name=op.f('ck_account_templates_version_positive')),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_account_templates_account_id_accounts'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_account_templates_created_by_id_users'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_templates')),
        # Also the index for "latest version of each key of this account" (leading account_id).
        sa.UniqueConstraint('account_id', 'key', 'version', name=op.f('uq_account_templates_account_id_key_version')),
    )


def downgrade():
    op.drop_table('account_templates')
