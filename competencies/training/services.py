"""Writes about training: courses, completions entered by hand, completions imported from CSV.
Functions take ``(session, actor, ...)`` and flush, never commit.

A completion is known by its user, course and date: recording it twice, by hand or by importing
the same file again, adds nothing.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from competencies.frameworks import queries as framework_queries
from competencies.training import due
from competencies.training.models import Course, CourseKind, RecordSource, TrainingRecord
from qm import audit, csvfiles
from qm.auth.models import User
from qm.auth.permissions import require
from qm.db import utcnow
from qm.errors import InvalidInput, NotFound, StaleEdit

PERMISSION = "skills.manage"
KINDS = tuple(kind.value for kind in CourseKind)
MAX_REFRESH_MONTHS = 120
MAX_NAME, MAX_CODE, MAX_RESULT, MAX_CERTIFICATE = 120, 32, 40, 200

REQUIRED_COLUMNS = ("username", "course", "completed_on")
OPTIONAL_COLUMNS = ("result", "expires_on", "certificate")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)


# --- courses ----------------------------------------------------------------------------------


def _clean_refresh(value: Any) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        months = value
    elif isinstance(value, str) and value.strip().isdigit():
        months = int(value.strip())
    else:
        raise ValueError
    if not 1 <= months <= MAX_REFRESH_MONTHS:
        raise ValueError
    return months


def _clean_codes(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
        raise ValueError("Competencies must be a list of competency codes (text).")
    codes: list[str] = []
    for raw in value:
        code = raw.strip()
        if not code or len(code) > MAX_CODE:
            raise ValueError(f"A competency code has 1 to {MAX_CODE} characters "
                             f"(got {raw!r}).")
        if code not in codes:
            codes.append(code)
    return codes


def _known_codes(session: Session) -> set[str]:
    """The competency codes of every framework's current version: what a course may develop."""
    return {code for framework in framework_queries.frameworks(session) if framework.versions
            for code in framework_queries.parsed(framework_queries.version_of(framework))
            .by_code()}


def save_course(session: Session, actor: Any, values: dict[str, Any],
                course_id: int | None = None, expected_version: int | None = None) -> Course:
    """Create a course, or update course ``course_id`` (a key absent from ``values`` keeps its
    value; ``expected_version``: the version the editor started from, else StaleEdit).
    ``values``: name, kind (one of ``KINDS``), refresh_months (None or 1 to 120),
    competencies (a list of codes), description, active. Audited."""
    require(actor, PERMISSION)
    course = None
    if course_id is not None:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound("Course", course_id)
        if expected_version is not None and course.version != expected_version:
            raise StaleEdit("course")
    current = ({"name": course.name, "kind": course.kind, "refresh_months": course.refresh_months,
                "competencies": list(course.competencies), "description": course.description,
                "active": course.active} if course is not None else {})
    merged = {**current, **values}
    errors: dict[str, str] = {}

    name = str(merged.get("name") or "").strip()
    if not name or len(name) > MAX_NAME:
        errors["name"] = f"A course needs a name of 1 to {MAX_NAME} characters."
    elif session.scalar(select(Course.id).where(
            func.lower(Course.name) == name.lower(),
            Course.id != (course.id if course is not None else -1))) is not None:
        errors["name"] = f"A course named {name!r} exists already; choose another name."
    kind = str(merged.get("kind") or "").strip().lower()
    if kind not in KINDS:
        errors["kind"] = (f"The kind of course must be one of {', '.join(KINDS)} "
                          f"(got {merged.get('kind')!r}).")
    try:
        refresh_months = _clean_refresh(merged.get("refresh_months"))
    except ValueError:
        refresh_months = None
        errors["refresh_months"] = (
            f"The refresher interval is a whole number of months from 1 to "
            f"{MAX_REFRESH_MONTHS}, or none for a course taken once "
            f"(got {merged.get('refresh_months')!r}).")
    try:
        codes = _clean_codes(merged.get("competencies"))
        known = _known_codes(session) if codes else set()
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} "
                             + ("is not a competency" if len(unknown) == 1
                                else "are not competencies")
                             + " of any competency framework.")
    except ValueError as exc:
        codes = []
        errors["competencies"] = str(exc)
    description = merged.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        errors["description"] = "The description is text."
    active = merged.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = "Active is true or false."
    if errors:
        raise InvalidInput(" ".join(errors.values()), errors)

    fields = {"name": name, "kind": kind, "refresh_months": refresh_months,
              "competencies": codes, "description": description, "active": active}
    if course is None:
        course = Course(**fields)
        session.add(course)
        session.flush()
        audit.record(session, actor, "course.created", course, after=audit.snapshot(course))
        return course
    if all(getattr(course, key) == value for key, value in fields.items()):
        return course
    before = audit.snapshot(course)
    for key, value in fields.items():
        setattr(course, key, value)
    session.flush()
    audit.record(session, actor, "course.updated", course, before=before,
                 after=audit.snapshot(course))
    return course


