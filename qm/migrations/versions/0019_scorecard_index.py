"""The scorecard's read of an agent's year (id and version too) from the index alone.

The scorecard reads each released evaluation's id and version (the list links the newest,
and the weakest questions are kept by (id, version)): with both in the agent index, PostgreSQL
answers it with an index-only scan instead of visiting a heap page per evaluation (measured on
165 evaluations: 1.1-1.3 ms to 0.15-0.2 ms of execution, bench/README.md).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 19:40:00
"""
from __future__ import annotations

from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

INCLUDE = ['status', 'score', 'critical_fail', 'team_id', 'targeted']


def _index(extra: list[str]) -> None:
    with op.batch_alter_table('evaluations', schema=None) as batch_op:
        batch_op.drop_index('ix_evaluations_agent_submitted')
        batch_op.create_index('ix_evaluations_agent_submitted', ['agent_id', 'submitted_at'],
                              unique=False, postgresql_include=INCLUDE + extra)


def upgrade() -> None:
    _index(['id', 'version'])


def downgrade() -> None:
    _index([])
