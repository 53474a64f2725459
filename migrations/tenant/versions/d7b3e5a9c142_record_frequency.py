"""records kept at a frequency: how often a record's instances are expected, and since when

Revision ID: d7b3e5a9c142
Revises: c4a7e1f9b205
Create Date: 2026-12-03 15:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'd7b3e5a9c142'
down_revision = 'c4a7e1f9b205'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('documents', sa.Column('record_frequency', sa.String(10), nullable=True))
    op.add_column('documents', sa.Column('expected_since', sa.Date(), nullable=True))
    op.create_check_constraint(op.f('ck_documents_record_frequency_valid'), 'documents',
                               "record_frequency IS NULL OR (kind = 'record' AND "
                               "record_frequency IN ('monthly', 'quarterly', 'yearly'))")


def downgrade():
    op.drop_constraint(op.f('ck_documents_record_frequency_valid'), 'documents', type_='check')
    op.drop_column('documents', 'expected_since')
    op.drop_column('documents', 'record_frequency')
