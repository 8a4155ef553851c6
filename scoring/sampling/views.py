"""Sampling pages: the rules, editing one, running a week's sampling and the runs before."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from qm.auth.access import permission_required
from qm.auth.models import Team
from qm.auth.permissions import can
from qm.errors import QMError
from qm.web import commit_write, db, save_form, settings, show_errors
from scoring.forms.models import ScoringForm
from scoring.sampling import draw, queries
from scoring.sampling import services as sampling
from scoring.sampling.forms import SampleRunForm, SamplingRuleForm
from scoring.sampling.models import SamplingRule

bp = Blueprint("sampling", __name__)


def _rule_form(rule: SamplingRule | None = None) -> SamplingRuleForm:
    form = SamplingRuleForm(obj=rule) if rule else SamplingRuleForm()
    form.team_id.choices = [("", "All teams")] + [
        (str(t.id), t.name) for t in db.session.scalars(select(Team).order_by(Team.name))]
    form.form_id.choices = [(f.id, f.name) for f in db.session.scalars(
        select(ScoringForm).order_by(ScoringForm.name))]
    if rule is not None and request.method == "GET":
        form.team_id.data = str(rule.team_id or "")
    return form


@bp.get("/sampling")
@permission_required("sampling.view")
def sampling_rules() -> Any:
    return _sampling_page()


@bp.post("/sampling")
@permission_required("sampling.manage")
def add_sampling_rule() -> Any:
    return _sampling_page()


def _sampling_page() -> Any:
    form = _rule_form()
    outcome = save_form(form, lambda: sampling.save_rule(db.session, current_user,
                                                         form.values()),
                        lambda rule: redirect(url_for("sampling.sampling_rules")),
                        lambda rule: f"Sampling rule {rule.name!r} saved.")
    if not isinstance(outcome, int):
        return outcome
    run = SampleRunForm(formdata=None, week=draw.week_label(
        dt.date.today() - dt.timedelta(days=7)))
    return _render(form, run, None, outcome)


def _render(form: SamplingRuleForm, run: SampleRunForm, report: Any, status: int) -> Any:
    """The sampling page: the rules and the past runs the user may see, newest first."""
    page = request.args.get("page", 1, type=int) or 1
    return render_template("scoring/sampling/sampling.html",
                           rules=queries.rules(db.session, current_user), form=form, run=run,
                           report=report, runs=queries.runs(db.session, current_user, page)
                           ), status


@bp.get("/sampling/runs/<int:run_id>")
@permission_required("sampling.view")
def sampling_run_detail(run_id: int) -> Any:
    run = queries.run(db.session, current_user, run_id)
    if run is None:
        abort(404)
    lines = queries.run_lines(current_user, run)
    return render_template("scoring/sampling/run.html", run=run, lines=lines,
                           evaluations=queries.evaluations(db.session, lines))


@bp.get("/sampling/rules/<int:rule_id>")
@permission_required("sampling.view")
def sampling_rule(rule_id: int) -> Any:
    return _sampling_rule_page(rule_id)


@bp.post("/sampling/rules/<int:rule_id>")
@permission_required("sampling.manage")
def save_sampling_rule(rule_id: int) -> Any:
    return _sampling_rule_page(rule_id)


def _sampling_rule_page(rule_id: int) -> Any:
    rule = db.session.get(SamplingRule, rule_id)
    if rule is None or not can(current_user, "sampling.view", rule):
        abort(404)
    form = _rule_form(rule)
    if request.method == "GET":
        form.version.data = rule.version
    outcome = save_form(form, lambda: sampling.save_rule(
        db.session, current_user, form.values(), rule.id,
        form.version.data),
        lambda r: redirect(url_for("sampling.sampling_rules")),
        lambda r: f"Sampling rule {r.name!r} saved.")
    if not isinstance(outcome, int):
        return outcome
    return render_template("scoring/sampling/sampling_rule.html", rule=rule, form=form), outcome


@bp.post("/sampling/run")
@permission_required("sampling.run")
def sampling_run() -> Any:
    run = SampleRunForm()
    report = None
    status = 400
    if run.validate_on_submit():
        try:
            report = commit_write(lambda: sampling.run_sampling(
                db.session, current_user, run.week.data, seed=run.seed.data or 0,
                timezone=settings().timezone))
            status = 200
            flash(f"{report.created} assignment(s) created for {report.week}.", "success")
        except QMError as exc:
            db.session.rollback()
            show_errors(run, exc)
            status = exc.status
    return _render(_rule_form(), run, report, status)
