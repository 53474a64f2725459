"""billing: trial end, grace start and interval on accounts; one live Stripe subscription per consultancy;
Checkout intents with their idempotency keys; what each billing event changed

Revision ID: d81b6e4c2f19
Revises: 3c1f6a9e2b70
Create Date: 2026-12-02 06:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'd81b6e4c2f19'
down_revision = '3c1f6a9e2b70'
branch_labels = None
depends_on = None

LIVE = "status IN ('active', 'trialing', 'past_due', 'incomplete', 'unpaid')"


def upgrade():
    op.add_column('accounts', sa.Column('trial_ends_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('accounts', sa.Column('past_due_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('accounts', sa.Column('billing_interval', sa.String(length=10), nullable=True))
    op.add_column('billing_events', sa.Column('account_id', sa.Integer(), nullable=True))
    op.add_column('billing_events', sa.Column('detail', sa.Text(), nullable=True))
    op.create_foreign_key(op.f('fk_billing_events_account_id_accounts'), 'billing_events', 'accounts',
                          ['account_id'], ['id'], ondelete='CASCADE')
    op.create_index(op.f('ix_billing_events_account_id'), 'billing_events', ['account_id'])
    op.create_table(
        'billing_subscriptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('stripe_subscription_id', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=40), nullable=False),
        sa.Column('price_id', sa.String(length=255), nullable=True),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('current_period_end', sa.DateTime(timezone=True), nullable=True),
        sa.Column('trial_end', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancel_at_period_end', sa.Boolean(), server_default=sa.text('false'), nullable=False),
        sa.Column('synced_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_billing_subscriptions_account_id_accounts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions')),
        sa.UniqueConstraint('stripe_subscription_id', name=op.f('uq_billing_subscriptions_stripe_subscription_id')),
    )
    op.create_index(op.f('ix_billing_subscriptions_account_id'), 'billing_subscriptions', ['account_id'])
    op.create_index('uq_billing_subscriptions_one_live', 'billing_subscriptions', ['account_id'], unique=True,
                    postgresql_where=sa.text(LIVE))
    op.create_table(
        'checkout_intents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('plan', sa.String(length=40), nullable=False),
        sa.Column('interval', sa.String(length=10), nullable=False),
        sa.Column('idempotency_key', sa.String(length=80), nullable=False),
        sa.Column('stripe_session_id', sa.String(length=255), nullable=True),
        sa.Column('url', sa.String(length=2000), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'],
                                name=op.f('fk_checkout_intents_account_id_accounts'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_checkout_intents')),
        sa.UniqueConstraint('idempotency_key', name=op.f('uq_checkout_intents_idempotency_key')),
    )
    op.create_index(op.f('ix_checkout_intents_account_id'), 'checkout_intents', ['account_id'])
    op.create_index('uq_checkout_intents_one_open', 'checkout_intents', ['account_id'], unique=True,
                    postgresql_where=sa.text("completed_at IS NULL AND closed_at IS NULL"))


def downgrade():
    op.drop_table('checkout_intents')
    op.drop_table('billing_subscriptions')
    op.drop_index(op.f('ix_billing_events_account_id'), 'billing_events')
    op.drop_constraint(op.f('fk_billing_events_account_id_accounts'), 'billing_events', type_='foreignkey')
    op.drop_column('billing_events', 'detail')
    op.drop_column('billing_events', 'account_id')
    op.drop_column('accounts', 'billing_interval')
    op.drop_column('accounts', 'past_due_since')
    op.drop_column('accounts', 'trial_ends_at')
