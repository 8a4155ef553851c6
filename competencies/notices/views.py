"""Notice pages: the list (what was sent to me; for HR and leads the notices they follow), a
draft's form, a notice with its publish form, recipients and acknowledgements, and the
acknowledgements outstanding per team (also as CSV)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from competencies.notices import queries, services
from competencies.notices.forms import ActionForm, AudienceForm, DraftForm
from competencies.notices.models import Notice
from competencies.profiles.models import CompetencyProfile
from qm.auth.access import permission_required
from qm.auth.models import Team, User
from qm.auth.permissions import can
from qm.errors import Conflict
from qm.inputs import id_arg, version_of
from qm.spreadsheets import safe_csv_cell
from qm.timestamps import today_in
from qm.web import commit_write, db, save_form

bp = Blueprint("notices", __name__)


def _visible(notice_id: int) -> Notice:
    notice = queries.visible_notice(db.session, current_user, notice_id)
    if notice is None:
        abort(404)
    return notice


def _today() -> Any:
    return today_in(current_user.timezone)


@bp.get("/notices")
@permission_required("notice.view")
def notices() -> Any:
    follows = queries.follows_others(current_user)
    return render_template(
        "competencies/notices/list.html", mine=queries.notices_for(db.session, current_user),
        followed=queries.overview(db.session, current_user) if follows else [],
        follows=follows, sees_all=queries.sees_all(current_user), as_of=_today(),
        form=ActionForm())


def _draft_page(form: DraftForm, notice: Notice | None, status: int) -> Any:
    return render_template("competencies/notices/form.html", form=form, notice=notice), status


def _draft_values(form: DraftForm) -> dict[str, Any]:
    return {"title": form.title.data or "", "body": form.body.data or "",
            "category": form.category.data, "acknowledge_by": form.acknowledge_by.data}


@bp.route("/notices/new", methods=["GET", "POST"])
@permission_required("notice.manage")
def new_notice() -> Any:
    form = DraftForm()
    outcome = save_form(
        form, lambda: services.save_draft(db.session, current_user, _draft_values(form)),
        lambda saved: redirect(url_for("notices.notice", notice_id=saved.id)),
        "Draft saved. Choose its audience below to publish it.")
    if isinstance(outcome, int):
        return _draft_page(form, None, outcome)
    return outcome


@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@permission_required("notice.manage")
def edit_notice(notice_id: int) -> Any:
    notice = _visible(notice_id)
    if request.method == "GET":
        if not notice.is_draft:
            flash("A published notice cannot be changed; write a new notice for a correction.",
                  "warning")
            return redirect(url_for("notices.notice", notice_id=notice.id))
        form = DraftForm(obj=notice)
        form.version.data = str(notice.version)
    else:
        form = DraftForm()
    outcome = save_form(
        form, lambda: services.save_draft(db.session, current_user, _draft_values(form),
                                          notice.id, expected_version=version_of(form)),
        lambda saved: redirect(url_for("notices.notice", notice_id=saved.id)),
        "Draft saved.")
    if isinstance(outcome, int):
        return _draft_page(form, notice, outcome)
    return outcome


def _audience_form(form: AudienceForm | None = None) -> AudienceForm:
    form = form or AudienceForm()
    form.team_ids.choices = [(t.id, t.name) for t in db.session.scalars(
        select(Team).where(Team.active.is_(True)).order_by(Team.name))]
    form.profile_ids.choices = [(p.id, p.label) for p in db.session.scalars(
        select(CompetencyProfile).order_by(CompetencyProfile.kind, CompetencyProfile.name))]
    form.user_ids.choices = [(u.id, u.label) for u in db.session.scalars(
        select(User).where(User.active.is_(True)).order_by(User.display_name, User.username))]
    return form


def _audience(form: AudienceForm) -> services.Audience:
    return services.Audience.of(all_agents=bool(form.all_agents.data),
                                team_ids=form.team_ids.data or [],
                                profile_ids=form.profile_ids.data or [],
                                user_ids=form.user_ids.data or [])


def _notice_page(notice: Notice, status: int = 200, audience: AudienceForm | None = None) -> Any:
    manage = can(current_user, "notice.manage")
    mine = queries.recipient(db.session, notice.id, current_user.id)
    follows = queries.follows_others(current_user)
    if manage and audience is None:
        audience = _audience_form(AudienceForm(formdata=None))
        audience.version.data = str(notice.version)
    counts = None
    if follows and not notice.is_draft:
        counts = next((c for c in queries.overview(db.session, current_user)
                       if c.notice.id == notice.id), None)
    return render_template(
        "competencies/notices/detail.html", notice=notice, mine=mine, manage=manage,
        follows=follows, audience=audience, counts=counts,
        recipients=queries.recipients(db.session, current_user, notice.id) if follows else [],
        teams={t.id: t.name for t in db.session.scalars(select(Team))},
        action=ActionForm(formdata=None, version=str(notice.version)), as_of=_today()), status


@bp.get("/notices/<int:notice_id>")
@permission_required("notice.view")
def notice(notice_id: int) -> Any:
    return _notice_page(_visible(notice_id))


def _audience_post(notice: Notice, write: Any, message: Any) -> Any:
    form = _audience_form()
    outcome = save_form(form, lambda: write(form),
                        lambda _saved: redirect(url_for("notices.notice", notice_id=notice.id)),
                        message)
    if isinstance(outcome, int):
        db.session.expire_all()
        return _notice_page(notice, outcome, form)
    return outcome


@bp.post("/notices/<int:notice_id>/publish")
@permission_required("notice.manage")
def publish(notice_id: int) -> Any:
    notice = _visible(notice_id)
    return _audience_post(
        notice, lambda form: services.publish(db.session, current_user, notice.id,
                                              _audience(form),
                                              expected_version=version_of(form) or None,
                                              today=_today()),
        lambda saved: f"Published to {len(saved.recipients)} people.")


@bp.post("/notices/<int:notice_id>/recipients")
@permission_required("notice.manage")
def add_recipients(notice_id: int) -> Any:
    notice = _visible(notice_id)
    return _audience_post(
        notice, lambda form: services.add_recipients(db.session, current_user, notice.id,
                                                     _audience(form)),
        lambda added: (f"Sent to {len(added)} more people." if added
                       else "Everyone chosen had it already; nobody was added."))


@bp.post("/notices/<int:notice_id>/withdraw")
@permission_required("notice.manage")
def withdraw(notice_id: int) -> Any:
    notice = _visible(notice_id)
    form = ActionForm()
    outcome = save_form(
        form, lambda: services.withdraw(db.session, current_user, notice.id,
                                        expected_version=version_of(form) or None),
        lambda _saved: redirect(url_for("notices.notice", notice_id=notice.id)),
        "Withdrawn: its recipients are no longer asked to acknowledge it.")
    if isinstance(outcome, int):
        db.session.expire_all()
        return _notice_page(notice, outcome)
    return outcome


@bp.post("/notices/<int:notice_id>/acknowledge")
@permission_required("notice.view")
def acknowledge(notice_id: int) -> Any:
    """A recipient's acknowledgement. Anyone else is refused by the service (403), a notice
    that does not exist is a 404; a withdrawn notice is said in words on the page."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    back = (url_for("notices.notices") if request.form.get("back") == "list"
            else url_for("notices.notice", notice_id=notice_id))
    try:
        commit_write(lambda: services.acknowledge(db.session, current_user, notice_id))
    except Conflict as exc:
        db.session.rollback()
        flash(str(exc), "warning")
        return redirect(back)
    flash("Thank you: acknowledged.", "success")
    return redirect(back)


