"""The read side of notices: what was sent to someone, the notices one may follow with their
acknowledged counts, and the acknowledgements outstanding per team and per person.

Whose acknowledgements a viewer sees follows ``notice.view`` on the recipients: HR, admins and
auditors everyone, a lead their teams (and themselves), anyone else themselves.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, joinedload

from competencies.notices.models import Notice, NoticeRecipient
from qm.auth.models import Team, User
from qm.auth.permissions import ALL, can, scope_clause, scope_for

VIEW = "notice.view"
NO_TEAM = "(no team)"


def _in_scope(actor: Any) -> Any:
    return scope_clause(actor, VIEW, User.id, User.team_id)


def sees_all(actor: Any) -> bool:
    return scope_for(actor, VIEW) is ALL


def follows_others(actor: Any) -> bool:
    """Whether the actor follows other people's acknowledgements (HR, admins, auditors, leads),
    not only their own."""
    scope = scope_for(actor, VIEW)
    return scope is not None and (scope is ALL or bool(getattr(actor, "led_team_ids", ())))


# --- one person's notices ---------------------------------------------------------------------


@dataclass(frozen=True)
class MyNotice:
    notice: Notice
    acknowledged_at: dt.datetime | None

    @property
    def to_acknowledge(self) -> bool:
        return self.acknowledged_at is None and self.notice.withdrawn_at is None

    def overdue(self, as_of: dt.date) -> bool:
        deadline = self.notice.acknowledge_by
        return self.to_acknowledge and deadline is not None and as_of > deadline


def notices_for(session: Session, user: Any) -> list[MyNotice]:
    """The notices sent to ``user``: those still to acknowledge first (earliest deadline
    first), then the rest, newest first; withdrawn ones last."""
    rows = session.execute(
        select(Notice, NoticeRecipient.acknowledged_at)
        .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
        .where(NoticeRecipient.user_id == user.id, Notice.published_at.is_not(None)))
    found = [MyNotice(notice, at) for notice, at in rows]
    far = dt.date.max
    found.sort(key=lambda m: (not m.to_acknowledge, m.notice.withdrawn_at is not None,
                              (m.notice.acknowledge_by or far) if m.to_acknowledge else far,
                              -m.notice.published_at.timestamp(), m.notice.id))
    return found


def to_acknowledge_count(session: Session, user: Any) -> int:
    """How many notices sent to ``user`` still wait for their acknowledgement."""
    if getattr(user, "id", None) is None:
        return 0
    return session.scalar(
        select(func.count()).select_from(NoticeRecipient)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .where(NoticeRecipient.user_id == user.id, NoticeRecipient.acknowledged_at.is_(None),
               Notice.published_at.is_not(None), Notice.withdrawn_at.is_(None))) or 0


# --- notices one follows ----------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeCounts:
    """A notice with its recipients and acknowledgements among those the viewer sees."""

    notice: Notice
    recipients: int
    acknowledged: int

    @property
    def outstanding(self) -> int:
        return 0 if self.notice.withdrawn_at is not None else self.recipients - self.acknowledged


def overview(session: Session, actor: Any) -> list[NoticeCounts]:
    """The notices the actor follows, newest first, drafts on top, with counts among the
    recipients in their scope: every notice for HR, admins and auditors; for others the
    published notices with at least one recipient they see."""
    acked = func.sum(case((NoticeRecipient.acknowledged_at.is_not(None), 1), else_=0))
    counts = (select(NoticeRecipient.notice_id,
                     func.count(NoticeRecipient.user_id).label("recipients"),
                     acked.label("acknowledged"))
              .join(User, User.id == NoticeRecipient.user_id)
              .where(_in_scope(actor))
              .group_by(NoticeRecipient.notice_id).subquery())
    stmt = select(Notice, counts.c.recipients, counts.c.acknowledged)
    if sees_all(actor):
        stmt = stmt.outerjoin(counts, counts.c.notice_id == Notice.id)
    else:
        stmt = stmt.join(counts, counts.c.notice_id == Notice.id).where(
            Notice.published_at.is_not(None))
    stmt = stmt.order_by(Notice.published_at.is_not(None), Notice.published_at.desc(),
                         Notice.id.desc())
    return [NoticeCounts(notice, recipients or 0, int(acknowledged or 0))
            for notice, recipients, acknowledged in session.execute(stmt)]


def visible_notice(session: Session, actor: Any, notice_id: int) -> Notice | None:
    """Notice ``notice_id`` if the actor may read it: any for HR, admins and auditors (drafts
    included); a published one sent to them or, for a lead, to someone of their teams."""
    notice = session.get(Notice, notice_id)
    if notice is None or sees_all(actor) or can(actor, "notice.manage"):
        return notice
    if notice.is_draft:
        return None
    seen = session.scalar(
        select(NoticeRecipient.user_id).join(User, User.id == NoticeRecipient.user_id)
        .where(NoticeRecipient.notice_id == notice.id, _in_scope(actor)).limit(1))
    return notice if seen is not None else None


def recipients(session: Session, actor: Any, notice_id: int) -> list[NoticeRecipient]:
    """The notice's recipients the actor sees: not yet acknowledged first, then by name."""
    return list(session.scalars(
        select(NoticeRecipient).join(User, User.id == NoticeRecipient.user_id)
        .where(NoticeRecipient.notice_id == notice_id, _in_scope(actor))
        .options(joinedload(NoticeRecipient.user).joinedload(User.team))
        .order_by(NoticeRecipient.acknowledged_at.is_not(None), User.display_name,
                  User.username)))


