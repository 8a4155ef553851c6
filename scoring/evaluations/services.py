"""The evaluation workflow: start, score, submit, release, acknowledge, dispute, reassign.
Functions take ``(session, actor, ...)`` and flush, never commit."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.models import User
from qm.auth.permissions import (
    Scope,
    as_param,
    can,
    require,
    scope_clause,
    scope_for,
    scope_params,
    scope_shape,
)
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit
from qm.interactions.models import Interaction
from qm.notifications.services import notify
from qm.signals import Verdict
from scoring.evaluations.models import (
    FINISHED_STATUSES,
    OPEN_STATUSES,
    RELEASED_STATUSES,
    Dispute,
    Evaluation,
    EvaluationAnswer,
    EvaluationRevision,
    EvaluationStatus,
)
from scoring.forms import rules
from scoring.forms import services as form_services
from scoring.forms.models import FormStatus, FormVersion, ScoringForm

MIN_REASON = 10  # characters of a dispute's reason: "wrong" alone does not help a reviewer


@dataclass(frozen=True)
class Policy:
    """The site's release and dispute rules (settings ``QM_RELEASE_MODE`` and friends)."""

    release: str = "immediate"  # or "review": a lead releases each submitted evaluation
    dispute_window_days: int = 14
    max_disputes: int = 2
    # The site's zone: the agent's window is counted in the agent's own zone, this one only
    # for an agent without a (known) zone.
    timezone: str = "UTC"
    review_days: int = 5  # calendar days to decide a dispute; older ones are marked overdue

    @classmethod
    def from_settings(cls, settings: Any) -> Policy:
        return cls(settings.release_mode, settings.dispute_window_days, settings.max_disputes,
                   settings.timezone, settings.dispute_review_days)


def visible(actor: Any, evaluation: Evaluation) -> bool:
    """Released evaluations by the permission's scope; before release only for those who work
    on it, never for the agent evaluated (even a lead or an evaluator who is also an agent)."""
    if not can(actor, "evaluation.view", evaluation):
        return False
    if evaluation.status in RELEASED_STATUSES:
        return True
    if evaluation.agent_id == getattr(actor, "id", None):
        return False
    return scope_for(actor, "evaluation.view") is not Scope.OWN


def visible_clause(actor: Any, params: dict[str, Any] | None = None) -> ColumnElement[bool]:
    """``visible`` as a WHERE clause, for lists and reports. With ``params``, the actor's
    values are named parameters put in ``params`` (``scope_clause``): the clause is the same
    for every actor of the same ``visible_shape``."""
    clause = scope_clause(actor, "evaluation.view", Evaluation.agent_id, Evaluation.team_id,
                          params=params)
    released = Evaluation.status.in_(RELEASED_STATUSES)
    if scope_for(actor, "evaluation.view") is Scope.OWN:
        return and_(clause, released)
    actor_id = getattr(actor, "id", None)
    if actor_id is None:
        return clause
    return and_(clause, or_(Evaluation.agent_id != as_param(params, "viewer_id", actor_id),
                            released))


@dataclass(frozen=True)
class Visible:
    """``visible_clause`` for statements built once per shape: ``shape`` keys the statement,
    ``clause`` goes into it, ``params`` are this actor's values for it."""

    shape: tuple[Any, ...]
    clause: ColumnElement[bool]
    params: dict[str, Any]


_VISIBLE: dict[tuple[Any, ...], tuple[ColumnElement[bool], frozenset[str]]] = {}
"""``visible_clause`` with named parameters by shape, and the names it binds: the same for
every actor of that shape, so built once (building it cost a page 0.26 ms)."""


def visible_shape(actor: Any) -> Visible:
    shape = (*scope_shape(actor, "evaluation.view"), getattr(actor, "id", None) is None)
    found = _VISIBLE.get(shape)
    if found is None:
        params: dict[str, Any] = {}
        clause = visible_clause(actor, params)
        _VISIBLE[shape] = (clause, frozenset(params))
        return Visible(shape, clause, params)
    clause, names = found
    values = scope_params(actor) if names else {}
    return Visible(shape, clause, {name: values[name] for name in names})


