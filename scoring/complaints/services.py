"""Writes about complaints: open one (by hand, or from an interaction), change its details and
owner, link and unlink the interactions it is about, and take it through its life: acknowledge,
respond, escalate and answer the escalation, resolve (with the outcome and the root cause),
close, reopen. And the site's holidays, which the clock's working days skip.

Functions take ``(session, actor, ...)`` and flush, never commit; every change is audited (the
customer's words and the outcome as digests: they are personal); a bad value is a sentence per
field and writes nothing; a save against a version someone changed since is ``StaleEdit``.

Who may: ``complaint.manage`` at the complaint's scope. A complaint's scope is the interactions
it is linked to (``may``): a lead manages those linked to a contact of their teams' agents,
QA and admins every complaint, including one linked to no interaction (a letter).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from qm import audit, csvfiles
from qm.auth.models import WITH_ACCESS, User, UserRole
from qm.auth.permissions import ALL, PERMISSIONS, can, require, scope_for
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, PermissionDenied, StaleEdit
from qm.interactions.models import Interaction
from qm.timestamps import to_utc
from scoring.complaints.models import (
    CATEGORIES,
    ROOT_CAUSES,
    Complaint,
    ComplaintInteraction,
    ComplaintSource,
    ComplaintStatus,
    Holiday,
    Severity,
)

MANAGE, VIEW, CALENDAR = "complaint.manage", "complaint.view", "calendar.manage"
SEVERITIES = tuple(s.value for s in Severity)
SOURCES = tuple(s.value for s in ComplaintSource)
STATUSES = tuple(s.value for s in ComplaintStatus)
MAX_REF, MAX_TEXT, MAX_LINKS, MAX_HOLIDAY_NAME = 100, 10_000, 50, 100
DOUBLE_SUBMIT = dt.timedelta(minutes=1)
"""A second complaint for the same customer and interaction within this time is the same
complaint sent twice (a double click, a retried request), not a new one."""
CLOCK_SKEW = dt.timedelta(minutes=1)
"""How far in the future a step's time may be (a client's clock a little ahead)."""


# --- who may ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkScope:
    """The scope an interaction gives a complaint linked to it: its agent, their team."""

    scope_owner_id: int
    scope_team_id: int | None


def may(actor: Any, permission: str, item: Complaint,
        links: Iterable[Any] | None = None) -> bool:
    """Whether ``actor`` has ``permission`` on ``item``: everywhere, or through one of the
    interactions it is linked to (``links``: those to judge by instead, for a complaint being
    made)."""
    scope = scope_for(actor, permission)
    if scope is None:
        return False
    if scope is ALL:
        return True
    return any(can(actor, permission, link) for link in (item.links if links is None else links))


def get(session: Session, actor: Any, complaint_id: int, permission: str = VIEW) -> Complaint:
    """The complaint, if ``actor`` may see it (out of scope reads as not found)."""
    item = session.get(Complaint, complaint_id) if isinstance(complaint_id, int) else None
    if item is None or not may(actor, VIEW, item):
        raise NotFound("Complaint", complaint_id)
    if not may(actor, permission, item):
        raise PermissionDenied(permission)
    return item


def owner_choices(session: Session, item: Complaint | None = None,
                  links: Iterable[Any] = ()) -> list[User]:
    """Active users who may manage ``item`` (or a complaint to be linked to ``links``): who may
    own it."""
    roles = [role.value for role in PERMISSIONS[MANAGE]]
    users = session.scalars(
        select(User).join(UserRole).where(User.active, UserRole.role.in_(roles))
        .distinct().order_by(User.display_name, User.id).options(*WITH_ACCESS)).all()
    judged = None if item is not None else list(links)
    target = item if item is not None else Complaint()
    return [u for u in users if may(u, MANAGE, target, judged)]


def _check_version(item: Complaint, expected_version: int | None) -> None:
    if expected_version is not None and item.version != expected_version:
        raise StaleEdit("complaint")


# --- values -----------------------------------------------------------------------------------

def status_of(item: Complaint) -> str:
    """Where the complaint stands, from its times: the latest step done, and "escalated" while
    an escalation waits for its answer."""
    if item.closed_at is not None:
        return ComplaintStatus.CLOSED.value
    if item.resolved_at is not None:
        return ComplaintStatus.RESOLVED.value
    if item.escalated_at is not None and item.escalation_answered_at is None:
        return ComplaintStatus.ESCALATED.value
    if item.responded_at is not None:
        return ComplaintStatus.RESPONDED.value
    if item.acknowledged_at is not None:
        return ComplaintStatus.ACKNOWLEDGED.value
    return ComplaintStatus.RECEIVED.value


def _snapshot(item: Complaint) -> dict[str, Any]:
    """The audit's view of a complaint: the customer's words and the answers as digests."""
    return audit.snapshot(item, summary=audit.digest(item.summary),
                          outcome=audit.digest(item.outcome),
                          escalation_reason=audit.digest(item.escalation_reason),
                          escalation_answer=audit.digest(item.escalation_answer),
                          interaction_ids=item.interaction_ids)


def _text(value: Any, label: str, *, required: bool, maximum: int = MAX_TEXT) -> str:
    text = value.strip() if isinstance(value, str) else None
    if text is None and value is not None:
        raise ValueError(f"{label} is text.")
    text = text or ""
    if required and not text:
        raise ValueError(f"{label} is required.")
    if len(text) > maximum:
        raise ValueError(f"{label} has at most {maximum:,} characters (got {len(text):,}).")
    return text


_DETAILS = {
    "customer_ref": lambda v: _text(v, "The customer reference", required=True,
                                    maximum=MAX_REF),
    "summary": lambda v: _text(v, "What the customer complains about", required=True),
}


def _choice(value: Any, label: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{label} is one of {', '.join(allowed)} (got {value!r}).")
    return value


def _clean_details(values: Mapping[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """customer_ref, summary, category and severity, each with its sentence in ``errors``."""
    out: dict[str, Any] = {}
    checks = {**_DETAILS,
              "category": lambda v: _choice(v, "The category", CATEGORIES),
              "severity": lambda v: _choice(v, "The severity", SEVERITIES)}
    for key, check in checks.items():
        if key not in values:
            continue
        try:
            out[key] = check(values[key])
        except ValueError as exc:
            errors[key] = str(exc)
    return out


def _moment(value: Any, label: str, now: dt.datetime,
            *not_before: tuple[dt.datetime | None, str]) -> dt.datetime:
    """A step's time: aware, in qm's range, not in the future, not before any of
    ``not_before`` (a time, and what it is in words); ``ValueError`` with the sentence."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ValueError(f"{label} is a date and time with its zone (got {value!r}).")
    at = to_utc(value, label)
    if at > now + CLOCK_SKEW:
        raise ValueError(f"{label} ({at.isoformat(timespec='minutes')} UTC) is in the future.")
    for earliest, what in not_before:
        if earliest is not None and at < earliest:
            raise ValueError(f"{label} ({at.isoformat(timespec='minutes')} UTC) is before "
                             f"{what} ({earliest.isoformat(timespec='minutes')} UTC).")
    return at


