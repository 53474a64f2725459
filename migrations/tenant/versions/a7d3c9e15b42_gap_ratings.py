"""gap_ratings: the gap analysis of the initial audit, one rated checklist item per clause

Revision ID: a7d3c9e15b42
Revises: 7d3e9a1c5b42
Create Date: 2026-12-02 06:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'a7d3c9e15b42'
down_revision = '7d3e9a1c5b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('gap_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checklist', sa.String(length=80), nullable=False),
    sa.Column('clause', sa.String(length=12), nullable=False),
    sa.Column('rating', sa.String(length=20), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.Text(), server_default='', nullable=False),
    sa.Column('evidence', sa.Text(), server_default='', nullable=False),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('rated_by_id', sa.Integer(), nullable=True),
    sa.Column('rated_by_name', sa.String(length=200), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("rating IN ('conforming', 'partly', 'not_conforming', 'not_applicable')",
                       name=op.f('ck_gap_ratings_rating_valid')),
    sa.CheckConstraint("outcome IN ('documented', 'needs_documenting', 'redesign', 'missing')",
                       name=op.f('ck_gap_ratings_outcome_valid')),
    sa.CheckConstraint("(rating = 'not_applicable') = (outcome IS NULL)", name=op.f('ck_gap_ratings_outcome_unless_na')),
    sa.CheckConstraint("rating <> 'not_applicable' OR justification IS NOT NULL",
                       name=op.f('ck_gap_ratings_na_needs_justification')),
    sa.ForeignKeyConstraint(['finding_id'], ['findings.id'], name=op.f('fk_gap_ratings_finding_id_findings'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_gap_ratings_task_id_tasks'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gap_ratings')),
    sa.UniqueConstraint('checklist', 'clause', name=op.f('uq_gap_ratings_checklist_clause'))
    )


def downgrade():
    op.drop_table('gap_ratings')