@functools.lru_cache(maxsize=8)
def _by_id(options: tuple[Any, ...]) -> Any:
    """One evaluation with these loader options, built once per options (building a joined
    load and its cache key costs more CPU than the database's answer)."""
    return (select(Evaluation).where(Evaluation.id == bindparam("evaluation_id"))
            .options(*options))


def get_evaluation(session: Session, actor: Any, evaluation_id: int,
                   options: tuple[Any, ...] = ()) -> Evaluation:
    """The evaluation if ``actor`` may see it; absent and out of scope look the same.
    ``options``: loader options (``queries.PAGE_OPTIONS`` for the evaluation's page)."""
    evaluation = (session.scalars(_by_id(options), {"evaluation_id": evaluation_id})
                  .unique().one_or_none() if options
                  else session.get(Evaluation, evaluation_id))
    if evaluation is None or not visible(actor, evaluation):
        raise NotFound("Evaluation", evaluation_id)
    return evaluation


def can_read_comments(actor: Any, evaluation: Evaluation) -> bool:
    return can(actor, "evaluation.read_comments", evaluation)


def is_editable_by(actor: Any, evaluation: Evaluation) -> bool:
    return (evaluation.status in OPEN_STATUSES and evaluation.evaluator_id == actor.id
            and can(actor, "evaluation.score"))


def agent_zone(evaluation: Evaluation, policy: Policy) -> ZoneInfo:
    """The zone the agent's window is counted in: the agent's own, else the site's."""
    name = getattr(evaluation.agent, "timezone", "") or policy.timezone or "UTC"
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):  # a zone the system no longer knows: the site's
        return ZoneInfo(policy.timezone or "UTC")


def last_day_to_dispute(evaluation: Evaluation, policy: Policy) -> dt.date | None:
    """The last day on which the agent may dispute the latest released result, all of it: the
    ``dispute_window_days``-th day after the release, the days counted in the agent's time zone
    (released on 2 December, 14 days: until the end of 16 December). This is the date the
    agent is shown; ``respond_by`` is the instant it ends."""
    if evaluation.released_at is None:
        return None
    released_on = evaluation.released_at.astimezone(agent_zone(evaluation, policy)).date()
    return released_on + dt.timedelta(days=policy.dispute_window_days)


def respond_by(evaluation: Evaluation, policy: Policy) -> dt.datetime | None:
    """The instant the agent's window to dispute closes: midnight at the end of
    ``last_day_to_dispute`` in the agent's time zone (the start of the next day, so show
    ``last_day_to_dispute``, never this instant's date)."""
    last_day = last_day_to_dispute(evaluation, policy)
    if last_day is None:
        return None
    return dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(),
                               tzinfo=agent_zone(evaluation, policy))


def window_open(evaluation: Evaluation, policy: Policy, now: dt.datetime) -> bool:
    """Whether the agent may still dispute at ``now`` (an unreleased evaluation has no
    window yet, so none has closed)."""
    deadline = respond_by(evaluation, policy)
    return deadline is None or now < deadline


def snapshot(evaluation: Evaluation) -> dict[str, Any]:
    return audit.snapshot(evaluation)


def published_version(session: Session, form_id: int | None = None) -> FormVersion:
    """The published version of a form (of the only published form when none is named)."""
    stmt = select(FormVersion).where(FormVersion.status == FormStatus.PUBLISHED.value)
    if form_id is not None:
        stmt = stmt.where(FormVersion.form_id == form_id)
    versions = session.scalars(stmt.join(ScoringForm).order_by(ScoringForm.name)).all()
    if not versions:
        raise InvalidInput("There is no published scoring form" +
                           (" of that name" if form_id else "") + "; publish one first.")
    return versions[0]


def form_of(evaluation: Evaluation) -> rules.Form:
    return form_services.rules_of(evaluation.form_version)


