"""Named flags (issue 16): flags, their versions (rule parameters or a trained classifier with
its SHA-256), what fired on which interaction, and evaluators' verdicts.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 00:30:36
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('opens_complaint', sa.Boolean(), nullable=False),
    sa.Column('speakers', sa.JSON(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('target_value', sa.Float(), nullable=True),
    sa.Column('active_number', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags')),
    sa.UniqueConstraint('name', name=op.f('uq_flags_name'))
    )
    op.create_table('flag_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('payload', sa.LargeBinary(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('activated_at', qm.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_flag_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['flag_id'], ['flags.id'], name=op.f('fk_flag_versions_flag_id_flags')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_versions'))
    )
    with op.batch_alter_table('flag_versions', schema=None) as batch_op:
        batch_op.create_index('uq_flag_versions_flag_number', ['flag_id', 'number'], unique=True)

    op.create_table('flag_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_flag_results_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['version_id'], ['flag_versions.id'], name=op.f('fk_flag_results_version_id_flag_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_results'))
    )
    with op.batch_alter_table('flag_results', schema=None) as batch_op:
        batch_op.create_index('ix_flag_results_version_score', ['version_id', 'score'], unique=False)
        batch_op.create_index('uq_flag_results_interaction_version', ['interaction_id', 'version_id'], unique=True)

    op.create_table('flag_verdicts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('version_id', sa.Integer(), nullable=True),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_flag_verdicts_actor_id_users')),
    sa.ForeignKeyConstraint(['flag_id'], ['flags.id'], name=op.f('fk_flag_verdicts_flag_id_flags')),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_flag_verdicts_interaction_id_interactions')),
    sa.ForeignKeyConstraint(['version_id'], ['flag_versions.id'], name=op.f('fk_flag_verdicts_version_id_flag_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_verdicts'))
    )
    with op.batch_alter_table('flag_verdicts', schema=None) as batch_op:
        batch_op.create_index('ix_flag_verdicts_flag', ['flag_id', 'verdict'], unique=False)
        batch_op.create_index('uq_flag_verdicts_interaction_flag', ['interaction_id', 'flag_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('flag_verdicts', schema=None) as batch_op:
        batch_op.drop_index('uq_flag_verdicts_interaction_flag')
        batch_op.drop_index('ix_flag_verdicts_flag')

    op.drop_table('flag_verdicts')
    with op.batch_alter_table('flag_results', schema=None) as batch_op:
        batch_op.drop_index('uq_flag_results_interaction_version')
        batch_op.drop_index('ix_flag_results_version_score')

    op.drop_table('flag_results')
    with op.batch_alter_table('flag_versions', schema=None) as batch_op:
        batch_op.drop_index('uq_flag_versions_flag_number')

    op.drop_table('flag_versions')
    op.drop_table('flags')
