"""The read side of training: courses, and whose refreshers are due or overdue."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competencies.training import due
from competencies.training.models import Course, TrainingRecord
from qm.auth.models import Team, User
from qm.auth.permissions import scope_clause


@dataclass(frozen=True)
class DueRow:
    """A user's latest completion of a course whose refresher is due soon or overdue."""

    username: str
    display_name: str
    team: str
    course: str
    completed_on: date
    due_on: date
    status: str

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["completed_on"] = self.completed_on.isoformat()
        data["due_on"] = self.due_on.isoformat()
        return data


def courses(session: Session) -> list[Course]:
    return list(session.scalars(select(Course).order_by(Course.name)))


def course_named(session: Session, name: str) -> Course | None:
    return session.scalar(select(Course).where(func.lower(Course.name) == name.strip().lower()))


def team_named(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name.strip()))


def due_list(session: Session, *, as_of: date, team_id: int | None = None,
             soon_days: int = due.DUE_SOON_DAYS, visible_to: Any = None) -> list[DueRow]:
    """Refreshers due within ``soon_days`` of ``as_of`` (both ends included) or overdue.

    For every active user and every active course they completed, the latest completion
    decides: its due date is ``due.next_due`` (the earlier of the course's interval and the
    completion's expiry). Overdue first, then by due date, then by username. ``team_id``
    keeps the users of that team; ``visible_to`` the people whose skills records that user may
    see (a lead their teams, an agent themselves).
    """
    latest = (select(TrainingRecord.user_id, TrainingRecord.course_id,
                     func.max(TrainingRecord.completed_on).label("completed_on"))
              .group_by(TrainingRecord.user_id, TrainingRecord.course_id).subquery())
    stmt = (
        select(User.username, User.display_name, Team.name, Course.name, Course.refresh_months,
               TrainingRecord.completed_on, TrainingRecord.expires_on)
        .join(latest, (TrainingRecord.user_id == latest.c.user_id)
              & (TrainingRecord.course_id == latest.c.course_id)
              & (TrainingRecord.completed_on == latest.c.completed_on))
        .join(User, User.id == TrainingRecord.user_id)
        .join(Course, Course.id == TrainingRecord.course_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(User.active.is_(True), Course.active.is_(True))
    )
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    if visible_to is not None:
        stmt = stmt.where(scope_clause(visible_to, "skills.view", User.id, User.team_id))
    rows = []
    for username, display_name, team, course, months, completed_on, expires_on \
            in session.execute(stmt):
        due_on = due.next_due(completed_on, months, expires_on)
        state = due.status(due_on, as_of, soon_days)
        if state in ("due", "overdue"):
            rows.append(DueRow(username, display_name, team or "", course, completed_on,
                               due_on, state))
    rows.sort(key=lambda r: (r.status != "overdue", r.due_on, r.username, r.course))
    return rows