def _filters() -> dict[str, Any]:
    return {"as_of": _today(), "team_id": id_arg(request.args, "team_id"),
            "notice_id": id_arg(request.args, "notice")}


@bp.get("/notices/outstanding")
@permission_required("notice.view")
def outstanding() -> Any:
    filters = _filters()
    rows = queries.outstanding_by_team(db.session, current_user, **filters)
    outstanding_, overdue = queries.totals(rows)
    return render_template(
        "competencies/notices/outstanding.html", rows=rows,
        people=queries.outstanding_people(db.session, current_user, **filters),
        teams=queries.teams(db.session, current_user), total=outstanding_, overdue=overdue,
        **filters)


def _cells(values: list[Any]) -> list[str]:
    """CSV cells a spreadsheet will not run as formulas (titles are typed by people)."""
    return [safe_csv_cell(value) for value in values]


@bp.get("/notices/outstanding.csv")
@permission_required("notice.view")
def outstanding_csv() -> Any:
    """Each acknowledgement still owed, one row per person and notice, as the page lists it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["username", "name", "team", "notice_id", "title", "published_on",
                     "acknowledge_by", "overdue"])
    for r in queries.outstanding_people(db.session, current_user, **_filters()):
        writer.writerow(_cells([r.username, r.display_name, r.team, r.notice_id, r.title,
                                r.published_at.date().isoformat(),
                                r.acknowledge_by.isoformat() if r.acknowledge_by else "",
                                "yes" if r.overdue else "no"]))
    return Response(out.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="notices-outstanding.csv"'})
