"""notifications: kind and key of each in-app notice; reminders_sent as the outbox of claimed messages
(what to send, when claimed, when sent or refused); mail preferences per user and kind; a time zone per user

Revision ID: d81f0c3a5e27
Revises: d81b6e4c2f19
Create Date: 2026-12-02 06:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

revision = 'd81f0c3a5e27'
down_revision = 'd81b6e4c2f19'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('time_zone', sa.String(length=64), nullable=True))
    op.add_column('notifications', sa.Column('kind', sa.String(length=40), server_default='event', nullable=False))
    # The unread count in the top bar reads one person's unread rows.
    op.create_index('ix_notifications_user_unread', 'notifications', ['user_id'],
                    postgresql_where=sa.text('read_at IS NULL'))
    # Rows written before had no content to send: the table was unused, so it starts empty.
    op.execute('DELETE FROM reminders_sent')
    op.alter_column('reminders_sent', 'sent_at', nullable=True, server_default=None)
    for name, type_ in (('kind', sa.String(length=40)), ('to_email', sa.String(length=320)),
                        ('subject', sa.String(length=300)), ('body_text', sa.Text()), ('body_html', sa.Text())):
        op.add_column('reminders_sent', sa.Column(name, type_, nullable=False))
    op.add_column('reminders_sent', sa.Column('user_id', sa.Integer(), nullable=True))
    op.add_column('reminders_sent', sa.Column('client_id', sa.Integer(), nullable=True))
    op.add_column('reminders_sent', sa.Column('unsubscribe_url', sa.String(length=600), nullable=True))
    op.add_column('reminders_sent', sa.Column('claimed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'),
                                              nullable=False))
    op.add_column('reminders_sent', sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('reminders_sent', sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('reminders_sent', sa.Column('error', sa.String(length=500), nullable=True))
    op.create_foreign_key(op.f('fk_reminders_sent_user_id_users'), 'reminders_sent', 'users', ['user_id'], ['id'],
                          ondelete='CASCADE')
    op.create_foreign_key(op.f('fk_reminders_sent_client_id_clients'), 'reminders_sent', 'clients', ['client_id'],
                          ['id'], ondelete='CASCADE')
    # The sweep's re-send of claims never sent reads only the unsent rows.
    op.create_index('ix_reminders_sent_unsent', 'reminders_sent', ['claimed_at'],
                    postgresql_where=sa.text('sent_at IS NULL AND failed_at IS NULL'))
    op.create_table(
        'notification_preferences',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=40), nullable=False),
        sa.Column('delivery', sa.String(length=20), nullable=False),
        sa.CheckConstraint("delivery IN ('immediately', 'digest', 'off')",
                           name=op.f('ck_notification_preferences_delivery_valid')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preferences')),
    )


def downgrade():
    op.drop_table('notification_preferences')
    op.drop_index('ix_reminders_sent_unsent', table_name='reminders_sent')
    op.drop_constraint(op.f('fk_reminders_sent_client_id_clients'), 'reminders_sent', type_='foreignkey')
    op.drop_constraint(op.f('fk_reminders_sent_user_id_users'), 'reminders_sent', type_='foreignkey')
    for name in ('error', 'failed_at', 'attempts', 'claimed_at', 'unsubscribe_url', 'client_id', 'user_id',
                 'body_html', 'body_text', 'subject', 'to_email', 'kind'):
        op.drop_column('reminders_sent', name)
    op.execute('UPDATE reminders_sent SET sent_at = now() WHERE sent_at IS NULL')
    op.alter_column('reminders_sent', 'sent_at', nullable=False, server_default=sa.text('now()'))
    op.drop_index('ix_notifications_user_unread', table_name='notifications')
    op.drop_column('notifications', 'kind')
    op.drop_column('users', 'time_zone')
