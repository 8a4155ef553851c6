"""Weekly sampling: which interactions each evaluator scores, chosen fairly and reproducibly.

For each active rule and each agent in its scope, ``per_agent`` interactions of the ISO week are
drawn, spread across strata of channel and time of day (night, morning, afternoon, evening),
leaving out interactions that already have an evaluation. The draw for one agent depends only
on (seed, week, rule, agent) and the candidates, so a re-run with the same seed draws the same
interactions, and a re-run after a partial run only tops up what is missing.

Assignments go to active QA evaluators, never to the agent themselves, the least loaded first,
spread over the working days (Monday to Friday) of the following week, at most the rule's daily
cap per evaluator per day. What cannot be assigned is reported, not created; raise the cap or
add evaluators and run again.

A rule may add ``flagged_per_agent`` targeted picks on top of the random ones: the agent's
candidates that the current flagging model flagged, the most likely problems first. They are
drawn and assigned after the random picks of every rule of the run, so that no random draw
loses a candidate or an evaluator's capacity to them, and marked ``targeted``, which keeps
them out of the averages (``reports.COUNTED``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.models import Team, User
from qm.auth.permissions import TEAM, require, scope_for
from qm.db import utcnow
from qm.errors import InvalidInput, NotFound, StaleEdit
from qm.interactions.models import Channel, Interaction
from scoring.evaluations.models import (
    Evaluation,
    EvaluationStatus,
)
from scoring.evaluations.queries import active_evaluators
from scoring.evaluations.services import snapshot
from scoring.forms.models import FormStatus, FormVersion, ScoringForm
from scoring.sampling.draw import (
    WORK_DAYS,
    Candidate,
    Reservoir,
    daypart,
    parse_week,
    stratified_pick,
    week_bounds,
    week_label,
)
from scoring.sampling.models import SamplingRule, SamplingRun, SamplingRunRule
from transcription import flagging
from transcription.flagging import queries as flag_queries
from transcription.models import Flag, ReviewFlag


@dataclass
class RuleReport:
    rule: str
    rule_id: int | None = None
    team_id: int | None = None
    agents: int = 0
    candidates: int = 0
    created: int = 0
    already: int = 0
    unassigned: int = 0
    problem: str = ""
    targeted: int = 0
    """Of ``created``, how many were drawn because the flagging model flagged them."""
    note: str = ""
    evaluation_ids: list[int] = field(default_factory=list)
    unassigned_ids: list[int] = field(default_factory=list)
    """The drawn interactions no evaluator could take, kept in the run's history."""


@dataclass
class SampleReport:
    week: str
    seed: int
    rules: list[RuleReport] = field(default_factory=list)
    created_ids: list[int] = field(default_factory=list)
    run_id: int | None = None
    """The ``SamplingRun`` that keeps this report as history."""

    @property
    def created(self) -> int:
        return sum(r.created for r in self.rules)

    @property
    def unassigned(self) -> int:
        return sum(r.unassigned for r in self.rules)

    def lines(self) -> list[str]:
        out = []
        for r in self.rules:
            if r.problem:
                out.append(f"{r.rule}: skipped: {r.problem}")
                continue
            line = (f"{r.rule}: {r.created} assigned for {r.agents} agent(s) from "
                    f"{r.candidates} candidate interaction(s); {r.already} sampled before")
            if r.targeted:
                line += f"; {r.targeted} of them flagged for review, on top of the random draw"
            if r.note:
                line += f"; {r.note}"
            if r.unassigned:
                line += (f"; {r.unassigned} could not be assigned (evaluator caps reached or "
                         "no evaluator other than the agent): raise the cap or add evaluators "
                         "and run again")
            out.append(line)
        return out


class _Planner:
    """Evaluator load per working day of the week after the sampled one."""

    def __init__(self, session: Session, evaluators: list[int], days: list[dt.date]) -> None:
        self.evaluators = evaluators
        self.days = days
        self.load: Counter[tuple[int, dt.date]] = Counter()
        if evaluators:
            for evaluator_id, day, count in session.execute(
                select(Evaluation.evaluator_id, Evaluation.due_on, func.count())
                .where(Evaluation.evaluator_id.in_(evaluators), Evaluation.due_on.in_(days))
                .group_by(Evaluation.evaluator_id, Evaluation.due_on)
            ):
                self.load[(evaluator_id, day)] = count

    def week_load(self, evaluator_id: int) -> int:
        return sum(self.load[(evaluator_id, d)] for d in self.days)

    def place(self, agent_id: int, cap: int) -> tuple[int, dt.date] | None:
        best: tuple[int, int, dt.date] | None = None
        for evaluator_id in self.evaluators:
            if evaluator_id == agent_id:
                continue
            open_days = [d for d in self.days if self.load[(evaluator_id, d)] < cap]
            if not open_days:
                continue
            day = min(open_days, key=lambda d: (self.load[(evaluator_id, d)], d))
            candidate = (self.week_load(evaluator_id), evaluator_id, day)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
        if best is None:
            return None
        _load, evaluator_id, day = best
        self.load[(evaluator_id, day)] += 1
        return evaluator_id, day


