"""Skills pages: the matrix (agents x competencies, current level against required), an
agent's profile with gaps, QA evidence and history, recording an assessment, the CSV and XLSX
exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competencies.frameworks import queries as framework_queries
from competencies.frameworks.models import CompetencyFramework
from competencies.profiles import queries, services
from competencies.profiles.forms import AssessmentForm
from qm.auth.access import permission_required
from qm.auth.models import Team, User, UserRole
from qm.auth.permissions import Role, can, scope_clause
from qm.inputs import id_arg
from qm.web import db, save_form

bp = Blueprint("skills", __name__)


def _framework() -> CompetencyFramework | None:
    return queries.framework_for(db.session, id_arg(request.args, "framework"))


def _agents(team_id: int | None) -> list[User]:
    stmt = (select(User).join(UserRole).where(UserRole.role == Role.AGENT.value, User.active,
                                              scope_clause(current_user, "skills.view", User.id,
                                                           User.team_id))
            .options(selectinload(User.team)).order_by(User.display_name))
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    return list(db.session.scalars(stmt))


def _matrix(framework: CompetencyFramework, agents: list[User]) -> dict[str, Any]:
    parsed = framework_queries.parsed(framework_queries.version_of(framework))
    ids = [a.id for a in agents]
    return {"parsed": parsed, "agents": agents,
            "required": queries.required_levels(db.session, framework.id, ids),
            "current": queries.current_levels(db.session, framework.id, ids)}


@bp.get("/skills")
@permission_required("skills.view")
def matrix() -> Any:
    framework = _framework()
    if framework is None:
        return render_template("competencies/profiles/matrix.html", framework=None)
    team_id = id_arg(request.args, "team_id")
    teams = [t for t in db.session.scalars(select(Team).order_by(Team.name))
             if can(current_user, "team.view", t)]
    return render_template("competencies/profiles/matrix.html", framework=framework,
                           teams=teams, team_id=team_id, **_matrix(framework, _agents(team_id)))


def _cells(data: dict[str, Any]) -> Any:
    """Per agent, per competency: (agent, code, required or None, current or None, gap or
    None), gap being what the required level lacks (None where nothing is required)."""
    for agent in data["agents"]:
        required, current = data["required"][agent.id], data["current"][agent.id]
        for competency in data["parsed"].competencies:
            need, have = required.get(competency.code), current.get(competency.code)
            gap = None if need is None else max(0, need - (have or 0))
            yield agent, competency.code, need, have, gap


def _exported(suffix: str) -> tuple[CompetencyFramework, dict[str, Any], dict[str, str]]:
    framework = _framework()
    if framework is None:
        abort(404)
    data = _matrix(framework, _agents(id_arg(request.args, "team_id")))
    headers = {"Content-Disposition":
               f'attachment; filename="skills-matrix-{framework.id}.{suffix}"'}
    return framework, data, headers


@bp.get("/skills/matrix.csv")
@permission_required("skills.view")
def matrix_csv() -> Any:
    _framework_, data, headers = _exported("csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "name", "team", "competency", "required", "current", "gap"])
    for agent, code, need, have, gap in _cells(data):
        writer.writerow([agent.username, agent.display_name,
                         agent.team.name if agent.team else "", code,
                         "" if need is None else need, "" if have is None else have,
                         "" if gap is None else gap])
    return Response(out.getvalue(), mimetype="text/csv", headers=headers)


@bp.get("/skills/matrix.xlsx")
@permission_required("skills.view")
def matrix_xlsx() -> Any:
    """The matrix as the page shows it: a row per agent, a column per competency, each cell
    "current / required", gaps filled red, met requirements green."""
    from openpyxl import Workbook  # a large library: loaded when an export is asked for
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    framework, data, headers = _exported("xlsx")
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title="Skills matrix")
    codes = [c.code for c in data["parsed"].competencies]
    bold = Font(bold=True)
    fills = {"gap": PatternFill("solid", fgColor="F8D7DA"),
             "met": PatternFill("solid", fgColor="D1E7DD")}

    def cell(value: Any, kind: str | None = None, header: bool = False) -> WriteOnlyCell:
        out = WriteOnlyCell(sheet, value=value)
        if header:
            out.font = bold
        if kind is not None:
            out.fill = fills[kind]
        return out

    sheet.append([cell(v, header=True) for v in ["Agent", "Username", "Team", *codes]])
    row: list[Any] = []
    for agent, code, need, have, gap in _cells(data):
        if code == codes[0]:
            if row:
                sheet.append(row)
            row = [cell(agent.display_name), cell(agent.username),
                   cell(agent.team.name if agent.team else "")]
        text = ("-" if have is None else str(have)) + ("" if need is None else f" / {need}")
        row.append(cell(text, None if gap is None else ("gap" if gap else "met")))
    if row:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), headers=headers, mimetype=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


def _person_page(user: User, framework: CompetencyFramework, form: AssessmentForm | None = None,
                 status: int = 200) -> Any:
    parsed = framework_queries.parsed(framework_queries.version_of(framework))
    may_assess = can(current_user, "competency.assess", user) and current_user.id != user.id
    if form is None:
        form = AssessmentForm(formdata=None, assessed_on=dt.date.today())
    form.competency_code.choices = [(c.code, f"{c.code} {c.name}") for c in parsed.competencies]
    form.level.choices = [(i, f"{i} {name}") for i, name in enumerate(parsed.scale)]
    return render_template(
        "competencies/profiles/person.html", person=user, framework=framework, parsed=parsed,
        required=queries.required_levels(db.session, framework.id, [user.id])[user.id],
        current=queries.current_levels(db.session, framework.id, [user.id])[user.id],
        gaps=queries.gaps_of(db.session, framework.id, user.id),
        suggestions=queries.suggestions(db.session, user.id),
        history=queries.history(db.session, framework.id, user.id),
        may_assess=may_assess, form=form), status


def _visible(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can(current_user, "skills.view", user):
        abort(404)
    return user


@bp.get("/skills/<int:user_id>")
@permission_required("skills.view")
def person(user_id: int) -> Any:
    framework = _framework()
    if framework is None:
        return redirect(url_for("skills.matrix"))
    return _person_page(_visible(user_id), framework)


@bp.post("/skills/<int:user_id>/assessments")
@permission_required("competency.assess")
def assess(user_id: int) -> Any:
    user = _visible(user_id)
    framework = _framework()
    if framework is None:
        abort(404)
    form = AssessmentForm()
    parsed = framework_queries.parsed(framework_queries.version_of(framework))
    form.competency_code.choices = [(c.code, c.code) for c in parsed.competencies]
    form.level.choices = [(i, str(i)) for i in range(len(parsed.scale))]

    def write() -> Any:
        return services.assess(
            db.session, current_user, user_id=user.id, framework_id=framework.id,
            competency_code=form.competency_code.data, level=form.level.data,
            assessed_on=form.assessed_on.data, method=form.method.data,
            evidence=form.evidence.data or "", suggested_level=form.suggested_level.data,
            override_reason=form.override_reason.data or "")

    outcome = save_form(
        form, write,
        lambda _saved: redirect(url_for("skills.person", user_id=user.id,
                                        framework=framework.id)),
        lambda saved: f"Recorded: {saved.competency_code} at level {saved.level}.")
    if isinstance(outcome, int):
        return _person_page(user, framework, form, outcome)
    return outcome


