"""one pending invitation per address and place: older duplicates removed, then a partial unique index

Revision ID: c4e1d2a7b9f3
Revises: b7e2c4d91a30
Create Date: 2026-12-01 10:00:00
"""
from alembic import op

revision = 'c4e1d2a7b9f3'
down_revision = 'b7e2c4d91a30'
branch_labels = None
depends_on = None


def upgrade():
    # Inviting an address twice used to add a second row: keep the newest pending one, whose link was mailed last.
    op.execute("""
        DELETE FROM invitations i USING invitations newer
        WHERE i.accepted_at IS NULL AND newer.accepted_at IS NULL
          AND i.account_id = newer.account_id AND coalesce(i.client_id, 0) = coalesce(newer.client_id, 0)
          AND i.email = newer.email AND (newer.created_at, newer.id) > (i.created_at, i.id)
    """)
    op.execute("CREATE UNIQUE INDEX uq_invitations_one_pending ON invitations "
               "(account_id, coalesce(client_id, 0), email) WHERE accepted_at IS NULL")


def downgrade():
    op.drop_index('uq_invitations_one_pending', table_name='invitations')
