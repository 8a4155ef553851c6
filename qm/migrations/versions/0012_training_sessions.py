"""Training sessions (a course delivered on a day) and their attendees (ISO 18295-1 6.4).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], ondelete=ondelete,
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade() -> None:
    op.create_table(
        'training_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column('trainer', sa.String(length=120), nullable=False),
        sa.Column('location', sa.String(length=120), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=True),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('training_sessions', 'course_id', 'courses'),
        _fk('training_sessions', 'created_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions')),
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_sessions_course_id'), ['course_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_training_sessions_held_on'), ['held_on'],
                              unique=False)
    op.create_table(
        'training_session_attendees',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('result', sa.String(length=40), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=True),
        sa.Column('enrolled_at', qm.db.UTCDateTime(), nullable=False),
        _fk('training_session_attendees', 'session_id', 'training_sessions', 'CASCADE'),
        _fk('training_session_attendees', 'user_id', 'users'),
        _fk('training_session_attendees', 'record_id', 'training_records'),
        sa.PrimaryKeyConstraint('session_id', 'user_id',
                                name=op.f('pk_training_session_attendees')),
    )
    with op.batch_alter_table('training_session_attendees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_session_attendees_user_id'), ['user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_session_attendees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_session_attendees_user_id'))
    op.drop_table('training_session_attendees')
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_sessions_held_on'))
        batch_op.drop_index(batch_op.f('ix_training_sessions_course_id'))
    op.drop_table('training_sessions')
