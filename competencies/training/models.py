"""Courses and who completed them (ISO 18295-1 6.4)."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow


class CourseKind(enum.StrEnum):
    INDUCTION = "induction"
    PRODUCT = "product"
    REFRESHER = "refresher"
    COMPLIANCE = "compliance"
    CLIENT = "client"


class RecordSource(enum.StrEnum):
    MANUAL = "manual"
    IMPORT = "import"
    SESSION = "session"  # attendance of a training session that was held


class SessionStatus(enum.StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class Attendance(enum.StrEnum):
    ENROLLED = "enrolled"  # expected; nothing recorded yet
    ATTENDED = "attended"  # took part and completed: a training record is written
    ABSENT = "absent"


class Course(Base):
    """A course: what kind it is, how often it must be refreshed (None: taken once) and the
    competency codes it develops."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    refresh_months: Mapped[int | None] = mapped_column(Integer)
    # Competency codes (strings) within the competency framework.
    competencies: Mapped[list] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    records: Mapped[list[TrainingRecord]] = relationship(back_populates="course")

    __mapper_args__ = {"version_id_col": version}


class TrainingRecord(Base):
    """One completion of a course by a user, on a date: entered by hand or imported."""

    __tablename__ = "training_records"
    __table_args__ = (UniqueConstraint("user_id", "course_id", "completed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    completed_on: Mapped[dt.date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(40), default="")
    expires_on: Mapped[dt.date | None] = mapped_column(Date)
    certificate: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(String(16), default=RecordSource.MANUAL.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    course: Mapped[Course] = relationship(back_populates="records")


class TrainingSession(Base):
    """One delivery of a course on a day: who runs it, where, for how many. Once held, the
    attendance of each enrolled person is recorded; attending writes their training record."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date, index=True)
    trainer: Mapped[str] = mapped_column(String(120), default="")
    location: Mapped[str] = mapped_column(String(120), default="")
    capacity: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.PLANNED.value)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    course: Mapped[Course] = relationship()
    attendees: Mapped[list[SessionAttendee]] = relationship(
        back_populates="session", cascade="all, delete-orphan",
        order_by="SessionAttendee.user_id")

    __mapper_args__ = {"version_id_col": version}


class SessionAttendee(Base):
    """A person enrolled on a session, and what became of it."""

    __tablename__ = "training_session_attendees"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("training_sessions.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(16), default=Attendance.ENROLLED.value)
    result: Mapped[str] = mapped_column(String(40), default="")
    # the completion that attending wrote (or found already there)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("training_records.id"))
    enrolled_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[TrainingSession] = relationship(back_populates="attendees")
    user: Mapped[User] = relationship()
