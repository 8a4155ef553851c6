"""The read side of coaching: the coaching log (per agent, per team), open action items, and
whether coaching worked (scores on a session's focus before and after it)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload

from competencies.coaching import effect, suggest
from competencies.coaching.models import ActionItem, CoachingSession, CoachingStatus
from qm.auth.models import User, UserRole
from qm.auth.permissions import Role, scope_clause, scope_shape
from scoring.evaluations.models import COUNTED, Evaluation, EvaluationAnswer
from scoring.forms.models import FormVersion


def log(session: Session, actor: Any, *, agent_id: int | None = None,
        team_id: int | None = None, status: str | None = None) -> list[CoachingSession]:
    """Coaching sessions ``actor`` may see, the latest planned first, with their action items
    (and their owners), agent (and team) and coach, loaded with them for the exports and the
    effectiveness report; narrowed to one agent, one team (the agent's team when the session
    was opened) or one status."""
    stmt = (select(CoachingSession)
            .where(scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                                CoachingSession.team_id))
            .options(selectinload(CoachingSession.actions).selectinload(ActionItem.owner),
                     selectinload(CoachingSession.agent).selectinload(User.team),
                     selectinload(CoachingSession.coach))
            .order_by(CoachingSession.planned_on.desc(), CoachingSession.id.desc()))
    if agent_id is not None:
        stmt = stmt.where(CoachingSession.agent_id == agent_id)
    if team_id is not None:
        stmt = stmt.where(CoachingSession.team_id == team_id)
    if status is not None:
        stmt = stmt.where(CoachingSession.status == status)
    return list(session.scalars(stmt))


def of_agent(session: Session, actor: Any, agent_id: int) -> list[CoachingSession]:
    """One agent's coaching sessions that ``actor`` may see, the latest planned first, with
    their action items: what a panel about the agent shows (``log`` loads people too, for the
    exports). Two statements, built once per shape of the actor's scope."""
    params: dict[str, Any] = {"agent_id": agent_id}
    scope = scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                         CoachingSession.team_id, params=params)
    stmt = _of_agent(scope_shape(actor, "coaching.view"), scope)
    return list(session.scalars(stmt, params))


_OF_AGENT: dict[Any, Any] = {}


def _of_agent(shape: Any, scope: Any) -> Any:
    stmt = _OF_AGENT.get(shape)
    if stmt is None:
        stmt = _OF_AGENT[shape] = (
            select(CoachingSession)
            .where(scope, CoachingSession.agent_id == bindparam("agent_id"))
            .options(selectinload(CoachingSession.actions))
            .order_by(CoachingSession.planned_on.desc(), CoachingSession.id.desc()))
    return stmt


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


MAX_WINDOW_DAYS = 365
"""The widest window before and after a session that the page and the API take: a year each
side already mixes in whatever else changed for the agent."""


