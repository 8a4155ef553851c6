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

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.auth.permissions import scope_clause
from qm.db import utcnow
from qm.interactions.models import Interaction
from scoring.evaluations.models import Evaluation
from transcription import flagging
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flag_services
from transcription.models import Flag, FlagResult, FlagVersion, ReviewFlag

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
    age_days: int = 0
    """Whole days since the contact took place: the queue has no due day, but an old contact
    is harder to put right (the customer, the agent's memory)."""


def _open(viewer: Any, flag_id: int | None) -> Any:
    """What waits in the viewer's queue: one row per interaction and flag (interactions that
    have no evaluation yet, flags with no verdict there)."""
    rows = flag_queries.flagged_rows(flag_id=flag_id, leave_out="judged").subquery()
    taken = select(Evaluation.id).where(Evaluation.interaction_id == rows.c.interaction_id)
    return (select(rows.c.interaction_id, rows.c.flag_id, rows.c.score)
            .join(Interaction, Interaction.id == rows.c.interaction_id)
            .where(rows.c.flag_id.is_not(None), ~taken.exists(),
                   scope_clause(viewer, "flag.review", Interaction.agent_id,
                                Interaction.team_id))).subquery()


def queue(session: Session, viewer: Any, *, flag_id: int | None = None, page: int = 1,
          per_page: int = PAGE) -> tuple[list[QueueItem], int]:
    """One page of the queue, riskiest first (then the newest), and how many interactions it
    holds in all. Each item has its open flags' reasons in words, strongest first."""
    open_ = _open(viewer, flag_id)
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
    now = utcnow()
    items = {i.id: QueueItem(i, name, round(float(risk), 4),
                             age_days=max(0, (now - i.started_at).days))
             for i, name, risk in rows}
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
    open_ = _open(viewer, None)
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
