"""Calibration sessions: evaluators score the same interactions, then see how far they agree.

Writes take ``(session, actor, ...)``, check the permission table, audit and flush. Scores in a
session are scored by the same pure function as evaluations, but they live apart: nothing here
reaches an agent's evaluations or scorecard. In a blind session nobody sees another
participant's scores until the session is closed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.models import User
from qm.auth.permissions import Role, can, require, scope_clause
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit
from scoring import reliability, rules
from scoring.evaluations import clean_answers, clean_notes, preview, published_version
from scoring.models import (
    CalibrationItem,
    CalibrationMode,
    CalibrationParticipant,
    CalibrationScore,
    CalibrationSession,
    Interaction,
)

MAX_ITEMS = 20
SCORER_ROLES = {Role.QA_EVALUATOR.value, Role.TEAM_LEAD.value, Role.ADMIN.value}


@dataclass(frozen=True)
class _TeamScope:
    """The scope of a session that does not exist yet, for the permission check."""

    scope_team_id: int | None
    scope_owner_id: None = None


# --- who sees what ----------------------------------------------------------------------------

def is_participant(actor: Any, item: CalibrationSession) -> bool:
    return getattr(actor, "id", None) in item.participant_ids()


def visible(actor: Any, item: CalibrationSession) -> bool:
    return is_participant(actor, item) or can(actor, "calibration.view", item)


def visible_clause(actor: Any) -> ColumnElement[bool]:
    mine = CalibrationSession.id.in_(select(CalibrationParticipant.session_id).where(
        CalibrationParticipant.user_id == getattr(actor, "id", None)))
    return or_(mine, scope_clause(actor, "calibration.view", CalibrationSession.created_by_id,
                                  CalibrationSession.team_id))


def get_session(session: Session, actor: Any, session_id: int) -> CalibrationSession:
    item = session.get(CalibrationSession, session_id)
    if item is None or not visible(actor, item):
        raise NotFound("Calibration session", session_id)
    return item


def scores_visible(actor: Any, item: CalibrationSession) -> bool:
    """Whether ``actor`` may see everyone's scores: after closing, or in an open session."""
    return not item.is_open or item.mode == CalibrationMode.OPEN.value


def may_manage(actor: Any, item: CalibrationSession) -> bool:
    return can(actor, "calibration.manage", item)


def snapshot(item: CalibrationSession) -> dict[str, Any]:
    return audit.snapshot(item, participants=sorted(item.participant_ids()),
                          interactions=[i.interaction_id for i in item.items])


# --- creating and closing ---------------------------------------------------------------------

def create_session(session: Session, actor: Any, *, title: str, form_id: int | None,
                   interaction_ids: list[int], participant_ids: list[int],
                   expert_id: int | None = None, due_on: dt.date | None = None,
                   mode: str = CalibrationMode.BLIND.value,
                   team_id: int | None = None) -> CalibrationSession:
    require(actor, "calibration.manage", _TeamScope(team_id))
    errors: dict[str, str] = {}
    title = title.strip()
    if not title:
        errors["title"] = "required"
    if mode not in {m.value for m in CalibrationMode}:
        errors["mode"] = "blind or open"
    wanted = list(dict.fromkeys(interaction_ids))
    if not wanted:
        errors["interactions"] = "at least one interaction"
    elif len(wanted) > MAX_ITEMS:
        errors["interactions"] = f"at most {MAX_ITEMS} interactions in one session"
    interactions = {i.id: i for i in session.scalars(
        select(Interaction).where(Interaction.id.in_(wanted)))} if wanted else {}
    missing = [str(i) for i in wanted if i not in interactions
               or not can(actor, "interaction.view", interactions[i])]
    if missing:
        errors["interactions"] = f"no interaction {', '.join(missing)} that you may see"
    people_ids = list(dict.fromkeys([*participant_ids, *([expert_id] if expert_id else [])]))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(people_ids)))}
    unfit = [str(u) for u in people_ids if u not in users or not users[u].active
             or not SCORER_ROLES & set(users[u].roles)]
    if unfit:
        errors["participants"] = (f"user(s) {', '.join(unfit)} cannot score: invite active QA "
                                  "evaluators, team leads or admins")
    elif len(people_ids) < 2:
        errors["participants"] = "at least two people, or there is nothing to compare"
    if errors:
        raise InvalidInput("The calibration session is not valid.", errors)
    version = published_version(session, form_id)
    item = CalibrationSession(title=title, form_version_id=version.id, team_id=team_id,
                              mode=mode, expert_id=expert_id, due_on=due_on,
                              created_by_id=getattr(actor, "id", None))
    session.add(item)
    session.flush()
    for position, interaction_id in enumerate(wanted, start=1):
        item.items.append(CalibrationItem(interaction_id=interaction_id, position=position,
                                          consensus={}, consensus_notes={}))
    for user_id in people_ids:
        item.participants.append(CalibrationParticipant(user_id=user_id))
    session.flush()
    audit.record(session, actor, "calibration.created", item, after=snapshot(item))
    return item