# --- completions ------------------------------------------------------------------------------


def _check_dates(completed_on: Any, expires_on: Any, today: date) -> None:
    for key, label, value in (("completed_on", "completion", completed_on),
                              ("expires_on", "expiry", expires_on)):
        if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
            raise InvalidInput(f"The {label} date must be a date (got {value!r}).",
                               {key: "not a date"})
    if completed_on is None:
        raise InvalidInput("A completion needs the date it was completed on.",
                           {"completed_on": "required"})
    due.check_completed_on(completed_on, today)
    if expires_on is not None and expires_on < completed_on:
        raise InvalidInput(
            f"An expiry date cannot be before the completion date ({expires_on.isoformat()} "
            f"is before {completed_on.isoformat()}).", {"expires_on": "before the completion"})


def check_texts(result: str, certificate: str) -> None:
    if len(result) > MAX_RESULT:
        raise InvalidInput(f"A result has at most {MAX_RESULT} characters.",
                           {"result": "too long"})
    if len(certificate) > MAX_CERTIFICATE:
        raise InvalidInput(f"A certificate reference has at most {MAX_CERTIFICATE} characters.",
                           {"certificate": "too long"})


def existing(session: Session, user_id: int, course_id: int,
              completed_on: date) -> TrainingRecord | None:
    return session.scalar(select(TrainingRecord).where(
        TrainingRecord.user_id == user_id, TrainingRecord.course_id == course_id,
        TrainingRecord.completed_on == completed_on))


def insert(session: Session, actor: Any, *, user: User, course: Course, completed_on: date,
            result: str, expires_on: date | None, certificate: str,
            source: str) -> TrainingRecord:
    record = TrainingRecord(user_id=user.id, course_id=course.id, completed_on=completed_on,
                            result=result,
                            expires_on=expires_on, certificate=certificate, source=source,
                            created_by_id=getattr(actor, "id", None))
    session.add(record)
    session.flush()
    audit.record(session, actor, "training_record.created", record,
                 after=audit.snapshot(record))
    return record


def record_completion(
    session: Session,
    actor: Any,
    *,
    user_id: int,
    course_id: int,
    completed_on: date,
    result: str = "",
    expires_on: date | None = None,
    certificate: str = "",
    today: date | None = None,
) -> TrainingRecord:
    """Record that user ``user_id`` completed course ``course_id`` on ``completed_on``.

    Refused: a date after ``today`` (the site's date; default the UTC date), an expiry before
    the completion, an unknown user or course. The same user, course and date again returns the
    record already there, unchanged. Audited.
    """
    require(actor, PERMISSION)
    today = today or utcnow().date()
    result, certificate = (result or "").strip(), (certificate or "").strip()
    _check_dates(completed_on, expires_on, today)
    check_texts(result, certificate)
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise InvalidInput(f"There is no user {user_id!r}.", {"user_id": "unknown user"})
    course = session.get(Course, course_id) if isinstance(course_id, int) else None
    if course is None:
        raise InvalidInput(f"There is no course {course_id!r}.", {"course_id": "unknown course"})
    found = existing(session, user.id, course.id, completed_on)
    if found is not None:
        return found
    return insert(session, actor, user=user, course=course, completed_on=completed_on,
                   result=result, expires_on=expires_on, certificate=certificate,
                   source=RecordSource.MANUAL.value)


