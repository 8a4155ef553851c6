"""The review queue: flagged interactions nobody has judged or taken yet, riskiest first.

An interaction is in the queue while a flag in use fired on it (a named flag's active version,
or the "found a problem" model in use), no evaluator has given that flag a verdict on it, and
it has no evaluation yet (taking it starts one). Its risk is the highest score among its open
flags: a classifier's probability, a rule's strength (0.5 at its threshold, 1.0 at twice it),
the evaluation model's probability. The viewer sees the interactions ``flag.review`` lets them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.auth.permissions import scope_clause
from qm.interactions.models import Interaction
from scoring.evaluations.models import Evaluation
from transcription import flagging
from transcription.flagging import services as flag_services
from transcription.models import Flag, FlagResult, FlagVerdict, FlagVersion, ReviewFlag

PAGE = 50


@dataclass
class Reason:
    flag_id: int
    flag: str
    score: float
    evidence: list[dict[str, Any]]
    version: int | None = None


@dataclass
class QueueItem:
    interaction: Interaction
    agent: str
    risk: float
    reasons: list[Reason] = field(default_factory=list)


def _open_named(flag_id: int | None) -> Any:
    judged = select(FlagVerdict.id).where(FlagVerdict.flag_id == Flag.id,
                                          FlagVerdict.interaction_id == FlagResult.interaction_id)
    stmt = (select(FlagResult.interaction_id.label("interaction_id"),
                   Flag.id.label("flag_id"), FlagResult.score.label("score"))
            .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
            .join(Flag, and_(Flag.id == FlagVersion.flag_id,
                             Flag.active_number == FlagVersion.number))
            .where(~judged.exists()))
    if flag_id is not None:
        stmt = stmt.where(Flag.id == flag_id)
    return stmt


def _open_problem(session: Session, flag_id: int | None) -> Any | None:
    """The "found a problem" model's flagged interactions, when its flag row exists and the
    filter allows it."""
    problem = session.scalar(select(Flag.id).where(Flag.name == flag_services.PROBLEM))
    if problem is None or (flag_id is not None and flag_id != problem):
        return None
    judged = select(FlagVerdict.id).where(FlagVerdict.flag_id == problem,
                                          FlagVerdict.interaction_id == ReviewFlag.interaction_id)
    return (select(ReviewFlag.interaction_id.label("interaction_id"),
                   literal(problem).label("flag_id"), ReviewFlag.probability.label("score"))
            .where(ReviewFlag.flagged,
                   ReviewFlag.model_version == flagging.in_use().scalar_subquery(),
                   ~judged.exists()))


def _open(session: Session, viewer: Any, flag_id: int | None) -> Any:
    parts = [_open_named(flag_id)]
    problem = _open_problem(session, flag_id)
    if problem is not None:
        parts.append(problem)
    both = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
    taken = select(Evaluation.id).where(Evaluation.interaction_id == both.c.interaction_id)
    return (select(both.c.interaction_id, both.c.flag_id, both.c.score)
            .join(Interaction, Interaction.id == both.c.interaction_id)
            .where(~taken.exists(),
                   scope_clause(viewer, "flag.review", Interaction.agent_id,
                                Interaction.team_id))).subquery()


def queue(session: Session, viewer: Any, *, flag_id: int | None = None, page: int = 1,
          per_page: int = PAGE) -> tuple[list[QueueItem], int]:
    """One page of the queue, riskiest first (then the newest), and how many interactions it
    holds in all. Each item has its open flags' reasons in words, strongest first."""
    open_ = _open(session, viewer, flag_id)
    per_interaction = (select(open_.c.interaction_id, func.max(open_.c.score).label("risk"))
                       .group_by(open_.c.interaction_id).subquery())
    total = session.scalar(select(func.count()).select_from(per_interaction)) or 0
    rows = session.execute(
        select(Interaction, User.display_name, per_interaction.c.risk)
        .join(per_interaction, per_interaction.c.interaction_id == Interaction.id)
        .join(User, User.id == Interaction.agent_id)
        .order_by(per_interaction.c.risk.desc(), Interaction.started_at.desc(),
                  Interaction.id.desc())
        .offset((max(1, page) - 1) * per_page).limit(per_page)).all()
    items = {i.id: QueueItem(i, name, round(float(risk), 4)) for i, name, risk in rows}
    if items:
        _attach_reasons(session, items, open_)
    return list(items.values()), total


def _attach_reasons(session: Session, items: dict[int, QueueItem], open_: Any) -> None:
    ids = list(items)
    wanted = {(i, f) for i, f in session.execute(
        select(open_.c.interaction_id, open_.c.flag_id).where(open_.c.interaction_id.in_(ids)))}
    names = dict(session.execute(select(Flag.id, Flag.name)).all())
    for flag, version, result in session.execute(
            select(Flag, FlagVersion, FlagResult)
            .join(FlagVersion, FlagVersion.id == FlagResult.version_id)
            .join(Flag, and_(Flag.id == FlagVersion.flag_id,
                             Flag.active_number == FlagVersion.number))
            .where(FlagResult.interaction_id.in_(ids))):
        if (result.interaction_id, flag.id) in wanted:
            items[result.interaction_id].reasons.append(Reason(
                flag.id, flag.name, result.score, result.evidence or [], version.number))
    problem = next((f for f, n in names.items() if n == flag_services.PROBLEM), None)
    if problem is not None:
        for found in session.scalars(select(ReviewFlag).where(
                ReviewFlag.interaction_id.in_(ids), ReviewFlag.flagged,
                ReviewFlag.model_version == flagging.in_use().scalar_subquery())):
            if (found.interaction_id, problem) in wanted:
                items[found.interaction_id].reasons.append(Reason(
                    problem, flag_services.PROBLEM, found.probability,
                    [{"kind": "model", "text": reason} for reason in found.reasons or []]))
    for item in items.values():
        item.reasons.sort(key=lambda r: (-r.score, r.flag))


def counts(session: Session, viewer: Any) -> list[tuple[int, str, int]]:
    """(flag id, name, interactions waiting) for the queue's filter, every flag in use."""
    open_ = _open(session, viewer, None)
    waiting = dict(session.execute(select(open_.c.flag_id, func.count())
                                   .group_by(open_.c.flag_id)).all())
    return [(flag_id, name, waiting.get(flag_id, 0)) for flag_id, name in session.execute(
        select(Flag.id, Flag.name).order_by(Flag.name))
        if waiting.get(flag_id) or name in _in_use_names(session)]


def _in_use_names(session: Session) -> set[str]:
    names = set(session.scalars(select(Flag.name).where(Flag.active_number.is_not(None))))
    if session.scalar(flagging.in_use()) is not None:
        names.add(flag_services.PROBLEM)
    return names
