"""Training pages: refreshers due and overdue (per team, per person), and the courses."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from competencies.training import due, queries, services
from competencies.training.forms import RecordsImportForm
from qm.auth.access import permission_required
from qm.auth.models import Team
from qm.auth.permissions import can
from qm.inputs import id_arg
from qm.timestamps import today_in
from qm.web import db, import_page

bp = Blueprint("training", __name__)


@bp.get("/training")
@permission_required("skills.view")
def due_page() -> Any:
    as_of = today_in(current_user.timezone)
    team_id = id_arg(request.args, "team_id")
    teams = [t for t in db.session.scalars(select(Team).order_by(Team.name))
             if can(current_user, "team.view", t)]
    rows = queries.due_list(db.session, as_of=as_of, team_id=team_id, visible_to=current_user)
    return render_template("competencies/training/due.html", rows=rows, as_of=as_of,
                           teams=teams, team_id=team_id, soon_days=due.DUE_SOON_DAYS,
                           courses=queries.courses(db.session))


@bp.route("/training/import", methods=["GET", "POST"])
@permission_required("skills.manage")
def import_records() -> Any:
    """Completions from a CSV file, as `qm training import` and the API take them."""
    form = RecordsImportForm()
    report, status = import_page(
        form, lambda: services.import_records(db.session, current_user, form.file.data.stream,
                                              today=today_in(current_user.timezone)),
        lambda report: f"{report.created} recorded, {report.already_there} already there, "
                       f"{len(report.errors)} rows with errors.")
    return render_template("competencies/training/import.html", form=form,
                           report=report), status
