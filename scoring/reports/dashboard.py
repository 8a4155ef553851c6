"""The scoring domain's cards on the home page."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.auth.permissions import can, scope_clause
from qm.db import utcnow
from qm.interactions.models import Interaction
from qm.web import settings
from scoring.evaluations import queries as evaluation_queries
from scoring.evaluations.models import OPEN_STATUSES, Evaluation, EvaluationStatus
from scoring.evaluations.services import Policy
from scoring.forms.models import FormVersion, ScoringForm


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
    """What waits for this user, and what of it is late: assignments to score (overdue past
    their due day), disputes to decide (overdue past the review target), results to answer
    (with the last day to answer the soonest). One query per count; "overdue" is defined once
    per kind of work in ``scoring.evaluations.queries``."""
    out = []
    policy, now = Policy.from_settings(settings()), utcnow()
    if can(actor, "evaluation.score"):
        queue = evaluation_queries.queue_backlog(session, actor, policy, now)
        out.append({"title": "My evaluation queue", "value": queue.count,
                    "detail": ["Overdue: not submitted by the due day"] if queue.overdue else [],
                    "overdue": queue.overdue, "id": "card-queue",
                    "link": url_for("evaluations.evaluations", tab="queue"),
                    "link_text": "Start scoring"})
    if can(actor, "dispute.review"):
        disputes = evaluation_queries.disputes_backlog(session, actor, policy, now)
        out.append({"title": "Disputes to review", "value": disputes.count,
                    "detail": [f"Overdue: waiting more than {policy.review_days} days"]
                    if disputes.overdue else [],
                    "overdue": disputes.overdue, "id": "card-disputes",
                    "link": url_for("evaluations.disputes"), "link_text": "Review disputes"})
    if can(actor, "evaluation.release") and not can(actor, "evaluation.score"):
        count = session.scalar(select(func.count(Evaluation.id)).where(
            Evaluation.status == EvaluationStatus.SUBMITTED.value,
            scope_clause(actor, "evaluation.release", Evaluation.agent_id, Evaluation.team_id)))
        out.append({"title": "Waiting for release", "value": count,
                    "link": url_for("evaluations.evaluations", tab="all", status="submitted"),
                    "link_text": "Release evaluations"})
    if can(actor, "evaluation.respond"):
        answers = evaluation_queries.acknowledge_backlog(session, actor, policy, now)
        out.append({"title": "Evaluations to acknowledge", "value": answers.count,
                    "detail": [f"The soonest can be answered until the end of "
                               f"{answers.last_day:%Y-%m-%d}"] if answers.last_day else [],
                    "id": "card-acknowledge",
                    "link": url_for("evaluations.evaluations", tab="all",
                                    status=evaluation_queries.TO_ACKNOWLEDGE),
                    "link_text": "Read and acknowledge"})
        out.append({"title": "My scorecard", "value": "",
                    "link": url_for("reports.my_scorecard"), "link_text": "Open"})
    return out


def reports(actor: Any) -> list[dict[str, Any]]:
    """The scoring reports on the reports home (``/reports``), those ``actor`` may open."""
    out = []
    if can(actor, "evaluation.respond"):
        out.append({"group": "Scores", "title": "My scorecard", "id": "report-my-scorecard",
                    "text": "Your average with its 95% interval, trend and what to work on.",
                    "link": url_for("reports.my_scorecard")})
    if can(actor, "report.view"):
        out += [
            {"group": "Scores", "title": "QA dashboard", "id": "report-dashboard",
             "text": "Score trend with confidence bands per team, agent or queue; critical-fail "
                     "rate; most failed questions; calibration agreement.",
             "link": url_for("reports.dashboard_page")},
            {"group": "Scores", "title": "Evaluator consistency", "id": "report-evaluators",
             "text": "Each evaluator's score distribution against their peers'; team reports.",
             "link": url_for("reports.evaluator_report")},
            {"group": "Scores", "title": "Evaluator drift", "id": "report-drift",
             "text": "Each evaluator's deviation from peers per month and from the reference "
                     "in calibration.",
             "link": url_for("reports.drift")}]
    return out


DIGEST_DETAIL = 5  # lines named under a digest item; the link opens the rest


def digest(session: Session, lead: Any, week: Any) -> list[dict[str, Any]]:
    """A team lead's week (``qm report digest``): the critical failures of the week in their
    teams, each named, and their teams' evaluations past their due day and not scored. Scoped
    by the lead's own permissions; ``week`` is a ``qm.digest.Week``, read in the lead's zone."""
    out: list[dict[str, Any]] = []
    if not can(lead, "evaluation.view"):
        return out
    zone = ZoneInfo(getattr(lead, "timezone", None) or settings().timezone or "UTC")
    start = dt.datetime.combine(week.start, dt.time.min, tzinfo=zone).astimezone(dt.UTC)
    end = dt.datetime.combine(week.end + dt.timedelta(days=1), dt.time.min,
                              tzinfo=zone).astimezone(dt.UTC)
    scope = scope_clause(lead, "evaluation.view", Evaluation.agent_id, Evaluation.team_id)
    fails = (select(Evaluation.id, Evaluation.agent_id, Evaluation.submitted_at,
                    ScoringForm.name)
             .join(FormVersion, FormVersion.id == Evaluation.form_version_id)
             .join(ScoringForm, ScoringForm.id == FormVersion.form_id)
             .where(scope, Evaluation.critical_fail.is_(True),
                    Evaluation.status.not_in(OPEN_STATUSES),
                    Evaluation.submitted_at >= start, Evaluation.submitted_at < end)
             .order_by(Evaluation.submitted_at))
    found = session.execute(fails).all()
    names = dict(session.execute(select(User.id, User.display_name).where(
        User.id.in_({agent for _id, agent, _at, _form in found}))).all()) if found else {}
    out.append({
        "title": "Critical failures this week", "value": len(found), "id": "digest-critical",
        "detail": [f"{names.get(agent, agent)}: {form}, {at.astimezone(zone):%a %d %b} "
                   f"(evaluation {eid})"
                   for eid, agent, at, form in found[:DIGEST_DETAIL]]
        + ([f"and {len(found) - DIGEST_DETAIL} more"] if len(found) > DIGEST_DETAIL else []),
        "link": url_for("reports.dashboard_page", month=f"{week.end:%Y-%m}")})
    today = evaluation_queries.site_today(Policy.from_settings(settings()), utcnow())
    late = session.scalar(select(func.count(Evaluation.id)).where(
        scope, evaluation_queries.evaluation_overdue_clause(today)))
    out.append({"title": "Your teams' evaluations past their due day", "value": late or 0,
                "overdue": bool(late), "id": "digest-late-evaluations",
                "detail": ["Assigned, not submitted by the day they were due"] if late else [],
                "link": url_for("evaluations.evaluations", tab="all",
                                status=EvaluationStatus.ASSIGNED.value)})
    return out
