"""Writes about notices: drafts, publication to an audience, recipients added later,
withdrawal, and a recipient's acknowledgement. Functions take ``(session, actor, ...)`` and
flush, never commit; every change is audited, and refused input writes nothing.

The audience is resolved to users when a notice is published (or recipients are added): all
active agents, the active members of chosen teams, the active holders of chosen competency
profiles, chosen active users, or any union of these. What was sent to whom is then fixed:
someone who joins a team later receives the notice only when added.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from competencies.notices.models import Notice, NoticeCategory, NoticeRecipient
from competencies.profiles.models import CompetencyProfile, ProfileMember
from qm import audit
from qm.auth.models import Team, User, UserRole
from qm.auth.permissions import Role, require
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit

MANAGE = "notice.manage"
CATEGORIES = tuple(c.value for c in NoticeCategory)
MAX_TITLE = 200
MAX_BODY = 20_000


@dataclass(frozen=True)
class Audience:
    """Whom a notice goes to: the union of every part chosen."""

    all_agents: bool = False
    team_ids: tuple[int, ...] = field(default_factory=tuple)
    profile_ids: tuple[int, ...] = field(default_factory=tuple)
    user_ids: tuple[int, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, all_agents: Any = False, team_ids: Any = (), profile_ids: Any = (),
           user_ids: Any = ()) -> Audience:
        """An audience from loosely typed input (a form, a JSON body): ids must be whole
        numbers, said in a sentence otherwise."""
        if not isinstance(all_agents, bool):
            raise InvalidInput("'All agents' is true or false.", {"all_agents": "not a boolean"})
        parts = {}
        for key, value in (("team_ids", team_ids), ("profile_ids", profile_ids),
                           ("user_ids", user_ids)):
            value = value or ()
            if not isinstance(value, (list, tuple, set, frozenset)) or not all(
                    isinstance(i, int) and not isinstance(i, bool) for i in value):
                raise InvalidInput(f"The {key.replace('_ids', '')}s are a list of ids.",
                                   {key: "a list of ids"})
            parts[key] = tuple(sorted(set(value)))
        return cls(all_agents=all_agents, **parts)

    def as_dict(self) -> dict[str, Any]:
        return {"all_agents": self.all_agents, "team_ids": list(self.team_ids),
                "profile_ids": list(self.profile_ids), "user_ids": list(self.user_ids)}

    @property
    def empty(self) -> bool:
        return not (self.all_agents or self.team_ids or self.profile_ids or self.user_ids)


def _notice(session: Session, notice_id: Any) -> Notice:
    notice = session.get(Notice, notice_id) if isinstance(notice_id, int) else None
    if notice is None:
        raise NotFound("Notice", notice_id)
    return notice


def _check_version(notice: Notice, expected_version: int | None) -> None:
    if expected_version is not None and notice.version != expected_version:
        raise StaleEdit("notice")


# --- drafts -----------------------------------------------------------------------------------


def _clean_draft(merged: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    title = merged.get("title")
    title = title.strip() if isinstance(title, str) else ""
    if not title or len(title) > MAX_TITLE:
        errors["title"] = f"A notice needs a title of 1 to {MAX_TITLE} characters."
    body = merged.get("body")
    if not isinstance(body, str) or not body.strip():
        errors["body"] = "A notice needs its text: what changes, from when, what to do."
    elif len(body) > MAX_BODY:
        errors["body"] = f"The text has at most {MAX_BODY} characters (it has {len(body)})."
    category = str(merged.get("category") or "").strip().lower()
    if category not in CATEGORIES:
        errors["category"] = (f"The category is one of {', '.join(CATEGORIES)} "
                              f"(got {merged.get('category')!r}).")
    deadline = merged.get("acknowledge_by")
    if deadline is not None and (not isinstance(deadline, dt.date)
                                 or isinstance(deadline, dt.datetime)):
        errors["acknowledge_by"] = (f"The deadline to acknowledge is a date, or none "
                                    f"(got {deadline!r}).")
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    return {"title": title, "body": body.strip("\n").rstrip(), "category": category,
            "acknowledge_by": deadline}


def save_draft(session: Session, actor: Any, values: dict[str, Any],
               notice_id: int | None = None, *,
               expected_version: int | None = None) -> Notice:
    """Create a draft, or update draft ``notice_id`` (a key absent from ``values`` keeps its
    value). ``values``: title (1 to 200 characters), body (plain text), category (one of
    ``CATEGORIES``), acknowledge_by (a date or None). A published notice is frozen: a
    correction is a new notice. ``expected_version``: the version the editor loaded (a
    mismatch is a ``StaleEdit``). Audited."""
    require(actor, MANAGE)
    notice = None if notice_id is None else _notice(session, notice_id)
    if notice is not None:
        _check_version(notice, expected_version)
        if not notice.is_draft:
            raise Conflict("A published notice cannot be changed: its title and text are what "
                           "its recipients read and acknowledged. Write a new notice for a "
                           "correction.")
    current = ({"title": notice.title, "body": notice.body, "category": notice.category,
                "acknowledge_by": notice.acknowledge_by} if notice is not None else {})
    fields_ = _clean_draft({**current, **values})
    if notice is None:
        notice = Notice(**fields_, created_by_id=getattr(actor, "id", None))
        session.add(notice)
        session.flush()
        audit.record(session, actor, "notice.created", notice, after=audit.snapshot(notice))
        return notice
    if all(getattr(notice, key) == value for key, value in fields_.items()):
        return notice
    before = audit.snapshot(notice)
    for key, value in fields_.items():
        setattr(notice, key, value)
    session.flush()
    audit.record(session, actor, "notice.updated", notice, before=before,
                 after=audit.snapshot(notice))
    return notice


# --- the audience -----------------------------------------------------------------------------


def _unknown(session: Session, model: Any, ids: tuple[int, ...]) -> list[int]:
    if not ids:
        return []
    found = set(session.scalars(select(model.id).where(model.id.in_(ids))))
    return [i for i in ids if i not in found]


def resolve(session: Session, audience: Audience) -> list[int]:
    """The ids of the active users ``audience`` names, sorted. An unknown team, profile or
    user is refused with a sentence; an inactive user is left out."""
    errors = {}
    for key, model, label in (("team_ids", Team, "team"),
                              ("profile_ids", CompetencyProfile, "competency profile"),
                              ("user_ids", User, "user")):
        unknown = _unknown(session, model, getattr(audience, key))
        if unknown:
            errors[key] = (f"There is no {label} {', '.join(map(str, unknown))}."
                           if len(unknown) == 1 else
                           f"There are no {label}s {', '.join(map(str, unknown))}.")
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    ids: set[int] = set()
    active = User.active.is_(True)
    if audience.all_agents:
        ids |= set(session.scalars(select(User.id).join(UserRole, UserRole.user_id == User.id)
                                   .where(UserRole.role == Role.AGENT.value, active)))
    if audience.team_ids:
        ids |= set(session.scalars(select(User.id).where(User.team_id.in_(audience.team_ids),
                                                         active)))
    if audience.profile_ids:
        ids |= set(session.scalars(
            select(User.id).join(ProfileMember, ProfileMember.user_id == User.id)
            .where(ProfileMember.profile_id.in_(audience.profile_ids), active)))
    if audience.user_ids:
        ids |= set(session.scalars(select(User.id).where(User.id.in_(audience.user_ids),
                                                         active)))
    return sorted(ids)


def _resolve_someone(session: Session, audience: Audience) -> list[int]:
    if audience.empty:
        raise InvalidInput("Choose whom the notice goes to: all agents, teams, holders of a "
                           "competency profile, or people.", {"audience": "nobody chosen"})
    user_ids = resolve(session, audience)
    if not user_ids:
        raise InvalidInput("Nobody active is in the audience chosen (the teams and profiles "
                           "have no active members, the people chosen are inactive); nothing "
                           "was sent.", {"audience": "nobody in it"})
    return user_ids


def _add(session: Session, notice: Notice, user_ids: list[int]) -> list[int]:
    already = set(session.scalars(select(NoticeRecipient.user_id)
                                  .where(NoticeRecipient.notice_id == notice.id)))
    added = [i for i in user_ids if i not in already]
    now = utcnow()
    session.add_all(NoticeRecipient(notice_id=notice.id, user_id=i, added_at=now)
                    for i in added)
    return added


def publish(session: Session, actor: Any, notice_id: int, audience: Audience, *,
            expected_version: int | None = None, today: dt.date | None = None) -> Notice:
    """Publish draft ``notice_id`` to ``audience``: its users (active ones) become the
    recipients, and the title and text are frozen. Refused: an audience with nobody active in
    it, a deadline before ``today`` (default the UTC date), a notice already published.
    Audited, with the recipients' ids."""
    require(actor, MANAGE)
    notice = _notice(session, notice_id)
    _check_version(notice, expected_version)
    if not notice.is_draft:
        raise Conflict("This notice is published already; add recipients to it, or write a "
                       "new notice.")
    today = today or utcnow().date()
    if notice.acknowledge_by is not None and notice.acknowledge_by < today:
        raise InvalidInput(
            f"The deadline to acknowledge ({notice.acknowledge_by.isoformat()}) is in the past; "
            "edit the draft to give a later date, or none.", {"acknowledge_by": "in the past"})
    user_ids = _resolve_someone(session, audience)
    before = audit.snapshot(notice)
    notice.published_at = utcnow()
    notice.published_by_id = getattr(actor, "id", None)
    notice.audience = audience.as_dict()
    added = _add(session, notice, user_ids)
    session.flush()
    audit.record(session, actor, "notice.published", notice, before=before,
                 after=audit.snapshot(notice, recipients=added))
    return notice


