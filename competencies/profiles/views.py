"""Skills pages: the matrix (agents x competencies, current level against required), an
agent's profile with gaps, QA evidence and history, recording an assessment, the CSV and XLSX
exports."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from competencies.frameworks import queries as framework_queries
from competencies.frameworks.models import CompetencyFramework, FrameworkStatus
from competencies.profiles import queries, services
from competencies.profiles.forms import AssessmentForm, ButtonForm, MembersForm, ProfileForm
from competencies.profiles.models import CompetencyProfile
from qm.auth.access import permission_required
from qm.auth.models import Team, User
from qm.auth.permissions import can
from qm.auth.queries import visible_teams
from qm.db import utcnow
from qm.errors import InvalidInput
from qm.inputs import BadInput, id_arg, version_of
from qm.spreadsheets import export_format, table_response
from qm.timestamps import today_in
from qm.web import db, person_panels, save_form

bp = Blueprint("skills", __name__)


def _framework() -> CompetencyFramework | None:
    return queries.framework_for(db.session, id_arg(request.args, "framework"))


def _filters() -> queries.MatrixFilters:
    """The matrix's filters from the query string: ids as every list page reads them (absent:
    no filter; not a whole number: a 400), ``gaps=1`` for agents with at least one gap."""
    return queries.MatrixFilters(
        team_id=id_arg(request.args, "team_id"), role_id=id_arg(request.args, "role_id"),
        queue_id=id_arg(request.args, "queue_id"), client_id=id_arg(request.args, "client_id"),
        gaps_only=request.args.get("gaps") == "1")


def _agents(framework: CompetencyFramework,
            filters: queries.MatrixFilters) -> list[queries.MatrixAgent]:
    return queries.matrix_agents(db.session, current_user, framework.id, filters)


# What a cell shows: (CSS class, text). A gap is also marked in the text (GAP_MARK, bold in
# print), so that it reads without colour.
GAP_MARK, NEVER = "\u25bc", "\u2013"  # a gap; never assessed
NOT_REQUIRED, MET, GAP = "text-muted", "table-success", "table-danger gap"


class _Cells(dict):
    """(required or None, current or None) -> (class, text) of a cell, each worked out once:
    20,000 cells take a few dozen distinct values."""

    def __missing__(self, key: tuple[int | None, int | None]) -> tuple[str, str]:
        need, have = key
        shown = NEVER if have is None else str(have)
        if need is None:
            cell = (NOT_REQUIRED, shown)
        elif (have or 0) < need:
            cell = (GAP, f"{GAP_MARK}{shown}/{need}")
        else:
            cell = (MET, f"{shown}/{need}")
        self[key] = cell
        return cell


Notes = dict[tuple[int, str], list[tuple[str, str]]]


def gap_notes(person_ids: list[int]) -> Notes:
    """What other capabilities (coaching, training) say about each person's competencies, for
    the cells of their gaps: (person, code) -> [(mark, text)]. Every provider in
    ``app.extensions["qm"]["gap_notes"]`` is called once for all the people, as
    ``provider(session, viewer, person_ids, as_of)``, and answers per person a list of
    (mark, text, competency codes); this capability need not know the others."""
    notes: Notes = {}
    as_of = today_in(current_user.timezone)
    for provider in current_app.extensions["qm"].get("gap_notes", []):
        for person, found in provider(db.session, current_user, person_ids, as_of).items():
            for mark, text, codes in found:
                for code in codes:
                    notes.setdefault((person, code), []).append((mark, text))
    return notes


def _noted(cell: tuple[str, str], found: list[tuple[str, str]]) -> tuple[str, str]:
    """A gap cell with the marks of what is being done about it (C coaching, T training), the
    details in its tooltip; the text is HTML (the matrix prints cells as they are)."""
    marks = "".join(sorted({mark for mark, _ in found}))
    title = escape("; ".join(text for _, text in found))
    return cell[0], f'{cell[1]}<sup class="qm-mark" title="{title}">{escape(marks)}</sup>'


def _matrix(framework: CompetencyFramework, filters: queries.MatrixFilters) -> dict[str, Any]:
    """The agents (after ``filters``), the framework's competencies, and per agent a row of
    cells with their gaps counted: a few queries for the whole matrix, each cell's class and
    text worked out here, so that the template only prints them."""
    parsed = framework_queries.parsed(framework_queries.version_of(framework))
    agents = _agents(framework, filters)
    ids = [a.id for a in agents]
    required = queries.required_levels(db.session, framework.id, ids)
    current = queries.current_levels(db.session, framework.id, ids)
    codes = [c.code for c in parsed.competencies]
    lookup = _Cells()
    notes = gap_notes(ids)
    rows, kept = [], []
    for agent in agents:
        need, have = required[agent.id], current[agent.id]
        cells = [lookup[need.get(code), have.get(code)] for code in codes]
        gaps = sum(1 for cell in cells if cell[0] is GAP)
        if filters.gaps_only and not gaps:
            continue
        if gaps and notes:
            cells = [_noted(cell, notes[agent.id, code])
                     if cell[0] is GAP and (agent.id, code) in notes else cell
                     for cell, code in zip(cells, codes, strict=True)]
        kept.append(agent)
        rows.append((agent, gaps, cells))
    return {"parsed": parsed, "agents": kept, "rows": rows, "required": required,
            "current": current, "filters": filters, "notes": notes}


def _filter_args(filters: queries.MatrixFilters) -> dict[str, Any]:
    """The query-string arguments that give ``filters`` again (for links and exports)."""
    args: dict[str, Any] = {name: getattr(filters, name) for name in
                            ("team_id", "role_id", "queue_id", "client_id")
                            if getattr(filters, name) is not None}
    if filters.gaps_only:
        args["gaps"] = 1
    return args


@bp.get("/skills")
@permission_required("skills.view")
def matrix() -> Any:
    """The matrix; ``?print=1``: the same rows as a document to print (no navigation, the
    framework's version, the filters, the date and a legend)."""
    framework = _framework()
    if framework is None:
        return render_template("competencies/profiles/matrix.html", framework=None)
    filters = _filters()
    teams = visible_teams(db.session, current_user)
    data = _matrix(framework, filters)
    printable = request.args.get("print") == "1"
    return render_template(
        "competencies/profiles/matrix_print.html" if printable
        else "competencies/profiles/matrix.html",
        framework=framework, version=framework_queries.version_of(framework), teams=teams,
        team_id=filters.team_id, profiles=queries.profile_choices(db.session, framework.id),
        filter_args={"framework": framework.id, **_filter_args(filters)},
        person_url=url_for("skills.person", user_id=0, framework=framework.id)
        .replace("/0?", "/{}?", 1),
        printed_at=utcnow(), gap_mark=GAP_MARK, **data)


def _cells(data: dict[str, Any]) -> Any:
    """Per agent, per competency: (agent, code, required or None, current or None, gap or
    None), gap being what the required level lacks (None where nothing is required)."""
    codes = [c.code for c in data["parsed"].competencies]
    for agent in data["agents"]:
        required, current = data["required"][agent.id], data["current"][agent.id]
        for code in codes:
            need, have = required.get(code), current.get(code)
            gap = None if need is None else max(0, need - (have or 0))
            yield agent, code, need, have, gap


def _exported(suffix: str) -> tuple[CompetencyFramework, dict[str, Any], dict[str, str]]:
    """The matrix an export holds: the page's, with the same filters."""
    framework = _framework()
    if framework is None:
        abort(404)
    data = _matrix(framework, _filters())
    headers = {"Content-Disposition":
               f'attachment; filename="skills-matrix-{framework.id}.{suffix}"'}
    return framework, data, headers


@bp.get("/skills/matrix.csv")
@permission_required("skills.view")
def matrix_csv() -> Any:
    _framework_, data, headers = _exported("csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "name", "team", "competency", "required", "current", "gap",
                     "coaching_training"])
    notes = data["notes"]
    writer.writerows(
        (agent.username, agent.display_name, agent.team, code, "" if need is None else need,
         "" if have is None else have, "" if gap is None else gap,
         "; ".join(text for _, text in notes.get((agent.id, code), ())) if gap else "")
        for agent, code, need, have, gap in _cells(data))
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

    # A write-only sheet writes a styled cell out as soon as it is appended, so one cell per
    # distinct (text, fill) serves every row: its style is looked up once, not 20,000 times.
    styled: dict[tuple[str, str], WriteOnlyCell] = {}
    sheet.append([cell(v, header=True) for v in ["Agent", "Username", "Team", *codes]])
    row: list[Any] = []
    for agent, code, need, have, gap in _cells(data):
        if code == codes[0]:
            if row:
                sheet.append(row)
            row = [agent.display_name, agent.username, agent.team]
        text = ("-" if have is None else str(have)) + ("" if need is None else f" / {need}")
        if gap is None:
            row.append(text)
        else:
            kind = "gap" if gap else "met"
            if (text, kind) not in styled:
                styled[text, kind] = cell(text, kind)
            row.append(styled[text, kind])
    if row:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), headers=headers, mimetype=(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


# --- The gap report: per competency and per team, the share of agents short of their level --


def _r(value: float | None, digits: int = 1) -> float | None:
    """A figure rounded as the page shows it, so that an export matches the screen."""
    return None if value is None else round(value, digits)


@bp.get("/skills/gaps")
@permission_required("skills.view")
def gaps_page() -> Any:
    """Per competency of the framework (``?framework_id=``, else the matrix's default): how
    many agents its profiles require to hold it, how many fall short, the share, the mean gap
    in levels and who was never assessed; per team, the share of agents with any gap. The
    agents are the matrix's (``?team_id=``, scoped to the viewer); ``?format=csv|xlsx`` with
    ``?table=competencies|teams`` downloads a table."""
    framework_id = id_arg(request.args, "framework_id")
    if framework_id is None:
        framework_id = id_arg(request.args, "framework")
    framework = queries.framework_for(db.session, framework_id)
    if framework is None and framework_id is not None:
        abort(404)
    fmt = export_format(request.args)
    table = request.args.get("table") or "competencies"
    if fmt and table not in ("competencies", "teams"):
        raise BadInput(f"The parameter 'table' is competencies or teams, not {table[:20]!r}.")
    if framework is None and not fmt:
        return render_template("competencies/profiles/gaps.html", framework=None)
    team_id = id_arg(request.args, "team_id")
    if framework is None:  # no framework yet: the tables' headers, no rows
        report = queries.GapReport([], [], 0)
    else:
        parsed = framework_queries.parsed(framework_queries.version_of(framework))
        report = queries.gap_report(db.session, current_user, framework.id,
                                    [(c.code, c.name) for c in parsed.competencies],
                                    queries.MatrixFilters(team_id=team_id))
    if fmt:
        name = f"competency-gaps-{framework.id}" if framework else "competency-gaps"
        if table == "teams":
            return table_response(
                fmt, f"{name}-teams", "Competency gaps per team",
                ["team", "agents with a requirement", "agents with a gap", "share with a gap %"],
                ([t.team, t.agents, t.with_gap, _r(t.share)] for t in report.teams),
                widths=[24, 14, 14, 14])
        return table_response(
            fmt, name, "Competency gaps",
            ["code", "competency", "agents required", "agents with a gap", "share with a gap %",
             "mean gap (levels)", "not assessed"],
            ([c.code, c.name, c.required, c.gaps, _r(c.share), _r(c.mean_gap, 2),
              c.not_assessed] for c in report.by_share()),
            widths=[10, 36, 10, 10, 12, 12, 10])
    ranked = report.by_share()
    return render_template(
        "competencies/profiles/gaps.html", framework=framework,
        frameworks=[f for f in framework_queries.frameworks(db.session)
                    if f.id == framework.id
                    or any(v.status == FrameworkStatus.PUBLISHED.value for v in f.versions)],
        teams=visible_teams(db.session, current_user), team_id=team_id, report=report,
        ranked=ranked, chart=[{"text": f"{c.code} {c.name}", "value": c.share} for c in ranked],
        untouched=[c for c in report.competencies if not c.required],
        team_chart=[{"text": t.team, "value": t.share} for t in report.teams])


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
        gaps=queries.gaps_of(db.session, framework.id, user.id), notes=gap_notes([user.id]),
        suggestions=queries.suggestions(db.session, user.id),
        history=queries.history(db.session, framework.id, user.id),
        # what other capabilities say of the person (training, coaching); not this page's own
        panels=[p for p in person_panels(user) if p.get("source") != "skills"],
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


# --- Role profiles: the list, a profile's editor, its holders (HR keeps them) ----------------

PROFILE_KINDS = ("role", "queue", "client")


def _profile(profile_id: int) -> CompetencyProfile:
    profile = db.session.get(CompetencyProfile, profile_id)
    if profile is None:
        abort(404)
    return profile


@bp.get("/skills/profiles")
@permission_required("skills.view")
def profiles() -> Any:
    """Every role, queue and client profile: its framework, how many competencies it requires
    and how many people hold it."""
    found = db.session.scalars(select(CompetencyProfile).options(
        selectinload(CompetencyProfile.framework), selectinload(CompetencyProfile.members)))
    rows = sorted(found, key=lambda p: (p.framework.name, PROFILE_KINDS.index(p.kind)
                                        if p.kind in PROFILE_KINDS else 9, p.name.lower()))
    return render_template("competencies/profiles/profiles.html", profiles=rows)


def _profile_page(form: ProfileForm, framework: CompetencyFramework,
                  profile: CompetencyProfile | None, levels: dict[str, Any],
                  status: int = 200) -> Any:
    parsed = framework_queries.parsed(framework_queries.version_of(framework))
    return render_template(
        "competencies/profiles/profile_edit.html", form=form, framework=framework,
        profile=profile, parsed=parsed, levels={k: str(v) for k, v in levels.items()},
        frameworks=framework_queries.frameworks(db.session) if profile is None else []), status


def _posted_levels() -> dict[str, Any]:
    return ProfileForm.requirements(request.form)


@bp.route("/skills/profiles/new", methods=["GET", "POST"])
@permission_required("competency.manage")
def new_profile() -> Any:
    framework_id = id_arg(request.args, "framework")
    framework = queries.framework_for(db.session, framework_id)
    if framework is None:
        if framework_id is not None:
            abort(404)
        return render_template("competencies/profiles/profile_edit.html", framework=None,
                               profile=None)
    form = ProfileForm()

    def write() -> CompetencyProfile:
        return services.create_profile(db.session, current_user, framework_id=framework.id,
                                       kind=form.kind.data or "", name=form.name.data or "",
                                       requirements=_posted_levels())

    outcome = save_form(
        form, write,
        lambda saved: redirect(url_for("skills.profile_members", profile_id=saved.id)),
        lambda saved: f"Profile {saved.label} saved; now choose who holds it.")
    if isinstance(outcome, int):
        return _profile_page(form, framework, None, _posted_levels(), outcome)
    return outcome


@bp.route("/skills/profiles/<int:profile_id>/edit", methods=["GET", "POST"])
@permission_required("competency.manage")
def edit_profile(profile_id: int) -> Any:
    profile = _profile(profile_id)
    if request.method == "POST":
        form, levels = ProfileForm(), _posted_levels()
    else:
        form = ProfileForm(formdata=None, kind=profile.kind, name=profile.name,
                           version=profile.version)
        levels = dict(profile.requirements)

    def write() -> CompetencyProfile:
        return services.update_profile(db.session, current_user, profile.id,
                                       kind=form.kind.data or "", name=form.name.data or "",
                                       requirements=levels, expected_version=version_of(form))

    outcome = save_form(form, write, lambda _saved: redirect(url_for("skills.profiles")),
                        lambda saved: f"Profile {saved.label} saved.")
    if isinstance(outcome, int):
        return _profile_page(form, profile.framework, profile, levels, outcome)
    return outcome


def _assignees(form: MembersForm) -> list[int]:
    """The people chosen, and everyone active in the team chosen."""
    ids = list(form.user_ids.data or [])
    if form.team_id.data is not None:
        team = db.session.get(Team, form.team_id.data)
        if team is None:
            raise InvalidInput(f"There is no team #{form.team_id.data}.")
        ids += db.session.scalars(select(User.id).where(User.team_id == team.id, User.active)
                                  .order_by(User.display_name))
    if not ids:
        message = "Choose people, or a team."
        raise InvalidInput(message, {"user_ids": message})
    return ids


@bp.route("/skills/profiles/<int:profile_id>/members", methods=["GET", "POST"])
@permission_required("competency.manage")
def profile_members(profile_id: int) -> Any:
    """Who holds the profile; give it to more people, or take it from one."""
    profile = _profile(profile_id)
    form = MembersForm()
    holding = {m.user_id for m in profile.members}
    form.user_ids.choices = [
        (u.id, f"{u.display_name} ({u.team.name})" if u.team else u.display_name)
        for u in db.session.scalars(select(User).where(User.active)
                                    .options(selectinload(User.team))
                                    .order_by(User.display_name))
        if u.id not in holding]
    form.team_id.choices = [("", "No team"), *(
        (t.id, t.name) for t in db.session.scalars(select(Team).order_by(Team.name)))]

    def assigned(added: list[int]) -> str:
        if not added:
            return f"Everyone chosen holds {profile.label} already; nothing changed."
        return f"{len(added)} {'person now holds' if len(added) == 1 else 'people now hold'} " \
               f"{profile.label}."

    outcome = save_form(form, lambda: services.assign_profile(
        db.session, current_user, profile.id, _assignees(form)),
        lambda _added: redirect(url_for("skills.profile_members", profile_id=profile.id)),
        assigned)
    if not isinstance(outcome, int):
        return outcome
    holders = sorted(profile.members, key=lambda m: m.user.display_name.lower())
    return render_template("competencies/profiles/profile_members.html", profile=profile,
                           holders=holders, form=form, button=ButtonForm(formdata=None)), outcome


@bp.post("/skills/profiles/<int:profile_id>/members/<int:user_id>/remove")
@permission_required("competency.manage")
def unassign_profile(profile_id: int, user_id: int) -> Any:
    profile = _profile(profile_id)  # 404 before the CSRF check
    label = profile.label
    user = db.session.get(User, user_id)
    name = user.display_name if user is not None else f"User #{user_id}"
    back = redirect(url_for("skills.profile_members", profile_id=profile_id))
    form = ButtonForm()
    outcome = save_form(form, lambda: services.unassign_profile(
        db.session, current_user, profile_id, user_id),
        lambda _none: back, f"{name} no longer holds {label}.")
    if isinstance(outcome, int) and form.errors:
        return render_template("errors/error.html", status=400,
                               message="The request was incomplete; reload the page and try "
                                       "again."), 400
    return back if isinstance(outcome, int) else outcome
