"""document control (7.5): the register's fields, document versions, acknowledgements, record instances

Additive. Every existing document becomes a register entry whose current status is its version 1 (an
approved document's version 1 is the effective one, approved when and by whom it was), with an identifier,
an approver role (top management for the policy, objectives, scope and management review minutes) and, once
approved, a review due date from the default policy (core documents yearly, others every three years).

Revision ID: c5d8e2f71a46
Revises: a7d3c9e15b42
Create Date: 2026-12-02 13:35:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'c5d8e2f71a46'
down_revision = 'a7d3c9e15b42'
branch_labels = None
depends_on = None

# Kept here as they were when this ran (workflows/documents.py holds the live rules).
TOP_MANAGEMENT = ('quality_policy', 'quality_objectives', 'qms_scope', 'management_review_minutes')
CORE = TOP_MANAGEMENT + ('context_analysis', 'risk_register', 'process_map')


def _file_columns():
    return [sa.Column('filename', sa.String(length=255), nullable=True),
            sa.Column('content_type', sa.String(length=120), nullable=True),
            sa.Column('size_bytes', sa.BigInteger(), nullable=True),
            sa.Column('sha256', sa.String(length=64), nullable=True),
            sa.Column('storage_path', sa.String(length=255), nullable=True)]


def upgrade():
    op.add_column('workspace_settings', sa.Column('review_months_core', sa.Integer(), server_default='12', nullable=False))
    op.add_column('workspace_settings', sa.Column('review_months_other', sa.Integer(), server_default='36',
                                                  nullable=False))
    for column in (
        sa.Column('identifier', sa.String(length=40), nullable=True),
        sa.Column('task_keys', postgresql.ARRAY(sa.String(length=80)), server_default='{}', nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('approver_role', sa.String(length=20), server_default='consultant', nullable=False),
        sa.Column('origin', sa.String(length=10), server_default='internal', nullable=False),
        sa.Column('retention', sa.String(length=200), server_default='', nullable=False),
        sa.Column('review_due_on', sa.Date(), nullable=True),
        sa.Column('last_reviewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_reviewed_by_name', sa.String(length=200), nullable=True),
    ):
        op.add_column('documents', column)
    op.create_unique_constraint(op.f('uq_documents_identifier'), 'documents', ['identifier'])
    op.create_index(op.f('ix_documents_review_due_on'), 'documents', ['review_due_on'])
    op.create_check_constraint(op.f('ck_documents_approver_role_valid'), 'documents',
                               "approver_role IN ('top_management', 'client_admin', 'consultant')")
    op.create_check_constraint(op.f('ck_documents_origin_valid'), 'documents', "origin IN ('internal', 'external')")

    op.create_table('document_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='draft', nullable=False),
    sa.Column('body', sa.Text(), server_default='', nullable=False),
    sa.Column('change_reason', sa.Text(), server_default='', nullable=False),
    sa.Column('needs_acknowledgement', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_name', sa.String(length=200), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    *_file_columns(),
    sa.CheckConstraint("status IN ('draft', 'in_review', 'approved', 'superseded', 'obsolete')",
                       name=op.f('ck_document_versions_status_valid')),
    sa.CheckConstraint("status NOT IN ('approved', 'superseded') OR approved_at IS NOT NULL",
                       name=op.f('ck_document_versions_approved_has_date')),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_document_versions_document_id_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_versions')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_document_versions_document_id')),
    sa.UniqueConstraint('storage_path', name=op.f('uq_document_versions_storage_path')),
    )
    op.create_index(op.f('ix_document_versions_document_id'), 'document_versions', ['document_id'])
    op.create_index('uq_document_versions_one_effective', 'document_versions', ['document_id'], unique=True,
                    postgresql_where=sa.text("status = 'approved'"))

    op.create_table('document_acknowledgements',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['document_versions.id'],
                            name=op.f('fk_document_acknowledgements_version_id_document_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'user_id', name=op.f('pk_document_acknowledgements')),
    )

    op.create_table('record_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('occurred_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('added_by_name', sa.String(length=200), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    *_file_columns(),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], name=op.f('fk_record_entries_document_id_documents'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_entries')),
    sa.UniqueConstraint('storage_path', name=op.f('uq_record_entries_storage_path')),
    )
    op.create_index(op.f('ix_record_entries_document_id'), 'record_entries', ['document_id'])

    # The data step: each existing document as a register entry, its status as version 1.
    op.execute(sa.text(
        "UPDATE documents SET approver_role = 'top_management' WHERE key = ANY(:tm)"
    ).bindparams(sa.bindparam('tm', list(TOP_MANAGEMENT), type_=postgresql.ARRAY(sa.String))))
    op.execute("""
        UPDATE documents d SET identifier = n.identifier FROM (
            SELECT id, CASE kind WHEN 'record' THEN 'REC-' ELSE 'DOC-' END
                       || lpad(row_number() OVER (PARTITION BY kind ORDER BY id)::text, 3, '0') AS identifier
            FROM documents) n
        WHERE n.id = d.id AND d.identifier IS NULL""")
    op.execute(sa.text("""
        UPDATE documents SET review_due_on = (approved_at
            + make_interval(months => CASE WHEN key = ANY(:core) THEN 12 ELSE 36 END))::date
        WHERE status = 'approved' AND kind = 'document' AND approved_at IS NOT NULL
    """).bindparams(sa.bindparam('core', list(CORE), type_=postgresql.ARRAY(sa.String))))
    op.execute("""
        INSERT INTO document_versions (document_id, number, status, change_reason, created_by_name, created_at,
                                       approved_by_id, approved_at, ended_at)
        SELECT id, 1, status, 'Registered when document control arrived (status carried over)', 'ISOpath',
               updated_at, approved_by_id,
               CASE WHEN status = 'approved' THEN coalesce(approved_at, updated_at) END,
               CASE WHEN status = 'obsolete' THEN updated_at END
        FROM documents""")


def downgrade():
    op.drop_table('record_entries')
    op.drop_table('document_acknowledgements')
    op.drop_index('uq_document_versions_one_effective', table_name='document_versions')
    op.drop_table('document_versions')
    op.drop_constraint(op.f('ck_documents_origin_valid'), 'documents', type_='check')
    op.drop_constraint(op.f('ck_documents_approver_role_valid'), 'documents', type_='check')
    op.drop_index(op.f('ix_documents_review_due_on'), table_name='documents')
    op.drop_constraint(op.f('uq_documents_identifier'), 'documents', type_='unique')
    for name in ('last_reviewed_by_name', 'last_reviewed_at', 'review_due_on', 'retention', 'origin',
                 'approver_role', 'owner_id', 'task_keys', 'identifier'):
        op.drop_column('documents', name)
    op.drop_column('workspace_settings', 'review_months_other')
    op.drop_column('workspace_settings', 'review_months_core')