def clean_answers(form: rules.Form, raw: dict[str, Any]) -> dict[str, Any]:
    """Only the form's questions, empty answers dropped, select values as strings."""
    questions = form.questions()
    answers: dict[str, Any] = {}
    for key, value in raw.items():
        question = questions.get(key)
        if question is None or value is None or value == "" or value == []:
            continue
        if question.type == "multi" and value != rules.NA:
            values = value if isinstance(value, list | tuple) else [value]
            answers[key] = [str(v) for v in values if str(v) != ""]
        else:
            answers[key] = value if isinstance(value, bool | int) else str(value).strip()
    return answers


def clean_notes(form: rules.Form, raw: dict[str, Any] | None) -> dict[str, str]:
    questions = form.questions()
    return {k: str(v).strip() for k, v in (raw or {}).items()
            if k in questions and str(v or "").strip()}


def preview(form: rules.Form, answers: dict[str, Any]) -> rules.Result:
    """The live score of a draft: unanswered questions left out, misfits named."""
    try:
        return rules.score(form, answers, partial=True)
    except rules.AnswerError as exc:
        raise InvalidInput("Some answers do not fit their question.", exc.problems) from None


def result_json(result: rules.Result) -> dict[str, Any]:
    return {
        "total": str(result.total) if result.total is not None else None,
        "critical_fail": result.critical_fail,
        "critical_reasons": list(result.critical_reasons),
        "sections": {s.key: str(s.score) if s.score is not None else None
                     for s in result.sections},
        "unanswered": list(result.unanswered),
    }


def open_evaluation_of(session: Session, interaction_id: int) -> Evaluation | None:
    return session.scalar(select(Evaluation).where(Evaluation.interaction_id == interaction_id)
                          .order_by(Evaluation.id).limit(1))


def start_evaluation(session: Session, actor: Any, interaction: Interaction, *,
                     form_id: int | None = None) -> Evaluation:
    """An evaluator takes an interaction of their choice into their own queue."""
    require(actor, "evaluation.score")
    if interaction.agent_id == actor.id:
        raise Conflict("Nobody evaluates their own interactions.")
    existing = open_evaluation_of(session, interaction.id)
    if existing is not None:
        raise Conflict(f"This interaction already has evaluation #{existing.id} "
                       f"({existing.status}); open that one instead.")
    version = published_version(session, form_id)
    evaluation = Evaluation(
        interaction_id=interaction.id, agent_id=interaction.agent_id,
        team_id=interaction.team_id, evaluator_id=actor.id, form_version_id=version.id,
        status=EvaluationStatus.ASSIGNED.value, created_by_id=actor.id, due_on=utcnow().date(),
        answers={}, notes={}, critical_reasons=[], section_scores={},
    )
    session.add(evaluation)
    session.flush()
    audit.record(session, actor, "evaluation.created", evaluation, after=snapshot(evaluation))
    return evaluation


def reassign(session: Session, actor: Any, evaluation_id: int, evaluator_id: int) -> Evaluation:
    require(actor, "sampling.manage")
    evaluation = get_evaluation(session, actor, evaluation_id)
    if evaluation.status not in OPEN_STATUSES:
        raise Conflict("Only an evaluation that is not yet submitted can be reassigned.")
    evaluator = session.get(User, evaluator_id)
    if evaluator is None or not evaluator.active or "qa_evaluator" not in evaluator.roles:
        raise InvalidInput("Choose an active QA evaluator.")
    if evaluator.id == evaluation.agent_id:
        raise InvalidInput("Nobody evaluates their own interactions.")
    with audit.change(session, actor, "evaluation.reassigned", evaluation):
        evaluation.evaluator_id = evaluator.id
    return evaluation


