"""/api/v1/training: refreshers due and overdue, importing completions from CSV, courses and
their effect, sessions with enrolment and attendance, one person's training; the same services
and scope as the pages and the ``qm training`` commands."""

from __future__ import annotations

import io
from typing import Any

from flask import abort, request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from competencies.training import effect, queries, services, sessions
from competencies.training.models import Attendance, Course, CourseKind, TrainingSession
from qm.auth.access import api_permission, api_user
from qm.auth.models import User
from qm.auth.permissions import ALL, can, scope_for
from qm.inputs import Count, Id, Text
from qm.timestamps import today_in
from qm.web import api_error, db

blp = Blueprint("api-training", __name__, url_prefix="/api/v1",
                description="Training records and refreshers (ISO 18295-1 6.4)")


class DueQuery(Schema):
    team_id = Id(load_default=None)
    as_of = fields.Date(load_default=None, metadata={"description": "default: today"})


@blp.get("/training/due")
@api_permission("skills.view")
@blp.arguments(DueQuery, location="query")
@blp.response(200, description="overdue first, then due within 30 days, for those one sees")
def due(query: dict[str, Any]) -> Any:
    user = api_user()
    rows = queries.due_list(db.session, as_of=query["as_of"] or today_in(user.timezone),
                            team_id=query["team_id"], visible_to=user)
    return [row.as_dict() for row in rows]


@blp.post("/training/import")
@api_permission("skills.manage")
@blp.response(200, description="rows, created, already_there, and each bad row by line")
@blp.doc(requestBody={"content": {"text/csv": {"schema": {"type": "string"}}}})
def import_records() -> Any:
    """Import completions from a CSV sent as the body (username, course, completed_on[,
    result, expires_on, certificate]); bad rows come back with their line and reason."""
    report = services.import_records(db.session, api_user(), io.BytesIO(request.get_data()))
    db.session.commit()
    return {"rows": report.rows, "created": report.created,
            "already_there": report.already_there,
            "errors": [{"line": e.line, "reason": e.reason} for e in report.errors]}


# --- courses and their effect -----------------------------------------------------------------


class CourseSchema(Schema):
    name = Text(required=True, validate=validate.Length(max=120))
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in CourseKind]))
    refresh_months = Count(1, 120, load_default=None, allow_none=True)
    competencies = fields.List(Text(validate=validate.Length(max=32)), load_default=list,
                               validate=validate.Length(max=200))
    description = fields.Str(load_default="", validate=validate.Length(max=4000))
    active = fields.Bool(load_default=True)


def _course_out(course: Course) -> dict[str, Any]:
    return {"id": course.id, "name": course.name, "kind": course.kind,
            "refresh_months": course.refresh_months, "competencies": list(course.competencies),
            "description": course.description, "active": course.active,
            "version": course.version}


def _effect_out(found: effect.Effect) -> dict[str, Any]:
    return {"pairs": found.pairs, "waiting": found.waiting, "improved": found.improved,
            "unchanged": found.unchanged, "declined": found.declined,
            "mean_before": found.mean_before, "mean_after": found.mean_after,
            "mean_change": found.mean_change}


@blp.get("/training/courses")
@api_permission("skills.view")
@blp.response(200, description="every course")
def courses() -> Any:
    return [_course_out(c) for c in queries.courses(db.session)]


@blp.post("/training/courses")
@api_permission("skills.manage")
@blp.arguments(CourseSchema)
@blp.response(201, description="the course created")
def create_course(data: dict[str, Any]) -> Any:
    course = services.save_course(db.session, api_user(), data)
    db.session.commit()
    return _course_out(course)


def _course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(api_error(404, f"Course {course_id} does not exist."))
    return course


@blp.get("/training/courses/<int:course_id>/effect")
@api_permission("skills.view")
@blp.response(200, description="assessed levels before and after the course's sessions")
def course_effect(course_id: int) -> Any:
    """For everyone who attended a held session of the course, on each competency it develops:
    the latest assessed level on or before the session, and the latest within 180 days after.
    Means are over complete pairs; ``waiting`` counts pairs without both."""
    found = queries.course_effect(db.session, _course(course_id), visible_to=api_user())
    return {"course_id": course_id, "window_days": found.window_days,
            "overall": _effect_out(found.overall),
            "by_competency": {code: _effect_out(e) for code, e in found.by_code.items()},
            "by_session": {str(key): _effect_out(e) for key, e in found.by_session.items()}}


# --- sessions ---------------------------------------------------------------------------------