def run_sampling(session: Session, actor: Any, week: str, *, seed: int = 0,
                 rule_ids: Sequence[int] | None = None, timezone: str = "UTC") -> SampleReport:
    """Create the week's assignments for every active rule (or the rules named), and keep
    the run as history (``SamplingRun``) in the same transaction.

    A team lead (``sampling.run`` at TEAM scope) draws only for the rules of the teams they
    lead: without ``rule_ids``, those of them that are active; a rule named outside them is
    not found, as on every page."""
    require(actor, "sampling.run")
    monday = parse_week(week)
    tz = ZoneInfo(timezone)
    start, end = week_bounds(monday, tz)
    next_monday = monday + dt.timedelta(days=7)
    days = [next_monday + dt.timedelta(days=i) for i in range(WORK_DAYS)]
    stmt = select(SamplingRule).where(SamplingRule.active).order_by(SamplingRule.id)
    if rule_ids:
        stmt = select(SamplingRule).where(SamplingRule.id.in_(rule_ids)).order_by(SamplingRule.id)
    if scope_for(actor, "sampling.run") is TEAM:
        stmt = stmt.where(SamplingRule.team_id.in_(sorted(actor.led_team_ids)))
    rules_ = session.scalars(stmt).all()
    if rule_ids and len(rules_) != len(set(rule_ids)):
        raise NotFound("Sampling rule", ", ".join(map(str, rule_ids)))
    report = SampleReport(week_label(monday), seed)
    planner = _Planner(session, active_evaluators(session), days)
    taken: set[int] = set()
    targeted: list[Callable[[], None]] = []
    for rule in rules_:
        item = RuleReport(rule.name, rule.id, rule.team_id)
        report.rules.append(item)
        version = session.scalar(select(FormVersion).where(
            FormVersion.form_id == rule.form_id,
            FormVersion.status == FormStatus.PUBLISHED.value))
        if version is None:
            item.problem = f"form {rule.form.name!r} has no published version"
            continue
        later = _sample_rule(session, actor, rule, version, report, item, planner, taken,
                             (start, end), tz)
        if later is not None:
            targeted.append(later)
    for top_up in targeted:  # every rule's random draw first: none loses work or candidates
        top_up()
    _keep_run(session, actor, report, timezone)
    return report


def _keep_run(session: Session, actor: Any, report: SampleReport, timezone: str) -> None:
    actor_id, actor_name = audit.actor_identity(actor)
    run = SamplingRun(week=report.week, seed=report.seed, timezone=timezone,
                      run_by_id=actor_id, run_by_name=actor_name, created=report.created,
                      unassigned=report.unassigned, ran_at=utcnow())
    for r in report.rules:
        run.rules.append(SamplingRunRule(
            rule_id=r.rule_id, rule_name=r.rule, team_id=r.team_id, agents=r.agents,
            candidates=r.candidates, created=r.created, targeted=r.targeted, already=r.already,
            unassigned=r.unassigned, problem=r.problem, note=r.note,
            evaluation_ids=list(r.evaluation_ids),
            unassigned_interaction_ids=list(r.unassigned_ids)))
    session.add(run)
    session.flush()
    report.run_id = run.id
    audit.record(session, actor, "sampling.run", run, after={
        "week": run.week, "seed": run.seed, "created": run.created,
        "unassigned": run.unassigned, "rules": [r.rule_id for r in run.rules]})