def _step_time(at: Any, label: str, now: dt.datetime,
               *not_before: tuple[dt.datetime | None, str]) -> dt.datetime:
    """When a step was done: ``at``, or now."""
    try:
        return _moment(now if at is None else at, label, now, *not_before)
    except ValueError as exc:
        raise InvalidInput(str(exc), {"at": str(exc)}) from None


def _visible_interactions(session: Session, actor: Any, ids: Any,
                          errors: dict[str, str]) -> list[Interaction]:
    """The interactions of ``ids`` that ``actor`` may see; one that does not exist or is not
    visible is a sentence in ``errors`` (the same words for both: nothing leaks)."""
    if ids is None:
        return []
    if not isinstance(ids, (list, tuple)) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        errors["interaction_ids"] = "The interactions are a list of ids."
        return []
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_LINKS:
        errors["interaction_ids"] = f"A complaint links at most {MAX_LINKS} interactions."
        return []
    found = {i.id: i for i in session.scalars(select(Interaction).where(Interaction.id.in_(ids)))}
    missing = [i for i in ids if i not in found or not can(actor, "interaction.view", found[i])]
    if missing:
        errors["interaction_ids"] = (
            f"Interaction {', '.join(f'#{i}' for i in missing)} does not exist or is not "
            "visible to you.")
        return []
    return [found[i] for i in ids]


