"""the certification body's record of the client (application data, certificate) and its external audits

Revision ID: 7d3e9a1c5b42
Revises: 52b7eb00bb48
Create Date: 2026-12-02 07:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '7d3e9a1c5b42'
down_revision = '52b7eb00bb48'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'certification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('accreditation', sa.String(length=200), server_default='', nullable=False),
        sa.Column('sector', sa.String(length=120), server_default='', nullable=False),
        sa.Column('headcount', sa.Integer(), nullable=True),
        sa.Column('sites', sa.Integer(), nullable=True),
        sa.Column('scope_statement', sa.Text(), server_default='', nullable=False),
        sa.Column('certificate_number', sa.String(length=80), server_default='', nullable=False),
        sa.Column('certificate_scope', sa.Text(), server_default='', nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=True),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.CheckConstraint('id = 1', name=op.f('ck_certification_single_row')),
        sa.CheckConstraint('headcount IS NULL OR headcount BETWEEN 1 AND 1000000',
                           name=op.f('ck_certification_headcount_range')),
        sa.CheckConstraint('sites IS NULL OR sites BETWEEN 1 AND 10000', name=op.f('ck_certification_sites_range')),
        sa.CheckConstraint('expires_on IS NULL OR issued_on IS NULL OR expires_on > issued_on',
                           name=op.f('ck_certification_expiry_after_issue')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certification')),
    )
    op.create_table(
        'external_audits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('planned_on', sa.Date(), nullable=True),
        sa.Column('held_on', sa.Date(), nullable=True),
        sa.Column('result', sa.String(length=20), nullable=True),
        sa.Column('reference', sa.String(length=80), server_default='', nullable=False),
        sa.Column('notes', sa.Text(), server_default='', nullable=False),
        sa.Column('updated_by_name', sa.String(length=200), server_default='', nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint("kind IN ('stage_1', 'stage_2', 'surveillance_1', 'surveillance_2', 'recertification')",
                           name=op.f('ck_external_audits_kind_valid')),
        sa.CheckConstraint("result IS NULL OR result IN ('passed', 'minor', 'major', 'concerns')",
                           name=op.f('ck_external_audits_result_valid')),
        sa.CheckConstraint('result IS NULL OR held_on IS NOT NULL',
                           name=op.f('ck_external_audits_result_needs_held_on')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_external_audits')),
        sa.UniqueConstraint('kind', name=op.f('uq_external_audits_kind')),
    )


def downgrade():
    op.drop_table('external_audits')
    op.drop_table('certification')
