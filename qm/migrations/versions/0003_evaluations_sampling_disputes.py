"""evaluations, sampling, disputes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:20:54.178616
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sampling_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('queue', sa.String(length=100), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('per_agent', sa.Integer(), nullable=False),
    sa.Column('evaluator_daily_cap', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['scoring_forms.id'], name=op.f('fk_sampling_rules_form_id_scoring_forms')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_sampling_rules_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sampling_rules')),
    sa.UniqueConstraint('name', name=op.f('uq_sampling_rules_name'))
    )
    op.create_table('evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=True),
    sa.Column('evaluator_id', sa.Integer(), nullable=False),
    sa.Column('form_version_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('critical_fail', sa.Boolean(), nullable=False),
    sa.Column('critical_reasons', sa.JSON(), nullable=False),
    sa.Column('section_scores', sa.JSON(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('sampling_rule_id', sa.Integer(), nullable=True),
    sa.Column('sample_week', sa.String(length=8), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('released_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('released_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('acknowledgement', sa.Text(), nullable=False),
    sa.Column('dispute_count', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_evaluations_agent_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_evaluations_created_by_id_users')),
    sa.ForeignKeyConstraint(['evaluator_id'], ['users.id'], name=op.f('fk_evaluations_evaluator_id_users')),
    sa.ForeignKeyConstraint(['form_version_id'], ['form_versions.id'], name=op.f('fk_evaluations_form_version_id_form_versions')),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_evaluations_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['released_by_id'], ['users.id'], name=op.f('fk_evaluations_released_by_id_users')),
    sa.ForeignKeyConstraint(['sampling_rule_id'], ['sampling_rules.id'], name=op.f('fk_evaluations_sampling_rule_id_sampling_rules')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_evaluations_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluations'))
    )
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.create_index('ix_evaluations_agent_submitted', ['agent_id', 'submitted_at'], unique=False, postgresql_include=['status', 'score', 'critical_fail', 'team_id'])
        batch_op.create_index(batch_op.f('ix_evaluations_interaction_id'), ['interaction_id'], unique=True)
        batch_op.create_index('ix_evaluations_queue', ['evaluator_id', 'status', 'due_on', 'id'], unique=False)
        batch_op.create_index('ix_evaluations_rule_week', ['sampling_rule_id', 'sample_week', 'agent_id'], unique=False)
        batch_op.create_index('ix_evaluations_status_submitted', ['status', 'submitted_at'], unique=False)
        batch_op.create_index('ix_evaluations_team_submitted', ['team_id', 'submitted_at'], unique=False, postgresql_include=['agent_id', 'status', 'score'])

    op.create_table('disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('raised_by_id', sa.Integer(), nullable=False),
    sa.Column('raised_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_disputes_decided_by_id_users')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_disputes_evaluation_id_evaluations')),
    sa.ForeignKeyConstraint(['raised_by_id'], ['users.id'], name=op.f('fk_disputes_raised_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disputes')),
    sa.UniqueConstraint('evaluation_id', 'number', name=op.f('uq_disputes_evaluation_id_number'))
    )
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.create_index('ix_disputes_status', ['status', 'raised_at'], unique=False)

    op.create_table('evaluation_answers',
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('question_key', sa.String(length=64), nullable=False),
    sa.Column('section_key', sa.String(length=64), nullable=False),
    sa.Column('earned', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('possible', sa.Numeric(precision=9, scale=4), nullable=False),
    sa.Column('failed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_answers_evaluation_id_evaluations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('evaluation_id', 'question_key', name=op.f('pk_evaluation_answers'))
    )
    with op.batch_alter_table('evaluation_answers', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_answers_question', ['question_key'], unique=False)

    op.create_table('evaluation_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('evaluation_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('form_version_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('critical_fail', sa.Boolean(), nullable=False),
    sa.Column('critical_reasons', sa.JSON(), nullable=False),
    sa.Column('section_scores', sa.JSON(), nullable=False),
    sa.Column('dispute_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_evaluation_revisions_author_id_users')),
    sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id'], name=op.f('fk_evaluation_revisions_dispute_id_disputes')),
    sa.ForeignKeyConstraint(['evaluation_id'], ['evaluations.id'], name=op.f('fk_evaluation_revisions_evaluation_id_evaluations')),
    sa.ForeignKeyConstraint(['form_version_id'], ['form_versions.id'], name=op.f('fk_evaluation_revisions_form_version_id_form_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_revisions')),
    sa.UniqueConstraint('evaluation_id', 'number', name=op.f('uq_evaluation_revisions_evaluation_id_number'))
    )


def downgrade() -> None:
    op.drop_table('evaluation_revisions')
    with op.batch_alter_table('evaluation_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluation_answers_question')

    op.drop_table('evaluation_answers')
    with op.batch_alter_table('disputes', schema=None) as batch_op:
        batch_op.drop_index('ix_disputes_status')

    op.drop_table('disputes')
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluations_team_submitted')
        batch_op.drop_index('ix_evaluations_status_submitted')
        batch_op.drop_index('ix_evaluations_rule_week')
        batch_op.drop_index('ix_evaluations_queue')
        batch_op.drop_index(batch_op.f('ix_evaluations_interaction_id'))
        batch_op.drop_index('ix_evaluations_agent_submitted')

    op.drop_table('evaluations')
    op.drop_table('sampling_rules')