def _link(interaction: Interaction, actor: Any) -> ComplaintInteraction:
    return ComplaintInteraction(interaction_id=interaction.id, agent_id=interaction.agent_id,
                                team_id=interaction.team_id,
                                added_by_id=getattr(actor, "id", None))


def _owner(session: Session, owner_id: Any, item: Complaint,
           links: Iterable[Any] | None = None) -> User:
    owner = session.get(User, owner_id) if isinstance(owner_id, int) and not isinstance(
        owner_id, bool) else None
    if owner is None or not owner.active or not may(owner, MANAGE, item, links):
        raise ValueError("The owner is an active user who may manage this complaint (an "
                         "administrator, a QA evaluator, or a lead of a team it is about).")
    return owner


# --- opening ----------------------------------------------------------------------------------

def open_complaint(session: Session, actor: Any, values: Mapping[str, Any], *,
                   now: dt.datetime | None = None) -> Complaint:
    """Register a complaint (``values``: customer_ref, summary, category, severity,
    received_at (default now), interaction_ids, owner_id (default the actor), source). A lead
    links it to at least one interaction of their teams: a complaint they could not see
    afterwards is not theirs to open."""
    require(actor, MANAGE)
    now = now or utcnow()
    errors: dict[str, str] = {}
    details = _clean_details({"severity": Severity.MEDIUM.value, **values,
                              "customer_ref": values.get("customer_ref"),
                              "summary": values.get("summary"),
                              "category": values.get("category")}, errors)
    source = values.get("source") or ComplaintSource.MANUAL.value
    if source not in SOURCES:
        errors["source"] = f"A complaint comes from one of {', '.join(SOURCES)} (got {source!r})."
    received_at = now
    if values.get("received_at") is not None:
        try:
            received_at = _moment(values["received_at"], "The time it was received", now)
        except ValueError as exc:
            errors["received_at"] = str(exc)
    interactions = _visible_interactions(session, actor, values.get("interaction_ids"), errors)
    links = [_link(i, actor) for i in interactions]
    probe = Complaint()
    if "interaction_ids" not in errors and not may(actor, MANAGE, probe, links):
        errors["interaction_ids"] = ("Link the complaint to at least one interaction of your "
                                     "teams: you handle complaints about their contacts.")
    owner_id = values.get("owner_id", getattr(actor, "id", None))
    owner = None
    if owner_id is not None and "interaction_ids" not in errors:
        try:
            owner = _owner(session, owner_id, probe, links)
        except ValueError as exc:
            errors["owner_id"] = str(exc)
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    _refuse_double_submit(session, details["customer_ref"], [i.id for i in interactions], now)
    item = Complaint(**details, source=source, status=ComplaintStatus.RECEIVED.value,
                     received_at=received_at, owner=owner,
                     created_at=now, updated_at=now, created_by_id=getattr(actor, "id", None))
    item.links = links
    session.add(item)
    session.flush()
    audit.record(session, actor, "complaint.opened", item, after=_snapshot(item))
    return item


