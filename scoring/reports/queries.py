"""Read-side reports on evaluations: the agent's scorecard, team and evaluator views.

Reports count evaluations released to the agent (released, acknowledged, disputed), each with
its latest revision's score: a dispute outcome replaces the score it revised. Means, trends,
distributions and question shares leave out targeted evaluations (interactions drawn because
the flagging model flagged them): those were picked for being likely problems, and an average
over them would understate the agent. Counts of events (critical fails) and the lists keep them.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from qm.auth.models import User
from qm.db import utcnow
from scoring.evaluations.models import COUNTED, RELEASED_STATUSES, Evaluation, EvaluationAnswer
from scoring.evaluations.queries import LIST_OPTIONS
from scoring.forms.models import FormVersion

MIN_SAMPLE = 5  # fewer evaluations than this and a scorecard says it cannot conclude


# Two-sided 95% quantiles of Student's t by degrees of freedom; beyond 30 the gaps are < 0.05.
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
       9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
       17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064,
       25: 2.060, 26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000,
       120: 1.980}


def t95(df: int) -> float:
    """The t quantile for ``df``, from the table (the nearest smaller tabulated df beyond 30)."""
    if df in T95:
        return T95[df]
    if df > 120:
        return 1.960
    return T95[max(k for k in T95 if k <= df)]


@dataclass(frozen=True)
class Summary:
    """Mean of scores with a 95% confidence interval (t distribution) and what backs it."""

    n: int
    mean: float | None
    sd: float | None
    low: float | None
    high: float | None

    @property
    def conclusive(self) -> bool:
        return self.n >= MIN_SAMPLE

    @property
    def verdict(self) -> str:
        if self.n == 0:
            return "No released evaluations in this period."
        if not self.conclusive:
            return (f"Too few evaluations to conclude: {self.n} (at least {MIN_SAMPLE} are "
                    "needed); read the average as an indication only.")
        assert self.low is not None and self.high is not None
        return (f"With 95% confidence the average lies between {self.low:.1f} and "
                f"{self.high:.1f} ({self.n} evaluations).")


def summarise(scores: list[float]) -> Summary:
    n = len(scores)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = statistics.fmean(scores)
    if n == 1:
        return Summary(1, mean, None, None, None)
    sd = statistics.stdev(scores)
    half = t95(n - 1) * sd / math.sqrt(n)
    return Summary(n, mean, sd, max(0.0, mean - half), min(100.0, mean + half))


def months_back(now: dt.datetime, tz: ZoneInfo, count: int = 12) -> list[tuple[int, int]]:
    """(year, month) of the ``count`` months ending with the current one, oldest first."""
    local = now.astimezone(tz)
    out = []
    year, month = local.year, local.month
    for _ in range(count):
        out.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def period_start(months: list[tuple[int, int]], tz: ZoneInfo) -> dt.datetime:
    year, month = months[0]
    return dt.datetime(year, month, 1, tzinfo=tz).astimezone(dt.UTC)


@dataclass
class Scorecard:
    agent: User
    summary: Summary
    trend: list[dict[str, Any]]
    weakest: list[dict[str, Any]]
    recent: list[Evaluation]
    critical_fails: int
    peer_mean: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    targeted: int = 0
    """Released targeted evaluations of the period: listed and counted in critical fails, not
    in the mean."""
    released: int = 0
    """Every evaluation of the period released to the agent (targeted ones too): ``recent``
    lists the newest of them, and the page says how many more there are."""
    since: dt.date | None = None
    """The period's first day, in the site's zone."""


def _question_texts(session: Session, version_ids: set[int]) -> dict[str, str]:
    texts: dict[str, str] = {}
    if not version_ids:
        return texts
    for definition, in session.execute(
            select(FormVersion.definition).where(FormVersion.id.in_(sorted(version_ids)))
            .order_by(FormVersion.id)):
        for section in definition.get("sections", []):
            for q in section.get("questions", []):
                texts[q["key"]] = q.get("text", q["key"])
    return texts


def weakest_questions(session: Session, where: list[Any], limit: int = 5) -> list[dict[str, Any]]:
    """Questions with the lowest share of points earned, over the evaluations ``where`` keeps."""
    ratio = func.sum(EvaluationAnswer.earned) / func.sum(EvaluationAnswer.possible)
    rows = session.execute(
        select(EvaluationAnswer.question_key, func.count(), func.sum(EvaluationAnswer.earned),
               func.sum(EvaluationAnswer.possible),
               func.sum(case((EvaluationAnswer.failed, 1), else_=0)),
               func.max(Evaluation.form_version_id))
        .join(Evaluation, Evaluation.id == EvaluationAnswer.evaluation_id)
        .where(*where, EvaluationAnswer.possible > 0)
        .group_by(EvaluationAnswer.question_key)
        .order_by(ratio, EvaluationAnswer.question_key)
        .limit(limit)
    ).all()
    texts = _question_texts(session, {r[5] for r in rows})
    return [{"key": key, "text": texts.get(key, key), "n": n,
             "percent": float(Decimal(earned) * 100 / Decimal(possible)),
             "failed": int(failed or 0)}
            for key, n, earned, possible, failed, _v in rows]


def scorecard(session: Session, agent: User, *, timezone: str = "UTC",
              now: dt.datetime | None = None, recent: int = 20,
              visible: Any = None) -> Scorecard:
    """The agent's last 12 months; ``visible`` (a WHERE clause) keeps only the evaluations the
    viewer may see, e.g. a lead sees those made while the agent was in the lead's team."""
    tz = ZoneInfo(timezone)
    months = months_back(now or utcnow(), tz)
    since = period_start(months, tz)
    scope = [visible] if visible is not None else []
    released = [Evaluation.agent_id == agent.id, Evaluation.status.in_(RELEASED_STATUSES),
                Evaluation.submitted_at >= since, *scope]
    where = [*released, *COUNTED]
    rows = session.execute(select(Evaluation.submitted_at, Evaluation.score,
                                  Evaluation.critical_fail, Evaluation.targeted)
                           .where(*released)).all()
    scores = [float(s) for _t, s, _c, targeted in rows if s is not None and not targeted]
    per_month: dict[tuple[int, int], list[float]] = defaultdict(list)
    for submitted_at, score, _c, targeted in rows:
        if score is not None and not targeted:
            local = submitted_at.astimezone(tz)
            per_month[(local.year, local.month)].append(float(score))
    trend = []
    for year, month in months:
        values = per_month.get((year, month), [])
        trend.append({"month": f"{year}-{month:02d}", "n": len(values),
                      "mean": statistics.fmean(values) if values else None})
    latest = session.scalars(
        select(Evaluation).options(*LIST_OPTIONS).where(*released)
        .order_by(Evaluation.submitted_at.desc(), Evaluation.id.desc()).limit(recent)).all()
    card = Scorecard(agent, summarise(scores), trend, weakest_questions(session, where),
                     list(latest), sum(1 for r in rows if r[2]),
                     targeted=sum(1 for r in rows if r[3]), released=len(rows),
                     since=dt.date(*months[0], 1))
    if agent.team_id is not None:
        team_scores = session.scalar(
            select(func.avg(Evaluation.score)).where(
                Evaluation.team_id == agent.team_id, Evaluation.agent_id != agent.id,
                *COUNTED, Evaluation.submitted_at >= since))
        card.peer_mean = float(team_scores) if team_scores is not None else None
    return card