def close_session(session: Session, actor: Any, session_id: int,
                  expected_version: int | None = None) -> CalibrationSession:
    item = get_session(session, actor, session_id)
    require(actor, "calibration.manage", item)
    if not item.is_open:
        raise Conflict("This session is closed already; nothing was changed.")
    if expected_version is not None and expected_version != item.version:
        raise StaleEdit("calibration session")
    submitted = [s for i in item.items for s in i.scores if s.status == "submitted"]
    if not submitted:
        raise Conflict("Nobody has submitted a score yet: there is nothing to compare.")
    with audit.change(session, actor, "calibration.closed", item, snapshot):
        item.status = "closed"
        item.closed_at = utcnow()
        item.closed_by_id = getattr(actor, "id", None)
    return item


# --- scoring ----------------------------------------------------------------------------------

def form_of(item: CalibrationSession) -> rules.Form:
    return rules.form_from_dict(item.form_version.definition)


def get_item(session: Session, actor: Any, item_id: int) -> CalibrationItem:
    item = session.get(CalibrationItem, item_id)
    if item is None or not visible(actor, item.session):
        raise NotFound("Calibration item", item_id)
    return item


def own_score(session: Session, actor: Any, item: CalibrationItem) -> CalibrationScore | None:
    return session.scalar(select(CalibrationScore).where(
        CalibrationScore.item_id == item.id,
        CalibrationScore.evaluator_id == getattr(actor, "id", None)))


def save_score(session: Session, actor: Any, item_id: int, answers: dict[str, Any], *,
               notes: dict[str, Any] | None = None, comment: str = "", submit: bool = False,
               expected_version: int | None = None) -> CalibrationScore:
    """A participant's draft or submission; a submission is final, as in an evaluation."""
    require(actor, "calibration.score")
    item = get_item(session, actor, item_id)
    calibration = item.session
    if not is_participant(actor, calibration):
        raise PermissionDenied("calibration.score", "You are not invited to this session.")
    if not calibration.is_open:
        raise Conflict("The session is closed; scores no longer change.")
    score = own_score(session, actor, item)
    if score is not None and score.status == "submitted":
        raise Conflict("You submitted this item already; nothing was changed.")
    if score is not None and expected_version is not None and expected_version != score.version:
        raise StaleEdit("calibration score")
    form = form_of(calibration)
    cleaned = clean_answers(form, answers)
    if submit:
        try:
            result = rules.score(form, cleaned)
        except rules.AnswerError as exc:
            missing = sum(1 for v in exc.problems.values() if v == "not answered")
            raise InvalidInput(f"{missing} question(s) still need an answer (or N/A)." if missing
                               else "Some answers do not fit their question.",
                               exc.problems) from None
    else:
        result = preview(form, cleaned)
    if score is None:
        score = CalibrationScore(item=item, evaluator_id=actor.id, answers={}, notes={},
                                 section_scores={})
        session.add(score)
        session.flush()
    before = audit.snapshot(score)
    score.answers = cleaned
    score.notes = clean_notes(form, notes)
    score.comment = comment.strip()
    score.score = result.total
    score.critical_fail = result.critical_fail
    score.section_scores = {s.key: str(s.score) if s.score is not None else None
                            for s in result.sections}
    if submit:
        score.status = "submitted"
        score.submitted_at = utcnow()
    session.flush()
    audit.record(session, actor, "calibration_score.submitted" if submit
                 else "calibration_score.saved", score, before=before,
                 after=audit.snapshot(score))
    return score


