"""transcripts

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:40:06.766759
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('transcription_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('path', sa.String(length=1000), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('worker', sa.String(length=200), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.Column('started_at', qm.db.UTCDateTime(), nullable=True),
    sa.Column('finished_at', qm.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_transcription_jobs_interaction_id_interactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcription_jobs')),
    sa.UniqueConstraint('sha256', name=op.f('uq_transcription_jobs_sha256'))
    )
    with op.batch_alter_table('transcription_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_transcription_jobs_status', ['status', 'id'], unique=False)

    op.create_table('transcripts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('audio_sha256', sa.String(length=64), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('model', sa.String(length=300), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raw_text', sa.Text(), nullable=True),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('redactions', sa.JSON(), nullable=False),
    sa.Column('warnings', sa.JSON(), nullable=False),
    sa.Column('processing_s', sa.Float(), nullable=False),
    sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], name=op.f('fk_transcripts_interaction_id_interactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcripts')),
    sa.UniqueConstraint('interaction_id', name=op.f('uq_transcripts_interaction_id'))
    )
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcripts_audio_sha256'), ['audio_sha256'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcripts_audio_sha256'))

    op.drop_table('transcripts')
    with op.batch_alter_table('transcription_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_transcription_jobs_status')

    op.drop_table('transcription_jobs')
