"""activity log refuses TRUNCATE too

The row trigger of d4f90170e6c3 stops UPDATE and DELETE; TRUNCATE fires no row
triggers, so it got through. A statement trigger on TRUNCATE, calling the same
function, refuses it with the same message.

Revision ID: 27e136809f6a
Revises: d4f90170e6c3
Create Date: 2026-12-02 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa  # noqa: F401  (the template's import, kept for autogenerate's sake)

revision = '27e136809f6a'
down_revision = 'd4f90170e6c3'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("""
        CREATE TRIGGER activity_log_no_truncate BEFORE TRUNCATE ON activity_log
        FOR EACH STATEMENT EXECUTE FUNCTION activity_log_append_only()
    """)


def downgrade():
    op.execute("DROP TRIGGER activity_log_no_truncate ON activity_log")
