"""Training pages: refreshers due and overdue (per team, per person), and the courses."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, render_template, request
from flask_login import current_user
from sqlalchemy import select

from competencies.training import due, queries, services
from competencies.training.forms import RecordsImportForm
from qm.auth.access import permission_required
from qm.auth.models import Team
from qm.auth.permissions import can
from qm.errors import QMError
from qm.inputs import id_arg
from qm.web import db

bp = Blueprint("training", __name__)


def today_for(user: Any) -> dt.date:
    """Today where the user is: a refresher due today is due, not overdue, until their midnight."""
    return dt.datetime.now(ZoneInfo(user.timezone or "UTC")).date()


@bp.get("/training")
@permission_required("skills.view")
def due_page() -> Any:
    as_of = today_for(current_user)
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
    report = None
    status = 200
    if form.validate_on_submit():
        try:
            report = services.import_records(db.session, current_user, form.file.data.stream,
                                             today=today_for(current_user))
            db.session.commit()
            flash(f"{report.created} recorded, {report.already_there} already there, "
                  f"{len(report.errors)} rows with errors.",
                  "success" if report.ok else "warning")
        except QMError as exc:
            db.session.rollback()
            flash(str(exc), "danger")
            status = exc.status
    elif form.errors:
        status = 400
    return render_template("competencies/training/import.html", form=form,
                           report=report), status