def recipient(session: Session, notice_id: int, user_id: int) -> NoticeRecipient | None:
    return session.get(NoticeRecipient, (notice_id, user_id))


# --- outstanding acknowledgements -------------------------------------------------------------


@dataclass(frozen=True)
class TeamRow:
    """One notice in one team: how many received it, acknowledged it, have not yet, and of
    those how many are past the deadline."""

    team_id: int | None
    team: str
    notice_id: int
    title: str
    acknowledge_by: dt.date | None
    recipients: int
    acknowledged: int
    outstanding: int
    overdue: int

    def as_dict(self) -> dict[str, Any]:
        return {"team_id": self.team_id, "team": self.team, "notice_id": self.notice_id,
                "title": self.title,
                "acknowledge_by": self.acknowledge_by.isoformat() if self.acknowledge_by
                else None,
                "recipients": self.recipients, "acknowledged": self.acknowledged,
                "outstanding": self.outstanding, "overdue": self.overdue}


@dataclass(frozen=True)
class PersonRow:
    """One acknowledgement someone still owes."""

    user_id: int
    username: str
    display_name: str
    team: str
    notice_id: int
    title: str
    published_at: dt.datetime
    acknowledge_by: dt.date | None
    overdue: bool

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "username": self.username,
                "display_name": self.display_name, "team": self.team,
                "notice_id": self.notice_id, "title": self.title,
                "published_at": self.published_at.isoformat(),
                "acknowledge_by": self.acknowledge_by.isoformat() if self.acknowledge_by
                else None,
                "overdue": self.overdue}


def _open(actor: Any, team_id: int | None, notice_id: int | None) -> list[Any]:
    """Recipients of published, not withdrawn notices whom the actor sees."""
    where = [Notice.published_at.is_not(None), Notice.withdrawn_at.is_(None), _in_scope(actor)]
    if team_id is not None:
        where.append(User.team_id == team_id)
    if notice_id is not None:
        where.append(Notice.id == notice_id)
    return where


def outstanding_by_team(session: Session, actor: Any, *, as_of: dt.date,
                        team_id: int | None = None,
                        notice_id: int | None = None) -> list[TeamRow]:
    """Per team and notice (published, not withdrawn), among the recipients the actor sees:
    recipients, acknowledged, outstanding, and overdue (outstanding after the deadline, when
    ``as_of`` is past it). Rows with something outstanding first, then by team and notice."""
    pending = NoticeRecipient.acknowledged_at.is_(None)
    late = and_(pending, Notice.acknowledge_by.is_not(None), Notice.acknowledge_by < as_of)
    stmt = (
        select(User.team_id, Team.name, Notice.id, Notice.title, Notice.acknowledge_by,
               func.count(NoticeRecipient.user_id),
               func.sum(case((pending, 1), else_=0)),
               func.sum(case((late, 1), else_=0)))
        .select_from(NoticeRecipient)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .join(User, User.id == NoticeRecipient.user_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(*_open(actor, team_id, notice_id))
        .group_by(User.team_id, Team.name, Notice.id, Notice.title, Notice.acknowledge_by))
    rows = [TeamRow(team, name or NO_TEAM, nid, title, deadline, total,
                    total - int(open_ or 0), int(open_ or 0), int(late_ or 0))
            for team, name, nid, title, deadline, total, open_, late_ in session.execute(stmt)]
    rows.sort(key=lambda r: (r.outstanding == 0, r.team == NO_TEAM, r.team, -r.notice_id))
    return rows


def outstanding_people(session: Session, actor: Any, *, as_of: dt.date,
                       team_id: int | None = None,
                       notice_id: int | None = None) -> list[PersonRow]:
    """Each acknowledgement still owed, among the recipients the actor sees: overdue first,
    then by deadline, team (the teamless last) and name."""
    stmt = (
        select(User.id, User.username, User.display_name, Team.name, Notice.id, Notice.title,
               Notice.published_at, Notice.acknowledge_by)
        .select_from(NoticeRecipient)
        .join(Notice, Notice.id == NoticeRecipient.notice_id)
        .join(User, User.id == NoticeRecipient.user_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(NoticeRecipient.acknowledged_at.is_(None), *_open(actor, team_id, notice_id)))
    rows = [PersonRow(uid, username, name, team or "", nid, title, published, deadline,
                      deadline is not None and as_of > deadline)
            for uid, username, name, team, nid, title, published, deadline
            in session.execute(stmt)]
    rows.sort(key=lambda r: (not r.overdue, r.acknowledge_by or dt.date.max, not r.team,
                             r.team, r.display_name, r.username, r.notice_id))
    return rows


def totals(rows: list[TeamRow]) -> tuple[int, int]:
    """(outstanding, overdue) over team rows."""
    return sum(r.outstanding for r in rows), sum(r.overdue for r in rows)


def teams(session: Session, actor: Any) -> list[Team]:
    """The teams the actor may filter by."""
    return [t for t in session.scalars(select(Team).order_by(Team.name))
            if can(actor, "team.view", t)]
