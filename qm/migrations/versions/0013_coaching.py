"""Coaching sessions and their action items (issue 14).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 17:25:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], ondelete=ondelete,
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade() -> None:
    op.create_table(
        'coaching_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('coach_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('planned_on', sa.Date(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=True),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('evaluation_ids', sa.JSON(), nullable=False),
        sa.Column('calibration_session_id', sa.Integer(), nullable=True),
        sa.Column('focus_questions', sa.JSON(), nullable=False),
        sa.Column('focus_competencies', sa.JSON(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('agent_acknowledged_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('agent_comment', sa.Text(), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('coaching_sessions', 'agent_id', 'users'),
        _fk('coaching_sessions', 'team_id', 'teams'),
        _fk('coaching_sessions', 'coach_id', 'users'),
        _fk('coaching_sessions', 'calibration_session_id', 'calibration_sessions'),
        _fk('coaching_sessions', 'created_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_sessions')),
    )
    with op.batch_alter_table('coaching_sessions', schema=None) as batch_op:
        for column in ('agent_id', 'team_id', 'planned_on'):
            batch_op.create_index(batch_op.f(f'ix_coaching_sessions_{column}'), [column],
                                  unique=False)
    op.create_table(
        'coaching_action_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('done_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('done_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('coaching_action_items', 'session_id', 'coaching_sessions', 'CASCADE'),
        _fk('coaching_action_items', 'owner_id', 'users'),
        _fk('coaching_action_items', 'done_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_action_items')),
    )
    with op.batch_alter_table('coaching_action_items', schema=None) as batch_op:
        for column in ('session_id', 'owner_id'):
            batch_op.create_index(batch_op.f(f'ix_coaching_action_items_{column}'), [column],
                                  unique=False)


def downgrade() -> None:
    with op.batch_alter_table('coaching_action_items', schema=None) as batch_op:
        for column in ('owner_id', 'session_id'):
            batch_op.drop_index(batch_op.f(f'ix_coaching_action_items_{column}'))
    op.drop_table('coaching_action_items')
    with op.batch_alter_table('coaching_sessions', schema=None) as batch_op:
        for column in ('planned_on', 'team_id', 'agent_id'):
            batch_op.drop_index(batch_op.f(f'ix_coaching_sessions_{column}'))
    op.drop_table('coaching_sessions')