def record_consensus(session: Session, actor: Any, item_id: int, answers: dict[str, Any],
                     notes: dict[str, Any] | None = None,
                     expected_version: int | None = None) -> CalibrationItem:
    """The answers the group agreed on after closing, and why: the calibration record."""
    item = get_item(session, actor, item_id)
    require(actor, "calibration.manage", item.session)
    if item.session.is_open:
        raise Conflict("Close the session first: the consensus is agreed once everyone has "
                       "scored.")
    if expected_version is not None and expected_version != item.version:
        raise StaleEdit("consensus")
    form = form_of(item.session)
    cleaned = clean_answers(form, answers)
    try:
        result = rules.score(form, cleaned)
    except rules.AnswerError as exc:
        raise InvalidInput("The consensus needs an answer for every shown question.",
                           exc.problems) from None
    with audit.change(session, actor, "calibration.consensus", item):
        item.consensus = cleaned
        item.consensus_notes = clean_notes(form, notes)
        item.consensus_score = result.total
    return item


def save_minutes(session: Session, actor: Any, session_id: int, minutes: str) -> CalibrationSession:
    item = get_session(session, actor, session_id)
    require(actor, "calibration.manage", item)
    with audit.change(session, actor, "calibration.minutes", item, snapshot):
        item.minutes = minutes.strip()
    return item


# --- results ----------------------------------------------------------------------------------

@dataclass
class QuestionRow:
    key: str
    text: str
    answers: dict[int, Any]  # evaluator id -> answer
    shares: dict[int, float]  # evaluator id -> share of the question's points earned
    expert: Any = None
    consensus: Any = None
    consensus_note: str = ""

    @property
    def distinct(self) -> int:
        return len({repr(v) for v in self.answers.values()})

    @property
    def spread(self) -> float | None:
        """Range of the share of points, in percentage points (0: all alike)."""
        if len(self.shares) < 2:
            return None
        return 100 * (max(self.shares.values()) - min(self.shares.values()))


@dataclass
class ItemResult:
    item: CalibrationItem
    totals: dict[int, Decimal | None]
    questions: list[QuestionRow]
    reference: str  # "consensus", "expert" or "mean of the others"

    def deviation(self, evaluator_id: int) -> float | None:
        """The evaluator's total minus the reference total (consensus, expert, or the others'
        mean)."""
        own = self.totals.get(evaluator_id)
        if own is None:
            return None
        if self.item.consensus_score is not None:
            ref: float | None = float(self.item.consensus_score)
        elif (expert := self.item.session.expert_id) is not None and expert != evaluator_id \
                and self.totals.get(expert) is not None:
            ref = float(self.totals[expert])  # type: ignore[arg-type]
        else:
            others = [float(v) for k, v in self.totals.items() if k != evaluator_id
                      and v is not None]
            ref = sum(others) / len(others) if others else None
        return None if ref is None else float(own) - ref


@dataclass
class Statistic:
    name: str
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""


@dataclass
class QuestionAgreement:
    key: str
    text: str
    agreement: Statistic  # percent agreement of the answers across the items
    alpha: Statistic  # Krippendorff's alpha (nominal) across the items


@dataclass
class Results:
    session: CalibrationSession
    evaluators: list[User]
    items: list[ItemResult]
    statistics: list[Statistic] = field(default_factory=list)
    questions: list[QuestionAgreement] = field(default_factory=list)
    missing: dict[int, list[int]] = field(default_factory=dict)  # evaluator -> item positions

    def mean_abs_deviation(self, evaluator_id: int) -> float | None:
        values = [abs(d) for r in self.items if (d := r.deviation(evaluator_id)) is not None]
        return sum(values) / len(values) if values else None

    def matches_reference(self, evaluator_id: int) -> float | None:
        """Share of the evaluator's answers equal to the reference answer (the consensus where
        recorded, else the expert's), over the questions where both exist."""
        pairs = []
        for result in self.items:
            for row in result.questions:
                reference = row.consensus if row.consensus is not None else (
                    row.expert if evaluator_id != self.session.expert_id else None)
                answer = row.answers.get(evaluator_id)
                if reference is not None and answer is not None:
                    pairs.append(_nominal(answer) == _nominal(reference))
        return sum(pairs) / len(pairs) if pairs else None


