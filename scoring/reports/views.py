"""Report pages: the agent's scorecard, evaluator and team reports, evaluator drift."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
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
from qm.inputs import BadInput, id_arg
from qm.interactions.models import Channel, Interaction
from qm.spreadsheets import export_format, table_response
from qm.web import db, id_href, person_panels, record_links, settings, viewer_zone
from scoring.calibration import services as cal_services
from scoring.evaluations import models as evaluation_models
from scoring.evaluations import queries as evaluation_queries
from scoring.evaluations import services as ev
from scoring.evaluations.models import Evaluation
from scoring.forms.models import ScoringForm
from scoring.reports import charts
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
    fmt = export_format(request.args)
    card = reports.scorecard(db.session, agent, timezone=settings().timezone,
                             visible=ev.visible_shape(current_user))
    if fmt:
        name = f"scorecard-{agent.username}"
        if _table("trend", "questions") == "questions":
            return table_response(fmt, f"{name}-questions", "What to work on next",
                                  ["question key", "question", "points earned %", "scored"],
                                  ([q["key"], q["text"], _r(q["percent"], 0), q["n"]]
                                   for q in card.weakest), widths=[14, 48, 14, 8])
        return table_response(fmt, f"{name}-trend", "Scorecard trend",
                              ["month", "evaluations", "mean"],
                              ([m["month"], m["n"], _r(m["mean"])] for m in card.trend))
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
                           panels=person_panels(agent), question_links=question_links,
                           trend_chart=charts.trend_chart(card.trend, card.peer_mean),
                           recent_rows=charts.recent_rows(
                               card.recent, id_href("evaluations.evaluation", "evaluation_id"),
                               viewer_zone()))


def _r(value: float | None, digits: int = 1) -> float | None:
    """A figure rounded as the page shows it, so that an export matches the screen."""
    return None if value is None else round(value, digits)


def _table(*choices: str) -> str:
    """Which of a page's tables an export asks for (``?table=``, the first choice when
    absent); a 400 that names the choices for anything else."""
    table = request.args.get("table") or choices[0]
    if table not in choices:
        raise BadInput(f"The parameter 'table' is one of {', '.join(choices)}, "
                       f"not {table[:20]!r}.")
    return table


def _distribution_export(fmt: str, name: str, rows: list[Any]) -> Any:
    def lines() -> Any:
        for r in rows:
            q = r.quartiles or (None,) * 5
            s = r.summary
            yield [r.evaluator_id, r.evaluator, s.n, _r(s.mean), _r(s.low), _r(s.high),
                   _r(s.sd), _r(r.difference), *[_r(v) for v in q], r.flag]
    return table_response(fmt, name, "Evaluator consistency",
                          ["evaluator id", "evaluator", "evaluations", "mean", "95% CI low",
                           "95% CI high", "sd", "vs peers", "min", "lower quartile",
                           "median", "upper quartile", "max", "flag"], lines())


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
    fmt = export_format(request.args)
    rows = reports.evaluator_distributions(db.session, where)
    if fmt:
        return _distribution_export(fmt, f"evaluators-{days}-days", rows)
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
    fmt = export_format(request.args)
    if fmt:
        name = f"team-{team.id}-{days}-days"
        table = _table("agents", "questions", "evaluators")
        if table == "evaluators":
            return _distribution_export(fmt, f"{name}-evaluators",
                                        reports.evaluator_distributions(db.session, where))
        if table == "questions":
            return table_response(
                fmt, f"{name}-questions", "Weakest questions",
                ["question key", "question", "points earned %", "scored"],
                ([q["key"], q["text"], _r(q["percent"], 0), q["n"]] for q in
                 reports.weakest_questions(db.session, [*where, *evaluation_models.COUNTED])))
        return table_response(
            fmt, f"{name}-agents", f"{team.name} agents",
            ["agent id", "agent", "evaluations", "mean", "95% CI low", "95% CI high",
             "conclusive"],
            ([agent.id, agent.display_name, s.n, _r(s.mean), _r(s.low), _r(s.high),
              s.conclusive] for agent, s in reports.agent_summaries(db.session, where)),
            widths=[9, 24, 11, 8, 11, 11, 10])
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
    fmt = export_format(request.args)
    if fmt:
        return table_response(
            fmt, "evaluator-drift", "Evaluator drift",
            ["evaluator id", "evaluator", "month", "evaluations", "mean", "peers' mean",
             "difference", "alerts"],
            ([r.evaluator.id, r.evaluator.display_name, m["month"], m["n"], _r(m["mean"]),
              _r(m["peers"]), _r(m["diff"]), "; ".join(r.alerts)]
             for r in rows for m in r.months), widths=[11, 24, 9, 11, 8, 11, 10, 60])
    return render_template("scoring/reports/drift.html", rows=rows, threshold=threshold,
                           months=months)


@bp.get("/reports")
@login_required
def reports_home() -> Any:
    """Every report this user may open, grouped by what it is about. Each domain registers a
    provider (``app.extensions["qm"]["reports"]``) that returns only what the user may see,
    as the home page's cards are registered; this page knows none of them."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for provider in current_app.extensions["qm"].get("reports", []):
        for entry in provider(current_user):
            groups.setdefault(entry.get("group", "Other"), []).append(entry)
    return render_template("scoring/reports/home.html", groups=groups)