# --- the CSV import ---------------------------------------------------------------------------


RowError, ImportReport = csvfiles.RowError, csvfiles.ImportReport  # what importers name


class _RowInvalid(Exception):
    """A row that cannot go in; its message is the reason, in words."""


def _parse_date(column: str, text: str) -> date:
    if not _ISO_DATE.fullmatch(text):
        raise _RowInvalid(f"bad date in {column}: {text!r} (write it as YYYY-MM-DD)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _RowInvalid(f"bad date in {column}: {text!r} is not a day of the calendar") \
            from None


class _Lookups:
    """Users and courses by name, read once per import."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.users: dict[str, User | None] = {}
        self.courses = {c.name.lower(): c for c in session.scalars(select(Course))}

    def user(self, name: str) -> User:
        key = name.lower()
        if key not in self.users:
            self.users[key] = self.session.scalar(select(User).where(User.username == key))
        found = self.users[key]
        if found is None:
            raise _RowInvalid(f"unknown user {name!r}")
        return found

    def course(self, name: str) -> Course:
        found = self.courses.get(name.lower())
        if found is None:
            raise _RowInvalid(f"unknown course {name!r}")
        return found


def _clean_row(raw: dict[str, str | None], lookups: _Lookups, today: date) -> dict[str, Any]:
    values = {key: (value or "").strip() for key, value in raw.items()}
    for column in REQUIRED_COLUMNS:
        if not values.get(column):
            raise _RowInvalid(f"missing value for column {column}")
    user = lookups.user(values["username"])
    course = lookups.course(values["course"])
    completed_on = _parse_date("completed_on", values["completed_on"])
    expires_on = (_parse_date("expires_on", values["expires_on"])
                  if values.get("expires_on") else None)
    result, certificate = values.get("result", ""), values.get("certificate", "")
    try:
        _check_dates(completed_on, expires_on, today)
        check_texts(result, certificate)
    except InvalidInput as exc:
        raise _RowInvalid(str(exc)) from None
    return {"user": user, "course": course, "completed_on": completed_on,
            "expires_on": expires_on, "result": result, "certificate": certificate}


def import_records(session: Session, actor: Any, stream: BinaryIO, *,
                   today: date | None = None) -> ImportReport:
    """Import completions from CSV (UTF-8, with or without a BOM).

    Columns (any case): username, course, completed_on (YYYY-MM-DD), and optionally result,
    expires_on, certificate. A header without a required column is refused as a whole, nothing
    written. Each bad row is reported by line with its reason and writes nothing; the good rows
    go in, each in a savepoint of its own. A completion already recorded (same user, course and
    date) is counted as already there, so importing a file again adds nothing.
    """
    require(actor, PERMISSION)
    today = today or utcnow().date()
    reader = csvfiles.reader(stream)
    mapping, _unknown = csvfiles.header(reader, REQUIRED_COLUMNS, OPTIONAL_COLUMNS)
    report = ImportReport()
    lookups = _Lookups(session)
    audit.lock(session)  # in this transaction, before the savepoints (see audit.lock)
    for row in csvfiles.numbered(reader, mapping):
        if isinstance(row, csvfiles.Unreadable):
            report.errors.append(RowError(row.line, row.reason))
            break
        line, raw = row.line, row.values
        report.rows += 1
        if row.extra_cells:
            report.errors.append(RowError(line, "more cells than header columns"))
            continue
        try:
            fields_ = _clean_row(raw, lookups, today)
        except _RowInvalid as exc:
            report.errors.append(RowError(line, str(exc)))
            continue
        if existing(session, fields_["user"].id, fields_["course"].id,
                     fields_["completed_on"]) is not None:
            report.already_there += 1
            continue
        try:
            with session.begin_nested():
                insert(session, actor, source=RecordSource.IMPORT.value, **fields_)
        except DBAPIError as exc:
            report.errors.append(RowError(line, csvfiles.refusal(exc)))
            continue
        report.created += 1
    return report