def _sample_rule(session: Session, actor: Any, rule: SamplingRule, version: FormVersion,
                 report: SampleReport, item: RuleReport, planner: _Planner, taken: set[int],
                 bounds: tuple[dt.datetime, dt.datetime],
                 tz: ZoneInfo) -> Callable[[], None] | None:
    """The rule's random draw; returns its targeted top-up, to run once every rule has drawn."""
    start, end = bounds
    stmt = (select(Interaction.id, Interaction.agent_id, Interaction.team_id,
                   Interaction.channel, Interaction.started_at)
            .join(User, User.id == Interaction.agent_id)
            .where(Interaction.started_at >= start, Interaction.started_at < end, User.active,
                   ~exists().where(Evaluation.interaction_id == Interaction.id))
            .order_by(Interaction.id))
    if rule.team_id is not None:
        stmt = stmt.where(Interaction.team_id == rule.team_id)
    if rule.queue:
        stmt = stmt.where(Interaction.queue == rule.queue)
    if rule.channel:
        stmt = stmt.where(Interaction.channel == rule.channel)
    done: dict[int, int] = defaultdict(int)
    done_targeted: dict[int, int] = defaultdict(int)
    for agent_id, targeted, count in session.execute(
            select(Evaluation.agent_id, Evaluation.targeted, func.count()).where(
                Evaluation.sampling_rule_id == rule.id, Evaluation.sample_week == report.week)
            .group_by(Evaluation.agent_id, Evaluation.targeted)):
        (done_targeted if targeted else done)[agent_id] += count
    item.already = sum(done.values()) + sum(done_targeted.values())

    def salt(agent_id: int) -> str:
        return f"{report.seed}|{report.week}|{rule.id}|{agent_id}"

    def stratum(c: Candidate) -> tuple[str, str]:
        return (c.channel, daypart(c.started_at, tz))

    reservoir = Reservoir(rule.per_agent, salt, stratum)
    for row in session.execute(stmt.execution_options(yield_per=5000)):
        if row.id not in taken:
            reservoir.add(Candidate(*row))
    by_agent = reservoir.by_agent()
    item.candidates = reservoir.seen
    item.agents = len(by_agent)

    def assign(c: Candidate, targeted: bool) -> None:
        placed = planner.place(c.agent_id, rule.evaluator_daily_cap)
        if placed is None:
            item.unassigned += 1
            item.unassigned_ids.append(c.interaction_id)
            return
        evaluator_id, day = placed
        evaluation = Evaluation(
            interaction_id=c.interaction_id, agent_id=c.agent_id, team_id=c.team_id,
            evaluator_id=evaluator_id, form_version_id=version.id,
            status=EvaluationStatus.ASSIGNED.value, sampling_rule_id=rule.id,
            sample_week=report.week, due_on=day, created_by_id=getattr(actor, "id", None),
            answers={}, notes={}, critical_reasons=[], section_scores={}, targeted=targeted,
        )
        session.add(evaluation)
        session.flush()
        taken.add(c.interaction_id)
        audit.record(session, actor, "evaluation.assigned", evaluation,
                     after=snapshot(evaluation))
        report.created_ids.append(evaluation.id)
        item.evaluation_ids.append(evaluation.id)
        item.created += 1
        item.targeted += targeted

    for agent_id in sorted(by_agent):
        need = rule.per_agent - done[agent_id]
        if need <= 0:
            continue
        for c in stratified_pick(by_agent[agent_id], need, salt(agent_id), stratum):
            assign(c, targeted=False)
    if not rule.flagged_per_agent:
        return None
    return lambda: _sample_flagged(session, rule, stmt, done_targeted, taken, item, assign)


def _flagged(session: Session) -> Any | None:
    """Each interaction flagged for review with its risk (the highest score of what flagged
    it, ``flagging.queries.flagged_rows``: the model in use and the named flags in use, less
    where an evaluator rejected them). None when nothing can flag (no model, no flag in use)."""
    if session.scalar(flagging.in_use()) is None and session.scalar(
            select(Flag.id).where(Flag.active_number.is_not(None)).limit(1)) is None:
        return None
    rows = flag_queries.flagged_rows().subquery()
    return (select(rows.c.interaction_id, func.max(rows.c.score).label("risk"))
            .group_by(rows.c.interaction_id).subquery())


