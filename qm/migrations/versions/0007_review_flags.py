"""Flagging: trained models (kept whole) and their verdicts, one per interaction and model.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 03:54:42.239178
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('flagging_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('examples', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flagging_models')),
    sa.UniqueConstraint('version', name=op.f('uq_flagging_models_version'))
    )
    op.create_table('review_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('probability', sa.Float(), nullable=False),
    sa.Column('flagged', sa.Boolean(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_review_flags_interaction_id_interactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_flags'))
    )
    with op.batch_alter_table('review_flags', schema=None) as batch_op:
        batch_op.create_index('ix_review_flags_model_flagged', ['model_version', 'flagged'], unique=False)
        batch_op.create_index('uq_review_flags_interaction_model', ['interaction_id', 'model_version'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('review_flags', schema=None) as batch_op:
        batch_op.drop_index('uq_review_flags_interaction_model')
        batch_op.drop_index('ix_review_flags_model_flagged')

    op.drop_table('review_flags')
    op.drop_table('flagging_models')
