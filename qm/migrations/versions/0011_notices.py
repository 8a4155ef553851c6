"""Notices to employees and their recipients' acknowledgements (ISO 18295-1 6.5).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], ondelete=ondelete,
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade() -> None:
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=16), nullable=False),
        sa.Column('acknowledge_by', sa.Date(), nullable=True),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('published_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.Column('audience', sa.JSON(), nullable=True),
        sa.Column('withdrawn_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('notices', 'created_by_id', 'users'),
        _fk('notices', 'published_by_id', 'users'),
        _fk('notices', 'withdrawn_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notices')),
    )
    op.create_table(
        'notice_recipients',
        sa.Column('notice_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('added_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('acknowledged_at', qm.db.UTCDateTime(), nullable=True),
        _fk('notice_recipients', 'notice_id', 'notices', 'CASCADE'),
        _fk('notice_recipients', 'user_id', 'users'),
        sa.PrimaryKeyConstraint('notice_id', 'user_id', name=op.f('pk_notice_recipients')),
    )
    with op.batch_alter_table('notice_recipients', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_recipients_user_id'), ['user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice_recipients', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_recipients_user_id'))
    op.drop_table('notice_recipients')
    op.drop_table('notices')
