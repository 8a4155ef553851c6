"""Read side for evaluations: the evaluator's queue, the scoped evaluation list and its
filters, what waits and what is late (each kind of work defined once, for the lists and the
home page's counts alike), the active evaluators."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session, defaultload, defer, joinedload

from qm.auth.models import User, UserRole
from qm.auth.permissions import Role, Scope, can, scope_for
from qm.inputs import BadInput
from qm.interactions.models import Interaction
from scoring.evaluations.disputes import disputes_clause
from scoring.evaluations.models import (
    OPEN_STATUSES,
    RELEASED_STATUSES,
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
)
from scoring.evaluations.services import Policy, agent_zone, last_day_to_dispute, visible_clause
from scoring.forms.models import FormVersion

PAGE_OPTIONS = (joinedload(Evaluation.form_version).joinedload(FormVersion.form),
                joinedload(Evaluation.revisions), joinedload(Evaluation.disputes),
                defaultload(Evaluation.interaction).lazyload(Interaction.agent),
                defaultload(Evaluation.interaction).lazyload(Interaction.team))
"""The evaluation's page: its form's version and the form, its revisions and its disputes, in
the statement that loads it (an evaluation has a revision or two and seldom a dispute, so the
joined rows stay few, and every statement spared is a round trip and its ORM work). The
interaction's agent and team are not joined again: its agent is the evaluation's, which the
same statement loads (read from the identity map), and the page does not show its team."""

# A list shows a row's header, not its answers or the contact's text: leave those unread.
LIST_OPTIONS = (
    defer(Evaluation.answers), defer(Evaluation.notes), defer(Evaluation.section_scores),
    defer(Evaluation.critical_reasons), defer(Evaluation.comment),
    defer(Evaluation.acknowledgement),
    joinedload(Evaluation.interaction).defer(Interaction.body),
)


@dataclass
class EvaluationPage:
    rows: list[Any]
    before: int | None  # the id to pass as ``before`` for the next page; None on the last


# --- what waits, and when it is late ------------------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """An evaluation as a list of work shows it: how long it has waited and whether it is late.

    For the evaluator's work (assigned, draft) the age counts from the assignment and it is
    late once its due day (``due_on``, set by sampling or by taking it) has passed; finished
    evaluations have neither."""

    evaluation: Evaluation
    age_days: int | None
    overdue: bool


def site_today(policy: Policy, now: dt.datetime) -> dt.date:
    """The calendar day it is at the site: a due day ends at the site's midnight."""
    try:
        zone = ZoneInfo(policy.timezone or "UTC")
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def evaluation_overdue_clause(today: dt.date) -> ColumnElement[bool]:
    """``waiting``'s overdue as a WHERE clause: not submitted, and its due day is before
    ``today`` (due on the 3rd: late from the 4th)."""
    return and_(Evaluation.status.in_(OPEN_STATUSES), Evaluation.due_on < today)


def waiting(evaluation: Evaluation, today: dt.date, now: dt.datetime) -> Waiting:
    """Age in whole days since it was assigned (assigned 3 days and 5 hours ago: 3); overdue
    by ``evaluation_overdue_clause``'s rule."""
    if evaluation.status not in OPEN_STATUSES:
        return Waiting(evaluation, None, False)
    age = max(0, (now - evaluation.created_at).days)
    due = evaluation.due_on
    return Waiting(evaluation, age, due is not None and due < today)


def dispute_overdue_before(review_days: int, now: dt.datetime) -> dt.datetime:
    """``disputes.waiting``'s overdue as an instant: an open dispute raised at or before it is
    older than ``review_days`` whole days (5 days: raised 6 days ago or more)."""
    return now - dt.timedelta(days=review_days + 1)


def _zone_of(agent: Any, policy: Policy) -> ZoneInfo:
    # the zone an agent's dispute window is counted in: ``services.agent_zone``'s rule
    return agent_zone(SimpleNamespace(agent=agent), policy)  # type: ignore[arg-type]


