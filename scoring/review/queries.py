"""The review queue: flagged interactions nobody has judged or taken yet, riskiest first.

An interaction is in the queue while a flag in use fired on it (a named flag's active version,
or the "found a problem" model in use), no evaluator has given that flag a verdict on it, and
it has no evaluation yet (taking it starts one). Its risk is the highest score among its open
flags: a classifier's probability, a rule's strength (0.5 at its threshold, 1.0 at twice it),
the evaluation model's probability. The viewer sees the interactions ``flag.review`` lets them.

The flag report's counts (fire rate per flag and month, measured precision) are at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.auth.permissions import scope_clause
from qm.db import utcnow
from qm.interactions.models import Interaction
from scoring.evaluations.models import Evaluation
from scoring.reports.queries import month_index
from scoring.review import metrics
from transcription import flagging
from transcription.flagging import queries as flag_queries
from transcription.flagging import services as flag_services
from transcription.models import (
    Flag,
    FlagKind,
    FlagResult,
    FlagVerdict,
    FlagVerdictKind,
    FlagVersion,
    ReviewFlag,
    Transcript,
)

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


def waiting(session: Session, viewer: Any, flag_id: int | None = None) -> int:
    """How many interactions the viewer's queue holds (one with two flags counts once)."""
    open_ = _open(viewer, flag_id)
    return session.scalar(select(func.count(func.distinct(open_.c.interaction_id)))) or 0


def queue(session: Session, viewer: Any, *, flag_id: int | None = None, page: int = 1,
          per_page: int = PAGE) -> tuple[list[QueueItem], int]:
    """One page of the queue, riskiest first (then the newest), and how many interactions it
    holds in all. Each item has its open flags' reasons in words, strongest first."""
    open_ = _open(viewer, flag_id)
    per_interaction = (select(open_.c.interaction_id, func.max(open_.c.score).label("risk"))
                       .group_by(open_.c.interaction_id).subquery())
    total = waiting(session, viewer, flag_id)
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


# --- The flag report (/review/report) -----------------------------------------------------
# Per flag and month of a 12-month window: interactions checked, interactions the flag fired
# on, the fire rate; per flag over the window: what evaluators confirmed, dismissed and
# added as missed, and the measured precision against the flag's target. Counted in SQL,
# grouped by flag and month.
#
# "Checked" is an interaction with a transcript (a call's or a text's): flags run on
# transcripts as they are stored (``flag_services.check_stored``), so that is what every flag
# in use had the chance to fire on. "Fired" is what the queue reads (``flagged_rows``) before
# any verdict is left out: the results of a named flag's active version, and the "found a
# problem" model in use. A month is the site's calendar month, by when the contact took place
# (``Interaction.started_at``), as on the QA dashboard.

@dataclass
class ReportFilters:
    """What the flag report's form asks for; ``where`` turns it into WHERE clauses on
    ``Interaction``."""

    end: tuple[int, int]
    team_id: int | None = None
    queue: str = ""
    channel: str = ""
    flag_id: int | None = None

    def where(self, scope: Any, bounds: list[Any]) -> list[Any]:
        out = [scope, Interaction.started_at >= bounds[0], Interaction.started_at < bounds[-1]]
        if self.team_id:
            out.append(Interaction.team_id == self.team_id)
        if self.queue:
            out.append(Interaction.queue == self.queue)
        if self.channel:
            out.append(Interaction.channel == self.channel)
        return out

    def args(self) -> dict[str, Any]:
        """The filters as URL arguments, empty ones left out."""
        return {k: v for k, v in {"month": f"{self.end[0]}-{self.end[1]:02d}",
                                  "team_id": self.team_id, "queue": self.queue,
                                  "channel": self.channel, "flag_id": self.flag_id}.items()
                if v}


@dataclass
class FlagReportRow:
    """One flag over the window: its months (``month``, ``n`` checked, ``fails`` fired,
    ``rate`` % or None: the shape ``rate_chart`` draws) and its verdicts."""

    flag_id: int
    name: str
    kind: str
    in_use: bool
    months: list[dict[str, Any]]
    fired: int
    checked: int
    missed: int
    measured: metrics.Precision
    target: str
    """"precision", "recall" or "" (rules and the evaluation model have none)."""
    target_value: float | None

    @property
    def rate(self) -> float | None:
        return self.fired * 100 / self.checked if self.checked else None

    @property
    def met(self) -> bool | None:
        """Whether the measured precision reaches a precision target (None: no such target,
        or nothing reviewed yet; a recall target is not measured here)."""
        if self.target != "precision":
            return None
        return metrics.target_met(self.measured, self.target_value)

    @property
    def sure(self) -> bool:
        return self.target == "precision" and metrics.target_sure(self.measured,
                                                                  self.target_value)


