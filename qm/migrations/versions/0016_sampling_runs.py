"""Sampling runs kept as history (issue 17): who ran which week with which seed, and per rule
what was drawn, the evaluations created and what did not fit.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 05:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sampling_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('run_by_id', sa.Integer(), nullable=True),
    sa.Column('run_by_name', sa.String(length=120), nullable=False),
    sa.Column('ran_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('unassigned', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['run_by_id'], ['users.id'], name=op.f('fk_sampling_runs_run_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sampling_runs'))
    )
    with op.batch_alter_table('sampling_runs', schema=None) as batch_op:
        batch_op.create_index('ix_sampling_runs_ran_at', ['ran_at', 'id'], unique=False)

    op.create_table('sampling_run_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('rule_id', sa.Integer(), nullable=True),
    sa.Column('rule_name', sa.String(length=120), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('agents', sa.Integer(), nullable=False),
    sa.Column('candidates', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('targeted', sa.Integer(), nullable=False),
    sa.Column('already', sa.Integer(), nullable=False),
    sa.Column('unassigned', sa.Integer(), nullable=False),
    sa.Column('problem', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('evaluation_ids', sa.JSON(), nullable=False),
    sa.Column('unassigned_interaction_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['rule_id'], ['sampling_rules.id'], name=op.f('fk_sampling_run_rules_rule_id_sampling_rules')),
    sa.ForeignKeyConstraint(['run_id'], ['sampling_runs.id'], name=op.f('fk_sampling_run_rules_run_id_sampling_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_sampling_run_rules_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sampling_run_rules'))
    )
    with op.batch_alter_table('sampling_run_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sampling_run_rules_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sampling_run_rules_team_id'), ['team_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sampling_run_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sampling_run_rules_team_id'))
        batch_op.drop_index(batch_op.f('ix_sampling_run_rules_run_id'))

    op.drop_table('sampling_run_rules')
    with op.batch_alter_table('sampling_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_sampling_runs_ran_at')

    op.drop_table('sampling_runs')