def _editable(session: Session, actor: Any, evaluation_id: int,
              expected_version: int | None) -> Evaluation:
    evaluation = get_evaluation(session, actor, evaluation_id)
    require(actor, "evaluation.score", evaluation)
    if evaluation.evaluator_id != actor.id:
        # A state of the record, not of the role: an admin can reassign it.
        raise Conflict(f"This evaluation is assigned to {evaluation.evaluator.display_name}, "
                       "not to you; nothing was changed.")
    if evaluation.status not in OPEN_STATUSES:
        when = evaluation.submitted_at.strftime("%Y-%m-%d %H:%M UTC") \
            if evaluation.submitted_at else "earlier"
        raise Conflict(f"Evaluation #{evaluation.id} was already submitted ({when}); "
                       "nothing was changed.")
    if expected_version is not None and expected_version != evaluation.version:
        raise StaleEdit("evaluation")
    return evaluation


def set_answers(evaluation: Evaluation, answers: dict[str, Any], notes: dict[str, str],
                comment: str) -> None:
    evaluation.answers = answers
    evaluation.notes = notes
    evaluation.comment = comment.strip()


def apply_result(session: Session, evaluation: Evaluation, result: rules.Result) -> None:
    evaluation.score = result.total
    evaluation.critical_fail = result.critical_fail
    evaluation.critical_reasons = list(result.critical_reasons)
    evaluation.section_scores = {s.key: str(s.score) if s.score is not None else None
                                 for s in result.sections}
    # The per-question rows follow the latest revision; earlier ones live in the revisions.
    session.execute(delete(EvaluationAnswer).where(
        EvaluationAnswer.evaluation_id == evaluation.id))
    session.add_all(EvaluationAnswer(
        evaluation_id=evaluation.id, question_key=q.key, section_key=q.section,
        earned=rules.round4(q.earned), possible=rules.round4(q.possible), failed=q.failed,
    ) for q in result.questions)


def record_revision(session: Session, evaluation: Evaluation, kind: str, author: Any,
                    at: dt.datetime, dispute: Dispute | None = None) -> EvaluationRevision:
    evaluation.revision += 1
    revision = EvaluationRevision(
        evaluation_id=evaluation.id, number=evaluation.revision, kind=kind,
        form_version_id=evaluation.form_version_id, answers=dict(evaluation.answers),
        notes=dict(evaluation.notes), comment=evaluation.comment, score=evaluation.score,
        critical_fail=evaluation.critical_fail,
        critical_reasons=list(evaluation.critical_reasons),
        section_scores=dict(evaluation.section_scores),
        dispute_id=dispute.id if dispute else None, author_id=getattr(author, "id", None),
        created_at=at,
    )
    session.add(revision)
    return revision


def revised_notes(answers_before: dict[str, Any], answers_after: dict[str, Any],
                  notes_before: dict[str, str], replaced: dict[str, str]) -> dict[str, str]:
    """The per-question feedback of a new revision (a dispute's decision).

    Feedback belongs to the answer it was written about: a question whose answer changes keeps
    none of its old feedback, only what the reviewer wrote for the new answer; any other keeps
    its feedback unless the reviewer replaced it. The old feedback stays in its own revision.
    (The old text typed again under a changed answer is the old feedback too, dropped as
    ``feedback_history`` would not show it.)
    """
    changed = {key for key in {*answers_before, *answers_after}
               if answers_before.get(key) != answers_after.get(key)}
    kept = {key: text for key, text in notes_before.items() if key not in changed}
    new = {key: text for key, text in replaced.items()
           if key not in changed or text != notes_before.get(key)}
    return {**kept, **new}


@dataclass(frozen=True)
class Feedback:
    """One question's feedback and the revision that wrote it."""

    text: str
    revision: int
    author: str  # who wrote that revision

    @property
    def source(self) -> str:
        return f"revision {self.revision}, {self.author}"


