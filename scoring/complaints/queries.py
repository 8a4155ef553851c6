"""The read side of the complaint register: the site's clock (its deadlines and calendar), the
register with its filters and each complaint's clock, the overdue list, and root causes per
month (the trend a management review reads)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, false, select, true
from sqlalchemy.orm import Session, aliased, selectinload

from qm.auth.models import User
from qm.auth.permissions import ALL, scope_clause, scope_for
from qm.config import Settings
from scoring.complaints import clock
from scoring.complaints.models import (
    ROOT_CAUSES,
    Complaint,
    ComplaintInteraction,
    Holiday,
    Severity,
)
from scoring.reports.queries import month_bounds

VIEW = "complaint.view"
TREND_MONTHS = 12


# --- the site's clock -------------------------------------------------------------------------

def policy(settings: Settings) -> clock.Policy:
    """The site's deadlines (``QM_COMPLAINT_*``); a bad value is a ``ValueError`` naming it."""
    return clock.policy_from(
        ack_hours=settings.complaint_ack_hours,
        response_days=settings.complaint_response_days,
        resolve_working_days=settings.complaint_resolve_working_days,
        escalation_hours=settings.complaint_escalation_hours)


def calendar(session: Session, settings: Settings) -> clock.Calendar:
    """The site's time zone (``QM_TIMEZONE``) and its holidays."""
    return clock.Calendar(settings.timezone or "UTC",
                          frozenset(session.scalars(select(Holiday.day))))


@dataclass(frozen=True)
class SiteClock:
    """What every complaint's clock is read against: the deadlines, the calendar, and now."""

    policy: clock.Policy
    calendar: clock.Calendar
    now: dt.datetime

    def of(self, item: Complaint) -> clock.Clock:
        return clock.clock(item.received_at, policy=self.policy, calendar=self.calendar,
                           now=self.now, acknowledged_at=item.acknowledged_at,
                           responded_at=item.responded_at, resolved_at=item.resolved_at,
                           escalated_at=item.escalated_at,
                           escalation_answered_at=item.escalation_answered_at)


def site_clock(session: Session, settings: Settings, now: dt.datetime) -> SiteClock:
    return SiteClock(policy(settings), calendar(session, settings), now)


def holidays(session: Session) -> list[Holiday]:
    return list(session.scalars(select(Holiday).order_by(Holiday.day)))


# --- the register -----------------------------------------------------------------------------

def visible(actor: Any, permission: str = VIEW) -> ColumnElement[bool]:
    """A WHERE clause keeping the complaints ``actor`` may see: all of them, or those linked
    to an interaction in the actor's scope (a lead's teams')."""
    scope = scope_for(actor, permission)
    if scope is None:
        return false()
    if scope is ALL:
        return true()
    link = aliased(ComplaintInteraction)  # the caller's query may join the links itself
    return exists().where(
        link.complaint_id == Complaint.id,
        scope_clause(actor, permission, link.agent_id, link.team_id)).correlate(Complaint)


@dataclass(frozen=True)
class Filters:
    """The register's filters; received_from and received_to are days in ``zone`` (the
    viewer's, as the page shows the times), both included."""

    status: str | None = None
    category: str | None = None
    severity: str | None = None
    owner_id: int | None = None
    overdue: bool = False
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    zone: str = "UTC"

    def args(self) -> dict[str, Any]:
        """The filters as a page's query string (what the exports' links carry)."""
        out: dict[str, Any] = {k: getattr(self, k) for k in (
            "status", "category", "severity", "owner_id", "received_from", "received_to")
            if getattr(self, k) is not None}
        if self.overdue:
            out["overdue"] = 1
        return out


@dataclass(frozen=True)
class Row:
    complaint: Complaint
    clock: clock.Clock


def _start_of(day: dt.date, zone: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(zone or "UTC")).astimezone(
        dt.UTC)


def register(session: Session, actor: Any, filters: Filters, site: SiteClock) -> list[Row]:
    """The complaints ``actor`` may see that pass ``filters``, the latest received first,
    each with its clock. "Overdue" is judged in Python, by the clock: working days and
    holidays do not translate into portable SQL; only complaints not yet resolved (the only
    ones that can be overdue: resolving records every step) are read for it."""
    stmt = (select(Complaint).where(visible(actor))
            .options(selectinload(Complaint.links).selectinload(ComplaintInteraction.interaction),
                     selectinload(Complaint.owner))
            .order_by(Complaint.received_at.desc(), Complaint.id.desc()))
    if filters.status is not None:
        stmt = stmt.where(Complaint.status == filters.status)
    if filters.category is not None:
        stmt = stmt.where(Complaint.category == filters.category)
    if filters.severity is not None:
        stmt = stmt.where(Complaint.severity == filters.severity)
    if filters.owner_id is not None:
        stmt = stmt.where(Complaint.owner_id == filters.owner_id)
    if filters.received_from is not None:
        stmt = stmt.where(Complaint.received_at >= _start_of(filters.received_from,
                                                             filters.zone))
    if filters.received_to is not None:
        stmt = stmt.where(Complaint.received_at < _start_of(
            filters.received_to + dt.timedelta(days=1), filters.zone))
    if filters.overdue:
        stmt = stmt.where(Complaint.resolved_at.is_(None))
    rows = [Row(item, site.of(item)) for item in session.scalars(stmt)]
    if filters.overdue:
        rows = [row for row in rows if row.clock.is_overdue]
    return rows


def overdue(session: Session, actor: Any, site: SiteClock) -> list[Row]:
    """Complaints with a deadline past and its step not done, the longest overdue first."""
    rows = register(session, actor, Filters(overdue=True), site)
    return sorted(rows, key=lambda row: (min(d.due_at for d in row.clock.overdue),
                                         row.complaint.id))


