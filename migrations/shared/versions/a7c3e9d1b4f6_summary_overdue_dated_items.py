"""client_summaries.overdue_items: the client's dated items past their date, other than tasks

Document reviews, records due for a period, effectiveness checks, internal audits, management reviews,
certification audits, the body's response deadlines and the day it repeats stage 2 (workflows/due_dates.py), each
counted once however many people it waits for. The portfolio counts them with the overdue tasks as overdue work,
so the index of its default order (worst first) leads with their sum. Existing rows start at 0 and are filled by
the next save of each client or the nightly summary repair.

Revision ID: a7c3e9d1b4f6
Revises: c5d2e8a4f310
Create Date: 2026-12-04 01:50:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7c3e9d1b4f6'
down_revision = 'c5d2e8a4f310'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('client_summaries', sa.Column('overdue_items', sa.Integer(), server_default='0', nullable=False))
    op.drop_index('ix_client_summaries_worst_first', table_name='client_summaries')
    op.create_index('ix_client_summaries_worst_first', 'client_summaries',
                    [sa.text('gate_awaiting_approval DESC'), sa.text('(overdue_tasks + overdue_items) DESC'),
                     'overall_progress'])


def downgrade():
    op.drop_index('ix_client_summaries_worst_first', table_name='client_summaries')
    op.create_index('ix_client_summaries_worst_first', 'client_summaries',
                    [sa.text('gate_awaiting_approval DESC'), sa.text('overdue_tasks DESC'), 'overall_progress'])
    op.drop_column('client_summaries', 'overdue_items')
