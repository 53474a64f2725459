"""reminders_sent: the message's content kept as data, composed into mail by the send job

The sweep claimed every message with its text and HTML bodies rendered and its unsubscribe link signed: two
template renders and a signature per message, most of a first sweep's time at 2,000 clients (some 130,000
messages). The claim now keeps what the message says (`content`: line, link, details, rows, sections, held
notices) and the send job renders it. Rows claimed before this revision keep their bodies and are sent as
they are, so the bodies become nullable.

Revision ID: a4c7e9b2d816
Revises: f2b7d4a9c6e1
Create Date: 2026-12-02 18:40:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = 'a4c7e9b2d816'
down_revision = 'f2b7d4a9c6e1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('reminders_sent', sa.Column('content', postgresql.JSONB(), nullable=True))
    op.alter_column('reminders_sent', 'body_text', existing_type=sa.Text(), nullable=True)
    op.alter_column('reminders_sent', 'body_html', existing_type=sa.Text(), nullable=True)


def downgrade():
    op.execute("UPDATE reminders_sent SET body_text = coalesce(body_text, ''), body_html = coalesce(body_html, '')")
    op.alter_column('reminders_sent', 'body_html', existing_type=sa.Text(), nullable=False)
    op.alter_column('reminders_sent', 'body_text', existing_type=sa.Text(), nullable=False)
    op.drop_column('reminders_sent', 'content')
