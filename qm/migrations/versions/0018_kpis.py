"""Operational KPIs (issue 18): a team's daily figures per queue and channel, as raw sums.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import qm.db

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kpi_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('queue', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('offered', sa.Integer(), nullable=True),
    sa.Column('answered', sa.Integer(), nullable=True),
    sa.Column('abandoned', sa.Integer(), nullable=True),
    sa.Column('wait_seconds', sa.BigInteger(), nullable=True),
    sa.Column('handled', sa.Integer(), nullable=True),
    sa.Column('handle_seconds', sa.BigInteger(), nullable=True),
    sa.Column('contacts', sa.Integer(), nullable=True),
    sa.Column('resolved_first', sa.Integer(), nullable=True),
    sa.Column('csat_responses', sa.Integer(), nullable=True),
    sa.Column('csat_satisfied', sa.Integer(), nullable=True),
    sa.Column('csat_score_sum', sa.Integer(), nullable=True),
    sa.Column('nps_promoters', sa.Integer(), nullable=True),
    sa.Column('nps_passives', sa.Integer(), nullable=True),
    sa.Column('nps_detractors', sa.Integer(), nullable=True),
    sa.Column('imported_at', qm.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_kpi_records_team_id_teams')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kpi_records')),
    sa.UniqueConstraint('day', 'team_id', 'queue', 'channel', name=op.f('uq_kpi_records_day_team_id_queue_channel'))
    )
    with op.batch_alter_table('kpi_records', schema=None) as batch_op:
        batch_op.create_index('ix_kpi_records_team_day', ['team_id', 'day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('kpi_records', schema=None) as batch_op:
        batch_op.drop_index('ix_kpi_records_team_day')

    op.drop_table('kpi_records')
