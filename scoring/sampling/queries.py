"""The read side of sampling: the rules and the past runs a user may see.

A team lead sees the rules of the teams they lead, and the runs that drew for one of those
teams or that they ran themselves; inside a run, only the lines of their teams (another team's
counts are not theirs to read). Everyone else with ``sampling.view`` sees everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from qm.auth.permissions import ALL, can, scope_for
from scoring.evaluations.models import Evaluation
from scoring.sampling.models import SamplingRule, SamplingRun, SamplingRunRule

PER_PAGE = 20


def _sees_all(actor: Any) -> bool:
    return scope_for(actor, "sampling.view") is ALL


def rules(session: Session, actor: Any) -> list[SamplingRule]:
    stmt = select(SamplingRule).order_by(SamplingRule.name)
    if not _sees_all(actor):
        stmt = stmt.where(SamplingRule.team_id.in_(sorted(actor.led_team_ids)))
    return list(session.scalars(stmt))


def _visible_runs(actor: Any) -> Any:
    stmt = select(SamplingRun)
    if not _sees_all(actor):
        stmt = stmt.where(or_(
            SamplingRun.run_by_id == actor.id,
            exists().where(SamplingRunRule.run_id == SamplingRun.id,
                           SamplingRunRule.team_id.in_(sorted(actor.led_team_ids)))))
    return stmt


@dataclass
class RunPage:
    runs: list[SamplingRun]
    page: int
    has_next: bool


def runs(session: Session, actor: Any, page: int = 1, per_page: int = PER_PAGE) -> RunPage:
    """Past runs, newest first, one page of them."""
    page = max(1, page)
    found = list(session.scalars(
        _visible_runs(actor).order_by(SamplingRun.ran_at.desc(), SamplingRun.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)).unique())
    return RunPage(found[:per_page], page, len(found) > per_page)


def run_lines(actor: Any, run: SamplingRun) -> list[SamplingRunRule]:
    """The lines of ``run`` the actor may read."""
    return [line for line in run.rules if can(actor, "sampling.view", line)]


def run(session: Session, actor: Any, run_id: int) -> SamplingRun | None:
    """The run if the actor may see it (None otherwise, like one that does not exist)."""
    return session.scalar(_visible_runs(actor).where(SamplingRun.id == run_id))


def evaluations(session: Session, lines: list[SamplingRunRule]) -> dict[int, Evaluation]:
    """The evaluations the lines created, by id (one that was since deleted is missing)."""
    ids = sorted({i for line in lines for i in line.evaluation_ids})
    if not ids:
        return {}
    return {e.id: e for e in session.scalars(select(Evaluation).where(Evaluation.id.in_(ids)))}
