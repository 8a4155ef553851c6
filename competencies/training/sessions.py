"""Writes about training sessions: schedule one, enrol people, cancel it, record who attended.
Functions take ``(session, actor, ...)`` and flush, never commit; every change is audited; a
bad value is a sentence and writes nothing.

Attending a session that was held is completing its course on that day: the attendance writes
the person's training record (or finds the one already there, say from an import), so refresher
dates and the matrix need no second entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from competencies.training import services
from competencies.training.models import (
    Attendance,
    Course,
    RecordSource,
    SessionAttendee,
    SessionStatus,
    TrainingSession,
)
from qm import audit
from qm.auth.models import User
from qm.auth.permissions import require
from qm.db import utcnow
from qm.errors import Conflict, InvalidInput, NotFound, StaleEdit

MAX_TEXT, MAX_CAPACITY = 120, 500


def get(session: Session, session_id: int) -> TrainingSession:
    found = session.get(TrainingSession, session_id)
    if found is None:
        raise NotFound("Training session", session_id)
    return found


def _clean(session: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    course = session.get(Course, values.get("course_id")) if isinstance(
        values.get("course_id"), int) else None
    if course is None:
        errors["course_id"] = f"There is no course {values.get('course_id')!r}."
    elif not course.active:
        errors["course_id"] = f"The course {course.name!r} is inactive; reactivate it first."
    held_on = values.get("held_on")
    if not isinstance(held_on, date) or isinstance(held_on, datetime):
        errors["held_on"] = f"A session needs the day it is held (got {held_on!r})."
    texts = {}
    for key, label in (("trainer", "trainer"), ("location", "location")):
        text = str(values.get(key) or "").strip()
        if len(text) > MAX_TEXT:
            errors[key] = f"The {label} has at most {MAX_TEXT} characters."
        texts[key] = text
    capacity = values.get("capacity")
    if capacity is not None and (isinstance(capacity, bool) or not isinstance(capacity, int)
                                 or not 1 <= capacity <= MAX_CAPACITY):
        errors["capacity"] = (f"The capacity is a whole number of places from 1 to "
                              f"{MAX_CAPACITY}, or none (got {capacity!r}).")
    notes = values.get("notes") or ""
    if not isinstance(notes, str) or len(notes) > 2000:
        errors["notes"] = "Notes are text of at most 2,000 characters."
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)
    return {"course_id": course.id, "held_on": held_on, "capacity": capacity,
            "notes": notes.strip(), **texts}


def schedule(session: Session, actor: Any, values: Mapping[str, Any],
             session_id: int | None = None,
             expected_version: int | None = None) -> TrainingSession:
    """Plan a session of a course (``values``: course_id, held_on, trainer, location, capacity,
    notes), or change a planned one. A session that was held or cancelled is not rescheduled:
    its attendance is a record of that day."""
    require(actor, services.PERMISSION)
    fields = _clean(session, values)
    if session_id is None:
        twin = session.scalar(select(TrainingSession.id).where(
            TrainingSession.course_id == fields["course_id"],
            TrainingSession.held_on == fields["held_on"],
            TrainingSession.trainer == fields["trainer"],
            TrainingSession.location == fields["location"],
            TrainingSession.status == SessionStatus.PLANNED.value))
        if twin is not None:  # a double submit, or two people planning the same thing
            raise Conflict(f"The same session (course, day, trainer and place) is planned "
                           f"already: #{twin}.")
        item = TrainingSession(status=SessionStatus.PLANNED.value,
                               created_by_id=getattr(actor, "id", None), **fields)
        session.add(item)
        session.flush()
        audit.record(session, actor, "training_session.scheduled", item,
                     after=audit.snapshot(item))
        return item
    item = get(session, session_id)
    if expected_version is not None and item.version != expected_version:
        raise StaleEdit("training session")
    if item.status != SessionStatus.PLANNED.value:
        raise Conflict(f"This session was {item.status}; it is not changed any more.")
    if len(item.attendees) > (fields["capacity"] or MAX_CAPACITY):
        raise InvalidInput(f"{len(item.attendees)} people are enrolled; the capacity cannot be "
                           f"lower.", {"capacity": "below the enrolment"})
    if all(getattr(item, key) == value for key, value in fields.items()):
        return item
    before = audit.snapshot(item)
    for key, value in fields.items():
        setattr(item, key, value)
    session.flush()
    audit.record(session, actor, "training_session.updated", item, before=before,
                 after=audit.snapshot(item))
    return item


def enrol(session: Session, actor: Any, session_id: int, user_ids: Iterable[int]) -> list[int]:
    """Enrol active users on a planned session; those enrolled already are left alone. The
    whole list is refused when it would overfill the session. Returns the ids newly enrolled."""
    require(actor, services.PERMISSION)
    item = get(session, session_id)
    if item.status != SessionStatus.PLANNED.value:
        raise Conflict(f"This session was {item.status}; nobody is enrolled on it any more.")
    enrolled = {a.user_id for a in item.attendees}
    added = []
    for user_id in dict.fromkeys(user_ids):
        user = session.get(User, user_id) if isinstance(user_id, int) else None
        if user is None or not user.active:
            raise InvalidInput(f"There is no active user #{user_id}.", {"user_ids": "unknown"})
        if user_id not in enrolled:
            added.append(user_id)
    if item.capacity is not None and len(enrolled) + len(added) > item.capacity:
        raise InvalidInput(
            f"The session has {item.capacity} places and {len(enrolled)} are taken; "
            f"{len(added)} more do not fit.", {"user_ids": "over capacity"})
    for user_id in added:
        item.attendees.append(SessionAttendee(user_id=user_id))
    if added:
        # the session's row is updated too (its version moves on): of two enrolments that read
        # the same places at the same moment, the second meets the version check (StaleEdit)
        flag_modified(item, "status")
    session.flush()
    if added:
        audit.record(session, actor, "training_session.enrolled", item,
                     after={"user_ids": added})
    return added


def unenrol(session: Session, actor: Any, session_id: int, user_id: int) -> None:
    """Take someone off a planned session."""
    require(actor, services.PERMISSION)
    item = get(session, session_id)
    if item.status != SessionStatus.PLANNED.value:
        raise Conflict(f"This session was {item.status}; its attendance stands.")
    attendee = next((a for a in item.attendees if a.user_id == user_id), None)
    if attendee is None:
        raise NotFound("Enrolment of user", user_id)
    item.attendees.remove(attendee)
    session.flush()
    audit.record(session, actor, "training_session.unenrolled", item,
                 before={"user_id": user_id})


def cancel(session: Session, actor: Any, session_id: int) -> TrainingSession:
    require(actor, services.PERMISSION)
    item = get(session, session_id)
    if item.status == SessionStatus.CANCELLED.value:
        return item
    if item.status != SessionStatus.PLANNED.value:
        raise Conflict("This session was held; its attendance stands.")
    before = audit.snapshot(item)
    item.status = SessionStatus.CANCELLED.value
    session.flush()
    audit.record(session, actor, "training_session.cancelled", item, before=before,
                 after=audit.snapshot(item))
    return item


def record_attendance(session: Session, actor: Any, session_id: int,
                      marks: Mapping[int, tuple[str, str]], *,
                      today: date | None = None) -> TrainingSession:
    """Mark the session held and record, per enrolled user, ``(status, result)``: attended or
    absent. Attending writes the training record of that day (source "session"), or links the
    one already there. Anyone not in ``marks`` keeps their mark. Checked whole before anything
    is written: a session in the future, an unknown mark, a person not enrolled, or taking back
    an attendance whose training record exists are sentences.
    """
    require(actor, services.PERMISSION)
    item = get(session, session_id)
    today = today or utcnow().date()
    if item.status == SessionStatus.CANCELLED.value:
        raise Conflict("This session was cancelled; nobody attended it.")
    if item.held_on > today:
        raise InvalidInput(f"The session is on {item.held_on.isoformat()}; attendance is "
                           f"recorded on the day or after.", {"held_on": "in the future"})
    attendees = {a.user_id: a for a in item.attendees}
    allowed = {Attendance.ATTENDED.value, Attendance.ABSENT.value}
    cleaned: dict[int, tuple[str, str]] = {}
    for user_id, (status, result) in marks.items():
        attendee = attendees.get(user_id)
        if attendee is None:
            raise InvalidInput(f"User #{user_id} is not enrolled on this session; enrol them "
                               f"first.", {"marks": "not enrolled"})
        if status not in allowed:
            raise InvalidInput(f"Attendance is attended or absent (got {status!r}).",
                               {"marks": "unknown mark"})
        result = (result or "").strip()
        services.check_texts(result, "")
        if attendee.record_id is not None and status != Attendance.ATTENDED.value:
            raise Conflict(f"{attendee.user.display_name} attended and has the training "
                           f"record of that day; it stands.")
        cleaned[user_id] = (status, result)
    before = audit.snapshot(item)
    for user_id, (status, result) in cleaned.items():
        attendee = attendees[user_id]
        if (attendee.status, attendee.result) == (status, result) and (
                status != Attendance.ATTENDED.value or attendee.record_id is not None):
            continue
        was = {"user_id": user_id, "status": attendee.status, "result": attendee.result}
        attendee.status, attendee.result = status, result
        if status == Attendance.ATTENDED.value and attendee.record_id is None:
            record = services.existing(session, user_id, item.course_id, item.held_on)
            if record is None:
                record = services.insert(
                    session, actor, user=attendee.user, course=item.course,
                    completed_on=item.held_on, result=result, expires_on=None, certificate="",
                    source=RecordSource.SESSION.value)
            attendee.record_id = record.id
        session.flush()
        audit.record(session, actor, "training_session.attendance", item, before=was,
                     after={"user_id": user_id, "status": status, "result": result,
                            "record_id": attendee.record_id})
    if item.status != SessionStatus.HELD.value:
        item.status = SessionStatus.HELD.value
        session.flush()
        audit.record(session, actor, "training_session.held", item, before=before,
                     after=audit.snapshot(item))
    return item
