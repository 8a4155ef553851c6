"""Notices of a change (policy, procedure, product, client rules) and who received them
(ISO 18295-1 6.5).

A notice is written as a draft, then published: its audience is resolved to users at that
moment and stored as recipients, and its title and text are frozen (a correction is a new
notice). Each recipient acknowledges it once; a withdrawn notice asks nobody any more.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow


class NoticeCategory(enum.StrEnum):
    POLICY = "policy"
    PROCEDURE = "procedure"
    PRODUCT = "product"
    CLIENT = "client"
    OTHER = "other"


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class Notice(Base):
    """A change communicated to employees: a draft until published, then frozen."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Plain text: shown with its line breaks, never as HTML.
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(16))
    # The day by which recipients are asked to acknowledge it (None: no deadline).
    acknowledge_by: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The audience as chosen at publication (all agents, team, profile and user ids): what the
    # recipients were resolved from, shown on the notice's page.
    audience: Mapped[dict | None] = mapped_column(JSON)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    recipients: Mapped[list[NoticeRecipient]] = relationship(
        back_populates="notice", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def status(self) -> str:
        if self.withdrawn_at is not None:
            return NoticeStatus.WITHDRAWN.value
        if self.published_at is not None:
            return NoticeStatus.PUBLISHED.value
        return NoticeStatus.DRAFT.value

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class NoticeRecipient(Base):
    """A user a notice was sent to, and when they acknowledged it (None: not yet)."""

    __tablename__ = "notice_recipients"

    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    notice: Mapped[Notice] = relationship(back_populates="recipients")
    user: Mapped[User] = relationship()

    # The scope of a recipient row for permission checks: the recipient, and their team.
    @property
    def scope_owner_id(self) -> int:
        return self.user_id

    @property
    def scope_team_id(self) -> int | None:
        return self.user.team_id
