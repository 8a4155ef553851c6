from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import (
    Mapped,
    joinedload,
    mapped_column,
    query_expression,
    relationship,
    selectinload,
)

from qm.db import Base, UTCDateTime, change_version, utcnow

team_leads = Table(
    "team_leads",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    leads: Mapped[list[User]] = relationship(
        secondary=team_leads, back_populates="led_teams", order_by="User.username"
    )
    members: Mapped[list[User]] = relationship(
        back_populates="team", foreign_keys="User.team_id", order_by="User.username"
    )

    __mapper_args__ = {"version_id_col": version}

    # The scope of a team for permission checks: a team lead's own team.
    @property
    def scope_team_id(self) -> int:
        return self.id

    @property
    def scope_owner_id(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<Team {self.id} {self.name!r}>"


class User(Base):
    __tablename__ = "users"
    __audit_exclude__ = ("password_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Bumped on password change or deactivation: every older session cookie stops working.
    auth_generation: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    team: Mapped[Team | None] = relationship(back_populates="members", foreign_keys=[team_id])
    led_teams: Mapped[list[Team]] = relationship(
        secondary=team_leads, back_populates="leads", order_by="Team.name"
    )
    # Loaded on demand: listing interactions joins their agents, and must not pay for the
    # agents' roles. Code that reads many users' roles asks for them (WITH_ACCESS).
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", order_by="UserRole.role"
    )
    grant_rows: Mapped[list[PermissionGrant]] = relationship(
        cascade="all, delete-orphan", order_by="PermissionGrant.permission"
    )
    # What the request's user is loaded with besides their columns (``with_expression``,
    # registered by other parts of the core as ``app.extensions["qm"]["user_load"]``): the
    # bell's unread count, so that every page does not ask the database for it again. None
    # when loaded without it (any other query of users).
    unread_notifications: Mapped[int | None] = query_expression()

    __mapper_args__ = {"version_id_col": version}

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(sorted(r.role for r in self.role_rows))

    @property
    def grants(self) -> tuple[str, ...]:
        return tuple(sorted(g.permission for g in self.grant_rows))

    @property
    def led_team_ids(self) -> frozenset[int]:
        return frozenset(t.id for t in self.led_teams)

    @property
    def scope_owner_id(self) -> int:
        return self.id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id

    # Flask-Login protocol, kept here so that the model needs no Flask import.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_generation}"

    @property
    def label(self) -> str:
        return f"{self.display_name} ({self.username})"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.username!r}>"


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class PermissionGrant(Base):
    """An extra permission for one user beyond their roles (e.g. HR reading evaluation comments)."""

    __tablename__ = "permission_grants"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    permission: Mapped[str] = mapped_column(String(64), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __audit_exclude__ = ("token_hash",)
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token, shown in lists so that a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def scope_owner_id(self) -> int:
        return self.user_id

    @property
    def scope_team_id(self) -> None:
        return None

    def is_usable(self, now: dt.datetime) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > now


# Loader options for code that checks the permissions of the users it loads.
WITH_ACCESS = (selectinload(User.role_rows), selectinload(User.grant_rows),
               selectinload(User.led_teams))
ONE_USER_WITH_ACCESS = (joinedload(User.role_rows), joinedload(User.grant_rows),
                        joinedload(User.led_teams))
"""WITH_ACCESS for one user, in one statement (a user has a role or two, few grants and few
teams, so the joined rows stay few): the user of every request is loaded with it, one round trip
to the database instead of four."""


def people_version() -> int:
    """A number that changes with every commit, in this process, that changed a user, a role,
    a grant or a team: a list of people kept a while (``qm.web.kept``) is built afresh then."""
    return change_version(User, UserRole, PermissionGrant, Team)
