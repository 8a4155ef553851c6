"""Read side of profiles and assessments: what each agent is required to hold, what they hold
(their latest assessment per competency), the gaps, and what QA evidence suggests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.frameworks.models import CompetencyFramework, FrameworkStatus, FrameworkVersion
from competencies.profiles import gaps
from competencies.profiles.models import Assessment, CompetencyProfile, ProfileMember
from scoring.evaluations.models import COUNTED, Evaluation, EvaluationAnswer
from scoring.forms.models import FormVersion


def framework_for(session: Session, framework_id: int | None = None
                  ) -> CompetencyFramework | None:
    """The framework asked for, else the first (by name) with a published version."""
    if framework_id is not None:
        return session.get(CompetencyFramework, framework_id)
    return session.scalar(
        select(CompetencyFramework).join(FrameworkVersion)
        .where(FrameworkVersion.status == FrameworkStatus.PUBLISHED.value)
        .order_by(CompetencyFramework.name).limit(1))


def required_levels(session: Session, framework_id: int,
                    user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per user, the level each competency requires: the highest any of their profiles (their
    role's, their queues', their clients') asks for."""
    out: dict[int, dict[str, int]] = defaultdict(dict)
    ids = list(user_ids)
    rows = session.execute(
        select(ProfileMember.user_id, CompetencyProfile.requirements)
        .join(CompetencyProfile, CompetencyProfile.id == ProfileMember.profile_id)
        .where(CompetencyProfile.framework_id == framework_id, ProfileMember.user_id.in_(ids)))
    for user_id, requirements in rows:
        for code, level in requirements.items():
            out[user_id][code] = max(level, out[user_id].get(code, 0))
    return {user_id: out.get(user_id, {}) for user_id in ids}


def current_levels(session: Session, framework_id: int,
                   user_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Per user, the level of their latest assessment of each competency (by date, then by
    when it was recorded); competencies never assessed are absent."""
    ids = list(user_ids)
    out: dict[int, dict[str, int]] = {user_id: {} for user_id in ids}
    rows = session.execute(
        select(Assessment.user_id, Assessment.competency_code, Assessment.level)
        .where(Assessment.framework_id == framework_id, Assessment.user_id.in_(ids))
        .order_by(Assessment.assessed_on, Assessment.id))
    for user_id, code, level in rows:
        out[user_id][code] = level  # later rows win
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
