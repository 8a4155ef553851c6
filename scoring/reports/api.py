"""/api/v1/scorecards: an agent's scorecard, as the page shows it."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_smorest import Blueprint

from qm.auth.access import api_permission, api_user
from qm.auth.models import User
from qm.auth.permissions import can
from qm.web import api_error, db, settings
from scoring.evaluations import queries as ev_queries
from scoring.evaluations import services as ev
from scoring.evaluations.api import dump_evaluation
from scoring.reports import queries as reports

blp = Blueprint("api-reports", __name__, url_prefix="/api/v1",
                description="Scorecards")


@blp.get("/scorecards/<int:user_id>")
@api_permission("evaluation.view")
@blp.response(200, description="mean with 95% CI, 12-month trend, weakest questions")
def scorecard(user_id: int) -> Any:
    agent = db.session.get(User, user_id)
    if agent is None or not can(api_user(), "evaluation.view", agent):
        abort(api_error(404, f"User {user_id} does not exist or is not visible to you."))
    card = reports.scorecard(db.session, agent,
                             timezone=settings().timezone,
                             visible=ev.visible_shape(api_user()))
    s = card.summary
    return {"agent_id": agent.id, "n": s.n, "mean": s.mean, "sd": s.sd,
            "ci95": [s.low, s.high] if s.low is not None else None,
            "conclusive": s.conclusive, "verdict": s.verdict, "peer_mean": card.peer_mean,
            "critical_fails": card.critical_fails, "targeted": card.targeted,
            "trend": card.trend,
            "weakest_questions": card.weakest,
            "recent": [dump_evaluation(e, api_user(), full=False)
                       for e in ev_queries.by_ids(db.session, [r.id for r in card.recent])]}
