"""Notifications (issue 17): in-app notices with their e-mail outbox, and each user's choice
of e-mail (at once, a daily digest, none).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 06:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('read_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('mail', sa.String(length=8), nullable=False),
    sa.Column('emailed_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('mail_attempts', sa.Integer(), nullable=False),
    sa.Column('mail_error', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_list', ['user_id', 'id'], unique=False)
        batch_op.create_index('ix_notifications_user_unread', ['user_id', 'read_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_mail'), ['mail'], unique=False)

    op.create_table('notification_settings',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=16), nullable=False),
    sa.Column('last_digest_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_settings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_notification_settings'))
    )


def downgrade() -> None:
    op.drop_table('notification_settings')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_mail'))
        batch_op.drop_index('ix_notifications_user_unread')
        batch_op.drop_index('ix_notifications_user_list')

    op.drop_table('notifications')
