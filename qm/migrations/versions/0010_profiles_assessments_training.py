"""Role profiles and who holds them, assessments of agents' competencies, courses and training
records (ISO 18295-1 6.3 and 6.4).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], ondelete=ondelete,
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade() -> None:
    op.create_table(
        'competency_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('framework_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('requirements', sa.JSON(), nullable=False),
        sa.Column('updated_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('competency_profiles', 'framework_id', 'competency_frameworks'),
        _fk('competency_profiles', 'updated_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_competency_profiles')),
        sa.UniqueConstraint('framework_id', 'kind', 'name',
                            name=op.f('uq_competency_profiles_framework_id_kind_name')),
    )
    op.create_table(
        'competency_profile_members',
        sa.Column('profile_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('assigned_at', qm.db.UTCDateTime(), nullable=False),
        _fk('competency_profile_members', 'profile_id', 'competency_profiles', 'CASCADE'),
        _fk('competency_profile_members', 'user_id', 'users'),
        sa.PrimaryKeyConstraint('profile_id', 'user_id',
                                name=op.f('pk_competency_profile_members')),
    )
    with op.batch_alter_table('competency_profile_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competency_profile_members_user_id'), ['user_id'],
                              unique=False)
    op.create_table(
        'competency_assessments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('framework_id', sa.Integer(), nullable=False),
        sa.Column('competency_code', sa.String(length=32), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('assessed_on', sa.Date(), nullable=False),
        sa.Column('method', sa.String(length=16), nullable=False),
        sa.Column('evidence', sa.Text(), nullable=False),
        sa.Column('suggested_level', sa.Integer(), nullable=True),
        sa.Column('override_reason', sa.Text(), nullable=False),
        sa.Column('assessor_id', sa.Integer(), nullable=True),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        _fk('competency_assessments', 'user_id', 'users'),
        _fk('competency_assessments', 'framework_id', 'competency_frameworks'),
        _fk('competency_assessments', 'assessor_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_competency_assessments')),
    )
    with op.batch_alter_table('competency_assessments', schema=None) as batch_op:
        batch_op.create_index('ix_competency_assessments_user_code',
                              ['user_id', 'competency_code', 'assessed_on'], unique=False)
    op.create_table(
        'courses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('refresh_months', sa.Integer(), nullable=True),
        sa.Column('competencies', sa.JSON(), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_courses')),
        sa.UniqueConstraint('name', name=op.f('uq_courses_name')),
    )
    op.create_table(
        'training_records',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('course_id', sa.Integer(), nullable=False),
        sa.Column('completed_on', sa.Date(), nullable=False),
        sa.Column('result', sa.String(length=40), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('certificate', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        _fk('training_records', 'user_id', 'users'),
        _fk('training_records', 'course_id', 'courses'),
        _fk('training_records', 'created_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_training_records')),
        sa.UniqueConstraint('user_id', 'course_id', 'completed_on',
                            name=op.f('uq_training_records_user_id_course_id_completed_on')),
    )
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_records_course_id'), ['course_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('training_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_records_course_id'))
    op.drop_table('training_records')
    op.drop_table('courses')
    with op.batch_alter_table('competency_assessments', schema=None) as batch_op:
        batch_op.drop_index('ix_competency_assessments_user_code')
    op.drop_table('competency_assessments')
    with op.batch_alter_table('competency_profile_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competency_profile_members_user_id'))
    op.drop_table('competency_profile_members')
    op.drop_table('competency_profiles')
