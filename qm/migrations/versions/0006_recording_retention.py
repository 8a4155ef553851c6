"""recording retention

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:04:51.565042
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_hold', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('recording_deleted_at', qm.db.UTCDateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_column('recording_deleted_at')
        batch_op.drop_column('legal_hold')

