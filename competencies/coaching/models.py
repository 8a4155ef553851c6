"""Coaching sessions, the action items agreed in them, and what they came from."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow


class CoachingKind(enum.StrEnum):
    ONE_TO_ONE = "one_to_one"
    SIDE_BY_SIDE = "side_by_side"
    GROUP = "group"
    ELEARNING_FOLLOW_UP = "elearning_follow_up"


class CoachingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    HELD = "held"
    CANCELLED = "cancelled"


class CoachingSource(enum.StrEnum):
    """What the session was opened from."""

    EVALUATION = "evaluation"  # one or more evaluations (their ids in ``evaluation_ids``)
    CALIBRATION = "calibration"  # a calibration finding
    GAP = "gap"  # a competency gap
    AD_HOC = "ad_hoc"


class CoachingSession(Base):
    """A lead coaching one agent on a day: the focus (form questions, competencies), notes,
    the agreed action items. The agent's team when it was opened decides who else sees it."""

    __tablename__ = "coaching_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    coach_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(16), default=CoachingStatus.SCHEDULED.value)
    planned_on: Mapped[dt.date] = mapped_column(Date, index=True)
    held_on: Mapped[dt.date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16), default=CoachingSource.AD_HOC.value)
    evaluation_ids: Mapped[list] = mapped_column(JSON, default=list)
    calibration_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("calibration_sessions.id"))
    # question keys of scoring forms, and competency codes, that the session is about
    focus_questions: Mapped[list] = mapped_column(JSON, default=list)
    focus_competencies: Mapped[list] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    agent_acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    agent_comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    coach: Mapped[User | None] = relationship(foreign_keys=[coach_id])
    actions: Mapped[list[ActionItem]] = relationship(
        back_populates="session", cascade="all, delete-orphan", order_by="ActionItem.id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def scope_owner_id(self) -> int:
        return self.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.team_id


class ActionItem(Base):
    """Something agreed in a session: who does it, by when, and when it was done."""

    __tablename__ = "coaching_action_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    due_on: Mapped[dt.date] = mapped_column(Date)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    session: Mapped[CoachingSession] = relationship(back_populates="actions")
    owner: Mapped[User] = relationship(foreign_keys=[owner_id])

    __mapper_args__ = {"version_id_col": version}

    @property
    def scope_owner_id(self) -> int:
        return self.session.agent_id

    @property
    def scope_team_id(self) -> int | None:
        return self.session.team_id
