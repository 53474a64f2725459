"""digests_and_reminder_settings: notices held for a person's daily digest, outbox rows kept for a digest
(never mailed alone), a consultancy's reminder lead days and time zone, a client's working days and time zone.

No data step: every new column has a default that keeps today's behaviour (7 and 1 days, Monday to Friday,
the consultancy's time zone, then UTC).

Revision ID: e5a8c1f47d20
Revises: e3a91c7d5b08
Create Date: 2026-12-02 13:30:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'e5a8c1f47d20'
down_revision = 'e3a91c7d5b08'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('notifications', sa.Column('digest_pending', sa.Boolean(), server_default='false', nullable=False))
    op.create_index('ix_notifications_digest_pending', 'notifications', ['user_id'],
                    postgresql_where=sa.text('digest_pending'))
    op.add_column('reminders_sent', sa.Column('held', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('accounts', sa.Column('reminder_lead_days', sa.String(length=40), nullable=True))
    op.add_column('accounts', sa.Column('time_zone', sa.String(length=64), nullable=True))
    op.add_column('clients', sa.Column('working_days', sa.String(length=7), nullable=True))
    op.add_column('clients', sa.Column('time_zone', sa.String(length=64), nullable=True))
    op.create_check_constraint('working_days_valid', 'clients', "working_days ~ '^[0-6]{1,7}$'")


def downgrade():
    op.drop_constraint('working_days_valid', 'clients', type_='check')
    op.drop_column('clients', 'time_zone')
    op.drop_column('clients', 'working_days')
    op.drop_column('accounts', 'time_zone')
    op.drop_column('accounts', 'reminder_lead_days')
    op.drop_column('reminders_sent', 'held')
    op.drop_index('ix_notifications_digest_pending', table_name='notifications')
    op.drop_column('notifications', 'digest_pending')
