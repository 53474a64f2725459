"""internal audits (9.2): the programme, its processes, audits with their scope and checklist lines

Revision ID: c4a7e1f9b205
Revises: b8e4d2a6c913
Create Date: 2026-12-03 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'c4a7e1f9b205'
down_revision = 'b8e4d2a6c913'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('methods', postgresql.ARRAY(sa.String(length=30)), server_default='{}', nullable=False),
    sa.Column('manager_id', sa.Integer(), nullable=True),
    sa.Column('manager_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_programmes')),
    )
    op.create_table('audit_processes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('owner_name', sa.String(length=200), server_default='', nullable=False),
    sa.Column('risk', sa.String(length=10), server_default='medium', nullable=False),
    sa.Column('in_scope', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('importance', sa.Text(), server_default='', nullable=False),
    sa.Column('recent_changes', sa.Text(), server_default='', nullable=False),
    sa.Column('previous_results', sa.Text(), server_default='', nullable=False),
    sa.CheckConstraint("risk IN ('high', 'medium', 'low')", name=op.f('ck_audit_processes_risk_valid')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_processes')),
    sa.UniqueConstraint('name', name=op.f('uq_audit_processes_name')),
    )
    op.create_table('internal_audits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('criteria', sa.Text(), server_default='', nullable=False),
    sa.Column('clauses', postgresql.ARRAY(sa.String(length=12)), nullable=False),
    sa.Column('scope_note', sa.Text(), server_default='', nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('auditees', sa.String(length=500), server_default='', nullable=False),
    sa.Column('auditor_id', sa.Integer(), nullable=True),
    sa.Column('auditor_name', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='planned', nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.Column('summary', sa.Text(), server_default='', nullable=False),
    sa.Column('conclusion', sa.Text(), server_default='', nullable=False),
    sa.Column('positives', sa.Text(), server_default='', nullable=False),
    sa.Column('distribution', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by_name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('planned', 'in_progress', 'completed')",
                       name=op.f('ck_internal_audits_status_valid')),
    sa.CheckConstraint("status <> 'completed' OR completed_on IS NOT NULL",
                       name=op.f('ck_internal_audits_completed_has_date')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_audits')),
    sa.UniqueConstraint('reference', name=op.f('uq_internal_audits_reference')),
    )
    op.create_index(op.f('ix_internal_audits_planned_on'), 'internal_audits', ['planned_on'])
    op.create_table('internal_audit_processes',
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['audit_id'], ['internal_audits.id'],
                            name=op.f('fk_internal_audit_processes_audit_id_internal_audits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['process_id'], ['audit_processes.id'],
                            name=op.f('fk_internal_audit_processes_process_id_audit_processes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('audit_id', 'process_id', name=op.f('pk_internal_audit_processes')),
    )
    op.create_table('internal_audit_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('clause', sa.String(length=12), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('rating', sa.String(length=20), nullable=True),
    sa.Column('evidence', sa.Text(), server_default='', nullable=False),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('rated_by_id', sa.Integer(), nullable=True),
    sa.Column('rated_by_name', sa.String(length=200), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("rating IS NULL OR rating IN ('conforming', 'partly', 'not_conforming', 'not_applicable')",
                       name=op.f('ck_internal_audit_lines_rating_valid')),
    sa.CheckConstraint("rating IS NULL OR rated_by_name IS NOT NULL",
                       name=op.f('ck_internal_audit_lines_rating_has_rater')),
    sa.ForeignKeyConstraint(['audit_id'], ['internal_audits.id'],
                            name=op.f('fk_internal_audit_lines_audit_id_internal_audits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'],
                            name=op.f('fk_internal_audit_lines_finding_id_findings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_audit_lines')),
    sa.UniqueConstraint('audit_id', 'clause', name=op.f('uq_internal_audit_lines_audit_id_clause')),
    )
    op.create_index(op.f('ix_internal_audit_lines_audit_id'), 'internal_audit_lines', ['audit_id'])
    op.create_index(op.f('ix_internal_audit_lines_finding_id'), 'internal_audit_lines', ['finding_id'])


def downgrade():
    op.drop_table('internal_audit_lines')
    op.drop_table('internal_audit_processes')
    op.drop_table('internal_audits')
    op.drop_table('audit_processes')
    op.drop_table('audit_programmes')
