"""Scoring form pages: list, view a version, the form builder, publish."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from sqlalchemy import select

from qm.web import db, permission_required
from scoring.models import ScoringForm

bp = Blueprint("forms_ui", __name__)


@bp.get("/forms")
@permission_required("form.view")
def forms_list() -> Any:
    forms = db.session.scalars(select(ScoringForm).order_by(ScoringForm.name)).all()
    return render_template("scoring/forms.html", forms=forms)