def add_recipients(session: Session, actor: Any, notice_id: int,
                   audience: Audience) -> list[int]:
    """Send published notice ``notice_id`` also to ``audience`` (a new joiner, a team that
    now serves the client); those who have it already are skipped. Returns the ids added
    (none: nothing written). Refused: a draft (publish it), a withdrawn notice, an audience
    with nobody active in it. Audited."""
    require(actor, MANAGE)
    notice = _notice(session, notice_id)
    if notice.is_draft:
        raise Conflict("This notice is a draft: publish it to its audience first.")
    if notice.withdrawn_at is not None:
        raise Conflict("This notice was withdrawn; it is no longer sent to anyone.")
    added = _add(session, notice, _resolve_someone(session, audience))
    if not added:
        return []
    session.flush()
    audit.record(session, actor, "notice.recipients_added", notice,
                 after={"audience": audience.as_dict(), "recipients": added})
    return added


def withdraw(session: Session, actor: Any, notice_id: int, *,
             expected_version: int | None = None) -> Notice:
    """Withdraw published notice ``notice_id``: its recipients are no longer asked to
    acknowledge it (what they acknowledged stays recorded). Withdrawing it again changes
    nothing. Audited."""
    require(actor, MANAGE)
    notice = _notice(session, notice_id)
    if notice.is_draft:
        raise Conflict("A draft has not been sent to anyone; there is nothing to withdraw.")
    if notice.withdrawn_at is not None:
        return notice
    _check_version(notice, expected_version)
    before = audit.snapshot(notice)
    notice.withdrawn_at = utcnow()
    notice.withdrawn_by_id = getattr(actor, "id", None)
    session.flush()
    audit.record(session, actor, "notice.withdrawn", notice, before=before,
                 after=audit.snapshot(notice))
    return notice


# --- acknowledgements -------------------------------------------------------------------------


def acknowledge(session: Session, actor: Any, notice_id: int) -> NoticeRecipient:
    """The actor acknowledges that they received notice ``notice_id``: only a recipient, for
    themselves. A second acknowledgement changes nothing and returns the first (a double
    submit loses nothing). Refused after the notice was withdrawn. Audited on the notice."""
    require(actor, "notice.view")
    notice = _notice(session, notice_id)
    row = (session.get(NoticeRecipient, (notice.id, actor.id))
           if getattr(actor, "id", None) is not None else None)
    if row is None:
        raise PermissionDenied("notice.view", "Only someone this notice was sent to can "
                                              "acknowledge it, and only for themselves.")
    if row.acknowledged_at is not None:
        return row
    if notice.withdrawn_at is not None:
        raise Conflict("This notice was withdrawn: it no longer needs acknowledging.")
    row.acknowledged_at = utcnow()
    session.flush()
    audit.record(session, actor, "notice.acknowledged", notice,
                 after={"user_id": row.user_id, "acknowledged_at": audit.jsonable(
                     row.acknowledged_at)})
    return row
