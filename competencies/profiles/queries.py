"""Read side of profiles and assessments: what each agent is required to hold, what they hold
(their latest assessment per competency), the gaps, and what QA evidence suggests."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from competencies.frameworks.models import CompetencyFramework, FrameworkStatus, FrameworkVersion
from competencies.profiles import gaps
from competencies.profiles.models import (
    Assessment,
    CompetencyProfile,
    ProfileKind,
    ProfileMember,
)
from qm.auth.models import Team, User, UserRole
from qm.auth.permissions import Role, scope_clause
from scoring.evaluations.models import COUNTED, Evaluation, EvaluationAnswer
from scoring.forms.models import FormVersion


def framework_for(session: Session, framework_id: int | None = None
                  ) -> CompetencyFramework | None:
    """The framework asked for, else the first (by name) with a published version."""
    if framework_id is not None:
        return session.get(CompetencyFramework, framework_id)
    return session.scalar(_first_published(CompetencyFramework))


def first_published_id(session: Session) -> int | None:
    """The id of ``framework_for(session)``."""
    return session.scalar(_first_published(CompetencyFramework.id))


@functools.cache
def _first_published(what: Any) -> Any:  # built once: every scorecard and skills page asks
    return (select(what).join(FrameworkVersion)
            .where(FrameworkVersion.status == FrameworkStatus.PUBLISHED.value)
            .order_by(CompetencyFramework.name).limit(1))


@dataclass(frozen=True)
class MatrixAgent:
    """An agent as a row of the skills matrix: the four values it shows, not a ``User``."""

    id: int
    username: str
    display_name: str
    team: str  # the team's name, "" without one


@dataclass(frozen=True)
class MatrixFilters:
    """What the matrix and its exports narrow the agents to; None (False) leaves it out. A
    profile filter keeps the agents who hold that profile, of that kind, of the framework
    shown: an id of another kind or framework, like an unknown team, keeps nobody."""

    team_id: int | None = None
    role_id: int | None = None
    queue_id: int | None = None
    client_id: int | None = None
    gaps_only: bool = False

    def profile_ids(self) -> dict[str, int]:
        """kind -> profile id, for the profile filters given."""
        given = {ProfileKind.ROLE: self.role_id, ProfileKind.QUEUE: self.queue_id,
                 ProfileKind.CLIENT: self.client_id}
        return {kind.value: pid for kind, pid in given.items() if pid is not None}


def matrix_agents(session: Session, actor: Any, framework_id: int,
                  filters: MatrixFilters = MatrixFilters()) -> list[MatrixAgent]:
    """The active agents ``actor`` may see under ``skills.view``, narrowed by ``filters``
    (``gaps_only`` aside: that needs the levels), by name. One query, columns only."""
    stmt = (select(User.id, User.username, User.display_name, Team.name)
            .join(UserRole, UserRole.user_id == User.id)
            .outerjoin(Team, Team.id == User.team_id)
            .where(UserRole.role == Role.AGENT.value, User.active,
                   scope_clause(actor, "skills.view", User.id, User.team_id))
            .order_by(User.display_name, User.id))
    if filters.team_id is not None:
        stmt = stmt.where(User.team_id == filters.team_id)
    for kind, profile_id in filters.profile_ids().items():
        stmt = stmt.where(User.id.in_(
            select(ProfileMember.user_id)
            .join(CompetencyProfile, CompetencyProfile.id == ProfileMember.profile_id)
            .where(ProfileMember.profile_id == profile_id, CompetencyProfile.kind == kind,
                   CompetencyProfile.framework_id == framework_id)))
    return [MatrixAgent(uid, username, name, team or "")
            for uid, username, name, team in session.execute(stmt)]


def profile_choices(session: Session, framework_id: int) -> dict[str, list[tuple[int, str]]]:
    """Per kind (role, queue, client), the framework's profiles as (id, name), by name: what
    the matrix's filters offer."""
    out: dict[str, list[tuple[int, str]]] = {kind.value: [] for kind in ProfileKind}
    for pid, kind, name in session.execute(
            select(CompetencyProfile.id, CompetencyProfile.kind, CompetencyProfile.name)
            .where(CompetencyProfile.framework_id == framework_id)
            .order_by(CompetencyProfile.name, CompetencyProfile.id)):
        out.setdefault(kind, []).append((pid, name))
    return out