def _share(question: rules.Question, value: Any) -> float | None:
    if value is None or value == rules.NA or question.type not in rules.SCORED_TYPES:
        return None
    try:
        result = rules.score(rules.Form((rules.Section("s", "s", Decimal(1), (question,)),)),
                             {question.key: value}, partial=True)
    except rules.AnswerError:
        return None
    row = result.questions[0] if result.questions else None
    return float(row.earned / row.possible) if row and row.possible else None


def _statistic(name: str, metric: str, data: list[list[Any]], **options: Any) -> Statistic:
    try:
        result = reliability.compute(metric, data, **options)
    except reliability.AgreementError as exc:
        return Statistic(name, None, note=str(exc))
    return Statistic(name, result.value, result.ci_low, result.ci_high)


def results(session: Session, item: CalibrationSession, *,
            statistics: bool = True) -> Results:
    """Everything the record shows; ``statistics=False`` skips the agreement statistics and
    their bootstrap (the drift report needs only the deviations)."""
    form = form_of(item)
    questions = [q for s in form.sections for q in s.questions if q.type in rules.SCORED_TYPES]
    evaluators = sorted((p.user for p in item.participants), key=lambda u: u.display_name)
    ids = [u.id for u in evaluators]
    out = Results(item, evaluators, [])
    nominal: list[list[Any]] = []
    interval: list[list[Any]] = []
    totals_rows: list[list[Any]] = []
    for calibration_item in item.items:
        scores = {s.evaluator_id: s for s in calibration_item.scores if s.status == "submitted"}
        for evaluator_id in ids:
            if evaluator_id not in scores:
                out.missing.setdefault(evaluator_id, []).append(calibration_item.position)
        rows = []
        for q in questions:
            answers = {e: scores[e].answers.get(q.key) for e in scores}
            shares = {e: v for e, a in answers.items() if (v := _share(q, a)) is not None}
            rows.append(QuestionRow(
                q.key, q.text, answers, shares,
                expert=answers.get(item.expert_id) if item.expert_id else None,
                consensus=calibration_item.consensus.get(q.key),
                consensus_note=calibration_item.consensus_notes.get(q.key, "")))
            if any(a is not None for a in answers.values()):
                nominal.append([_nominal(answers.get(e)) for e in ids])
                interval.append([shares.get(e) for e in ids])
        reference = ("consensus" if calibration_item.consensus_score is not None
                     else "expert" if item.expert_id else "mean of the others")
        totals = {e: scores[e].score for e in scores}
        totals_rows.append([float(totals[e]) if totals.get(e) is not None else None
                            for e in ids])
        out.items.append(ItemResult(calibration_item, totals, rows, reference))
    if not statistics:
        return out
    out.statistics = [
        _statistic("Krippendorff's alpha, answers (nominal)", "alpha", nominal,
                   level="nominal"),
        _statistic("Krippendorff's alpha, points earned (interval)", "alpha", interval,
                   level="interval"),
        _statistic("Fleiss' kappa, answers", "fleiss", nominal),
        _statistic("Percent agreement, answers", "agreement", nominal),
        _statistic("ICC(2,1), total scores", "icc", totals_rows, form="2,1"),
    ]
    if len(ids) == 2:
        out.statistics.append(_statistic("Cohen's kappa, answers", "cohen", nominal))
    for index, q in enumerate(questions):
        units = [[_nominal(r.questions[index].answers.get(e)) for e in ids] for r in out.items]
        out.questions.append(QuestionAgreement(
            q.key, q.text, _statistic("agreement", "agreement", units, ci=False),
            _statistic("alpha", "alpha", units, level="nominal", ci=False)))
    return out


def _nominal(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return "|".join(sorted(str(v) for v in value))
    return str(value)
