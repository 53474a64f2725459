"""client_members: the client's top management as a role (approves policy, objectives, scope, review outputs)

Revision ID: e3a91c7d5b08
Revises: 8d2f4b6a1c93
Create Date: 2026-12-02 13:30:00
"""
from alembic import op

revision = 'e3a91c7d5b08'
down_revision = '8d2f4b6a1c93'
branch_labels = None
depends_on = None

NAME = 'ck_client_members_role_valid'


def upgrade():
    op.drop_constraint(op.f(NAME), 'client_members', type_='check')
    op.create_check_constraint(op.f(NAME), 'client_members', "role IN ('top_management', 'client_admin', 'staff', 'auditor')")


def downgrade():
    op.execute("UPDATE client_members SET role = 'client_admin' WHERE role = 'top_management'")
    op.drop_constraint(op.f(NAME), 'client_members', type_='check')
    op.create_check_constraint(op.f(NAME), 'client_members', "role IN ('client_admin', 'staff', 'auditor')")
