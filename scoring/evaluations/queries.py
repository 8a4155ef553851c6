"""Read side for evaluations: the evaluator's queue, the scoped evaluation list, the active
evaluators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, defer, joinedload

from qm.auth.models import User, UserRole
from qm.auth.permissions import Role
from qm.interactions.models import Interaction
from scoring.evaluations.models import OPEN_STATUSES, Evaluation
from scoring.evaluations.services import visible_clause

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


def evaluator_queue(session: Session, actor: Any, limit: int = 200) -> EvaluationPage:
    """The actor's assignments not yet submitted, the earliest due first."""
    rows = session.scalars(
        select(Evaluation).options(*LIST_OPTIONS)
        .where(Evaluation.evaluator_id == actor.id, Evaluation.status.in_(OPEN_STATUSES))
        .order_by(Evaluation.due_on, Evaluation.id).limit(limit)).all()
    return EvaluationPage(list(rows), None)


def list_evaluations(session: Session, actor: Any, *, status: str = "",
                     agent_id: int | None = None, evaluator_id: int | None = None,
                     before: int | None = None, limit: int = 50) -> EvaluationPage:
    """Evaluations the actor may see, newest first, keyset-paged on id."""
    stmt = select(Evaluation).options(*LIST_OPTIONS).where(visible_clause(actor))
    if status:
        stmt = stmt.where(Evaluation.status == status)
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


def active_evaluators(session: Session) -> list[int]:
    return list(session.scalars(
        select(User.id).join(UserRole).where(UserRole.role == Role.QA_EVALUATOR.value,
                                             User.active).order_by(User.id)))
