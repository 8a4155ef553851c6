"""Coaching pages: the coaching log (per agent, per team, with open action items; as a CSV, an
XLSX and a document to print), opening and editing a session, holding or cancelling it,
agreeing and closing action items, the agent's acknowledgement, and whether coaching
worked."""

from __future__ import annotations

import csv
import io
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from competencies.coaching import effect, queries, services, suggest
from competencies.coaching.forms import (
    AcknowledgeForm,
    ActionForm,
    ButtonForm,
    HoldForm,
    SessionForm,
)
from competencies.coaching.models import CoachingSession, CoachingStatus
from qm.auth.access import permission_required
from qm.auth.models import User, UserRole
from qm.auth.permissions import Role, can, scope_clause
from qm.auth.queries import visible_teams
from qm.db import utcnow
from qm.errors import InvalidInput
from qm.inputs import BadInput, id_arg
from qm.spreadsheets import export_format, safe_csv_cell, table_response, xlsx_response
from qm.timestamps import today_in
from qm.web import db, save_form

bp = Blueprint("coaching", __name__)
STATUSES = [s.value for s in CoachingStatus]


def _version(raw: Any) -> int | None:
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _coachable() -> list[User]:
    """Active agents the current user may coach."""
    return list(db.session.scalars(
        select(User).join(UserRole).where(
            UserRole.role == Role.AGENT.value, User.active, User.id != current_user.id,
            scope_clause(current_user, "coaching.manage", User.id, User.team_id))
        .order_by(User.display_name)))


def _filters() -> dict[str, Any]:
    status = request.args.get("status") or None
    if status is not None and status not in STATUSES:
        abort(400)
    return {"agent_id": id_arg(request.args, "agent_id"),
            "team_id": id_arg(request.args, "team_id"), "status": status}


@bp.get("/coaching")
@permission_required("coaching.view")
def log_page() -> Any:
    """The log with its open action items; ``?print=1``: the same sessions as a document to
    print or keep as evidence (every session whole: notes, action items, the agent's
    acknowledgement), without navigation."""
    filters = _filters()
    teams = visible_teams(db.session, current_user)
    sessions = queries.log(db.session, current_user, **filters)
    agent = db.session.get(User, filters["agent_id"]) if filters["agent_id"] else None
    filter_args = {name: value for name, value in filters.items() if value is not None}
    as_of = today_in(current_user.timezone)
    if request.args.get("print") == "1":
        return render_template(
            "competencies/coaching/log_print.html", sessions=sessions, agent=agent,
            team=next((t for t in teams if t.id == filters["team_id"]), None),
            filters=filters, filter_args=filter_args, as_of=as_of, printed_at=utcnow())
    return render_template(
        "competencies/coaching/log.html", sessions=sessions,
        actions=queries.open_actions(db.session, current_user, as_of=as_of), as_of=as_of,
        teams=teams, statuses=STATUSES, filters=filters, filter_args=filter_args,
        agent=agent, may_open=can(current_user, "coaching.manage"))


def _r(value: float | None, digits: int = 1) -> float | None:
    """A figure rounded as the page shows it, so that an export matches the screen."""
    return None if value is None else round(value, digits)


def _share_chart(shares: dict[str, effect.Share]) -> list[dict[str, Any]]:
    """The rows of a share chart: only those with a share (enough judged sessions)."""
    return [{"text": name, "value": 100 * s.share} for name, s in shares.items()
            if s.share is not None]


