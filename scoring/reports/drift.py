"""Grading the graders: each evaluator's deviation over time, from peers on normal evaluations
and from the reference (consensus, expert, or the others) in calibration sessions, with an alert
when it passes a threshold."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qm.auth.models import User
from qm.auth.permissions import scope_clause
from qm.db import utcnow
from scoring.calibration import results as cal_results
from scoring.calibration import services as cal
from scoring.calibration.models import CalibrationItem, CalibrationSession
from scoring.evaluations.models import COUNTED, Evaluation
from scoring.reports.queries import MIN_SAMPLE, months_back, period_start

MONTHS = 6


SESSIONS = 10


@dataclass
class DriftRow:
    evaluator: User
    months: list[dict[str, Any]] = field(default_factory=list)  # month, n, mean, peers, diff
    calibrations: list[dict[str, Any]] = field(default_factory=list)  # title, when, deviation
    alerts: list[str] = field(default_factory=list)


def month_labels(timezone: str = "UTC", now: dt.datetime | None = None) -> list[str]:
    return [f"{y}-{m:02d}" for y, m in months_back(now or utcnow(), ZoneInfo(timezone),
                                                   MONTHS)]


def evaluator_drift(session: Session, actor: Any, *, threshold: float = 5.0,
                    timezone: str = "UTC", now: dt.datetime | None = None) -> list[DriftRow]:
    """One row per evaluator with evaluations or calibrations in scope; every row has one
    entry per month of ``month_labels`` (empty months included), so columns line up."""
    tz = ZoneInfo(timezone)
    months = months_back(now or utcnow(), tz, MONTHS)
    since = period_start(months, tz)
    rows: dict[int, DriftRow] = {}

    def row(user: User) -> DriftRow:
        return rows.setdefault(user.id, DriftRow(user))

    scores = session.execute(
        select(Evaluation.evaluator_id, Evaluation.submitted_at, Evaluation.score)
        .where(*COUNTED, Evaluation.score.is_not(None),
               Evaluation.submitted_at >= since,
               scope_clause(actor, "report.view", Evaluation.agent_id, Evaluation.team_id))
    ).all()
    by_month: dict[tuple[int, int], dict[int, list[float]]] = defaultdict(
        lambda: defaultdict(list))
    for evaluator_id, submitted_at, score in scores:
        local = submitted_at.astimezone(tz)
        by_month[(local.year, local.month)][evaluator_id].append(float(score))
    evaluator_ids = {e for month in by_month.values() for e in month}
    users = {u.id: u for u in session.scalars(select(User).where(
        User.id.in_(sorted(evaluator_ids))))} if evaluator_ids else {}
    for evaluator_id, user in users.items():
        drift_row = row(user)
        for year, month in months:
            per = by_month.get((year, month), {})
            own = per.get(evaluator_id, [])
            peers = [s for e, values in per.items() if e != evaluator_id for s in values]
            mean = statistics.fmean(own) if own else None
            peer_mean = statistics.fmean(peers) if peers else None
            drift_row.months.append({
                "month": f"{year}-{month:02d}", "n": len(own), "mean": mean,
                "peers": peer_mean,
                "diff": mean - peer_mean if mean is not None and peer_mean is not None else None})
        latest = next((m for m in reversed(drift_row.months)
                       if m["diff"] is not None and m["n"] >= MIN_SAMPLE), None)
        if latest is not None and abs(latest["diff"]) >= threshold:
            side = "above" if latest["diff"] > 0 else "below"
            drift_row.alerts.append(f"{abs(latest['diff']):.1f} points {side} peers in "
                                    f"{latest['month']} ({latest['n']} evaluations)")

    closed = session.scalars(
        select(CalibrationSession).options(
            selectinload(CalibrationSession.items).selectinload(CalibrationItem.scores),
            selectinload(CalibrationSession.participants))
        .where(CalibrationSession.status == "closed", cal.visible_clause(actor))
        .order_by(CalibrationSession.closed_at.desc()).limit(SESSIONS)).all()
    for calibration in reversed(closed):
        results = cal_results.results(session, calibration, statistics=False)
        for user in results.evaluators:
            deviations = [d for r in results.items if (d := r.deviation(user.id)) is not None]
            if not deviations:
                continue
            mean = statistics.fmean(deviations)
            row(user).calibrations.append({
                "title": calibration.title, "session_id": calibration.id,
                "when": calibration.closed_at, "deviation": mean,
                "reference": results.references(user.id)})
    for drift_row in rows.values():
        if not drift_row.months:
            drift_row.months = [{"month": f"{y}-{m:02d}", "n": 0, "mean": None,
                                 "peers": None, "diff": None} for y, m in months]
        if drift_row.calibrations:
            last = drift_row.calibrations[-1]
            if abs(last["deviation"]) >= threshold:
                side = "above" if last["deviation"] > 0 else "below"
                drift_row.alerts.append(
                    f"{abs(last['deviation']):.1f} points {side} the {last['reference']} in "
                    f"calibration {last['title']!r}")
    return sorted(rows.values(), key=lambda r: (not r.alerts, r.evaluator.display_name))
