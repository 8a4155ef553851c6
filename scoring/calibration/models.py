"""Calibration sessions, their participants, items and scores."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import Team, User
from qm.db import Base, UTCDateTime, utcnow
from qm.interactions.models import Interaction, TeamScoped
from scoring.forms.models import FormVersion


class CalibrationMode(enum.StrEnum):
    BLIND = "blind"  # nobody sees anyone else's scores until the session closes
    OPEN = "open"


class CalibrationSession(TeamScoped, Base):
    """Evaluators score the same interactions on the same form version, to see whether they
    agree. Calibration scores never reach an agent's evaluations or scorecard."""

    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    form_version_id: Mapped[int] = mapped_column(ForeignKey("form_versions.id"))
    # The team whose lead runs it (scope of calibration.manage); empty: site-wide.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8), default=CalibrationMode.BLIND.value)
    expert_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open, closed
    minutes: Mapped[str] = mapped_column(Text, default="")  # what the group agreed, overall
    # The agreement statistics, computed once at closing (the scores are frozen from then on).
    statistics: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    form_version: Mapped[FormVersion] = relationship()
    team: Mapped[Team | None] = relationship(lazy="joined")
    expert: Mapped[User | None] = relationship(foreign_keys=[expert_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    items: Mapped[list[CalibrationItem]] = relationship(
        back_populates="session", order_by="CalibrationItem.position")
    participants: Mapped[list[CalibrationParticipant]] = relationship(
        back_populates="session", order_by="CalibrationParticipant.user_id")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def participant_ids(self) -> set[int]:
        return {p.user_id for p in self.participants}


class CalibrationParticipant(Base):
    __tablename__ = "calibration_participants"

    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"),
                                            primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)

    session: Mapped[CalibrationSession] = relationship(back_populates="participants")
    user: Mapped[User] = relationship(lazy="joined")


class CalibrationItem(Base):
    """One interaction of a session, with the consensus the group agreed on after closing."""

    __tablename__ = "calibration_items"
    __table_args__ = (UniqueConstraint("session_id", "interaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("calibration_sessions.id"))
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"))
    position: Mapped[int] = mapped_column(Integer, default=1)
    consensus: Mapped[dict] = mapped_column(JSON, default=dict)  # question key -> answer
    consensus_notes: Mapped[dict] = mapped_column(JSON, default=dict)  # question key -> note
    consensus_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    version: Mapped[int] = mapped_column(Integer, default=1)

    session: Mapped[CalibrationSession] = relationship(back_populates="items")
    interaction: Mapped[Interaction] = relationship(lazy="joined")
    scores: Mapped[list[CalibrationScore]] = relationship(
        back_populates="item", order_by="CalibrationScore.evaluator_id")

    __mapper_args__ = {"version_id_col": version}


class CalibrationScore(Base):
    """One participant's scoring of one item: the same answers and rules as an evaluation."""

    __tablename__ = "calibration_scores"
    # While a session is open its scores must stay blind, the audit log included: entries say
    # that a score was saved or submitted; the closing entry records every score in full.
    __audit_exclude__ = ("answers", "notes", "comment", "score", "critical_fail",
                         "section_scores")
    __table_args__ = (UniqueConstraint("item_id", "evaluator_id"),
                      Index("ix_calibration_scores_evaluator", "evaluator_id", "submitted_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("calibration_items.id"))
    evaluator_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="draft")  # draft, submitted
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    notes: Mapped[dict] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")
    score: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    critical_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    section_scores: Mapped[dict] = mapped_column(JSON, default=dict)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    item: Mapped[CalibrationItem] = relationship(back_populates="scores")
    evaluator: Mapped[User] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}