def _refuse_double_submit(session: Session, customer_ref: str, interaction_ids: list[int],
                          now: dt.datetime) -> None:
    recent = session.scalars(select(Complaint).where(
        Complaint.customer_ref == customer_ref, Complaint.created_at >= now - DOUBLE_SUBMIT))
    for other in recent:
        if set(other.interaction_ids) == set(interaction_ids) or (
                set(other.interaction_ids) & set(interaction_ids)):
            raise Conflict(f"Complaint #{other.id} for customer {customer_ref} about the same "
                           "interaction was opened less than a minute ago; nothing was written. "
                           "Open that one, or wait a minute if this is really another "
                           "complaint.")


def open_from_interaction(session: Session, actor: Any, interaction_id: int,
                          values: Mapping[str, Any] | None = None, *,
                          source: str = ComplaintSource.MANUAL.value,
                          now: dt.datetime | None = None) -> Complaint:
    """Open a complaint about one interaction: its customer reference unless another is
    given; ``source="flag"`` when a confirmed complaint flag opens it (then, unless given, the
    category is "other" and the summary says where it came from, for the owner to complete).
    ``values["interaction_ids"]`` may add more interactions."""
    values = dict(values or {})
    interaction = session.get(Interaction, interaction_id) if isinstance(
        interaction_id, int) else None
    if interaction is None or not can(actor, "interaction.view", interaction):
        raise NotFound("Interaction", interaction_id)
    if not values.get("customer_ref"):
        values["customer_ref"] = interaction.customer_ref
    if source == ComplaintSource.FLAG.value:
        values.setdefault("category", "other")
        if not values.get("summary"):
            values["summary"] = (f"Opened from the complaint flag on interaction "
                                 f"#{interaction.id}.")
    extra = values.get("interaction_ids") or []
    values["interaction_ids"] = [interaction.id, *(extra if isinstance(extra, list) else [extra])]
    values["source"] = source
    return open_complaint(session, actor, values, now=now)


# --- changing ---------------------------------------------------------------------------------

def _change(session: Session, actor: Any, item: Complaint, action: str,
            **changes: Any) -> Complaint:
    before = _snapshot(item)
    for key, value in changes.items():
        setattr(item, key, value)
    item.status = status_of(item)
    item.updated_at = utcnow()  # also bumps the version of a change to the links only
    session.flush()
    audit.record(session, actor, f"complaint.{action}", item, before=before,
                 after=_snapshot(item))
    return item


def _not_closed(item: Complaint) -> None:
    if item.closed_at is not None:
        raise Conflict("This complaint is closed; reopen it to change it.")


def update(session: Session, actor: Any, complaint_id: int, values: Mapping[str, Any],
           expected_version: int | None = None) -> Complaint:
    """Change the customer reference, the summary, the category or the severity (and the
    owner, ``owner_id``, as ``assign`` does)."""
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    _not_closed(item)
    errors: dict[str, str] = {}
    fields_ = _clean_details(values, errors)
    if "owner_id" in values and values["owner_id"] != item.owner_id:
        try:
            fields_["owner"] = _owner(session, values["owner_id"], item)
        except ValueError as exc:
            errors["owner_id"] = str(exc)
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    changed = {k: v for k, v in fields_.items() if getattr(item, k) != v}
    if not changed:
        return item
    return _change(session, actor, item, "updated", **changed)


def assign(session: Session, actor: Any, complaint_id: int, owner_id: int,
           expected_version: int | None = None) -> Complaint:
    """Give the complaint an owner: someone who may manage it."""
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    _not_closed(item)
    try:
        owner = _owner(session, owner_id, item)
    except ValueError as exc:
        raise InvalidInput(str(exc), {"owner_id": str(exc)}) from None
    if owner.id == item.owner_id:
        return item
    return _change(session, actor, item, "assigned", owner=owner)


