"""Read-side reports on evaluations: the agent's scorecard, team and evaluator views, and the
QA dashboards' aggregates (computed in SQL: see the section at the end).

Reports count evaluations released to the agent (released, acknowledged, disputed), each with
its latest revision's score: a dispute outcome replaces the score it revised. Means, trends,
distributions and question shares leave out targeted evaluations (interactions drawn because
the flagging model flagged them): those were picked for being likely problems, and an average
over them would understate the agent. Counts of events (critical fails) and the lists keep them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
import math
import statistics
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    DateTime,
    Float,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from qm.auth.models import Team, User
from qm.db import change_version, kept_for, remember, remembered, utcnow
from qm.interactions.models import Channel, Interaction
from qm.versioning import VersionStatus
from scoring.calibration.models import CalibrationSession
from scoring.evaluations.models import (
    COUNTED,
    RELEASED_STATUSES,
    Evaluation,
    EvaluationAnswer,
    EvaluationStatus,
)
from scoring.evaluations.services import Visible
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
    # two passes over floats (statistics.stdev's exact fractions cost ten times as much, for
    # digits no page shows)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in scores) / (n - 1))
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


@dataclass(frozen=True)
class RecentEvaluation:
    """What the scorecard lists of one released evaluation."""

    id: int
    submitted_at: dt.datetime
    status: str
    score: Decimal | None
    critical_fail: bool
    targeted: bool
    version: int
    """Bumped by every change of the evaluation (its answers' too): what ``_WEAKEST`` keys."""

    @property
    def status_label(self) -> str:
        return EvaluationStatus(self.status).label


@dataclass
class Scorecard:
    agent: User
    summary: Summary
    trend: list[dict[str, Any]]
    weakest: list[dict[str, Any]]
    recent: list[RecentEvaluation]
    """The newest released evaluations of the period, newest first."""
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


_TEXTS: weakref.WeakKeyDictionary[Any, dict[int, dict[str, str]]] = weakref.WeakKeyDictionary()
"""Per database (engine), the question texts of form versions read so far: only versions no
longer drafts, whose definitions never change (``qm.versioning``)."""

TEXTS_KEPT = 512


def _question_texts(session: Session, version_ids: set[int]) -> dict[str, str]:
    """Question key to text over ``version_ids`` (the later version's text where two differ),
    reading only the versions this process has not read before."""
    known = remembered(session, _TEXTS)
    read: dict[int, dict[str, str]] = {}
    missing = sorted(v for v in version_ids if v not in known)
    if missing:
        for version_id, status, definition in session.execute(
                select(FormVersion.id, FormVersion.status, FormVersion.definition)
                .where(FormVersion.id.in_(missing))):
            read[version_id] = {q["key"]: q.get("text", q["key"])
                                for section in definition.get("sections", [])
                                for q in section.get("questions", [])}
            if status != VersionStatus.DRAFT.value:  # a draft may still change
                remember(session, _TEXTS, TEXTS_KEPT, version_id, read[version_id])
    texts: dict[str, str] = {}
    for version_id in sorted(version_ids):
        texts.update(read.get(version_id) or known.get(version_id, {}))
    return texts


def _weakest_select(where: list[Any], limit: int) -> Any:
    ratio = func.sum(EvaluationAnswer.earned) / func.sum(EvaluationAnswer.possible)
    return (select(EvaluationAnswer.question_key, func.count(),
                   func.sum(EvaluationAnswer.earned), func.sum(EvaluationAnswer.possible),
                   func.sum(case((EvaluationAnswer.failed, 1), else_=0)),
                   func.max(Evaluation.form_version_id))
            .join(Evaluation, Evaluation.id == EvaluationAnswer.evaluation_id)
            .where(*where, EvaluationAnswer.possible > 0)
            .group_by(EvaluationAnswer.question_key)
            .order_by(ratio, EvaluationAnswer.question_key)
            .limit(limit))


def _weakest_rows(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    texts = _question_texts(session, {r[5] for r in rows})
    return [{"key": key, "text": texts.get(key, key), "n": n,
             "percent": float(Decimal(earned) * 100 / Decimal(possible)),
             "failed": int(failed or 0)}
            for key, n, earned, possible, failed, _v in rows]


def weakest_questions(session: Session, where: list[Any], limit: int = 5) -> list[dict[str, Any]]:
    """Questions with the lowest share of points earned, over the evaluations ``where`` keeps."""
    return _weakest_rows(session, session.execute(_weakest_select(where, limit)).all())


@dataclass(frozen=True)
class _ScorecardStatements:
    """The scorecard's reads, built once per shape of the viewer's scope and executed with
    named parameters: building a statement and its cache key costs more than running it (0.9 ms
    of CPU of the 1.6 ms the weakest-questions read took)."""

    released: Any
    """The period's released evaluations of the agent."""
    weakest: Any


_SCORECARD_STATEMENTS: dict[Any, _ScorecardStatements] = {}


def _scorecard_statements(visible: Visible | None) -> _ScorecardStatements:
    key = visible.shape if visible is not None else None
    found = _SCORECARD_STATEMENTS.get(key)
    if found is None:
        released = [Evaluation.agent_id == bindparam("agent_id"),
                    Evaluation.status.in_(RELEASED_STATUSES),
                    Evaluation.submitted_at >= bindparam("since"),
                    *([visible.clause] if visible is not None else [])]
        found = _ScorecardStatements(
            # submitted_at as stored, naive UTC: a year of rows is placed in its months
            # without making each aware (UTCDateTime); the few listed are made aware
            select(Evaluation.id, type_coerce(Evaluation.submitted_at, DateTime()),
                   Evaluation.status, Evaluation.score, Evaluation.critical_fail,
                   Evaluation.targeted, Evaluation.version)
            .where(*released),
            _weakest_select([*released, *COUNTED], WEAKEST_SHOWN))
        _SCORECARD_STATEMENTS[key] = found
    return found


_TEAM_SCORES_READ = (select(Evaluation.agent_id, func.count(Evaluation.score),
                            func.sum(Evaluation.score))
                     .where(Evaluation.team_id == bindparam("team_id"), *COUNTED,
                            Evaluation.submitted_at >= bindparam("since"))
                     .group_by(Evaluation.agent_id))

_TEAM_SCORES: weakref.WeakKeyDictionary[Any, dict[tuple[int, dt.datetime],
                                                  tuple[float, int, dict[int, tuple[int, float]]]]
                                        ] = weakref.WeakKeyDictionary()
"""Per database, per (team, period start): when it was read, ``change_version(Evaluation)``
then, and each agent's count and sum of counted scores in the team."""

TEAM_SCORES_TTL_S = 30.0
"""How long a worker reuses a team's scores for the peers' mean: an evaluation committed
through the same worker shows at once, one committed elsewhere within this time."""

TEAM_SCORES_KEPT = 1024


def _team_scores(session: Session, team_id: int, since: dt.datetime
                 ) -> dict[int, tuple[int, float]]:
    """Each agent's (count, sum) of counted scores in ``team_id`` since ``since``: the peers'
    mean of any agent of the team, from one read of the team's period that the scorecards of
    all its agents share a while (``TEAM_SCORES_TTL_S``) instead of a scan of the team's year
    for every view of every agent."""
    def read() -> dict[int, tuple[int, float]]:
        return {agent: (int(n), float(total)) for agent, n, total in session.connection().execute(
            _TEAM_SCORES_READ, {"team_id": team_id, "since": since}) if n}

    return kept_for(session, _TEAM_SCORES, (team_id, since), read,
                    version=change_version(Evaluation), ttl_s=TEAM_SCORES_TTL_S,
                    limit=TEAM_SCORES_KEPT)


def peer_mean(session: Session, agent: User, since: dt.datetime) -> float | None:
    """The mean counted score of the other agents of ``agent``'s team since ``since``
    (evaluations made while they were in the team); None without a team or peers."""
    if agent.team_id is None:
        return None
    scores = _team_scores(session, agent.team_id, since)
    own_n, own_total = scores.get(agent.id, (0, 0.0))
    n = sum(count for count, _total in scores.values()) - own_n
    total = sum(total for _count, total in scores.values()) - own_total
    return total / n if n else None


WEAKEST_SHOWN = 5

_WEAKEST: weakref.WeakKeyDictionary[Any, dict[tuple[tuple[int, int], ...], list[dict[str, Any]]]
                                    ] = weakref.WeakKeyDictionary()
"""Per database, a scorecard's weakest questions by the (id, version) of the evaluations they
were computed from."""

WEAKEST_KEPT = 2048


def scorecard(session: Session, agent: User, *, timezone: str = "UTC",
              now: dt.datetime | None = None, recent: int = 20,
              visible: Visible | None = None) -> Scorecard:
    """The agent's last 12 months; ``visible`` (``scoring.evaluations.services.visible_shape``
    of the viewer) keeps only the evaluations the viewer may see, e.g. a lead sees those made
    while the agent was in the lead's team."""
    tz = ZoneInfo(timezone)
    months = months_back(now or utcnow(), tz)
    # each month's first instant, then the next month's: a row's month is found by bisection,
    # not by converting each of a year's rows to the zone
    labels, bounds = month_bounds(months[-1], tz, len(months))
    since = bounds[0]
    statements = _scorecard_statements(visible)
    params = {**(visible.params if visible is not None else {}),
              "agent_id": agent.id, "since": since}
    # One read of the period's released evaluations gives the figures, the trend and the
    # newest few listed: no second query for any of them. The rows stay the connection's
    # tuples (id, submitted_at as naive UTC, status, score, critical_fail, targeted, version),
    # with no ORM pass over a year of them; only the few listed become RecentEvaluation.
    rows = session.connection().execute(statements.released, params).all()
    naive_bounds = [bound.replace(tzinfo=None) for bound in bounds]
    scores: list[float] = []
    per_month: list[list[float]] = [[] for _ in months]
    critical = targeted = 0
    for row in rows:
        if row[4]:
            critical += 1
        if row[5]:
            targeted += 1
        elif row[3] is not None:
            score = float(row[3])
            scores.append(score)
            month = bisect.bisect_right(naive_bounds, row[1]) - 1
            if 0 <= month < len(months):
                per_month[month].append(score)
    trend = [{"month": label, "n": len(values),
              "mean": statistics.fmean(values) if values else None}
             for label, values in zip(labels, per_month, strict=True)]
    latest = [RecentEvaluation(row[0], row[1].replace(tzinfo=dt.UTC), *row[2:])
              for row in heapq.nlargest(recent, rows, key=lambda r: (r[1], r[0]))]
    # The weakest questions are a function of the answers of the evaluations counted, and an
    # evaluation's answers change only with it (its version): the same evaluations at the
    # same versions give the same list, so it is reused rather than aggregated again.
    key = tuple(sorted((row[0], row[6]) for row in rows if not row[5]))
    weakest = remembered(session, _WEAKEST).get(key)
    if weakest is None:
        weakest = _weakest_rows(session, session.connection().execute(statements.weakest,
                                                                       params).all())
        remember(session, _WEAKEST, WEAKEST_KEPT, key, weakest)
    return Scorecard(agent, summarise(scores), trend, [dict(q) for q in weakest], latest,
                     critical, targeted=targeted, released=len(rows),
                     since=dt.date(*months[0], 1), peer_mean=peer_mean(session, agent, since))


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


def quartile_positions(n: int) -> list[tuple[int, float]]:
    """Where the five numbers of ``n`` sorted values sit, for ``statistics.quantiles``'
    "inclusive" method: per number (min, Q1, median, Q3, max), the 0-based index ``k`` of the
    value below it and the share of the step to the next value. Q_j lies at (n - 1) * j / 4."""
    out = [(0, 0.0)]
    for j in (1, 2, 3):
        k, rest = divmod((n - 1) * j, 4)
        out.append((k, rest / 4))
    return [*out, (n - 1, 0.0)]


def evaluator_distributions(session: Session, where: list[Any]) -> list[Distribution]:
    """Each evaluator's scores (count, mean, 95% interval, five numbers) and their peers'
    mean, computed in the database. On PostgreSQL one aggregate query: count, sum, sum of
    squares, min, max and ``percentile_cont`` (whose interpolation is ``statistics.quantiles``'
    inclusive method) per evaluator. On SQLite, which has no ordered-set aggregate, a GROUP BY
    for the sums and a window query that returns only the few ranked scores each quartile lies
    between (at most 8 per evaluator), interpolated by ``quartile_positions``."""
    kept = [*where, *COUNTED, Evaluation.score.is_not(None)]
    score = cast(Evaluation.score, Float)
    sums: dict[int, tuple[int, float, float]] = {}
    fives: dict[int, tuple[float, ...]] = {}
    if session.get_bind().dialect.name == "postgresql":
        for evaluator, n, total, squares, *five in session.execute(
                select(Evaluation.evaluator_id, func.count(), func.sum(score),
                       func.sum(score * score), func.min(score),
                       *[func.percentile_cont(q).within_group(score) for q in (0.25, 0.5, 0.75)],
                       func.max(score)).where(*kept).group_by(Evaluation.evaluator_id)):
            sums[evaluator] = (int(n), float(total or 0), float(squares or 0))
            fives[evaluator] = tuple(float(v) for v in five)
    else:
        sums = {evaluator: (int(n), float(total or 0), float(squares or 0))
                for evaluator, n, total, squares in session.execute(
                    select(Evaluation.evaluator_id, func.count(), func.sum(score),
                           func.sum(score * score)).where(*kept)
                    .group_by(Evaluation.evaluator_id))}
        fives = _ranked_five_numbers(session, kept, score, sums) if sums else {}
    if not sums:
        return []
    names = dict(session.execute(select(User.id, User.display_name)
                                 .where(User.id.in_(list(sums)))).all())
    total = sum(t for _n, t, _sq in sums.values())
    count = sum(n for n, _t, _sq in sums.values())
    out = []
    for evaluator, (n, own, squares) in sums.items():
        others = count - n
        out.append(Distribution(names.get(evaluator, str(evaluator)), evaluator,
                                summarise_aggregate(n, own, squares),
                                fives[evaluator],  # type: ignore[arg-type]
                                (total - own) / others if others else None))
    return sorted(out, key=lambda d: d.evaluator)


def _ranked_five_numbers(session: Session, kept: list[Any], score: Any,
                         sums: dict[int, tuple[int, float, float]]
                         ) -> dict[int, tuple[float, ...]]:
    """The five numbers per evaluator from the ranked scores around each quartile, for a
    database without ``percentile_cont`` (SQLite)."""
    ranked = (select(Evaluation.evaluator_id.label("evaluator"), score.label("score"),
                     func.row_number().over(partition_by=Evaluation.evaluator_id,
                                            order_by=(score, Evaluation.id)).label("rank"),
                     func.count().over(partition_by=Evaluation.evaluator_id).label("n"))
              .where(*kept).subquery())
    # 1-based ranks wanted: the first and the last, and around each quartile k + 1 and k + 2
    wanted = [ranked.c.rank == 1, ranked.c.rank == ranked.c.n]
    for j in (1, 2, 3):
        k = ((ranked.c.n - 1) * j) // 4
        wanted += [ranked.c.rank == k + 1, ranked.c.rank == k + 2]
    values: dict[int, dict[int, float]] = defaultdict(dict)
    for evaluator, value, rank in session.execute(
            select(ranked.c.evaluator, ranked.c.score, ranked.c.rank).where(or_(*wanted))):
        values[evaluator][int(rank) - 1] = float(value)
    return {evaluator: tuple(values[evaluator][k] + (values[evaluator][k + 1]
                                                      - values[evaluator][k]) * share
                             if share else values[evaluator][k]
                             for k, share in quartile_positions(n))
            for evaluator, (n, _total, _squares) in sums.items()}


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


# --- The QA dashboards (/reports/dashboard) ----------------------------------------------
# Score trend with confidence bands, critical-fail rate, the most failed
# questions and calibration agreement, over 12 months ending a chosen month.
#
# Every figure is aggregated in the database: per month (and per team, agent or queue) the count,
# sum and sum of squares of the scores, from which ``summarise_aggregate`` gives the same mean,
# sd and 95% t interval as ``summarise`` does from the scores themselves. A month is the
# site's calendar month: its bounds are computed here as UTC instants and the database sorts each
# evaluation into one with a CASE, which reads the same on SQLite and PostgreSQL and keeps the
# index on ``submitted_at`` usable. The same evaluations count as in the other reports
# (``COUNTED``: released, not targeted).

DASHBOARD_MONTHS = 12
BREAKDOWNS = {"team": "Team", "agent": "Agent", "queue": "Queue"}
SERIES_SHOWN = 20  # a breakdown lists the groups with the most evaluations first


def summarise_aggregate(n: int, total: float, squares: float) -> Summary:
    """``summarise`` from (count, sum, sum of squares): what SQL returns cheaply. The
    variance is clamped at 0, since rounding can leave a tiny negative for equal scores."""
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = total / n
    if n == 1:
        return Summary(1, mean, None, None, None)
    variance = max(0.0, (squares - total * total / n) / (n - 1))
    sd = math.sqrt(variance)
    half = t95(n - 1) * sd / math.sqrt(n)
    return Summary(n, mean, sd, max(0.0, mean - half), min(100.0, mean + half))


def month_bounds(end: tuple[int, int], tz: ZoneInfo,
                 count: int = DASHBOARD_MONTHS) -> tuple[list[str], list[dt.datetime]]:
    """Labels of the ``count`` months ending with ``end`` (oldest first) and their ``count + 1``
    bounds as UTC instants (each month's first moment, then the first after the last)."""
    year, month = end
    starts = []
    for _ in range(count):
        starts.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    starts.reverse()
    after = (end[0] + (end[1] == 12), end[1] % 12 + 1)
    labels = [f"{y}-{m:02d}" for y, m in starts]
    bounds = [dt.datetime(y, m, 1, tzinfo=tz).astimezone(dt.UTC) for y, m in [*starts, after]]
    return labels, bounds


def parse_month(value: str | None) -> tuple[int, int] | None:
    """``YYYY-MM`` or None when it is not one (the caller says so and falls back)."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
    except ValueError:
        return None
    return (year, month) if 2000 <= year <= 2100 and 1 <= month <= 12 else None


def window_args(args: Any, timezone: str, problems: list[str]) -> tuple[tuple[int, int], str]:
    """A dashboard's window and channel from its query string (``args``, a mapping): the
    last month (``month=YYYY-MM``, default this month in ``timezone``) and the channel (empty:
    every channel). A value that cannot be used gets a message in ``problems`` (the page says
    so, keeps what was typed, and shows the default instead)."""
    now = dt.datetime.now(dt.UTC).astimezone(ZoneInfo(timezone or "UTC"))
    raw_month = args.get("month", "")
    end = parse_month(raw_month)
    if end is None:
        end = (now.year, now.month)
        if raw_month:
            problems.append(f"The month {raw_month[:20]!r} is not a month written YYYY-MM; "
                            f"showing the 12 months to {end[0]}-{end[1]:02d}.")
    channel = args.get("channel", "")
    if channel and channel not in {c.value for c in Channel}:
        problems.append(f"There is no channel {channel[:20]!r}; showing every channel.")
        channel = ""
    return end, channel


@dataclass
class Filters:
    """What the dashboard's form asks for; ``where`` turns it into WHERE clauses."""

    end: tuple[int, int]
    team_id: int | None = None
    queue: str = ""
    channel: str = ""
    form_id: int | None = None
    by: str = ""

    def where(self, scope: Any, bounds: list[dt.datetime]) -> list[Any]:
        out = [*COUNTED, Evaluation.score.is_not(None), scope,
               Evaluation.submitted_at >= bounds[0], Evaluation.submitted_at < bounds[-1]]
        if self.team_id:
            out.append(Evaluation.team_id == self.team_id)
        if self.queue or self.channel:
            contact = select(Interaction.id)
            if self.queue:
                contact = contact.where(Interaction.queue == self.queue)
            if self.channel:
                contact = contact.where(Interaction.channel == self.channel)
            out.append(Evaluation.interaction_id.in_(contact))
        if self.form_id:
            out.append(Evaluation.form_version_id.in_(
                select(FormVersion.id).where(FormVersion.form_id == self.form_id)))
        return out

    def args(self) -> dict[str, Any]:
        """The filters as URL arguments (for links and exports), empty ones left out."""
        return {k: v for k, v in {"month": f"{self.end[0]}-{self.end[1]:02d}",
                                  "team_id": self.team_id, "queue": self.queue,
                                  "channel": self.channel, "form_id": self.form_id,
                                  "by": self.by}.items() if v}


def month_index(bounds: list[dt.datetime], column: Any = None) -> Any:
    """The month index (0 = oldest) of ``column`` (default: the evaluation's ``submitted_at``)
    as a SQL CASE over the bounds: the same on SQLite and PostgreSQL, and an index on the
    column stays usable for the range around it."""
    column = Evaluation.submitted_at if column is None else column
    return case(*[(column < b, i) for i, b in enumerate(bounds[1:])], else_=len(bounds) - 1)


@dataclass
class Series:
    label: str
    months: list[dict[str, Any]] = field(default_factory=list)  # month, summary
    total: Summary = field(default_factory=lambda: Summary(0, None, None, None, None))


def score_trend(session: Session, where: list[Any], labels: list[str],
                bounds: list[dt.datetime], by: str = "") -> list[Series]:
    """One series for everything ``where`` keeps, or one per team / agent / queue (``by``),
    each with one entry per month (empty months included, so columns line up)."""
    month = month_index(bounds).label("month")
    score = cast(Evaluation.score, Float)
    group: Any = {"team": Evaluation.team_id, "agent": Evaluation.agent_id,
                  "queue": Interaction.queue}.get(by, literal(""))
    group = group.label("grp")
    stmt = (select(group, month, func.count(), func.sum(score), func.sum(score * score))
            .select_from(Evaluation))
    if by == "queue":
        stmt = stmt.join(Interaction, Interaction.id == Evaluation.interaction_id)
    stmt = stmt.where(*where).group_by(group, month)
    cells: dict[Any, dict[int, tuple[int, float, float]]] = {}
    for key, index, n, total, squares in session.execute(stmt):
        cells.setdefault(key, {})[int(index)] = (int(n), float(total or 0), float(squares or 0))
    names = _names(session, by, [k for k in cells if k is not None])
    out = []
    for key, per_month in cells.items():
        series = Series(names.get(key, str(key) if key not in (None, "") else "(none)"))
        for i, label in enumerate(labels):
            series.months.append({"month": label,
                                  "summary": summarise_aggregate(*per_month.get(i, (0, 0, 0)))})
        n = sum(c[0] for c in per_month.values())
        series.total = summarise_aggregate(n, sum(c[1] for c in per_month.values()),
                                           sum(c[2] for c in per_month.values()))
        out.append(series)
    if not by and not out:
        out = [Series("All", [{"month": label, "summary": summarise_aggregate(0, 0, 0)}
                              for label in labels])]
    out.sort(key=lambda s: (-s.total.n, s.label))
    return out[:SERIES_SHOWN] if by else out


def _names(session: Session, by: str, keys: list[Any]) -> dict[Any, str]:
    if by == "team" and keys:
        return dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(keys))).all())
    if by == "agent" and keys:
        return dict(session.execute(
            select(User.id, User.display_name).where(User.id.in_(keys))).all())
    return {}


