"""The read side of training: courses, and whose refreshers are due or overdue."""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, false, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session, joinedload, selectinload

from competencies.profiles.models import Assessment
from competencies.training import due, effect
from competencies.training.models import (
    Attendance,
    Course,
    SessionAttendee,
    SessionStatus,
    TrainingRecord,
    TrainingSession,
)
from qm.auth.models import Team, User
from qm.auth.permissions import ALL, scope_clause, scope_for


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


# --- Refresher compliance: per course, who is in date on a day, and the same month by month --


def earliest_in_date(on: date, refresh_months: int) -> date:
    """The earliest completion day whose refresher interval (``due.add_months``) ends on or
    after ``on``: a completion of that day or later is not overdue on ``on`` by its interval.

    ``add_months`` never decreases as the completion day grows, so a short walk from a few
    days before ``on - refresh_months`` finds the first such day, clamped month ends
    included (31 March, 1 month: a completion on 1 March is due 1 April, one on 28 February
    is due 28 March)."""
    day = due.add_months(on, -refresh_months) - timedelta(days=4)
    while due.add_months(day, refresh_months) < on:
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class CourseCompliance:
    """A course with a refresher interval on one day: the people who hold it (an active
    user's latest completion on or before the day), those in date (not overdue: ``due``'s
    "ok" and "due"), of them those due within the due-soon window, and those overdue.
    Nothing says who *must* hold a course, so those who never did it are not counted."""

    course_id: int
    course: str
    refresh_months: int
    holders: int
    current: int
    due_soon: int
    overdue: int

    @property
    def rate(self) -> float | None:
        """Compliance: in date, in % of the holders (None without holders)."""
        return 100 * self.current / self.holders if self.holders else None


def refresher_compliance(session: Session, *, as_of: date, team_id: int | None = None,
                         soon_days: int = due.DUE_SOON_DAYS, visible_to: Any = None,
                         intervals: list[int] | None = None) -> list[CourseCompliance]:
    """Per active course with a refresher interval, by name: ``CourseCompliance`` on
    ``as_of``, counted by the database in one query (no row per person comes back).

    The rules are ``due_list``'s (``due.next_due`` and ``due.status``), written as SQL: a
    holder is overdue when their latest completion on or before ``as_of`` is older than
    ``earliest_in_date(as_of, months)`` or carries an expiry before ``as_of``; due soon when,
    not overdue, its interval or expiry ends within ``soon_days``. ``team_id`` and
    ``visible_to`` narrow the people as ``due_list`` does; ``intervals``: the courses'
    distinct refresher intervals, when the caller has them already (``refresh_intervals``)."""
    if intervals is None:
        intervals = refresh_intervals(session)
    soon = as_of + timedelta(days=soon_days)

    def older_than(on: date) -> Any:
        """The latest completion's interval ends before ``on``."""
        return or_(false(), *(and_(Course.refresh_months == months,
                                   TrainingRecord.completed_on < earliest_in_date(on, months))
                              for months in intervals))

    expires = TrainingRecord.expires_on
    overdue = or_(older_than(as_of), and_(expires.is_not(None), expires < as_of))
    due_soon = or_(older_than(soon + timedelta(days=1)), and_(expires.is_not(None),
                                                              expires <= soon))
    latest = (select(TrainingRecord.user_id, TrainingRecord.course_id,
                     func.max(TrainingRecord.completed_on).label("completed_on"))
              .where(TrainingRecord.completed_on <= as_of)
              .group_by(TrainingRecord.user_id, TrainingRecord.course_id).subquery())
    stmt = (
        select(Course.id, Course.name, Course.refresh_months, func.count(),
               func.sum(case((overdue, 1), else_=0)),
               func.sum(case((overdue, 0), (due_soon, 1), else_=0)))
        .select_from(TrainingRecord)
        .join(latest, (TrainingRecord.user_id == latest.c.user_id)
              & (TrainingRecord.course_id == latest.c.course_id)
              & (TrainingRecord.completed_on == latest.c.completed_on))
        .join(User, User.id == TrainingRecord.user_id)
        .join(Course, Course.id == TrainingRecord.course_id)
        .where(User.active.is_(True), Course.active.is_(True),
               Course.refresh_months.is_not(None))
        .group_by(Course.id, Course.name, Course.refresh_months)
    )
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    if visible_to is not None:
        stmt = stmt.where(scope_clause(visible_to, "skills.view", User.id, User.team_id))
    counted = {row[0]: row for row in session.execute(stmt)}
    out = []
    for course_id, name, months in session.execute(
            select(Course.id, Course.name, Course.refresh_months)
            .where(Course.active.is_(True), Course.refresh_months.is_not(None))
            .order_by(Course.name)):
        _id, _name, _months, holders, late, soon_n = counted.get(
            course_id, (course_id, name, months, 0, 0, 0))
        late, soon_n = int(late or 0), int(soon_n or 0)
        out.append(CourseCompliance(course_id, name, months, holders, holders - late, soon_n,
                                    late))
    return out


