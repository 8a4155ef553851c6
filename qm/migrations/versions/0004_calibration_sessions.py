"""calibration sessions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:08:56.859620
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calibration_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('form_version_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('expert_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('statistics', sa.JSON(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_calibration_sessions_closed_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_calibration_sessions_created_by_id_users')),
    sa.ForeignKeyConstraint(['expert_id'], ['users.id'], name=op.f('fk_calibration_sessions_expert_id_users')),
    sa.ForeignKeyConstraint(['form_version_id'], ['form_versions.id'], name=op.f('fk_calibration_sessions_form_version_id_form_versions')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_calibration_sessions_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_sessions'))
    )
    with op.batch_alter_table('calibration_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_sessions_team_id'), ['team_id'], unique=False)

    op.create_table('calibration_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('consensus', sa.JSON(), nullable=False),
    sa.Column('consensus_notes', sa.JSON(), nullable=False),
    sa.Column('consensus_score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_calibration_items_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], name=op.f('fk_calibration_items_session_id_calibration_sessions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_items')),
    sa.UniqueConstraint('session_id', 'interaction_id', name=op.f('uq_calibration_items_session_id_interaction_id'))
    )
    op.create_table('calibration_participants',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['session_id'], ['calibration_sessions.id'], name=op.f('fk_calibration_participants_session_id_calibration_sessions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calibration_participants_user_id_users')),
    sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_calibration_participants'))
    )
    with op.batch_alter_table('calibration_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calibration_participants_user_id'), ['user_id'], unique=False)

    op.create_table('calibration_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('evaluator_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('critical_fail', sa.Boolean(), nullable=False),
    sa.Column('section_scores', sa.JSON(), nullable=False),
    sa.Column('submitted_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['evaluator_id'], ['users.id'], name=op.f('fk_calibration_scores_evaluator_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['calibration_items.id'], name=op.f('fk_calibration_scores_item_id_calibration_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_scores')),
    sa.UniqueConstraint('item_id', 'evaluator_id', name=op.f('uq_calibration_scores_item_id_evaluator_id'))
    )
    with op.batch_alter_table('calibration_scores', schema=None) as batch_op:
        batch_op.create_index('ix_calibration_scores_evaluator', ['evaluator_id', 'submitted_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calibration_scores', schema=None) as batch_op:
        batch_op.drop_index('ix_calibration_scores_evaluator')

    op.drop_table('calibration_scores')
    with op.batch_alter_table('calibration_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_participants_user_id'))

    op.drop_table('calibration_participants')
    op.drop_table('calibration_items')
    with op.batch_alter_table('calibration_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calibration_sessions_team_id'))

    op.drop_table('calibration_sessions')