def critical_fail_rate(session: Session, where: list[Any], labels: list[str],
                       bounds: list[dt.datetime]) -> list[dict[str, Any]]:
    """Per month: evaluations, how many had a critical fail, and the share (None when none).
    A rate, like a mean, leaves out targeted evaluations (``COUNTED`` in ``where``)."""
    month = month_index(bounds).label("month")
    rows = session.execute(
        select(month, func.count(), func.sum(case((Evaluation.critical_fail, 1), else_=0)))
        .where(*where).group_by(month)).all()
    per = {int(i): (int(n), int(f or 0)) for i, n, f in rows}
    out = []
    for i, label in enumerate(labels):
        n, fails = per.get(i, (0, 0))
        out.append({"month": label, "n": n, "fails": fails,
                    "rate": fails * 100 / n if n else None})
    return out


def most_failed_questions(session: Session, where: list[Any],
                          limit: int = 10) -> list[dict[str, Any]]:
    """Questions answered with a fail most often (ties: the larger share first), with the
    share of their answers that failed."""
    failed = func.sum(case((EvaluationAnswer.failed, 1), else_=0))
    rows = session.execute(
        select(EvaluationAnswer.question_key, func.count(), failed,
               func.max(Evaluation.form_version_id))
        .join(Evaluation, Evaluation.id == EvaluationAnswer.evaluation_id)
        .where(*where, EvaluationAnswer.possible > 0)
        .group_by(EvaluationAnswer.question_key)
        .having(failed > 0)
        .order_by(failed.desc(), (failed * 1.0 / func.count()).desc(),
                  EvaluationAnswer.question_key)
        .limit(limit)).all()
    texts = _question_texts(session, {r[3] for r in rows})
    return [{"key": key, "text": texts.get(key, key), "n": int(n), "failed": int(f),
             "percent": int(f) * 100 / int(n)} for key, n, f, _v in rows]