def _effectiveness_export(fmt: str, found: queries.Effectiveness, days: int) -> Any:
    """One of the page's tables (``?table=sessions|coaches|teams``), as the page shows it."""
    table = request.args.get("table") or "sessions"
    if table not in ("sessions", "coaches", "teams"):
        raise BadInput(f"The parameter 'table' is sessions, coaches or teams, not "
                       f"{table[:20]!r}.")
    name = f"coaching-effectiveness-{days}-days"
    if table in ("coaches", "teams"):
        shares, per = ((found.by_coach, "coach") if table == "coaches"
                       else (found.by_team, "team"))
        return table_response(
            fmt, f"{name}-{table}", f"Coaching effect per {per}",
            [per, "judged sessions", "improved",
             "share improved %", "not judged", "note"],
            ([label, s.n, s.improved, _r(100 * s.share, 0) if s.share is not None else None,
              s.left_out, s.reason] for label, s in shares.items()),
            widths=[24, 10, 10, 12, 10, 60])
    return table_response(
        fmt, name, "Coaching sessions and their effect",
        ["session", "held on", "agent", "agent name", "team", "coach", "n before",
         "mean before", "n after", "mean after", "change", "95% CI low", "95% CI high",
         "verdict"],
        ([item.id, item.held_on, item.agent.username, item.agent.display_name,
          item.agent.team.name if item.agent.team else "",
          item.coach.display_name if item.coach else "", e.n_before, _r(e.mean_before),
          e.n_after, _r(e.mean_after), _r(e.difference), _r(e.ci_low), _r(e.ci_high),
          e.verdict] for item, e in found.sessions),
        widths=[9, 12, 16, 22, 16, 22, 9, 11, 9, 11, 9, 11, 11, 16])


@bp.get("/coaching/effectiveness")
@permission_required("coaching.view")
def effectiveness_page() -> Any:
    """Each held session's verdict (scores on its focus ``?days=`` before and after, 30 by
    default), and the share of sessions followed by improvement per coach and per team, each
    drawn as bars beside its table; ``?format=csv|xlsx`` with ``?table=sessions|coaches|
    teams`` downloads a table."""
    team_id = id_arg(request.args, "team_id")
    days = id_arg(request.args, "days", maximum=queries.MAX_WINDOW_DAYS) or effect.WINDOW_DAYS
    fmt = export_format(request.args)
    found = queries.effectiveness(db.session, current_user, team_id=team_id, days=days)
    if fmt:
        return _effectiveness_export(fmt, found, days)
    teams = visible_teams(db.session, current_user)
    return render_template("competencies/coaching/effectiveness.html", team_id=team_id,
                           teams=teams, days=days, max_days=queries.MAX_WINDOW_DAYS,
                           default_days=effect.WINDOW_DAYS, found=found,
                           charts={"by-coach": _share_chart(found.by_coach),
                                   "by-team": _share_chart(found.by_team)})


@bp.get("/coaching/suggestions")
@permission_required("coaching.manage")
def suggestions_page() -> Any:
    """Agents whose recent scores on a question or a competency call for coaching, with the
    evidence, and a link that plans the session."""
    return render_template("competencies/coaching/suggestions.html", rules=suggest,
                           found=queries.suggestions(db.session, current_user,
                                                     as_of=today_in(current_user.timezone)))


@bp.get("/coaching/log.csv")
@permission_required("coaching.view")
def log_csv() -> Any:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["session", "agent", "planned_on", "held_on", "status", "kind", "source",
                     "focus_questions", "focus_competencies", "actions", "actions_open",
                     "acknowledged_at", "notes"])
    for s in queries.log(db.session, current_user, **_filters()):
        writer.writerow([s.id, s.agent.username, s.planned_on, s.held_on or "", s.status,
                         s.kind, s.source, " ".join(s.focus_questions),
                         " ".join(s.focus_competencies), len(s.actions),
                         sum(a.done_at is None for a in s.actions),
                         s.agent_acknowledged_at.isoformat() if s.agent_acknowledged_at
                         else "", safe_csv_cell(s.notes)])
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="coaching-log.csv"'})