def to_acknowledge_clause(actor: Any, policy: Policy, now: dt.datetime) -> ColumnElement[bool]:
    """The actor's own evaluations waiting for their answer: released, neither acknowledged
    nor disputed, and the window to dispute still open (``services.window_open``: released on
    a day no more than ``dispute_window_days`` before today, both days in the agent's zone)."""
    zone = _zone_of(actor, policy)
    first_day = now.astimezone(zone).date() - dt.timedelta(days=policy.dispute_window_days)
    since = dt.datetime.combine(first_day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return and_(Evaluation.agent_id == getattr(actor, "id", None),
                Evaluation.status == EvaluationStatus.RELEASED.value,
                Evaluation.released_at >= since)


@dataclass(frozen=True)
class Backlog:
    """What waits for someone, and how much of it is late (or, for an agent, the last day to
    answer the soonest)."""

    count: int
    overdue: int = 0
    last_day: dt.date | None = None


def queue_backlog(session: Session, actor: Any, policy: Policy, now: dt.datetime) -> Backlog:
    """The evaluator's queue: assignments not yet submitted, and how many are overdue."""
    late = evaluation_overdue_clause(site_today(policy, now))
    count, overdue = session.execute(
        select(func.count(Evaluation.id), func.sum(case((late, 1), else_=0)))
        .where(Evaluation.evaluator_id == actor.id, Evaluation.status.in_(OPEN_STATUSES))).one()
    return Backlog(count or 0, overdue or 0)


def disputes_backlog(session: Session, actor: Any, policy: Policy,
                     now: dt.datetime) -> Backlog:
    """Open disputes the actor's list shows (``disputes.disputes_clause``), and how many have
    waited longer than the review target."""
    late = Dispute.raised_at <= dispute_overdue_before(policy.review_days, now)
    count, overdue = session.execute(
        select(func.count(Dispute.id), func.sum(case((late, 1), else_=0))).join(Evaluation)
        .where(Dispute.status == DisputeStatus.OPEN.value, disputes_clause(actor))).one()
    return Backlog(count or 0, overdue or 0)


def acknowledge_backlog(session: Session, actor: Any, policy: Policy,
                        now: dt.datetime) -> Backlog:
    """The agent's evaluations to acknowledge, and the last day to answer the soonest."""
    count, first = session.execute(
        select(func.count(Evaluation.id), func.min(Evaluation.released_at))
        .where(to_acknowledge_clause(actor, policy, now))).one()
    last_day = None
    if first is not None:
        if first.tzinfo is None:  # SQLite's MIN() returns the stored text, read as naive UTC
            first = first.replace(tzinfo=dt.UTC)
        last_day = last_day_to_dispute(
            SimpleNamespace(agent=actor, released_at=first), policy)  # type: ignore[arg-type]
    return Backlog(count or 0, 0, last_day)


# --- the list's filters ---------------------------------------------------------------------------

TO_ACKNOWLEDGE = "to_acknowledge"
WITH_AGENT = "with_agent"


def status_choices(actor: Any) -> list[tuple[str, str]]:
    """The status filter's choices: only what the actor can see. An agent sees their own
    evaluations once released, so is offered those states and "to acknowledge"; everyone else
    every state, and "released to the agent" (any of its states: what scorecards count)."""
    own = scope_for(actor, "evaluation.view") is Scope.OWN
    out = []
    if can(actor, "evaluation.respond"):
        out.append((TO_ACKNOWLEDGE, "To acknowledge" if own else "Mine to acknowledge"))
    shown = RELEASED_STATUSES if own else tuple(s.value for s in EvaluationStatus)
    if not own:
        out.append((WITH_AGENT, "Released to the agent (any state)"))
    out += [(s, EvaluationStatus(s).label) for s in shown]
    return out


def status_clause(actor: Any, status: str, policy: Policy,
                  now: dt.datetime) -> ColumnElement[bool] | None:
    """The WHERE clause of a status filter's choice; a choice the actor is not offered is a
    400 that names the ones they are."""
    if not status:
        return None
    offered = dict(status_choices(actor))
    if status not in offered:
        raise BadInput(f"There is no status {status[:40]!r} to filter on here; choose one of: "
                       + ", ".join(offered.values()) + ".")
    if status == TO_ACKNOWLEDGE:
        return to_acknowledge_clause(actor, policy, now)
    if status == WITH_AGENT:
        return Evaluation.status.in_(RELEASED_STATUSES)
    return Evaluation.status == status


def evaluator_queue(session: Session, actor: Any, limit: int = 200) -> EvaluationPage:
    """The actor's assignments not yet submitted, the earliest due first."""
    rows = session.scalars(
        select(Evaluation).options(*LIST_OPTIONS)
        .where(Evaluation.evaluator_id == actor.id, Evaluation.status.in_(OPEN_STATUSES))
        .order_by(Evaluation.due_on, Evaluation.id).limit(limit)).all()
    return EvaluationPage(list(rows), None)


def list_evaluations(session: Session, actor: Any, *, status: str = "",
                     agent_id: int | None = None, evaluator_id: int | None = None,
                     submitted_since: dt.datetime | None = None,
                     before: int | None = None, limit: int = 50,
                     policy: Policy | None = None,
                     now: dt.datetime | None = None) -> EvaluationPage:
    """Evaluations the actor may see, newest first, keyset-paged on id; ``status`` is one of
    ``status_choices``."""
    stmt = select(Evaluation).options(*LIST_OPTIONS).where(visible_clause(actor))
    clause = status_clause(actor, status, policy or Policy(), now or dt.datetime.now(dt.UTC))
    if clause is not None:
        stmt = stmt.where(clause)
    if submitted_since is not None:
        stmt = stmt.where(Evaluation.submitted_at >= submitted_since)
    if agent_id:
        stmt = stmt.where(Evaluation.agent_id == agent_id)
    if evaluator_id:
        stmt = stmt.where(Evaluation.evaluator_id == evaluator_id)
    if before:
        stmt = stmt.where(Evaluation.id < before)
    rows = list(session.scalars(stmt.order_by(Evaluation.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return EvaluationPage(rows, rows[-1].id if more and rows else None)


def by_ids(session: Session, ids: list[int]) -> list[Evaluation]:
    """The evaluations of ``ids`` as a list shows them (``LIST_OPTIONS``), in that order."""
    found = {e.id: e for e in session.scalars(
        select(Evaluation).options(*LIST_OPTIONS).where(Evaluation.id.in_(ids)))} if ids else {}
    return [found[i] for i in ids if i in found]


def active_evaluators(session: Session) -> list[int]:
    return list(session.scalars(
        select(User.id).join(UserRole).where(UserRole.role == Role.QA_EVALUATOR.value,
                                             User.active).order_by(User.id)))
