"""The read side of coaching: the coaching log (per agent, per team) and open action items."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from competencies.coaching.models import ActionItem, CoachingSession, CoachingStatus
from qm.auth.permissions import scope_clause


def log(session: Session, actor: Any, *, agent_id: int | None = None,
        team_id: int | None = None, status: str | None = None) -> list[CoachingSession]:
    """Coaching sessions ``actor`` may see, the latest planned first, with their action items;
    narrowed to one agent, one team (the agent's team when the session was opened) or one
    status."""
    stmt = (select(CoachingSession)
            .where(scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                                CoachingSession.team_id))
            .options(selectinload(CoachingSession.actions), selectinload(CoachingSession.agent))
            .order_by(CoachingSession.planned_on.desc(), CoachingSession.id.desc()))
    if agent_id is not None:
        stmt = stmt.where(CoachingSession.agent_id == agent_id)
    if team_id is not None:
        stmt = stmt.where(CoachingSession.team_id == team_id)
    if status is not None:
        stmt = stmt.where(CoachingSession.status == status)
    return list(session.scalars(stmt))


def open_actions(session: Session, actor: Any, *, as_of: dt.date,
                 overdue_only: bool = False) -> list[ActionItem]:
    """Action items not done yet, of sessions not cancelled, that ``actor`` may see (or that
    ``actor`` owns), the earliest due first; ``overdue_only``: due before ``as_of``."""
    stmt = (select(ActionItem).join(CoachingSession)
            .where(ActionItem.done_at.is_(None),
                   CoachingSession.status != CoachingStatus.CANCELLED.value,
                   scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                                CoachingSession.team_id)
                   | (ActionItem.owner_id == getattr(actor, "id", None)))
            .options(selectinload(ActionItem.session).selectinload(CoachingSession.agent),
                     selectinload(ActionItem.owner))
            .order_by(ActionItem.due_on, ActionItem.id))
    if overdue_only:
        stmt = stmt.where(ActionItem.due_on < as_of)
    return list(session.scalars(stmt))