def _window(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The submission times from ``since`` to ``until``, both days included (UTC): [start, end)."""
    return (dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC),
            dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC))


def _counted_answers(agent_ids: Iterable[int], start: dt.datetime, end: dt.datetime) -> Any:
    """The scored answers of the counted evaluations of ``agent_ids`` submitted in [start,
    end): (agent, evaluation, submitted at, form version, question, earned, possible). Ordered
    so that an evaluation's points are added up in the same order on every path: the sums are
    floats, and the batched and the one-session paths must agree to the last digit."""
    return (select(Evaluation.agent_id, Evaluation.id, Evaluation.submitted_at,
                   Evaluation.form_version_id, EvaluationAnswer.question_key,
                   EvaluationAnswer.earned, EvaluationAnswer.possible)
            .join(EvaluationAnswer, EvaluationAnswer.evaluation_id == Evaluation.id)
            .where(Evaluation.agent_id.in_(list(agent_ids)), *COUNTED,
                   EvaluationAnswer.possible > 0,
                   Evaluation.submitted_at >= start, Evaluation.submitted_at < end)
            .order_by(Evaluation.id, EvaluationAnswer.question_key))


_Tags = dict[int, dict[str, set[str]]]
"""Per form version, per question key: the competency codes the question is tagged with."""


def _question_tags(session: Session, version_ids: Iterable[int]) -> _Tags:
    """The competency tags of every question of the form versions, in one query."""
    wanted = sorted(set(version_ids))
    if not wanted:
        return {}
    return {version_id: {q["key"]: set(q.get("competencies", []))
                         for section in definition["sections"] for q in section["questions"]}
            for version_id, definition in session.execute(
                select(FormVersion.id, FormVersion.definition)
                .where(FormVersion.id.in_(wanted)))}


def _focus_points(item: CoachingSession, rows: Iterable[Sequence[Any]],
                  tags: _Tags) -> list[tuple[dt.date, float]]:
    """``focus_scores``' arithmetic on rows of ``_counted_answers`` already narrowed to the
    session's agent and window: one (day, share of points) per evaluation with an answer on
    the focus, sorted."""
    questions, competencies = set(item.focus_questions), set(item.focus_competencies)
    points: dict[int, list[float]] = defaultdict(lambda: [0.0, 0.0])
    days: dict[int, dt.date] = {}
    for _agent_id, evaluation_id, at, version_id, key, earned, possible in rows:
        focused = (not questions and not competencies) or key in questions or bool(
            tags[version_id].get(key, set()) & competencies)
        if focused:
            points[evaluation_id][0] += float(earned)
            points[evaluation_id][1] += float(possible)
            days[evaluation_id] = at.date()
    return sorted((days[i], 100 * earned / possible) for i, (earned, possible)
                  in points.items() if possible > 0)


def focus_scores(session: Session, item: CoachingSession, *, since: dt.date,
                 until: dt.date) -> list[tuple[dt.date, float]]:
    """Per evaluation of the session's agent submitted between ``since`` and ``until`` (both
    included, UTC dates), the share of points (0-100) on the session's focus: the answers to
    its focus questions and to questions tagged with its focus competencies; the whole score
    when the session names no focus. Only what the averages count (released, not targeted,
    as the scorecard does); an evaluation with no answer on the focus is left out."""
    rows = session.execute(_counted_answers([item.agent_id], *_window(since, until))).all()
    return _focus_points(item, rows, _question_tags(session, {row[3] for row in rows}))


def _is_held(item: CoachingSession) -> bool:
    return item.status == CoachingStatus.HELD.value and item.held_on is not None


def session_effect(session: Session, item: CoachingSession, *,
                   days: int = effect.WINDOW_DAYS) -> effect.Effect | None:
    """Scores on the session's focus ``days`` before and after it (``effect.compare``); None
    for a session not held. For many sessions, ``session_effects`` does the same in two
    queries."""
    if not _is_held(item):
        return None
    assert item.held_on is not None
    scored = focus_scores(session, item, since=item.held_on - dt.timedelta(days=days),
                          until=item.held_on + dt.timedelta(days=days))
    before, after = effect.split_window(scored, item.held_on, days, days)
    return effect.compare(before, after)


def session_effects(session: Session, items: Sequence[CoachingSession], *,
                    days: int = effect.WINDOW_DAYS) -> list[effect.Effect | None]:
    """``session_effect`` of each of ``items``, in order, in two queries however many they
    are: the counted answers of their agents over the span of all their windows, then the tags
    of the forms those answers were given on. Each session then takes its agent's answers in
    its own window, in Python. The span may hold answers no window needs (between two
    sessions far apart): a few rows read for nothing, against one query per session."""
    held = [item for item in items if _is_held(item)]
    if not held:
        return [None] * len(items)
    span = dt.timedelta(days=days)
    windows: dict[int, tuple[dt.datetime, dt.datetime]] = {}
    for item in held:
        assert item.held_on is not None
        windows[item.id] = _window(item.held_on - span, item.held_on + span)
    start = min(low for low, _high in windows.values())
    end = max(high for _low, high in windows.values())
    rows = session.execute(_counted_answers({item.agent_id for item in held}, start, end)).all()
    tags = _question_tags(session, {row[3] for row in rows})
    by_agent: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_agent[row[0]].append(row)
    for agent_rows in by_agent.values():
        # stable: an evaluation's answers (one submission time) keep their order
        agent_rows.sort(key=lambda row: row[2])
    found: dict[int, effect.Effect] = {}
    for item in held:
        assert item.held_on is not None
        low, high = windows[item.id]
        agent_rows = by_agent.get(item.agent_id, [])
        inside = agent_rows[bisect_left(agent_rows, low, key=lambda row: row[2]):
                            bisect_left(agent_rows, high, key=lambda row: row[2])]
        before, after = effect.split_window(_focus_points(item, inside, tags), item.held_on,
                                            days, days)
        found[item.id] = effect.compare(before, after)
    return [found.get(item.id) for item in items]


@dataclass(frozen=True)
class Effectiveness:
    """Every held session the viewer may see with its effect, and the share followed by
    improvement per coach and per team."""

    sessions: list[tuple[CoachingSession, effect.Effect]]
    by_coach: dict[str, effect.Share]
    by_team: dict[str, effect.Share]


def effectiveness(session: Session, actor: Any, *, team_id: int | None = None,
                  days: int = effect.WINDOW_DAYS) -> Effectiveness:
    """The effect of every held session ``actor`` may see (of one team), ``days`` before and
    after each, and the shares; a fixed number of queries however many sessions there are."""
    held = log(session, actor, team_id=team_id, status=CoachingStatus.HELD.value)
    rows = list(zip(held, session_effects(session, held, days=days), strict=True))
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


RECENT_COACHING_DAYS = 90
"""How far back a held session still counts as "being coached" next to a gap."""


def coaching_on_competencies(session: Session, actor: Any, person_ids: list[int],
                             as_of: dt.date, *, recent_days: int = RECENT_COACHING_DAYS,
                             ) -> dict[int, list[tuple[str, list[str]]]]:
    """Per person: (what, competency codes) for each session ``actor`` may see that is planned,
    or was held in the last ``recent_days``, with competencies in its focus. One query for any
    number of people (the matrix asks for 500 at once); people with none are absent."""
    out: dict[int, list[tuple[str, list[str]]]] = {}
    if not person_ids:
        return out
    since = as_of - dt.timedelta(days=recent_days)
    rows = session.execute(
        select(CoachingSession.agent_id, CoachingSession.status, CoachingSession.planned_on,
               CoachingSession.held_on, CoachingSession.focus_competencies)
        .where(CoachingSession.agent_id.in_(person_ids),
               scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                            CoachingSession.team_id),
               (CoachingSession.status == CoachingStatus.SCHEDULED.value)
               | ((CoachingSession.status == CoachingStatus.HELD.value)
                  & (CoachingSession.held_on >= since)))
        .order_by(CoachingSession.planned_on))
    for agent_id, status, planned_on, held_on, codes in rows:
        if codes:
            text = (f"coached on {held_on}" if status == CoachingStatus.HELD.value
                    else f"coaching planned for {planned_on}")
            out.setdefault(agent_id, []).append((text, list(codes)))
    return out
