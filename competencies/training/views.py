"""Training pages: refreshers due and overdue, courses and their effect, sessions with their
attendance, a completion entered by hand, the CSV import, and one person's training."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from competencies.frameworks import queries as framework_queries
from competencies.training import due, queries, services, sessions
from competencies.training.forms import (
    ActionForm,
    CourseForm,
    EnrolForm,
    RecordForm,
    RecordsImportForm,
    SessionForm,
)
from competencies.training.models import Attendance, Course, SessionStatus
from qm.auth.access import permission_required
from qm.auth.models import Team, User
from qm.auth.permissions import ALL, can, scope_clause, scope_for
from qm.auth.queries import visible_teams
from qm.errors import InvalidInput
from qm.inputs import BadInput, id_arg, version_of
from qm.spreadsheets import export_format, table_response
from qm.timestamps import today_in
from qm.web import db, import_page, save_form

bp = Blueprint("training", __name__)


def _teams() -> list[Team]:
    return visible_teams(db.session, current_user)


def _people() -> list[User]:
    """Active people whose training records the current user may see."""
    return list(db.session.scalars(
        select(User).where(User.active.is_(True),
                           scope_clause(current_user, "skills.view", User.id, User.team_id))
        .order_by(User.display_name)))


def _course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return course


def _today() -> Any:
    return today_in(current_user.timezone)


@bp.get("/training")
@permission_required("skills.view")
def due_page() -> Any:
    as_of = _today()
    team_id = id_arg(request.args, "team_id")
    rows = queries.due_list(db.session, as_of=as_of, team_id=team_id, visible_to=current_user)
    return render_template("competencies/training/due.html", rows=rows, as_of=as_of,
                           teams=_teams(), team_id=team_id, soon_days=due.DUE_SOON_DAYS,
                           upcoming=queries.sessions(db.session, upcoming_from=as_of,
                                                     visible_to=current_user))


def _as_of() -> tuple[dt.date, list[str]]:
    """``?as_of=YYYY-MM-DD`` (default: today), and a message when it could not be used (the
    page says so and shows today instead)."""
    raw = (request.args.get("as_of") or "").strip()
    today = _today()
    if not raw:
        return today, []
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2100:
        return today, [f"The day {raw[:20]!r} is not a date written YYYY-MM-DD; showing "
                       f"{today}."]
    return day, []


def _r(value: float | None, digits: int = 1) -> float | None:
    """A figure rounded as the page shows it, so that an export matches the screen."""
    return None if value is None else round(value, digits)


@bp.get("/training/compliance")
@permission_required("skills.view")
def compliance_page() -> Any:
    """Refresher compliance on a day (``?as_of=``, today by default): per course with a
    refresher interval, its holders in date, due soon and overdue; and the same for all
    courses together at the end of each of the last 12 months. ``?team_id=`` narrows the
    people; ``?format=csv|xlsx`` with ``?table=courses|trend`` downloads a table."""
    as_of, problems = _as_of()
    team_id = id_arg(request.args, "team_id")
    fmt = export_format(request.args)
    table = request.args.get("table") or "courses"
    if fmt and table not in ("courses", "trend"):
        raise BadInput(f"The parameter 'table' is courses or trend, not {table[:20]!r}.")
    if fmt:
        if table == "trend":
            return table_response(
                fmt, f"refresher-compliance-trend-to-{as_of}", "Refresher compliance trend",
                ["month", "on", "holdings", "in date", "due soon", "overdue", "compliance %"],
                ([p.month, p.on, p.n, p.current, p.due_soon, p.overdue, _r(p.rate)]
                 for p in queries.compliance_trend(db.session, as_of=as_of, team_id=team_id,
                                                   visible_to=current_user)))
        return table_response(
            fmt, f"refresher-compliance-{as_of}", "Refresher compliance",
            ["course", "refresh months", "holders", "in date", "due soon", "overdue",
             "compliance %"],
            ([c.course, c.refresh_months, c.holders, c.current, c.due_soon, c.overdue,
              _r(c.rate)]
             for c in queries.refresher_compliance(db.session, as_of=as_of, team_id=team_id,
                                                   visible_to=current_user)),
            widths=[32, 10, 10, 10, 10, 10, 12])
    courses = queries.refresher_compliance(db.session, as_of=as_of, team_id=team_id,
                                           visible_to=current_user)
    trend = queries.compliance_trend(db.session, as_of=as_of, team_id=team_id,
                                     visible_to=current_user)
    held = [c for c in courses if c.holders]
    return render_template(
        "competencies/training/compliance.html", as_of=as_of, problems=problems,
        teams=_teams(), team_id=team_id, soon_days=due.DUE_SOON_DAYS, courses=courses,
        chart=[{"text": c.course, "value": c.rate} for c in held], trend=trend,
        total=trend[-1])


# --- courses ----------------------------------------------------------------------------------


@bp.get("/training/courses")
@permission_required("skills.view")
def courses() -> Any:
    return render_template("competencies/training/courses.html",
                           courses=queries.courses(db.session))


def _code_choices() -> list[tuple[str, str]]:
    out = []
    for framework in framework_queries.frameworks(db.session):
        if framework.versions:
            parsed = framework_queries.parsed(framework_queries.version_of(framework))
            out += [(c.code, f"{c.code} {c.name}") for c in parsed.competencies]
    return out


def _course_form_page(form: CourseForm, course: Course | None, status: int) -> Any:
    return render_template("competencies/training/course_form.html", form=form,
                           course=course), status


def _save_course(form: CourseForm, course: Course | None) -> Any:
    choices = _code_choices()
    form.competencies.choices = choices + [(c, c) for c in (form.competencies.data or [])
                                           if c not in dict(choices)]

    def write() -> Course:
        return services.save_course(
            db.session, current_user,
            {"name": form.name.data, "kind": form.kind.data,
             "refresh_months": form.refresh_months.data,
             "competencies": list(form.competencies.data or []),
             "description": form.description.data or "", "active": bool(form.active.data)},
            course_id=course.id if course else None,
            expected_version=version_of(form) if course else None)

    outcome = save_form(form, write,
                        lambda saved: redirect(url_for("training.course", course_id=saved.id)),
                        lambda saved: f"Saved the course {saved.name!r}.")
    if isinstance(outcome, int):
        return _course_form_page(form, course, outcome)
    return outcome


@bp.route("/training/courses/new", methods=["GET", "POST"])
@permission_required("skills.manage")
def new_course() -> Any:
    return _save_course(CourseForm(), None)


@bp.route("/training/courses/<int:course_id>/edit", methods=["GET", "POST"])
@permission_required("skills.manage")
def edit_course(course_id: int) -> Any:
    course = _course(course_id)
    form = CourseForm(obj=course if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = str(course.version)
    return _save_course(form, course)


@bp.get("/training/courses/<int:course_id>")
@permission_required("skills.view")
def course(course_id: int) -> Any:
    item = _course(course_id)
    return render_template(
        "competencies/training/course.html", course=item,
        sessions=queries.sessions(db.session, course_id=item.id, visible_to=current_user),
        effect=queries.course_effect(db.session, item, visible_to=current_user),
        action=ActionForm())


# --- sessions ---------------------------------------------------------------------------------


@bp.get("/training/sessions")
@permission_required("skills.view")
def sessions_page() -> Any:
    as_of = _today()
    every = queries.sessions(db.session, visible_to=current_user)
    return render_template(
        "competencies/training/sessions.html", as_of=as_of,
        upcoming=[s for s in reversed(every) if s.status == SessionStatus.PLANNED.value
                  and s.held_on >= as_of],
        past=[s for s in every if s.status != SessionStatus.PLANNED.value
              or s.held_on < as_of])


def _session_form_page(form: SessionForm, item: Any, status: int) -> Any:
    return render_template("competencies/training/session_form.html", form=form,
                           item=item), status


def _save_session(form: SessionForm, item: Any) -> Any:
    form.course_id.choices = [(c.id, c.name) for c in queries.courses(db.session)
                              if c.active or (item and c.id == item.course_id)]

    def write() -> Any:
        values = {"course_id": form.course_id.data, "held_on": form.held_on.data,
                  "trainer": form.trainer.data, "location": form.location.data,
                  "capacity": form.capacity.data, "notes": form.notes.data or ""}
        return sessions.schedule(db.session, current_user, values,
                                 session_id=item.id if item else None,
                                 expected_version=version_of(form) if item else None)

    outcome = save_form(form, write,
                        lambda saved: redirect(url_for("training.session", session_id=saved.id)),
                        lambda saved: f"Scheduled {saved.course.name} on {saved.held_on}.")
    if isinstance(outcome, int):
        return _session_form_page(form, item, outcome)
    return outcome


@bp.route("/training/sessions/new", methods=["GET", "POST"])
@permission_required("skills.manage")
def new_session() -> Any:
    form = SessionForm()
    if request.method == "GET":
        form.course_id.data = id_arg(request.args, "course_id")
    return _save_session(form, None)


@bp.route("/training/sessions/<int:session_id>/edit", methods=["GET", "POST"])
@permission_required("skills.manage")
def edit_session(session_id: int) -> Any:
    item = sessions.get(db.session, session_id)
    form = SessionForm(obj=item if request.method == "GET" else None)
    if request.method == "GET":
        form.version.data = str(item.version)
    return _save_session(form, item)


def _visible_session(session_id: int) -> Any:
    item = sessions.get(db.session, session_id)
    if scope_for(current_user, "skills.view") is not ALL and not any(
            can(current_user, "skills.view", a.user) for a in item.attendees):
        abort(404)
    return item


def _session_page(item: Any, enrol_form: EnrolForm | None = None, status: int = 200) -> Any:
    enrolled = {a.user_id for a in item.attendees}
    if enrol_form is None:
        enrol_form = EnrolForm(formdata=None)
    enrol_form.user_ids.choices = [(u.id, f"{u.display_name} ({u.username})")
                                   for u in _people() if u.id not in enrolled]
    enrol_form.team_id.choices = [(0, "-")] + [(t.id, t.name) for t in _teams()]
    attendees = [a for a in item.attendees if can(current_user, "skills.view", a.user)]
    return render_template(
        "competencies/training/session.html", item=item, attendees=attendees,
        enrol_form=enrol_form, action=ActionForm(), today=_today(),
        marks=[Attendance.ATTENDED.value, Attendance.ABSENT.value],
        effect=queries.course_effect(db.session, item.course, visible_to=current_user)
        .by_session.get(item.id)), status


@bp.get("/training/sessions/<int:session_id>")
@permission_required("skills.view")
def session(session_id: int) -> Any:
    return _session_page(_visible_session(session_id))


def _back(item: Any) -> Any:
    return redirect(url_for("training.session", session_id=item.id))


@bp.post("/training/sessions/<int:session_id>/enrol")
@permission_required("skills.manage")
def enrol(session_id: int) -> Any:
    item = sessions.get(db.session, session_id)
    form = EnrolForm()
    form.user_ids.choices = [(u.id, u.username) for u in _people()]
    form.team_id.choices = [(0, "-")] + [(t.id, t.name) for t in _teams()]

    def write() -> list[int]:
        ids = list(form.user_ids.data or [])
        if form.team_id.data:
            ids += [u.id for u in _people() if u.team_id == form.team_id.data]
        if not ids:
            raise InvalidInput("Choose people or a team to enrol.", {"user_ids": "Required."})
        return sessions.enrol(db.session, current_user, item.id, ids)

    outcome = save_form(form, write, lambda _added: _back(item),
                        lambda added: f"Enrolled {len(added)}.")
    if isinstance(outcome, int):
        return _session_page(item, form, outcome)
    return outcome


def _post(item: Any, write: Any, message: str) -> Any:
    form = ActionForm()
    outcome = save_form(form, write, lambda _result: _back(item), message)
    if isinstance(outcome, int):
        return _session_page(item, status=outcome)
    return outcome


@bp.post("/training/sessions/<int:session_id>/unenrol/<int:user_id>")
@permission_required("skills.manage")
def unenrol(session_id: int, user_id: int) -> Any:
    item = sessions.get(db.session, session_id)
    return _post(item, lambda: sessions.unenrol(db.session, current_user, item.id, user_id),
                 "Taken off the session.")


@bp.post("/training/sessions/<int:session_id>/cancel")
@permission_required("skills.manage")
def cancel(session_id: int) -> Any:
    item = sessions.get(db.session, session_id)
    return _post(item, lambda: sessions.cancel(db.session, current_user, item.id),
                 "Session cancelled.")


@bp.post("/training/sessions/<int:session_id>/attendance")
@permission_required("skills.manage")
def attendance(session_id: int) -> Any:
    """Per enrolled person, ``mark-<user id>`` (attended, absent, or empty: not yet) and
    ``result-<user id>``."""
    item = sessions.get(db.session, session_id)
    marks = {}
    for attendee in item.attendees:
        mark = request.form.get(f"mark-{attendee.user_id}", "")
        if mark:
            marks[attendee.user_id] = (mark, request.form.get(f"result-{attendee.user_id}", ""))

    def write() -> Any:
        if not marks:
            raise InvalidInput("Mark at least one person as attended or absent.")
        return sessions.record_attendance(db.session, current_user, item.id, marks,
                                          today=_today())

    return _post(item, write, "Attendance recorded.")


# --- completions ------------------------------------------------------------------------------


@bp.route("/training/records/new", methods=["GET", "POST"])
@permission_required("skills.manage")
def new_record() -> Any:
    """A completion entered by hand (a course taken elsewhere, a certificate brought in)."""
    form = RecordForm()
    form.user_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in _people()]
    form.course_id.choices = [(c.id, c.name) for c in queries.courses(db.session) if c.active]
    if request.method == "GET":
        form.user_id.data = id_arg(request.args, "user_id")
        form.completed_on.data = _today()

    def write() -> Any:
        return services.record_completion(
            db.session, current_user, user_id=form.user_id.data, course_id=form.course_id.data,
            completed_on=form.completed_on.data, result=form.result.data or "",
            expires_on=form.expires_on.data, certificate=form.certificate.data or "",
            today=_today())

    outcome = save_form(form, write,
                        lambda saved: redirect(url_for("training.person",
                                                       user_id=saved.user_id)),
                        lambda saved: f"Recorded {saved.course.name} on {saved.completed_on}.")
    if isinstance(outcome, int):
        return render_template("competencies/training/record_form.html", form=form), outcome
    return outcome


@bp.route("/training/import", methods=["GET", "POST"])
@permission_required("skills.manage")
def import_records() -> Any:
    """Completions from a CSV file, as `qm training import` and the API take them."""
    form = RecordsImportForm()
    report, status = import_page(
        form, lambda: services.import_records(db.session, current_user, form.file.data.stream,
                                              today=_today()),
        lambda report: f"{report.created} recorded, {report.already_there} already there, "
                       f"{len(report.errors)} rows with errors.")
    return render_template("competencies/training/import.html", form=form,
                           report=report), status


@bp.get("/training/people/<int:user_id>")
@permission_required("skills.view")
def person(user_id: int) -> Any:
    """One person's courses with their refresher dates, and the sessions they are booked on."""
    user = db.session.get(User, user_id)
    if user is None or not can(current_user, "skills.view", user):
        abort(404)
    as_of = _today()
    booked = [s for s in queries.sessions(db.session, upcoming_from=as_of)
              if any(a.user_id == user.id for a in s.attendees)]
    return render_template("competencies/training/person.html", person=user, as_of=as_of,
                           courses=queries.person_training(db.session, user.id, as_of),
                           booked=booked)