@bp.get("/coaching/log.xlsx")
@permission_required("coaching.view")
def log_xlsx() -> Any:
    """The CSV's rows and columns, with the agent's name and the coach's beside the username;
    dates are dates, and the acknowledgement is in the viewer's time zone (named in its
    header), as the pages show it."""
    zone = current_user.timezone or "UTC"
    local = ZoneInfo(zone)
    rows = ([s.id, s.agent.username, s.agent.display_name,
             s.coach.display_name if s.coach else "", s.planned_on, s.held_on, s.status,
             s.kind, s.source, " ".join(s.focus_questions), " ".join(s.focus_competencies),
             len(s.actions), sum(a.done_at is None for a in s.actions),
             s.agent_acknowledged_at.astimezone(local).replace(tzinfo=None)
             if s.agent_acknowledged_at else None, s.notes]
            for s in queries.log(db.session, current_user, **_filters()))
    return xlsx_response(
        "coaching-log.xlsx", "Coaching log",
        ["session", "agent", "agent_name", "coach", "planned_on", "held_on", "status", "kind",
         "source", "focus_questions", "focus_competencies", "actions", "actions_open",
         f"acknowledged_at ({zone})", "notes"], rows,
        widths=[9, 16, 22, 22, 12, 12, 11, 18, 12, 20, 20, 9, 12, 20, 60])