def add_interaction(session: Session, actor: Any, complaint_id: int, interaction_id: int,
                    expected_version: int | None = None) -> Complaint:
    """Link one more interaction the actor may see (again: nothing changes)."""
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    _not_closed(item)
    errors: dict[str, str] = {}
    found = _visible_interactions(session, actor, [interaction_id], errors)
    if errors:
        raise InvalidInput(errors["interaction_ids"], errors)
    if found[0].id in item.interaction_ids:
        return item
    if len(item.links) >= MAX_LINKS:
        raise InvalidInput(f"A complaint links at most {MAX_LINKS} interactions.",
                           {"interaction_ids": "too many"})
    return _change(session, actor, item, "interaction_linked",
                   links=[*item.links, _link(found[0], actor)])


def remove_interaction(session: Session, actor: Any, complaint_id: int, interaction_id: int,
                       expected_version: int | None = None) -> Complaint:
    """Unlink an interaction the actor may see. A lead cannot unlink the last interaction of
    their teams: the complaint would leave their hands (and their sight) with it."""
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    _not_closed(item)
    link = next((x for x in item.links if x.interaction_id == interaction_id), None)
    if link is None or not can(actor, "interaction.view", link.interaction):
        raise NotFound("Linked interaction", interaction_id)
    rest = [x for x in item.links if x is not link]
    if not may(actor, MANAGE, item, rest):
        raise Conflict("This is the last interaction of your teams on this complaint; "
                       "unlinking it would take the complaint out of your hands. Link "
                       "another first, or ask QA to take it over.")
    if item.owner is not None and not may(item.owner, MANAGE, item, rest):
        raise Conflict(f"{item.owner.display_name} owns this complaint through this "
                       "interaction; give it another owner first.")
    return _change(session, actor, item, "interaction_unlinked", links=rest)


# --- its life ---------------------------------------------------------------------------------

def _open_step(session: Session, actor: Any, complaint_id: int,
               expected_version: int | None) -> Complaint:
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    _not_closed(item)
    return item


def _not_resolved(item: Complaint, what: str) -> None:
    if item.resolved_at is not None:
        raise Conflict(f"This complaint is resolved; reopen it to {what}.")


def _required(value: Any, key: str, label: str) -> str:
    try:
        return _text(value, label, required=True)
    except ValueError as exc:
        raise InvalidInput(str(exc), {key: str(exc)}) from None


RECEIVED = "the time it was received"


def acknowledge(session: Session, actor: Any, complaint_id: int, *, at: Any = None,
                expected_version: int | None = None,
                now: dt.datetime | None = None) -> Complaint:
    """The customer was told their complaint is being handled. Again: nothing changes."""
    item = _open_step(session, actor, complaint_id, expected_version)
    if item.acknowledged_at is not None:
        return item
    _not_resolved(item, "acknowledge it")
    moment = _step_time(at, "The acknowledgement", now or utcnow(),
                        (item.received_at, RECEIVED))
    return _change(session, actor, item, "acknowledged", acknowledged_at=moment)