def _sample_flagged(session: Session, rule: SamplingRule, candidates: Any,
                    done: dict[int, int], taken: set[int], item: RuleReport,
                    assign: Callable[[Candidate, bool], None]) -> None:
    """Up to ``rule.flagged_per_agent`` more per agent: the week's candidates in the review
    queue's terms (flagged by the model in use or a named flag in use, not rejected there),
    the riskiest first (ties by id, so a re-run draws the same). After the random draw, so
    that a flagged interaction drawn at random stays a random pick and the random sample stays
    the size the rule says."""
    flagged = _flagged(session)
    if flagged is None:
        item.note = ("nothing can flag yet (no flag in use, no model trained: qm flagging "
                     "install, qm flagging train): nothing flagged to add")
        return
    stmt = (candidates.join(flagged, flagged.c.interaction_id == Interaction.id)
            .order_by(None)
            .order_by(Interaction.agent_id, flagged.c.risk.desc(), Interaction.id))
    picked: dict[int, list[Candidate]] = defaultdict(list)  # at most flagged_per_agent each
    for row in session.execute(stmt.execution_options(yield_per=5000)):
        c = Candidate(*row)
        if c.interaction_id not in taken and \
                done[c.agent_id] + len(picked[c.agent_id]) < rule.flagged_per_agent:
            picked[c.agent_id].append(c)
    for agent_id in sorted(picked):  # written once the cursor is read to the end
        for c in picked[agent_id]:
            assign(c, True)
    version = session.scalar(flagging.in_use())
    if not picked and version is not None:
        scored = session.scalar(select(func.count()).select_from(
            candidates.join(ReviewFlag, ReviewFlag.interaction_id == Interaction.id)
            .where(ReviewFlag.model_version == version).order_by(None).subquery()))
        if not scored:
            item.note = ("the current flagging model has not scored this week's interactions: "
                         "run qm flagging apply, then sample again")


RULE_FIELDS = ("name", "team_id", "queue", "channel", "per_agent", "flagged_per_agent",
               "evaluator_daily_cap", "form_id", "active")


RULE_DEFAULTS = {"team_id": None, "queue": "", "channel": "", "per_agent": 2,
                 "flagged_per_agent": 0, "evaluator_daily_cap": 20, "active": True}


def _check_rule(values: dict[str, Any]) -> None:
    errors = {}
    if not str(values.get("name") or "").strip():
        errors["name"] = "required"
    for name, low, high, hint in (("per_agent", 1, 20, " (ISO practice: 1-3 a week)"),
                                  ("flagged_per_agent", 0, 20, " (0: none)"),
                                  ("evaluator_daily_cap", 1, 500, "")):
        value = values.get(name)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            errors[name] = f"a whole number from {low} to {high}{hint}"
    if values.get("channel") and values["channel"] not in {c.value for c in Channel}:
        errors["channel"] = "voice, chat, email, messaging, social or empty"
    if errors:
        raise InvalidInput("The sampling rule is not valid.", errors)


def save_rule(session: Session, actor: Any, values: dict[str, Any], rule_id: int | None = None,
              expected_version: int | None = None) -> SamplingRule:
    """Create a rule, or change one (the fields given; the rest stay)."""
    require(actor, "sampling.manage")
    if rule_id is None:
        rule = SamplingRule()
        merged = {**RULE_DEFAULTS, **values}
        before = None
    else:
        found = session.get(SamplingRule, rule_id)
        if found is None:
            raise NotFound("Sampling rule", rule_id)
        rule = found
        if expected_version is not None and expected_version != rule.version:
            raise StaleEdit("sampling rule")
        before = audit.snapshot(rule)
        merged = {**{k: getattr(rule, k) for k in RULE_FIELDS}, **values}
    merged["name"] = str(merged.get("name") or "").strip()
    _check_rule(merged)
    if merged.get("team_id") is not None and session.get(Team, merged["team_id"]) is None:
        raise InvalidInput("That team does not exist.", {"team_id": "no such team"})
    if session.get(ScoringForm, merged.get("form_id")) is None:
        raise InvalidInput("Choose a scoring form.", {"form_id": "no such form"})
    clash = session.scalar(select(SamplingRule.id).where(SamplingRule.name == merged["name"]))
    if clash is not None and clash != rule_id:
        raise InvalidInput("Another sampling rule has that name.", {"name": "already used"})
    for name in RULE_FIELDS:
        value = merged.get(name)
        setattr(rule, name, value.strip() if isinstance(value, str) else value)
    if rule_id is None:
        session.add(rule)
    session.flush()
    audit.record(session, actor, "sampling_rule.created" if before is None
                 else "sampling_rule.updated", rule, before=before, after=audit.snapshot(rule))
    return rule


def rule_form_for(session: Session, interaction: Interaction) -> int | None:
    """The form of the most specific active sampling rule that covers the interaction."""
    best: tuple[int, int] | None = None
    for rule in session.scalars(select(SamplingRule).where(SamplingRule.active)
                                .order_by(SamplingRule.id)):
        if ((rule.team_id and rule.team_id != interaction.team_id)
                or (rule.queue and rule.queue != interaction.queue)
                or (rule.channel and rule.channel != interaction.channel)):
            continue
        specificity = bool(rule.team_id) + bool(rule.queue) + bool(rule.channel)
        if best is None or specificity > best[0]:
            best = (specificity, rule.form_id)
    return best[1] if best else None
