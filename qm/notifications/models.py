"""A notice to one user (what happened, where to look) and each user's choice of e-mail.

A notice's ``mail`` says where it stands in the outbox: ``pending`` (to be mailed, alone or in
the next digest), ``sent`` (the SMTP server accepted it), ``none`` (not to be mailed: the user
chose no e-mail, or has no address) or ``failed`` (refused too many times; the last reason is
kept). It is decided when the notice is made, so a user who turns e-mail on later is not sent
the backlog of months.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from qm.auth.models import User
from qm.db import Base, UTCDateTime, utcnow


class EmailChoice(enum.StrEnum):
    IMMEDIATE = "immediate"  # each notice in its own e-mail, at the next send
    DIGEST = "digest"  # one e-mail a day with everything since the last one
    NONE = "none"  # in the app only


class MailState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    NONE = "none"
    FAILED = "failed"


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # the page, newest first (keyset on id), and the bell's count of unread
        Index("ix_notifications_user_list", "user_id", "id"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # What happened, by a stable name ("evaluation.released"): for filtering and e-mail subjects.
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(String(500))
    # A path inside the site ("/evaluations/12"); an e-mail puts the site's address before it.
    link: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The outbox (see the module's docstring); indexed: the send command reads the pending.
    mail: Mapped[str] = mapped_column(String(8), default=MailState.PENDING.value, index=True)
    emailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_error: Mapped[str] = mapped_column(String(500), default="")

    user: Mapped[User] = relationship()

    @property
    def unread(self) -> bool:
        return self.read_at is None


class NotificationSettings(Base):
    """A user's choice of e-mail; no row: the site's default (at once where e-mail is set up)."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    email: Mapped[str] = mapped_column(String(16), default=EmailChoice.IMMEDIATE.value)
    # When the last digest went out: one a day, in the user's time zone.
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