class TrainingSessionSchema(Schema):
    course_id = Id(required=True)
    held_on = fields.Date(required=True)
    trainer = fields.Str(load_default="", validate=validate.Length(max=120))
    location = fields.Str(load_default="", validate=validate.Length(max=120))
    capacity = Count(1, 500, load_default=None, allow_none=True)
    notes = fields.Str(load_default="", validate=validate.Length(max=2000))


class EnrolSchema(Schema):
    user_ids = fields.List(Id(), required=True, validate=validate.Length(min=1, max=500))


class AttendanceMarkSchema(Schema):
    user_id = Id(required=True)
    status = fields.Str(required=True, validate=validate.OneOf(
        [Attendance.ATTENDED.value, Attendance.ABSENT.value]))
    result = fields.Str(load_default="", validate=validate.Length(max=40))


class AttendanceSchema(Schema):
    marks = fields.List(fields.Nested(AttendanceMarkSchema), required=True,
                        validate=validate.Length(min=1, max=500))


def _session_out(item: TrainingSession, viewer: Any) -> dict[str, Any]:
    return {"id": item.id, "course_id": item.course_id, "course": item.course.name,
            "held_on": item.held_on.isoformat(), "trainer": item.trainer,
            "location": item.location, "capacity": item.capacity, "notes": item.notes,
            "status": item.status, "enrolled": len(item.attendees),
            "attendees": [{"user_id": a.user_id, "username": a.user.username,
                           "status": a.status, "result": a.result, "record_id": a.record_id}
                          for a in item.attendees if can(viewer, "skills.view", a.user)]}


def _visible_session(session_id: int) -> TrainingSession:
    item = db.session.get(TrainingSession, session_id)
    user = api_user()
    if item is None or not (scope_for(user, "skills.view") is ALL or any(
            can(user, "skills.view", a.user) for a in item.attendees)):
        abort(api_error(404, f"Training session {session_id} does not exist or is not "
                             f"visible to you."))
    return item


@blp.get("/training/sessions")
@api_permission("skills.view")
@blp.response(200, description="sessions the caller may see, the latest first")
def list_sessions() -> Any:
    user = api_user()
    return [_session_out(s, user) for s in queries.sessions(db.session, visible_to=user)]


@blp.post("/training/sessions")
@api_permission("skills.manage")
@blp.arguments(TrainingSessionSchema)
@blp.response(201, description="the session scheduled")
def schedule(data: dict[str, Any]) -> Any:
    item = sessions.schedule(db.session, api_user(), data)
    db.session.commit()
    return _session_out(item, api_user())


@blp.get("/training/sessions/<int:session_id>")
@api_permission("skills.view")
@blp.response(200, description="the session and its attendees")
def get_session(session_id: int) -> Any:
    return _session_out(_visible_session(session_id), api_user())


@blp.post("/training/sessions/<int:session_id>/enrolments")
@api_permission("skills.manage")
@blp.arguments(EnrolSchema)
@blp.response(200, description="the ids newly enrolled, and the session")
def enrol(data: dict[str, Any], session_id: int) -> Any:
    added = sessions.enrol(db.session, api_user(), session_id, data["user_ids"])
    db.session.commit()
    return {"enrolled": added, "session": _session_out(sessions.get(db.session, session_id),
                                                       api_user())}


@blp.post("/training/sessions/<int:session_id>/attendance")
@api_permission("skills.manage")
@blp.arguments(AttendanceSchema)
@blp.response(200, description="the session, held, with its attendance")
def attendance(data: dict[str, Any], session_id: int) -> Any:
    """Attended or absent per enrolled person; attending writes the training record of the
    session's day. Checked whole: one bad mark and nothing is written."""
    user = api_user()
    marks = {m["user_id"]: (m["status"], m["result"]) for m in data["marks"]}
    item = sessions.record_attendance(db.session, user, session_id, marks,
                                      today=today_in(user.timezone))
    db.session.commit()
    return _session_out(item, user)


@blp.get("/training/people/<int:user_id>")
@api_permission("skills.view")
@blp.response(200, description="the person's courses with refresher dates")
def person(user_id: int) -> Any:
    user = db.session.get(User, user_id)
    if user is None or not can(api_user(), "skills.view", user):
        abort(api_error(404, f"User {user_id} does not exist or is not visible to you."))
    as_of = today_in(api_user().timezone)
    return {"user_id": user.id, "as_of": as_of.isoformat(), "courses": [
        {"course_id": c.course.id, "course": c.course.name,
         "completed_on": c.completed_on.isoformat(), "result": c.result,
         "due_on": c.due_on.isoformat() if c.due_on else None, "status": c.status}
        for c in queries.person_training(db.session, user.id, as_of)]}