def _dashboard_filters() -> tuple[reports.Filters, list[str]]:
    """The dashboard's filters from the query string, and a message for each value that could
    not be used (the page says so, keeps what was typed, and shows the default instead)."""
    problems: list[str] = []
    end, channel = reports.window_args(request.args, settings().timezone, problems)
    by = request.args.get("by", "")
    if by and by not in reports.BREAKDOWNS:
        problems.append(f"Scores cannot be broken down by {by!r}; showing one series.")
        by = ""
    return reports.Filters(end, team_id=id_arg(request.args, "team_id"),
                           queue=request.args.get("queue", "").strip()[:100],
                           channel=channel, form_id=id_arg(request.args, "form_id"),
                           by=by), problems


@bp.get("/reports/dashboard")
@permission_required("report.view")
def dashboard_page() -> Any:
    filters, problems = _dashboard_filters()
    labels, bounds = reports.month_bounds(filters.end, ZoneInfo(settings().timezone))
    scope = scope_clause(current_user, "report.view", Evaluation.agent_id, Evaluation.team_id)
    where = filters.where(scope, bounds)
    fmt = export_format(request.args)
    if fmt:
        return _dashboard_export(fmt, filters, where, labels, bounds)
    overall = reports.score_trend(db.session, where, labels, bounds)[0]
    teams = [t for t in db.session.scalars(select(Team).order_by(Team.name))
             if can(current_user, "report.view", t)]
    return render_template(
        "scoring/reports/dashboard.html", filters=filters, problems=problems,
        labels=labels, overall=overall, teams=teams,
        breakdown=reports.score_trend(db.session, where, labels, bounds, filters.by)
        if filters.by else [],
        breakdowns=reports.BREAKDOWNS,
        fails=reports.critical_fail_rate(db.session, where, labels, bounds),
        questions=reports.most_failed_questions(db.session, where),
        calibrations=reports.calibration_agreement(
            db.session, cal_services.visible_clause(current_user), bounds, filters.team_id),
        queues=[q for q in db.session.scalars(
            select(Interaction.queue).distinct().order_by(Interaction.queue).where(
                scope_clause(current_user, "report.view", Interaction.agent_id,
                             Interaction.team_id))) if q],
        channels=[c.value for c in Channel],
        forms=db.session.execute(select(ScoringForm.id, ScoringForm.name)
                                 .order_by(ScoringForm.name)).all())


def _dashboard_export(fmt: str, filters: reports.Filters, where: list[Any],
                      labels: list[str], bounds: list[dt.datetime]) -> Any:
    """One of the dashboard's tables (``?table=``), with the page's filters applied."""
    table = _table("trend", "breakdown", "fails", "questions", "calibration")
    name = f"qa-{table}-to-{labels[-1]}"
    summary_header = ["month", "evaluations", "mean", "95% CI low", "95% CI high", "sd"]

    def summary_row(month: str, s: Any) -> list[Any]:
        return [month, s.n, _r(s.mean), _r(s.low), _r(s.high), _r(s.sd)]

    if table == "breakdown":
        by = filters.by or "team"
        series = reports.score_trend(db.session, where, labels, bounds, by)
        return table_response(
            fmt, f"{name}-by-{by}", f"Scores by {by}", [reports.BREAKDOWNS[by].lower(),
                                                         *summary_header],
            ([s.label, *summary_row(m["month"], m["summary"])] for s in series
             for m in s.months))
    if table == "fails":
        return table_response(
            fmt, name, "Critical-fail rate", ["month", "evaluations", "critical fails",
                                              "rate %"],
            ([m["month"], m["n"], m["fails"], _r(m["rate"])]
             for m in reports.critical_fail_rate(db.session, where, labels, bounds)))
    if table == "questions":
        return table_response(
            fmt, name, "Most failed questions", ["question key", "question", "failed",
                                                 "answered", "failed %"],
            ([q["key"], q["text"], q["failed"], q["n"], _r(q["percent"], 0)]
             for q in reports.most_failed_questions(db.session, where)),
            widths=[14, 48, 8, 9, 9])
    if table == "calibration":
        zone = ZoneInfo(current_user.timezone or settings().timezone)
        rows = reports.calibration_agreement(
            db.session, cal_services.visible_clause(current_user), bounds, filters.team_id)
        return table_response(
            fmt, name, "Calibration agreement",
            ["session id", "session", f"closed ({zone.key})", "krippendorff alpha",
             "percent agreement"],
            ([r["session_id"], r["title"], r["closed_at"].astimezone(zone).replace(tzinfo=None),
              _r(r["alpha"], 2), _r(r["agreement"] * 100, 0) if r["agreement"] is not None
              else None] for r in rows), widths=[10, 36, 20, 18, 18])
    overall = reports.score_trend(db.session, where, labels, bounds)[0]
    return table_response(fmt, name, "Score trend", summary_header,
                          (summary_row(m["month"], m["summary"]) for m in overall.months))
