"""one pending review per stage; room for several clauses on a finding

Revision ID: 894ba76e6b2c
Revises: 27e136809f6a
Create Date: 2026-12-02 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = '894ba76e6b2c'
down_revision = '27e136809f6a'
branch_labels = None
depends_on = None


def upgrade():
    # Races before this index could leave several reviews waiting for one stage: the earliest stays waiting,
    # the others are withdrawn (the activity log, append-only, keeps what happened).
    op.execute("""
        UPDATE gate_reviews SET status = 'withdrawn', decided_at = now(),
               decision_comment = 'Withdrawn: a duplicate of an earlier request for the same gate'
        WHERE status = 'requested'
          AND id NOT IN (SELECT min(id) FROM gate_reviews WHERE status = 'requested' GROUP BY stage)
    """)
    op.create_index('uq_gate_reviews_one_pending', 'gate_reviews', ['stage'], unique=True,
                    postgresql_where=sa.text("status = 'requested'"))
    # "8.4.1, 8.4.2": a finding may name several clauses.
    op.alter_column('findings', 'clause', existing_type=sa.String(length=12), type_=sa.String(length=100),
                    existing_nullable=True)


def downgrade():
    op.execute("UPDATE findings SET clause = left(clause, 12) WHERE length(clause) > 12")
    op.alter_column('findings', 'clause', existing_type=sa.String(length=100), type_=sa.String(length=12),
                    existing_nullable=True)
    op.drop_index('uq_gate_reviews_one_pending', table_name='gate_reviews',
                  postgresql_where=sa.text("status = 'requested'"))
