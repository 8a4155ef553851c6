"""Writes about coaching: open a session for an agent, change it, hold or cancel it, agree
action items and close them, and the agent's acknowledgement and comment. Functions take
``(session, actor, ...)`` and flush, never commit; every change is audited; a bad value is a
sentence and writes nothing; a save against a version someone changed since is ``StaleEdit``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.coaching.models import (
    ActionItem,
    CoachingKind,
    CoachingSession,
    CoachingSource,
    CoachingStatus,
)
from qm import audit
from qm.auth.models import User
from qm.auth.permissions import can, require
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, StaleEdit
from qm.notifications.services import notify
from scoring.evaluations.models import Evaluation

MANAGE, VIEW = "coaching.manage", "coaching.view"
KINDS = tuple(k.value for k in CoachingKind)
SOURCES = tuple(s.value for s in CoachingSource)
MAX_NOTES, MAX_ACTION, MAX_FOCUS = 10_000, 1_000, 50


class PersonScope:
    """A person's scope for a permission check (``can(actor, perm, PersonScope(user))``): the
    person, their team; for an agent who has no coaching record yet."""

    def __init__(self, agent: User) -> None:
        self.scope_owner_id, self.scope_team_id = agent.id, agent.team_id


def get(session: Session, actor: Any, session_id: int, permission: str = VIEW
        ) -> CoachingSession:
    """The coaching session, if ``actor`` may see it (out of scope reads as not found)."""
    item = session.get(CoachingSession, session_id) if isinstance(session_id, int) else None
    if item is None or not can(actor, VIEW, item):
        raise NotFound("Coaching session", session_id)
    require(actor, permission, item)
    return item


def _check_version(item: Any, expected_version: int | None, what: str) -> None:
    if expected_version is not None and item.version != expected_version:
        raise StaleEdit(what)


def _codes(value: Any, label: str, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"The {label} are a list of text.", {key: "a list of text"})
    out = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    if len(out) > MAX_FOCUS or any(len(v) > 64 for v in out):
        raise InvalidInput(f"At most {MAX_FOCUS} {label}, each of at most 64 characters.",
                           {key: "too many or too long"})
    return out


def _clean(session: Session, values: Mapping[str, Any], agent: User) -> dict[str, Any]:
    errors: dict[str, str] = {}
    kind = values.get("kind")
    if kind not in KINDS:
        errors["kind"] = f"The kind of session is one of {', '.join(KINDS)} (got {kind!r})."
    planned_on = values.get("planned_on")
    if not isinstance(planned_on, dt.date) or isinstance(planned_on, dt.datetime):
        errors["planned_on"] = f"A session needs the day it is planned for (got {planned_on!r})."
    source = values.get("source") or CoachingSource.AD_HOC.value
    if source not in SOURCES:
        errors["source"] = f"A session comes from one of {', '.join(SOURCES)} (got {source!r})."
    notes = values.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > MAX_NOTES:
        errors["notes"] = f"Notes are text of at most {MAX_NOTES:,} characters."
    evaluation_ids = values.get("evaluation_ids") or []
    if not isinstance(evaluation_ids, (list, tuple)) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in evaluation_ids):
        errors["evaluation_ids"] = "The evaluations are a list of ids."
        evaluation_ids = []
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    focus_questions = _codes(values.get("focus_questions"), "focus questions", "focus_questions")
    focus_competencies = _codes(values.get("focus_competencies"), "focus competencies",
                                "focus_competencies")
    evaluation_ids = list(dict.fromkeys(evaluation_ids))
    if evaluation_ids:
        found = dict(session.execute(select(Evaluation.id, Evaluation.agent_id).where(
            Evaluation.id.in_(evaluation_ids))).all())
        wrong = [i for i in evaluation_ids if found.get(i) != agent.id]
        if wrong:
            raise InvalidInput(f"Evaluation {', '.join(f'#{i}' for i in wrong)} is not one of "
                               f"{agent.display_name}'s.", {"evaluation_ids": "not the agent's"})
    if source == CoachingSource.EVALUATION.value and not evaluation_ids:
        raise InvalidInput("A session opened from evaluations names at least one.",
                           {"evaluation_ids": "required"})
    return {"kind": kind, "planned_on": planned_on, "source": source, "notes": notes.strip(),
            "evaluation_ids": evaluation_ids, "focus_questions": focus_questions,
            "focus_competencies": focus_competencies}


def open_session(session: Session, actor: Any, agent_id: int,
                 values: Mapping[str, Any]) -> CoachingSession:
    """Plan a coaching session for an agent of the actor's teams (``values``: kind, planned_on,
    source, evaluation_ids, focus_questions, focus_competencies, notes). Nobody coaches
    themselves."""
    require(actor, MANAGE)
    agent = session.get(User, agent_id) if isinstance(agent_id, int) else None
    if agent is None or not agent.active or not can(actor, MANAGE, PersonScope(agent)):
        # the same words for nobody and for somebody else's agent: nothing leaks
        raise InvalidInput(f"There is no active agent #{agent_id} in the teams you coach.",
                           {"agent_id": "not in your teams"})
    if getattr(actor, "id", None) == agent.id:
        raise Conflict("Nobody coaches themselves.")
    fields = _clean(session, values, agent)
    item = CoachingSession(agent_id=agent.id, team_id=agent.team_id,
                           coach_id=getattr(actor, "id", None),
                           status=CoachingStatus.SCHEDULED.value,
                           created_by_id=getattr(actor, "id", None), **fields)
    session.add(item)
    session.flush()
    audit.record(session, actor, "coaching_session.opened", item, after=audit.snapshot(item))
    notify(session, actor, [agent.id], "coaching.planned",
           f"A coaching session with you is planned for {item.planned_on:%Y-%m-%d}.",
           f"/coaching/{item.id}")
    return item


def update_session(session: Session, actor: Any, session_id: int, values: Mapping[str, Any],
                   expected_version: int | None = None) -> CoachingSession:
    """Change a session's plan, focus and notes (also after it was held: notes are often
    written up later). A cancelled session is not changed."""
    item = get(session, actor, session_id, MANAGE)
    _check_version(item, expected_version, "coaching session")
    if item.status == CoachingStatus.CANCELLED.value:
        raise Conflict("This session was cancelled; it is not changed any more.")
    fields = _clean(session, {**{k: getattr(item, k) for k in (
        "kind", "planned_on", "source", "notes", "evaluation_ids", "focus_questions",
        "focus_competencies")}, **values}, item.agent)
    if all(getattr(item, key) == value for key, value in fields.items()):
        return item
    before = audit.snapshot(item)
    for key, value in fields.items():
        setattr(item, key, value)
    session.flush()
    audit.record(session, actor, "coaching_session.updated", item, before=before,
                 after=audit.snapshot(item))
    return item


def _set_status(session: Session, actor: Any, item: CoachingSession, status: str,
                **changes: Any) -> CoachingSession:
    before = audit.snapshot(item)
    item.status = status
    for key, value in changes.items():
        setattr(item, key, value)
    session.flush()
    audit.record(session, actor, f"coaching_session.{status}", item, before=before,
                 after=audit.snapshot(item))
    return item


def hold(session: Session, actor: Any, session_id: int, *, held_on: dt.date,
         today: dt.date, expected_version: int | None = None) -> CoachingSession:
    """Record that the session took place on ``held_on`` (not in the future)."""
    item = get(session, actor, session_id, MANAGE)
    _check_version(item, expected_version, "coaching session")
    if item.status == CoachingStatus.HELD.value and item.held_on == held_on:
        return item  # a double submit changes nothing
    if item.status == CoachingStatus.CANCELLED.value:
        raise Conflict("This session was cancelled; it cannot be held.")
    if not isinstance(held_on, dt.date) or held_on > today:
        raise InvalidInput(f"A session is recorded as held on the day or after ({held_on} is "
                           f"after {today}).", {"held_on": "in the future"})
    return _set_status(session, actor, item, CoachingStatus.HELD.value, held_on=held_on)


def cancel(session: Session, actor: Any, session_id: int,
           expected_version: int | None = None) -> CoachingSession:
    item = get(session, actor, session_id, MANAGE)
    _check_version(item, expected_version, "coaching session")
    if item.status == CoachingStatus.CANCELLED.value:
        return item
    if item.status == CoachingStatus.HELD.value:
        raise Conflict("This session was held; it stays in the log.")
    return _set_status(session, actor, item, CoachingStatus.CANCELLED.value)


def acknowledge(session: Session, actor: Any, session_id: int, comment: str = "") -> \
        CoachingSession:
    """The agent says they have read the session's record, with a comment if they like. Only
    the agent, only once it was held; again: the comment is updated, the first time kept."""
    item = get(session, actor, session_id)
    if getattr(actor, "id", None) != item.agent_id:
        raise Conflict(f"Only {item.agent.display_name} acknowledges their coaching session.")
    if item.status != CoachingStatus.HELD.value:
        raise Conflict("A session is acknowledged once it was held.")
    comment = (comment or "").strip()
    if len(comment) > MAX_NOTES:
        raise InvalidInput(f"A comment has at most {MAX_NOTES:,} characters.",
                           {"comment": "too long"})
    if item.agent_acknowledged_at is not None and item.agent_comment == comment:
        return item
    before = audit.snapshot(item)
    item.agent_acknowledged_at = item.agent_acknowledged_at or utcnow()
    item.agent_comment = comment
    session.flush()
    audit.record(session, actor, "coaching_session.acknowledged", item, before=before,
                 after=audit.snapshot(item))
    return item


def add_action(session: Session, actor: Any, session_id: int, *, text: str,
               owner_id: Any, due_on: Any) -> ActionItem:
    """Agree an action item: what, who (the agent or their coach, or anyone in scope), by
    when (not before the session's day)."""
    item = get(session, actor, session_id, MANAGE)
    if item.status == CoachingStatus.CANCELLED.value:
        raise Conflict("This session was cancelled; nothing is agreed in it.")
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text or len(text) > MAX_ACTION:
        raise InvalidInput(f"Say what is to be done (1 to {MAX_ACTION:,} characters).",
                           {"text": "required"})
    owner = session.get(User, owner_id) if isinstance(owner_id, int) else None
    if owner is None or not owner.active:
        raise InvalidInput("An action item needs an owner: an active user.",
                           {"owner_id": "required"})
    if not isinstance(due_on, dt.date) or isinstance(due_on, dt.datetime):
        raise InvalidInput("An action item needs a due date.", {"due_on": "required"})
    start = item.held_on or item.planned_on
    if due_on < start:
        raise InvalidInput(f"An action item cannot be due before its session ({due_on} is "
                           f"before {start}).", {"due_on": "before the session"})
    action = ActionItem(session_id=item.id, text=text, owner_id=owner.id, due_on=due_on)
    session.add(action)
    session.flush()
    audit.record(session, actor, "coaching_action.agreed", action, after=audit.snapshot(action))
    return action


def complete_action(session: Session, actor: Any, action_id: int,
                    expected_version: int | None = None) -> ActionItem:
    """Mark an action item done: by its owner, or by whoever manages the session. Done twice:
    the first time is kept."""
    action = session.get(ActionItem, action_id) if isinstance(action_id, int) else None
    if action is None or not can(actor, VIEW, action.session):
        raise NotFound("Action item", action_id)
    if getattr(actor, "id", None) != action.owner_id and not can(actor, MANAGE, action.session):
        raise Conflict("An action item is marked done by its owner or by the agent's coach.")
    _check_version(action, expected_version, "action item")
    if action.done_at is not None:
        return action
    before = audit.snapshot(action)
    action.done_at = utcnow()
    action.done_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor, "coaching_action.done", action, before=before,
                 after=audit.snapshot(action))
    return action
