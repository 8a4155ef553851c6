"""Competencies' files in the evidence pack (``qm.evidence``), for ISO 18295-1 6.3 to 6.5: the
competency frameworks, the skills matrix, training and refresher records with who is due,
coaching logs, and notices with their acknowledgements.

Imported by ``qm.evidence.load()``, from the app and the shell alike.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from competencies.coaching.models import ActionItem, CoachingSession
from competencies.frameworks import queries as framework_queries
from competencies.frameworks import services as framework_services
from competencies.frameworks.models import CompetencyFramework, FrameworkVersion
from competencies.notices.models import Notice, NoticeRecipient
from competencies.profiles import queries as profile_queries
from competencies.training import queries as training_queries
from competencies.training.models import (
    Course,
    SessionAttendee,
    TrainingRecord,
    TrainingSession,
)
from qm.auth.models import User
from qm.auth.permissions import scope_clause
from qm.evidence import EvidenceFile, Scope, section, team_names, usernames
from qm.versioning import VersionStatus


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "framework"


@section(200)
def frameworks(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """Each framework's versions listed, the published one (else the newest) in full, and the
    skills matrix against it: every agent's required and current level per competency."""
    found = list(session.scalars(select(CompetencyFramework)
                                 .options(selectinload(CompetencyFramework.versions))
                                 .order_by(CompetencyFramework.name)))
    names = usernames(session)

    def listing() -> Iterator[Sequence[Any]]:
        yield ["framework", "version", "status", "created_at", "published_at", "published_by"]
        for framework in found:
            for v in sorted(framework.versions, key=lambda v: v.number):
                yield [framework.name, v.number, v.status, v.created_at, v.published_at,
                       names.get(v.published_by_id or 0, "")]

    yield EvidenceFile("competencies/frameworks.csv", "Competency frameworks",
                       "Every version of every competency framework and when it was published.",
                       rows=listing())
    for framework in found:
        if not framework.versions:
            continue
        version = framework_queries.version_of(framework)
        slug = f"{_slug(framework.name)}-{framework.id}"
        body = json.dumps(framework_services.export_framework(version), indent=2,
                          ensure_ascii=False)
        yield EvidenceFile(f"competencies/framework-{slug}-v{version.number}.json",
                           f"Framework {framework.name}, version {version.number}",
                           f"The framework in force ({version.status}): competencies, their "
                           "groups, the scale and each level's observable behaviour.",
                           chunks=[body.encode("utf-8")])
        if version.status != VersionStatus.PUBLISHED.value:
            continue
        yield EvidenceFile(f"competencies/skills-matrix-{slug}.csv",
                           f"Skills matrix ({framework.name})",
                           "Per active agent and competency: the level their profiles require, "
                           "their latest assessed level and the gap, as they stand when the "
                           "pack is built.", rows=_matrix(session, actor, scope, framework,
                                                          version))


def _matrix(session: Session, actor: Any, scope: Scope, framework: CompetencyFramework,
            version: FrameworkVersion) -> Iterator[Sequence[Any]]:
    yield ["username", "name", "team", "competency", "required", "current", "gap"]
    codes = [c.code for c in framework_queries.parsed(version).competencies]
    agents = profile_queries.matrix_agents(
        session, actor, framework.id, profile_queries.MatrixFilters(team_id=scope.team_id))
    for start in range(0, len(agents), 500):  # a block of agents at a time
        block = agents[start:start + 500]
        ids = [a.id for a in block]
        required = profile_queries.required_levels(session, framework.id, ids)
        current = profile_queries.current_levels(session, framework.id, ids)
        for agent in block:
            for code in codes:
                need, have = required[agent.id].get(code), current[agent.id].get(code)
                gap = "" if need is None else max(0, need - (have or 0))
                yield [agent.username, agent.display_name, agent.team, code,
                       "" if need is None else need, "" if have is None else have, gap]


