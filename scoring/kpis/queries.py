"""Read side of the KPIs: a team's figures per month and channel against the site's targets,
beside the QA mean of the same team and month."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from qm.auth.models import Team
from qm.auth.permissions import can
from qm.config import Settings
from scoring.evaluations.models import COUNTED, Evaluation
from scoring.kpis import metrics
from scoring.kpis.metrics import SUMS, Estimate, Targets, Totals
from scoring.kpis.models import KpiRecord
from scoring.reports.queries import (
    Summary,
    month_bounds,
    month_index,
    summarise,
    summarise_aggregate,
)

Month = tuple[int, int]  # (year, month)
SMALL_SURVEY = 30  # fewer answers than this: the interval is wide; the page says so
MONTHS_A_QUERY = 120  # months bucketed by one query of ``qa_means``
MAX_MONTHS = 120  # the longest period the API gives at once (ten years)


def targets(settings: Settings) -> Targets:
    """The site's targets (``QM_KPI_TARGETS`` over the defaults); a bad value is a
    ``ValueError`` naming the variable."""
    return metrics.targets_from(settings.kpi_targets)


def visible_teams(session: Session, actor: Any) -> list[Team]:
    return [t for t in session.scalars(select(Team).order_by(Team.name))
            if can(actor, "kpi.view", t)]


def month_label(month: Month) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def parse_month(text: str | None) -> Month | None:
    """``YYYY-MM`` as (year, month); None for anything else."""
    try:
        day = dt.date.fromisoformat(f"{(text or '').strip()}-01")
    except ValueError:
        return None
    return day.year, day.month


def months_between(first: Month, last: Month) -> list[Month]:
    out, (year, month) = [], first
    while (year, month) <= last:
        out.append((year, month))
        year, month = (year, month + 1) if month < 12 else (year + 1, 1)
    return out


def _end(month: Month) -> dt.date:
    """The first day after ``month``."""
    year, number = month
    return dt.date(year + 1, 1, 1) if number == 12 else dt.date(year, number + 1, 1)


def totals(session: Session, team_ids: list[int], first: Month, last: Month,
           channel: str | None = None) -> dict[tuple[int, Month, str], Totals]:
    """Each (team, month, channel)'s sums over its days and queues: the raw figures summed,
    rates computed afterwards (``metrics.values``). A month without rows is absent."""
    if not team_ids:
        return {}
    where = [KpiRecord.team_id.in_(team_ids), KpiRecord.day >= dt.date(*first, 1),
             KpiRecord.day < _end(last)]
    if channel:
        where.append(KpiRecord.channel == channel)
    columns = [getattr(KpiRecord, name) for name in SUMS]
    out: dict[tuple[int, Month, str], Totals] = defaultdict(Totals)
    for row in session.execute(select(KpiRecord.team_id, KpiRecord.day, KpiRecord.channel,
                                      *columns).where(*where)).mappings():
        out[(row["team_id"], (row["day"].year, row["day"].month), row["channel"])].add(row)
    return dict(out)


def qa_means(session: Session, team_ids: list[int], first: Month, last: Month,
             timezone: str) -> dict[tuple[int, Month], Summary]:
    """The QA score of each team and month (site time zone): the released evaluations' mean
    with its interval, as the reports count them (``COUNTED``: targeted ones left out).
    Aggregated in the database (count, sum, sum of squares per team and month), as the QA
    dashboard's trend is: a year of every team is a few hundred rows, not every score."""
    if not team_ids:
        return {}
    months = months_between(first, last)
    score = cast(Evaluation.score, Float)
    out = {}
    # a CASE over every month's bound: a few years a query, so that a long period never
    # passes the database's limit of bound parameters
    for start in range(0, len(months), MONTHS_A_QUERY):
        part = months[start:start + MONTHS_A_QUERY]
        _labels, bounds = month_bounds(part[-1], ZoneInfo(timezone or "UTC"), len(part))
        month = month_index(bounds).label("month")
        for team_id, index, n, total, squares in session.execute(
                select(Evaluation.team_id, month, func.count(), func.sum(score),
                       func.sum(score * score))
                .where(Evaluation.team_id.in_(team_ids), *COUNTED,
                       Evaluation.score.is_not(None), Evaluation.submitted_at >= bounds[0],
                       Evaluation.submitted_at < bounds[-1])
                .group_by(Evaluation.team_id, month)):
            out[(team_id, part[int(index)])] = summarise_aggregate(
                int(n), float(total or 0), float(squares or 0))
    return out


@dataclass(frozen=True)
class Cell:
    """One KPI of one team, month and channel, read against its target."""

    kpi: str
    value: float | None
    target: str | None  # "at least 70%"; None: no target set
    met: bool | None  # None: no target, or no figures

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "no data"
        if self.met is None:
            return "no target"
        return "met" if self.met else "not met"

    def as_dict(self) -> dict[str, Any]:
        return {"value": None if self.value is None else round(self.value, 2),
                "target": self.target, "verdict": self.verdict}


