"""The read side of notifications: the bell's count and a user's page of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qm.notifications.models import Notification


def unread_count(session: Session, user_id: int) -> int:
    """One COUNT on an index (user, read_at): cheap enough for every page's bell."""
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))) or 0


def unread_expression() -> Any:
    """``unread_count`` as a correlated subquery of the user's row: the request's user is
    loaded with it (``User.unread_notifications``), in the statement that loads them."""
    from qm.auth.models import User

    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == User.id, Notification.read_at.is_(None))
            .correlate(User).scalar_subquery())


@dataclass
class Page:
    rows: list[Notification]
    # the id to ask for the next (older) page with, None on the last page
    next_before: int | None


def page(session: Session, user_id: int, *, before: int | None = None,
         limit: int = 50) -> Page:
    """The user's notifications, newest first; keyset pagination, so page 100 costs what page
    1 costs."""
    stmt = select(Notification).where(Notification.user_id == user_id)
    if before is not None:
        stmt = stmt.where(Notification.id < before)
    rows = list(session.scalars(stmt.order_by(Notification.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, rows[-1].id if more else None)
