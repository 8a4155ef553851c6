"""Every write about people and access. Functions take ``(session, actor, ...)`` and flush."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, select
from sqlalchemy.orm import Session

from qm.auth.models import Team, User
from qm.auth.permissions import ALL, TEAM, scope_for
from qm.errors import NotFound


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("User", user_id)
    return user


def get_team(session: Session, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise NotFound("Team", team_id)
    return team


def find_user(session: Session, username_or_email: str) -> User | None:
    key = username_or_email.strip().lower()
    return session.scalar(select(User).where((User.username == key) | (User.email == key)))


def visible_teams(session: Session, actor: Any) -> list[Team]:
    """The teams ``actor`` may see, by name: what a page's team filter offers. The scope is
    the database's to apply (``can`` for each team, in SQL): a lead is sent the teams they
    lead, not every team to sift."""
    scope = scope_for(actor, "team.view")
    if scope is None:
        return []
    stmt = select(Team).order_by(Team.name)
    if scope is not ALL:  # a team has no owner: TEAM scope is the teams led, OWN none
        led = sorted(actor.led_team_ids) if scope is TEAM else []
        stmt = stmt.where(Team.id.in_(led) if led else false())
    return list(session.scalars(stmt))
