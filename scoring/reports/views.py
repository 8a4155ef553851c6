"""Report pages: the agent's scorecard, evaluator and team reports, evaluator drift."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from qm.auth.access import login_required, permission_required
from qm.auth.models import Team, User
from qm.auth.permissions import can, scope_clause
from qm.inputs import id_arg
from qm.web import db, person_panels, record_links, settings
from scoring.evaluations import models as evaluation_models
from scoring.evaluations import queries as evaluation_queries
from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation
from scoring.reports import drift as drift_report
from scoring.reports import queries as reports

bp = Blueprint("reports", __name__)


@bp.get("/scorecard")
@login_required
def my_scorecard() -> Any:
    return redirect(url_for("reports.scorecard", user_id=current_user.id))


@bp.get("/scorecards/<int:user_id>")
@permission_required("evaluation.view")
def scorecard(user_id: int) -> Any:
    agent = db.session.get(User, user_id)
    if agent is None or not can(current_user, "evaluation.view", agent):
        abort(404)
    card = reports.scorecard(db.session, agent, timezone=settings().timezone,
                             visible=ev.visible_clause(current_user))
    # actions other domains offer on a weak question (coaching: "Coach on this")
    question_links = {q["key"]: record_links("weak_question", {"agent": agent, **q})
                      for q in card.weakest}
    # the full list behind "Recent evaluations": this agent, this period, released (an agent's
    # own list holds nothing else, so it is not offered that filter)
    offered = dict(evaluation_queries.status_choices(current_user))
    list_link = url_for("evaluations.evaluations", tab="all", agent_id=agent.id,
                        since=card.since.isoformat() if card.since else None,
                        status=evaluation_queries.WITH_AGENT
                        if evaluation_queries.WITH_AGENT in offered else None)
    return render_template("scoring/reports/scorecard.html", card=card, list_link=list_link,
                           panels=person_panels(agent), question_links=question_links)


def _since() -> tuple[int, dt.datetime]:
    days = request.args.get("days", 90, type=int)
    days = days if days in (30, 90, 180, 365) else 90
    return days, dt.datetime.now(dt.UTC) - dt.timedelta(days=days)


@bp.get("/reports/evaluators")
@permission_required("report.view")
def evaluator_report() -> Any:
    days, since = _since()
    team_id = id_arg(request.args, "team_id")
    where = [Evaluation.submitted_at >= since,
             scope_clause(current_user, "report.view", Evaluation.agent_id, Evaluation.team_id)]
    if team_id:
        where.append(Evaluation.team_id == team_id)
    rows = reports.evaluator_distributions(db.session, where)
    teams = [t for t in db.session.scalars(select(Team).order_by(Team.name))
             if can(current_user, "report.view", t)]
    return render_template("scoring/reports/evaluator_report.html", rows=rows, days=days,
                           teams=teams, team_id=team_id)


@bp.get("/reports/teams/<int:team_id>")
@permission_required("report.view")
def team_report(team_id: int) -> Any:
    team = db.session.get(Team, team_id)
    if team is None or not can(current_user, "report.view", team):
        abort(404)
    days, since = _since()
    where = [Evaluation.team_id == team.id, Evaluation.submitted_at >= since]
    return render_template(
        "scoring/reports/team_report.html", team=team, days=days,
        agents=reports.agent_summaries(db.session, where),
        overall=reports.summary_of(db.session, where),
        weakest=reports.weakest_questions(db.session, [*where, *evaluation_models.COUNTED]),
        evaluators=reports.evaluator_distributions(db.session, where))


@bp.get("/reports/drift")
@permission_required("report.view")
def drift() -> Any:
    threshold = float(settings().drift_threshold)
    rows = drift_report.evaluator_drift(db.session, current_user, threshold=threshold,
                                        timezone=settings()
                                        .timezone)
    months = drift_report.month_labels(settings().timezone)
    return render_template("scoring/reports/drift.html", rows=rows, threshold=threshold,
                           months=months)
