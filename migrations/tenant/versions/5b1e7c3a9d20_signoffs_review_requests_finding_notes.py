"""staff may request gate reviews (a client setting); findings keep a closing note and their reopening

Revision ID: 5b1e7c3a9d20
Revises: 894ba76e6b2c
Create Date: 2026-12-09 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '5b1e7c3a9d20'
down_revision = '894ba76e6b2c'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('workspace_settings', sa.Column('staff_may_request_reviews', sa.Boolean(),
                                                  server_default=sa.text('false'), nullable=False))
    op.add_column('findings', sa.Column('closed_by_name', sa.String(length=200), nullable=True))
    op.add_column('findings', sa.Column('closing_note', sa.Text(), nullable=True))
    op.add_column('findings', sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('findings', sa.Column('reopened_by_name', sa.String(length=200), nullable=True))
    op.add_column('findings', sa.Column('reopen_reason', sa.Text(), nullable=True))
    # Findings closed before notes were asked for say so, rather than carrying an empty note.
    op.execute("UPDATE findings SET closing_note = 'Closed before closing notes were recorded.' "
               "WHERE status = 'closed'")
    op.create_check_constraint(op.f('ck_findings_closed_has_note'), 'findings',
                               "status <> 'closed' OR closing_note IS NOT NULL")


def downgrade():
    op.drop_constraint(op.f('ck_findings_closed_has_note'), 'findings', type_='check')
    for column in ('reopen_reason', 'reopened_by_name', 'reopened_at', 'closing_note', 'closed_by_name'):
        op.drop_column('findings', column)
    op.drop_column('workspace_settings', 'staff_may_request_reviews')
