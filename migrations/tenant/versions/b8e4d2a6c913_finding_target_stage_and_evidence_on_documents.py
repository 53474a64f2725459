"""findings gain a target stage (the stage that can remedy them, the first gate an open major holds); evidence
files attach to a document version or a record instance as well as to a task

Existing findings get the default target of workflows/target_stage.py, computed from their clause over the
tasks of the client's pinned template snapshot (the rule a new finding gets at creation); a finding whose
clause no task carries keeps the stage it was raised in, which is how the gates read it before.

Revision ID: b8e4d2a6c913
Revises: f2a9c4d7e1b3
Create Date: 2026-12-03 10:05:00
"""
from alembic import op
import sqlalchemy as sa

from workflows.target_stage import default_target_stage, split_clauses

revision = 'b8e4d2a6c913'
down_revision = 'f2a9c4d7e1b3'
branch_labels = None
depends_on = None


def _stage_tasks(snapshot):
    # The snapshot's own layout (Template.to_dict), read as plain data: an old snapshot need not parse today.
    return [(stage.get('key'), tuple(task.get('clauses') or ()))
            for stage in (snapshot or {}).get('stages') or () for task in stage.get('tasks') or ()]


def upgrade():
    op.add_column('findings', sa.Column('target_stage', sa.String(length=40), nullable=True))
    op.create_foreign_key(op.f('fk_findings_target_stage_stages'), 'findings', 'stages', ['target_stage'], ['key'])
    if not op.get_context().as_sql:
        # Rendered as SQL (fast provisioning), the schema is new and has no findings to fill.
        bind = op.get_bind()
        snapshot = bind.execute(sa.text("SELECT template_snapshot FROM workspace_settings")).scalar()
        pairs = _stage_tasks(snapshot)
        for finding_id, stage, clause in bind.execute(sa.text("SELECT id, stage, clause FROM findings")).all():
            target = default_target_stage(pairs, stage, split_clauses(clause))
            bind.execute(sa.text("UPDATE findings SET target_stage = :t WHERE id = :i"),
                         {"t": target, "i": finding_id})

    op.alter_column('attachments', 'task_id', existing_type=sa.Integer(), nullable=True)
    op.add_column('attachments', sa.Column('document_version_id', sa.Integer(), nullable=True))
    op.add_column('attachments', sa.Column('record_entry_id', sa.Integer(), nullable=True))
    op.create_foreign_key(op.f('fk_attachments_document_version_id_document_versions'), 'attachments',
                          'document_versions', ['document_version_id'], ['id'], ondelete='CASCADE')
    op.create_foreign_key(op.f('fk_attachments_record_entry_id_record_entries'), 'attachments', 'record_entries',
                          ['record_entry_id'], ['id'], ondelete='CASCADE')
    op.create_index(op.f('ix_attachments_document_version_id'), 'attachments', ['document_version_id'])
    op.create_index(op.f('ix_attachments_record_entry_id'), 'attachments', ['record_entry_id'])
    op.create_check_constraint(op.f('ck_attachments_one_parent'), 'attachments',
                               'num_nonnulls(task_id, document_version_id, record_entry_id) = 1')


def downgrade():
    op.execute("DELETE FROM attachments WHERE task_id IS NULL")
    op.drop_constraint(op.f('ck_attachments_one_parent'), 'attachments', type_='check')
    op.drop_index(op.f('ix_attachments_record_entry_id'), table_name='attachments')
    op.drop_index(op.f('ix_attachments_document_version_id'), table_name='attachments')
    op.drop_constraint(op.f('fk_attachments_record_entry_id_record_entries'), 'attachments', type_='foreignkey')
    op.drop_constraint(op.f('fk_attachments_document_version_id_document_versions'), 'attachments',
                       type_='foreignkey')
    op.drop_column('attachments', 'record_entry_id')
    op.drop_column('attachments', 'document_version_id')
    op.alter_column('attachments', 'task_id', existing_type=sa.Integer(), nullable=False)
    op.drop_constraint(op.f('fk_findings_target_stage_stages'), 'findings', type_='foreignkey')
    op.drop_column('findings', 'target_stage')
