"""Scoring's files in the evidence pack (``qm.evidence``): the scoring forms and their versions,
the period's evaluations and the monitoring sample per agent per ISO week (6.2, 6.6), the
calibration sessions with their agreement statistics, and the complaint register.

Each file is produced from rows a query yields (``yield_per``): a year of a large site is
written as it is read. Imported by ``qm.evidence.load()``, from the app and the shell alike.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from qm.auth.permissions import scope_clause
from qm.db import utcnow
from qm.evidence import EvidenceFile, Scope, section, team_names, usernames
from scoring.calibration import results as calibration_results
from scoring.calibration.models import CalibrationSession
from scoring.complaints import queries as complaint_queries
from scoring.evaluations.models import FINISHED_STATUSES, Evaluation
from scoring.forms import services as form_services
from scoring.forms.models import FormVersion, ScoringForm


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "form"


def _in_period(scope: Scope) -> Any:
    """An evaluation belongs to the period by when it was submitted (else, not submitted yet,
    by when it was assigned)."""
    at = func.coalesce(Evaluation.submitted_at, Evaluation.created_at)
    return (at >= scope.start_at) & (at < scope.end_before)


def _evaluations(actor: Any, scope: Scope) -> Any:
    stmt = select(Evaluation).where(
        _in_period(scope),
        scope_clause(actor, "evaluation.view", Evaluation.agent_id, Evaluation.team_id))
    if scope.team_id is not None:
        stmt = stmt.where(Evaluation.team_id == scope.team_id)
    return stmt


@section(100)
def forms(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """Every version of every scoring form (all periods: an evaluation names the version it
    was scored on), as the JSON ``qm forms import`` reads, with a list of them."""
    versions = list(session.scalars(
        select(FormVersion).join(ScoringForm)
        .options(selectinload(FormVersion.form))
        .order_by(ScoringForm.name, FormVersion.number)))
    used = Counter(session.scalars(select(Evaluation.form_version_id).where(
        _evaluations(actor, scope).whereclause)))  # type: ignore[arg-type]
    names = usernames(session)

    def listing() -> Iterator[Sequence[Any]]:
        yield ["form", "version", "status", "created_at", "published_at", "published_by",
               "evaluations_in_period", "file"]
        for v in versions:
            yield [v.form.name, v.number, v.status, v.created_at, v.published_at,
                   names.get(v.published_by_id or 0, ""), used.get(v.id, 0), _form_path(v)]

    yield EvidenceFile("scoring/forms.csv", "Scoring forms and their versions",
                       "Each version of each form, when it was published and how many of the "
                       "period's evaluations used it; each version's definition is a JSON file "
                       "beside it.", rows=listing())
    for v in versions:
        body = json.dumps(form_services.export_form(v), indent=2, ensure_ascii=False)
        yield EvidenceFile(_form_path(v), f"Form {v.form.name}, version {v.number}",
                           f"The definition of version {v.number} ({v.status}): sections, "
                           "questions, weights and critical items.",
                           chunks=[body.encode("utf-8")])


def _form_path(version: FormVersion) -> str:
    return f"scoring/forms/{_slug(version.form.name)}-{version.form_id}-v{version.number}.json"


@section(110)
def evaluations(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """One row per evaluation of the period, and the sample sizes per agent per ISO week."""
    names, teams = usernames(session), team_names(session)
    versions = {vid: (name, number) for vid, name, number in session.execute(
        select(FormVersion.id, ScoringForm.name, FormVersion.number).join(ScoringForm))}

    def rows() -> Iterator[Sequence[Any]]:
        yield ["evaluation", "interaction", "agent", "team", "evaluator", "form",
               "form_version", "status", "score", "critical_fail", "selection", "sample_week",
               "created_at", "submitted_at", "released_at", "acknowledged_at", "disputes"]
        e = Evaluation
        stmt = (select(e.id, e.interaction_id, e.agent_id, e.team_id, e.evaluator_id,
                       e.form_version_id, e.status, e.score, e.critical_fail, e.targeted,
                       e.sampling_rule_id, e.sample_week, e.created_at, e.submitted_at,
                       e.released_at, e.acknowledged_at, e.dispute_count)
                .where(_evaluations(actor, scope).whereclause)  # type: ignore[arg-type]
                .order_by(e.id).execution_options(yield_per=2000))
        for (eid, iid, agent, team, evaluator, vid, status, score, critical, targeted, rule,
             week, created, submitted, released, acknowledged, disputes) in session.execute(stmt):
            form, number = versions.get(vid, ("", ""))
            yield [eid, iid, names.get(agent, ""), teams.get(team or 0, ""),
                   names.get(evaluator, ""), form, number, status,
                   "" if score is None else score, critical, _selection(targeted, rule),
                   week or "", created, submitted, released, acknowledged, disputes]

    def sample() -> Iterator[Sequence[Any]]:
        yield ["agent", "team", "iso_week", "evaluations", "random", "targeted", "manual",
               "critical_fails", "mean_score"]
        stmt = (select(Evaluation.agent_id, Evaluation.team_id, Evaluation.submitted_at,
                       Evaluation.targeted, Evaluation.sampling_rule_id, Evaluation.score,
                       Evaluation.critical_fail)
                .where(_evaluations(actor, scope).whereclause,  # type: ignore[arg-type]
                       Evaluation.status.in_(FINISHED_STATUSES))
                .execution_options(yield_per=5000))
        # (agent, team, week) -> [count, random, targeted, manual, critical, score sum, scored]
        cells: dict[tuple[int, int | None, str], list[Any]] = {}
        for agent, team, submitted, targeted, rule, score, critical in session.execute(stmt):
            year, week, _day = submitted.isocalendar()
            cell = cells.setdefault((agent, team, f"{year}-W{week:02d}"), [0] * 7)
            cell[0] += 1
            cell[{"random": 1, "targeted": 2, "manual": 3}[_selection(targeted, rule)]] += 1
            cell[4] += bool(critical)
            if score is not None:
                cell[5] += score
                cell[6] += 1
        for (agent, team, week), c in sorted(
                cells.items(), key=lambda kv: (names.get(kv[0][0], ""), kv[0][2])):
            mean = "" if not c[6] else round(c[5] / c[6], 2)
            yield [names.get(agent, ""), teams.get(team or 0, ""), week, *c[:5], mean]

    yield EvidenceFile("scoring/evaluations.csv", "Evaluations",
                       "Every evaluation submitted in the period (or assigned in it and not yet "
                       "submitted): agent, team, evaluator, form version, score, critical "
                       "failure, status, dates, and how the interaction was chosen (random "
                       "sample, targeted, or manual).", rows=rows())
    yield EvidenceFile("scoring/sample_sizes.csv", "Monitoring sample per agent per week",
                       "Submitted evaluations per agent per ISO week (of submission, UTC), "
                       "split by how they were chosen, with critical failures and the mean "
                       "score.", rows=sample())


def _selection(targeted: bool, rule_id: int | None) -> str:
    if targeted:
        return "targeted"
    return "random" if rule_id is not None else "manual"


@section(120)
def calibration(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """Calibration sessions created or closed in the period, with their agreement statistics
    (frozen at closing; computed now for one still open)."""
    stmt = (select(CalibrationSession)
            .where(or_((CalibrationSession.created_at >= scope.start_at)
                       & (CalibrationSession.created_at < scope.end_before),
                       (CalibrationSession.closed_at >= scope.start_at)
                       & (CalibrationSession.closed_at < scope.end_before)),
                   scope_clause(actor, "calibration.view", CalibrationSession.created_by_id,
                                CalibrationSession.team_id))
            .order_by(CalibrationSession.created_at, CalibrationSession.id))
    if scope.team_id is not None:
        stmt = stmt.where(CalibrationSession.team_id == scope.team_id)
    names, teams = usernames(session), team_names(session)
    found = list(session.scalars(stmt))
    stats: list[list[Any]] = []

    def sessions() -> Iterator[Sequence[Any]]:
        yield ["calibration", "title", "team", "form", "form_version", "mode", "status",
               "expert", "participants", "items", "created_at", "closed_at", "minutes"]
        for item in found:
            result = calibration_results.results(session, item)
            for stat in result.statistics:
                stats.append([item.id, item.title, stat.name,
                              "" if stat.value is None else round(stat.value, 4),
                              "" if stat.ci_low is None else round(stat.ci_low, 4),
                              "" if stat.ci_high is None else round(stat.ci_high, 4),
                              "frozen at closing" if not item.is_open else "computed now",
                              stat.note])
            version = item.form_version
            yield [item.id, item.title, teams.get(item.team_id or 0, ""), version.form.name,
                   version.number, item.mode, item.status, names.get(item.expert_id or 0, ""),
                   " ".join(sorted(names.get(p.user_id, "") for p in item.participants)),
                   len(item.items), item.created_at, item.closed_at, item.minutes]

    def statistics() -> Iterator[Sequence[Any]]:
        yield ["calibration", "title", "statistic", "value", "ci95_low", "ci95_high", "basis",
               "note"]
        yield from stats

    yield EvidenceFile("scoring/calibration_sessions.csv", "Calibration sessions",
                       "Sessions created or closed in the period: form version, mode, "
                       "participants, interactions scored, minutes.", rows=sessions())
    # After the sessions' file: its rows fill ``stats`` as they are written.
    yield EvidenceFile("scoring/calibration_agreement.csv", "Calibration agreement statistics",
                       "Per session: Krippendorff's alpha, Fleiss' kappa, percent agreement and "
                       "ICC(2,1), with 95% bootstrap intervals.", rows=statistics())


@section(130)
def complaints(session: Session, actor: Any, scope: Scope) -> Iterator[EvidenceFile]:
    """The complaint register of complaints received in the period (with a team: those linked
    to an interaction of the team's agents), each with its deadlines as the clock sees them
    when the pack is built."""
    filters = complaint_queries.Filters(received_from=scope.start, received_to=scope.end,
                                        zone="UTC")
    site = complaint_queries.site_clock(session, scope.settings, utcnow())

    def rows() -> Iterator[Sequence[Any]]:
        yield ["complaint", "customer_ref", "category", "severity", "status", "source",
               "owner", "interactions", "received_at", "acknowledged_at", "acknowledge_due",
               "responded_at", "respond_due", "escalated_at", "escalation_due",
               "resolved_at", "resolve_due", "closed_at", "reopened_at", "overdue",
               "root_cause", "outcome", "summary"]
        for row in complaint_queries.register(session, actor, filters, site):
            c = row.complaint
            if scope.team_id is not None and not any(
                    link.team_id == scope.team_id for link in c.links):
                continue
            due = {d.key: d.due_at for d in row.clock.deadlines}
            yield [c.id, c.customer_ref, c.category, c.severity, c.status, c.source,
                   c.owner.username if c.owner else "",
                   " ".join(str(link.interaction_id) for link in c.links), c.received_at,
                   c.acknowledged_at, due.get("acknowledge"), c.responded_at,
                   due.get("respond"), c.escalated_at, due.get("escalation"), c.resolved_at,
                   due.get("resolve"), c.closed_at, c.reopened_at, row.clock.is_overdue,
                   c.root_cause or "", c.outcome, c.summary]

    yield EvidenceFile("scoring/complaints.csv", "Complaint register",
                       "Complaints received in the period: category, severity, status, owner, "
                       "linked interactions, each step's time and deadline (UTC), overdue as "
                       "of the build, root cause and outcome.", rows=rows())

