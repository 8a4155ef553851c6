"""Calibration sessions: evaluators score the same interactions, then see how far they agree.
Every write and rule: create, score, close, consensus, minutes; ``(session, actor, ...)``,
flush only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from qm import audit
from qm.auth.models import User
from qm.auth.permissions import Role, can, require, scope_clause
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit
from qm.interactions.models import Interaction
from scoring.calibration.models import (
    CalibrationItem,
    CalibrationMode,
    CalibrationParticipant,
    CalibrationScore,
    CalibrationSession,
)
from scoring.calibration.results import form_of, results
from scoring.evaluations.services import clean_answers, clean_notes, preview, published_version
from scoring.forms import rules

MAX_ITEMS = 20


SCORER_ROLES = {Role.QA_EVALUATOR.value, Role.TEAM_LEAD.value, Role.ADMIN.value}


@dataclass(frozen=True)
class _TeamScope:
    """The scope of a session that does not exist yet, for the permission check."""

    scope_team_id: int | None
    scope_owner_id: None = None


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
                              mode=mode, expert_id=expert_id, due_on=due_on, statistics=[],
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


def _locked(session: Session, session_id: int) -> None:
    """Serialise closing and scoring of one session (a row lock on PostgreSQL; SQLite writes
    are serialised anyway): a submission cannot slip into a session being closed."""
    session.execute(select(CalibrationSession.id).where(CalibrationSession.id == session_id)
                    .with_for_update())


def close_session(session: Session, actor: Any, session_id: int,
                  expected_version: int | None = None) -> CalibrationSession:
    item = get_session(session, actor, session_id)
    require(actor, "calibration.manage", item)
    _locked(session, item.id)
    session.refresh(item)
    if not item.is_open:
        raise Conflict("This session is closed already; nothing was changed.")
    if expected_version is not None and expected_version != item.version:
        raise StaleEdit("calibration session")
    per_item = [sum(1 for s in i.scores if s.status == "submitted") for i in item.items]
    if not per_item or max(per_item) < 2:
        raise Conflict("No interaction has two submitted scores yet: there is nothing to "
                       "compare.")
    drafts = sum(1 for i in item.items for s in i.scores if s.status != "submitted")
    scores = [{"item": i.position, "evaluator_id": s.evaluator_id, "answers": s.answers,
               "score": None if s.score is None else str(s.score)}
              for i in item.items for s in i.scores if s.status == "submitted"]
    with audit.change(session, actor, "calibration.closed", item,
                      lambda record: snapshot(record)):
        item.status = "closed"
        item.closed_at = utcnow()
        item.closed_by_id = getattr(actor, "id", None)
        item.statistics = [vars(stat) for stat in results(session, item).statistics]
    # The scores, blind until now, enter the log in full with the closing.
    audit.record(session, actor, "calibration.scores_disclosed", item,
                 after={"scores": scores, "drafts_left_out": drafts})
    return item


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
    _locked(session, calibration.id)
    session.refresh(calibration)
    if not calibration.is_open:
        raise Conflict("The session is closed; scores no longer change.")
    score = own_score(session, actor, item)
    if score is not None and score.status == "submitted":
        raise Conflict("You submitted this item already; nothing was changed.")
    # Once a draft exists, a save must say which version it edits: a second tab (or a client
    # that never read the draft) must not silently overwrite it.
    if score is not None and expected_version != score.version:
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
