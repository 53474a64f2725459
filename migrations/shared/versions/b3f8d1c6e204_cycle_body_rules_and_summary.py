"""certification_body_rules per consultancy; client_summaries: next audit kind, certificate expiry, stale items

A consultancy sets each certification body's response deadlines (majors corrected and verified, a minor's
plan, stage 2 repeated); a body without a row has the defaults of workflows.cycle.ResponseRules. The
portfolio's calendar and columns read the next external audit's kind, the certificate's expiry and the count
of stale records from the summary row, never from client schemas.

Revision ID: b3f8d1c6e204
Revises: b7e2d4f9a1c3
Create Date: 2026-12-03 10:05:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'b3f8d1c6e204'
down_revision = 'b7e2d4f9a1c3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certification_body_rules',
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('body_key', sa.String(200), primary_key=True),
        sa.Column('body_name', sa.String(200), nullable=False),
        sa.Column('major_days', sa.Integer(), nullable=False),
        sa.Column('minor_days', sa.Integer(), nullable=False),
        sa.Column('stage_2_repeat_months', sa.Integer(), nullable=False),
        sa.Column('updated_by_name', sa.String(200), nullable=False, server_default=''),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint('major_days BETWEEN 1 AND 365', name='ck_certification_body_rules_major_days_range'),
        sa.CheckConstraint('minor_days BETWEEN 1 AND 365', name='ck_certification_body_rules_minor_days_range'),
        sa.CheckConstraint('stage_2_repeat_months BETWEEN 1 AND 24',
                           name='ck_certification_body_rules_stage_2_repeat_range'),
    )
    op.add_column('client_summaries', sa.Column('next_audit_kind', sa.String(20), nullable=True))
    op.add_column('client_summaries', sa.Column('certificate_expires_on', sa.Date(), nullable=True))
    op.add_column('client_summaries', sa.Column('stale_items', sa.Integer(), nullable=False, server_default='0'))
    op.create_index('ix_client_summaries_next_audit_on', 'client_summaries', ['next_audit_on'])


def downgrade():
    op.drop_index('ix_client_summaries_next_audit_on', table_name='client_summaries')
    op.drop_column('client_summaries', 'stale_items')
    op.drop_column('client_summaries', 'certificate_expires_on')
    op.drop_column('client_summaries', 'next_audit_kind')
    op.drop_table('certification_body_rules')
