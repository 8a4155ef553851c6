"""Reviewing disputes: who may decide one, the lists, and the decision (which may amend the
evaluation's answers, as a new revision)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, true
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.permissions import can, scope_clause
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, StaleEdit
from qm.notifications.services import notify
from scoring.evaluations.models import (
    Dispute,
    DisputeStatus,
    Evaluation,
    EvaluationStatus,
)
from scoring.evaluations.services import (
    apply_result,
    clean_answers,
    clean_notes,
    form_of,
    record_revision,
    revised_notes,
    set_answers,
    visible,
    visible_clause,
)
from scoring.forms import rules


def may_review(actor: Any, item: Dispute) -> bool:
    evaluation = item.evaluation
    return (can(actor, "dispute.review", evaluation) and actor.id != evaluation.evaluator_id
            and actor.id != evaluation.agent_id)


def reviewable_clause(actor: Any) -> ColumnElement[bool]:
    clause = scope_clause(actor, "dispute.review", Evaluation.agent_id, Evaluation.team_id)
    if getattr(actor, "id", None) is None:
        return and_(clause, true())
    return and_(clause, Evaluation.evaluator_id != actor.id, Evaluation.agent_id != actor.id)


def disputes_clause(actor: Any) -> ColumnElement[bool]:
    """The disputes a list shows ``actor``: a reviewer those they may decide; a reader who
    decides none (an auditor) every dispute of the evaluations in their view scope."""
    if can(actor, "dispute.review"):
        return reviewable_clause(actor)
    return and_(scope_clause(actor, "dispute.view", Evaluation.agent_id, Evaluation.team_id),
                visible_clause(actor))


def list_disputes(session: Session, actor: Any, limit: int = 200) -> list[Dispute]:
    """Open disputes first, then the newest (``disputes_clause``); for the page and the API."""
    return list(session.scalars(
        select(Dispute).join(Evaluation).where(disputes_clause(actor))
        .order_by(Dispute.status != DisputeStatus.OPEN.value, Dispute.raised_at.desc())
        .limit(limit)))


def get_dispute(session: Session, actor: Any, dispute_id: int) -> Dispute:
    item = session.get(Dispute, dispute_id)
    if item is None or not (visible(actor, item.evaluation) or may_review(actor, item)):
        raise NotFound("Dispute", dispute_id)
    return item


def decide(session: Session, actor: Any, dispute_id: int, outcome: str, comment: str, *,
           answers: dict[str, Any] | None = None, notes: dict[str, Any] | None = None,
           expected_version: int | None = None, now: dt.datetime | None = None) -> Dispute:
    """Uphold the evaluation or adjust its answers; either way a new revision records it.

    ``notes`` replace the feedback of the questions they name, in the new revision; a question
    whose answer changes loses the feedback written about its old answer (``revised_notes``).
    """
    item = get_dispute(session, actor, dispute_id)
    evaluation = item.evaluation
    if not may_review(actor, item):
        raise Conflict("A dispute is decided by a reviewer who neither scored the evaluation "
                       "nor was evaluated in it; nothing was changed.")
    if item.status != DisputeStatus.OPEN.value:
        raise Conflict(f"Dispute #{item.id} was already decided ({item.status}); nothing was "
                       "changed.")
    if expected_version is not None and expected_version != item.version:
        raise StaleEdit("dispute")
    if outcome not in (DisputeStatus.UPHELD.value, DisputeStatus.ADJUSTED.value):
        raise InvalidInput("The outcome is 'upheld' or 'adjusted'.", {"outcome": "choose one"})
    comment = comment.strip()
    if not comment:
        raise InvalidInput("Explain the decision to the agent.", {"comment": "required"})
    result = None
    form = form_of(evaluation)
    cleaned = evaluation.answers
    if outcome == DisputeStatus.UPHELD.value and answers is not None and clean_answers(
            form, answers) != evaluation.answers:
        raise InvalidInput("You changed answers but chose 'upheld': choose 'adjusted' to keep "
                           "the changes, or undo them to uphold.", {"outcome": "adjusted?"})
    if outcome == DisputeStatus.ADJUSTED.value:
        cleaned = clean_answers(form, answers or {})
        if cleaned == evaluation.answers:
            raise InvalidInput("An adjustment changes at least one answer; to keep the "
                               "answers, uphold the evaluation.")
        try:
            result = rules.score(form, cleaned)
        except rules.AnswerError as exc:
            raise InvalidInput("Some answers are missing or do not fit their question.",
                               exc.problems) from None
    new_notes = revised_notes(evaluation.answers, cleaned, evaluation.notes,
                              clean_notes(form, notes))
    now = now or utcnow()
    with audit.change(session, actor, "evaluation.revised", evaluation), \
            audit.change(session, actor, f"dispute.{outcome}", item):
        if result is not None:
            set_answers(evaluation, cleaned, new_notes, evaluation.comment)
            apply_result(session, evaluation, result)
        elif new_notes != evaluation.notes:
            evaluation.notes = new_notes  # upheld: the answers stand, feedback replaced
        item.status = outcome
        item.outcome = comment
        item.decided_by_id = actor.id
        item.decided_at = now
        evaluation.status = EvaluationStatus.RELEASED.value
        evaluation.released_at = now  # the agent's window restarts with the decision
        record_revision(session, evaluation, outcome, actor, now, item)
    notify(session, actor, [evaluation.agent_id], "dispute.decided",
           f"Your dispute of evaluation #{evaluation.id} was decided: {outcome}.",
           f"/evaluations/{evaluation.id}")
    return item


@dataclass(frozen=True)
class DisputeRow:
    """A dispute as the list shows it: how long it has waited, and whether that is longer than
    the site's review target (``Policy.review_days``)."""

    dispute: Dispute
    age_days: int | None  # whole days since it was raised; None once decided
    overdue: bool


def waiting(item: Dispute, review_days: int, now: dt.datetime) -> DisputeRow:
    """An open dispute's age in whole days since it was raised (raised 63 days and 5 hours ago:
    63), overdue once older than ``review_days`` (5: from the 6th day). A decided one has
    neither."""
    if item.status != DisputeStatus.OPEN.value:
        return DisputeRow(item, None, False)
    age = max(0, (now - item.raised_at).days)
    return DisputeRow(item, age, age > review_days)


def open_disputes_count(session: Session, actor: Any) -> int:
    return session.scalar(
        select(func.count(Dispute.id)).join(Evaluation)
        .where(Dispute.status == DisputeStatus.OPEN.value, disputes_clause(actor))
    ) or 0