def refresh_intervals(session: Session) -> list[int]:
    """The distinct refresher intervals (months) of the active courses."""
    return list(session.scalars(
        select(Course.refresh_months).distinct()
        .where(Course.active.is_(True), Course.refresh_months.is_not(None))
        .order_by(Course.refresh_months)))


TREND_MONTHS = 12


@dataclass(frozen=True)
class CompliancePoint:
    """All courses with a refresher together, at the end of a month (the last point: on the
    day asked for). ``rate``: in date, in % of the holdings (a person holding two courses
    counts twice); ``overdue``: holdings overdue; ``n``: holdings. As a row of
    ``rate_chart`` (``month``, ``rate``, ``fails`` of ``n``), ``fails`` is the numerator of the
    rate: the holdings in date."""

    month: str
    on: date
    n: int
    current: int
    due_soon: int
    overdue: int

    @property
    def fails(self) -> int:
        return self.current

    @property
    def rate(self) -> float | None:
        return 100 * self.current / self.n if self.n else None


def compliance_trend(session: Session, *, as_of: date, team_id: int | None = None,
                     soon_days: int = due.DUE_SOON_DAYS, visible_to: Any = None,
                     months: int = TREND_MONTHS) -> list[CompliancePoint]:
    """Compliance at the end of each of the ``months`` calendar months ending with the month
    of ``as_of`` (oldest first); the current month's point is taken on ``as_of`` itself, not
    on a day still to come. One aggregate query a month."""
    intervals = refresh_intervals(session)
    days = []
    for back in range(months - 1, 0, -1):
        first = due.add_months(date(as_of.year, as_of.month, 1), -back + 1)
        days.append(first - timedelta(days=1))
    days.append(as_of)
    out = []
    for day in days:
        rows = refresher_compliance(session, as_of=day, team_id=team_id, soon_days=soon_days,
                                    visible_to=visible_to, intervals=intervals)
        label = f"{day.year}-{day.month:02d}"
        out.append(CompliancePoint(label, day, sum(r.holders for r in rows),
                                   sum(r.current for r in rows),
                                   sum(r.due_soon for r in rows),
                                   sum(r.overdue for r in rows)))
    return out


def sessions(session: Session, *, course_id: int | None = None, upcoming_from: date | None = None,
             visible_to: Any = None) -> list[TrainingSession]:
    """Sessions, the latest first; ``upcoming_from``: only planned ones on or after that day,
    the soonest first. ``visible_to``: only sessions on which someone that user may see is
    enrolled (whoever sees everyone's records, HR and auditors, sees every session)."""
    stmt = select(TrainingSession).options(selectinload(TrainingSession.course),
                                           selectinload(TrainingSession.attendees))
    if course_id is not None:
        stmt = stmt.where(TrainingSession.course_id == course_id)
    if upcoming_from is not None:
        stmt = stmt.where(TrainingSession.held_on >= upcoming_from,
                          TrainingSession.status == SessionStatus.PLANNED.value
                          ).order_by(TrainingSession.held_on, TrainingSession.id)
    else:
        stmt = stmt.order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
    if visible_to is not None and scope_for(visible_to, "skills.view") is not ALL:
        seen = (select(SessionAttendee.session_id).join(User, User.id == SessionAttendee.user_id)
                .where(scope_clause(visible_to, "skills.view", User.id, User.team_id)))
        stmt = stmt.where(TrainingSession.id.in_(seen))
    return list(session.scalars(stmt))