def required_levels(session: Session, framework_id: int,
                    user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per user, the level each competency requires: the highest any of their profiles (their
    role's, their queues', their clients') asks for.

    The framework's profiles are read once and combined once per distinct set of profiles:
    hundreds of agents share a handful of combinations."""
    ids = list(user_ids)
    requirements: dict[int, dict[str, int]] = {
        pid: levels for pid, levels in session.execute(
            select(CompetencyProfile.id, CompetencyProfile.requirements)
            .where(CompetencyProfile.framework_id == framework_id))}
    held: dict[int, list[int]] = defaultdict(list)
    if requirements and ids:
        for user_id, profile_id in session.execute(
                select(ProfileMember.user_id, ProfileMember.profile_id)
                .where(ProfileMember.user_id.in_(ids),
                       ProfileMember.profile_id.in_(list(requirements)))):
            held[user_id].append(profile_id)
    combined: dict[tuple[int, ...], dict[str, int]] = {(): {}}
    out: dict[int, dict[str, int]] = {}
    for user_id in ids:
        key = tuple(sorted(held.get(user_id, ())))
        if key not in combined:
            merged: dict[str, int] = {}
            for profile_id in key:
                for code, level in requirements[profile_id].items():
                    merged[code] = max(level, merged.get(code, 0))
            combined[key] = merged
        out[user_id] = dict(combined[key])
    return out


def current_levels(session: Session, framework_id: int,
                   user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per user, the level of their latest assessment of each competency (by date, then by
    when it was recorded); competencies never assessed are absent.

    The database picks the latest row of each (user, competency): the one no later row follows
    (``lead()`` is NULL), in the order of the index on (user_id, competency_code, assessed_on),
    so that PostgreSQL only sorts rows of the same day by id; the same SQL runs on SQLite. One
    row per cell comes back, not the history, through Core: plain rows, no ORM loading."""
    ids = list(user_ids)
    out: dict[int, dict[str, int]] = {user_id: {} for user_id in ids}
    if not ids:
        return out
    ranked = (select(Assessment.user_id, Assessment.competency_code, Assessment.level,
                     func.lead(Assessment.id).over(
                         partition_by=(Assessment.user_id, Assessment.competency_code),
                         order_by=(Assessment.assessed_on, Assessment.id))
                     .label("later"))
              .where(Assessment.framework_id == framework_id, Assessment.user_id.in_(ids))
              .subquery())
    for user_id, code, level in session.connection().execute(
            select(ranked.c.user_id, ranked.c.competency_code, ranked.c.level)
            .where(ranked.c.later.is_(None))).all():  # fetchall: not a fetch per row
        out[user_id][code] = level
    return out


def gaps_of(session: Session, framework_id: int, user_id: int) -> list[gaps.Gap]:
    required = required_levels(session, framework_id, [user_id])[user_id]
    return gaps.gaps(required, current_levels(session, framework_id, [user_id])[user_id])


def history(session: Session, framework_id: int, user_id: int) -> list[Assessment]:
    """Every assessment of the user, newest first."""
    return list(session.scalars(
        select(Assessment).where(Assessment.framework_id == framework_id,
                                 Assessment.user_id == user_id)
        .order_by(Assessment.assessed_on.desc(), Assessment.id.desc())))


def qa_evidence(session: Session, user_id: int) -> dict[str, list[gaps.Answer]]:
    """Per competency code, the user's scored answers to form questions tagged with it, from
    the evaluations the averages count (released, not targeted: as the scorecard does)."""
    rows = session.execute(
        select(Evaluation.submitted_at, Evaluation.form_version_id, EvaluationAnswer.question_key,
               EvaluationAnswer.earned, EvaluationAnswer.possible)
        .join(EvaluationAnswer, EvaluationAnswer.evaluation_id == Evaluation.id)
        .where(Evaluation.agent_id == user_id, *COUNTED, EvaluationAnswer.possible > 0,
               Evaluation.submitted_at.is_not(None)))
    tags: dict[int, dict[str, list[str]]] = {}
    out: dict[str, list[gaps.Answer]] = defaultdict(list)
    for at, version_id, key, earned, possible in rows:
        if version_id not in tags:
            definition = session.get(FormVersion, version_id).definition
            tags[version_id] = {q["key"]: list(q.get("competencies", []))
                                for section in definition["sections"]
                                for q in section["questions"]}
        for code in tags[version_id].get(key, []):
            out[code].append(gaps.Answer(at=at, earned=Decimal(earned),
                                         possible=Decimal(possible)))
    return dict(out)


def suggestions(session: Session, user_id: int, **options: int) -> dict[str, gaps.Suggestion]:
    """Per competency with QA evidence, the level it suggests (``gaps.suggest_level``)."""
    return {code: gaps.suggest_level(answers, **options)
            for code, answers in qa_evidence(session, user_id).items()}


# --- The gap report: per competency and per team, how many agents fall short ----------------

GAP_BLOCK = 500
"""Agents whose levels are read at a time by ``gap_report``: two queries a block."""


@dataclass
class CompetencyGaps:
    """One competency of the gap report. ``required``: agents whose profiles require it (at
    any level); ``gaps``: those below the required level (never assessed counts as level 0,
    as on the matrix); ``short_by``: the levels those gaps add up to; ``not_assessed``: the
    agents required to hold it who were never assessed on it."""

    code: str
    name: str
    required: int = 0
    gaps: int = 0
    short_by: int = 0
    not_assessed: int = 0

    @property
    def share(self) -> float | None:
        """Agents with a gap, in % of those required to hold it (None when nobody is)."""
        return 100 * self.gaps / self.required if self.required else None

    @property
    def mean_gap(self) -> float | None:
        """How many levels an agent with a gap lacks, on average (None without a gap)."""
        return self.short_by / self.gaps if self.gaps else None


@dataclass
class TeamGaps:
    """One team of the gap report: agents with at least one requirement, and of them those
    with at least one gap."""

    team: str
    agents: int = 0
    with_gap: int = 0

    @property
    def share(self) -> float | None:
        return 100 * self.with_gap / self.agents if self.agents else None


@dataclass
class GapReport:
    competencies: list[CompetencyGaps]  # the framework's order
    teams: list[TeamGaps]  # by name, "(no team)" last
    agents: int  # agents the viewer sees under the filters, required to hold something or not

    def by_share(self) -> list[CompetencyGaps]:
        """The competencies somebody is required to hold, the largest share with a gap first
        (then the larger mean gap, then by code)."""
        return sorted((c for c in self.competencies if c.required),
                      key=lambda c: (-(c.share or 0), -(c.mean_gap or 0), c.code))


NO_TEAM = "(no team)"


def gap_report(session: Session, actor: Any, framework_id: int,
               competencies: Iterable[tuple[str, str]],
               filters: MatrixFilters = MatrixFilters(), *,
               block: int = GAP_BLOCK) -> GapReport:
    """The matrix's gaps summed up: per competency (``(code, name)`` pairs, the framework's),
    and per team, over the agents the matrix shows ``actor`` under ``filters`` (``gaps_only``
    aside). Levels are read ``block`` agents at a time (``required_levels`` and
    ``current_levels``), so the number of queries grows with the agents by two a block, never
    one an agent, and no more than a block's levels are held at once."""
    rows = {code: CompetencyGaps(code, name) for code, name in competencies}
    teams: dict[str, TeamGaps] = {}
    agents = matrix_agents(session, actor, framework_id, filters)
    for start in range(0, len(agents), block):
        chunk = agents[start:start + block]
        ids = [a.id for a in chunk]
        required = required_levels(session, framework_id, ids)
        current = current_levels(session, framework_id, ids)
        for agent in chunk:
            need, have = required[agent.id], current[agent.id]
            held = [code for code in need if code in rows]
            if not held:
                continue
            team = teams.setdefault(agent.team or NO_TEAM, TeamGaps(agent.team or NO_TEAM))
            team.agents += 1
            any_gap = False
            for code in held:
                row, level = rows[code], have.get(code)
                row.required += 1
                if level is None:
                    row.not_assessed += 1
                if (level or 0) < need[code]:
                    row.gaps += 1
                    row.short_by += need[code] - (level or 0)
                    any_gap = True
            team.with_gap += any_gap
    return GapReport(list(rows.values()),
                     sorted(teams.values(), key=lambda t: (t.team == NO_TEAM, t.team)),
                     len(agents))
