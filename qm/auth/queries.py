"""Every write about people and access. Functions take ``(session, actor, ...)`` and flush."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qm.auth.models import Team, User
from qm.auth.permissions import can
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


def visible_teams(session: Session, actor: object) -> list[Team]:
    """The teams ``actor`` may see, by name: what a page's team filter offers."""
    return [t for t in session.scalars(select(Team).order_by(Team.name))
            if can(actor, "team.view", t)]