def respond(session: Session, actor: Any, complaint_id: int, *, at: Any = None,
            expected_version: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """The customer had a first substantive answer; a response acknowledges too. Again:
    nothing changes."""
    item = _open_step(session, actor, complaint_id, expected_version)
    if item.responded_at is not None:
        return item
    _not_resolved(item, "respond")
    moment = _step_time(at, "The response", now or utcnow(), (item.received_at, RECEIVED))
    return _change(session, actor, item, "responded", responded_at=moment,
                   acknowledged_at=item.acknowledged_at or moment)


def escalate(session: Session, actor: Any, complaint_id: int, *, reason: Any, at: Any = None,
             expected_version: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """Hand the complaint up (ISO 10002's risk-based escalation), saying why; its answer is
    then due within the escalation hours. Escalated again after an answer: the new escalation
    replaces the old one here; the audit log keeps both."""
    item = _open_step(session, actor, complaint_id, expected_version)
    _not_resolved(item, "escalate it")
    if item.status == ComplaintStatus.ESCALATED.value:
        raise Conflict("This complaint is escalated already and waits for the answer.")
    why = _required(reason, "reason", "Why it is escalated")
    moment = _step_time(at, "The escalation", now or utcnow(), (item.received_at, RECEIVED))
    return _change(session, actor, item, "escalated", escalated_at=moment,
                   escalation_reason=why, escalation_answered_at=None, escalation_answer="")


def answer_escalation(session: Session, actor: Any, complaint_id: int, *, answer: Any,
                      at: Any = None, expected_version: int | None = None,
                      now: dt.datetime | None = None) -> Complaint:
    """Record the escalation's answer (the decision taken above)."""
    item = _open_step(session, actor, complaint_id, expected_version)
    if item.status != ComplaintStatus.ESCALATED.value:
        raise Conflict("This complaint has no escalation waiting for an answer.")
    text = _required(answer, "answer", "The escalation's answer")
    moment = _step_time(at, "The escalation's answer", now or utcnow(),
                        (item.escalated_at, "the escalation"))
    return _change(session, actor, item, "escalation_answered",
                   escalation_answered_at=moment, escalation_answer=text)


def resolve(session: Session, actor: Any, complaint_id: int, *, outcome: Any, root_cause: Any,
            at: Any = None, expected_version: int | None = None,
            now: dt.datetime | None = None) -> Complaint:
    """Resolve it: what was done (the outcome) and why it happened (the root cause), both
    required. Resolving answers the customer, so a step not recorded before (acknowledgement,
    response, an escalation's answer) is recorded at the same time."""
    item = _open_step(session, actor, complaint_id, expected_version)
    _not_resolved(item, "resolve it again")
    errors: dict[str, str] = {}
    try:
        text = _text(outcome, "The outcome", required=True)
    except ValueError as exc:
        errors["outcome"] = str(exc)
    try:
        cause = _choice(root_cause, "The root cause", ROOT_CAUSES)
    except ValueError as exc:
        errors["root_cause"] = str(exc)
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    moment = _step_time(at, "The resolution", now or utcnow(), (item.received_at, RECEIVED),
                        (item.escalated_at, "the escalation"))
    changes: dict[str, Any] = {"resolved_at": moment, "outcome": text, "root_cause": cause,
                               "acknowledged_at": item.acknowledged_at or moment,
                               "responded_at": item.responded_at or moment}
    if item.escalated_at is not None and item.escalation_answered_at is None:
        changes["escalation_answered_at"] = moment
    return _change(session, actor, item, "resolved", **changes)


def close(session: Session, actor: Any, complaint_id: int, *, at: Any = None,
          expected_version: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """Close a resolved complaint: nothing more is done about it. Again: nothing changes."""
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    if item.closed_at is not None:
        return item
    if item.resolved_at is None:
        raise Conflict("Resolve the complaint (its outcome and root cause) before closing it.")
    moment = _step_time(at, "The closure", now or utcnow(), (item.resolved_at, "its resolution"))
    return _change(session, actor, item, "closed", closed_at=moment)


def reopen(session: Session, actor: Any, complaint_id: int, *,
           expected_version: int | None = None, now: dt.datetime | None = None) -> Complaint:
    """Reopen a resolved or closed complaint (the customer came back, the fix did not hold):
    its resolution is undone and its clock runs again from the original receipt; the outcome
    and root cause stay as a draft for the next resolution, the audit log keeps the old."""
    item = get(session, actor, complaint_id, MANAGE)
    _check_version(item, expected_version)
    if item.resolved_at is None:
        raise Conflict("This complaint is not resolved; there is nothing to reopen.")
    return _change(session, actor, item, "reopened", resolved_at=None, closed_at=None,
                   reopened_at=now or utcnow())


# --- holidays ---------------------------------------------------------------------------------

def _holiday_values(day: Any, name: Any) -> tuple[dt.date, str]:
    errors: dict[str, str] = {}
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        errors["day"] = f"A holiday is a date (got {day!r})."
    elif not 1970 <= day.year < 2100:
        errors["day"] = f"A holiday is between 1970 and 2099 (got {day.isoformat()})."
    try:
        text = _text(name, "The holiday's name", required=True, maximum=MAX_HOLIDAY_NAME)
    except ValueError as exc:
        errors["name"] = str(exc)
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    return day, text


def add_holiday(session: Session, actor: Any, day: Any, name: Any) -> Holiday:
    """A day the site does not work; a date already in the calendar is a conflict."""
    require(actor, CALENDAR)
    day, text = _holiday_values(day, name)
    existing = session.scalar(select(Holiday).where(Holiday.day == day))
    if existing is not None:
        raise Conflict(f"{day.isoformat()} is a holiday already ({existing.name}).")
    holiday = Holiday(day=day, name=text, created_by_id=getattr(actor, "id", None))
    session.add(holiday)
    session.flush()
    audit.record(session, actor, "holiday.added", holiday, after=audit.snapshot(holiday))
    return holiday


def delete_holiday(session: Session, actor: Any, holiday_id: int) -> Holiday:
    """Take a day out of the calendar: deadlines computed from now on count it as worked."""
    require(actor, CALENDAR)
    holiday = session.get(Holiday, holiday_id) if isinstance(holiday_id, int) else None
    if holiday is None:
        raise NotFound("Holiday", holiday_id)
    before = audit.snapshot(holiday)
    audit.record(session, actor, "holiday.deleted", holiday, before=before)
    session.delete(holiday)
    session.flush()
    return holiday


RowError, ImportReport = csvfiles.RowError, csvfiles.ImportReport  # what importers name


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def import_holidays(session: Session, actor: Any, stream: BinaryIO) -> ImportReport:
    """Import holidays from CSV (UTF-8, with or without a BOM): columns ``date`` (YYYY-MM-DD)
    and ``name``, any case. As ``qm training import`` does: a header without both columns is
    refused whole; each bad row is reported by line with its reason and writes nothing; the
    good rows go in, each in a savepoint of its own; a date already in the calendar counts as
    already there (with any name), so importing a file again adds nothing."""
    require(actor, CALENDAR)
    reader = csvfiles.reader(stream)
    mapping, _unknown = csvfiles.header(reader, ("date", "name"), (), aliases={"day": "date"})
    report = ImportReport()
    seen: dict[dt.date, int] = {}
    audit.lock(session)  # in this transaction, before the savepoints (see audit.lock)
    for row in csvfiles.numbered(reader, mapping):
        if isinstance(row, csvfiles.Unreadable):
            report.errors.append(RowError(row.line, row.reason))
            break
        report.rows += 1
        if row.extra_cells:
            report.errors.append(RowError(row.line, "more cells than header columns"))
            continue
        raw_day = (row.values.get("date") or "").strip()
        if not _ISO_DATE.fullmatch(raw_day):
            report.errors.append(RowError(row.line, f"bad date {raw_day!r} (write it as "
                                                    "YYYY-MM-DD)"))
            continue
        try:
            day = dt.date.fromisoformat(raw_day)
            _holiday_values(day, row.values.get("name"))
        except ValueError:
            report.errors.append(RowError(row.line, f"no such date: {raw_day!r}"))
            continue
        except InvalidInput as exc:
            report.errors.append(RowError(row.line, str(exc)))
            continue
        if day in seen:
            report.errors.append(RowError(row.line, f"{raw_day} is on line {seen[day]} "
                                                    "already"))
            continue
        seen[day] = row.line
        if session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
            report.already_there += 1
            continue
        try:
            with session.begin_nested():
                add_holiday(session, actor, day, row.values.get("name"))
        except DBAPIError as exc:
            report.errors.append(RowError(row.line, csvfiles.refusal(exc)))
            continue
        report.created += 1
    return report