@dataclass(frozen=True)
class Line:
    """A team's month on one channel: every KPI against its target, the surveys with their
    sample and interval, and the team's QA mean of that month."""

    team: Team
    month: Month
    channel: str
    cells: dict[str, Cell]
    csat_mean: float | None
    csat: Estimate
    nps: Estimate
    qa: Summary

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def empty(self) -> bool:
        return all(cell.value is None for cell in self.cells.values())

    def as_dict(self) -> dict[str, Any]:
        def interval(estimate: Estimate) -> dict[str, Any]:
            return {"n": estimate.n,
                    "low": None if estimate.low is None else round(estimate.low, 2),
                    "high": None if estimate.high is None else round(estimate.high, 2),
                    "method": estimate.method}

        return {"team_id": self.team.id, "team": self.team.name, "month": self.label,
                "channel": self.channel,
                "kpis": {kpi: cell.as_dict() for kpi, cell in self.cells.items()},
                "csat_mean_score": None if self.csat_mean is None else round(self.csat_mean, 2),
                "csat_interval": interval(self.csat), "nps_interval": interval(self.nps),
                "qa": {"n": self.qa.n,
                       "mean": None if self.qa.mean is None else round(self.qa.mean, 1)}}


def line(team: Team, month: Month, channel: str, sums: Totals, qa: Summary | None,
         site_targets: Targets) -> Line:
    found = metrics.values(sums)
    cells = {}
    for kpi in metrics.KPIS:
        target = site_targets.for_(kpi, channel)
        cells[kpi] = Cell(kpi, found[kpi], target.text if target else None,
                          target.met(found[kpi]) if target else None)
    return Line(team, month, channel, cells, found["csat_mean"], metrics.csat(sums),
                metrics.nps(sums), qa or summarise([]))


def lines(session: Session, teams: list[Team], first: Month, last: Month, site_targets: Targets,
          timezone: str, channel: str | None = None) -> list[Line]:
    """Every (team, month, channel) with figures in the period, by team, month and channel."""
    ids = [t.id for t in teams]
    by_id = {t.id: t for t in teams}
    sums = totals(session, ids, first, last, channel)
    qa = qa_means(session, ids, first, last, timezone)
    return [line(by_id[team_id], month, chan, found, qa.get((team_id, month)), site_targets)
            for (team_id, month, chan), found in sorted(
                sums.items(), key=lambda item: (by_id[item[0][0]].name, item[0][1], item[0][2]))]


def trend(session: Session, team: Team, channel: str, last: Month, site_targets: Targets,
          timezone: str, count: int = 12) -> list[Line]:
    """The ``count`` months ending with ``last`` for one team and channel, oldest first; a
    month without figures is there, empty, so gaps show."""
    months = months_between(months_before(last, count - 1), last)
    sums = totals(session, [team.id], months[0], last, channel)
    qa = qa_means(session, [team.id], months[0], last, timezone)
    return [line(team, month, channel, sums.get((team.id, month, channel), Totals()),
                 qa.get((team.id, month)), site_targets) for month in months]


def months_before(month: Month, count: int) -> Month:
    """The month ``count`` months before ``month``."""
    index = month[0] * 12 + month[1] - 1 - count
    return index // 12, index % 12 + 1


def channels(session: Session, team_ids: list[int]) -> list[str]:
    if not team_ids:
        return []
    return list(session.scalars(select(KpiRecord.channel).where(
        KpiRecord.team_id.in_(team_ids)).distinct().order_by(KpiRecord.channel)))


def latest_month(session: Session, team_ids: list[int]) -> Month | None:
    """The most recent month with figures among ``team_ids``: where the page opens."""
    if not team_ids:
        return None
    day = session.scalar(select(KpiRecord.day).where(KpiRecord.team_id.in_(team_ids))
                         .order_by(KpiRecord.day.desc()).limit(1))
    return None if day is None else (day.year, day.month)


# --- the tables as files (the page's exports and the evidence pack) -----------------------

def table_header() -> list[str]:
    """The columns of a KPI table as a file: each KPI with its target and verdict, the surveys'
    samples and intervals, and the QA score beside them."""
    out = ["team", "month", "channel"]
    for kpi, (label, unit) in metrics.KPIS.items():
        out += [f"{label} ({unit})" if unit else label, f"{kpi} target", f"{kpi} verdict"]
    return [*out, "CSAT mean score", "CSAT responses", "CSAT 95% low", "CSAT 95% high",
            "NPS answers", "NPS 95% low", "NPS 95% high", "QA evaluations", "QA mean",
            "QA 95% low", "QA 95% high"]


def table_row(item: Line) -> list[Any]:
    """One line of ``table_header``'s table (figures rounded as the page shows them)."""
    def r(value: float | None, places: int = 2) -> float | None:
        return None if value is None else round(value, places)

    out: list[Any] = [item.team.name, item.label, item.channel]
    for kpi in metrics.KPIS:
        cell = item.cells[kpi]
        out += [r(cell.value), cell.target or "", cell.verdict]
    return [*out, r(item.csat_mean), item.csat.n, r(item.csat.low), r(item.csat.high),
            item.nps.n, r(item.nps.low), r(item.nps.high), item.qa.n, r(item.qa.mean, 1),
            r(item.qa.low, 1), r(item.qa.high, 1)]