def panel(session: Session, user_id: int, as_of: date
          ) -> tuple[list[tuple[str, str, date | None]], list[tuple[str, date]]]:
    """What a person's training panel shows, in one statement through the session's
    connection (no ORM pass): (course name, status, due date) of each course whose latest
    completion is overdue or due soon, in ``person_training``'s order, and (course name, day)
    of each planned session on or after ``as_of`` that the person is booked on, the soonest
    first (``booked``)."""
    latest: dict[int, Any] = {}
    booked_on: list[tuple[str, date]] = []
    for kind, name, course_id, day, expires_on, refresh_months, active in (
            session.connection().execute(_panel(), {"user_id": user_id,
                                                    "upcoming_from": as_of})):
        if kind:
            booked_on.append((name, day))
        else:  # completions come oldest first: the last one of a course is its latest
            latest[course_id] = (name, day, expires_on, refresh_months, active)
    due_lines = []
    for name, completed_on, expires_on, refresh_months, active in latest.values():
        due_on, status = _standing(completed_on, refresh_months, expires_on, active, as_of)
        if status in ("overdue", "due"):
            due_lines.append((name, status, due_on))
    due_lines.sort(key=lambda line: (_STATUS_ORDER.get(line[1], 2), line[0]))
    return due_lines, booked_on


@functools.cache
def _panel() -> Any:  # built once: a scorecard reads it every time
    completions = (select(literal(0).label("kind"), Course.name, TrainingRecord.course_id,
                          TrainingRecord.completed_on.label("day"), TrainingRecord.expires_on,
                          Course.refresh_months, Course.active, TrainingRecord.id)
                   .join(Course, Course.id == TrainingRecord.course_id)
                   .where(TrainingRecord.user_id == bindparam("user_id")))
    bookings = (select(literal(1), Course.name, TrainingSession.course_id,
                       TrainingSession.held_on, null(), null(), null(), TrainingSession.id)
                .join(Course, Course.id == TrainingSession.course_id)
                .where(TrainingSession.held_on >= bindparam("upcoming_from"),
                       TrainingSession.status == SessionStatus.PLANNED.value,
                       TrainingSession.id.in_(
                           select(SessionAttendee.session_id)
                           .where(SessionAttendee.user_id == bindparam("user_id")))))
    united = union_all(completions, bookings).subquery()
    return (select(*[united.c[i] for i in range(7)])
            .order_by(united.c.kind, united.c.day, united.c.id))


@dataclass
class CourseEffect:
    """Levels on a course's competencies before and after its sessions (``effect``)."""

    overall: effect.Effect
    by_code: dict[str, effect.Effect]
    by_session: dict[int, effect.Effect]
    window_days: int
    pairs: list[effect.Pair] = field(default_factory=list)


def course_effect(session: Session, course: Course, *, visible_to: Any = None,
                  window_days: int = effect.WINDOW_DAYS) -> CourseEffect:
    """For everyone who attended a held session of ``course`` and every competency the course
    develops: the assessed level before the session and within ``window_days`` after it.

    ``visible_to``: only the attendees whose skills records that user may see, so that a mean
    over one person never shows a level its viewer may not read. Before and after are taken
    within one framework: two frameworks may use the same code for different things, and an
    assessment in one is no "after" for an assessment in the other (a person assessed in two
    frameworks gives a pair in each)."""
    stmt = (select(TrainingSession.id, TrainingSession.held_on, SessionAttendee.user_id)
            .join(SessionAttendee, SessionAttendee.session_id == TrainingSession.id)
            .where(TrainingSession.course_id == course.id,
                   TrainingSession.status == SessionStatus.HELD.value,
                   SessionAttendee.status == Attendance.ATTENDED.value))
    if visible_to is not None:
        stmt = stmt.join(User, User.id == SessionAttendee.user_id).where(
            scope_clause(visible_to, "skills.view", User.id, User.team_id))
    attended = session.execute(stmt).all()
    codes = list(course.competencies)
    history: dict[tuple[int, str], dict[int, list[tuple[date, int]]]] = defaultdict(
        lambda: defaultdict(list))
    users = sorted({user_id for _s, _d, user_id in attended})
    if users and codes:
        for user_id, code, framework_id, assessed_on, level in session.execute(
                select(Assessment.user_id, Assessment.competency_code, Assessment.framework_id,
                       Assessment.assessed_on, Assessment.level)
                .where(Assessment.user_id.in_(users), Assessment.competency_code.in_(codes))
                .order_by(Assessment.assessed_on, Assessment.id)):
            history[(user_id, code)][framework_id].append((assessed_on, level))
    by_session: dict[int, list[effect.Pair]] = defaultdict(list)
    by_code: dict[str, list[effect.Pair]] = defaultdict(list)
    pairs = []
    for session_id, held_on, user_id in attended:
        for code in codes:
            for seen in (history[(user_id, code)].values() or [[]]):
                pair = effect.Pair(user_id, code, effect.level_before(seen, held_on),
                                   effect.level_after(seen, held_on, window_days))
                pairs.append(pair)
                by_session[session_id].append(pair)
                by_code[code].append(pair)
    return CourseEffect(
        overall=effect.summarise(pairs), window_days=window_days, pairs=pairs,
        by_code={code: effect.summarise(by_code[code]) for code in codes},
        by_session={key: effect.summarise(value) for key, value in by_session.items()})


