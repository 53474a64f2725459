"""nonconformity records: findings gain source, kind, statement, reaction, evaluation, the certification body's
side and ageing; corrective_actions with their effectiveness checks

Revision ID: e5c1a8f04b71
Revises: c5d8e2f71a46
Create Date: 2026-12-02 13:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'e5c1a8f04b71'
down_revision = 'c5d8e2f71a46'
branch_labels = None
depends_on = None

_TEXT = ('process', 'requirement', 'evidence', 'statement', 'correction', 'containment', 'correction_by',
         'concession', 'concession_granted_by', 'action_needed_reason', 'root_cause', 'similar_elsewhere',
         'closure_evidence', 'cb_reference')
_LENGTHS = {'process': 200, 'correction_by': 200, 'concession_granted_by': 200, 'cb_reference': 80}


def upgrade():
    op.add_column('findings', sa.Column('source', sa.String(length=30), nullable=True))
    op.add_column('findings', sa.Column('kind', sa.String(length=30), nullable=True))
    for name in _TEXT:
        kind = sa.String(length=_LENGTHS[name]) if name in _LENGTHS else sa.Text()
        op.add_column('findings', sa.Column(name, kind, server_default='', nullable=False))
    op.add_column('findings', sa.Column('correction_on', sa.Date(), nullable=True))
    op.add_column('findings', sa.Column('customer_informed', sa.Boolean(), nullable=True))
    op.add_column('findings', sa.Column('action_needed', sa.Boolean(), nullable=True))
    op.add_column('findings', sa.Column('cause_method', sa.String(length=20), nullable=True))
    op.add_column('findings', sa.Column('cause_category', sa.String(length=30), nullable=True))
    op.add_column('findings', sa.Column('cb_submitted_on', sa.Date(), nullable=True))
    op.add_column('findings', sa.Column('cb_accepted_on', sa.Date(), nullable=True))
    op.add_column('findings', sa.Column('cb_verification', sa.String(length=30), nullable=True))
    op.add_column('findings', sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                                        nullable=False))
    # Existing findings age from their last change as far as it is known, not from the migration.
    op.execute("UPDATE findings SET updated_at = GREATEST(raised_at, COALESCE(closed_at, raised_at), "
               "COALESCE(reopened_at, raised_at))")
    op.add_column('findings', sa.Column('escalation', sa.String(length=20), nullable=True))
    op.add_column('findings', sa.Column('escalation_reason', sa.Text(), nullable=True))
    op.add_column('findings', sa.Column('escalation_by_name', sa.String(length=200), nullable=True))
    op.create_table('corrective_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('owner_name', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_name', sa.String(length=200), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('verify_on', sa.Date(), nullable=True),
    sa.Column('verify_method', sa.Text(), server_default='', nullable=False),
    sa.Column('verify_criteria', sa.Text(), server_default='', nullable=False),
    sa.Column('result', sa.String(length=20), nullable=True),
    sa.Column('result_note', sa.Text(), server_default='', nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_by_name', sa.String(length=200), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("result IS NULL OR result IN ('effective', 'not_effective')",
                       name=op.f('ck_corrective_actions_result_valid')),
    sa.CheckConstraint("result IS NULL OR verified_by_name IS NOT NULL",
                       name=op.f('ck_corrective_actions_result_has_verifier')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_corrective_actions_finding_id_findings'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_corrective_actions_task_id_tasks'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrective_actions'))
    )
    op.create_index(op.f('ix_corrective_actions_finding_id'), 'corrective_actions', ['finding_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_corrective_actions_finding_id'), table_name='corrective_actions')
    op.drop_table('corrective_actions')
    for name in ('escalation_by_name', 'escalation_reason', 'escalation', 'updated_at', 'cb_verification',
                 'cb_accepted_on', 'cb_submitted_on', 'cause_category', 'cause_method', 'action_needed',
                 'customer_informed', 'correction_on', *reversed(_TEXT), 'kind', 'source'):
        op.drop_column('findings', name)
