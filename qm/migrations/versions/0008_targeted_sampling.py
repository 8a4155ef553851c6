"""Targeted sampling: a rule may add flagged interactions to its random draw, and such
evaluations are marked, so that the representative figures can leave them out.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 06:15:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

AGENT_INCLUDE = ['status', 'score', 'critical_fail', 'team_id']
TEAM_INCLUDE = ['agent_id', 'status', 'score']


def _indexes(batch_op, extra: list[str]) -> None:
    """The two report indexes cover what the reports read (index-only scans on PostgreSQL):
    with this revision the reports also read ``targeted``."""
    batch_op.drop_index('ix_evaluations_agent_submitted')
    batch_op.drop_index('ix_evaluations_team_submitted')
    batch_op.create_index('ix_evaluations_agent_submitted', ['agent_id', 'submitted_at'],
                          unique=False, postgresql_include=AGENT_INCLUDE + extra)
    batch_op.create_index('ix_evaluations_team_submitted', ['team_id', 'submitted_at'],
                          unique=False, postgresql_include=TEAM_INCLUDE + extra)


def upgrade() -> None:
    with op.batch_alter_table('sampling_rules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flagged_per_agent', sa.Integer(), nullable=False,
                                      server_default='0'))
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('targeted', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        _indexes(batch_op, ['targeted'])


def downgrade() -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        _indexes(batch_op, [])
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_column('targeted')
    with op.batch_alter_table('sampling_rules', schema=None) as batch_op:
        batch_op.drop_column('flagged_per_agent')
