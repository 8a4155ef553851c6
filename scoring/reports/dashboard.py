"""The scoring domain's cards on the home page."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qm.auth.permissions import can, scope_clause
from qm.db import utcnow
from qm.interactions.models import Interaction
from scoring.evaluations.disputes import open_disputes_count
from scoring.evaluations.models import OPEN_STATUSES, Evaluation, EvaluationStatus


def cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    if not can(actor, "interaction.view"):
        return []
    since = utcnow() - dt.timedelta(days=7)
    count = session.scalar(
        select(func.count(Interaction.id)).where(
            scope_clause(actor, "interaction.view", Interaction.agent_id, Interaction.team_id),
            Interaction.started_at >= since,
        )
    )
    return [{"title": "Interactions, last 7 days", "value": count,
             "link": url_for("interactions.interactions"), "link_text": "Browse interactions"}]


def evaluation_cards(session: Session, actor: Any) -> list[dict[str, Any]]:
    """What waits for this user: assignments to score, disputes to decide, results to read."""
    out = []
    if can(actor, "evaluation.score"):
        count = session.scalar(select(func.count(Evaluation.id)).where(
            Evaluation.evaluator_id == actor.id, Evaluation.status.in_(OPEN_STATUSES)))
        out.append({"title": "My evaluation queue", "value": count,
                    "link": url_for("evaluations.evaluations", tab="queue"),
                    "link_text": "Start scoring"})
    if can(actor, "dispute.review"):
        out.append({"title": "Disputes to review", "value": open_disputes_count(session, actor),
                    "link": url_for("evaluations.disputes"), "link_text": "Review disputes"})
    if can(actor, "evaluation.release") and not can(actor, "evaluation.score"):
        count = session.scalar(select(func.count(Evaluation.id)).where(
            Evaluation.status == EvaluationStatus.SUBMITTED.value,
            scope_clause(actor, "evaluation.release", Evaluation.agent_id, Evaluation.team_id)))
        out.append({"title": "Waiting for release", "value": count,
                    "link": url_for("evaluations.evaluations", tab="all", status="submitted"),
                    "link_text": "Release evaluations"})
    if can(actor, "evaluation.respond"):
        count = session.scalar(select(func.count(Evaluation.id)).where(
            Evaluation.agent_id == actor.id,
            Evaluation.status == EvaluationStatus.RELEASED.value))
        out.append({"title": "Evaluations to acknowledge", "value": count,
                    "link": url_for("evaluations.evaluations", tab="all", status="released"),
                    "link_text": "Read my evaluations"})
        out.append({"title": "My scorecard", "value": "",
                    "link": url_for("reports.my_scorecard"), "link_text": "Open"})
    return out
