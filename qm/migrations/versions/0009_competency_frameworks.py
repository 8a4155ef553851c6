"""Competency frameworks (ISO 18295-1 6.3) and their versions.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 14:10:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'competency_frameworks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_competency_frameworks')),
        sa.UniqueConstraint('name', name=op.f('uq_competency_frameworks_name')),
    )
    op.create_table(
        'competency_framework_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('framework_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('definition', sa.JSON(), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('published_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('published_by_id', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ['framework_id'], ['competency_frameworks.id'],
            name=op.f('fk_competency_framework_versions_framework_id_competency_frameworks')),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_competency_framework_versions_created_by_id_users')),
        sa.ForeignKeyConstraint(
            ['published_by_id'], ['users.id'],
            name=op.f('fk_competency_framework_versions_published_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_competency_framework_versions')),
        sa.UniqueConstraint('framework_id', 'number',
                            name=op.f('uq_competency_framework_versions_framework_id_number')),
    )
    with op.batch_alter_table('competency_framework_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_competency_framework_versions_framework_id'),
                              ['framework_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('competency_framework_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_competency_framework_versions_framework_id'))
    op.drop_table('competency_framework_versions')
    op.drop_table('competency_frameworks')
