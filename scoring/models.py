from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
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


class Interaction(Base):
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
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    agent: Mapped[User] = relationship(foreign_keys=[agent_id], lazy="joined")
    team: Mapped[Team | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}

    @property
    def scope_owner_id(self) -> int:
        return self.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id

    @property
    def duration_label(self) -> str:
        minutes, seconds = divmod(self.duration_s or 0, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"

    def __repr__(self) -> str:
        return f"<Interaction {self.id} {self.source}/{self.external_id}>"


class FormStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class ScoringForm(Base):
    """A scoring form: a name over a series of versions. Evaluations point at a version."""

    __tablename__ = "scoring_forms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[FormVersion]] = relationship(
        back_populates="form", order_by="FormVersion.number"
    )

    __mapper_args__ = {"version_id_col": version}


class FormVersion(Base):
    """One version of a form. Published versions are frozen: an edit makes a new draft."""

    __tablename__ = "form_versions"
    __table_args__ = (UniqueConstraint("form_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    form_id: Mapped[int] = mapped_column(ForeignKey("scoring_forms.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=FormStatus.DRAFT.value)
    # The sections and questions, in the JSON shape of scoring.rules.form_from_dict.
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    form: Mapped[ScoringForm] = relationship(back_populates="versions")

    __mapper_args__ = {"version_id_col": version}