def _split(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _form_page(form: SessionForm, item: CoachingSession | None, status: int) -> Any:
    return render_template("competencies/coaching/form.html", form=form, item=item), status


@bp.route("/coaching/new", methods=["GET", "POST"])
@permission_required("coaching.manage")
def new_session() -> Any:
    """Open a session; ``?agent_id=`` and ``?evaluation_id=`` (repeatable) fill it in, as the
    buttons on an evaluation and on the skills profile do."""
    form = SessionForm()
    form.agent_id.choices = [(u.id, f"{u.display_name} ({u.username})") for u in _coachable()]
    if request.method == "GET":
        form.agent_id.data = id_arg(request.args, "agent_id")
        evaluations = [int(v) for v in request.args.getlist("evaluation_id") if v.isdigit()]
        if evaluations:
            form.source.data, form.evaluation_ids.data = "evaluation", ",".join(
                str(i) for i in evaluations)
        if request.args.get("competency"):
            form.source.data = "gap"
            form.focus_competencies.data = request.args["competency"][:64]
        if request.args.get("question"):
            form.focus_questions.data = request.args["question"][:64]
        form.planned_on.data = today_in(current_user.timezone)

    def write() -> CoachingSession:
        try:
            evaluation_ids = [int(v) for v in _split(form.evaluation_ids.data)]
        except ValueError:
            raise InvalidInput("The evaluations are a list of ids.") from None
        return services.open_session(db.session, current_user, form.agent_id.data, {
            "kind": form.kind.data, "planned_on": form.planned_on.data,
            "source": form.source.data or "ad_hoc", "evaluation_ids": evaluation_ids,
            "focus_questions": _split(form.focus_questions.data),
            "focus_competencies": _split(form.focus_competencies.data),
            "notes": form.notes.data or ""})

    outcome = save_form(form, write, lambda saved: redirect(
        url_for("coaching.session", session_id=saved.id)), "Coaching session planned.")
    return _form_page(form, None, outcome) if isinstance(outcome, int) else outcome


@bp.route("/coaching/<int:session_id>/edit", methods=["GET", "POST"])
@permission_required("coaching.manage")
def edit_session(session_id: int) -> Any:
    item = services.get(db.session, current_user, session_id, "coaching.manage")
    form = SessionForm(obj=item if request.method == "GET" else None)
    del form.agent_id  # a session stays the agent's it was opened for
    if request.method == "GET":
        form.focus_questions.data = ", ".join(item.focus_questions)
        form.focus_competencies.data = ", ".join(item.focus_competencies)
        form.version.data = str(item.version)

    def write() -> CoachingSession:
        return services.update_session(db.session, current_user, item.id, {
            "kind": form.kind.data, "planned_on": form.planned_on.data,
            "focus_questions": _split(form.focus_questions.data),
            "focus_competencies": _split(form.focus_competencies.data),
            "notes": form.notes.data or ""}, expected_version=_version(form.version.data))

    outcome = save_form(form, write, lambda saved: redirect(
        url_for("coaching.session", session_id=saved.id)), "Saved.")
    return _form_page(form, item, outcome) if isinstance(outcome, int) else outcome


def _detail(item: CoachingSession, status: int = 200, action_form: ActionForm | None = None,
            hold_form: HoldForm | None = None) -> Any:
    today = today_in(current_user.timezone)
    if action_form is None:
        action_form = ActionForm(formdata=None, due_on=today)
    owners = {item.agent_id: item.agent}
    if current_user.id != item.agent_id:
        owners[current_user.id] = current_user
    action_form.owner_id.choices = [(u.id, u.display_name) for u in owners.values()]
    if hold_form is None:
        hold_form = HoldForm(formdata=None, held_on=min(today, max(item.planned_on, today)),
                             version=str(item.version))
    return render_template(
        "competencies/coaching/session.html", item=item, today=today,
        effect=queries.session_effect(db.session, item), days=effect.WINDOW_DAYS,
        may_manage=can(current_user, "coaching.manage", item),
        is_agent=current_user.id == item.agent_id, action_form=action_form,
        hold_form=hold_form, button=ButtonForm(formdata=None, version=str(item.version)),
        ack_form=AcknowledgeForm(formdata=None, comment=item.agent_comment)), status


@bp.get("/coaching/<int:session_id>")
@permission_required("coaching.view")
def session(session_id: int) -> Any:
    return _detail(services.get(db.session, current_user, session_id))


def _back(item: CoachingSession) -> Any:
    return redirect(url_for("coaching.session", session_id=item.id))


@bp.post("/coaching/<int:session_id>/held")
@permission_required("coaching.manage")
def hold(session_id: int) -> Any:
    item = services.get(db.session, current_user, session_id, "coaching.manage")
    form = HoldForm()
    outcome = save_form(form, lambda: services.hold(
        db.session, current_user, item.id, held_on=form.held_on.data,
        today=today_in(current_user.timezone), expected_version=_version(form.version.data)),
        lambda _saved: _back(item), "Recorded as held.")
    return _detail(item, outcome, hold_form=form) if isinstance(outcome, int) else outcome


@bp.post("/coaching/<int:session_id>/cancel")
@permission_required("coaching.manage")
def cancel(session_id: int) -> Any:
    item = services.get(db.session, current_user, session_id, "coaching.manage")
    form = ButtonForm()
    outcome = save_form(form, lambda: services.cancel(
        db.session, current_user, item.id, expected_version=_version(form.version.data)),
        lambda _saved: _back(item), "Session cancelled.")
    return _detail(item, outcome) if isinstance(outcome, int) else outcome


@bp.post("/coaching/<int:session_id>/actions")
@permission_required("coaching.manage")
def add_action(session_id: int) -> Any:
    item = services.get(db.session, current_user, session_id, "coaching.manage")
    form = ActionForm()
    form.owner_id.choices = [(item.agent_id, ""), (current_user.id, "")]
    outcome = save_form(form, lambda: services.add_action(
        db.session, current_user, item.id, text=form.text.data, owner_id=form.owner_id.data,
        due_on=form.due_on.data), lambda _saved: _back(item), "Action agreed.")
    return _detail(item, outcome, action_form=form) if isinstance(outcome, int) else outcome


@bp.post("/coaching/<int:session_id>/actions/<int:action_id>/done")
@permission_required("coaching.view")
def complete_action(session_id: int, action_id: int) -> Any:
    item = services.get(db.session, current_user, session_id)
    if not any(a.id == action_id for a in item.actions):
        abort(404)
    form = ButtonForm()
    outcome = save_form(form, lambda: services.complete_action(
        db.session, current_user, action_id), lambda _saved: _back(item), "Marked done.")
    return _detail(item, outcome) if isinstance(outcome, int) else outcome


@bp.post("/coaching/<int:session_id>/acknowledge")
@permission_required("coaching.view")
def acknowledge(session_id: int) -> Any:
    item = services.get(db.session, current_user, session_id)
    form = AcknowledgeForm()
    outcome = save_form(form, lambda: services.acknowledge(
        db.session, current_user, item.id, form.comment.data or ""),
        lambda _saved: _back(item), "Acknowledged.")
    return _detail(item, outcome) if isinstance(outcome, int) else outcome
