"""The shared record of the core: one contact handled by one agent (a call, a chat, an e-mail
thread), and the scoping mixins every domain's records use. Every domain reads it; none owns it."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import Team, User
from qm.db import Base, UTCDateTime, utcnow


class Channel(enum.StrEnum):
    VOICE = "voice"
    CHAT = "chat"
    EMAIL = "email"
    MESSAGING = "messaging"
    SOCIAL = "social"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    INTERNAL = "internal"


# (value, label) pairs for select fields
CHANNELS = [(c.value, c.value.capitalize()) for c in Channel]
DIRECTIONS = [(d.value, d.value.capitalize()) for d in Direction]


class AgentScoped:
    """A record of one agent's work: the agent owns it; the team they were in scopes it."""

    agent_id: int
    team_id: int | None

    @property
    def scope_owner_id(self) -> int:
        return self.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id


class TeamScoped:
    """A record that belongs to a team (or, with no team, to the site): a lead's own teams'."""

    team_id: int | None

    @property
    def scope_owner_id(self) -> None:
        return None

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id


class Interaction(AgentScoped, Base):
    """One contact handled by one agent: a call, a chat, an e-mail thread, a message."""

    __tablename__ = "interactions"
    __table_args__ = (
        # The natural key: a re-import of the same export finds the rows it already has.
        UniqueConstraint("source", "external_id"),
        # Listing newest first, whole-site, per agent and per team (keyset pagination on both).
        Index("ix_interactions_started", "started_at", "id"),
        Index("ix_interactions_agent_started", "agent_id", "started_at", "id"),
        Index("ix_interactions_team_started", "team_id", "started_at", "id"),
        Index("ix_interactions_customer_ref", "customer_ref"),
        Index("ix_interactions_external_id", "external_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(100))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The agent's team when the contact happened; kept so that a move between teams keeps history.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    channel: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(100), default="")
    direction: Mapped[str] = mapped_column(String(16), default=Direction.INBOUND.value)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    customer_ref: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str | None] = mapped_column(Text)
    recording_path: Mapped[str | None] = mapped_column(String(255))
    recording_sha256: Mapped[str | None] = mapped_column(String(64))
    recording_bytes: Mapped[int | None] = mapped_column(Integer)
    recording_type: Mapped[str | None] = mapped_column(String(64))
    # Retention: the recording is deleted once past the retention period, unless on legal hold;
    # ``recording_deleted_at`` says when (the transcript and evaluations stay).
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    recording_deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    agent: Mapped[User] = relationship(foreign_keys=[agent_id], lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def duration_label(self) -> str:
        return duration_label(self.duration_s)

    def __repr__(self) -> str:
        return f"<Interaction {self.id} {self.source}/{self.external_id}>"


def duration_label(duration_s: int | None) -> str:
    """``m:ss`` or ``h:mm:ss``; "-" while the length is not known. A duration of 0 means
    unknown (an e-mail, a recording added without its length), not a contact of no time,
    so it never reads "0:00"."""
    if not duration_s:
        return "-"
    minutes, seconds = divmod(duration_s, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