@section(210)
def training(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """Training completed in the period, training sessions held in it, and the refreshers
    due or overdue on its last day."""
    teams = team_names(session)

    def records() -> Iterator[Sequence[Any]]:
        yield ["record", "username", "name", "team", "course", "kind", "completed_on",
               "result", "expires_on", "certificate", "source"]
        stmt = (select(TrainingRecord.id, User.username, User.display_name, User.team_id,
                       Course.name, Course.kind, TrainingRecord.completed_on,
                       TrainingRecord.result, TrainingRecord.expires_on,
                       TrainingRecord.certificate, TrainingRecord.source)
                .join(User, User.id == TrainingRecord.user_id)
                .join(Course, Course.id == TrainingRecord.course_id)
                .where(TrainingRecord.completed_on >= scope.start,
                       TrainingRecord.completed_on <= scope.end,
                       scope_clause(actor, "skills.view", User.id, User.team_id))
                .order_by(TrainingRecord.completed_on, TrainingRecord.id)
                .execution_options(yield_per=2000))
        if scope.team_id is not None:
            stmt = stmt.where(User.team_id == scope.team_id)
        for rid, username, name, team, course, kind, done, result, expires, cert, source \
                in session.execute(stmt):
            yield [rid, username, name, teams.get(team or 0, ""), course, kind, done, result,
                   expires, cert, source]

    def sessions() -> Iterator[Sequence[Any]]:
        yield ["session", "course", "held_on", "status", "trainer", "location", "enrolled",
               "attended"]
        stmt = (select(TrainingSession)
                .options(selectinload(TrainingSession.attendees)
                         .selectinload(SessionAttendee.user),
                         selectinload(TrainingSession.course))
                .where(TrainingSession.held_on >= scope.start,
                       TrainingSession.held_on <= scope.end)
                .order_by(TrainingSession.held_on, TrainingSession.id))
        for item in session.scalars(stmt):
            people = [a for a in item.attendees
                      if scope.team_id is None or a.user.team_id == scope.team_id]
            if scope.team_id is not None and not people:
                continue
            yield [item.id, item.course.name, item.held_on, item.status, item.trainer,
                   item.location, len(people), sum(a.status == "attended" for a in people)]

    def due() -> Iterator[Sequence[Any]]:
        yield ["username", "name", "team", "course", "completed_on", "due_on", "status"]
        for row in training_queries.due_list(session, as_of=scope.end, team_id=scope.team_id,
                                             visible_to=actor):
            yield [row.username, row.display_name, row.team, row.course, row.completed_on,
                   row.due_on, row.status]

    yield EvidenceFile("competencies/training_records.csv", "Training and refresher records",
                       "Every training completion in the period: person, course (induction, "
                       "refresher, ...), result, expiry and certificate.", rows=records())
    yield EvidenceFile("competencies/training_sessions.csv", "Training sessions",
                       "Sessions held in the period, with how many (of the team) enrolled and "
                       "attended.", rows=sessions())
    yield EvidenceFile("competencies/refreshers_due.csv", "Refreshers due or overdue",
                       "On the period's last day: whose latest completion of a course is "
                       "overdue for a refresher, or due within the warning window.", rows=due())


@section(220)
def coaching(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """The coaching log: sessions planned in the period with their action items."""
    names, teams = usernames(session), team_names(session)

    def rows() -> Iterator[Sequence[Any]]:
        yield ["session", "agent", "team", "coach", "planned_on", "held_on", "status", "kind",
               "source", "evaluations", "focus_questions", "focus_competencies", "actions",
               "actions_open", "acknowledged_at", "notes"]
        stmt = (select(CoachingSession)
                .where(CoachingSession.planned_on >= scope.start,
                       CoachingSession.planned_on <= scope.end,
                       scope_clause(actor, "coaching.view", CoachingSession.agent_id,
                                    CoachingSession.team_id))
                .options(selectinload(CoachingSession.actions))
                .order_by(CoachingSession.planned_on, CoachingSession.id)
                .execution_options(yield_per=1000))
        if scope.team_id is not None:
            stmt = stmt.where(CoachingSession.team_id == scope.team_id)
        for s in session.scalars(stmt):
            actions: list[ActionItem] = s.actions
            yield [s.id, names.get(s.agent_id, ""), teams.get(s.team_id or 0, ""),
                   names.get(s.coach_id or 0, ""), s.planned_on, s.held_on, s.status, s.kind,
                   s.source, " ".join(map(str, s.evaluation_ids)),
                   " ".join(s.focus_questions), " ".join(s.focus_competencies), len(actions),
                   sum(a.done_at is None for a in actions), s.agent_acknowledged_at, s.notes]

    yield EvidenceFile("competencies/coaching_log.csv", "Coaching log",
                       "Coaching sessions planned in the period: agent, coach, when, status, "
                       "the evaluations and focus they came from, action items (and how many "
                       "are open), the agent's acknowledgement and the notes.", rows=rows())


@section(230)
def notices(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """Notices of a change (6.5) published in the period, and who acknowledged them."""
    names, teams = usernames(session), team_names(session)

    def rows() -> Iterator[Sequence[Any]]:
        yield ["notice", "title", "category", "published_at", "acknowledge_by", "withdrawn_at",
               "recipient", "team", "acknowledged_at"]
        stmt = (select(Notice.id, Notice.title, Notice.category, Notice.published_at,
                       Notice.acknowledge_by, Notice.withdrawn_at, NoticeRecipient.user_id,
                       User.team_id, NoticeRecipient.acknowledged_at)
                .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
                .join(User, User.id == NoticeRecipient.user_id)
                .where(Notice.published_at >= scope.start_at,
                       Notice.published_at < scope.end_before,
                       scope_clause(actor, "notice.view", User.id, User.team_id))
                .order_by(Notice.published_at, Notice.id, User.username)
                .execution_options(yield_per=2000))
        if scope.team_id is not None:
            stmt = stmt.where(User.team_id == scope.team_id)
        for nid, title, category, published, by, withdrawn, uid, team, acked \
                in session.execute(stmt):
            yield [nid, title, category, published, by, withdrawn, names.get(uid, ""),
                   teams.get(team or 0, ""), acked]

    yield EvidenceFile("competencies/notice_acknowledgements.csv",
                       "Notices and acknowledgements",
                       "One row per recipient of each notice published in the period: when "
                       "they acknowledged it (empty: not yet).", rows=rows())
