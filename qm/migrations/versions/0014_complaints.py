"""The complaint register: complaints, the interactions they are about, and the site's holidays
(issue 16).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-10 10:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint([column], [f'{target}.id'], ondelete=ondelete,
                                   name=op.f(f'fk_{table}_{column}_{target}'))


def upgrade() -> None:
    op.create_table(
        'complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_ref', sa.String(length=100), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=24), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('received_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('acknowledged_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('responded_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('escalated_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('escalation_reason', sa.Text(), nullable=False),
        sa.Column('escalation_answered_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('escalation_answer', sa.Text(), nullable=False),
        sa.Column('resolved_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=False),
        sa.Column('root_cause', sa.String(length=24), nullable=True),
        sa.Column('closed_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('reopened_at', qm.db.UTCDateTime(), nullable=True),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        _fk('complaints', 'owner_id', 'users'),
        _fk('complaints', 'created_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        for column in ('customer_ref', 'category', 'status', 'owner_id', 'received_at',
                       'resolved_at'):
            batch_op.create_index(batch_op.f(f'ix_complaints_{column}'), [column], unique=False)
    op.create_table(
        'complaint_interactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('interaction_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=True),
        sa.Column('added_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('added_by_id', sa.Integer(), nullable=True),
        _fk('complaint_interactions', 'complaint_id', 'complaints', 'CASCADE'),
        _fk('complaint_interactions', 'interaction_id', 'interactions'),
        _fk('complaint_interactions', 'agent_id', 'users'),
        _fk('complaint_interactions', 'team_id', 'teams'),
        _fk('complaint_interactions', 'added_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_interactions')),
        sa.UniqueConstraint('complaint_id', 'interaction_id',
                            name=op.f('uq_complaint_interactions_complaint_id_interaction_id')),
    )
    with op.batch_alter_table('complaint_interactions', schema=None) as batch_op:
        for column in ('complaint_id', 'interaction_id', 'team_id'):
            batch_op.create_index(batch_op.f(f'ix_complaint_interactions_{column}'), [column],
                                  unique=False)
    op.create_table(
        'holidays',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_at', qm.db.UTCDateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        _fk('holidays', 'created_by_id', 'users'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_holidays')),
        sa.UniqueConstraint('day', name=op.f('uq_holidays_day')),
    )


def downgrade() -> None:
    op.drop_table('holidays')
    with op.batch_alter_table('complaint_interactions', schema=None) as batch_op:
        for column in ('team_id', 'interaction_id', 'complaint_id'):
            batch_op.drop_index(batch_op.f(f'ix_complaint_interactions_{column}'))
    op.drop_table('complaint_interactions')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        for column in ('resolved_at', 'received_at', 'owner_id', 'status', 'category',
                       'customer_ref'):
            batch_op.drop_index(batch_op.f(f'ix_complaints_{column}'))
    op.drop_table('complaints')