def feedback_history(revisions: list[EvaluationRevision]) -> list[dict[str, Feedback]]:
    """For each revision (in order), each question's feedback as that revision shows it, with
    the revision that wrote it.

    Feedback a revision carried over unchanged from the one before belongs to the revision that
    wrote it; carried over under a changed answer, it was about the old answer and is not shown
    under the new one (decisions made before ``revised_notes`` carried it; their revisions stay
    as they were stored, and the old feedback stays readable in the revision that wrote it).
    """
    history: list[dict[str, Feedback]] = []
    shown: dict[str, Feedback | None] = {}
    previous: EvaluationRevision | None = None
    for revision in revisions:
        author = revision.author.display_name if revision.author else "system"
        current: dict[str, Feedback | None] = {}
        for key, text in (revision.notes or {}).items():
            if not text:
                continue
            if previous is not None and (previous.notes or {}).get(key) == text:
                moved = previous.answers.get(key) != revision.answers.get(key)
                current[key] = None if moved else shown.get(key)
            else:
                current[key] = Feedback(text, revision.number, author)
        shown, previous = current, revision
        history.append({key: item for key, item in shown.items() if item is not None})
    return history


def save_draft(session: Session, actor: Any, evaluation_id: int, answers: dict[str, Any], *,
               notes: dict[str, Any] | None = None, comment: str = "",
               expected_version: int | None = None) -> Evaluation:
    evaluation = _editable(session, actor, evaluation_id, expected_version)
    form = form_of(evaluation)
    answers = clean_answers(form, answers)
    preview(form, answers)  # refuse misfits now, not at submission
    with audit.change(session, actor, "evaluation.draft_saved", evaluation):
        set_answers(evaluation, answers, clean_notes(form, notes), comment)
        evaluation.status = EvaluationStatus.DRAFT.value
    return evaluation


def submit(session: Session, actor: Any, evaluation_id: int, answers: dict[str, Any], *,
           notes: dict[str, Any] | None = None, comment: str = "",
           expected_version: int | None = None, policy: Policy = Policy(),
           now: dt.datetime | None = None) -> Evaluation:
    evaluation = _editable(session, actor, evaluation_id, expected_version)
    form = form_of(evaluation)
    answers = clean_answers(form, answers)
    try:
        result = rules.score(form, answers)
    except rules.AnswerError as exc:
        missing = sum(1 for v in exc.problems.values() if v == "not answered")
        message = (f"{missing} question(s) still need an answer (or N/A where allowed)."
                   if missing else "Some answers do not fit their question.")
        raise InvalidInput(message, exc.problems) from None
    now = now or utcnow()
    with audit.change(session, actor, "evaluation.submitted", evaluation):
        set_answers(evaluation, answers, clean_notes(form, notes), comment)
        apply_result(session, evaluation, result)
        evaluation.submitted_at = now
        evaluation.status = EvaluationStatus.SUBMITTED.value
        if policy.release == "immediate":
            evaluation.status = EvaluationStatus.RELEASED.value
            evaluation.released_at = now
            evaluation.released_by_id = getattr(actor, "id", None)
        record_revision(session, evaluation, "submitted", actor, now)
    if evaluation.status == EvaluationStatus.RELEASED.value:
        notify(session, actor, [evaluation.agent_id], "evaluation.released",
               f"Evaluation #{evaluation.id} of your contact was released to you.",
               f"/evaluations/{evaluation.id}")
    return evaluation


def release(session: Session, actor: Any, evaluation_id: int) -> Evaluation:
    evaluation = get_evaluation(session, actor, evaluation_id)
    require(actor, "evaluation.release", evaluation)
    if evaluation.agent_id == getattr(actor, "id", None):
        raise Conflict("Nobody releases their own evaluation; another lead or an admin will.")
    if evaluation.status != EvaluationStatus.SUBMITTED.value:
        raise Conflict(f"Evaluation #{evaluation.id} is {evaluation.status}: only a submitted "
                       "evaluation waits for release.")
    with audit.change(session, actor, "evaluation.released", evaluation):
        evaluation.status = EvaluationStatus.RELEASED.value
        evaluation.released_at = utcnow()
        evaluation.released_by_id = getattr(actor, "id", None)
    notify(session, actor, [evaluation.agent_id], "evaluation.released",
           f"Evaluation #{evaluation.id} of your contact was released to you.",
           f"/evaluations/{evaluation.id}")
    return evaluation