def fired_rows() -> Any:
    """Every interaction a flag in use fired on, one row per interaction and flag
    (``interaction_id``, ``flag_id``, ``score``): ``flag_queries.flagged_rows`` with no verdict
    left out (a dismissed hit still fired: precision counts it)."""
    return flag_queries.flagged_rows(leave_out="nothing")


def flag_report(session: Session, where: list[Any], labels: list[str], bounds: list[Any],
                flag_id: int | None = None) -> list[FlagReportRow]:
    """One row per flag (``flag_id``'s only, when given): flags in use, and any other that
    fired or was judged on the interactions ``where`` keeps; by name. Five grouped queries,
    however many flags and interactions."""
    month = month_index(bounds, Interaction.started_at).label("month")
    checked = {int(i): int(n) for i, n in session.execute(
        select(month, func.count(Transcript.id))
        .join(Interaction, Interaction.id == Transcript.interaction_id)
        .where(*where).group_by(month))}
    rows = fired_rows().subquery()
    hits = distinct(rows.c.interaction_id)
    mine = [rows.c.flag_id.is_not(None)]
    if flag_id is not None:
        mine.append(rows.c.flag_id == flag_id)
    fired: dict[int, dict[int, int]] = {}
    for flag, index, n in session.execute(
            select(rows.c.flag_id, month, func.count(hits))
            .join(Interaction, Interaction.id == rows.c.interaction_id)
            .where(*where, *mine).group_by(rows.c.flag_id, month)):
        fired.setdefault(int(flag), {})[int(index)] = int(n)
    judged: dict[int, dict[str, int]] = {}
    for flag, verdict, n in session.execute(
            select(rows.c.flag_id, FlagVerdict.verdict, func.count(hits))
            .join(Interaction, Interaction.id == rows.c.interaction_id)
            .join(FlagVerdict, and_(FlagVerdict.flag_id == rows.c.flag_id,
                                    FlagVerdict.interaction_id == rows.c.interaction_id))
            .where(*where, *mine, FlagVerdict.verdict.in_([FlagVerdictKind.CONFIRMED.value,
                                                           FlagVerdictKind.REJECTED.value]))
            .group_by(rows.c.flag_id, FlagVerdict.verdict)):
        judged.setdefault(int(flag), {})[verdict] = int(n)
    missed_where = [FlagVerdict.verdict == FlagVerdictKind.MISSED.value]
    if flag_id is not None:
        missed_where.append(FlagVerdict.flag_id == flag_id)
    missed = {int(f): int(n) for f, n in session.execute(
        select(FlagVerdict.flag_id, func.count(FlagVerdict.id))
        .join(Interaction, Interaction.id == FlagVerdict.interaction_id)
        .where(*where, *missed_where).group_by(FlagVerdict.flag_id))}
    flags = select(Flag).order_by(Flag.name)
    if flag_id is not None:
        flags = flags.where(Flag.id == flag_id)
    in_use_model = session.scalar(flagging.in_use()) is not None
    out = []
    for flag in session.scalars(flags):
        in_use = flag.active_number is not None or (
            flag.name == flag_services.PROBLEM and in_use_model)
        per_month = fired.get(flag.id, {})
        said = judged.get(flag.id, {})
        if not (in_use or per_month or said or missed.get(flag.id) or flag_id is not None):
            continue
        months = []
        for i, label in enumerate(labels):
            n, hit = checked.get(i, 0), per_month.get(i, 0)
            months.append({"month": label, "n": n, "fails": hit,
                           "rate": hit * 100 / n if n else None})
        target, value = "", None
        if flag.kind == FlagKind.CLASSIFIER.value:  # only a classifier has a target
            target = "recall" if flag.target == "recall" else "precision"
            value = flag.target_value if flag.target_value is not None \
                else flag_services.TARGET_PRECISION
        out.append(FlagReportRow(
            flag.id, flag.name, flag.kind, in_use, months, sum(per_month.values()),
            sum(checked.values()), missed.get(flag.id, 0),
            metrics.precision(said.get(FlagVerdictKind.CONFIRMED.value, 0),
                              said.get(FlagVerdictKind.REJECTED.value, 0)),
            target, value))
    return out