@dataclass(frozen=True)
class PersonCourse:
    """A person's standing on a course they completed: the latest completion and its due date."""

    course: Course
    completed_on: date
    result: str
    due_on: date | None
    status: str


def person_training(session: Session, user_id: int, as_of: date) -> list[PersonCourse]:
    """Every course the user completed, with its latest completion and refresher status;
    overdue first, then due, then the rest by course name."""
    latest: dict[int, TrainingRecord] = {}
    for record in session.scalars(_records_of(), {"user_id": user_id}):
        latest[record.course_id] = record
    out = []
    for record in latest.values():
        course = record.course
        out.append(PersonCourse(course, record.completed_on, record.result,
                                *_standing(record.completed_on, course.refresh_months,
                                           record.expires_on, course.active, as_of)))
    out.sort(key=lambda p: (_STATUS_ORDER.get(p.status, 2), p.course.name))
    return out


_STATUS_ORDER = {"overdue": 0, "due": 1}
"""How a person's courses are listed: overdue first, then due, then the rest."""


def _standing(completed_on: date, refresh_months: int | None, expires_on: date | None,
              active: bool, as_of: date) -> tuple[date | None, str]:
    """A latest completion's refresher due date and status on ``as_of`` ("none" for a
    course no longer run)."""
    due_on = due.next_due(completed_on, refresh_months, expires_on)
    return due_on, due.status(due_on, as_of) if active else "none"


@functools.cache
def _records_of() -> Any:  # built once: building it costs more CPU than running it
    return (select(TrainingRecord).where(TrainingRecord.user_id == bindparam("user_id"))
            .options(joinedload(TrainingRecord.course))
            .order_by(TrainingRecord.completed_on, TrainingRecord.id))


RECENT_TRAINING_DAYS = 90
"""How far back a completed course still counts as "being trained" next to a gap."""


def training_on_competencies(session: Session, user_ids: list[int], as_of: date, *,
                             recent_days: int = RECENT_TRAINING_DAYS,
                             ) -> dict[int, list[tuple[str, list[str]]]]:
    """Per user: (what, competency codes) for each planned session they are booked on (on or
    after ``as_of``) and each course they completed in the last ``recent_days``, for the
    competencies that course covers. Three queries for any number of users (the matrix asks
    for 500 at once); users with none are absent."""
    out: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    if not user_ids:
        return out
    booked = session.execute(
        select(SessionAttendee.user_id, Course.name, Course.competencies,
               TrainingSession.held_on)
        .join(TrainingSession, TrainingSession.id == SessionAttendee.session_id)
        .join(Course, Course.id == TrainingSession.course_id)
        .where(SessionAttendee.user_id.in_(user_ids),
               SessionAttendee.status == Attendance.ENROLLED.value,
               TrainingSession.status == SessionStatus.PLANNED.value,
               TrainingSession.held_on >= as_of)
        .order_by(TrainingSession.held_on))
    for user_id, name, codes, held_on in booked:
        out[user_id].append((f"training booked: {name} on {held_on}", list(codes or [])))
    since = date.fromordinal(as_of.toordinal() - recent_days)
    done = list(session.execute(
        select(TrainingRecord.user_id, TrainingRecord.course_id,
               func.max(TrainingRecord.completed_on))
        .where(TrainingRecord.user_id.in_(user_ids), TrainingRecord.completed_on >= since,
               TrainingRecord.completed_on <= as_of)
        .group_by(TrainingRecord.user_id, TrainingRecord.course_id)))
    # the courses apart: PostgreSQL cannot group by a JSON column
    courses = {c.id: c for c in session.scalars(
        select(Course).where(Course.id.in_({course_id for _, course_id, _ in done})))}
    for user_id, course_id, completed_on in done:
        course = courses[course_id]
        out[user_id].append((f"trained: {course.name} on {completed_on}",
                             list(course.competencies or [])))
    return out