def _agents_own(session: Session, actor: Any, evaluation_id: int, policy: Policy,
                doing: str) -> Evaluation:
    evaluation = get_evaluation(session, actor, evaluation_id)
    if evaluation.agent_id != actor.id:
        raise PermissionDenied("evaluation.respond",
                               f"Only the agent who was evaluated can {doing} it.")
    require(actor, "evaluation.respond", evaluation)
    if evaluation.status == EvaluationStatus.ACKNOWLEDGED.value:
        raise Conflict("You acknowledged this evaluation already; nothing was changed.")
    if evaluation.status == EvaluationStatus.DISPUTED.value:
        raise Conflict("Your dispute of this evaluation is open; wait for the reviewer's "
                       "decision.")
    if evaluation.status != EvaluationStatus.RELEASED.value:
        raise Conflict("This evaluation has not been released to you yet.")
    return evaluation


def acknowledge(session: Session, actor: Any, evaluation_id: int, comment: str = "", *,
                policy: Policy = Policy(), now: dt.datetime | None = None) -> Evaluation:
    evaluation = _agents_own(session, actor, evaluation_id, policy, "acknowledge")
    with audit.change(session, actor, "evaluation.acknowledged", evaluation):
        evaluation.status = EvaluationStatus.ACKNOWLEDGED.value
        evaluation.acknowledged_at = now or utcnow()
        evaluation.acknowledgement = comment.strip()
    return evaluation


def dispute(session: Session, actor: Any, evaluation_id: int, reason: str, *,
            policy: Policy = Policy(), now: dt.datetime | None = None) -> Dispute:
    evaluation = _agents_own(session, actor, evaluation_id, policy, "dispute")
    now = now or utcnow()
    if not window_open(evaluation, policy, now):
        last_day = last_day_to_dispute(evaluation, policy)
        raise Conflict(f"The {policy.dispute_window_days}-day window to dispute this evaluation "
                       f"closed at the end of {last_day:%Y-%m-%d}.")
    if evaluation.dispute_count >= policy.max_disputes:
        raise Conflict(f"This evaluation was disputed {evaluation.dispute_count} time(s), the "
                       "most allowed; talk to your team lead.")
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise InvalidInput("Say what you disagree with and why, so that a reviewer can decide.",
                           {"reason": f"at least {MIN_REASON} characters"})
    with audit.change(session, actor, "evaluation.disputed", evaluation):
        evaluation.dispute_count += 1
        evaluation.status = EvaluationStatus.DISPUTED.value
        item = Dispute(evaluation_id=evaluation.id, number=evaluation.dispute_count,
                       raised_by_id=actor.id, raised_at=now, reason=reason)
        session.add(item)
        session.flush()
        audit.record(session, actor, "dispute.raised", item, after=audit.snapshot(item))
    notify(session, actor, [lead for lead in (evaluation.agent.team.leads if evaluation.agent.team
                                              else []) if lead.id != evaluation.evaluator_id],
           "dispute.raised", f"{actor.display_name} disputed evaluation #{evaluation.id}.",
           f"/disputes/{item.id}")
    return item


def verdicts(session: Session) -> list[Verdict]:
    """Every finished evaluation with a score, oldest interaction first. Targeted evaluations
    (drawn because a model flagged them) are left out: a model that learnt from its own picks
    would see more problems each round, flag more, and be picked from more: a loop that feeds
    itself. It learns from the random draw and hand-picked ones."""
    rows = session.execute(
        select(Evaluation.interaction_id, Evaluation.score, Evaluation.critical_fail)
        .where(Evaluation.status.in_(FINISHED_STATUSES), Evaluation.score.is_not(None),
               Evaluation.targeted.is_(False))
        .order_by(Evaluation.interaction_id))
    return [Verdict(i, float(score), bool(critical)) for i, score, critical in rows]


def score_label(value: Decimal | None) -> str:
    return "N/A" if value is None else f"{value:.2f}"
