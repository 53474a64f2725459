"""work_items: every source of due dates (workflows/due_dates.py), and the record an item opens in

Document reviews, records due for a period, effectiveness checks, internal audits, management reviews, certification audits and the
certification body's response deadlines and the day it repeats stage 2 join tasks, gate reviews and document approvals as rows of "My work"
and of the reminder sweep. `parent_id` is the record an item's page belongs to (the finding of a corrective
action's effectiveness check), so its link needs no client schema.

Revision ID: c5d2e8a4f310
Revises: b3f8d1c6e204
Create Date: 2026-12-03 14:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'c5d2e8a4f310'
down_revision = 'b3f8d1c6e204'
branch_labels = None
depends_on = None

OLD = "kind IN ('gate_review', 'document_approval', 'task')"
NEW = ("kind IN ('gate_review', 'document_approval', 'task', 'document_review', 'record_due', 'effectiveness_check', "
       "'internal_audit', 'management_review', 'external_audit', 'cb_response', 'stage_2_repeat')")


def upgrade():
    op.drop_constraint(op.f('ck_work_items_kind_valid'), 'work_items', type_='check')
    op.create_check_constraint(op.f('ck_work_items_kind_valid'), 'work_items', NEW)
    op.add_column('work_items', sa.Column('parent_id', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('work_items', 'parent_id')
    op.execute("DELETE FROM work_items WHERE NOT (" + OLD + ")")
    op.drop_constraint(op.f('ck_work_items_kind_valid'), 'work_items', type_='check')
    op.create_check_constraint(op.f('ck_work_items_kind_valid'), 'work_items', OLD)