def owners(session: Session, actor: Any) -> list[User]:
    """The owners of the complaints ``actor`` may see: the register's owner filter."""
    return list(session.scalars(
        select(User).where(User.id.in_(select(Complaint.owner_id).where(visible(actor))))
        .order_by(User.display_name, User.id)))


# --- the trend --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trend:
    """Complaints resolved per month by root cause, over ``months`` (oldest first, "YYYY-MM"
    in the site's zone): ``counts[root cause][i]`` for ``months[i]``; causes with none left
    out. ``received`` counts the complaints received each month, for scale."""

    months: list[str]
    counts: dict[str, list[int]]
    totals: list[int]
    received: list[int]


def _month_starts(as_of: dt.date, months: int) -> list[dt.date]:
    year, month = as_of.year, as_of.month
    out = []
    for _ in range(months):
        out.append(dt.date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def trend(session: Session, actor: Any, *, as_of: dt.date, zone: str,
          months: int = TREND_MONTHS) -> Trend:
    """Root causes per month of resolution, the ``months`` months up to ``as_of``'s (in the
    site's zone ``zone``), of the complaints ``actor`` may see. A reopened complaint counts
    where it was resolved last."""
    starts = _month_starts(as_of, months)
    labels = [f"{d.year}-{d.month:02d}" for d in starts]
    since = _start_of(starts[0], zone)
    tz = ZoneInfo(zone or "UTC")

    def month_of(at: dt.datetime) -> str:
        local = at.astimezone(tz)
        return f"{local.year}-{local.month:02d}"

    resolved = Counter((month_of(at), cause) for at, cause in session.execute(
        select(Complaint.resolved_at, Complaint.root_cause).where(
            visible(actor), Complaint.resolved_at.is_not(None),
            Complaint.resolved_at >= since)))
    received = Counter(month_of(at) for at in session.scalars(
        select(Complaint.received_at).where(visible(actor), Complaint.received_at >= since)))
    counts = {cause: [resolved[(m, cause)] for m in labels] for cause in ROOT_CAUSES}
    counts = {cause: row for cause, row in counts.items() if any(row)}
    totals = [sum(resolved[(m, cause)] for cause in ROOT_CAUSES) for m in labels]
    return Trend(labels, counts, totals, [received[m] for m in labels])


# --- timeliness -------------------------------------------------------------------------------

STEPS = ("acknowledge", "respond", "resolve", "escalation")
"""The deadlines the timeliness report counts, in the order of a complaint's life; the
escalation's only for complaints escalated."""


def _tallies() -> dict[str, clock.Tally]:
    return {key: clock.Tally() for key in STEPS}


@dataclass
class TimelinessRow:
    """One month of receipt (``key`` "YYYY-MM"), one severity, or the whole window: the
    complaints received, how each step's deadline stands (as of the report's now), and the
    working days the resolved ones took (``clock.working_days_taken``)."""

    key: str
    received: int = 0
    steps: dict[str, clock.Tally] = field(default_factory=_tallies)
    days: list[int] = field(default_factory=list)

    @property
    def days_mean(self) -> float | None:
        return clock.mean_median(self.days)[0]

    @property
    def days_median(self) -> float | None:
        return clock.mean_median(self.days)[1]

    def add(self, found: clock.Clock, days: int | None) -> None:
        self.received += 1
        for d in found.deadlines:
            self.steps[d.key].add(d.state)
        if days is not None:
            self.days.append(days)


@dataclass(frozen=True)
class Timeliness:
    """Each step's deadlines over the complaints received in ``months`` (oldest first, the
    site's months), per month of receipt, per severity, and over the whole window."""

    months: list[TimelinessRow]
    severities: list[TimelinessRow]
    total: TimelinessRow

    @property
    def end(self) -> str:
        return self.months[-1].key


def timeliness(session: Session, actor: Any, site: SiteClock, end: tuple[int, int],
               months: int = TREND_MONTHS) -> Timeliness:
    """How the complaints ``actor`` may see, received in the ``months`` site months ending
    with ``end`` (year, month), kept their deadlines as of ``site.now``. One query reads the
    window's complaints (their times and severity only); each one's clock is then read in
    Python, as the register does: working days and holidays have no portable SQL, and a
    register holds thousands of complaints a year, not millions."""
    labels, bounds = month_bounds(end, site.calendar.tz, months)
    per_month = [TimelinessRow(label) for label in labels]
    per_severity = {s.value: TimelinessRow(s.value) for s in Severity}
    total = TimelinessRow(f"{labels[0]} to {labels[-1]}")
    rows = session.execute(
        select(Complaint.severity, Complaint.received_at, Complaint.acknowledged_at,
               Complaint.responded_at, Complaint.escalated_at,
               Complaint.escalation_answered_at, Complaint.resolved_at)
        .where(visible(actor), Complaint.received_at >= bounds[0],
               Complaint.received_at < bounds[-1]))
    for severity, received, acknowledged, responded, escalated, answered, resolved in rows:
        found = clock.clock(received, policy=site.policy, calendar=site.calendar, now=site.now,
                            acknowledged_at=acknowledged, responded_at=responded,
                            resolved_at=resolved, escalated_at=escalated,
                            escalation_answered_at=answered)
        days = (None if resolved is None
                else clock.working_days_taken(received, resolved, site.calendar))
        month = bisect_right(bounds, received) - 1
        for row in (per_month[month],
                    per_severity.setdefault(severity, TimelinessRow(severity)), total):
            row.add(found, days)
    return Timeliness(per_month, list(per_severity.values()), total)
