"""not-applicable approval: who proposed a task's not-applicable decision and the consultant who approved it

Revision ID: f2a9c4d7e1b3
Revises: b8e4d2a61c93
Create Date: 2026-12-03 10:20:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'f2a9c4d7e1b3'
down_revision = 'b8e4d2a61c93'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tasks', sa.Column('na_proposed_by_id', sa.Integer(), nullable=True))
    op.add_column('tasks', sa.Column('na_approved_by_id', sa.Integer(), nullable=True))
    op.add_column('tasks', sa.Column('na_approved_at', sa.DateTime(timezone=True), nullable=True))
    # Decisions taken before approvals were recorded stay valid (their gates may have passed on them):
    # they count as approved, with no approving consultant on record.
    op.execute("UPDATE tasks SET na_approved_at = updated_at WHERE status = 'not_applicable'")


def downgrade():
    op.drop_column('tasks', 'na_approved_at')
    op.drop_column('tasks', 'na_approved_by_id')
    op.drop_column('tasks', 'na_proposed_by_id')
