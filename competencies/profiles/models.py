"""Role profiles, who holds them, and assessments of agents' competencies."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competencies.frameworks.models import CompetencyFramework
from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow


class ProfileKind(enum.StrEnum):
    ROLE = "role"  # what a role needs: new agent, agent, senior agent, team lead, QA evaluator
    QUEUE = "queue"  # extra requirements of a queue an agent works on
    CLIENT = "client"  # extra requirements of a client an agent serves


class AssessmentMethod(enum.StrEnum):
    OBSERVATION = "observation"
    QA_EVIDENCE = "qa_evidence"
    TEST = "test"
    CERTIFICATE = "certificate"


class CompetencyProfile(Base):
    """The minimum level of each competency (by code) that a role, a queue or a client needs."""

    __tablename__ = "competency_profiles"
    __table_args__ = (UniqueConstraint("framework_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("competency_frameworks.id"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    requirements: Mapped[dict] = mapped_column(JSON)  # competency code -> minimum level
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    framework: Mapped[CompetencyFramework] = relationship()
    members: Mapped[list[ProfileMember]] = relationship(back_populates="profile",
                                                        cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def label(self) -> str:
        return self.name if self.kind == ProfileKind.ROLE.value else f"{self.kind}: {self.name}"


class ProfileMember(Base):
    """An agent holds a profile: their role's, and those of the queues and clients they serve."""

    __tablename__ = "competency_profile_members"

    profile_id: Mapped[int] = mapped_column(
        ForeignKey("competency_profiles.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    assigned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    profile: Mapped[CompetencyProfile] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class Assessment(Base):
    """An agent's level on one competency as an assessor judged it on a day. Never changed:
    a new judgement is a new row, so the history shows how the agent developed."""

    __tablename__ = "competency_assessments"
    __table_args__ = (Index("ix_competency_assessments_user_code", "user_id", "competency_code",
                            "assessed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    framework_id: Mapped[int] = mapped_column(ForeignKey("competency_frameworks.id"))
    competency_code: Mapped[str] = mapped_column(String(32))
    level: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(16))
    evidence: Mapped[str] = mapped_column(Text, default="")  # a link or a note
    # What QA evidence suggested when the assessor decided, and why they differed from it.
    suggested_level: Mapped[int | None] = mapped_column(Integer)
    override_reason: Mapped[str] = mapped_column(Text, default="")
    assessor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    assessor: Mapped[User | None] = relationship(foreign_keys=[assessor_id])