AGREEMENT = {"alpha": "Krippendorff's alpha, answers (nominal)",
             "agreement": "Percent agreement, answers"}


def calibration_agreement(session: Session, visible: Any, bounds: list[dt.datetime],
                          team_id: int | None = None) -> list[dict[str, Any]]:
    """Each calibration session closed in the period (of ``team_id`` when given), oldest first,
    with the agreement statistics frozen at its closing (``CalibrationSession.statistics``):
    nothing recomputed. Queue, channel and form filters do not apply: a session is a team's."""
    if team_id:
        visible = and_(visible, CalibrationSession.team_id == team_id)
    sessions = session.execute(
        select(CalibrationSession.id, CalibrationSession.title, CalibrationSession.closed_at,
               CalibrationSession.statistics)
        .where(CalibrationSession.status == "closed", visible,
               CalibrationSession.closed_at >= bounds[0],
               CalibrationSession.closed_at < bounds[-1])
        .order_by(CalibrationSession.closed_at, CalibrationSession.id)).all()
    out = []
    for session_id, title, closed_at, stored in sessions:
        values = {s.get("name"): s.get("value") for s in stored or []}
        out.append({"session_id": session_id, "title": title, "closed_at": closed_at,
                    "alpha": values.get(AGREEMENT["alpha"]),
                    "agreement": values.get(AGREEMENT["agreement"])})
    return out