@dataclass(frozen=True)
class Distribution:
    """One evaluator's scores against the scores their peers gave in the same period."""

    evaluator: str
    evaluator_id: int
    summary: Summary
    quartiles: tuple[float, float, float, float, float] | None
    peer_mean: float | None

    @property
    def difference(self) -> float | None:
        if self.summary.mean is None or self.peer_mean is None:
            return None
        return self.summary.mean - self.peer_mean

    @property
    def flag(self) -> str:
        """Lenient / severe when the gap is both large (5 points) and clear of the CI."""
        diff = self.difference
        s = self.summary
        if diff is None or not s.conclusive or s.low is None or s.high is None:
            return ""
        assert self.peer_mean is not None
        if diff >= 5 and s.low > self.peer_mean:
            return "lenient"
        if diff <= -5 and s.high < self.peer_mean:
            return "severe"
        return ""


def five_numbers(values: list[float]) -> tuple[float, float, float, float, float] | None:
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        v = ordered[0]
        return (v, v, v, v, v)
    q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    return (ordered[0], q1, median, q3, ordered[-1])


def evaluator_distributions(session: Session, where: list[Any]) -> list[Distribution]:
    rows = session.execute(
        select(Evaluation.evaluator_id, User.display_name, Evaluation.score)
        .join(User, User.id == Evaluation.evaluator_id)
        .where(*where, *COUNTED, Evaluation.score.is_not(None))
    ).all()
    by_evaluator: dict[tuple[int, str], list[float]] = defaultdict(list)
    for evaluator_id, name, score in rows:
        by_evaluator[(evaluator_id, name)].append(float(score))
    total = sum(sum(v) for v in by_evaluator.values())
    count = sum(len(v) for v in by_evaluator.values())
    out = []
    for (evaluator_id, name), values in sorted(by_evaluator.items(), key=lambda kv: kv[0][1]):
        others = count - len(values)
        peer = (total - sum(values)) / others if others else None
        out.append(Distribution(name, evaluator_id, summarise(values), five_numbers(values),
                                peer))
    return out


def agent_summaries(session: Session, where: list[Any]) -> list[tuple[User, Summary]]:
    rows = session.execute(
        select(Evaluation.agent_id, Evaluation.score)
        .where(*where, *COUNTED, Evaluation.score.is_not(None))
    ).all()
    by_agent: dict[int, list[float]] = defaultdict(list)
    for agent_id, score in rows:
        by_agent[agent_id].append(float(score))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(sorted(by_agent))))}
    return sorted(((users[a], summarise(v)) for a, v in by_agent.items()),
                  key=lambda pair: pair[0].display_name)


def summary_of(session: Session, where: list[Any]) -> Summary:
    return summarise([float(s) for s in session.scalars(
        select(Evaluation.score).where(*where, *COUNTED, Evaluation.score.is_not(None)))])
