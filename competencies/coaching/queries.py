"""The read side of coaching: the coaching log (per agent, per team), open action items, and
whether coaching worked (scores on a session's focus before and after it)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from competencies.coaching import effect, suggest
from competencies.coaching.models import ActionItem, CoachingSession, CoachingStatus
from qm.auth.models import User, UserRole
from qm.auth.permissions import Role, scope_clause
from scoring.evaluations.models import COUNTED, Evaluation, EvaluationAnswer
from scoring.forms.models import FormVersion


def log(session: Session, actor: Any, *, agent_id: int | None = None,
        team_id: int | None = None, status: str | None = None) -> list[CoachingSession]:
    """Coaching sessions ``actor`` may see, the latest planned first, with their action items;
    narrowed to one agent, one team (the agent's team when the session was opened) or one
    status."""
    stmt = (select(CoachingSession)
            .where(scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                                CoachingSession.team_id))
            .options(selectinload(CoachingSession.actions), selectinload(CoachingSession.agent))
            .order_by(CoachingSession.planned_on.desc(), CoachingSession.id.desc()))
    if agent_id is not None:
        stmt = stmt.where(CoachingSession.agent_id == agent_id)
    if team_id is not None:
        stmt = stmt.where(CoachingSession.team_id == team_id)
    if status is not None:
        stmt = stmt.where(CoachingSession.status == status)
    return list(session.scalars(stmt))


def open_actions(session: Session, actor: Any, *, as_of: dt.date,
                 overdue_only: bool = False) -> list[ActionItem]:
    """Action items not done yet, of sessions not cancelled, that ``actor`` may see (or that
    ``actor`` owns), the earliest due first; ``overdue_only``: due before ``as_of``."""
    stmt = (select(ActionItem).join(CoachingSession)
            .where(ActionItem.done_at.is_(None),
                   CoachingSession.status != CoachingStatus.CANCELLED.value,
                   scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                                CoachingSession.team_id)
                   | (ActionItem.owner_id == getattr(actor, "id", None)))
            .options(selectinload(ActionItem.session).selectinload(CoachingSession.agent),
                     selectinload(ActionItem.owner))
            .order_by(ActionItem.due_on, ActionItem.id))
    if overdue_only:
        stmt = stmt.where(ActionItem.due_on < as_of)
    return list(session.scalars(stmt))


def focus_scores(session: Session, item: CoachingSession, *, since: dt.date,
                 until: dt.date) -> list[tuple[dt.date, float]]:
    """Per evaluation of the session's agent submitted between ``since`` and ``until`` (both
    included, UTC dates), the share of points (0-100) on the session's focus: the answers to
    its focus questions and to questions tagged with its focus competencies; the whole score
    when the session names no focus. Only what the averages count (released, not targeted,
    as the scorecard does); an evaluation with no answer on the focus is left out."""
    start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    rows = session.execute(
        select(Evaluation.id, Evaluation.submitted_at, Evaluation.form_version_id,
               EvaluationAnswer.question_key, EvaluationAnswer.earned,
               EvaluationAnswer.possible)
        .join(EvaluationAnswer, EvaluationAnswer.evaluation_id == Evaluation.id)
        .where(Evaluation.agent_id == item.agent_id, *COUNTED, EvaluationAnswer.possible > 0,
               Evaluation.submitted_at >= start, Evaluation.submitted_at < end))
    questions, competencies = set(item.focus_questions), set(item.focus_competencies)
    tags: dict[int, dict[str, set[str]]] = {}
    points: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    days: dict[int, dt.date] = {}
    for evaluation_id, at, version_id, key, earned, possible in rows:
        if version_id not in tags:
            definition = session.get(FormVersion, version_id).definition
            tags[version_id] = {q["key"]: set(q.get("competencies", []))
                                for section in definition["sections"]
                                for q in section["questions"]}
        focused = (not questions and not competencies) or key in questions or bool(
            tags[version_id].get(key, set()) & competencies)
        if focused:
            points[evaluation_id][0] += float(earned)
            points[evaluation_id][1] += float(possible)
            days[evaluation_id] = at.date()
    return sorted((days[i], 100 * earned / possible) for i, (earned, possible)
                  in points.items() if possible > 0)


def session_effect(session: Session, item: CoachingSession, *,
                   days: int = effect.WINDOW_DAYS) -> effect.Effect | None:
    """Scores on the session's focus ``days`` before and after it (``effect.compare``); None
    for a session not held."""
    if item.status != CoachingStatus.HELD.value or item.held_on is None:
        return None
    scored = focus_scores(session, item, since=item.held_on - dt.timedelta(days=days),
                          until=item.held_on + dt.timedelta(days=days))
    before, after = effect.split_window(scored, item.held_on, days, days)
    return effect.compare(before, after)


@dataclass(frozen=True)
class Effectiveness:
    """Every held session the viewer may see with its effect, and the share followed by
    improvement per coach and per team."""

    sessions: list[tuple[CoachingSession, effect.Effect]]
    by_coach: dict[str, effect.Share]
    by_team: dict[str, effect.Share]


def effectiveness(session: Session, actor: Any, *, team_id: int | None = None,
                  days: int = effect.WINDOW_DAYS) -> Effectiveness:
    held = log(session, actor, team_id=team_id, status=CoachingStatus.HELD.value)
    rows = [(item, session_effect(session, item, days=days)) for item in held]
    judged = [(item, found) for item, found in rows if found is not None]
    coaches: dict[str, list[effect.Effect]] = defaultdict(list)
    teams: dict[str, list[effect.Effect]] = defaultdict(list)
    for item, found in judged:
        coaches[item.coach.display_name if item.coach else "-"].append(found)
        teams[item.agent.team.name if item.agent.team else "(no team)"].append(found)
    return Effectiveness(
        sessions=judged,
        by_coach={name: effect.share_improved(found) for name, found in sorted(coaches.items())},
        by_team={name: effect.share_improved(found) for name, found in sorted(teams.items())})


@dataclass(frozen=True)
class Suggested:
    """A suggestion with what a lead needs to act on it."""

    agent: User
    label: str  # the question's text or the competency's code
    found: suggest.Suggestion


def suggestions(session: Session, actor: Any, *, as_of: dt.date, days: int = 90,
                open_days: int = 30) -> list[Suggested]:
    """Agents ``actor`` may coach whose recent scores on a question or a competency call for
    coaching (``suggest.suggest``), from counted evaluations of the last ``days``. Coaching
    counts as open on a subject while its session is scheduled, or held in the last
    ``open_days``."""
    agents = {u.id: u for u in session.scalars(
        select(User).join(UserRole).where(
            UserRole.role == Role.AGENT.value, User.active,
            scope_clause(actor, "coaching.manage", User.id, User.team_id)))}
    if not agents:
        return []
    since = dt.datetime.combine(as_of - dt.timedelta(days=days), dt.time.min, tzinfo=dt.UTC)
    rows = session.execute(
        select(Evaluation.agent_id, Evaluation.form_version_id, EvaluationAnswer.question_key,
               EvaluationAnswer.earned, EvaluationAnswer.possible)
        .join(EvaluationAnswer, EvaluationAnswer.evaluation_id == Evaluation.id)
        .where(Evaluation.agent_id.in_(list(agents)), *COUNTED, EvaluationAnswer.possible > 0,
               Evaluation.submitted_at >= since)
        .order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc()))
    forms: dict[int, dict[str, tuple[str, list[str]]]] = {}
    labels: dict[suggest.Subject, str] = {}
    answers: dict[int, dict[suggest.Subject, list[tuple[float, float]]]] = defaultdict(
        lambda: defaultdict(list))
    for agent_id, version_id, key, earned, possible in rows:
        if version_id not in forms:
            definition = session.get(FormVersion, version_id).definition
            forms[version_id] = {q["key"]: (q.get("text", q["key"]),
                                            list(q.get("competencies", [])))
                                 for section in definition["sections"]
                                 for q in section["questions"]}
        text, codes = forms[version_id].get(key, (key, []))
        point = (float(earned), float(possible))
        labels.setdefault(("question", key), text)
        answers[agent_id][("question", key)].append(point)
        for code in codes:
            labels.setdefault(("competency", code), code)
            answers[agent_id][("competency", code)].append(point)
    covered: dict[int, set[suggest.Subject]] = defaultdict(set)
    recently_held = ((CoachingSession.status == CoachingStatus.HELD.value)
                     & (CoachingSession.held_on >= as_of - dt.timedelta(days=open_days)))
    for item in session.scalars(select(CoachingSession).where(
            CoachingSession.agent_id.in_(list(agents)),
            (CoachingSession.status == CoachingStatus.SCHEDULED.value) | recently_held)):
        covered[item.agent_id] |= {("question", k) for k in item.focus_questions}
        covered[item.agent_id] |= {("competency", c) for c in item.focus_competencies}
    found = suggest.suggest(answers, {a.id: a.team_id for a in agents.values()}, covered)
    return [Suggested(agents[f.agent_id], labels[f.subject], f) for f in found]
